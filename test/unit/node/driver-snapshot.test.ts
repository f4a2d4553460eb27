/**
 * Snapshots in the running driver (src/node/snapshot-policy.ts,
 * snapshotter.ts): a snapshot taken while entries are being applied holds
 * the state at its index (copy-on-write) with the committed term there; a
 * node restarted from it, and a follower that installs the leader's after
 * missing compacted entries, end with the same state as the others. The
 * harness also checks every snapshot file left in a node's directory
 * against the committed log (Cluster.verify).
 */
import { describe, expect, it } from 'vitest';
import { withCluster } from '../../harness/driver/cluster.js';

const keys = ['a', 'b', 'c', 'd'];

describe('driver: snapshots', () => {
  it('a snapshot taken while entries are being applied holds the state at its index; a restart from it agrees', async () => {
    await withCluster({ seed: 41, snapshotKeepEntries: 0 }, async (c) => {
      const l = c.leader();
      const f = c.ids.find((id) => id !== l)!;
      for (let i = 0; i < 20; i++) c.propose(l, keys[i % 4]);
      await c.converge();
      // The follower's writes are held; ten more writes to the same keys commit without it.
      c.holdWrites(f);
      const more = Array.from({ length: 10 }, (_, i) => c.propose(l, keys[i % 4]));
      const last = more[9]!.index;
      await c.runUntil(() => c.commitOf(f) >= last && c.heldWrite(f) !== undefined, 2000, 'the writes committed, the follower’s write held');
      const node = c.node(f);
      const k = node.appliedIndex;
      expect(k).toBeLessThan(more[0]!.index);
      // Snapshot at k, then let the follower's write complete: entries are applied
      // (changing the keys the snapshot is walking) while its file is being written.
      const taking = node.snapshot();
      c.releaseWrites(f);
      await c.runUntil(() => node.appliedIndex > k, 1000, 'entries applied');
      expect(node.snapshotter.inProgress).toBe(true);
      const meta = await c.settle(taking, 2000, 'the snapshot');
      expect(meta?.index).toBe(k);
      expect(meta?.term).toBe(c.ledger.committed.get(k)!.term);
      const [file] = c.snapshotFiles(f);
      expect(file?.meta.index).toBe(k);
      expect(file!.state).toEqual(c.ledger.stateAt(k));
      // The keys changed after k: the file holds the old values, not the live ones.
      await c.converge();
      expect(file!.state).not.toEqual(c.slot(f).inc!.state());
      // The log before k was compacted; a restart loads the snapshot and replays after it.
      expect(c.slot(f).disk.compactIndex).toBe(k);
      c.crash(f);
      await c.restart(f);
      expect(c.slot(f).inc!.applied[0]?.index ?? Infinity).toBeGreaterThan(k);
      await c.converge();
      expect(c.slot(f).inc!.state()).toEqual(c.slot(l).inc!.state());
      c.verify();
    });
  });

  it('a follower that missed compacted entries installs the leader’s snapshot and agrees', async () => {
    await withCluster({ seed: 42, snapshotKeepEntries: 0 }, async (c) => {
      const l = c.leader();
      const f = c.ids.find((id) => id !== l)!;
      c.crash(f);
      for (let i = 0; i < 30; i++) c.propose(l, keys[i % 4]);
      await c.runUntil(() => c.ledger.proposals.every((p) => p.outcomes.length > 0), 2000, 'the writes applied');
      const meta = await c.settle(c.node(l).snapshot(), 2000, 'the leader’s snapshot');
      expect(c.slot(l).disk.compactIndex).toBe(meta!.index);
      for (let i = 0; i < 5; i++) c.propose(l, keys[i % 4]);
      await c.restart(f);
      await c.converge();
      // The follower could only catch up through the snapshot (streamed in chunks over the links).
      expect(c.slot(f).inc!.restores).toBe(1);
      expect(c.slot(f).disk.compactIndex).toBe(meta!.index);
      expect(c.snapshotFiles(f).map((s) => s.meta.index)).toContain(meta!.index);
      expect(c.slot(f).inc!.state()).toEqual(c.slot(l).inc!.state());
      c.verify();
    });
  });

  it('a snapshot transfer whose chunk is lost stalls, fails after the stall limit on the driver’s clock, and is retried', async () => {
    await withCluster({ seed: 46, snapshotKeepEntries: 0 }, async (c) => {
      const l = c.leader();
      const f = c.ids.find((id) => id !== l)!;
      c.crash(f);
      for (let i = 0; i < 30; i++) c.propose(l, keys[i % 4]);
      await c.runUntil(() => c.ledger.proposals.every((p) => p.outcomes.length > 0), 2000, 'the writes applied');
      await c.settle(c.node(l).snapshot(), 2000, 'the leader’s snapshot');
      await c.restart(f);
      // The first chunk leaves; the link goes down with it on the wire, then comes back.
      const frames = c.net.stats.frames;
      await c.runUntil(() => c.net.stats.frames > frames, 2000, 'a snapshot chunk sent');
      c.net.cutOneWay(l, f);
      await c.runFor(100);
      c.net.heal();
      // Nothing more is sent on that transfer: it must fail by its stall limit (10 s),
      // on the driver's clock, for Raft to send the snapshot again.
      await c.runUntil(() => c.up(f) && c.slot(f).inc!.restores === 1, 30_000, 'the follower installs the snapshot');
      await c.converge();
      expect(c.slot(f).inc!.state()).toEqual(c.slot(l).inc!.state());
      c.verify();
    });
  });

  for (const seed of [43, 44, 45]) {
    it(`automatic snapshots overlapping applies, virtual time running during their I/O (seed ${seed})`, async () => {
      // 'run' mode: the snapshot files are written while the cluster goes on
      // (not replayable; the outcomes are checked all the same).
      await withCluster({ seed, realIo: 'run', snapshotEntries: 8, snapshotKeepEntries: 2, faults: { drop: 0.02 } }, async (c) => {
        for (let round = 0; round < 12; round++) {
          const l = await c.waitForLeader(5000);
          for (let i = 0; i < 6; i++) c.propose(l, keys[Math.floor(c.rng() * 4)]);
          await c.runFor(10 + Math.floor(c.rng() * 30));
          if (round === 5) c.crash(c.ids.find((id) => id !== l)!);
          if (round === 9) await c.restart(c.ids.find((id) => !c.up(id))!);
        }
        await c.converge();
        expect(c.ids.some((id) => c.snapshotFiles(id).length > 0)).toBe(true);
        // Virtual time did move on while snapshot files were being written.
        expect(c.sched.realYields).toBeGreaterThan(0);
        c.verify();
      });
    });
  }
});
