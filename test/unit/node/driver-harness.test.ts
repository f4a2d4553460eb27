/**
 * The driver harness itself (test/harness/driver/): real RaftisNodes elect a
 * leader and apply writes; a seed replays exactly, message faults, a torn
 * write with a restart and a snapshot (real file I/O) included; the checks
 * notice a wrong settlement.
 */
import { describe, expect, it } from 'vitest';
import { withCluster, type Cluster } from '../../harness/driver/cluster.js';

describe('driver harness', () => {
  it('elects a leader and applies writes on every node', async () => {
    await withCluster({ seed: 1 }, async (c) => {
      const l = c.leader();
      const ps = Array.from({ length: 10 }, () => c.propose(l));
      await c.converge();
      expect(ps.map((p) => p.outcome)).toEqual(Array(10).fill('applied'));
      for (const id of c.ids) expect(c.node(id).appliedIndex).toBe(ps[9]!.index);
      c.verify();
    });
  });

  /** A scripted run touching every source of nondeterminism the harness controls; returns its trace. */
  async function script(seed: number): Promise<string> {
    return withCluster({ seed, traceSize: 100_000, faults: { drop: 0.05, duplicate: 0.05, reorder: 0.1 }, snapshotKeepEntries: 0 }, async (c: Cluster) => {
      for (let round = 0; round < 3; round++) {
        const l = await c.waitForLeader();
        for (let i = 0; i < 5; i++) c.propose(l);
        await c.runFor(30);
      }
      const l = c.leader();
      const f = c.ids.find((id) => id !== l)!;
      c.holdWrites(f);
      for (let i = 0; i < 4; i++) c.propose(l);
      await c.runUntil(() => c.heldWrite(f) !== undefined, 2000, 'a held write');
      c.crash(f, 1);
      await c.runFor(100);
      const snap = await c.settle(c.node(l).snapshot(), 1000, 'a snapshot');
      expect(snap).toBeDefined();
      await c.restart(f);
      await c.converge();
      c.verify();
      const applied = c.ids.map((id) => `${id}:${c.node(id).appliedIndex}`).join(' ');
      return `${c.traceText()}\nsteps ${c.sched.steps} now ${c.sched.now} applied ${applied} snapshot ${snap!.index}/${snap!.term}`;
    });
  }

  it('replays a seed exactly, faults, a torn write, a restart and a snapshot included', async () => {
    const a = await script(7);
    const b = await script(7);
    expect(b).toBe(a);
    const others = [await script(8), await script(9)];
    expect(others.some((o) => o !== a)).toBe(true);
  });

  it('the checks catch a proposal settled applied that is not the committed entry', async () => {
    await withCluster({ seed: 2 }, async (c) => {
      const l = c.leader();
      const p = c.propose(l);
      await c.converge();
      expect(c.problems()).toEqual([]);
      // Pretend the driver settled it twice, the second time wrongly.
      p.settle('lost');
      expect(c.problems().join('\n')).toMatch(/settled 2 times/);
      p.settlements.shift();
      expect(c.problems().join('\n')).toMatch(/settled lost, but it is the committed entry/);
    });
  });
});
