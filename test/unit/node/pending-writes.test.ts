import { describe, expect, it } from 'vitest';
import { PendingWrites } from '../../../src/node/pending-writes.js';
import type { Proposal } from '../../../src/node/state-machine.js';
import { createPrng } from '../../../src/util/prng.js';

type PendingWrite = Proposal;

function write(index: number, term = 1): PendingWrite {
  return { index, term, data: Buffer.from(`SET k${index} v`), settle: () => expect.unreachable() };
}

const indexes = (ps: PendingWrite[]): number[] => ps.map((p) => p.index);

describe('PendingWrites', () => {
  it('hands out each write at its index, once, and skips gaps of entries that were not ours', () => {
    const q = new PendingWrites<PendingWrite>();
    for (const i of [3, 4, 7]) q.add(write(i), () => expect.unreachable());
    const skipped: PendingWrite[] = [];
    expect(q.take(1, (p) => skipped.push(p))).toBeUndefined();
    expect(q.take(3, (p) => skipped.push(p))?.index).toBe(3);
    expect(q.take(3, (p) => skipped.push(p))).toBeUndefined();
    expect(q.take(4, (p) => skipped.push(p))?.index).toBe(4);
    expect(q.take(5, (p) => skipped.push(p))).toBeUndefined();
    expect(q.size).toBe(1);
    expect(q.take(7, (p) => skipped.push(p))?.index).toBe(7);
    expect(skipped).toEqual([]);
    expect(q.size).toBe(0);
  });

  it('a write proposed at an index already queued displaces it and every later one (a log truncated since)', () => {
    const q = new PendingWrites<PendingWrite>();
    for (const i of [10, 11, 12, 13]) q.add(write(i, 2), () => expect.unreachable());
    const lost: PendingWrite[] = [];
    q.add(write(11, 5), (p) => lost.push(p));
    expect(indexes(lost)).toEqual([13, 12, 11]);
    const skipped: PendingWrite[] = [];
    expect(q.take(11, (p) => skipped.push(p))?.term).toBe(5);
    expect(indexes(skipped)).toEqual([10]);
    expect(q.size).toBe(0);
  });

  it('writes below an applied index that never came up (a snapshot replaced them) are handed to skipped', () => {
    const q = new PendingWrites<PendingWrite>();
    for (const i of [5, 6, 9]) q.add(write(i), () => expect.unreachable());
    const skipped: PendingWrite[] = [];
    expect(q.take(8, (p) => skipped.push(p))).toBeUndefined();
    expect(indexes(skipped)).toEqual([5, 6]);
    const rest: PendingWrite[] = [];
    q.drain((p) => rest.push(p));
    expect(indexes(rest)).toEqual([9]);
    expect(q.size).toBe(0);
  });

  it('drainWhile hands out the oldest writes while the predicate holds, and keeps the rest in order', () => {
    const q = new PendingWrites<PendingWrite>();
    for (const [i, t] of [[5, 2], [6, 2], [7, 4], [8, 4]] as const) q.add(write(i, t), () => expect.unreachable());
    const old: PendingWrite[] = [];
    q.drainWhile((p) => p.term < 4, (p) => old.push(p));
    expect(indexes(old)).toEqual([5, 6]);
    expect(q.size).toBe(2);
    expect(q.take(7, () => expect.unreachable())?.term).toBe(4);
    q.drainWhile(() => true, (p) => old.push(p));
    expect(indexes(old)).toEqual([5, 6, 8]);
    expect(q.size).toBe(0);
  });

  it('matches a Map model over long random runs (compaction included)', () => {
    const rnd = createPrng(7);
    const q = new PendingWrites<PendingWrite>();
    const model = new Map<number, PendingWrite>();
    let next = 1;
    let applied = 0;
    for (let step = 0; step < 200_000; step++) {
      if (rnd() < 0.52) {
        const p = write(next++);
        q.add(p, () => expect.unreachable());
        model.set(p.index, p);
      } else if (applied < next - 1) {
        applied++;
        const got = q.take(applied, () => expect.unreachable());
        expect(got).toBe(model.get(applied));
        model.delete(applied);
      }
      if (rnd() < 0.05) next++; // an index that is not ours (no-op, conf change)
      expect(q.size).toBe(model.size);
    }
  });
});
