/**
 * The fast paths XADD takes for IDs (idOfWords as one string, idNextAuto,
 * halfDelta on safe halves) against their definitions in bigints.
 */
import { describe, expect, it } from 'vitest';
import { halfDelta, idIncr, idMs, idNextAuto, idOfBig, idSeq, idText, MAX_ID, type StreamId } from '../../../src/keyspace/types/stream-id.js';
import { createPrng } from '../../../src/util/prng.js';

const U64 = (1n << 64n) - 1n;

/** ms and seq of an ID as bigints. */
function parts(id: StreamId): [bigint, bigint] {
  return [BigInt(idMs(id)), BigInt(idSeq(id))];
}

/** A random 64-bit value, biased to the edges (0, 2^32 ± 1, 2^53 ± 1, 2^64 - 1) where the fast paths switch. */
function u64(rand: () => number): bigint {
  const edges = [0n, 1n, (1n << 32n) - 1n, 1n << 32n, (1n << 53n) - 1n, 1n << 53n, U64 - 1n, U64];
  const r = rand();
  if (r < 0.4) return edges[Math.floor(rand() * edges.length)]!;
  if (r < 0.7) return BigInt(Math.floor(rand() * 2 ** 45)) + 1700000000000n;
  return (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
}

describe('stream IDs: fast paths', () => {
  it('idOfWords gives flat 16-byte IDs that order and print as their parts do', () => {
    const rand = createPrng(11);
    for (let i = 0; i < 2000; i++) {
      const [ms, seq] = [u64(rand), u64(rand)];
      const id = idOfBig(ms, seq);
      expect(id.length).toBe(16);
      expect(parts(id)).toEqual([ms, seq]);
      expect(idText(id)).toBe(`${ms}-${seq}`);
    }
  });

  it('idNextAuto is `now`-0 when now is past the last ms, else the last ID + 1, as streamNextID', () => {
    const rand = createPrng(12);
    for (let i = 0; i < 3000; i++) {
      const last = idOfBig(u64(rand), u64(rand));
      const [ms] = parts(last);
      const now = rand() < 0.5 && ms < 1n << 53n ? Number(ms) + Math.floor(rand() * 3) - 1 : Math.floor(rand() * 2 ** 45);
      const expected = now >= 0 && BigInt(now) > ms ? idOfBig(BigInt(now), 0n) : idIncr(last);
      expect(idNextAuto(last, now)).toBe(expected);
    }
    expect(idNextAuto(MAX_ID, 5)).toBeUndefined();
    expect(idNextAuto(idOfBig(7n, U64), 7)).toBe(idOfBig(8n, 0n));
  });

  it('halfDelta is the signed 64-bit difference of the halves', () => {
    const rand = createPrng(13);
    for (let i = 0; i < 3000; i++) {
      const a = idOfBig(u64(rand), u64(rand));
      const b = rand() < 0.5 ? idOfBig(u64(rand), u64(rand)) : a;
      for (const [at, k] of [[0, 0], [8, 1]] as const) {
        const d = BigInt.asIntN(64, parts(a)[k]! - parts(b)[k]!);
        expect(BigInt(halfDelta(a, b, at))).toBe(d);
        const got = halfDelta(a, b, at);
        if (typeof got === 'number') expect(Number.isSafeInteger(got)).toBe(true);
      }
    }
  });
});
