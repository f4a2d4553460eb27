/**
 * The fast paths XADD takes for IDs (idOfWords as one string, idNextAuto,
 * halfDelta on safe halves) against their definitions in bigints.
 */
import { describe, expect, it } from 'vitest';
import { AUTO_ID, halfDelta, idIncr, idMs, idNextAuto, idNextAutoParts, idOfBig, idSeq, idText, MAX_ID, safeHalf, type StreamId } from '../../../src/keyspace/types/stream-id.js';
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

  it('idNextAutoParts answers as idNextAuto, with the answer ms and seq as numbers when both are below 2^53 (issue 18, datamodel)', () => {
    const rand = createPrng(14);
    let withParts = 0;
    const safeSeqEdge = (1n << 53n) - 1n;
    for (let i = 0; i < 4000; i++) {
      const last = idOfBig(u64(rand), rand() < 0.1 ? safeSeqEdge - BigInt(Math.floor(rand() * 2)) : u64(rand));
      const [ms] = parts(last);
      const now = rand() < 0.5 && ms < 1n << 53n ? Number(ms) + Math.floor(rand() * 3) - 1 : Math.floor(rand() * 2 ** 45);
      const id = idNextAutoParts(last, now);
      expect(id).toBe(idNextAuto(last, now));
      if (AUTO_ID[0]! >= 0) {
        withParts++;
        expect([BigInt(AUTO_ID[0]!), BigInt(AUTO_ID[1]!)]).toEqual(parts(id!));
        expect(Number.isSafeInteger(AUTO_ID[0]!) && Number.isSafeInteger(AUTO_ID[1]!)).toBe(true);
      } else {
        // Left to idIncr only where a half is (or would become) 2^53 or more.
        expect(ms >= 1n << 53n || parts(last)[1] >= safeSeqEdge).toBe(true);
      }
    }
    expect(withParts).toBeGreaterThan(1000);
    expect(idNextAutoParts(idOfBig(7n, safeSeqEdge - 1n), 7)).toBe(idOfBig(7n, safeSeqEdge));
    expect([AUTO_ID[0], AUTO_ID[1]]).toEqual([7, Number(safeSeqEdge)]);
    expect(idNextAutoParts(idOfBig(7n, safeSeqEdge), 7)).toBe(idOfBig(7n, safeSeqEdge + 1n));
    expect(AUTO_ID[0]).toBe(-1);
    expect(idNextAutoParts(idOfBig(7n, 0xffffffffn), 7)).toBe(idOfBig(7n, 0x100000000n));
    expect([AUTO_ID[0], AUTO_ID[1]]).toEqual([7, 0x100000000]);
  });

  it('idNextAutoParts chained on its own answers (the remembered last ID) answers as idNextAuto (issue 18, geo3)', () => {
    const rand = createPrng(18);
    const safeSeqEdge = (1n << 53n) - 1n;
    // Two streams XADDing in turn, the clock sometimes behind, one stream walking up to seq 2^53 - 1 and past it.
    let a: StreamId = idOfBig(1000n, 0n);
    let b: StreamId = idOfBig(7n, safeSeqEdge - 3n);
    let clock = 1000;
    for (let i = 0; i < 3000; i++) {
      clock += rand() < 0.3 ? 1 : 0;
      const now = rand() < 0.1 ? clock - 5 : clock;
      const useA = rand() < 0.5;
      const last = useA ? a : b;
      // Sometimes an equal string that is another object (a copy made by a snapshot, a reload).
      const arg = rand() < 0.2 ? last.split('').join('') : last;
      const id = idNextAutoParts(arg, useA ? now : 7);
      expect(id).toBe(idNextAuto(last, useA ? now : 7));
      if (AUTO_ID[0]! >= 0) expect([BigInt(AUTO_ID[0]!), BigInt(AUTO_ID[1]!)]).toEqual(parts(id!));
      else expect(parts(last)[1] >= safeSeqEdge).toBe(true);
      if (useA) a = id!;
      else b = id!;
    }
    expect(parts(b)[1] > safeSeqEdge).toBe(true);
  });

  it('safeHalf is the half as a number below 2^53, else -1', () => {
    const rand = createPrng(15);
    for (let i = 0; i < 2000; i++) {
      const [ms, seq] = [u64(rand), u64(rand)];
      const id = idOfBig(ms, seq);
      expect(safeHalf(id, 0)).toBe(ms < 1n << 53n ? Number(ms) : -1);
      expect(safeHalf(id, 8)).toBe(seq < 1n << 53n ? Number(seq) : -1);
    }
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
