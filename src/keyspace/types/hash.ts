/**
 * The hash value (t_hash.c): fields in an IndexedMembers with the values in
 * a parallel array, so HGET/HSET/HDEL are O(1) and HRANDFIELD picks by
 * position. Iteration (HGETALL, HKEYS, HSCAN) follows the fields' insertion
 * order, which is exactly Redis's listpack order for small hashes.
 *
 * OBJECT ENCODING answers as redis-server 7.0.15 with the same
 * thresholds (encodings.ts; defaults shown): "listpack" while there are at most hash-max-listpack-entries
 * (512) fields and no field or value longer than hash-max-listpack-value
 * (64) bytes, "hashtable" from the first violation on (never back).
 */
import { encodingLimits } from './encodings.js';
import type { Collection } from '../keyspace.js';
import { IndexedMembers } from './indexed.js';

export type HashEncoding = 'listpack' | 'hashtable';

export class RHash implements Collection {
  readonly type = 'hash' as const;
  readonly f = new IndexedMembers();
  readonly values: string[] = [];
  encoding: HashEncoding = 'listpack';

  get size(): number {
    return this.f.size;
  }

  has(field: string): boolean {
    return this.f.has(field);
  }

  get(field: string): string | undefined {
    const i = this.f.indexOf(field);
    return i === undefined ? undefined : this.values[i];
  }

  /** Sets a field; true if it is new. */
  set(field: string, value: string): boolean {
    if (this.encoding === 'listpack' && (field.length > encodingLimits.hashValue || value.length > encodingLimits.hashValue)) {
      this.encoding = 'hashtable';
    }
    const i = this.f.indexOf(field);
    if (i !== undefined) {
      this.values[i] = value;
      return false;
    }
    this.f.push(field);
    this.values.push(value);
    if (this.f.size > encodingLimits.hashEntries) this.encoding = 'hashtable';
    return true;
  }

  /** True if the field was there. */
  delete(field: string): boolean {
    const i = this.f.indexOf(field);
    if (i === undefined) return false;
    const last = this.f.removeAt(i);
    this.values[i] = this.values[last]!;
    this.values.pop();
    return true;
  }

  /** Field and value at position i (0 <= i < size). */
  fieldAt(i: number): string {
    return this.f.members[i]!;
  }
  valueAt(i: number): string {
    return this.values[i]!;
  }

  /** Fields in iteration order (a live iterator: survives sets and deletes), for HSCAN. */
  fields(): IterableIterator<string> {
    return this.f.pos.keys();
  }

  /** [field, value] pairs in iteration order. */
  *entries(): IterableIterator<[string, string]> {
    for (const [field, i] of this.f.pos) yield [field, this.values[i]!];
  }

  clone(): RHash {
    const c = new RHash();
    this.f.copyInto(c.f);
    for (const v of this.values) c.values.push(v);
    c.encoding = this.encoding;
    return c;
  }

  forEachItem(fn: (item: string) => void): void {
    for (const [field, i] of this.f.pos) {
      fn(field);
      fn(this.values[i]!);
    }
  }

  *items(): Iterable<string> {
    for (const [field, value] of this.entries()) {
      yield field;
      yield value;
    }
  }

  /** Rebuilds a hash in its snapshot order; the encoding is recomputed as on an RDB load. */
  static fromItems(items: readonly string[]): RHash {
    if (items.length === 0 || items.length % 2 !== 0) throw new Error(`snapshot hash has ${items.length} items`);
    const h = new RHash();
    for (let i = 0; i < items.length; i += 2) {
      if (!h.set(items[i]!, items[i + 1]!)) throw new Error('snapshot hash holds a duplicate field');
    }
    return h;
  }
}
