/**
 * Raft's ticks, counted from the monotonic clock.
 *
 * The core counts time only in ticks (its lease, election and heartbeat
 * timeouts), so they must follow real time: tick k is due at origin + k·tickMs
 * on Clock.monotonic(), whenever the driver gets to run. A timer alone does
 * not do that: Node runs an interval timer once after a stall however long
 * (SIGSTOP, swapping, a long pause of the event loop), so a leader would
 * come back believing a lease it lost long ago. The driver asks for the ticks
 * due on its timer and before anything that depends on them (node.ts: every
 * message received, every read answered), and runs them all.
 *
 * A gap longer than maxCatchUp ticks runs only maxCatchUp of them (the rest
 * are dropped, so ticks run slower than the clock for that once). node.ts
 * uses the election timeout: enough for the lease (shorter) to have run out,
 * for a follower to be free to vote and to campaign, and for a leader to
 * run one check-quorum — only one, on what it heard before the stop, so a
 * leader does not step down merely because it was stopped (it finds out in
 * the next election timeout, as every leader does); and no burst of
 * thousands of heartbeat rounds after a long stop.
 */
import type { Clock } from '../util/clock.js';

export class Ticker {
  private readonly origin: number;
  /** Ticks already handed out, dropped ones included. */
  private counted = 0;

  constructor(
    private readonly clock: Clock,
    readonly tickMs: number,
    readonly maxCatchUp: number,
  ) {
    // Tick boundaries half a tick before the timer's firings, so the timer
    // (which fires at or after its due time) finds one tick due each time
    // rather than alternately none and two.
    this.origin = clock.monotonic() - tickMs / 2;
  }

  /** Ticks due since the last call: how many the driver runs now (at most maxCatchUp). */
  due(): number {
    const elapsed = Math.floor((this.clock.monotonic() - this.origin) / this.tickMs);
    const n = elapsed - this.counted;
    if (n <= 0) return 0;
    this.counted = elapsed;
    return n < this.maxCatchUp ? n : this.maxCatchUp;
  }
}
