/**
 * A failed write of the Raft log (a failed fsync): the driver reports it
 * through onFatal and settles no proposal 'applied' afterwards — not those
 * of the failed write, whose entries never reached the disk, and not any
 * other: the node cannot go on, and the product exits in onFatal
 * (src/cli/start.ts) "so no reply is sent for a write that is not durable".
 * The cluster runs with onFatal: 'continue' so that what the driver itself
 * does after the failure is seen, then the node is crashed and restarted on
 * what its disk holds.
 */
import { describe, expect, it } from 'vitest';
import { withCluster } from '../../harness/driver/cluster.js';

describe('driver: a failed log write', () => {
  it('is reported through onFatal, and none of its proposals is settled applied', async () => {
    await withCluster({ seed: 51, onFatal: 'continue' }, async (c) => {
      const l = c.leader();
      c.holdWrites(l);
      const ps = [c.propose(l), c.propose(l), c.propose(l)];
      await c.runUntil(() => c.heldWrite(l)?.lastIndex === ps[2]!.index, 1000, "the leader's write");
      c.fail(c.heldWrite(l)!);
      await c.runUntil(() => c.fatals.length > 0, 100, 'onFatal');
      expect(c.fatals.map((f) => f.id)).toEqual([l]);
      expect(c.fatals[0]!.error.message).toMatch(/cannot write the raft log: injected write failure/);
      // The followers hold the entries and acknowledge them; the failed node
      // must not apply them (they are not on its disk).
      await c.runFor(300);
      expect(c.node(l).appliedIndex).toBeLessThan(ps[0]!.index);
      expect(ps.flatMap((p) => p.outcomes)).not.toContain('applied');
      // Its writes' fate is unknown to it (they may commit elsewhere), and it takes no new ones.
      expect(ps.map((p) => p.outcomes)).toEqual([['unknown'], ['unknown'], ['unknown']]);
      expect(c.propose(l).outcomes).toEqual(['not-leader']);
      // The others elect a new leader (the failed node stopped taking part) and commit the entries.
      const others = c.ids.filter((id) => id !== l);
      await c.runUntil(() => others.some((id) => c.node(id).isLeader && c.commitOf(id) >= ps[2]!.index), 3000, 'the entries committed by a new leader');
      expect(c.node(l).appliedIndex).toBeLessThan(ps[0]!.index);
      // It can still be closed.
      await c.settle(c.node(l).close(), 10_000, 'close() after the failure');
      // The process exits; restarted, it catches up from the others.
      c.crash(l);
      await c.restart(l);
      await c.converge();
      expect(c.fatals.length).toBe(1);
      c.verify();
    });
  });

  it('settles nothing applied after onFatal, not even an entry that was durable before the failure', async () => {
    await withCluster({ seed: 52, onFatal: 'continue' }, async (c) => {
      const l = c.leader();
      const [f1, f2] = c.ids.filter((id) => id !== l) as [number, number];
      // The followers' acknowledgements are late, so A commits only after the failure.
      c.net.slowLink(f1, l, 60);
      c.net.slowLink(f2, l, 60);
      c.holdWrites(l);
      const a = c.propose(l);
      await c.runUntil(() => c.heldWrite(l)?.lastIndex === a.index, 1000, "the leader's write of A");
      c.complete(c.heldWrite(l)!);
      const b = c.propose(l);
      await c.runUntil(() => c.heldWrite(l)?.firstIndex === b.index, 1000, "the leader's write of B");
      expect(c.commitOf(l)).toBeLessThan(a.index);
      // B's write fails; A is on the leader's disk.
      c.fail(c.heldWrite(l)!);
      await c.runUntil(() => c.fatals.length > 0, 100, 'onFatal');
      expect(c.slot(l).disk.entry(a.index)?.data.equals(a.data)).toBe(true);
      // The acknowledgements of A arrive after the failure: nothing is applied or settled applied.
      await c.runFor(300);
      const late = c.ledger.proposals.flatMap((p) => p.settlements.filter((s) => s.afterFatal).map((s) => `${p.text}: ${s.outcome}`));
      expect(late.filter((s) => s.endsWith('applied'))).toEqual([]);
      expect(c.node(l).appliedIndex).toBeLessThan(a.index);
      expect([a.outcomes, b.outcomes]).toEqual([['unknown'], ['unknown']]);
      // The followers elect a new leader, which commits A and B.
      await c.runUntil(() => [f1, f2].some((id) => c.node(id).isLeader && c.commitOf(id) >= b.index), 3000, 'A and B committed by a new leader');
      c.crash(l);
      await c.restart(l);
      await c.converge();
      c.verify();
    });
  });

  it('in crash mode (the product: onFatal exits), the node restarts on what its disk holds and agrees', async () => {
    for (const seed of [53, 54]) {
      await withCluster({ seed }, async (c) => {
        for (let round = 0; round < 3; round++) {
          const l = await c.waitForLeader(5000);
          c.holdWrites(l);
          const ps = [c.propose(l), c.propose(l)];
          await c.runUntil(() => c.heldWrite(l) !== undefined, 1000, "the leader's write");
          c.fail(c.heldWrite(l)!);
          await c.runUntil(() => !c.up(l), 100, 'the process to exit');
          expect(ps.flatMap((p) => p.outcomes)).not.toContain('applied');
          c.slot(l).hold = false;
          await c.restart(l);
        }
        await c.converge();
        expect(c.fatals.length).toBe(3);
        c.verify();
      });
    }
  });
});
