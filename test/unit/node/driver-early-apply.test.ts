/**
 * Early apply (src/node/node.ts processReady / workWhileWriting): a leader
 * applies committed entries that are already on its disk while its next
 * write is still in flight, and applies nothing that is not durable, here
 * and on a quorum. Real RaftisNodes in the driver harness; the test decides
 * when each write completes. (The harness also checks, at every apply, that
 * the entry is on the applying node's disk and on a quorum of disks.)
 */
import { describe, expect, it } from 'vitest';
import { withCluster, type Cluster } from '../../harness/driver/cluster.js';

/** The two followers of leader l. */
function followers(c: Cluster, l: number): [number, number] {
  const f = c.ids.filter((id) => id !== l);
  return [f[0]!, f[1]!];
}

describe('driver: early apply', () => {
  it('applies a committed, durable entry in the Ready whose own write is held', async () => {
    await withCluster({ seed: 11 }, async (c) => {
      const l = c.leader();
      c.holdWrites(l);
      const a = c.propose(l);
      await c.runUntil(() => c.heldWrite(l)?.lastIndex === a.index, 1000, "the leader's write of A");
      const wA = c.heldWrite(l)!;
      // The followers write A and acknowledge it: a quorum without the leader.
      await c.runUntil(() => c.commitOf(l) >= a.index, 1000, 'A committed');
      // Committed, but not on the leader's disk: not applied there, not settled.
      await c.runFor(50);
      expect(c.node(l).appliedIndex).toBeLessThan(a.index);
      expect(a.outcomes).toEqual([]);
      // B waits in the core for the next Ready (the write of A is in flight).
      const b = c.propose(l);
      expect(b.index).toBe(a.index + 1);
      c.complete(wA);
      // A's write is done: the next Ready carries B's write and A to apply,
      // and A is applied while B's write is held.
      await c.runUntil(() => a.outcomes.length > 0, 1000, 'A settled');
      const wB = c.heldWrite(l);
      expect(wB?.firstIndex).toBe(b.index);
      expect(wB?.state).toBe('pending');
      expect(a.outcomes).toEqual(['applied']);
      expect(c.node(l).appliedIndex).toBe(a.index);
      expect(b.outcomes).toEqual([]);
      c.releaseWrites(l);
      await c.converge();
      expect(b.outcomes).toEqual(['applied']);
      c.verify();
    });
  });

  it('applies an entry that commits while the next write is in flight (workWhileWriting)', async () => {
    await withCluster({ seed: 12 }, async (c) => {
      const l = c.leader();
      const [f1, f2] = followers(c, l);
      // The followers' acknowledgements arrive late.
      c.net.slowLink(f1, l, 40);
      c.net.slowLink(f2, l, 40);
      c.holdWrites(l);
      const a = c.propose(l);
      await c.runUntil(() => c.heldWrite(l)?.lastIndex === a.index, 1000, "the leader's write of A");
      c.complete(c.heldWrite(l)!);
      // A is on the leader's disk, not yet committed; B's write starts and is held.
      const b = c.propose(l);
      await c.runUntil(() => c.heldWrite(l)?.firstIndex === b.index, 1000, "the leader's write of B");
      expect(c.commitOf(l)).toBeLessThan(a.index);
      const wB = c.heldWrite(l)!;
      // The acknowledgements of A arrive while B's write is in flight: A is applied now.
      await c.runUntil(() => a.outcomes.length > 0, 1000, 'A settled');
      expect(wB.state).toBe('pending');
      expect(a.outcomes).toEqual(['applied']);
      expect(c.node(l).appliedIndex).toBe(a.index);
      // B committed on the followers' acknowledgements, but is not on the leader's disk.
      await c.runUntil(() => c.commitOf(l) >= b.index, 1000, 'B committed');
      await c.runFor(50);
      expect(c.node(l).appliedIndex).toBe(a.index);
      expect(b.outcomes).toEqual([]);
      c.complete(wB);
      await c.runUntil(() => b.outcomes.length > 0, 1000, 'B settled');
      expect(b.outcomes).toEqual(['applied']);
      c.net.heal();
      c.releaseWrites(l);
      await c.converge();
      c.verify();
    });
  });

  it('a follower applies entries that committed while its write was held only once they are on its disk', async () => {
    await withCluster({ seed: 14 }, async (c) => {
      const l = c.leader();
      const [, f2] = followers(c, l);
      c.holdWrites(f2);
      const p0 = c.propose(l);
      await c.runUntil(() => c.heldWrite(f2)?.lastIndex === p0.index && p0.outcomes.length > 0, 1000, 'p0 held on the follower, applied on the leader');
      const w0 = c.heldWrite(f2)!;
      // p1 reaches the follower and commits (with the other follower) while p0's write is held.
      const p1 = c.propose(l);
      await c.runUntil(() => c.commitOf(f2) >= p1.index, 1000, 'p1 committed on the follower');
      expect(c.node(f2).appliedIndex).toBeLessThan(p0.index);
      // p0's write completes: the next Ready writes p1 and hands out p0 and p1 to apply;
      // p0 is on the disk and applied at once, p1 is not and waits for its write.
      c.complete(w0);
      await c.runUntil(() => c.heldWrite(f2)?.firstIndex === p1.index, 1000, "the follower's write of p1");
      await c.runFor(50);
      expect(c.node(f2).appliedIndex).toBe(p0.index);
      c.releaseWrites(f2);
      await c.waitApplied(f2, p1.index);
      await c.converge();
      expect([p0.outcome, p1.outcome]).toEqual(['applied', 'applied']);
      c.verify();
    });
  });

  it('a leader applies none of a large batch that committed on the followers before its own write', async () => {
    await withCluster({ seed: 15 }, async (c) => {
      const l = c.leader();
      c.holdWrites(l);
      const a = c.propose(l);
      await c.runUntil(() => c.heldWrite(l)?.lastIndex === a.index, 1000, "the leader's write of A");
      const wA = c.heldWrite(l)!;
      // A batch large enough to be sent to the followers while A's write is in
      // flight (node.ts sendEarly): the followers write it and it commits.
      const batch = Array.from({ length: 70 }, () => c.propose(l));
      const last = batch[batch.length - 1]!.index;
      await c.runUntil(() => c.commitOf(l) >= last, 1000, 'the batch committed');
      expect(c.node(l).appliedIndex).toBeLessThan(a.index);
      // A's write completes: A is applied at once; the batch, committed but not on
      // the leader's disk, waits for its write.
      c.complete(wA);
      await c.runUntil(() => c.heldWrite(l)?.firstIndex === batch[0]!.index, 1000, "the leader's write of the batch");
      await c.runFor(50);
      expect(a.outcomes).toEqual(['applied']);
      expect(c.node(l).appliedIndex).toBe(a.index);
      expect(batch.every((p) => p.outcomes.length === 0)).toBe(true);
      c.releaseWrites(l);
      await c.converge();
      expect(new Set(batch.map((p) => p.outcome))).toEqual(new Set(['applied']));
      c.verify();
    });
  });

  it('applies nothing that is durable on one disk only', async () => {
    await withCluster({ seed: 13 }, async (c) => {
      const l = c.leader();
      const [f1, f2] = followers(c, l);
      c.holdWrites(f1);
      c.holdWrites(f2);
      const ps = [c.propose(l), c.propose(l), c.propose(l)];
      const last = ps[2]!.index;
      // The leader's own write completes; the followers' are held.
      await c.runUntil(() => c.slot(l).disk.lastIndex >= last && c.heldWrite(f1) !== undefined && c.heldWrite(f2) !== undefined, 1000, 'writes started');
      await c.runFor(200);
      for (const id of c.ids) expect(c.node(id).appliedIndex).toBeLessThan(ps[0]!.index);
      expect(c.commitOf(l)).toBeLessThan(ps[0]!.index);
      expect(ps.every((p) => p.outcomes.length === 0)).toBe(true);
      // One follower's write completes: a quorum holds them, they commit and are applied.
      c.releaseWrites(f1);
      await c.runUntil(() => ps.every((p) => p.outcomes.length > 0), 1000, 'proposals settled');
      expect(ps.map((p) => p.outcome)).toEqual(['applied', 'applied', 'applied']);
      // The follower whose write is still held has applied none of them.
      expect(c.node(f2).appliedIndex).toBeLessThan(ps[0]!.index);
      c.releaseWrites(f2);
      await c.converge();
      c.verify();
    });
  });
});
