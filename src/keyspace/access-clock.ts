/**
 * Per-key access clocks for eviction and OBJECT IDLETIME / FREQ (Redis's
 * robj `lru` field, evict.c and object.c): node-local, not replicated state.
 * Each node updates them as it serves reads and applies writes; only the
 * leader's are used (it chooses whom to evict and replicates the choice),
 * so after a failover the new leader's clocks are its own (as a promoted
 * Redis replica's are).
 *
 * One number per key in a Map, in one of two modes (Redis's choice by
 * maxmemory-policy), kept small enough to be a V8 Smi (a Map.set of a
 * larger number allocates a HeapNumber on every access):
 * - LRU: the coarse clock (`now`, advanced by the engine every 100 ms, as
 *   Redis caches its LRU clock in serverCron) of the last access, in 100 ms
 *   ticks since the process started;
 * - LFU: minutes since the process started * 256 + the logarithmic counter
 *   (LFULogIncr, decayed by lfu-decay-time on access, LFUDecrAndReturn).
 * Switching mode forgets every key's clock: a key without one counts as
 * accessed when the mode was switched (LRU) or as new (LFU: LFU_INIT_VAL).
 */

export const LFU_INIT_VAL = 5;

/** The LRU clock's resolution (ms). */
const TICK_MS = 100;

export class AccessClocks {
  private readonly base = Date.now();
  private nowMs = this.base;
  /** `now` in ticks and in minutes since `base`. */
  private tick = 0;
  private minutes = 0;
  /** lfu-log-factor and lfu-decay-time (minutes). */
  logFactor = 10;
  decayTime = 1;
  private lfu = false;
  private clocks = new Map<string, number>();
  /** When the mode was last switched, in ticks (the default of a key without a clock). */
  private since = 0;
  private seed = 0x9e3779b9;

  /** The coarse clock (ms since the epoch). */
  get now(): number {
    return this.nowMs;
  }

  set now(ms: number) {
    this.nowMs = ms;
    this.tick = Math.floor((ms - this.base) / TICK_MS);
    this.minutes = Math.floor((ms - this.base) / 60000);
  }

  get isLfu(): boolean {
    return this.lfu;
  }

  set isLfu(on: boolean) {
    if (on === this.lfu) return;
    this.lfu = on;
    this.clocks = new Map();
    this.since = this.tick;
  }

  /** A read or write access to an existing key (lookupKey's updateLFU / LRU_CLOCK). */
  touch(key: string): void {
    if (!this.lfu) {
      this.clocks.set(key, this.tick);
      return;
    }
    this.clocks.set(key, this.minutes * 256 + this.logIncr(this.counter(key, this.minutes)));
  }

  /** A new key (createObject: LRU now, or LFU_INIT_VAL). */
  created(key: string): void {
    this.clocks.set(key, this.lfu ? this.minutes * 256 + LFU_INIT_VAL : this.tick);
  }

  removed(key: string): void {
    this.clocks.delete(key);
  }

  flushed(): void {
    this.clocks = new Map();
  }

  /** Milliseconds since the key was last accessed (LRU mode; estimateObjectIdleTime). */
  idleMs(key: string): number {
    const t = this.clocks.get(key) ?? this.since;
    return Math.max(0, this.tick - t) * TICK_MS;
  }

  /** The decayed LFU counter (LFUDecrAndReturn; LFU mode). */
  freq(key: string): number {
    return this.counter(key, this.minutes);
  }

  /** RESTORE … IDLETIME s / OBJECT-like setters (LRU mode; ignored in LFU mode, as Redis's objectSetLRUOrLFU). */
  setIdle(key: string, seconds: number): void {
    if (!this.lfu) this.clocks.set(key, this.tick - Math.floor((seconds * 1000) / TICK_MS));
  }

  /** RESTORE … FREQ f (LFU mode; ignored in LRU mode). */
  setFreq(key: string, freq: number): void {
    if (this.lfu) this.clocks.set(key, this.minutes * 256 + Math.max(0, Math.min(255, freq)));
  }

  /** The counter of `key` decayed to `minutes`. */
  private counter(key: string, minutes: number): number {
    const v = this.clocks.get(key);
    if (v === undefined) return LFU_INIT_VAL;
    const ldt = Math.floor(v / 256);
    const counter = v - ldt * 256;
    const periods = this.decayTime > 0 ? Math.floor(Math.max(0, minutes - ldt) / this.decayTime) : 0;
    return periods > counter ? 0 : counter - periods;
  }

  /** LFULogIncr: the counter grows with probability 1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1). */
  private logIncr(counter: number): number {
    if (counter >= 255) return 255;
    const base = Math.max(0, counter - LFU_INIT_VAL);
    const p = 1 / (base * this.logFactor + 1);
    return this.random() < p ? counter + 1 : counter;
  }

  /** xorshift32: node-local randomness for the counter (not state). */
  private random(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 4294967296;
  }
}
