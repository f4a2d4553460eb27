/**
 * Latency tracking per command (Redis 7's latency-tracking): a log-linear
 * histogram of the timed calls' durations, for INFO latencystats
 * (percentiles) and LATENCY HISTOGRAM (cumulative counts at powers of two
 * microseconds). Eight buckets per power of two: about 9 % resolution,
 * where Redis's HdrHistogram keeps two significant digits.
 */

const PER_OCTAVE = 8;
/** Buckets up to 2^40 µs (far beyond any command). */
const BUCKETS = 40 * PER_OCTAVE;

export class LatencyHistogram {
  readonly counts = new Uint32Array(BUCKETS);
  total = 0;

  record(usec: number): void {
    const i = usec <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log2(usec) * PER_OCTAVE));
    this.counts[i]!++;
    this.total++;
  }

  /** The upper edge (µs) of the bucket holding the p-th percentile. */
  percentile(p: number): number {
    const want = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= want) return 2 ** (i / PER_OCTAVE);
    }
    return 2 ** ((BUCKETS - 1) / PER_OCTAVE);
  }

  /** [bucket upper edge in µs (a power of two), cumulative count] where the count grows, as LATENCY HISTOGRAM gives them. */
  cumulative(): [number, number][] {
    const out: [number, number][] = [];
    let seen = 0;
    let last = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (i % PER_OCTAVE === 0 && seen > last) {
        out.push([2 ** (i / PER_OCTAVE), seen]);
        last = seen;
      }
    }
    return out;
  }

  /** The count of durations up to 2^e µs for each e of `exps` (ascending): Prometheus's cumulative `le` buckets. */
  countsUpTo(exps: readonly number[]): number[] {
    const out: number[] = [];
    let seen = 0;
    let i = 0;
    for (const e of exps) {
      const last = Math.min(BUCKETS - 1, e * PER_OCTAVE);
      for (; i <= last; i++) seen += this.counts[i]!;
      out.push(seen);
    }
    return out;
  }
}
