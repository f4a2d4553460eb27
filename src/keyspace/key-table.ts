/**
 * The keyspace's table: every key's value and access clock, packed.
 *
 * Each key has a slot (a small integer). Per slot, typed arrays hold where
 * the key and its value are, the key's hash and its access clock
 * (access-clock.ts). Keys and string values of up to INLINE_MAX bytes are
 * stored as bytes in a ByteArena (a length byte, then the latin1 bytes);
 * longer ones, strings with a char above 0xff, and collections are
 * "boxed": kept as themselves in a Map by slot. An open-addressing index
 * (linear probing, an Int32Array of slot + 1) finds a key's slot.
 *
 * Why: a key `key:123456` with a 16-byte value cost ~104 heap bytes as a
 * Map entry (~28), two V8 strings (32 + 32) and a JS array element (8);
 * packed it costs ~53 (the index ~8 at ≤ 3/4 load, 16 of typed arrays per
 * slot, 11 + 17 arena bytes); bench/packed-table-proto.mjs,
 * docs/decisions.md "Memory per key". The price: a lookup hashes the key in
 * JS, and reading an inline value or iterating a key makes a new string.
 *
 * Iteration (keys(), entries()) walks the slots in order. A slot does not
 * move while its key exists; a deleted key's slot is reused by a later key.
 * So a live iterator visits every key present for its whole life exactly
 * once, whatever is set or deleted meanwhile (what SCAN and the snapshot
 * walker need); a key added meanwhile may or may not be visited. After
 * clear() the table's iterators end. The arrays do not shrink until a
 * flush (as Redis's dict keeps its size between rehashes).
 *
 * The per-hash-slot key index (indexSlots(); on in a sharded cluster, as
 * Redis keeps slots_to_keys only with cluster-enabled): the keys of each
 * Redis Cluster hash slot (0..16383, util/hash-slot.ts; not to be confused
 * with the table's own slots above) in a doubly-linked list through two
 * more Int32Arrays per table slot (next, prev: 8 bytes a key), with a head
 * and a count per hash slot. A new key goes first in its hash slot's list,
 * as Redis's slotToKeyAddEntry puts it, so CLUSTER GETKEYSINSLOT answers
 * newest first as Redis does. O(1) to add or delete, O(keys in the slot) to
 * walk one, O(1) to count. docs/decisions.md "Sharding: the per-slot key
 * index".
 */
import { latin1 } from '../util/latin1.js';
import { keyHashSlot } from '../util/hash-slot.js';
import { keyHash as hashOf, keyHashView as hashBytes, lastKey, type NotedKey } from '../util/key-hash.js';
import type { Value } from './keyspace.js';

/** A clock slot that holds no clock (a new slot, or every slot after the clock mode changed). */
export const NO_CLOCK = -0x80000000;

/** Keys and string values up to this many bytes live in the arena; longer ones are boxed. */
export const INLINE_MAX = 64;
const INITIAL_SLOTS = 16;
/** valOff of a boxed value (in `boxedValues`). */
const BOXED = -1;
/** valOff of a free slot. */
const FREE = -2;
const CHUNK_BITS = 20;
/** Redis Cluster's hash slots (0..16383), for the per-slot key index. */
const HASH_SLOTS = 16384;
/** "No table slot" in the per-slot key index's links and heads. */
const NONE = -1;
/** Arena chunk size: 1 MB, so the arena grows without doubling slack; a record never spans chunks. */
const CHUNK = 1 << CHUNK_BITS;
/** Arena offsets are int32s: past this the table boxes instead. */
const MAX_ARENA = 0x7fffffff - CHUNK;

/**
 * Records of 1..INLINE_MAX + 1 bytes (a length byte, then latin1 bytes) in
 * 1 MB chunks, with a free list per record length (records are not
 * rounded, so a freed record is reused only by one of the same length).
 */
class ByteArena {
  private readonly chunks: Buffer[] = [];
  /** A DataView of each chunk (span(): replies copy a value four bytes at a time). */
  private readonly views: DataView[] = [];
  /** The next free byte in the last chunk (as an arena offset); CHUNK * chunks: none left. */
  private top = 0;
  private readonly freeLists: number[][] = [];

  /**
   * Stores `s`; its offset, or -1 when `s` cannot be stored inline (longer
   * than INLINE_MAX, or a char above 0xff) or the arena is full. One pass
   * over the chars: they are written four to a store while checking that
   * each fits a byte (a record written for a string that does not goes
   * back to its free list).
   */
  put(s: string): number {
    const len = s.length;
    if (len > INLINE_MAX) return -1;
    const n = len + 1;
    const off = this.alloc(n);
    if (off < 0) return -1;
    const v = this.views[off >>> CHUNK_BITS]!;
    let p = off & (CHUNK - 1);
    v.setUint8(p++, len);
    let or = 0;
    let i = 0;
    for (; i + 4 <= len; i += 4, p += 4) {
      const a = s.charCodeAt(i);
      const b = s.charCodeAt(i + 1);
      const c = s.charCodeAt(i + 2);
      const d = s.charCodeAt(i + 3);
      or |= a | b | c | d;
      v.setInt32(p, a | (b << 8) | (c << 16) | (d << 24), true);
    }
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      or |= c;
      v.setUint8(p++, c);
    }
    if (or > 0xff) {
      this.release(off);
      return -1;
    }
    return off;
  }

  /** A record of `n` bytes: from the free list of its length, else at the top (a new chunk when it does not fit); -1 when the arena is full. */
  private alloc(n: number): number {
    const fl = this.freeLists[n];
    if (fl !== undefined && fl.length > 0) return fl.pop()!;
    if ((this.top & (CHUNK - 1)) + n > CHUNK || this.top >= this.chunks.length * CHUNK) {
      if (this.chunks.length * CHUNK >= MAX_ARENA) return -1;
      const chunk = Buffer.allocUnsafeSlow(CHUNK);
      this.chunks.push(chunk);
      this.views.push(new DataView(chunk.buffer, chunk.byteOffset, CHUNK));
      this.top = (this.chunks.length - 1) * CHUNK;
    }
    const off = this.top;
    this.top += n;
    return off;
  }

  release(off: number): void {
    const n = this.chunks[off >>> CHUNK_BITS]![off & (CHUNK - 1)]! + 1;
    (this.freeLists[n] ??= []).push(off);
  }

  /** Stores the `len` (≤ INLINE_MAX) bytes at `start` of `src`, copied four a load and store; their offset, or -1 when the arena is full. */
  putBytes(src: DataView, start: number, len: number): number {
    const n = len + 1;
    const off = this.alloc(n);
    if (off < 0) return -1;
    this.writeBytes(off, src, start, len);
    return off;
  }

  /** Writes the record at `off` (length byte, then the bytes): a new one, or one of the same length rewritten in place. */
  writeBytes(off: number, src: DataView, start: number, len: number): void {
    const v = this.views[off >>> CHUNK_BITS]!;
    let p = off & (CHUNK - 1);
    v.setUint8(p++, len);
    let i = 0;
    for (; i + 4 <= len; i += 4, p += 4) v.setInt32(p, src.getInt32(start + i, true), true);
    for (; i < len; i++) v.setUint8(p++, src.getUint8(start + i));
  }

  /** Whether the record holds the `len` bytes at `start` of `src` (four bytes a compare). */
  equalsBytes(off: number, src: DataView, start: number, len: number): boolean {
    const v = this.views[off >>> CHUNK_BITS]!;
    let p = off & (CHUNK - 1);
    if (v.getUint8(p++) !== len) return false;
    let i = 0;
    for (; i + 4 <= len; i += 4, p += 4) if (v.getInt32(p, true) !== src.getInt32(start + i, true)) return false;
    for (; i < len; i++) if (v.getUint8(p++) !== src.getUint8(start + i)) return false;
    return true;
  }

  /** Whether the record holds `s` (compared four bytes a load; a char above 0xff never matches a byte). */
  equals(off: number, s: string): boolean {
    const v = this.views[off >>> CHUNK_BITS]!;
    let p = off & (CHUNK - 1);
    const len = s.length;
    if (v.getUint8(p++) !== len) return false;
    let i = 0;
    for (; i + 4 <= len; i += 4, p += 4) {
      const a = s.charCodeAt(i);
      const b = s.charCodeAt(i + 1);
      const c = s.charCodeAt(i + 2);
      const d = s.charCodeAt(i + 3);
      if ((a | b | c | d) > 0xff || v.getInt32(p, true) !== (a | (b << 8) | (c << 16) | (d << 24))) return false;
    }
    for (; i < len; i++) if (v.getUint8(p++) !== s.charCodeAt(i)) return false;
    return true;
  }

  /** equals for the key the request parser noted (util/key-hash.ts): its bytes as int32 words, no char read from a string. */
  equalsNoted(off: number, key: NotedKey): boolean {
    const v = this.views[off >>> CHUNK_BITS]!;
    let p = off & (CHUNK - 1);
    const len = key.len;
    if (v.getUint8(p++) !== len) return false;
    const words = key.words;
    let k = 0;
    let i = 0;
    for (; i + 4 <= len; i += 4, p += 4) if (v.getInt32(p, true) !== words[k++]) return false;
    if (i < len) {
      // The last 1..3 bytes one at a time: a record may end at its chunk's end.
      let w = words[k]!;
      for (; i < len; i++, w >>>= 8) if (v.getUint8(p++) !== (w & 0xff)) return false;
    }
    return true;
  }

  /** The record's string: up to 16 bytes made in JS by String.fromCharCode (no call into C++; util/latin1.ts). */
  str(off: number): string {
    const b = this.chunks[off >>> CHUNK_BITS]!;
    const p = off & (CHUNK - 1);
    return latin1(b, p + 1, p + 1 + b[p]!);
  }

  /** Points `at` at the record's string bytes (its chunk, start and end). */
  span(off: number, at: ByteSpan): void {
    const c = off >>> CHUNK_BITS;
    const b = this.chunks[c]!;
    const p = off & (CHUNK - 1);
    at.bytes = b;
    at.view = this.views[c]!;
    at.start = p + 1;
    at.end = p + 1 + b[p]!;
  }

  /** The record's byte length when its first byte is not '-' or a digit (so it is no integer), else -1. */
  nonIntLength(off: number): number {
    const b = this.chunks[off >>> CHUNK_BITS]!;
    const p = off & (CHUNK - 1);
    const n = b[p]!;
    if (n === 0) return 0;
    const c = b[p + 1]!;
    return c === 45 || (c >= 48 && c <= 57) ? -1 : n;
  }

  /**
   * Whether the arena is within a chunk of its limit: putBytes could fail
   * (a put fails only when it needs a new chunk past MAX_ARENA; records of
   * a SET, at most 2 × (INLINE_MAX + 1) bytes, need at most one new chunk).
   * Byte writes then go the string way, which boxes what does not fit.
   */
  full(): boolean {
    return this.chunks.length * CHUNK + CHUNK >= MAX_ARENA;
  }

  /** The byte length of the record's string. */
  length(off: number): number {
    return this.chunks[off >>> CHUNK_BITS]![off & (CHUNK - 1)]!;
  }
}

/**
 * Where a string value stored as bytes is: `bytes[start, end)` (`view`: a
 * DataView of the same memory), valid until the table next changes (a
 * reply copies them at once).
 */
export interface ByteSpan {
  bytes: Uint8Array;
  view: DataView;
  start: number;
  end: number;
}

export class KeyTable {
  private arena = new ByteArena();
  /** slot + 1 per used index position, 0: empty. Power-of-two size, at most 3/4 full. */
  private index = new Int32Array(INITIAL_SLOTS * 2);
  private mask = INITIAL_SLOTS * 2 - 1;
  /** Per slot: the key's arena offset, or -1 (boxed, in boxedKeys). */
  private keyOff = new Int32Array(INITIAL_SLOTS);
  /** Per slot: the value's arena offset, BOXED (in boxedValues) or FREE. */
  private valOff = new Int32Array(INITIAL_SLOTS).fill(FREE);
  private hashes = new Int32Array(INITIAL_SLOTS);
  /** Each slot's access clock (NO_CLOCK: none). */
  clocks = new Int32Array(INITIAL_SLOTS).fill(NO_CLOCK);
  private boxedKeys = new Map<number, string>();
  private boxedValues = new Map<number, Value>();
  /** Slots ever handed out: slots at or above it are unused. */
  private used = 0;
  /** Free slots (below used), reused last-freed first. */
  private free: number[] = [];
  private count = 0;
  /** Bumped by clear(): iterators of an earlier generation end. */
  private generation = 0;
  /** Bumped by every change of the index (add, delete, rehash, clear). */
  private mods = 0;
  /**
   * The key slotOf last missed, its hash and the empty index position it
   * would go to, as of `missMods`: an add of that key right after (SET of a
   * new key) skips hashing and probing again.
   */
  private missKey: string | undefined = undefined;
  private missHash = 0;
  private missPos = 0;
  private missMods = -1;
  /** Whether the per-hash-slot key index is kept (indexSlots()). */
  private indexed = false;
  /** Per table slot, the next and previous table slot of a key in the same hash slot (NONE: none); empty while not indexed. */
  private slotNext = new Int32Array(0);
  private slotPrev = new Int32Array(0);
  /** Per hash slot, its first key's table slot (NONE: no key) and its number of keys; made on the first key. */
  private slotHeads: Int32Array | undefined = undefined;
  private slotCounts: Int32Array | undefined = undefined;

  get size(): number {
    return this.count;
  }

  private keyAt(slot: number): string {
    const k = this.keyOff[slot]!;
    return k >= 0 ? this.arena.str(k) : this.boxedKeys.get(slot)!;
  }

  /**
   * The key's index position (≥ 0: holds its slot + 1), or -1 - the empty
   * position where it would go. `noted`: the key is lastKey's (compared by
   * its words).
   */
  private find(key: string, h: number, noted = false): number {
    const index = this.index;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const e = index[i]!;
      if (e === 0) return -1 - i;
      const s = e - 1;
      if (this.hashes[s] === h) {
        const k = this.keyOff[s]!;
        if (k >= 0 ? (noted ? this.arena.equalsNoted(k, lastKey) : this.arena.equals(k, key)) : this.boxedKeys.get(s) === key) return i;
      }
      i = (i + 1) & mask;
    }
  }

  /** The key's slot, or undefined. */
  slotOf(key: string): number | undefined {
    // The key the request parser just made (GET's, SET's…): hashed from the request's bytes, compared by words.
    const noted = key === lastKey.key;
    const h = noted ? lastKey.hash : hashOf(key);
    const i = this.find(key, h, noted);
    if (i >= 0) return this.index[i]! - 1;
    this.missKey = key;
    this.missHash = h;
    this.missPos = -1 - i;
    this.missMods = this.mods;
    return undefined;
  }

  /**
   * slotOf for the key whose latin1 bytes are the `len` (≤ INLINE_MAX) at
   * `start` of `src`: its slot, or -1 - the empty index position where it
   * would go (then `bytesHash` holds its hash, for addBytes). A key stored
   * boxed is longer than INLINE_MAX or has a char above 0xff: never these
   * bytes.
   */
  slotOfBytes(src: DataView, start: number, len: number): number {
    const h = hashBytes(src, start, len);
    this.bytesHash = h;
    const index = this.index;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const e = index[i]!;
      if (e === 0) return -1 - i;
      const s = e - 1;
      if (this.hashes[s] === h) {
        const k = this.keyOff[s]!;
        if (k >= 0 && this.arena.equalsBytes(k, src, start, len)) return s;
      }
      i = (i + 1) & mask;
    }
  }

  /** The hash slotOfBytes computed last. */
  private bytesHash = 0;

  /**
   * Adds the key of `klen` bytes at `kstart` of `src` with the string value
   * of `vlen` bytes at `vstart` (both ≤ INLINE_MAX), right after slotOfBytes
   * of that key answered `miss` (no change in between); returns its slot
   * (clock NO_CLOCK), or -1 with nothing changed when it cannot be stored as
   * bytes (the arena is full, or the per-hash-slot key index is kept: it
   * needs the key's string): the caller adds it as a string.
   */
  addBytes(miss: number, src: DataView, kstart: number, klen: number, vstart: number, vlen: number): number {
    if (this.indexed || this.arena.full()) return -1;
    const h = this.bytesHash;
    let i = -1 - miss;
    if ((this.count + 1) * 4 > this.index.length * 3) {
      this.rehash(this.index.length * 2);
      i = h & this.mask;
      while (this.index[i] !== 0) i = (i + 1) & this.mask;
    }
    this.missKey = undefined;
    this.mods++;
    let s = this.free.pop();
    if (s === undefined) {
      s = this.used++;
      if (s >= this.keyOff.length) this.growSlots();
    }
    this.keyOff[s] = this.arena.putBytes(src, kstart, klen);
    this.hashes[s] = h;
    this.valOff[s] = this.arena.putBytes(src, vstart, vlen);
    this.clocks[s] = NO_CLOCK;
    this.index[i] = s + 1;
    this.count++;
    return s;
  }

  /**
   * setAt for a string value given as its `len` (≤ INLINE_MAX) bytes at
   * `start` of `src`: a record of the same length is rewritten in place (no
   * free-list round trip). False, with nothing changed, when the arena is
   * full.
   */
  setAtBytes(slot: number, src: DataView, start: number, len: number): boolean {
    const v = this.valOff[slot]!;
    if (v >= 0 && this.arena.length(v) === len) {
      this.arena.writeBytes(v, src, start, len);
      return true;
    }
    if (this.arena.full()) return false;
    this.dropValue(slot);
    this.valOff[slot] = this.arena.putBytes(src, start, len);
    return true;
  }

  /** The byte length of the string value in `slot` when it is stored inline and cannot be an integer (first byte not '-' or a digit), else -1. */
  nonIntStringLength(slot: number): number {
    const v = this.valOff[slot]!;
    return v >= 0 ? this.arena.nonIntLength(v) : -1;
  }

  get(key: string): Value | undefined {
    const s = this.slotOf(key);
    return s === undefined ? undefined : this.valueAt(s);
  }

  /** The value in a slot a live iterator or slotOf gave. */
  valueAt(slot: number): Value {
    const v = this.valOff[slot]!;
    return v >= 0 ? this.arena.str(v) : this.boxedValues.get(slot)!;
  }

  /** When the value in `slot` is a string stored as bytes: points `at` at them and returns true (no string made); else false. */
  valueBytes(slot: number, at: ByteSpan): boolean {
    const v = this.valOff[slot]!;
    if (v < 0) return false;
    this.arena.span(v, at);
    return true;
  }

  has(key: string): boolean {
    return this.find(key, hashOf(key)) >= 0;
  }

  /** Replaces the value of the key in `slot`. */
  setAt(slot: number, value: Value): void {
    this.dropValue(slot);
    this.putValue(slot, value);
  }

  private dropValue(slot: number): void {
    const v = this.valOff[slot]!;
    if (v >= 0) this.arena.release(v);
    else if (v === BOXED) this.boxedValues.delete(slot);
  }

  private putValue(slot: number, value: Value): void {
    const off = typeof value === 'string' ? this.arena.put(value) : -1;
    if (off >= 0) {
      this.valOff[slot] = off;
    } else {
      this.valOff[slot] = BOXED;
      this.boxedValues.set(slot, value);
    }
  }

  /** Adds a key that is not in the table; returns its slot (clock NO_CLOCK). */
  add(key: string, value: Value): number {
    let h: number;
    let i: number;
    const grow = (this.count + 1) * 4 > this.index.length * 3;
    if (!grow && this.missMods === this.mods && key === this.missKey) {
      h = this.missHash;
      i = this.missPos;
    } else {
      h = hashOf(key);
      if (grow) this.rehash(this.index.length * 2);
      i = this.find(key, h);
      if (i >= 0) throw new Error('KeyTable.add: the key is already in the table');
      i = -1 - i;
    }
    this.missKey = undefined;
    this.mods++;
    let s = this.free.pop();
    if (s === undefined) {
      s = this.used++;
      if (s >= this.keyOff.length) this.growSlots();
    }
    const k = this.arena.put(key);
    this.keyOff[s] = k;
    if (k < 0) this.boxedKeys.set(s, key);
    this.hashes[s] = h;
    this.putValue(s, value);
    this.clocks[s] = NO_CLOCK;
    this.index[i] = s + 1;
    this.count++;
    if (this.indexed) this.link(s, key);
    return s;
  }

  /** Puts the key in table slot `s` first in its hash slot's list. */
  private link(s: number, key: string): void {
    const hs = keyHashSlot(key);
    let heads = this.slotHeads;
    let counts = this.slotCounts;
    if (heads === undefined || counts === undefined) {
      heads = this.slotHeads = new Int32Array(HASH_SLOTS).fill(NONE);
      counts = this.slotCounts = new Int32Array(HASH_SLOTS);
    }
    const first = heads[hs]!;
    this.slotNext[s] = first;
    this.slotPrev[s] = NONE;
    if (first !== NONE) this.slotPrev[first] = s;
    heads[hs] = s;
    counts[hs] = counts[hs]! + 1;
  }

  /** Takes the key in table slot `s` out of its hash slot's list. */
  private unlink(s: number, key: string): void {
    const hs = keyHashSlot(key);
    const next = this.slotNext[s]!;
    const prev = this.slotPrev[s]!;
    if (prev !== NONE) this.slotNext[prev] = next;
    else this.slotHeads![hs] = next;
    if (next !== NONE) this.slotPrev[next] = prev;
    const counts = this.slotCounts!;
    counts[hs] = counts[hs]! - 1;
  }

  /** Whether the per-hash-slot key index is kept. */
  get slotIndexed(): boolean {
    return this.indexed;
  }

  /**
   * Starts keeping the per-hash-slot key index (a node of a sharded
   * cluster, at start): the keys already here are indexed in table-slot
   * order. It stays on through clear().
   */
  indexSlots(): void {
    if (this.indexed) return;
    this.indexed = true;
    this.slotNext = new Int32Array(this.keyOff.length);
    this.slotPrev = new Int32Array(this.keyOff.length);
    for (let s = 0; s < this.used; s++) if (this.valOff[s] !== FREE) this.link(s, this.keyAt(s));
  }

  /** The number of keys stored in a hash slot (expired ones not yet deleted included, as Redis's countKeysInSlot). */
  countInSlot(hashSlot: number): number {
    if (this.indexed) return this.slotCounts === undefined ? 0 : this.slotCounts[hashSlot]!;
    let n = 0;
    for (let s = 0; s < this.used; s++) if (this.valOff[s] !== FREE && keyHashSlot(this.keyAt(s)) === hashSlot) n++;
    return n;
  }

  /**
   * Up to `limit` keys stored in a hash slot (expired ones included): newest
   * first from the index; in table-slot order when the index is off (a
   * walk of every key). A copy: the caller may change the table while it
   * goes through them.
   */
  keysInSlot(hashSlot: number, limit = Infinity): string[] {
    const out: string[] = [];
    if (this.indexed) {
      if (this.slotHeads === undefined) return out;
      for (let s = this.slotHeads[hashSlot]!; s !== NONE && out.length < limit; s = this.slotNext[s]!) out.push(this.keyAt(s));
      return out;
    }
    for (let s = 0; s < this.used && out.length < limit; s++) {
      if (this.valOff[s] === FREE) continue;
      const k = this.keyAt(s);
      if (keyHashSlot(k) === hashSlot) out.push(k);
    }
    return out;
  }

  private growSlots(): void {
    const n = this.keyOff.length * 2;
    const keyOff = new Int32Array(n);
    keyOff.set(this.keyOff);
    this.keyOff = keyOff;
    const valOff = new Int32Array(n).fill(FREE);
    valOff.set(this.valOff);
    this.valOff = valOff;
    const hashes = new Int32Array(n);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const clocks = new Int32Array(n).fill(NO_CLOCK);
    clocks.set(this.clocks);
    this.clocks = clocks;
    if (this.indexed) {
      const next = new Int32Array(n);
      next.set(this.slotNext);
      this.slotNext = next;
      const prev = new Int32Array(n);
      prev.set(this.slotPrev);
      this.slotPrev = prev;
    }
  }

  private rehash(size: number): void {
    const index = new Int32Array(size);
    const mask = size - 1;
    for (let s = 0; s < this.used; s++) {
      if (this.valOff[s] === FREE) continue;
      let i = this.hashes[s]! & mask;
      while (index[i] !== 0) i = (i + 1) & mask;
      index[i] = s + 1;
    }
    this.index = index;
    this.mask = mask;
    this.mods++;
  }

  /** Removes a key; returns the value it held. */
  delete(key: string): Value | undefined {
    let i = this.find(key, hashOf(key));
    if (i < 0) return undefined;
    const s = this.index[i]! - 1;
    const v = this.valueAt(s);
    // Backward-shift deletion: later entries of the probe run move into the hole unless their home lies cyclically in (hole, position].
    const index = this.index;
    const mask = this.mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = index[j]!;
      if (e === 0) break;
      const home = this.hashes[e - 1]! & mask;
      const stays = i < j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        index[i] = e;
        i = j;
      }
    }
    index[i] = 0;
    this.mods++;
    if (this.indexed) this.unlink(s, key);
    const k = this.keyOff[s]!;
    if (k >= 0) this.arena.release(k);
    else this.boxedKeys.delete(s);
    this.dropValue(s);
    this.valOff[s] = FREE;
    this.free.push(s);
    this.count--;
    return v;
  }

  clear(): void {
    this.arena = new ByteArena();
    this.index = new Int32Array(INITIAL_SLOTS * 2);
    this.mask = INITIAL_SLOTS * 2 - 1;
    this.keyOff = new Int32Array(INITIAL_SLOTS);
    this.valOff = new Int32Array(INITIAL_SLOTS).fill(FREE);
    this.hashes = new Int32Array(INITIAL_SLOTS);
    this.clocks = new Int32Array(INITIAL_SLOTS).fill(NO_CLOCK);
    if (this.indexed) {
      this.slotNext = new Int32Array(INITIAL_SLOTS);
      this.slotPrev = new Int32Array(INITIAL_SLOTS);
      this.slotHeads = undefined;
      this.slotCounts = undefined;
    }
    this.boxedKeys = new Map();
    this.boxedValues = new Map();
    this.used = 0;
    this.free = [];
    this.count = 0;
    this.generation++;
    this.mods++;
    this.missKey = undefined;
  }

  /** The next used slot at or after `from` of generation `gen`, or -1. */
  private nextSlot(from: number, gen: number): number {
    if (gen !== this.generation) return -1;
    for (let s = from; s < this.used; s++) if (this.valOff[s] !== FREE) return s;
    return -1;
  }

  /** Every key, live (see the class comment). */
  keys(): IterableIterator<string> {
    const gen = this.generation;
    return new SlotWalk((from) => this.nextSlot(from, gen), (s) => this.keyAt(s));
  }

  /** [key, slot] pairs, live: the snapshot walker reads each value with valueAt. */
  entries(): IterableIterator<[string, number]> {
    const gen = this.generation;
    return new SlotWalk((from) => this.nextSlot(from, gen), (s): [string, number] => [this.keyAt(s), s]);
  }

  /** Sets every slot's clock to NO_CLOCK (the clock mode changed). */
  forgetClocks(): void {
    this.clocks.fill(NO_CLOCK);
  }
}

/** A live walk over a table's slots in order (`step(from)`: the next used slot at or after `from`, or -1). */
class SlotWalk<T> implements IterableIterator<T> {
  private at = 0;

  constructor(
    private readonly step: (from: number) => number,
    private readonly make: (slot: number) => T,
  ) {}

  next(): IteratorResult<T> {
    const s = this.step(this.at);
    if (s < 0) {
      this.at = Number.MAX_SAFE_INTEGER;
      return { done: true, value: undefined };
    }
    this.at = s + 1;
    return { done: false, value: this.make(s) };
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this;
  }
}
