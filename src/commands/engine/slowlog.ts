/**
 * SLOWLOG: the commands that ran longer than slowlog-log-slower-than
 * microseconds, newest first, at most slowlog-max-len of them (Redis's
 * slowlog.c). The time is the command's own run on this node: a read's
 * handler, or a write's apply (not the wait for the disk and the quorum).
 * Cheap commands (CommandDef.sampled) are timed one call in 16 (see Stats),
 * so a slow call of one of those can be missed unless the threshold is 0
 * (then every call is timed and logged).
 */

/** Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING. */
const MAX_ARGC = 32;
const MAX_STRING = 128;

export interface SlowlogEntry {
  id: number;
  /** Unix time in seconds. */
  time: number;
  usec: number;
  argv: string[];
  addr: string;
  name: string;
}

export class SlowLog {
  /** slowlog-log-slower-than: µs; negative: log nothing; 0: log every command. */
  slowerThan = 10_000;
  /** slowlog-max-len. */
  maxLen = 128;
  /** Oldest first. */
  private entries: SlowlogEntry[] = [];
  private nextId = 0;

  get length(): number {
    return this.entries.length;
  }

  /** Logs a command that took `usec` if that is slow enough; argv as Redis keeps it (trimmed). */
  /** Whether a call of `usec` is logged (record keeps it). */
  keeps(usec: number): boolean {
    return this.slowerThan >= 0 && usec >= this.slowerThan;
  }

  record(argv: readonly string[], usec: number, addr: string, name: string): void {
    if (!this.keeps(usec)) return;
    const n = Math.min(argv.length, MAX_ARGC);
    const kept: string[] = [];
    for (let j = 0; j < n; j++) {
      const a = argv[j]!;
      if (n !== argv.length && j === n - 1) kept.push(`... (${argv.length - n + 1} more arguments)`);
      else kept.push(a.length > MAX_STRING ? `${a.slice(0, MAX_STRING)}... (${a.length - MAX_STRING} more bytes)` : a);
    }
    this.entries.push({ id: this.nextId++, time: Math.floor(Date.now() / 1000), usec: Math.floor(usec), argv: kept, addr, name });
    // A lowered slowlog-max-len takes effect here, as in Redis.
    if (this.entries.length > this.maxLen) this.entries.splice(0, this.entries.length - this.maxLen);
  }

  /** The newest `count` entries (all when negative), newest first. */
  newest(count: number): SlowlogEntry[] {
    const n = count < 0 ? this.entries.length : Math.min(count, this.entries.length);
    return this.entries.slice(this.entries.length - n).reverse();
  }

  reset(): void {
    this.entries = [];
  }
}
