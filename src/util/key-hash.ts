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

/** Keys up to this many bytes are noted (the table's INLINE_MAX: longer keys are boxed, compared as strings). */
export const NOTED_MAX = 64;

/** The key noted last: its string, length, hash and bytes as little-endian int32 words (the last one zero-padded). */
export interface NotedKey {
  key: string | undefined;
  len: number;
  hash: number;
  readonly words: Int32Array;
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
