/**
 * Lease reads (--read-mode lease) across a stall of the leader (issue 19).
 *
 * The leader `a` is frozen (a SIGSTOPped process: none of its timers,
 * immediates, disk completions or deliveries run) for longer than the
 * election timeout while the others elect `b` and commit a write. On thaw,
 * before anything else of `a` runs, a read arrives at `a`. Node runs an
 * overdue interval timer once, so a driver that counts one tick per firing
 * leaves `a` believing its lease; the read must instead see the lease
 * expired (ticks caught up from the monotonic clock) and never be served
 * without b's write. Each seed picks one order of a's overdue work
 * (its tick timer, the read's turn, b's messages).
 */
import { describe, expect, it } from 'vitest';
import { withCluster } from '../../harness/driver/cluster.js';
import { MessageType } from '../../../src/raft/index.js';

const SEEDS = [31, 32, 33, 34, 35, 36, 37, 38];

describe('driver: lease reads across a stalled leader', () => {
  for (const seed of SEEDS) {
    it(`a leader thawed after a stall does not answer from its old lease (seed ${seed})`, async () => {
      await withCluster({ seed, readMode: 'lease', tickMs: 10, electionTick: 10 }, async (c) => {
        const a = c.leader();
        // A write, then let heartbeat rounds confirm a's lease.
        const p0 = c.propose(a);
        await c.runUntil(() => p0.outcomes.length > 0, 1000, 'p0 settled');
        await c.runUntil(() => c.node(a).rn.raft.leaseValid(), 1000, 'a holds a lease');
        // The lease serves a read at once (no round).
        let served = false;
        c.node(a).readBarrier((ok) => (served = ok));
        await c.runUntil(() => served, 100, 'lease read served');

        c.slot(a).view!.frozen = true;
        const frozeAt = c.sched.now;
        await c.runUntil(() => c.ids.some((id) => id !== a && c.node(id).isLeader), 3000, 'another leader');
        const b = c.ids.find((id) => id !== a && c.node(id).isLeader)!;
        const pb = c.propose(b);
        await c.runUntil(() => pb.outcomes.length > 0, 1000, 'the write on b settled');
        expect(pb.outcome).toBe('applied');
        expect(c.sched.now - frozeAt).toBeGreaterThan(100);
        // a's state lacks b's write.
        expect(c.node(a).appliedIndex).toBeLessThan(pb.index);

        // Thaw; the read arrives before any of a's overdue work has run.
        c.slot(a).view!.frozen = false;
        let answer: { ok: boolean; applied: number } | undefined;
        c.node(a).readBarrier((ok) => (answer = { ok, applied: c.node(a).appliedIndex }));
        await c.runUntil(() => answer !== undefined, 2000, 'the read answered');
        // Refused (a learns it is deposed) or served with b's write; never the old state.
        if (answer!.ok) expect(answer!.applied).toBeGreaterThanOrEqual(pb.index);
        else expect(answer!.ok).toBe(false);
        await c.converge();
        c.verify();
      });
    });
  }

  for (const seed of SEEDS) {
    it(`a follower thawed after a stall counts the skipped ticks before the leader's heartbeat, not after (seed ${seed})`, async () => {
      await withCluster({ seed, readMode: 'lease', tickMs: 10, electionTick: 10 }, async (c) => {
        const a = c.leader();
        const f = c.ids.find((id) => id !== a)!;
        c.slot(f).view!.frozen = true;
        // 30 ticks of f's go by; heartbeats from a wait in f's socket.
        await c.sched.run({ forMs: 300 });
        expect(c.node(a).isLeader).toBe(true);
        // Ticks f has run when it has taken the first of them.
        const node = c.node(f);
        let ticksAtHeartbeat: number | undefined;
        const receive = node.receive.bind(node);
        node.receive = (m) => {
          receive(m);
          if (ticksAtHeartbeat === undefined && m.type === MessageType.Heartbeat) ticksAtHeartbeat = node.rn.raft.ticks;
        };
        c.slot(f).view!.frozen = false;
        // f's overdue work (its tick timer, the waiting heartbeats) runs in the order the seed picks, within 1 ms.
        await c.sched.run({ forMs: 1 });
        expect(ticksAtHeartbeat).toBeDefined();
        // The ticks of the 300 ms before it were all counted before the heartbeat restarted
        // f's election timeout (the promise a's lease rests on); at most one tick boundary
        // has passed since.
        expect(node.rn.raft.ticks - ticksAtHeartbeat!).toBeLessThanOrEqual(1);
        await c.converge();
        c.verify();
      });
    });
  }

  // ReadIndex mode does not depend on time for its reads, so it keeps the
  // plain timer's behaviour: a stall costs at most one tick per call, and a
  // machine-wide stall (every node paused alike) ends without an election.
  for (const readMode of ['readindex', 'lease'] as const) {
    it(`every node stalled alike for 3 election timeouts: ${readMode} mode ${readMode === 'lease' ? 'catches up the ticks' : 'runs one tick per call'}`, async () => {
      await withCluster({ seed: 41, readMode, tickMs: 10, electionTick: 10 }, async (c) => {
        const a = c.leader();
        const term = c.node(a).rn.raft.term;
        const before = new Map(c.ids.map((id) => [id, c.node(id).rn.raft.ticks]));
        for (const id of c.ids) c.slot(id).view!.frozen = true;
        await c.sched.run({ forMs: 300 });
        for (const id of c.ids) c.slot(id).view!.frozen = false;
        await c.sched.run({ forMs: 2 });
        const ran = Math.max(...c.ids.map((id) => c.node(id).rn.raft.ticks - before.get(id)!));
        if (readMode === 'lease') expect(ran).toBeGreaterThanOrEqual(10);
        else expect(ran).toBeLessThanOrEqual(3);
        if (readMode === 'readindex') {
          // Less than an election timeout later: still the same leader and term.
          await c.sched.run({ forMs: 50 });
          expect(c.node(a).isLeader).toBe(true);
          expect(c.node(a).rn.raft.term).toBe(term);
        }
        await c.converge();
        c.verify();
      });
    });
  }
});
