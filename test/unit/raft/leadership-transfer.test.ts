/**
 * Leadership transfer (thesis §3.10): the leader brings the transferee up to
 * date, then tells it to campaign at once (TimeoutNow); proposals are refused
 * meanwhile, and the transfer is abandoned after an election timeout.
 */
import { describe, expect, it } from 'vitest';
import { ConfChangeType } from '../../../src/raft/conf-change.js';
import { ProposalDroppedError } from '../../../src/raft/errors.js';
import { EMPTY_BUFFER, MessageType } from '../../../src/raft/messages.js';
import { Role } from '../../../src/raft/role.js';
import { Network } from '../../harness/network.js';

function cluster(): Network {
  // Defaults: pre-vote and check-quorum on. The transferee must get past both.
  const nt = new Network({ ids: [1, 2, 3] });
  nt.campaign(1);
  expect(nt.raft(1).role).toBe(Role.Leader);
  return nt;
}

describe('leadership transfer', () => {
  it('hands leadership to an up-to-date follower', () => {
    const nt = cluster();
    const term = nt.raft(1).term;
    nt.node(1).raw?.transferLeader(2);
    nt.stabilize();
    expect(nt.raft(2).role).toBe(Role.Leader);
    expect(nt.raft(2).term).toBe(term + 1);
    expect(nt.raft(1).role).toBe(Role.Follower);
    expect(nt.raft(1).lead).toBe(2);
    nt.check();
  });

  it('a follower forwards the request to the leader', () => {
    const nt = cluster();
    nt.node(3).raw?.transferLeader(2);
    nt.stabilize();
    expect(nt.raft(2).role).toBe(Role.Leader);
  });

  it('catches a lagging transferee up before telling it to campaign', () => {
    const nt = cluster();
    nt.cut(1, 3);
    for (let i = 0; i < 5; i++) nt.propose(1, `w${i}`);
    nt.stabilize();
    expect(nt.raft(3).raftLog.lastIndex()).toBeLessThan(nt.raft(1).raftLog.lastIndex());
    nt.recover();

    nt.node(1).raw?.transferLeader(3);
    nt.stabilize();
    // 3's probe was paused by the appends it missed; the next heartbeat answer resumes it.
    nt.tickAll(1);
    expect(nt.raft(3).role).toBe(Role.Leader);
    // It won only because it had everything: the checker's leader completeness confirms.
    nt.check();
    nt.tickAll(1);
    expect(nt.node(3).applied).toBe(nt.node(1).applied);
  });

  it('refuses proposals while the transfer is in progress, and gives up after an election timeout', () => {
    const nt = cluster();
    nt.isolate(3);
    nt.node(1).raw?.transferLeader(3);
    expect(nt.raft(1).leadTransferee).toBe(3);
    expect(() => nt.node(1).raw?.propose(Buffer.from('x'))).toThrow(ProposalDroppedError);

    nt.recover();
    nt.cut(1, 3); // 3 stays unreachable for the leader, 2 keeps the quorum alive
    for (let i = 0; i < 10; i++) nt.tickAll(1);
    expect(nt.raft(1).role).toBe(Role.Leader);
    expect(nt.raft(1).leadTransferee).toBe(0);
    expect(nt.node(1).raw?.propose(Buffer.from('y'))).toBeDefined();
  });

  it('a new request for another node replaces the pending one; repeating it changes nothing', () => {
    const nt = cluster();
    nt.isolate(3);
    nt.node(1).raw?.transferLeader(3);
    nt.node(1).raw?.transferLeader(3);
    expect(nt.raft(1).leadTransferee).toBe(3);
    nt.stabilize(); // the TimeoutNow to 3 is lost
    nt.recover();
    nt.node(1).raw?.transferLeader(2);
    nt.stabilize();
    expect(nt.raft(2).role).toBe(Role.Leader);
  });

  it('ignores transfers to itself, to unknown nodes and to learners', () => {
    const nt = cluster();
    nt.addNode(4);
    nt.proposeConfChange(1, { type: ConfChangeType.AddLearnerNode, nodeId: 4, context: EMPTY_BUFFER });
    nt.stabilize();
    for (const target of [1, 9, 4]) {
      nt.node(1).raw?.transferLeader(target);
      nt.stabilize();
      expect(nt.raft(1).role, `transfer to ${target}`).toBe(Role.Leader);
      expect(nt.raft(1).leadTransferee).toBe(0);
    }
    expect(nt.stats.delivered.get(MessageType.TimeoutNow)).toBeUndefined();
  });
});
