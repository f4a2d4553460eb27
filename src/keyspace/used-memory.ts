/**
 * The memory that counts for maxmemory: a deterministic dataset size,
 * computed from the data itself (MEMORY USAGE's estimates, memory-usage.ts),
 * so every replica holding the same data reports the same number — never the
 * V8 heap, which differs from process to process.
 *
 * Kept incrementally per Keyspace instance (several can be summed):
 * - a string is immutable, so its size is a function of the value and is
 *   added and subtracted as keys are set and deleted;
 * - a collection is mutated in place (after Keyspace.getMutable), so its
 *   size is remembered as last measured and the key is marked dirty; the
 *   dirty keys are measured again when the total is asked for (total()).
 *   Whenever total() is called, the answer is the sum of the current sizes of
 *   all values: independent of when it was called before, hence the same on
 *   every replica at the same applied index.
 */
import type { Value } from './keyspace.js';
import { jemallocSize, memoryUsage, nonIntStringKeySize, nonIntStringSize, sdsSize, valueSize } from './memory-usage.js';
import { ListValue } from './types/list.js';
import { ZSetValue } from './types/zset.js';

const ROBJ = 16;
const DICT_ENTRY = 24;
/** Items measured per collection (MEMORY USAGE's default sampling). */
const SAMPLES = 5;

/** The bytes a collection's items take, estimated from its first SAMPLES items (O(1) for long lists and sorted sets). */
function sampledItems(items: Iterable<string>, count: number): number {
  let n = 0;
  let bytes = 0;
  for (const it of items) {
    if (n >= SAMPLES) break;
    bytes += DICT_ENTRY + sdsSize(it.length);
    n++;
  }
  return n === 0 ? 0 : Math.floor((bytes / n) * count);
}

/** The bytes one key holding v counts for: MEMORY USAGE's estimate (sampled), the key and its dict entry included. */
export function keyBytes(key: string, v: Value): number {
  if (typeof v === 'string') return memoryUsage(key, v, SAMPLES);
  // Lists and sorted sets have no sampled estimate in memory-usage.ts (it walks every item): sample here.
  if (v instanceof ListValue) return ROBJ + jemallocSize(32) + sampledItems(v.items(), v.length) + sdsSize(key.length) + DICT_ENTRY;
  if (v instanceof ZSetValue) return ROBJ + jemallocSize(32) + sampledItems(v.items(), 2 * v.size) + sdsSize(key.length) + DICT_ENTRY;
  return memoryUsage(key, v, SAMPLES);
}

export class UsedMemory {
  /** The sum of every key's counted bytes (dirty collections at their last measure). */
  private bytes = 0;
  /** Collections' bytes as last measured. */
  private readonly measured = new Map<string, number>();
  /** Collections changed since they were last measured. */
  private readonly dirty = new Set<string>();

  /** `key` now holds `value` (it held `old`, or nothing). */
  replaced(key: string, old: Value | undefined, value: Value): void {
    // SET over a string (the hot path): the key's own bytes cancel out.
    if (typeof old === 'string' && typeof value === 'string') {
      this.bytes += valueSize(value, SAMPLES) - valueSize(old, SAMPLES);
      return;
    }
    if (old !== undefined) this.removed(key, old);
    if (typeof value === 'string') {
      this.bytes += keyBytes(key, value);
    } else {
      this.measured.set(key, 0);
      this.dirty.add(key);
    }
  }

  /** replaced(key, old, value) for an old string value of `oldLength` bytes that is no integer (what the table can tell without making the string). */
  replacedNonIntString(oldLength: number, value: string): void {
    this.bytes += valueSize(value, SAMPLES) - nonIntStringSize(oldLength);
  }

  /** replacedNonIntString for a new value that is no integer either, of `length` bytes. */
  replacedNonIntStrings(oldLength: number, length: number): void {
    this.bytes += nonIntStringSize(length) - nonIntStringSize(oldLength);
  }

  /** replaced(key, undefined, value) for a key of `keyLength` bytes and a string value of `length` bytes that is no integer. */
  addedNonIntString(keyLength: number, length: number): void {
    this.bytes += nonIntStringKeySize(keyLength, length);
  }

  /** `key`, which held `old`, is gone. */
  removed(key: string, old: Value): void {
    if (typeof old === 'string') {
      this.bytes -= keyBytes(key, old);
      return;
    }
    this.bytes -= this.measured.get(key) ?? 0;
    this.measured.delete(key);
    this.dirty.delete(key);
  }

  /** A collection is about to change in place. */
  mutated(key: string): void {
    this.dirty.add(key);
  }

  flushed(): void {
    this.bytes = 0;
    this.measured.clear();
    this.dirty.clear();
  }

  /** The bytes `key` counts for now (0: no such key). */
  keyBytes(key: string, v: Value | undefined): number {
    if (v === undefined) return 0;
    if (typeof v === 'string' || this.dirty.has(key)) return keyBytes(key, v);
    return this.measured.get(key) ?? 0;
  }

  /** The dataset's bytes: the dirty collections are measured again (values looked up with `get`). */
  total(get: (key: string) => Value | undefined): number {
    if (this.dirty.size !== 0) {
      for (const key of this.dirty) {
        const v = get(key);
        if (v === undefined || typeof v === 'string') continue;
        const size = keyBytes(key, v);
        this.bytes += size - (this.measured.get(key) ?? 0);
        this.measured.set(key, size);
      }
      this.dirty.clear();
    }
    return this.bytes;
  }
}
