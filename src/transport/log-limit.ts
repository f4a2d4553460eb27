/**
 * A rate limit for log lines that strangers can cause (refused handshakes,
 * failed TLS handshakes): a node being probed or flooded must not fill its
 * disk with one line per attempt. At most `burst` lines per window; the
 * first line after a window that dropped some says how many.
 */
import type { Logger } from '../util/log.js';

export class LogLimiter {
  private windowStart = -Infinity;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly burst = 10,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(line: string): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.used = 0;
    }
    if (this.used >= this.burst) {
      this.suppressed++;
      return;
    }
    this.used++;
    if (this.suppressed > 0) {
      line += ` (${this.suppressed} similar line(s) suppressed before this one)`;
      this.suppressed = 0;
    }
    this.log.warn(line);
  }
}
