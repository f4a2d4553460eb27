/**
 * Picking members by position for SPOP, SRANDMEMBER and HRANDFIELD, without
 * walking the collection when few are wanted (Redis's cases 3 and 4 of
 * srandmemberWithCountCommand).
 */
import { createPrng } from '../util/prng.js';

/** `count` distinct positions in [0, size), count < size, in random order. */
export function distinctPositions(size: number, count: number, rand: () => number): number[] {
  if (count * 3 > size) {
    // Many of them: a partial Fisher-Yates shuffle of all positions.
    const all = new Array<number>(size);
    for (let i = 0; i < size; i++) all[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(rand() * (size - i));
      const t = all[i]!;
      all[i] = all[j]!;
      all[j] = t;
    }
    all.length = count;
    return all;
  }
  // Few of them: draw until there are enough distinct ones.
  const seen = new Set<number>();
  const out: number[] = [];
  while (out.length < count) {
    const p = Math.floor(rand() * size);
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
  }
  return out;
}

/**
 * The most a reply with repetitions (a negative count) may weigh. A JS
 * string, the reply writer's buffer, stops at 2^29-24 bytes, and Redis
 * would try to build any size (and run out of memory); raftis refuses
 * beyond this many bytes instead of throwing in the middle of a reply.
 */
export const MAX_RANDOM_REPLY_BYTES = 2 ** 28;

/**
 * Draws `count` positions in [0, size), repetitions allowed, for a reply
 * whose element at position i costs bytesAt(i). Returns null when the reply
 * would pass MAX_RANDOM_REPLY_BYTES, else a function that visits the same
 * positions: they are drawn twice from one seed (sizing, then visiting) so
 * nothing of size count is kept.
 */
export function repeatedPositions(size: number, count: number, bytesAt: (i: number) => number, random: () => number = Math.random): ((visit: (i: number) => void) => void) | null {
  const seed = Math.floor(random() * 4294967296);
  const sizing = createPrng(seed);
  let bytes = 0;
  for (let n = 0; n < count; n++) {
    bytes += bytesAt(Math.floor(sizing() * size));
    if (bytes > MAX_RANDOM_REPLY_BYTES) return null;
  }
  return (visit) => {
    const rand = createPrng(seed);
    for (let n = 0; n < count; n++) visit(Math.floor(rand() * size));
  };
}
