/**
 * The keyspace's table: every key's value and access clock, one Map entry
 * per key.
 *
 * A key maps to a slot (a small integer, a V8 Smi: no allocation); the
 * slot indexes `values` (the key's Value) and `clocks` (its LRU / LFU access
 * clock, access-clock.ts, an Int32Array). Two Maps keyed by the key (value
 * and clock) cost two hash-table entries per key, about 28 bytes each at 1M
 * keys; a slot costs 8 bytes in `values` and 4 in `clocks` (bench/memory.mjs,
 * docs/decisions.md). Slots of deleted keys are reused; `values` and
 * `clocks` do not shrink until a flush (as Redis's dict keeps its size
 * between rehashes).
 *
 * Iteration order and the live iterators (SCAN, the snapshot walker) are
 * the Map's: unchanged by the slots.
 */
import type { Value } from './keyspace.js';

/** A clock slot that holds no clock (a new slot, or every slot after the clock mode changed). */
export const NO_CLOCK = -0x80000000;

const INITIAL_SLOTS = 16;

export class KeyTable {
  private readonly slots = new Map<string, number>();
  /** The value in each slot; undefined in a free slot. */
  private values: (Value | undefined)[] = [];
  /** Each slot's access clock (NO_CLOCK: none). */
  clocks = new Int32Array(INITIAL_SLOTS).fill(NO_CLOCK);
  /** Free slots (below values.length), reused last-freed first. */
  private free: number[] = [];

  get size(): number {
    return this.slots.size;
  }

  /** The key's slot, or undefined. */
  slotOf(key: string): number | undefined {
    return this.slots.get(key);
  }

  get(key: string): Value | undefined {
    const s = this.slots.get(key);
    return s === undefined ? undefined : this.values[s];
  }

  /** The value in a slot a live iterator or slotOf gave. */
  valueAt(slot: number): Value {
    return this.values[slot]!;
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** Replaces the value of the key in `slot`. */
  setAt(slot: number, value: Value): void {
    this.values[slot] = value;
  }

  /** Adds a key that is not in the table; returns its slot (clock NO_CLOCK). */
  add(key: string, value: Value): number {
    let s = this.free.pop();
    if (s === undefined) {
      s = this.values.length;
      this.values.push(value);
      if (s >= this.clocks.length) {
        const grown = new Int32Array(this.clocks.length * 2).fill(NO_CLOCK);
        grown.set(this.clocks);
        this.clocks = grown;
      }
    } else {
      this.values[s] = value;
    }
    this.clocks[s] = NO_CLOCK;
    this.slots.set(key, s);
    return s;
  }

  /** Removes a key; returns the value it held. */
  delete(key: string): Value | undefined {
    const s = this.slots.get(key);
    if (s === undefined) return undefined;
    const v = this.values[s];
    this.slots.delete(key);
    this.values[s] = undefined;
    this.free.push(s);
    return v;
  }

  clear(): void {
    this.slots.clear();
    this.values = [];
    this.free = [];
    this.clocks = new Int32Array(INITIAL_SLOTS).fill(NO_CLOCK);
  }

  /** Every key, live (see Keyspace.keys). */
  keys(): IterableIterator<string> {
    return this.slots.keys();
  }

  /** [key, slot] pairs, live: the snapshot walker reads each value with valueAt. */
  entries(): IterableIterator<[string, number]> {
    return this.slots.entries();
  }

  /** Sets every slot's clock to NO_CLOCK (the clock mode changed). */
  forgetClocks(): void {
    this.clocks.fill(NO_CLOCK);
  }
}
