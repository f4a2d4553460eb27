/**
 * Redis's latency monitor (latency.c): with latency-monitor-threshold set
 * to N ms, every command that runs for N ms or more adds a sample to the
 * "command" event (or "fast-command" for commands flagged fast). Each
 * event keeps its last 160 samples, one per second (the highest of that
 * second), and its all-time maximum. LATENCY LATEST, HISTORY and RESET read
 * them (src/commands/latency.ts).
 */

/** Samples kept per event (Redis's LATENCY_TS_LEN). */
const SERIES_LEN = 160;

export interface LatencySample {
  /** Unix time in seconds. */
  time: number;
  /** Milliseconds. */
  latency: number;
}

interface Series {
  samples: (LatencySample | undefined)[];
  /** Where the next sample goes. */
  idx: number;
  max: number;
}

export class LatencyMonitor {
  /** latency-monitor-threshold in ms; 0 turns the monitor off. */
  threshold = 0;
  /** Events in the order they were first seen. */
  private readonly events = new Map<string, Series>();

  /** Redis's latencyAddSampleIfNeeded. */
  addIfNeeded(event: string, ms: number, now = Date.now()): void {
    if (this.threshold > 0 && ms >= this.threshold) this.add(event, ms, Math.floor(now / 1000));
  }

  private add(event: string, latency: number, time: number): void {
    let ts = this.events.get(event);
    if (ts === undefined) {
      ts = { samples: new Array<LatencySample | undefined>(SERIES_LEN), idx: 0, max: 0 };
      this.events.set(event, ts);
    }
    if (latency > ts.max) ts.max = latency;
    // A second sample in the same second only raises that second's.
    const prev = ts.samples[(ts.idx + SERIES_LEN - 1) % SERIES_LEN];
    if (prev !== undefined && prev.time === time) {
      if (latency > prev.latency) prev.latency = latency;
      return;
    }
    ts.samples[ts.idx] = { time, latency };
    ts.idx = (ts.idx + 1) % SERIES_LEN;
  }

  /** LATENCY LATEST: each event's newest sample and all-time maximum. */
  latest(): { event: string; time: number; latency: number; max: number }[] {
    const out = [];
    for (const [event, ts] of this.events) {
      const last = ts.samples[(ts.idx + SERIES_LEN - 1) % SERIES_LEN]!;
      out.push({ event, time: last.time, latency: last.latency, max: ts.max });
    }
    return out;
  }

  /** LATENCY HISTORY: an event's samples, oldest first (none for an unknown event). */
  history(event: string): LatencySample[] {
    const ts = this.events.get(event);
    if (ts === undefined) return [];
    const out: LatencySample[] = [];
    for (let j = 0; j < SERIES_LEN; j++) {
      const s = ts.samples[(ts.idx + j) % SERIES_LEN];
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** The events seen so far, in the order they were first seen. */
  eventNames(): string[] {
    return [...this.events.keys()];
  }

  /** The all-time maximum of an event (0 for an unknown one). */
  maxOf(event: string): number {
    return this.events.get(event)?.max ?? 0;
  }

  /**
   * Redis's analyzeLatencyForEvent: the samples kept, their integer average
   * and mean absolute deviation (ms), and the seconds since the oldest
   * (at least 1).
   */
  analyze(event: string, nowSec = Math.floor(Date.now() / 1000)): { samples: number; avg: number; mad: number; period: number } {
    const kept = this.history(event);
    if (kept.length === 0) return { samples: 0, avg: 0, mad: 0, period: 0 };
    let sum = 0;
    let oldest = kept[0]!.time;
    for (const x of kept) {
      sum += x.latency;
      if (x.time < oldest) oldest = x.time;
    }
    const avg = Math.floor(sum / kept.length);
    let dev = 0;
    for (const x of kept) dev += Math.abs(avg - x.latency);
    return { samples: kept.length, avg, mad: Math.floor(dev / kept.length), period: nowSec - oldest || 1 };
  }

  /** LATENCY RESET: forgets the named events (case-insensitive), or all; returns how many. */
  reset(names?: readonly string[]): number {
    let n = 0;
    for (const event of [...this.events.keys()]) {
      if (names === undefined || names.some((x) => x.toLowerCase() === event.toLowerCase())) {
        this.events.delete(event);
        n++;
      }
    }
    return n;
  }
}
