/**
 * A histogram with fixed bucket bounds, for the few events that need a
 * per-event observation (a proposal's commit, a log sync): counts live in
 * one pre-allocated array, an observation is a short scan and two adds, and
 * the operator's HTTP port formats the buckets at scrape time
 * (src/server/metrics.ts). Units are whatever the caller observes in
 * (seconds, by Prometheus's convention).
 */
export class Histogram {
  /** Upper bounds, ascending; an implicit +Inf bucket follows. */
  readonly bounds: Float64Array;
  /** Observations per bucket (not cumulative); counts[bounds.length] is the +Inf bucket. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`histogram bounds must ascend: ${bounds.join(', ')}`);
    }
    this.bounds = Float64Array.from(bounds);
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    this.observeN(v, 1);
  }

  /** `n` observations of the same value (a batch of proposals committed together). */
  observeN(v: number, n: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]! += n;
    this.sum += v * n;
    this.count += n;
  }

  /** Cumulative counts at each bound, then +Inf (Prometheus's `le` buckets). */
  cumulative(): number[] {
    const out: number[] = [];
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      out.push(seen);
    }
    return out;
  }
}

/** Buckets for durations from 100 µs (an fsync on fast storage) to 10 s. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Buckets for snapshot writes and loads: 10 ms to 10 minutes. */
export const SLOW_BUCKETS_SECONDS: readonly number[] = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600];

/** A monotonic clock in seconds for durations (never for data: data time comes from log entries). */
export const monotonicSeconds = (): number => performance.now() / 1000;
