/**
 * Per-follower flow control (etcd's raft_flow_control_test.go): one append in
 * flight while probing, a bounded pipeline while replicating, and fast
 * recovery of a follower whose log diverges, using the rejection hint.
 */
import { describe, expect, it } from 'vitest';
import { type Message, MessageType, NONE } from '../../../src/raft/messages.js';
import type { Raft } from '../../../src/raft/raft.js';
import { Role } from '../../../src/raft/role.js';
import { ProgressState } from '../../../src/raft/tracker/state.js';
import { ent, msg, newTestRaft, RaftNet, readMessages, storageWithTerms } from '../../harness/builders.js';

function leaderOf(opts: Parameters<typeof newTestRaft>[4] = {}, voters = [1, 2]): Raft {
  const r = newTestRaft(1, voters, 10, 1, opts);
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  return r;
}

function propose(r: Raft, data = 'somedata'): void {
  r.step(msg({ type: MessageType.Prop, from: 1, to: 1, entries: [ent(0, 0, data)] }));
}

const apps = (ms: Message[]): Message[] => ms.filter((m) => m.type === MessageType.App);

describe('probe state', () => {
  it('sends one append per heartbeat interval until the follower answers', () => {
    const r = leaderOf();
    const pr = r.trk.get(2);
    expect(pr?.state).toBe(ProgressState.Probe);

    r.bcastAppend();
    for (let i = 0; i < 3; i++) propose(r);
    expect(apps(readMessages(r))).toHaveLength(1);
    expect(pr?.isPaused()).toBe(true);

    // A heartbeat answer clears the way for the next probe.
    r.step(msg({ type: MessageType.HeartbeatResp, from: 2, to: 1, term: r.term }));
    expect(apps(readMessages(r))).toHaveLength(1);
  });

  it('moves to replicate once the follower acknowledges, then pipelines', () => {
    const r = leaderOf();
    r.bcastAppend();
    const [probe] = apps(readMessages(r));
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: r.term, index: (probe?.index ?? 0) + (probe?.entries.length ?? 0) }));
    expect(r.trk.get(2)?.state).toBe(ProgressState.Replicate);
    readMessages(r);
    for (let i = 0; i < 3; i++) propose(r);
    expect(apps(readMessages(r))).toHaveLength(3);
  });
});

describe('replicate state', () => {
  function replicatingLeader(maxInflightMsgs = 3, extra: Parameters<typeof newTestRaft>[4] = {}): Raft {
    const r = leaderOf({ maxInflightMsgs, ...extra });
    r.trk.get(2)?.becomeReplicate();
    return r;
  }

  it('stops sending when maxInflightMsgs appends are unacknowledged', () => {
    const r = replicatingLeader(3);
    const pr = r.trk.get(2);
    for (let i = 0; i < 3; i++) {
      propose(r);
      expect(apps(readMessages(r))).toHaveLength(1);
    }
    expect(pr?.inflights.full()).toBe(true);
    for (let i = 0; i < 5; i++) {
      propose(r);
      expect(apps(readMessages(r))).toEqual([]);
    }
  });

  it('an acknowledgement frees the window and the leader sends what fits', () => {
    const r = replicatingLeader(3);
    const sent: Message[] = [];
    for (let i = 0; i < 3; i++) {
      propose(r);
      sent.push(...apps(readMessages(r)));
    }
    for (let i = 0; i < 4; i++) propose(r);
    expect(apps(readMessages(r))).toEqual([]);

    // Ack the first two appends: two slots free up, one message carries all four waiting entries.
    const second = sent[1] as Message;
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: r.term, index: second.index + second.entries.length }));
    const more = apps(readMessages(r));
    expect(more).toHaveLength(1);
    expect(more[0]?.entries).toHaveLength(4);
    expect(r.trk.get(2)?.inflights.count()).toBe(2);
  });

  it('with a full window, a heartbeat answer still lets one empty append through, so lost appends cannot stall the follower', () => {
    const r = replicatingLeader(3);
    for (let i = 0; i < 3; i++) {
      propose(r);
      readMessages(r);
    }
    propose(r);
    expect(apps(readMessages(r))).toEqual([]);

    r.step(msg({ type: MessageType.HeartbeatResp, from: 2, to: 1, term: r.term }));
    const probe = apps(readMessages(r));
    expect(probe).toHaveLength(1);
    expect(probe[0]?.entries).toEqual([]);
    // Only once per heartbeat answer.
    propose(r);
    expect(apps(readMessages(r))).toEqual([]);
  });

  it('bounds the bytes in flight as well as the count', () => {
    const r = replicatingLeader(100, { maxSizePerMsg: 1024, maxInflightBytes: 2048 });
    let sent = 0;
    for (let i = 0; i < 10; i++) {
      propose(r, 'x'.repeat(600));
      sent += apps(readMessages(r)).length;
    }
    // Each append is ~624 bytes: the fourth would pass the 2048-byte budget.
    expect(sent).toBe(4);
    expect(r.trk.get(2)?.inflights.full()).toBe(true);
  });

  it('splits a backlog into messages of at most maxSizePerMsg', () => {
    const r = leaderOf({ maxSizePerMsg: 1000, maxInflightMsgs: 100 });
    for (let i = 0; i < 10; i++) propose(r, 'y'.repeat(300));
    readMessages(r);
    // Node 2 answers the first probe: the leader sends the whole backlog, ~3 entries per message.
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: r.term, index: 0 }));
    const out = apps(readMessages(r));
    expect(out.length).toBeGreaterThanOrEqual(4);
    for (const m of out) expect(m.entries.reduce((s, e) => s + e.data.length + 24, 0)).toBeLessThanOrEqual(1000);
    expect(out.flatMap((m) => m.entries).length).toBe(11);
  });

  it('a rejection, or the transport reporting the peer unreachable, drops back to probing', () => {
    const r = replicatingLeader(3);
    propose(r);
    readMessages(r);
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: r.term, index: 1, reject: true, rejectHint: 0 }));
    expect(r.trk.get(2)?.state).toBe(ProgressState.Probe);

    r.trk.get(2)?.becomeReplicate();
    r.step(msg({ type: MessageType.Unreachable, from: 2, to: 1 }));
    expect(r.trk.get(2)?.state).toBe(ProgressState.Probe);
  });

  it('ignores stale rejections (reordered or duplicated answers)', () => {
    const r = replicatingLeader(3);
    const pr = r.trk.get(2);
    for (let i = 0; i < 2; i++) {
      propose(r);
      readMessages(r);
    }
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: r.term, index: 2 }));
    expect(pr?.match).toBe(2);
    r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: r.term, index: 1, reject: true, rejectHint: 0 }));
    expect(pr?.state).toBe(ProgressState.Replicate);
    expect(pr?.match).toBe(2);
  });
});

describe('rejection hints', () => {
  /** Counts the rejections a follower sends before its log matches the new leader's. */
  function rejectionsToSync(leaderTerms: number[], followerTerms: number[]): number {
    const term = Math.max(...leaderTerms, ...followerTerms) + 1;
    const ls = storageWithTerms(leaderTerms);
    ls.setHardState({ term, vote: NONE, commit: 0 });
    const lead = newTestRaft(1, [1, 2, 3], 10, 1, { storage: ls });
    const fs = storageWithTerms(followerTerms);
    fs.setHardState({ term: term - 1, vote: NONE, commit: 0 });
    const follower = newTestRaft(2, [1, 2, 3], 10, 1, { storage: fs });
    const nt = new RaftNet([lead, follower]);
    nt.send([msg({ type: MessageType.Hup, from: 1, to: 1 })]);
    nt.send([msg({ type: MessageType.VoteResp, from: 3, to: 1, term: term + 1 })]);
    expect(lead.role).toBe(Role.Leader);
    expect(follower.raftLog.allEntries().map((e) => e.term)).toEqual(lead.raftLog.allEntries().map((e) => e.term));
    return nt.delivered.filter((m) => m.type === MessageType.AppResp && m.reject).length;
  }

  it('a follower that is merely behind says where its log ends: one rejection', () => {
    expect(rejectionsToSync([1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], [1, 1, 1])).toBe(1);
  });

  it('a long divergent tail of higher terms is skipped in one step (follower-side findConflictByTerm)', () => {
    const leader = [1, 1, 1, ...Array<number>(50).fill(2), 5];
    const follower = [1, 1, 1, ...Array<number>(50).fill(4)];
    expect(rejectionsToSync(leader, follower)).toBeLessThanOrEqual(2);
  });

  it('a long divergent tail of lower terms is skipped by the leader, one probe per term (leader-side findConflictByTerm)', () => {
    const leader = [1, 1, 1, ...Array<number>(30).fill(3), ...Array<number>(30).fill(5)];
    const follower = [1, 1, 1, ...Array<number>(30).fill(2), ...Array<number>(30).fill(2)];
    expect(rejectionsToSync(leader, follower)).toBeLessThanOrEqual(3);
  });

  it('Figure 7 followers all sync in at most three rejections', () => {
    const leader = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    for (const f of [[1, 1, 1, 4, 4, 5, 5, 6, 6], [1, 1, 1, 4], [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], [1, 1, 1, 4, 4, 4, 4], [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]]) {
      expect(rejectionsToSync(leader, f)).toBeLessThanOrEqual(3);
    }
  });
});
