/**
 * Redis's zskiplist (t_zset.c): nodes ordered by (score, member), each
 * forward link carrying its span (how many nodes it jumps), so insert,
 * delete, rank and "n-th element" are O(log n) expected. Members compare as
 * bytes: they are latin1 strings, whose code-unit order is byte order.
 *
 * The level of a new node is drawn from a small xorshift generator, not
 * Math.random. The shape of the list is not visible: ranks and order are
 * the same for any shape (lex ranges, whose descent would depend on it when
 * scores differ, go through ZSetValue's rank search instead).
 */
import { xorshift32 } from '../../util/prng.js';

export const MAX_LEVEL = 32;

export class ZNode {
  backward: ZNode | null = null;
  readonly next: (ZNode | null)[];
  readonly span: number[];
  constructor(
    public score: number,
    public member: string,
    level: number,
  ) {
    // Filled by loops: Array#fill is a C++ builtin here (~1k instructions a node).
    const next = new Array<ZNode | null>(level);
    const span = new Array<number>(level);
    for (let i = 0; i < level; i++) {
      next[i] = null;
      span[i] = 0;
    }
    this.next = next;
    this.span = span;
  }
}

let seed = 0x2545f491;
function randomLevel(): number {
  let level = 1;
  for (;;) {
    seed = xorshift32(seed);
    // ZSKIPLIST_P = 0.25
    if ((seed & 3) !== 0 || level >= MAX_LEVEL) return level;
    level++;
  }
}

/** (score, member) strictly before (s2, m2)? */
function before(s1: number, m1: string, s2: number, m2: string): boolean {
  return s1 < s2 || (s1 === s2 && m1 < m2);
}

/** A score interval (zrangespec). */
export interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

/** A lexicographic bound: '-' / '+' or a member, inclusive or exclusive. */
export type LexBound = { inf: -1 | 1 } | { inf: 0; v: string; ex: boolean };
export interface LexRange {
  min: LexBound;
  max: LexBound;
}

export function scoreGteMin(v: number, r: ScoreRange): boolean {
  return r.minex ? v > r.min : v >= r.min;
}
export function scoreLteMax(v: number, r: ScoreRange): boolean {
  return r.maxex ? v < r.max : v <= r.max;
}
export function lexGteMin(m: string, r: LexRange): boolean {
  const b = r.min;
  if (b.inf !== 0) return b.inf < 0;
  return b.ex ? m > b.v : m >= b.v;
}
export function lexLteMax(m: string, r: LexRange): boolean {
  const b = r.max;
  if (b.inf !== 0) return b.inf > 0;
  return b.ex ? m < b.v : m <= b.v;
}

/** zslLexValueCmp of the two bounds of a range. */
function lexBoundCmp(a: LexBound, b: LexBound): number {
  if (a.inf !== 0 && b.inf !== 0 && a.inf === b.inf) return 0;
  if (a.inf === -1 || b.inf === 1) return -1;
  if (a.inf === 1 || b.inf === -1) return 1;
  const av = (a as { v: string }).v;
  const bv = (b as { v: string }).v;
  return av < bv ? -1 : av > bv ? 1 : 0;
}

export class SkipList {
  readonly header = new ZNode(0, '', MAX_LEVEL);
  tail: ZNode | null = null;
  length = 0;
  level = 1;
  private readonly update: ZNode[] = new Array<ZNode>(MAX_LEVEL);
  private readonly rank: number[] = new Array<number>(MAX_LEVEL).fill(0);

  /** A copy with the same shape, in O(n): nodes, levels and spans copied in one walk. */
  clone(): SkipList {
    const c = new SkipList();
    c.level = this.level;
    c.length = this.length;
    for (let i = 0; i < MAX_LEVEL; i++) c.header.span[i] = this.header.span[i]!;
    const last = new Array<ZNode>(MAX_LEVEL).fill(c.header);
    let prev: ZNode | null = null;
    for (let x = this.header.next[0]!; x !== null; x = x.next[0]!) {
      const n = new ZNode(x.score, x.member, x.next.length);
      for (let i = 0; i < x.next.length; i++) {
        last[i]!.next[i] = n;
        n.span[i] = x.span[i]!;
        last[i] = n;
      }
      n.backward = prev;
      prev = n;
    }
    c.tail = prev;
    return c;
  }

  get first(): ZNode | null {
    return this.header.next[0]!;
  }

  /** Inserts a member that is not present. */
  insert(score: number, member: string): ZNode {
    const update = this.update;
    const rank = this.rank;
    let x = this.header;
    let r = 0; // rank of x
    for (let i = this.level - 1; i >= 0; i--) {
      let f = x.next[i]!;
      while (f !== null && (f.score < score || (f.score === score && f.member < member))) {
        r += x.span[i]!;
        x = f;
        f = x.next[i]!;
      }
      rank[i] = r;
      update[i] = x;
    }
    const level = randomLevel();
    if (level > this.level) {
      for (let i = this.level; i < level; i++) {
        rank[i] = 0;
        update[i] = this.header;
        this.header.span[i] = this.length;
      }
      this.level = level;
    }
    const n = new ZNode(score, member, level);
    for (let i = 0; i < level; i++) {
      const u = update[i]!;
      n.next[i] = u.next[i]!;
      u.next[i] = n;
      n.span[i] = u.span[i]! - (rank[0]! - rank[i]!);
      u.span[i] = rank[0]! - rank[i]! + 1;
    }
    for (let i = level; i < this.level; i++) update[i]!.span[i]!++;
    n.backward = update[0] === this.header ? null : update[0]!;
    const nx = n.next[0]!;
    if (nx !== null) nx.backward = n;
    else this.tail = n;
    this.length++;
    return n;
  }

  /** Fills `update` with the last node before (score, member) at each level; returns the node after it at level 0. */
  private findUpdate(score: number, member: string): ZNode | null {
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.next[i]!) !== null && before(f.score, f.member, score, member)) x = f;
      this.update[i] = x;
    }
    return x.next[0]!;
  }

  private unlink(x: ZNode): void {
    const update = this.update;
    for (let i = 0; i < this.level; i++) {
      const u = update[i]!;
      if (u.next[i] === x) {
        u.span[i]! += x.span[i]! - 1;
        u.next[i] = x.next[i]!;
      } else {
        u.span[i]!--;
      }
    }
    const nx = x.next[0]!;
    if (nx !== null) nx.backward = x.backward;
    else this.tail = x.backward;
    while (this.level > 1 && this.header.next[this.level - 1] === null) this.level--;
    this.length--;
  }

  /** Removes (score, member); false when absent. */
  delete(score: number, member: string): boolean {
    const x = this.findUpdate(score, member);
    if (x === null || x.score !== score || x.member !== member) return false;
    this.unlink(x);
    return true;
  }

  /** zslUpdateScore: moves a present member to a new score (in place when its position does not change). */
  updateScore(cur: number, member: string, score: number): ZNode {
    const x = this.findUpdate(cur, member)!;
    const b = x.backward;
    const nx = x.next[0]!;
    if ((b === null || before(b.score, b.member, score, member)) && (nx === null || before(score, member, nx.score, nx.member))) {
      x.score = score;
      return x;
    }
    this.unlink(x);
    return this.insert(score, member);
  }

  /** 1-based rank of (score, member), 0 when absent. */
  getRank(score: number, member: string): number {
    let rank = 0;
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.next[i]!) !== null && (f.score < score || (f.score === score && f.member <= member))) {
        rank += x.span[i]!;
        x = f;
      }
      if (x !== this.header && x.member === member) return rank;
    }
    return 0;
  }

  /** The node at 1-based rank, or null. */
  byRank(rank: number): ZNode | null {
    let traversed = 0;
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.next[i]!) !== null && traversed + x.span[i]! <= rank) {
        traversed += x.span[i]!;
        x = f;
      }
      if (traversed === rank) return x === this.header ? null : x;
    }
    return null;
  }

  private isInScoreRange(r: ScoreRange): boolean {
    if (r.min > r.max || (r.min === r.max && (r.minex || r.maxex))) return false;
    const t = this.tail;
    if (t === null || !scoreGteMin(t.score, r)) return false;
    const f = this.header.next[0]!;
    return f !== null && scoreLteMax(f.score, r);
  }

  firstInScoreRange(r: ScoreRange): ZNode | null {
    if (!this.isInScoreRange(r)) return null;
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.next[i]!) !== null && !scoreGteMin(f.score, r)) x = f;
    }
    const n = x.next[0]!;
    return n !== null && scoreLteMax(n.score, r) ? n : null;
  }

  lastInScoreRange(r: ScoreRange): ZNode | null {
    if (!this.isInScoreRange(r)) return null;
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.next[i]!) !== null && scoreLteMax(f.score, r)) x = f;
    }
    return x !== this.header && scoreGteMin(x.score, r) ? x : null;
  }

  /** zslIsInLexRange: false when the range surely holds nothing. */
  isInLexRange(r: LexRange): boolean {
    const c = lexBoundCmp(r.min, r.max);
    // '-' and '+' count as exclusive (zslParseLexRangeItem sets ex for them).
    if (c > 0 || (c === 0 && (r.min.inf !== 0 || r.min.ex || r.max.inf !== 0 || r.max.ex))) return false;
    const t = this.tail;
    if (t === null || !lexGteMin(t.member, r)) return false;
    const f = this.header.next[0]!;
    return f !== null && lexLteMax(f.member, r);
  }

  firstInLexRange(r: LexRange): ZNode | null {
    if (!this.isInLexRange(r)) return null;
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.next[i]!) !== null && !lexGteMin(f.member, r)) x = f;
    }
    const n = x.next[0]!;
    return n !== null && lexLteMax(n.member, r) ? n : null;
  }

  lastInLexRange(r: LexRange): ZNode | null {
    if (!this.isInLexRange(r)) return null;
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.next[i]!) !== null && lexLteMax(f.member, r)) x = f;
    }
    return x !== this.header && lexGteMin(x.member, r) ? x : null;
  }
}
