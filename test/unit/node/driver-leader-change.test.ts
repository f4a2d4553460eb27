/**
 * A leader change with writes in flight (src/node/writes.ts): every
 * proposal of the deposed leader settles exactly once, and rightly —
 * 'applied' only if the committed log holds that very entry (same data,
 * same term) at its index, 'lost' only if it holds another entry there,
 * 'unknown' when the deposed leader cannot learn which within
 * uncertainWaitMs. The harness's ledger checks every settlement against the
 * committed log; the tests also pin the outcomes their scenario forces.
 */
import { describe, expect, it } from 'vitest';
import { withCluster, type Cluster } from '../../harness/driver/cluster.js';
import type { TestProposal } from '../../harness/driver/kv.js';
import { MessageType, newMessage } from '../../../src/raft/index.js';

/**
 * Old leader `a` proposes A, which reaches only `b`'s disk (a's own write of
 * it is held, `c` is cut off), then B and C while cut off from everyone. `b`
 * is elected (its log has A), commits A with its no-op and D after it.
 */
async function deposeWithWritesInFlight(c: Cluster): Promise<{ a: number; b: number; pA: TestProposal; pB: TestProposal; pC: TestProposal; pD: TestProposal }> {
  const a = c.leader();
  const [b, third] = c.ids.filter((id) => id !== a) as [number, number];
  c.net.cut(a, third);
  c.holdWrites(a);
  const pA = c.propose(a);
  await c.runUntil(() => c.slot(b).disk.entry(pA.index)?.data.equals(pA.data) === true, 1000, 'A on b’s disk');
  // a alone; B and C go into its log behind the held write of A.
  c.net.isolate(a, c.ids);
  const pB = c.propose(a);
  const pC = c.propose(a);
  expect([pA.index + 1, pA.index + 2]).toEqual([pB.index, pC.index]);
  await c.runUntil(() => c.up(b) && c.node(b).isLeader, 5000, 'b elected');
  const pD = c.propose(b);
  await c.runUntil(() => pD.outcomes.length > 0, 2000, 'D settled on b');
  expect(pD.outcomes).toEqual(['applied']);
  // b's log: A (term of a), b's no-op at A+1, D at A+2.
  expect(pD.index).toBe(pA.index + 2);
  expect(c.ledger.committed.get(pA.index)?.data).toBe(pA.text);
  return { a, b, pA, pB, pC, pD };
}

describe('driver: a leader change with writes in flight', () => {
  it('the deposed leader learns each fate from the new log: applied, lost, lost', async () => {
    await withCluster({ seed: 21, uncertainWaitMs: 5000 }, async (c) => {
      const { a, pA, pB, pC } = await deposeWithWritesInFlight(c);
      // a's held write completes while it is still cut off: A, then B and C, reach its disk.
      c.releaseWrites(a);
      await c.runUntil(() => c.slot(a).disk.lastIndex >= pC.index, 1000, 'B and C on a’s disk');
      expect([pA, pB, pC].every((p) => p.outcomes.length === 0)).toBe(true);
      c.net.heal();
      await c.runUntil(() => [pA, pB, pC].every((p) => p.outcomes.length > 0), 3000, 'A, B, C settled');
      // A was committed by the new leader at its index with its term; B and C were replaced.
      expect([pA.outcome, pB.outcome, pC.outcome]).toEqual(['applied', 'lost', 'lost']);
      expect(c.node(a).isLeader).toBe(false);
      await c.converge();
      c.verify();
    });
  });

  it('the deposed leader that cannot learn their fate in time says unknown, once', async () => {
    await withCluster({ seed: 22, uncertainWaitMs: 300 }, async (c) => {
      const { a, pA, pB, pC } = await deposeWithWritesInFlight(c);
      // a steps down (check quorum) while cut off; its held write completes (the driver
      // sees the change of role in the next Ready), and it waits uncertainWaitMs for a
      // fate it cannot learn.
      await c.runUntil(() => !c.node(a).isLeader, 2000, 'a deposed');
      c.releaseWrites(a);
      await c.runUntil(() => [pA, pB, pC].every((p) => p.outcomes.length > 0), 2000, 'A, B, C settled');
      expect([pA.outcome, pB.outcome, pC.outcome]).toEqual(['unknown', 'unknown', 'unknown']);
      // When a hears of the new log, nothing is settled a second time (A is applied, B and C replaced).
      c.net.heal();
      await c.converge();
      expect(c.node(a).appliedIndex).toBeGreaterThanOrEqual(pC.index);
      expect([pA, pB, pC].map((p) => p.outcomes.length)).toEqual([1, 1, 1]);
      c.verify();
    });
  });

  it('a deposed leader elected again before uncertainWaitMs still settles the writes its new log does not hold', async () => {
    await withCluster({ seed: 24, uncertainWaitMs: 2000 }, async (c) => {
      const a = c.leader();
      // a, cut off, appends three writes nobody else gets, and steps down.
      c.net.isolate(a, c.ids);
      const xs = [c.propose(a), c.propose(a), c.propose(a)];
      await c.runUntil(() => c.leader() !== 0 && c.leader() !== a && !c.node(a).isLeader, 5000, 'another leader');
      const b = c.leader();
      c.net.heal();
      // a follows b (its tail is replaced by b's log, which ends at b's no-op at xs[0]'s index) ...
      await c.runUntil(() => xs[0]!.outcomes.length > 0 && c.node(a).leader === b, 2000, 'a caught up with b');
      expect(xs[0]!.outcomes).toEqual(['lost']);
      expect(c.node(a).lastLogIndex).toBe(xs[0]!.index);
      // ... and leads again, well within uncertainWaitMs: its no-op takes xs[1]'s index; nothing
      // will ever be appended at xs[2]'s index unless new writes come, and none do.
      expect(await c.settle(c.node(b).transferLeadership(a), 2000, 'the transfer back to a')).toBe(a);
      await c.runUntil(() => xs.every((p) => p.outcomes.length > 0), 5000, 'every write of a settled');
      expect(xs.map((p) => p.outcome)).toEqual(['lost', 'lost', 'unknown']);
      await c.converge();
      c.verify();
    });
  });

  it('a node that became leader and lost it during one write still settles the writes it took', async () => {
    await withCluster({ seed: 25, uncertainWaitMs: 1000 }, async (c) => {
      const l = c.leader();
      const a = c.ids.find((id) => id !== l)!;
      // a campaigns (the leader hands over) with its writes held: the others' votes
      // make it leader while its own vote is still being written.
      c.holdWrites(a);
      expect(c.node(a).requestLeadership()).toBe(true);
      await c.runUntil(() => c.node(a).isLeader, 2000, 'a leads');
      const held = c.heldWrite(a)!;
      expect(held.entries.length).toBe(0);
      // It takes writes (they wait behind the held write), then is cut off and deposed.
      const xs = [c.propose(a), c.propose(a), c.propose(a)];
      expect(xs.map((p) => p.outcomes.length)).toEqual([0, 0, 0]);
      c.net.isolate(a, c.ids);
      await c.runUntil(() => !c.node(a).isLeader && c.leader() !== 0 && c.leader() !== a, 5000, 'a deposed, another leader');
      // Its write completes only now: the driver never handled a Ready while a led.
      c.net.heal();
      c.releaseWrites(a);
      // No new writes come: each of a's writes must still be settled, by the new log or by uncertainWaitMs.
      await c.runUntil(() => xs.every((p) => p.outcomes.length > 0), 5000, 'every write of a settled');
      await c.converge();
      c.verify();
    });
  });

  it('… even when, by its next Ready, it follows the same leader as before', async () => {
    await withCluster({ seed: 26, uncertainWaitMs: 1000 }, async (c) => {
      const l = c.leader();
      const [a, third] = c.ids.filter((id) => id !== l) as [number, number];
      /** What l sends a node it hands leadership to (a transfer): it campaigns at once. */
      const timeoutNow = (from: number, to: number): void => c.node(to).receive(newMessage({ type: MessageType.TimeoutNow, from, to, term: c.node(to).term }));
      // a, a follower of l (as its driver last saw), has a write of entries in flight.
      c.holdWrites(a);
      c.propose(l);
      await c.runUntil(() => (c.heldWrite(a)?.entries.length ?? 0) > 0, 1000, 'a write of entries held on a');
      // Meanwhile a is handed leadership, wins on the others' votes and takes writes ...
      timeoutNow(l, a);
      await c.runUntil(() => c.node(a).isLeader, 2000, 'a leads');
      const xs = [c.propose(a), c.propose(a), c.propose(a)];
      // ... and is deposed: l leads again (a cut off meanwhile).
      c.net.isolate(a, c.ids);
      timeoutNow(third, l);
      await c.runUntil(() => c.node(l).isLeader, 2000, 'l leads again');
      c.net.heal();
      await c.runUntil(() => !c.node(a).isLeader && c.node(a).leader === l, 2000, 'a follows l');
      // a's write completes: its next Ready shows 'follower of l', as the last one did.
      c.releaseWrites(a);
      await c.runUntil(() => xs.every((p) => p.outcomes.length > 0), 5000, 'every write of a settled');
      await c.converge();
      c.verify();
    });
  });

  it('… and when, by its next Ready, it leads again in a later term', async () => {
    await withCluster({ seed: 27, uncertainWaitMs: 1000 }, async (c) => {
      const l = c.leader();
      const [a, third] = c.ids.filter((id) => id !== l) as [number, number];
      const timeoutNow = (from: number, to: number): void => c.node(to).receive(newMessage({ type: MessageType.TimeoutNow, from, to, term: c.node(to).term }));
      c.holdWrites(a);
      c.propose(l);
      await c.runUntil(() => (c.heldWrite(a)?.entries.length ?? 0) > 0, 1000, 'a write of entries held on a');
      // a leads unseen and takes writes, is deposed by l, then leads again — all during one write.
      timeoutNow(l, a);
      await c.runUntil(() => c.node(a).isLeader, 2000, 'a leads');
      const term = c.node(a).term;
      const xs = [c.propose(a), c.propose(a), c.propose(a)];
      c.net.isolate(a, c.ids);
      timeoutNow(third, l);
      await c.runUntil(() => c.node(l).isLeader, 2000, 'l leads');
      c.net.heal();
      await c.runUntil(() => !c.node(a).isLeader && c.node(a).leader === l, 2000, 'a follows l');
      timeoutNow(l, a);
      await c.runUntil(() => c.node(a).isLeader, 2000, 'a leads again');
      expect(c.node(a).term).toBeGreaterThan(term + 1);
      c.releaseWrites(a);
      // Its log no longer holds the writes of its first term: they must still be settled.
      await c.runUntil(() => xs.every((p) => p.outcomes.length > 0), 5000, 'every write of a settled');
      await c.converge();
      c.verify();
    });
  });

  it('… and when a leader is deposed and elected again during one write of its own', async () => {
    await withCluster({ seed: 28, uncertainWaitMs: 1000 }, async (c) => {
      const a = c.leader();
      const [l, third] = c.ids.filter((id) => id !== a) as [number, number];
      const timeoutNow = (from: number, to: number): void => c.node(to).receive(newMessage({ type: MessageType.TimeoutNow, from, to, term: c.node(to).term }));
      // a leads (its driver saw it) and takes writes; its write of them is held.
      c.holdWrites(a);
      c.net.isolate(a, c.ids);
      const xs = [c.propose(a), c.propose(a), c.propose(a)];
      await c.runUntil(() => c.heldWrite(a) !== undefined, 1000, 'a write held on a');
      const term = c.node(a).term;
      // l is elected while a is cut off; then a follows l, and is elected again.
      timeoutNow(third, l);
      await c.runUntil(() => c.node(l).isLeader, 2000, 'l leads');
      c.net.heal();
      await c.runUntil(() => !c.node(a).isLeader && c.node(a).leader === l, 2000, 'a follows l');
      timeoutNow(l, a);
      await c.runUntil(() => c.node(a).isLeader, 2000, 'a leads again');
      expect(c.node(a).term).toBeGreaterThan(term + 1);
      // Only now does its write complete: the next Ready shows 'leader', as the last one did.
      c.releaseWrites(a);
      await c.runUntil(() => xs.every((p) => p.outcomes.length > 0), 5000, 'every write of a settled');
      await c.converge();
      c.verify();
    });
  });

  it('writes proposed to a deposed leader, and during its transfer, are refused and never committed', async () => {
    await withCluster({ seed: 23 }, async (c) => {
      const a = c.leader();
      const target = c.ids.find((id) => id !== a)!;
      const transfer = c.node(a).transferLeadership(target);
      // While the transfer runs the leader takes no new writes.
      const dropped = c.propose(a);
      expect(dropped.outcomes).toEqual(['dropped']);
      expect(await c.settle(transfer, 2000, 'the transfer')).toBe(target);
      const refused = c.propose(a);
      expect(refused.outcomes).toEqual(['not-leader']);
      const ok = c.propose(target);
      await c.converge();
      expect(ok.outcome).toBe('applied');
      c.verify();
    });
  });

  it('over many seeds, repeated leader changes under load settle every write exactly once and rightly', async () => {
    const outcomes = new Map<string, number>();
    for (let seed = 100; seed < 112; seed++) {
      await withCluster({ seed, uncertainWaitMs: 200 + (seed % 4) * 150, faults: { drop: 0.02 } }, async (c) => {
        for (let round = 0; round < 6; round++) {
          const l = await c.waitForLeader(5000);
          for (let i = 0; i < 4; i++) c.propose(l);
          // Depose it with writes in flight: cut it off (and maybe hold its disk), let the rest elect.
          if (c.rng() < 0.5) c.holdWrites(l);
          await c.runFor(Math.floor(c.rng() * 8));
          c.net.isolate(l, c.ids);
          for (let i = 0; i < 3; i++) c.propose(l);
          await c.runUntil(() => c.leader() !== 0 && c.leader() !== l, 5000, 'a new leader');
          const n = c.leader();
          for (let i = 0; i < 3; i++) c.propose(n);
          await c.runFor(50 + Math.floor(c.rng() * 400));
          c.releaseWrites(l);
          c.net.heal();
        }
        await c.converge();
        c.verify();
        for (const p of c.ledger.proposals) outcomes.set(p.outcome ?? 'none', (outcomes.get(p.outcome ?? 'none') ?? 0) + 1);
      });
    }
    // The runs did exercise every fate a write in flight can have.
    for (const o of ['applied', 'lost', 'unknown']) expect(outcomes.get(o) ?? 0).toBeGreaterThan(0);
  });
});
