/**
 * client-output-buffer-limit, as Redis's checkClientOutputBufferLimits: a
 * client's replies the socket has not taken yet, against its class's limits.
 * Over the hard limit, or over the soft one for more than its seconds
 * (whole seconds, as Redis counts server.unixtime), the client is to be
 * closed, what it has not read dropped (Redis's freeClientAsync). Over the
 * soft limit it is checked again once the seconds have passed, even if
 * nothing more is written: raftis stops reading a client whose output backs
 * up, so no new reply would check it.
 */

export interface OutputLimit {
  hard: number;
  soft: number;
  seconds: number;
}

export class OutputLimitWatch {
  /** When the output was first seen at or over the soft limit, in ms (0: below it). */
  private softSince = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Checks the client again (after the soft limit's seconds). */
    private readonly recheck: () => void,
  ) {}

  /** Whether `used` bytes waiting for the socket are over `l` now. */
  over(used: number, l: OutputLimit): boolean {
    if (l.hard !== 0 && used >= l.hard) return true;
    if (l.soft === 0 || used < l.soft) {
      this.softSince = 0;
      return false;
    }
    const now = Date.now();
    if (this.softSince === 0) this.softSince = now;
    else if (Math.floor(now / 1000) - Math.floor(this.softSince / 1000) > l.seconds) return true;
    if (this.timer === undefined) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.recheck();
        },
        (l.seconds + 1) * 1000 + 10,
      );
      this.timer.unref();
    }
    return false;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
