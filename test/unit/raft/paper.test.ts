/**
 * Tests for the scenarios the Raft paper describes (https://raft.github.io/raft.pdf),
 * after etcd's raft_paper_test.go. Each covers a few sentences of the paper,
 * named in its title with the section, and is written as init → step → check.
 */
import { describe, expect, it } from 'vitest';
import { type Entry, type Message, MessageType, NONE } from '../../../src/raft/messages.js';
import type { Raft } from '../../../src/raft/raft.js';
import { Role } from '../../../src/raft/role.js';
import { MemoryStorage } from '../../../src/raft/storage.js';
import { SafetyChecker, SafetyViolation } from '../../harness/checker.js';
import {
  advanceMessagesAfterAppend,
  ent,
  logIds,
  msg,
  newTestRaft,
  persist,
  RaftNet,
  readMessages,
  storageOf,
  storageWithTerms,
} from '../../harness/builders.js';

const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const byTo = (a: Message, b: Message): number => a.to - b.to;

function becomeLeader(r: Raft): void {
  r.becomeCandidate();
  r.becomeLeader();
}

/** Commits the leader's no-op by acknowledging it from every follower (etcd's commitNoopEntry). */
function commitNoopEntry(r: Raft): void {
  expect(r.role).toBe(Role.Leader);
  r.bcastAppend();
  for (const m of readMessages(r)) {
    expect(m.type).toBe(MessageType.App);
    expect(m.entries).toHaveLength(1);
    expect(m.entries[0]?.data.length).toBe(0);
    r.step(acceptAndReply(m));
  }
  readMessages(r);
  r.raftLog.appliedTo(r.raftLog.committed);
}

function acceptAndReply(m: Message): Message {
  expect(m.type).toBe(MessageType.App);
  return msg({ type: MessageType.AppResp, from: m.to, to: m.from, term: m.term, index: m.index + m.entries.length });
}

function propose(r: Raft, data = 'some data'): void {
  r.step(msg({ type: MessageType.Prop, from: r.id, to: r.id, entries: [ent(0, 0, data)] }));
}

/** Storage holding `entries` and a hard state, so the Raft starts from them. */
function storageWith(entries: Entry[], hs: { term?: number; vote?: number; commit?: number } = {}): MemoryStorage {
  const s = new MemoryStorage();
  s.append(entries);
  s.setHardState({ term: hs.term ?? 0, vote: hs.vote ?? NONE, commit: hs.commit ?? 0 });
  return s;
}

describe('§5.1 terms', () => {
  for (const role of [Role.Follower, Role.Candidate, Role.Leader]) {
    it(`a ${Role[role]} seeing a higher term updates its term and reverts to follower (§5.1)`, () => {
      const r = newTestRaft(1, [1, 2, 3]);
      if (role === Role.Follower) r.becomeFollower(1, 2);
      if (role === Role.Candidate) r.becomeCandidate();
      if (role === Role.Leader) becomeLeader(r);

      r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 2 }));

      expect(r.term).toBe(2);
      expect(r.role).toBe(Role.Follower);
    });
  }

  it('rejects (ignores) a request with a stale term (§5.1)', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWith([], { term: 2 }) });
    const before = r.raftLog.lastIndex();

    r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 1, entries: [ent(1, 1)] }));

    expect(r.raftLog.lastIndex()).toBe(before);
    expect(r.term).toBe(2);
    expect(r.lead).toBe(NONE);
    expect(readMessages(r)).toEqual([]);
  });
});

describe('§5.2 leader election', () => {
  it('starts as a follower (§5.2)', () => {
    expect(newTestRaft(1, [1, 2, 3]).role).toBe(Role.Follower);
  });

  it('the leader broadcasts heartbeats without entries on each heartbeat tick (§5.2)', () => {
    const r = newTestRaft(1, [1, 2, 3], 10, 1);
    becomeLeader(r);
    r.appendEntry(Array.from({ length: 10 }, () => ent(0, 0)));
    readMessages(r);

    r.tick();

    const msgs = readMessages(r).sort(byTo);
    expect(msgs.map((m) => [m.type, m.from, m.to, m.term, m.index, m.logTerm, m.commit, m.entries.length])).toEqual([
      [MessageType.Heartbeat, 1, 2, 1, 0, 0, 0, 0],
      [MessageType.Heartbeat, 1, 3, 1, 0, 0, 0, 0],
    ]);
  });

  for (const role of [Role.Follower, Role.Candidate]) {
    it(`a ${Role[role]} hearing nothing for an election timeout starts an election: new term, votes for itself, asks everyone (§5.2)`, () => {
      const r = newTestRaft(1, [1, 2, 3], 10, 1);
      if (role === Role.Follower) r.becomeFollower(1, 2);
      else r.becomeCandidate();

      for (let i = 1; i < 2 * 10; i++) r.tick();
      advanceMessagesAfterAppend(r);

      expect(r.term).toBe(2);
      expect(r.role).toBe(Role.Candidate);
      expect(r.trk.tallyVotes().granted).toBe(1);
      const msgs = readMessages(r).sort(byTo);
      expect(msgs.map((m) => [m.type, m.from, m.to, m.term, m.index, m.logTerm])).toEqual([
        [MessageType.Vote, 1, 2, 2, 0, 0],
        [MessageType.Vote, 1, 3, 2, 0, 0],
      ]);
    });
  }

  it('one round of RequestVote: win with a majority, lose to a majority of denials, else stay candidate (§5.2)', () => {
    const cases: [number, Record<number, boolean>, Role][] = [
      [1, {}, Role.Leader],
      [3, { 2: true, 3: true }, Role.Leader],
      [3, { 2: true }, Role.Leader],
      [5, { 2: true, 3: true, 4: true, 5: true }, Role.Leader],
      [5, { 2: true, 3: true, 4: true }, Role.Leader],
      [5, { 2: true, 3: true }, Role.Leader],
      [3, { 2: false, 3: false }, Role.Follower],
      [5, { 2: false, 3: false, 4: false, 5: false }, Role.Follower],
      [5, { 2: true, 3: false, 4: false, 5: false }, Role.Follower],
      [3, {}, Role.Candidate],
      [5, { 2: true }, Role.Candidate],
      [5, { 2: false, 3: false }, Role.Candidate],
      [5, {}, Role.Candidate],
    ];
    for (const [size, votes, want] of cases) {
      const r = newTestRaft(1, ids(size));
      r.step(msg({ type: MessageType.Hup, from: 1, to: 1 }));
      advanceMessagesAfterAppend(r);
      for (const [id, granted] of Object.entries(votes)) {
        r.step(msg({ type: MessageType.VoteResp, from: Number(id), to: 1, term: r.term, reject: !granted }));
      }
      expect([size, votes, r.role]).toEqual([size, votes, want]);
      expect(r.term).toBe(1);
    }
  });

  it('a follower votes for at most one candidate per term, first come first served (§5.2)', () => {
    const cases: [number, number, boolean][] = [
      [NONE, 2, false],
      [NONE, 3, false],
      [2, 2, false],
      [3, 3, false],
      [2, 3, true],
      [3, 2, true],
    ];
    for (const [vote, candidate, wantReject] of cases) {
      const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWith([], { term: 1, vote }) });
      r.step(msg({ type: MessageType.Vote, from: candidate, to: 1, term: 1 }));
      expect(r.msgsAfterAppend.map((m) => [m.type, m.to, m.term, m.reject])).toEqual([[MessageType.VoteResp, candidate, 1, wantReject]]);
    }
  });

  it('a candidate receiving an append from a leader of at least its term becomes its follower (§5.2)', () => {
    for (const term of [1, 2]) {
      const r = newTestRaft(1, [1, 2, 3]);
      r.step(msg({ type: MessageType.Hup, from: 1, to: 1 }));
      expect(r.role).toBe(Role.Candidate);

      r.step(msg({ type: MessageType.App, from: 2, to: 1, term }));

      expect(r.role).toBe(Role.Follower);
      expect(r.term).toBe(term);
      expect(r.lead).toBe(2);
    }
  });

  for (const role of [Role.Follower, Role.Candidate]) {
    it(`${Role[role]} election timeouts are randomized over [et, 2et) (§5.2)`, () => {
      const et = 10;
      const r = newTestRaft(1, [1, 2, 3], et, 1);
      const seen = new Set<number>();
      for (let round = 0; round < 50 * et; round++) {
        if (role === Role.Follower) r.becomeFollower(r.term + 1, 2);
        else r.becomeCandidate();
        readMessages(r);
        let time = 0;
        while (readMessages(r).length === 0) {
          r.tick();
          time++;
          expect(time).toBeLessThan(2 * et + 1);
        }
        seen.add(time);
      }
      for (let d = et; d < 2 * et; d++) expect(seen.has(d), `timeout after ${d} ticks`).toBe(true);
      expect(Math.min(...seen)).toBe(et);
      expect(Math.max(...seen)).toBe(2 * et - 1);
    });

    it(`${Role[role]}s rarely time out together, so split votes are rare (§5.2)`, () => {
      const rs = ids(5).map((id) => newTestRaft(id, ids(5), 10, 1));
      let conflicts = 0;
      for (let round = 0; round < 1000; round++) {
        for (const r of rs) {
          if (role === Role.Follower) r.becomeFollower(r.term + 1, NONE);
          else r.becomeCandidate();
          readMessages(r);
        }
        let timedOut = 0;
        while (timedOut === 0) {
          for (const r of rs) {
            r.tick();
            if (readMessages(r).length > 0) timedOut++;
          }
        }
        if (timedOut > 1) conflicts++;
      }
      expect(conflicts / 1000).toBeLessThanOrEqual(0.3);
    });
  }
});

describe('§5.3 log replication', () => {
  it('the leader appends a proposal, persists it, and sends it with the preceding index and term (§5.3)', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    becomeLeader(r);
    commitNoopEntry(r);
    const li = r.raftLog.lastIndex();

    propose(r);

    expect(r.raftLog.lastIndex()).toBe(li + 1);
    expect(r.raftLog.committed).toBe(li);
    const msgs = readMessages(r).sort(byTo);
    expect(msgs.map((m) => [m.type, m.to, m.term, m.index, m.logTerm, m.commit, logIds(m.entries)])).toEqual([
      [MessageType.App, 2, 1, li, 1, li, [`1/${li + 1}`]],
      [MessageType.App, 3, 1, li, 1, li, [`1/${li + 1}`]],
    ]);
    expect(msgs[0]?.entries[0]?.data.toString()).toBe('some data');
    // readMessages persisted it, as a driver does before the leader counts itself.
    expect(storageOf(r).lastIndex()).toBe(li + 1);
  });

  it('the leader commits once a majority has the entry, hands it out to apply, and tells followers the new commit (§5.3)', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    becomeLeader(r);
    commitNoopEntry(r);
    const li = r.raftLog.lastIndex();
    propose(r);

    for (const m of readMessages(r)) r.step(acceptAndReply(m));

    expect(r.raftLog.committed).toBe(li + 1);
    expect(logIds(r.raftLog.nextCommittedEnts())).toEqual([`1/${li + 1}`]);
    const msgs = readMessages(r).sort(byTo);
    expect(msgs.map((m) => [m.type, m.to, m.commit])).toEqual([
      [MessageType.App, 2, li + 1],
      [MessageType.App, 3, li + 1],
    ]);
  });

  it('an entry is committed once replicated on a majority, counting the leader (§5.3)', () => {
    const cases: [number, number[], boolean][] = [
      [1, [], true],
      [3, [], false],
      [3, [2], true],
      [3, [2, 3], true],
      [5, [], false],
      [5, [2], false],
      [5, [2, 3], true],
      [5, [2, 3, 4], true],
      [5, [2, 3, 4, 5], true],
    ];
    for (const [size, acceptors, wantCommit] of cases) {
      const r = newTestRaft(1, ids(size));
      becomeLeader(r);
      commitNoopEntry(r);
      const li = r.raftLog.lastIndex();
      propose(r);
      for (const m of readMessages(r)) if (acceptors.includes(m.to)) r.step(acceptAndReply(m));
      advanceMessagesAfterAppend(r);
      expect([size, acceptors, r.raftLog.committed > li]).toEqual([size, acceptors, wantCommit]);
    }
  });

  it('committing an entry commits all preceding ones, including those of earlier leaders (§5.3)', () => {
    const cases: Entry[][] = [[], [ent(1, 2)], [ent(1, 1), ent(2, 2)], [ent(1, 1)]];
    for (const prior of cases) {
      const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWith(prior, { term: 2 }) });
      becomeLeader(r);
      propose(r);

      for (const m of readMessages(r)) r.step(acceptAndReply(m));

      const li = prior.length;
      expect(logIds(r.raftLog.nextCommittedEnts())).toEqual([...logIds(prior), `3/${li + 1}`, `3/${li + 2}`]);
    }
  });

  it('a follower learning of a commit hands out the committed entries in log order (§5.3)', () => {
    const cases: [Entry[], number][] = [
      [[ent(1, 1, 'some data')], 1],
      [[ent(1, 1, 'some data'), ent(2, 1, 'some data2')], 2],
      [[ent(1, 1, 'some data2'), ent(2, 1, 'some data')], 2],
      [[ent(1, 1, 'some data'), ent(2, 1, 'some data2')], 1],
    ];
    for (const [ents, commit] of cases) {
      const r = newTestRaft(1, [1, 2, 3]);
      r.becomeFollower(1, 2);
      r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 1, entries: ents, commit }));
      expect(r.raftLog.committed).toBe(commit);
      expect(r.raftLog.nextCommittedEnts()).toEqual(ents.slice(0, commit));
    }
  });

  it('a follower refuses an append whose preceding entry it lacks, hinting where the logs may match (§5.3)', () => {
    const ents = [ent(1, 1), ent(2, 2)];
    const cases: { term: number; index: number; wIndex: number; wReject: boolean; wHint: number; wLogTerm: number }[] = [
      // matches committed entries
      { term: 0, index: 0, wIndex: 1, wReject: false, wHint: 0, wLogTerm: 0 },
      { term: 1, index: 1, wIndex: 1, wReject: false, wHint: 0, wLogTerm: 0 },
      // matches an uncommitted entry
      { term: 2, index: 2, wIndex: 2, wReject: false, wHint: 0, wLogTerm: 0 },
      // conflicts with an existing entry
      { term: 1, index: 2, wIndex: 2, wReject: true, wHint: 1, wLogTerm: 1 },
      // no such entry
      { term: 3, index: 3, wIndex: 3, wReject: true, wHint: 2, wLogTerm: 2 },
    ];
    for (const tt of cases) {
      const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWith(ents, { commit: 1 }) });
      r.becomeFollower(2, 2);

      r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 2, logTerm: tt.term, index: tt.index }));

      const msgs = readMessages(r);
      expect(msgs.map((m) => [m.type, m.to, m.term, m.index, m.reject, m.rejectHint, m.logTerm])).toEqual([
        [MessageType.AppResp, 2, 2, tt.wIndex, tt.wReject, tt.wHint, tt.wLogTerm],
      ]);
    }
  });

  it('a follower deletes a conflicting suffix and appends the new entries (§5.3)', () => {
    const cases: { index: number; term: number; ents: Entry[]; wAll: string[]; wUnstable: string[] }[] = [
      { index: 2, term: 2, ents: [ent(3, 3)], wAll: ['1/1', '2/2', '3/3'], wUnstable: ['3/3'] },
      { index: 1, term: 1, ents: [ent(2, 3), ent(3, 4)], wAll: ['1/1', '3/2', '4/3'], wUnstable: ['3/2', '4/3'] },
      { index: 0, term: 0, ents: [ent(1, 1)], wAll: ['1/1', '2/2'], wUnstable: [] },
      { index: 0, term: 0, ents: [ent(1, 3)], wAll: ['3/1'], wUnstable: ['3/1'] },
    ];
    for (const tt of cases) {
      const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWith([ent(1, 1), ent(2, 2)]) });
      r.becomeFollower(2, 2);

      r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 2, logTerm: tt.term, index: tt.index, entries: tt.ents }));

      expect(logIds(r.raftLog.allEntries())).toEqual(tt.wAll);
      expect(logIds(r.raftLog.nextUnstableEnts())).toEqual(tt.wUnstable);
    }
  });

  it('the leader brings every follower log of Figure 7 into agreement with its own (§5.3, Figure 7)', () => {
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const term = 8;
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    for (const [name, terms] of Object.entries(followers)) {
      const leadStorage = storageWithTerms(leaderTerms);
      leadStorage.setHardState({ term, vote: NONE, commit: leaderTerms.length });
      const lead = newTestRaft(1, [1, 2, 3], 10, 1, { storage: leadStorage });
      const followerStorage = storageWithTerms(terms);
      followerStorage.setHardState({ term: term - 1, vote: NONE, commit: 0 });
      const follower = newTestRaft(2, [1, 2, 3], 10, 1, { storage: followerStorage });
      // Node 3 is absent: the follower may have the more up-to-date log, so 3's vote elects 1.
      const nt = new RaftNet([lead, follower]);
      nt.send([msg({ type: MessageType.Hup, from: 1, to: 1 })]);
      nt.send([msg({ type: MessageType.VoteResp, from: 3, to: 1, term: term + 1 })]);
      nt.send([msg({ type: MessageType.Prop, from: 1, to: 1, entries: [ent(0, 0)] })]);

      expect(lead.role, name).toBe(Role.Leader);
      expect(logIds(follower.raftLog.allEntries()), name).toEqual(logIds(lead.raftLog.allEntries()));
      expect(follower.raftLog.committed, name).toBe(lead.raftLog.committed);
    }
  });
});

describe('§5.4 safety', () => {
  it('a vote request carries the index and term of the candidate’s last entry, to every other node (§5.4.1)', () => {
    const cases: [Entry[], number][] = [
      [[ent(1, 1)], 2],
      [[ent(1, 1), ent(2, 2)], 3],
    ];
    for (const [ents, wTerm] of cases) {
      const r = newTestRaft(1, [1, 2, 3]);
      r.step(msg({ type: MessageType.App, from: 2, to: 1, term: wTerm - 1, entries: ents }));
      readMessages(r);

      for (let i = 1; i < 2 * r.electionTimeout; i++) r.tick();

      const msgs = readMessages(r).sort(byTo);
      const last = ents[ents.length - 1] as Entry;
      expect(msgs.map((m) => [m.type, m.to, m.term, m.index, m.logTerm])).toEqual([
        [MessageType.Vote, 2, wTerm, last.index, last.term],
        [MessageType.Vote, 3, wTerm, last.index, last.term],
      ]);
    }
  });

  it('a voter denies its vote to a candidate whose log is less up to date than its own (§5.4.1)', () => {
    const cases: [Entry[], number, number, boolean][] = [
      // same last term
      [[ent(1, 1)], 1, 1, false],
      [[ent(1, 1)], 1, 2, false],
      [[ent(1, 1), ent(2, 1)], 1, 1, true],
      // candidate has the higher last term
      [[ent(1, 1)], 2, 1, false],
      [[ent(1, 1)], 2, 2, false],
      [[ent(1, 1), ent(2, 1)], 2, 1, false],
      // voter has the higher last term
      [[ent(1, 2)], 1, 1, true],
      [[ent(1, 2)], 1, 2, true],
      [[ent(1, 2), ent(2, 2)], 1, 1, true],
      [[ent(1, 1), ent(2, 1)], 1, 1, true],
    ];
    for (const [ents, logTerm, index, wantReject] of cases) {
      const r = newTestRaft(1, [1, 2], 10, 1, { storage: storageWith(ents) });
      r.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, logTerm, index }));
      const msgs = readMessages(r);
      expect(msgs.map((m) => [m.type, m.reject])).toEqual([[MessageType.VoteResp, wantReject]]);
    }
  });

  it('the leader only commits entries from its current term by counting replicas (§5.4.2)', () => {
    const cases: [number, number][] = [
      // entries of earlier terms are not committed by counting
      [1, 0],
      [2, 0],
      // an entry of the current term is, and everything before it with it
      [3, 3],
    ];
    for (const [acked, wantCommit] of cases) {
      const r = newTestRaft(1, [1, 2], 10, 1, { storage: storageWith([ent(1, 1), ent(2, 2)], { term: 2 }) });
      becomeLeader(r); // term 3, no-op at index 3
      readMessages(r);
      propose(r, '');

      r.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: r.term, index: acked }));
      advanceMessagesAfterAppend(r);

      expect([acked, r.raftLog.committed]).toEqual([acked, wantCommit]);
    }
  });

  it('an old-term entry on a majority is not committed, so a later leader may replace it safely (§5.4.2, Figure 8)', () => {
    // Figure 8 (c): S1 leads term 4 and has put the term-2 entry at index 2
    // on S1, S2, S3, a majority. S5 holds an unreplicated term-3 entry there.
    const s = [
      storageWithTerms([1, 2]),
      storageWithTerms([1, 2]),
      storageWithTerms([1]),
      storageWithTerms([1]),
      storageWithTerms([1, 3]),
    ];
    for (const st of s) st.setHardState({ term: 3, vote: NONE, commit: 1 });
    const rs = s.map((st, i) => newTestRaft(i + 1, ids(5), 10, 1, { storage: st, maxSizePerMsg: 0 }));
    const [s1, s2, s3, , s5] = rs as [Raft, Raft, Raft, Raft, Raft];
    const checker = new SafetyChecker();
    const nt = new RaftNet(rs);

    // S1 is elected in term 4 by S2, S3, S4; it reaches S2 fully, S3 only
    // with the term-2 entry (one entry per MsgApp), S4 and S5 not at all.
    nt.dropIf = (m) =>
      m.from === 1 &&
      m.type === MessageType.App &&
      (m.to === 4 || m.to === 5 || (m.to === 3 && s3.raftLog.lastIndex() >= 2 && m.entries.some((e) => e.index >= 3)));
    nt.send([msg({ type: MessageType.Hup, from: 1, to: 1 })]);
    expect(s1.role).toBe(Role.Leader);
    expect(s1.term).toBe(4);
    expect(s3.raftLog.termOrZero(2)).toBe(2);
    checker.checkNodes(rs);

    // Index 2 is on a majority, but it is of term 2: not committed.
    expect(s1.raftLog.committed).toBe(1);

    // (d) S1 crashes; S5 wins term 5 (votes of S3, S4) and overwrites index 2.
    nt.recover();
    nt.isolate(1);
    nt.send([msg({ type: MessageType.Hup, from: 5, to: 5 })]);
    expect(s5.role).toBe(Role.Leader);
    expect(s3.raftLog.termOrZero(2)).toBe(3);
    // S2 refused its vote (its log ends in term 4) but now follows S5 too.
    expect(s2.raftLog.termOrZero(2)).toBe(3);
    checker.checkNodes(rs.filter((r) => r.id !== 1));
  });

  it('the checker would flag a committed entry being replaced (guards the Figure 8 test above)', () => {
    const a = newTestRaft(1, [1, 2], 10, 1, { storage: storageWith([ent(1, 2)], { term: 2, commit: 1 }) });
    const b = newTestRaft(2, [1, 2], 10, 1, { storage: storageWith([ent(1, 3)], { term: 3, commit: 1 }) });
    const checker = new SafetyChecker();
    expect(() => checker.checkNodes([a, b])).toThrow(SafetyViolation);
  });
});

describe('persistence (§5.3, thesis §3.8)', () => {
  it('vote answers and append acknowledgements wait in msgsAfterAppend until the state they promise is durable', () => {
    const r = newTestRaft(1, [1, 2, 3]);
    r.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 1 }));
    r.step(msg({ type: MessageType.App, from: 2, to: 1, term: 1, entries: [ent(1, 1)] }));
    expect(r.msgs).toEqual([]);
    expect(r.msgsAfterAppend.map((m) => m.type)).toEqual([MessageType.VoteResp, MessageType.AppResp]);
    persist(r);
    expect(storageOf(r).hardStateNow()).toMatchObject({ term: 1, vote: 2 });
    expect(storageOf(r).lastIndex()).toBe(1);
  });
});
