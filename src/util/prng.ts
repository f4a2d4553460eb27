/**
 * A small seeded PRNG (mulberry32): the same sequence from the same seed,
 * on every platform.
 *
 * Its sequence is part of the replicated state machine: a write's random
 * choices (SPOP) are drawn from createPrng(entrySeed(index, time))
 * (src/commands/random.ts), so every replica, and a node replaying an old
 * log or restoring a snapshot, must draw exactly the numbers the leader's
 * version drew. Never change what createPrng returns for a seed
 * (test/unit/util/prng.test.ts pins it). Raft's election timeouts and the
 * tests' simulated runs use it too, for runs reproducible from one number;
 * should they need another generator, they get their own rather than
 * changing this one.
 */
export function createPrng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One step of Marsaglia's xorshift32 (13, 17, 5): the state after x, an
 * unsigned 32-bit integer (0 only from 0). For cheap draws that need no
 * quality: a skiplist node's level, the LFU counter's coin, the evictor's
 * samples. The eviction sampler's draws are the leader's and travel in the
 * entry, so a change here changes no replica's state, only which keys a
 * leader picks.
 */
export function xorshift32(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/**
 * Draws in [0, 1) from xorshift32, starting at seed (0 is taken as 1): a
 * cheap reproducible generator for randomized tests that need no quality.
 */
export function xorshiftPrng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => (x = xorshift32(x)) / 4294967296;
}

/** An integer in [0, n). */
export function randomInt(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}
