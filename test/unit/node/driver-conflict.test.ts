/**
 * A conflicting suffix replaced while its old entries are still on disk
 * (src/node/node.ts durableIndex): a deposed leader's uncommitted tail is
 * overwritten by the new leader's entries, and its write of them is held.
 * Its disk still has entries at those indexes — the old ones — so they are
 * not "durable" in the sense early apply needs: the node must not apply the
 * new entries before they replace the old ones on disk (the harness checks
 * at every apply that the disk holds the entry applied), never apply an old
 * one, and a snapshot taken meanwhile must record the term of the entry it
 * applied, not the old entry's term read from the disk.
 */
import { describe, expect, it } from 'vitest';
import { withCluster } from '../../harness/driver/cluster.js';

describe('driver: a conflicting suffix replaced while the old entries are on disk', () => {
  for (const seed of [31, 32, 33]) {
    it(`applies neither the old entries nor the new ones before they are written, and snapshots the right term (seed ${seed})`, async () => {
      await withCluster({ seed, uncertainWaitMs: 60_000, snapshotKeepEntries: 0 }, async (c) => {
        const a = c.leader();
        // a, cut off, appends a tail nobody else has: X1..X3, written to its disk.
        c.net.isolate(a, c.ids);
        const xs = [c.propose(a), c.propose(a), c.propose(a)];
        const first = xs[0]!.index;
        await c.runUntil(() => c.slot(a).disk.lastIndex >= xs[2]!.index, 1000, 'the tail on a’s disk');
        const oldTerm = c.slot(a).disk.entry(first)!.term;
        // The others elect a new leader, which writes its own entries at those indexes.
        await c.runUntil(() => c.leader() !== 0 && c.leader() !== a, 5000, 'a new leader');
        const b = c.leader();
        const ys = [c.propose(b), c.propose(b), c.propose(b), c.propose(b)];
        await c.runUntil(() => ys.every((p) => p.outcomes.length > 0), 2000, 'the new entries committed');
        expect(ys.map((p) => p.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
        expect(c.ledger.committed.get(first)!.term).toBeGreaterThan(oldTerm);
        // a hears of it; its write of the new entries over the old ones is held.
        c.holdWrites(a, (w) => w.entries.length > 0 && w.firstIndex <= xs[2]!.index);
        c.net.heal();
        await c.runUntil(() => c.heldWrite(a) !== undefined, 2000, 'a’s write over its old tail');
        const held = c.heldWrite(a)!;
        expect(held.firstIndex).toBe(first);
        // The core knows entries from `first` on are committed; the disk still has the old ones there.
        await c.runUntil(() => c.commitOf(a) >= ys[3]!.index, 2000, 'a knows the new commit index');
        await c.runFor(100);
        expect(c.slot(a).disk.entry(first)!.term).toBe(oldTerm);
        // A snapshot now is of the applied state, with the committed log's term at its index.
        const meta = await c.settle(c.node(a).snapshot(), 1000, 'a snapshot on a');
        expect(meta).toBeDefined();
        expect(meta!.index).toBe(c.node(a).appliedIndex);
        expect(meta!.term).toBe(c.ledger.committed.get(meta!.index)!.term);
        expect(c.node(a).appliedIndex).toBeLessThan(first);
        expect(held.state).toBe('pending');
        // The write completes: the new entries are applied, the old never were.
        c.complete(held);
        await c.runUntil(() => c.node(a).appliedIndex >= ys[3]!.index, 1000, 'a applied the new entries');
        const appliedOnA = c.slot(a).inc!.applied.map((e) => e.data);
        for (const x of xs) expect(appliedOnA).not.toContain(x.text);
        for (const y of ys) expect(appliedOnA).toContain(y.text);
        // a's own tail was replaced at those indexes: lost.
        await c.converge();
        expect(xs.map((p) => p.outcome)).toEqual(['lost', 'lost', 'lost']);
        // A snapshot after the write records the new term; a restart from it agrees with the others.
        const after = await c.settle(c.node(a).snapshot(), 1000, 'a second snapshot on a');
        expect(after!.term).toBe(c.ledger.committed.get(after!.index)!.term);
        c.crash(a);
        await c.restart(a);
        expect(c.slot(a).disk.compactIndex).toBe(after!.index);
        await c.converge();
        expect(c.slot(a).inc!.state()).toEqual(c.slot(b).inc!.state());
        c.verify();
      });
    });
  }
});
