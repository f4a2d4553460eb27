/**
 * Per-key access clocks for eviction and OBJECT IDLETIME / FREQ (Redis's
 * robj `lru` field, evict.c and object.c): node-local, not replicated state.
 * Each node updates them as it serves reads and applies writes; only the
 * leader's are used (it chooses whom to evict and replicates the choice),
 * so after a failover the new leader's clocks are its own (as a promoted
 * Redis replica's are).
 *
 * One int32 per key, in the slot the key has in the keyspace's KeyTable
 * (key-table.ts: an Int32Array indexed by slot, no per-key Map entry), in
 * one of two modes (Redis's choice by maxmemory-policy):
 * - LRU: the coarse clock (`now`, advanced by the engine every 100 ms, as
 *   Redis caches its LRU clock in serverCron) of the last access, in 100 ms
 *   ticks since the process started;
 * - LFU: minutes since the process started * 256 + the logarithmic counter
 *   (LFULogIncr, decayed by lfu-decay-time on access, LFUDecrAndReturn).
 * Switching mode forgets every key's clock: a key without one (NO_CLOCK)
 * counts as accessed when the mode was switched (LRU) or as new (LFU:
 * LFU_INIT_VAL).
 */
import { NO_CLOCK, type KeyTable } from './key-table.js';
import { xorshift32 } from '../util/prng.js';

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
  /** The table whose slots hold the clocks (the keyspace sets it, and swaps it along with this object). */
  table: KeyTable;
  /** When the mode was last switched, in ticks (the default of a key without a clock). */
  private since = 0;
  private seed = 0x9e3779b9;

  constructor(table: KeyTable) {
    this.table = table;
  }

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
    this.table.forgetClocks();
    this.since = this.tick;
  }

  /** A read or write access to the existing key in `slot` (lookupKey's updateLFU / LRU_CLOCK). */
  touch(slot: number): void {
    const clocks = this.table.clocks;
    if (!this.lfu) {
      clocks[slot] = this.tick;
      return;
    }
    clocks[slot] = this.minutes * 256 + this.logIncr(this.counter(clocks[slot]!, this.minutes));
  }

  /** A new key in `slot` (createObject: LRU now, or LFU_INIT_VAL). */
  created(slot: number): void {
    this.table.clocks[slot] = this.lfu ? this.minutes * 256 + LFU_INIT_VAL : this.tick;
  }

  /** Milliseconds since the key was last accessed (LRU mode; estimateObjectIdleTime). */
  idleMs(key: string): number {
    const v = this.clockOf(key);
    const t = v === NO_CLOCK ? this.since : v;
    return Math.max(0, this.tick - t) * TICK_MS;
  }

  /** The decayed LFU counter (LFUDecrAndReturn; LFU mode). */
  freq(key: string): number {
    return this.counter(this.clockOf(key), this.minutes);
  }

  /** The clock of `key` (NO_CLOCK: none, or no such key). */
  private clockOf(key: string): number {
    const s = this.table.slotOf(key);
    return s === undefined ? NO_CLOCK : this.table.clocks[s]!;
  }

  private setClock(key: string, v: number): void {
    const s = this.table.slotOf(key);
    if (s !== undefined) this.table.clocks[s] = v;
  }

  /** RESTORE … IDLETIME s / OBJECT-like setters (LRU mode; ignored in LFU mode, as Redis's objectSetLRUOrLFU). */
  setIdle(key: string, seconds: number): void {
    // Clamped to what an int32 holds (an idle time of about 6.8 years).
    if (!this.lfu) this.setClock(key, Math.max(NO_CLOCK + 1, this.tick - Math.floor((seconds * 1000) / TICK_MS)));
  }

  /** RESTORE … FREQ f (LFU mode; ignored in LRU mode). */
  setFreq(key: string, freq: number): void {
    if (this.lfu) this.setClock(key, this.minutes * 256 + Math.max(0, Math.min(255, freq)));
  }

  /** The counter of a clock `v` decayed to `minutes`. */
  private counter(v: number, minutes: number): number {
    if (v === NO_CLOCK) return LFU_INIT_VAL;
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

  /** xorshift32: node-local randomness for the counter (not state), in [0, 1). */
  private random(): number {
    this.seed = xorshift32(this.seed);
    return this.seed / 4294967296;
  }
}
