/**
 * The counts Writes keeps for /metrics: proposals appended, and their commit
 * latency timed per batch (observed once the applied index passes a
 * batch's last entry, with the batch's size), not after a leadership ends.
 */
import { describe, expect, it } from 'vitest';
import { Role, type RawNode } from '../../../src/raft/index.js';
import type { Clock } from '../../../src/util/clock.js';
import { Writes } from '../../../src/node/writes.js';
import type { Proposal } from '../../../src/node/state-machine.js';

/** A core that leads and appends every batch after its last index. */
function leaderCore(): RawNode {
  let last = 0;
  return {
    role: () => Role.Leader,
    lastIndex: () => last,
    proposeBatch: (datas: readonly Buffer[]) => {
      const ref = { index: last + 1, term: 1 };
      last += datas.length;
      return ref;
    },
  } as unknown as RawNode;
}

const clock: Clock = {
  now: () => 0,
  monotonic: () => 0,
  immediate: () => {},
  timeout: () => ({}),
  interval: () => ({}),
  clear: () => {},
};

function proposal(): Proposal {
  return { data: Buffer.from('x'), index: 0, term: 0, settle: () => {} };
}

describe('Writes metrics', () => {
  it('counts appended proposals and observes each batch once it is applied', () => {
    const rn = leaderCore();
    const w = new Writes<Proposal>(1000, clock);
    for (let i = 0; i < 3; i++) w.add(rn, proposal());
    w.flush(rn); // entries 1..3
    for (let i = 0; i < 2; i++) w.add(rn, proposal());
    w.flush(rn); // entries 4..5
    expect(w.proposed).toBe(5);
    w.appliedTo(2);
    expect(w.commitLatency.count).toBe(0);
    w.appliedTo(3);
    expect(w.commitLatency.count).toBe(3);
    w.appliedTo(5);
    expect(w.commitLatency.count).toBe(5);
    w.appliedTo(9);
    expect(w.commitLatency.count).toBe(5);
    expect(w.commitLatency.sum).toBeGreaterThanOrEqual(0);
  });

  it('does not time the writes of a leadership that ended', () => {
    const rn = leaderCore();
    const w = new Writes<Proposal>(1000, clock);
    w.add(rn, proposal());
    w.flush(rn);
    w.deposed(2, () => false, () => 2);
    w.appliedTo(1);
    expect([w.proposed, w.commitLatency.count]).toEqual([1, 0]);
  });
});
