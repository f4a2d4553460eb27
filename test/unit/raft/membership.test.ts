/**
 * Membership changes one node at a time: a new node joins as a learner,
 * catches up without voting or counting, and is promoted; nodes (the leader
 * too) are removed; a second change waits until the first is applied.
 */
import { describe, expect, it } from 'vitest';
import { type ConfChange, ConfChangeType } from '../../../src/raft/conf-change.js';
import { ProposalDroppedError } from '../../../src/raft/errors.js';
import { EMPTY_BUFFER } from '../../../src/raft/messages.js';
import { Role } from '../../../src/raft/role.js';
import { Network } from '../../harness/network.js';

const cc = (type: ConfChangeType, nodeId: number): ConfChange => ({ type, nodeId, context: EMPTY_BUFFER });

function cluster(ids = [1, 2, 3]): Network {
  const nt = new Network({ ids });
  nt.campaign(1);
  expect(nt.raft(1).role).toBe(Role.Leader);
  return nt;
}

describe('learners', () => {
  it('a new node joins as a learner and learns the whole history, initial members included, by replication', () => {
    const nt = cluster();
    for (let i = 0; i < 3; i++) nt.propose(1, `before-${i}`);
    nt.stabilize();
    nt.addNode(4); // empty disk, no configuration
    expect(nt.proposeConfChange(1, cc(ConfChangeType.AddLearnerNode, 4))).toBeDefined();
    nt.stabilize();

    for (const id of [1, 2, 3, 4]) expect(nt.node(id).confState).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(nt.node(4).applied).toBe(nt.node(1).applied);
    expect(nt.node(4).digest).toBe(nt.node(1).digest);
    expect(nt.raft(1).trk.get(4)?.isLearner).toBe(true);
    nt.check();
  });

  it('a learner never campaigns and does not count towards commit', () => {
    const nt = cluster();
    nt.addNode(4);
    nt.proposeConfChange(1, cc(ConfChangeType.AddLearnerNode, 4));
    nt.stabilize();

    nt.isolate(1);
    for (let i = 0; i < 50; i++) nt.tick(4);
    nt.stabilize();
    expect(nt.raft(4).role).toBe(Role.Follower);
    nt.recover();

    // Leader and learner alone are not a quorum of {1,2,3}.
    nt.cut(1, 2);
    nt.cut(1, 3);
    const p = nt.propose(1, 'needs-a-voter');
    nt.stabilize();
    expect(nt.raft(4).raftLog.lastIndex()).toBe(p?.index);
    expect(nt.raft(1).raftLog.committed).toBeLessThan(p?.index ?? 0);
  });

  it('a learner is promoted to voter once caught up, and then counts', () => {
    const nt = cluster();
    nt.addNode(4);
    nt.proposeConfChange(1, cc(ConfChangeType.AddLearnerNode, 4));
    nt.stabilize();
    nt.proposeConfChange(1, cc(ConfChangeType.AddNode, 4));
    nt.stabilize();
    for (const id of [1, 2, 3, 4]) expect(nt.node(id).confState).toEqual({ voters: [1, 2, 3, 4], learners: [] });

    // Now {1, 4, 2} is a quorum of four, {1, 4} is not.
    nt.cut(1, 3);
    nt.cut(1, 2);
    const p = nt.propose(1, 'x');
    nt.stabilize();
    expect(nt.raft(1).raftLog.committed).toBeLessThan(p?.index ?? 0);
    nt.recover();
    nt.cut(1, 3);
    nt.tickAll(1);
    expect(nt.raft(1).raftLog.committed).toBeGreaterThanOrEqual(p?.index ?? Infinity);

    // And it may lead.
    nt.recover();
    nt.node(1).raw?.transferLeader(4);
    nt.stabilize();
    expect(nt.raft(4).role).toBe(Role.Leader);
    nt.check();
  });
});

describe('removal and one-at-a-time changes', () => {
  it('removing a node shrinks the quorum', () => {
    const nt = cluster();
    nt.proposeConfChange(1, cc(ConfChangeType.RemoveNode, 3));
    nt.stabilize();
    expect(nt.node(1).confState).toEqual({ voters: [1, 2], learners: [] });
    nt.crash(3);
    const p = nt.propose(1, 'two-node quorum');
    nt.stabilize();
    expect(nt.raft(1).raftLog.committed).toBeGreaterThanOrEqual(p?.index ?? Infinity);
  });

  it('a removed leader steps down once the change is applied, and the rest elect a new one', () => {
    const nt = cluster();
    nt.proposeConfChange(1, cc(ConfChangeType.RemoveNode, 1));
    nt.stabilize();
    expect(nt.raft(1).role).toBe(Role.Follower);
    nt.crash(1);
    nt.tickAll(30);
    const leader = nt.leader();
    expect(leader?.id === 2 || leader?.id === 3).toBe(true);
    expect(leader?.confState).toEqual({ voters: [2, 3], learners: [] });
    nt.check();
  });

  it('a second change is refused until the first is applied', () => {
    const nt = cluster();
    nt.addNode(4);
    nt.addNode(5);
    const raw = nt.node(1).raw;
    expect(raw?.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4))).toBeDefined();
    expect(() => raw?.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5))).toThrow(ProposalDroppedError);
    nt.stabilize();
    expect(raw?.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5))).toBeDefined();
    nt.stabilize();
    expect(nt.node(1).confState).toEqual({ voters: [1, 2, 3], learners: [4, 5] });
  });

  it('a new leader refuses changes until it has applied everything in its log', () => {
    const nt = cluster();
    nt.node(1).raw?.transferLeader(2);
    nt.stabilize();
    const r2 = nt.raft(2);
    expect(r2.role).toBe(Role.Leader);
    expect(r2.pendingConfIndex).toBeGreaterThan(0);
    expect(nt.proposeConfChange(2, cc(ConfChangeType.RemoveNode, 3))).toBeDefined();
  });

  it('refuses to remove the last voter', () => {
    const nt = cluster([1]);
    expect(() => nt.node(1).raw?.proposeConfChange(cc(ConfChangeType.RemoveNode, 1))).toThrow(ProposalDroppedError);
  });
});
