/**
 * Time and deferred work as the driver sees them. The process uses the real
 * clock and Node's timers; the in-process driver harness
 * (test/harness/driver/) substitutes a virtual one that runs every task in
 * an order chosen by a seed, so a driver scenario replays exactly.
 */
export interface TimerHandle {
  unref?(): void;
}

export interface Clock {
  /** Wall-clock ms since the epoch. */
  now(): number;
  /**
   * Monotonic ms from an arbitrary origin (performance.now(): CLOCK_MONOTONIC),
   * never set back and not moved by NTP steps: what Raft's ticks are counted
   * from (node.ts), so a stall (SIGSTOP, swapping, a long GC pause) shows as
   * the time it lasted.
   */
  monotonic(): number;
  /** Runs fn after the current I/O phase (Node's setImmediate). */
  immediate(fn: () => void): void;
  /** Timers keep the process alive unless unref'd (as Node's). */
  timeout(fn: () => void, ms: number): TimerHandle;
  interval(fn: () => void, ms: number): TimerHandle;
  clear(h: TimerHandle | undefined): void;
}

/** The real clock and Node's timers. */
export const realClock: Clock = {
  now: Date.now,
  monotonic: () => performance.now(),
  immediate: (fn) => void setImmediate(fn),
  timeout: (fn, ms) => setTimeout(fn, ms),
  interval: (fn, ms) => setInterval(fn, ms),
  clear(h) {
    if (h === undefined) return;
    clearTimeout(h as NodeJS.Timeout);
  },
};

/** Resolves after ms on the given clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((r) => clock.timeout(r, ms));
}
