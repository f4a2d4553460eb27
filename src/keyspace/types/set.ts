/**
 * The set value (t_set.c). Members are latin1 strings in an IndexedMembers:
 * O(1) SADD/SREM/SISMEMBER and SPOP/SRANDMEMBER by position.
 *
 * OBJECT ENCODING answers as redis-server 7.0.15: "intset" while every
 * member is an integer (string2ll) and there are at most
 * set-max-intset-entries (512) of them, "hashtable" from the first
 * violation on (Redis never converts back). 7.0 has no listpack sets.
 * An intset iterates in ascending numeric order; `ordered()` gives that
 * order so SMEMBERS of a small integer set matches Redis byte for byte.
 */
import { encodingLimits } from './encodings.js';
import type { Collection } from '../keyspace.js';
import { string2ll } from '../../util/number.js';
import { IndexedMembers } from './indexed.js';

export type SetEncoding = 'intset' | 'hashtable';

export class RSet implements Collection {
  readonly type = 'set' as const;
  readonly m = new IndexedMembers();
  encoding: SetEncoding;

  /** `intset` is only the starting encoding: the first member that does not fit converts it. */
  constructor(encoding: SetEncoding = 'intset') {
    this.encoding = encoding;
  }

  /** setTypeCreate: an intset when the first member is an integer. */
  static forFirst(member: string): RSet {
    return new RSet(string2ll(member) !== null ? 'intset' : 'hashtable');
  }

  get size(): number {
    return this.m.size;
  }

  has(member: string): boolean {
    return this.m.has(member);
  }

  /** True if added. */
  add(member: string): boolean {
    if (this.m.has(member)) return false;
    this.m.push(member);
    if (this.encoding === 'intset' && (this.m.size > encodingLimits.intsetEntries || string2ll(member) === null)) {
      this.encoding = 'hashtable';
    }
    return true;
  }

  /** True if it was there. */
  delete(member: string): boolean {
    const i = this.m.indexOf(member);
    if (i === undefined) return false;
    this.m.removeAt(i);
    return true;
  }

  /** The member at position i (0 <= i < size) of the deterministic internal order. */
  at(i: number): string {
    return this.m.members[i]!;
  }

  /** Removes and returns the member at position i. */
  removeAt(i: number): string {
    const member = this.m.members[i]!;
    this.m.removeAt(i);
    return member;
  }

  /** Members in the order Redis would list them (sorted numerically for an intset). */
  ordered(): string[] {
    const out = this.m.members.slice();
    if (this.encoding === 'intset') out.sort(compareIntStrings);
    return out;
  }

  /** A live iterator over the members (survives adds and deletes), for SSCAN. */
  iterator(): Iterator<string> {
    return this.m.pos.keys();
  }

  clone(): RSet {
    const c = new RSet(this.encoding);
    this.m.copyInto(c.m);
    return c;
  }

  items(): Iterable<string> {
    return this.m.members;
  }

  forEachItem(fn: (item: string) => void): void {
    for (const m of this.m.members) fn(m);
  }

  /** Rebuilds a set in its snapshot order; the encoding is recomputed as on an RDB load. */
  static fromItems(items: readonly string[]): RSet {
    if (items.length === 0) throw new Error('snapshot holds an empty set');
    const s = new RSet();
    for (const it of items) {
      if (!s.add(it)) throw new Error('snapshot set holds a duplicate member');
    }
    return s;
  }
}

/** Orders two canonical int64 decimal strings numerically. */
export function compareIntStrings(a: string, b: string): number {
  const na = a.charCodeAt(0) === 45;
  const nb = b.charCodeAt(0) === 45;
  if (na !== nb) return na ? -1 : 1;
  const byMagnitude = a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  return na ? -byMagnitude : byMagnitude;
}
