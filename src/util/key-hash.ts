/**
 * The key table's hash (keyspace/key-table.ts), defined over a key's bytes
 * (latin1: one char per byte) four at a time, so that it can be computed
 * from a string (charCodeAt) or from the bytes a request brought
 * (noteKeyBytes, called by the request parser) with the same result.
 *
 * The request parser makes each argument's string from the chunk's bytes;
 * reading a string's chars back costs ~15 instructions a char in TurboFan
 * (every charCodeAt dispatches on the string's representation), a byte of a
 * Buffer a few. So the parser hashes the key it has just made (argv[1]) from
 * its bytes and leaves the hash, with the key's bytes as little-endian int32
 * words, in `lastKey`: the table's lookup of that string takes the hash from
 * there and compares its stored bytes with those words. What lastKey holds is a
 * function of the key's content alone (not of the request's buffer), so it
 * stays right for as long as it is kept: any string equal to lastKey.key
 * (the same string, or an equal one made later, e.g. by the entry decoder)
 * has that hash and those words.
 */

import { latin1 } from './latin1.js';

/**
 * A per-process seed for the key hash, so that a set of keys that collide
 * cannot be prepared in advance (hash flooding; V8 seeds its string hashes
 * too). Nothing observable depends on the hash: the table iterates by slot,
 * and slots are handed out in the order of the writes, the same on every
 * replica.
 */
const HASH_SEED = Math.floor(Math.random() * 0x100000000) | 0;
const BASIS = 0x811c9dc5 ^ HASH_SEED;
const PRIME = 0x01000193;
const fcc = String.fromCharCode;

/** Keys up to this many bytes are noted (the table's INLINE_MAX: longer keys are boxed, compared as strings). */
export const NOTED_MAX = 64;

/** The key noted last: its string, length, hash and bytes as little-endian int32 words (the last one zero-padded). */
export interface NotedKey {
  key: string | undefined;
  len: number;
  hash: number;
  /** Replaced by KeyNotes (which keeps the array it held): read it at each use, do not keep it. */
  words: Int32Array;
}

export const lastKey: NotedKey = { key: undefined, len: 0, hash: 0, words: new Int32Array(NOTED_MAX / 4) };

/** murmur3's final mix: every input bit reaches the low bits the table's index uses. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * FNV-1a over little-endian int32 words of the key's chars (a last partial
 * word zero-padded), from a seeded basis mixed with the length, then
 * murmur3's final mix. An int32 (kept in an Int32Array: a uint32 at or
 * above 2^31 is a double in V8). A char above 0xff (no key the parser makes
 * has one) overlaps its neighbours' bits: still a function of the string.
 */
export function keyHash(s: string): number {
  const n = s.length;
  let h = Math.imul(BASIS ^ n, PRIME);
  let i = 0;
  for (; i + 4 <= n; i += 4) h = Math.imul(h ^ (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24)), PRIME);
  if (i < n) {
    let w = s.charCodeAt(i);
    if (i + 1 < n) w |= s.charCodeAt(i + 1) << 8;
    if (i + 2 < n) w |= s.charCodeAt(i + 2) << 16;
    h = Math.imul(h ^ w, PRIME);
  }
  return finish(h);
}

/**
 * keyHash of the latin1 string of the `len` bytes at `start` of `v` (one
 * char per byte), read from the bytes four at a time: SET applied from its
 * entry's bytes (keyspace/key-table.ts slotOfBytes) finds the key a string
 * lookup finds.
 */
export function keyHashView(v: DataView, start: number, len: number): number {
  let h = Math.imul(BASIS ^ len, PRIME);
  const end = start + len;
  let p = start;
  for (; p + 4 <= end; p += 4) h = Math.imul(h ^ v.getInt32(p, true), PRIME);
  if (p < end) {
    let w = v.getUint8(p);
    if (p + 1 < end) w |= v.getUint8(p + 1) << 8;
    if (p + 2 < end) w |= v.getUint8(p + 2) << 16;
    h = Math.imul(h ^ w, PRIME);
  }
  return finish(h);
}

/**
 * Notes `key`, just made from `b[start, end)` (its latin1 bytes), in
 * lastKey: its hash (keyHash's) and words, read from the bytes. Keys longer
 * than NOTED_MAX are not noted.
 */
export function noteKeyBytes(key: string, b: Uint8Array, start: number, end: number): void {
  const n = end - start;
  if (n > NOTED_MAX) return;
  const words = lastKey.words;
  let h = Math.imul(BASIS ^ n, PRIME);
  let i = start;
  let k = 0;
  for (; i + 4 <= end; i += 4) {
    const w = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    words[k++] = w;
    h = Math.imul(h ^ w, PRIME);
  }
  if (i < end) {
    let w = b[i]!;
    if (i + 1 < end) w |= b[i + 1]! << 8;
    if (i + 2 < end) w |= b[i + 2]! << 16;
    words[k] = w;
    h = Math.imul(h ^ w, PRIME);
  }
  lastKey.key = key;
  lastKey.len = n;
  lastKey.hash = finish(h);
}

/**
 * The latin1 string of the key `b[start, end)` (a copy, as util/latin1's),
 * noted in lastKey as noteKeyBytes notes it. Up to 16 bytes each byte is
 * read once, for both the string (String.fromCharCode of the bytes, as
 * latin1) and the words: the code for each length is written out (a loop
 * that stores words between loads reloads the Buffer's fields at each one;
 * ~150 instructions less per 16-byte key under callgrind).
 */
export function latin1Key(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  const s = start;
  const words = lastKey.words;
  let h = Math.imul(BASIS ^ n, PRIME);
  let key: string;
  // prettier-ignore
  switch (n) {
    case 0:
      key = '';
      break;
    case 1: {
      const c0 = b[s]!;
      const w0 = c0;
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      key = fcc(c0);
      break;
    }
    case 2: {
      const c0 = b[s]!, c1 = b[s + 1]!;
      const w0 = c0 | (c1 << 8);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      key = fcc(c0, c1);
      break;
    }
    case 3: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      key = fcc(c0, c1, c2);
      break;
    }
    case 4: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      key = fcc(c0, c1, c2, c3);
      break;
    }
    case 5: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4;
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      key = fcc(c0, c1, c2, c3, c4);
      break;
    }
    case 6: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5);
      break;
    }
    case 7: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6);
      break;
    }
    case 8: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!, c7 = b[s + 7]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16) | (c7 << 24);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6, c7);
      break;
    }
    case 9: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!, c7 = b[s + 7]!, c8 = b[s + 8]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16) | (c7 << 24);
      const w2 = c8;
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      words[2] = w2;
      h = Math.imul(h ^ w2, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6, c7, c8);
      break;
    }
    case 10: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!, c7 = b[s + 7]!, c8 = b[s + 8]!, c9 = b[s + 9]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16) | (c7 << 24);
      const w2 = c8 | (c9 << 8);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      words[2] = w2;
      h = Math.imul(h ^ w2, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
      break;
    }
    case 11: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!, c7 = b[s + 7]!, c8 = b[s + 8]!, c9 = b[s + 9]!, c10 = b[s + 10]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16) | (c7 << 24);
      const w2 = c8 | (c9 << 8) | (c10 << 16);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      words[2] = w2;
      h = Math.imul(h ^ w2, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10);
      break;
    }
    case 12: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!, c7 = b[s + 7]!, c8 = b[s + 8]!, c9 = b[s + 9]!, c10 = b[s + 10]!, c11 = b[s + 11]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16) | (c7 << 24);
      const w2 = c8 | (c9 << 8) | (c10 << 16) | (c11 << 24);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      words[2] = w2;
      h = Math.imul(h ^ w2, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
      break;
    }
    case 13: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!, c7 = b[s + 7]!, c8 = b[s + 8]!, c9 = b[s + 9]!, c10 = b[s + 10]!, c11 = b[s + 11]!, c12 = b[s + 12]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16) | (c7 << 24);
      const w2 = c8 | (c9 << 8) | (c10 << 16) | (c11 << 24);
      const w3 = c12;
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      words[2] = w2;
      h = Math.imul(h ^ w2, PRIME);
      words[3] = w3;
      h = Math.imul(h ^ w3, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12);
      break;
    }
    case 14: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!, c7 = b[s + 7]!, c8 = b[s + 8]!, c9 = b[s + 9]!, c10 = b[s + 10]!, c11 = b[s + 11]!, c12 = b[s + 12]!, c13 = b[s + 13]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16) | (c7 << 24);
      const w2 = c8 | (c9 << 8) | (c10 << 16) | (c11 << 24);
      const w3 = c12 | (c13 << 8);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      words[2] = w2;
      h = Math.imul(h ^ w2, PRIME);
      words[3] = w3;
      h = Math.imul(h ^ w3, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13);
      break;
    }
    case 15: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!, c7 = b[s + 7]!, c8 = b[s + 8]!, c9 = b[s + 9]!, c10 = b[s + 10]!, c11 = b[s + 11]!, c12 = b[s + 12]!, c13 = b[s + 13]!, c14 = b[s + 14]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16) | (c7 << 24);
      const w2 = c8 | (c9 << 8) | (c10 << 16) | (c11 << 24);
      const w3 = c12 | (c13 << 8) | (c14 << 16);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      words[2] = w2;
      h = Math.imul(h ^ w2, PRIME);
      words[3] = w3;
      h = Math.imul(h ^ w3, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14);
      break;
    }
    case 16: {
      const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!, c3 = b[s + 3]!, c4 = b[s + 4]!, c5 = b[s + 5]!, c6 = b[s + 6]!, c7 = b[s + 7]!, c8 = b[s + 8]!, c9 = b[s + 9]!, c10 = b[s + 10]!, c11 = b[s + 11]!, c12 = b[s + 12]!, c13 = b[s + 13]!, c14 = b[s + 14]!, c15 = b[s + 15]!;
      const w0 = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
      const w1 = c4 | (c5 << 8) | (c6 << 16) | (c7 << 24);
      const w2 = c8 | (c9 << 8) | (c10 << 16) | (c11 << 24);
      const w3 = c12 | (c13 << 8) | (c14 << 16) | (c15 << 24);
      words[0] = w0;
      h = Math.imul(h ^ w0, PRIME);
      words[1] = w1;
      h = Math.imul(h ^ w1, PRIME);
      words[2] = w2;
      h = Math.imul(h ^ w2, PRIME);
      words[3] = w3;
      h = Math.imul(h ^ w3, PRIME);
      key = fcc(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15);
      break;
    }
    default:
      key = latin1(b, start, end);
      noteKeyBytes(key, b, start, end);
      return key;
  }
  lastKey.key = key;
  lastKey.len = n;
  lastKey.hash = finish(h);
  return key;
}

const NOTE_WORDS = NOTED_MAX / 4;

/** Word arrays KeyNotes gave back, for lastKey to take next (shared by every KeyNotes: arrays move between them). */
const spareWords: Int32Array[] = [];
/** Spare word arrays kept at most. */
const SPARE_MAX = 4096;

/**
 * Notes of keys kept for later: a read that waits for its ReadIndex round
 * (commands/engine/read-batch.ts) runs after the parser has noted other
 * keys, so its key's note is kept when it is queued (keep) and put back in
 * lastKey just before it runs (bring): its lookup then takes the hash and
 * compares words as it would have at once, instead of reading the key's
 * chars twice. A note is a function of the key's content, so putting one
 * back is always right for that key. The words are not copied: keep takes
 * lastKey's word array and gives lastKey a spare one, bring gives the kept
 * array back to lastKey (a store per array instead of a loop per word,
 * whose typed-array stores make TurboFan reload the arrays' fields at each
 * one). Grown as needed; clear() to reuse.
 */
export class KeyNotes {
  private words: (Int32Array | undefined)[] = [];
  private lens = new Int32Array(16);
  private hashes = new Int32Array(16);
  private n = 0;

  /** Keeps lastKey's note if `key` is its key: the note's number, or -1 (not noted). */
  keep(key: string): number {
    if (key !== lastKey.key) return -1;
    const i = this.n;
    if (i === this.lens.length) this.grow();
    this.lens[i] = lastKey.len;
    this.hashes[i] = lastKey.hash;
    if (i < this.words.length) this.words[i] = lastKey.words;
    else this.words.push(lastKey.words);
    lastKey.words = spareWords.pop() ?? new Int32Array(NOTE_WORDS);
    // lastKey now has other words than its key's: it is no key's note until the parser notes the next one.
    lastKey.key = undefined;
    this.n = i + 1;
    return i;
  }

  /** Puts note `i` (kept for `key`) back in lastKey; each note at most once. */
  bring(i: number, key: string): void {
    const words = this.words[i]!;
    this.words[i] = undefined;
    if (spareWords.length < SPARE_MAX) spareWords.push(lastKey.words);
    lastKey.words = words;
    lastKey.key = key;
    lastKey.len = this.lens[i]!;
    lastKey.hash = this.hashes[i]!;
  }

  /** Forgets every note (the word arrays of those not brought back become spares). */
  clear(): void {
    const words = this.words;
    for (let i = 0; i < this.n; i++) {
      const w = words[i];
      if (w === undefined) continue;
      words[i] = undefined;
      if (spareWords.length < SPARE_MAX) spareWords.push(w);
    }
    this.n = 0;
  }

  private grow(): void {
    const n = this.lens.length * 2;
    const lens = new Int32Array(n);
    lens.set(this.lens);
    this.lens = lens;
    const hashes = new Int32Array(n);
    hashes.set(this.hashes);
    this.hashes = hashes;
  }
}
