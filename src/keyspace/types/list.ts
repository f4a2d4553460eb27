/**
 * A Redis list: a ring buffer (power-of-two capacity) of latin1 strings.
 * O(1) push and pop at both ends and O(1) index access; inserts and
 * removals in the middle move the shorter side, O(n) as in Redis.
 */
import type { Collection } from '../keyspace.js';
import { encodingLimits } from './encodings.js';

const MIN_CAPACITY = 8;

/** quicklistSetFill's bounds (FILL_MAX with 16 fill bits) and quicklistSetCompressDepth's (COMPRESS_MAX). */
const FILL_MIN = -5;
const FILL_MAX = 32767;
const COMPRESS_MAX = 65535;

/**
 * Which end the list has grown from, for how Redis 7.0 would have split it
 * into quicklist nodes (DUMP, MEMORY USAGE: src/keyspace/rdb/quicklist.ts):
 * only pushes (and pops) at the tail fill nodes greedily from the head, only
 * pushes (and pops) at the head fill them greedily from the tail; anything
 * else (pushes at both ends, a pop at the other end, LSET, LINSERT, LREM,
 * LTRIM) leaves a split raftis does not follow (it then splits as from the head).
 */
export enum Grown {
  Nothing = 0,
  Tail = 1,
  Head = 2,
  Mixed = 3,
}

export class ListValue implements Collection {
  readonly type = 'list' as const;
  private buf: (string | undefined)[];
  private head = 0;
  private len = 0;
  private mask: number;
  /** list-max-listpack-size and list-compress-depth when the list was created, as Redis's quicklistCreate keeps them (clamped as quicklistSetOptions). */
  fill: number;
  compress: number;
  /** See Grown. */
  grown: Grown = Grown.Nothing;

  constructor(items?: Iterable<string>) {
    this.buf = new Array<string | undefined>(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    const f = encodingLimits.listFill;
    this.fill = f > FILL_MAX ? FILL_MAX : f < FILL_MIN ? FILL_MIN : f;
    const d = encodingLimits.listCompress;
    this.compress = d > COMPRESS_MAX ? COMPRESS_MAX : d < 0 ? 0 : d;
    if (items !== undefined) for (const s of items) this.pushTail(s);
  }

  get length(): number {
    return this.len;
  }

  /** What OBJECT ENCODING answers (a property, as OBJECT reads it): redis 7.0 always creates lists as quicklists. */
  get encoding(): string {
    return 'quicklist';
  }

  clone(): ListValue {
    const c = new ListValue();
    let cap = MIN_CAPACITY;
    while (cap < this.len) cap *= 2;
    c.buf = new Array<string | undefined>(cap);
    c.mask = cap - 1;
    for (let i = 0; i < this.len; i++) c.buf[i] = this.buf[(this.head + i) & this.mask];
    c.len = this.len;
    // quicklistDup keeps the nodes and the options.
    c.fill = this.fill;
    c.compress = this.compress;
    c.grown = this.grown;
    return c;
  }

  forEachItem(fn: (item: string) => void): void {
    for (let i = 0; i < this.len; i++) fn(this.buf[(this.head + i) & this.mask]!);
  }

  *items(): IterableIterator<string> {
    for (let i = 0; i < this.len; i++) yield this.buf[(this.head + i) & this.mask]!;
  }

  /** Elements [start, stop] (inclusive, already clamped to 0..length-1). */
  range(start: number, stop: number): string[] {
    const out: string[] = [];
    for (let i = start; i <= stop; i++) out.push(this.buf[(this.head + i) & this.mask]!);
    return out;
  }

  private grow(): void {
    const cap = this.buf.length * 2;
    const nb = new Array<string | undefined>(cap);
    for (let i = 0; i < this.len; i++) nb[i] = this.buf[(this.head + i) & this.mask];
    this.buf = nb;
    this.head = 0;
    this.mask = cap - 1;
  }

  private shrinkIfSparse(): void {
    const cap = this.buf.length;
    if (cap > MIN_CAPACITY && this.len * 4 < cap) {
      let ncap = cap;
      while (ncap > MIN_CAPACITY && this.len * 4 < ncap) ncap /= 2;
      const nb = new Array<string | undefined>(ncap);
      for (let i = 0; i < this.len; i++) nb[i] = this.buf[(this.head + i) & this.mask];
      this.buf = nb;
      this.head = 0;
      this.mask = ncap - 1;
    }
  }

  pushHead(s: string): void {
    this.grown = this.grown === Grown.Nothing || this.grown === Grown.Head ? Grown.Head : Grown.Mixed;
    if (this.len === this.buf.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.buf[this.head] = s;
    this.len++;
  }

  pushTail(s: string): void {
    this.grown = this.grown === Grown.Nothing || this.grown === Grown.Tail ? Grown.Tail : Grown.Mixed;
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) & this.mask] = s;
    this.len++;
  }

  popHead(): string | undefined {
    if (this.len === 0) return undefined;
    if (this.grown === Grown.Tail) this.grown = Grown.Mixed;
    const s = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.len--;
    this.shrinkIfSparse();
    return s;
  }

  popTail(): string | undefined {
    if (this.len === 0) return undefined;
    if (this.grown === Grown.Head) this.grown = Grown.Mixed;
    const p = (this.head + this.len - 1) & this.mask;
    const s = this.buf[p];
    this.buf[p] = undefined;
    this.len--;
    this.shrinkIfSparse();
    return s;
  }

  /** Element at index 0..length-1. */
  get(i: number): string {
    return this.buf[(this.head + i) & this.mask]!;
  }

  /** LSET. */
  set(i: number, s: string): void {
    this.grown = Grown.Mixed;
    this.buf[(this.head + i) & this.mask] = s;
  }

  /** Inserts s so that it ends at index i (0..length), moving the shorter side. */
  insertAt(i: number, s: string): void {
    if (i <= this.len / 2) {
      this.pushHead(s);
      for (let j = 0; j < i; j++) this.set(j, this.get(j + 1));
      this.set(i, s);
    } else {
      this.pushTail(s);
      for (let j = this.len - 1; j > i; j--) this.set(j, this.get(j - 1));
      this.set(i, s);
    }
    this.grown = Grown.Mixed;
  }

  /**
   * Keeps only the elements for which keep(element) is true, in order;
   * returns how many were removed. O(n).
   */
  retain(keep: (s: string, i: number) => boolean): number {
    let w = 0;
    const n = this.len;
    for (let r = 0; r < n; r++) {
      const s = this.get(r);
      if (keep(s, r)) {
        if (w !== r) this.set(w, s);
        w++;
      }
    }
    const removed = n - w;
    for (let k = 0; k < removed; k++) this.popTail();
    if (removed > 0) this.grown = Grown.Mixed;
    return removed;
  }

  /** Removes `n` elements from the head (LTRIM). */
  dropHead(n: number): void {
    for (let i = 0; i < n; i++) this.popHead();
    if (n > 0) this.grown = Grown.Mixed;
  }

  dropTail(n: number): void {
    for (let i = 0; i < n; i++) this.popTail();
    if (n > 0) this.grown = Grown.Mixed;
  }
}
