/**
 * Snapshots: a follower that needs compacted entries gets the leader's
 * snapshot (StateSnapshot, reportSnapshot), restores from it and catches up;
 * a node restarts from its own snapshot.
 */
import { describe, expect, it } from 'vitest';
import { ConfChangeType } from '../../../src/raft/conf-change.js';
import { EMPTY_BUFFER, MessageType } from '../../../src/raft/messages.js';
import { Role } from '../../../src/raft/role.js';
import { ProgressState } from '../../../src/raft/tracker/state.js';
import { ent, msg, newTestRaft, readMessages, storageOf } from '../../harness/builders.js';
import { Network } from '../../harness/network.js';

function laggingCluster(): Network {
  const nt = new Network({ ids: [1, 2, 3] });
  nt.campaign(1);
  nt.crash(3);
  for (let i = 0; i < 20; i++) nt.propose(1, `w${i}`);
  nt.stabilize();
  nt.compact(1);
  nt.compact(2);
  expect(nt.node(1).storage.firstIndex()).toBeGreaterThan(nt.raft(1).trk.get(3)?.next ?? 0);
  return nt;
}

describe('snapshots', () => {
  it('a follower behind the compacted log receives a snapshot, restores it and catches up', () => {
    const nt = laggingCluster();
    nt.restart(3);
    nt.propose(1, 'after-compaction');
    nt.tickAll(3);

    expect(nt.stats.delivered.get(MessageType.Snap)).toBe(1);
    expect(nt.node(3).storage.snapshot().metadata.index).toBe(nt.node(1).storage.snapshot().metadata.index);
    expect(nt.node(3).applied).toBe(nt.node(1).applied);
    expect(nt.node(3).digest).toBe(nt.node(1).digest);
    expect(nt.raft(1).trk.get(3)?.state).toBe(ProgressState.Replicate);
    nt.check();
  });

  it('a follower whose disk was wiped says so on the next heartbeat and is brought back by a snapshot', () => {
    const nt = laggingCluster();
    nt.restart(3);
    nt.tickAll(3);
    expect(nt.node(3).applied).toBe(nt.node(1).applied);
    const snapsBefore = nt.stats.delivered.get(MessageType.Snap) ?? 0;
    for (let i = 0; i < 30; i++) nt.propose(1, `more${i}`);
    nt.stabilize();
    nt.compact(1);
    // The leader believes node 3 holds everything; node 3 now holds only the bootstrap entries.
    expect(nt.raft(1).trk.get(3)!.match).toBeGreaterThan(10);
    nt.wipe(3);
    nt.tickAll(3);
    expect(nt.stats.delivered.get(MessageType.Snap)).toBe(snapsBefore + 1);
    expect(nt.node(3).applied).toBe(nt.node(1).applied);
    expect(nt.node(3).digest).toBe(nt.node(1).digest);
    nt.propose(1, 'after');
    nt.stabilize();
    expect(nt.node(3).digest).toBe(nt.node(1).digest);
    nt.check();
  });

  it('a lost snapshot is reported, the follower is probed again, and the snapshot resent', () => {
    const nt = laggingCluster();
    nt.restart(3);
    nt.ignore(MessageType.Snap);
    nt.tickAll(2);
    expect(nt.node(3).applied).toBeLessThan(nt.node(1).applied);
    expect(nt.raft(1).trk.get(3)?.state).not.toBe(ProgressState.Snapshot);

    nt.recover();
    nt.tickAll(3);
    expect(nt.stats.delivered.get(MessageType.Snap)).toBe(1);
    expect(nt.node(3).applied).toBe(nt.node(1).applied);
  });

  it('a learner added after compaction starts from a snapshot that names it, never from an older one', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.campaign(1);
    for (let i = 0; i < 5; i++) nt.propose(1, `w${i}`);
    nt.stabilize();
    nt.compact(1);
    nt.addNode(4);
    nt.proposeConfChange(1, { type: ConfChangeType.AddLearnerNode, nodeId: 4, context: EMPTY_BUFFER });
    // The only snapshot predates 4 joining: 4 would refuse it, so it is not sent (and nothing spins).
    nt.stabilize();
    nt.tickAll(3);
    expect(nt.stats.delivered.get(MessageType.Snap)).toBeUndefined();
    expect(nt.node(4).applied).toBe(0);

    nt.compact(1); // a snapshot past the conf change
    nt.tickAll(3);
    expect(nt.stats.delivered.get(MessageType.Snap)).toBe(1);

    expect(nt.node(4).storage.snapshot().metadata.confState).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(nt.node(4).confState).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(nt.node(4).applied).toBe(nt.node(1).applied);
    nt.check();
  });

  it('a node restarts from its own snapshot and the log after it', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.campaign(1);
    for (let i = 0; i < 10; i++) nt.propose(1, `w${i}`);
    nt.stabilize();
    nt.compact(2);
    for (let i = 0; i < 3; i++) nt.propose(1, `x${i}`);
    nt.stabilize();
    const digest = nt.node(2).digest;
    const applied = nt.node(2).applied;

    nt.crash(2);
    nt.restart(2);
    expect(nt.node(2).applied).toBe(nt.node(2).storage.snapshot().metadata.index);
    nt.stabilize(); // re-applies the committed entries after the snapshot
    expect(nt.node(2).applied).toBe(applied);
    expect(nt.node(2).digest).toBe(digest);
    expect(nt.node(2).confState).toEqual({ voters: [1, 2, 3], learners: [] });
  });

  it('a follower ignores a snapshot it is already past, answering with its commit index', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.campaign(1);
    for (let i = 0; i < 5; i++) nt.propose(1, `w${i}`);
    nt.stabilize();
    nt.compact(1);
    const snap = nt.node(1).storage.snapshot();
    const r2 = nt.raft(2);
    const commit = r2.raftLog.committed;
    r2.step(msg({ type: MessageType.Snap, from: 1, to: 2, term: r2.term, snapshot: snap }));
    expect(r2.raftLog.hasNextOrInProgressSnapshot()).toBe(false);
    const resp = r2.msgsAfterAppend.at(-1);
    expect([resp?.type, resp?.index]).toEqual([MessageType.AppResp, commit]);
  });

  it('the leader tracks a snapshot in flight: StateSnapshot pauses appends; a failure report probes again', () => {
    const r = newTestRaft(1, [1, 2], 10, 1);
    const storage = storageOf(r);
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    for (let i = 0; i < 5; i++) r.step(msg({ type: MessageType.Prop, from: 1, to: 1, entries: [ent(0, 0, 'd')] }));
    readMessages(r);
    r.raftLog.commitTo(r.raftLog.lastIndex()); // pretend committed and applied
    r.raftLog.appliedTo(r.raftLog.committed);
    storage.createSnapshot(r.raftLog.applied, { voters: [1, 2], learners: [] }, Buffer.from('{}'));
    storage.compact(r.raftLog.applied);

    const pr = r.trk.get(2);
    pr?.becomeProbe();
    if (pr) pr.recentActive = true;
    r.maybeSendAppend(2);
    const out = readMessages(r);
    expect(out.map((m) => m.type)).toEqual([MessageType.Snap]);
    expect(pr?.state).toBe(ProgressState.Snapshot);
    expect(pr?.pendingSnapshot).toBe(r.raftLog.applied);

    r.bcastAppend();
    expect(readMessages(r)).toEqual([]);

    r.step(msg({ type: MessageType.SnapStatus, from: 2, to: 1, reject: true }));
    expect(pr?.state).toBe(ProgressState.Probe);
    expect(pr?.pendingSnapshot).toBe(0);
    expect(r.role).toBe(Role.Leader);
  });
});
