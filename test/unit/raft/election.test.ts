/**
 * Election scenarios on a simulated cluster: dead peers, dueling candidates,
 * leader cycles, and what pre-vote and check-quorum buy (a partitioned node
 * rejoining cannot depose a healthy leader; an isolated leader steps down).
 */
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../../src/raft/messages.js';
import { CAMPAIGN_TRANSFER_CONTEXT, Role } from '../../../src/raft/role.js';
import { msg, newTestRaft, readMessages } from '../../harness/builders.js';
import { Network } from '../../harness/network.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('leader election', () => {
  for (const preVote of [false, true]) {
    it(`elects a leader when a majority is alive, not otherwise${preVote ? ' (pre-vote)' : ''}`, () => {
      const cases: [number, number[], boolean][] = [
        [3, [], true],
        [3, [3], true],
        [3, [2, 3], false],
        [5, [4, 5], true],
        [5, [3, 4, 5], false],
      ];
      for (const [size, down, wins] of cases) {
        const nt = new Network({ ids: range(size), config: { preVote } });
        for (const id of down) nt.crash(id);
        nt.campaign(1);
        const r = nt.raft(1);
        expect([size, down, r.role]).toEqual([size, down, wins ? Role.Leader : preVote ? Role.PreCandidate : Role.Candidate]);
        // A failed pre-vote leaves the term alone; a failed vote does not.
        expect(r.term).toBe(preVote && !wins ? 1 : 2);
      }
    });

    it(`each node can take its turn as leader${preVote ? ' (pre-vote)' : ''}`, () => {
      const nt = new Network({ ids: [1, 2, 3], config: { preVote, checkQuorum: false } });
      for (const id of [1, 2, 3, 1]) {
        nt.campaign(id);
        for (const other of nt.ids()) {
          expect(nt.raft(other).role, `node ${other} when ${id} campaigned`).toBe(other === id ? Role.Leader : Role.Follower);
          expect(nt.raft(other).lead).toBe(id);
        }
      }
      nt.check();
    });
  }

  it('dueling candidates: the one with the shorter log loses, and disrupts only by raising the term', () => {
    const nt = new Network({ ids: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
    nt.cut(1, 3);
    nt.campaign(1); // wins with 2's vote and replicates its no-op to 2
    nt.campaign(3); // 2 already voted in this term; 3 stays candidate
    expect(nt.raft(1).role).toBe(Role.Leader);
    expect(nt.raft(3).role).toBe(Role.Candidate);

    nt.recover();
    nt.campaign(3); // higher term: everyone steps down, but 3's log is behind, so it loses
    for (const id of [1, 2, 3]) {
      expect(nt.raft(id).role).toBe(Role.Follower);
      expect(nt.raft(id).term).toBe(3);
    }
    expect(nt.raft(1).raftLog.lastIndex()).toBe(4);
    expect(nt.raft(3).raftLog.lastIndex()).toBe(3);
    nt.tickAll(30);
    const leader = nt.leader();
    expect(leader?.id === 1 || leader?.id === 2).toBe(true);
    nt.check();
  });
});

describe('pre-vote and check-quorum', () => {
  it('a partitioned node rejoining does not depose a healthy leader (pre-vote)', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.campaign(1);
    const term = nt.raft(1).term;
    nt.isolate(3);
    for (let i = 0; i < 100; i++) {
      nt.tickAll();
    }
    // Its pre-votes got no answer, so its term never moved.
    expect(nt.raft(3).term).toBe(term);
    expect(nt.raft(3).role).toBe(Role.PreCandidate);

    nt.recover();
    nt.tickAll(30);
    for (const id of [1, 2, 3]) expect(nt.raft(id).term).toBe(term);
    expect(nt.raft(1).role).toBe(Role.Leader);
    expect(nt.raft(3).lead).toBe(1);
  });

  it('without pre-vote, the rejoining node’s higher term forces a new election (check-quorum frees it)', () => {
    const nt = new Network({ ids: [1, 2, 3], config: { preVote: false } });
    nt.campaign(1);
    const term = nt.raft(1).term;
    nt.isolate(3);
    nt.tickAll(100);
    expect(nt.raft(3).role).toBe(Role.Candidate);
    const stuckTerm = nt.raft(3).term;
    expect(stuckTerm).toBeGreaterThan(term);

    nt.recover();
    // The leader's heartbeat reaches 3, whose answer carries its higher term: the leader steps down.
    nt.tickAll(1);
    expect(nt.raft(1).term).toBeGreaterThanOrEqual(stuckTerm);
    nt.tickAll(50);
    const leader = nt.leader();
    expect(leader).toBeDefined();
    expect(leader?.raft.term).toBeGreaterThan(stuckTerm);
    nt.check();
  });

  it('an isolated leader steps down within two election timeouts (check-quorum)', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.campaign(1);
    nt.isolate(1);
    for (let i = 0; i < 20; i++) nt.tick(1);
    nt.stabilize();
    expect(nt.raft(1).role).toBe(Role.Follower);
    expect(nt.raft(1).lead).toBe(0);
    // Meanwhile the majority elects someone else.
    nt.tickAll(30);
    const leader = nt.leader();
    expect(leader?.id === 2 || leader?.id === 3).toBe(true);
    nt.check();
  });

  it('without check-quorum an isolated leader keeps believing it leads', () => {
    const nt = new Network({ ids: [1, 2, 3], config: { checkQuorum: false } });
    nt.campaign(1);
    nt.isolate(1);
    for (let i = 0; i < 50; i++) nt.tick(1);
    nt.stabilize();
    expect(nt.raft(1).role).toBe(Role.Leader);
  });

  it('a follower that heard from its leader within the election timeout ignores higher-term votes (leader lease)', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { checkQuorum: true });
    r.becomeFollower(1, 2);
    r.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 2, index: 0, logTerm: 0 }));
    expect(r.term).toBe(1);
    expect(readMessages(r)).toEqual([]);

    // Pre-votes too.
    r.step(msg({ type: MessageType.PreVote, from: 3, to: 1, term: 2 }));
    expect(readMessages(r)).toEqual([]);

    // Once the lease ran out, the vote is granted.
    r.electionElapsed = r.electionTimeout;
    r.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 2 }));
    expect(r.term).toBe(2);
    expect(readMessages(r).map((m) => [m.type, m.to, m.reject])).toEqual([[MessageType.VoteResp, 3, false]]);
  });

  it('a campaign asked for by leadership transfer overrides the lease', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { checkQuorum: true });
    r.becomeFollower(1, 2);
    r.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 2, context: CAMPAIGN_TRANSFER_CONTEXT }));
    expect(r.term).toBe(2);
    expect(readMessages(r).map((m) => [m.type, m.reject])).toEqual([[MessageType.VoteResp, false]]);
  });

  it('pre-vote answers carry the request’s term and change nothing durable', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { preVote: true });
    r.becomeFollower(1, 0);
    r.step(msg({ type: MessageType.PreVote, from: 2, to: 1, term: 2 }));
    expect(r.term).toBe(1);
    expect(r.vote).toBe(0);
    const [resp] = readMessages(r);
    expect([resp?.type, resp?.term, resp?.reject]).toEqual([MessageType.PreVoteResp, 2, false]);
  });

  it('a pre-vote from a lower term is rejected explicitly so the pre-candidate learns the newer term', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { preVote: true });
    r.becomeFollower(5, 0);
    r.step(msg({ type: MessageType.PreVote, from: 2, to: 1, term: 3 }));
    const [resp] = readMessages(r);
    expect([resp?.type, resp?.term, resp?.reject]).toEqual([MessageType.PreVoteResp, 5, true]);
  });

  it('a restarted node does not campaign before it has applied its committed configuration', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    // Restarted from its disk, 3 has committed but not yet applied the bootstrap conf changes.
    nt.crash(3);
    nt.restart(3);
    nt.node(3).raw?.campaign();
    expect(nt.raft(3).role).toBe(Role.Follower);
    nt.stabilize(); // applies them
    nt.campaign(3);
    expect(nt.raft(3).role).toBe(Role.Leader);
  });
});
