/**
 * A Redis sorted set: a Map member → score for O(1) lookups plus a skip
 * list with spans for order, rank and ranges (O(log n)), as Redis's
 * skiplist encoding. Small sets use the same structures; `encoding` only
 * reports what redis-server 7.0 would (listpack while it has at most
 * zset-max-listpack-entries members of at most zset-max-listpack-value
 * bytes, skiplist once it outgrew that; Redis never converts back, except
 * when a store command or a reload builds the set afresh).
 */
import { encodingLimits } from './encodings.js';
import type { Collection } from '../keyspace.js';
import { SkipList, lexGteMin, lexLteMax, type LexRange, type ZNode } from './skiplist.js';

/** Would redis-server create a set of this size and longest member as a listpack? */
export function fitsListpack(size: number, maxMemberLen: number): boolean {
  return size <= encodingLimits.zsetEntries && maxMemberLen <= encodingLimits.zsetValue;
}

/** A score as a snapshot item: %.17g-exact text ("inf", "-inf", "-0" kept). */
export function scoreToItem(s: number): string {
  if (s === Infinity) return 'inf';
  if (s === -Infinity) return '-inf';
  if (Object.is(s, -0)) return '-0';
  return String(s);
}

export function itemToScore(s: string): number {
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  const v = Number(s);
  if (Number.isNaN(v) || s.trim() !== s || s === '') throw new Error(`bad zset score in snapshot: ${JSON.stringify(s)}`);
  return v;
}

export class ZSetValue implements Collection {
  readonly type = 'zset' as const;
  readonly dict: Map<string, number>;
  readonly sl: SkipList;
  /** Redis would hold this set in its skiplist encoding. */
  skiplistEncoded: boolean;

  constructor(skiplistEncoded = false, dict = new Map<string, number>(), sl = new SkipList()) {
    this.skiplistEncoded = skiplistEncoded;
    this.dict = dict;
    this.sl = sl;
  }

  get size(): number {
    return this.dict.size;
  }

  /** What OBJECT ENCODING answers (a property, as OBJECT reads it). */
  get encoding(): string {
    return this.skiplistEncoded ? 'skiplist' : 'listpack';
  }

  score(member: string): number | undefined {
    return this.dict.get(member);
  }

  /** Adds a member that is not present (zsetAdd's insert path, with its encoding conversion). */
  insert(member: string, score: number): void {
    if (!this.skiplistEncoded && (this.dict.size + 1 > encodingLimits.zsetEntries || member.length > encodingLimits.zsetValue)) {
      this.skiplistEncoded = true;
    }
    if (score === 0 && !this.skiplistEncoded) score = 0; // a listpack stores -0 as 0
    this.dict.set(member, score);
    this.sl.insert(score, member);
  }

  /** Changes the score of a present member. */
  update(member: string, score: number): void {
    const cur = this.dict.get(member)!;
    if (cur === score) return; // as Redis's `score != curscore`: -0 and 0 are the same
    if (score === 0 && !this.skiplistEncoded) score = 0; // a listpack stores -0 as 0
    this.sl.updateScore(cur, member, score);
    this.dict.set(member, score);
  }

  remove(member: string): boolean {
    const cur = this.dict.get(member);
    if (cur === undefined) return false;
    this.dict.delete(member);
    this.sl.delete(cur, member);
    return true;
  }

  /** 0-based rank in ascending order, or undefined. */
  rank(member: string): number | undefined {
    const s = this.dict.get(member);
    if (s === undefined) return undefined;
    return this.sl.getRank(s, member) - 1;
  }

  /** The node at 0-based ascending rank. */
  at(rank: number): ZNode | null {
    return this.sl.byRank(rank + 1);
  }

  /**
   * The first member in a lex range. Lex ranges are only meaningful when all
   * scores are equal; otherwise Redis's answer depends on the encoding: a
   * listpack is scanned linearly from the head (zzlFirstInLexRange), which
   * is reproduced; a skip list is descended, which depends on its random
   * shape, so here a binary search over ranks stands in for it.
   */
  firstInLex(r: LexRange): ZNode | null {
    if (!this.lexRangeMayHold(r)) return null;
    if (this.skiplistEncoded) {
      // Binary search over ranks: the same as the skip list descent when the
      // range is meaningful, and independent of the list's shape otherwise,
      // so a ZREMRANGEBYLEX removes the same members on every replica.
      let lo = 0;
      let hi = this.size; // first rank whose member is >= min, in [lo, hi]
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (lexGteMin(this.at(mid)!.member, r)) hi = mid;
        else lo = mid + 1;
      }
      const x = lo < this.size ? this.at(lo)! : null;
      return x !== null && lexLteMax(x.member, r) ? x : null;
    }
    for (let x = this.sl.first; x !== null; x = x.next[0]!) {
      if (lexGteMin(x.member, r)) return lexLteMax(x.member, r) ? x : null;
    }
    return null;
  }

  /** The last member in a lex range (zzlLastInLexRange: scanned from the tail for a listpack). */
  lastInLex(r: LexRange): ZNode | null {
    if (!this.lexRangeMayHold(r)) return null;
    if (this.skiplistEncoded) {
      let lo = -1; // last rank whose member is <= max, in [lo, hi]
      let hi = this.size - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (lexLteMax(this.at(mid)!.member, r)) lo = mid;
        else hi = mid - 1;
      }
      const x = lo >= 0 ? this.at(lo)! : null;
      return x !== null && lexGteMin(x.member, r) ? x : null;
    }
    for (let x = this.sl.tail; x !== null; x = x.backward) {
      if (lexLteMax(x.member, r)) return lexGteMin(x.member, r) ? x : null;
    }
    return null;
  }

  /** zzlIsInLexRange. */
  private lexRangeMayHold(r: LexRange): boolean {
    return this.sl.isInLexRange(r);
  }

  /** ZLEXCOUNT: a listpack counts forward from the first member while in range; a skip list subtracts ranks. */
  lexCount(r: LexRange): number {
    const first = this.firstInLex(r);
    if (first === null) return 0;
    if (!this.skiplistEncoded) {
      let n = 0;
      for (let x: ZNode | null = first; x !== null && lexLteMax(x.member, r); x = x.next[0]!) n++;
      return n;
    }
    const rank = this.sl.getRank(first.score, first.member);
    let count = this.size - (rank - 1);
    const last = this.lastInLex(r);
    if (last !== null) count -= this.size - this.sl.getRank(last.score, last.member);
    return count;
  }

  /** O(n): the copy-on-write snapshot clones big sets, so no re-insertion. */
  clone(): ZSetValue {
    return new ZSetValue(this.skiplistEncoded, new Map(this.dict), this.sl.clone());
  }

  forEachItem(fn: (item: string) => void): void {
    for (let x = this.sl.first; x !== null; x = x.next[0]!) {
      fn(x.member);
      fn(scoreToItem(x.score));
    }
  }

  *items(): IterableIterator<string> {
    for (let x = this.sl.first; x !== null; x = x.next[0]!) {
      yield x.member;
      yield scoreToItem(x.score);
    }
  }

  /**
   * A set built afresh from (member, score) pairs (reload, store commands):
   * encoding from its contents. `stored: false` for a result only replied
   * (ZUNION…), which Redis keeps as a skip list, -0 scores included.
   */
  static fromPairs(pairs: Iterable<[string, number]>, stored = true): ZSetValue {
    const z = new ZSetValue(true);
    let maxLen = 0;
    for (const [m, s] of pairs) {
      const cur = z.dict.get(m);
      if (cur !== undefined) z.update(m, s);
      else {
        z.dict.set(m, s);
        z.sl.insert(s, m);
      }
      if (m.length > maxLen) maxLen = m.length;
    }
    z.skiplistEncoded = !fitsListpack(z.size, maxLen);
    if (stored && !z.skiplistEncoded) {
      // Converted to a listpack, which stores -0 as 0.
      for (let x = z.sl.first; x !== null; x = x.next[0]!) {
        if (x.score === 0) {
          x.score = 0;
          z.dict.set(x.member, 0);
        }
      }
    }
    return z;
  }
}
