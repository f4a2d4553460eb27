/**
 * Random choices of write commands (SPOP). A write runs on every replica
 * when its entry is applied, so its "random" choice must be the same
 * everywhere: it is drawn from a PRNG seeded with the entry's log index and
 * the leader's timestamp, which the leader chose when it proposed the entry
 * (see docs/decisions.md). The PRNG is src/util/prng.ts, whose sequence for
 * a seed never changes. Reads (SRANDMEMBER, HRANDFIELD) use Math.random.
 */
import { createPrng } from '../util/prng.js';
import type { Ctx } from './types.js';

/** The entry's deterministic random source (shared by the commands of one entry). */
export function entryRandom(ctx: Ctx): () => number {
  if (ctx.rand === undefined) ctx.rand = createPrng(entrySeed(ctx.index, ctx.now));
  return ctx.rand;
}

/**
 * The random source of a command that only reads (SRANDMEMBER, HRANDFIELD,
 * ZRANDMEMBER): Math.random when it runs as a read, the entry's source when
 * it runs inside an applied entry (a transaction, or a script that may write
 * what it drew), so every replica draws the same.
 */
export function readRandom(ctx: Ctx): () => number {
  return ctx.index > 0 ? entryRandom(ctx) : Math.random;
}

/** Mixes the index and the time (both may exceed 32 bits) into one 32-bit seed. */
export function entrySeed(index: number, now: number): number {
  let h = Math.imul((index >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h ^= Math.floor(index / 4294967296);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= now >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= Math.floor(now / 4294967296);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
