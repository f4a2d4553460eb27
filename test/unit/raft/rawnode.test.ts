/**
 * The RawNode API and its Ready contract: what may be sent at once and what
 * only after the write, what must be fsynced, when the leader counts itself,
 * one Ready at a time, proposals' positions, restarts from storage — and a
 * proof that breaking the contract breaks safety.
 */
import { describe, expect, it } from 'vitest';
import { bootstrapState } from '../../../src/raft/bootstrap.js';
import { ProposalDroppedError, RaftInvariantError, ReadyContractError, StepLocalMsgError, StepPeerNotFoundError } from '../../../src/raft/errors.js';
import { decodeConfChange } from '../../../src/raft/conf-change.js';
import { type Entry, EntryType, MessageType } from '../../../src/raft/messages.js';
import { MemoryLogger } from '../../../src/raft/logger.js';
import { RawNode, type Ready } from '../../../src/raft/rawnode.js';
import { Role } from '../../../src/raft/role.js';
import { MemoryStorage } from '../../../src/raft/storage.js';
import { msg } from '../../harness/builders.js';
import { SafetyViolation } from '../../harness/checker.js';
import { Network } from '../../harness/network.js';

/** Handles one Ready like a driver would (nothing to send: single node); returns it. */
function handle(raw: RawNode, storage: MemoryStorage): Ready {
  const rd = raw.ready();
  if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
  for (const e of rd.committedEntries) if (e.type === EntryType.ConfChange) raw.applyConfChange(decodeConfChange(e.data));
  raw.advance(rd);
  return rd;
}

function drain(raw: RawNode, storage: MemoryStorage): Entry[] {
  const applied: Entry[] = [];
  for (let i = 0; i < 20 && raw.hasReady(); i++) applied.push(...handle(raw, storage).committedEntries);
  expect(raw.hasReady()).toBe(false);
  return applied;
}

function singleNode(): { raw: RawNode; storage: MemoryStorage; applied: Entry[] } {
  const storage = new MemoryStorage();
  const raw = new RawNode({ id: 1, storage, voters: [1] });
  raw.campaign();
  const applied = drain(raw, storage);
  expect(raw.isLeader()).toBe(true);
  return { raw, storage, applied };
}

describe('Ready contract', () => {
  it('the leader’s appends leave with its own write; it counts itself only after advance()', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.campaign(1);
    const raw1 = nt.node(1).raw as RawNode;
    const ref = nt.propose(1, 'x');
    const rd = raw1.ready();
    // Entries to write and the MsgApps carrying them, in the same Ready.
    expect(rd.entries.map((e) => e.index)).toEqual([ref?.index]);
    expect(rd.messages.filter((m) => m.type === MessageType.App).map((m) => m.to)).toEqual([2, 3]);
    expect(rd.persistedMessages).toEqual([]);
    expect(rd.mustSync).toBe(true);

    // Node 2 acknowledges before the leader's own write is done: 2 of 3 is not a quorum without it.
    nt.post(rd.messages.filter((m) => m.to === 2));
    nt.stabilize();
    expect(raw1.raft.raftLog.committed).toBeLessThan(ref?.index ?? 0);

    nt.node(1).storage.append(rd.entries);
    raw1.advance(rd);
    expect(raw1.raft.raftLog.committed).toBe(ref?.index);
  });

  it('append acknowledgements and vote answers are persistedMessages; heartbeat answers are not', () => {
    const storage = new MemoryStorage();
    const raw = new RawNode({ id: 2, storage, voters: [1, 2, 3] });
    raw.step(msg({ type: MessageType.Vote, from: 1, to: 2, term: 1 }));
    raw.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, entries: [{ index: 1, term: 1, type: 0, data: Buffer.from('e') }] }));
    raw.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1, context: Buffer.from('12345678') }));
    const rd = raw.ready();
    expect(rd.persistedMessages.map((m) => m.type)).toEqual([MessageType.VoteResp, MessageType.AppResp]);
    expect(rd.messages.map((m) => m.type)).toEqual([MessageType.HeartbeatResp]);
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(rd.mustSync).toBe(true);
  });

  it('a Ready that only moves the commit index needs no fsync', () => {
    const { raw, storage } = singleNode();
    raw.propose(Buffer.from('a'));
    const write = handle(raw, storage);
    expect(write.mustSync).toBe(true);
    const apply = handle(raw, storage);
    expect(apply.hardState?.commit).toBe(apply.committedEntries.at(-1)?.index);
    expect(apply.entries).toEqual([]);
    expect(apply.mustSync).toBe(false);
  });

  it('one Ready at a time: ready() again throws, hasReady() is false, advance() must match', () => {
    const { raw, storage } = singleNode();
    raw.propose(Buffer.from('a'));
    const rd = raw.ready();
    expect(raw.hasReady()).toBe(false);
    expect(() => raw.ready()).toThrow(ReadyContractError);
    expect(() => raw.advance({ ...rd, number: rd.number + 1 })).toThrow(ReadyContractError);
    storage.append(rd.entries);
    raw.advance(rd);
    expect(() => raw.advance(rd)).toThrow(ReadyContractError);
    expect(raw.hasReady()).toBe(true);
  });

  it('work arriving while a write is in flight goes into the next Ready as one batch (group commit)', () => {
    const { raw, storage } = singleNode();
    raw.propose(Buffer.from('a'));
    const first = raw.ready();
    for (const d of ['b', 'c', 'd']) raw.propose(Buffer.from(d));
    storage.append(first.entries);
    raw.advance(first);
    const second = raw.ready();
    expect(second.entries.map((e) => e.data.toString())).toEqual(['b', 'c', 'd']);
    expect(second.committedEntries.map((e) => e.data.toString())).toEqual(['a']);
  });

  it('entries that commit while a write is in flight can be taken at once, only as far as they are durable here, and only once', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.campaign(1);
    nt.stabilize();
    const raw1 = nt.node(1).raw as RawNode;
    const storage1 = nt.node(1).storage;
    const x = nt.propose(1, 'x');
    const rdX = raw1.ready();
    storage1.append(rdX.entries);
    raw1.advance(rdX);
    const y = nt.propose(1, 'y');
    const rdY = raw1.ready(); // y's write is "in flight" from here on
    expect(rdY.entries.map((e) => e.data.toString())).toEqual(['y']);
    expect(rdY.committedEntries).toEqual([]);
    nt.post([...rdX.messages, ...rdY.messages]);
    nt.stabilize(); // the followers write x and y and acknowledge both
    expect(raw1.raft.raftLog.committed).toBe(y?.index); // 2 and 3 are a quorum for y without the leader
    // Only x is on the leader's disk: y waits for the leader's own write.
    const taken = raw1.takeCommitted(storage1.lastIndex());
    expect(taken.map((e) => e.data.toString())).toEqual(['x']);
    expect(raw1.raft.raftLog.applied).toBe(x?.index);
    expect(raw1.takeCommitted(storage1.lastIndex())).toEqual([]);
    storage1.append(rdY.entries);
    raw1.advance(rdY);
    const next = raw1.ready();
    expect(next.committedEntries.map((e) => e.data.toString())).toEqual(['y']);
    raw1.advance(next);
    expect(raw1.raft.raftLog.applied).toBe(y?.index);
  });

  it('takeCommitted hands out no entry that replaces a conflicting suffix still on disk', () => {
    // The disk holds 1..3 of term 1; a new leader's entries 2..3 of term 2 replace them and commit.
    const storage = new MemoryStorage();
    const old = [1, 2, 3].map((index) => ({ index, term: 1, type: 0, data: Buffer.from(`old${index}`) }));
    storage.append(old);
    storage.setHardState({ term: 1, vote: 0, commit: 1 });
    const raw = new RawNode({ id: 2, storage, voters: [1, 2, 3], applied: 1 });
    const fresh = [2, 3].map((index) => ({ index, term: 2, type: 0, data: Buffer.from(`new${index}`) }));
    raw.step(msg({ type: MessageType.App, from: 1, to: 2, term: 2, logTerm: 1, index: 1, entries: fresh, commit: 3 }));
    expect(raw.raft.raftLog.committed).toBe(3);
    // The disk's last index is 3, but what it holds at 2..3 is the old term.
    expect(raw.stableIndex()).toBe(1);
    expect(raw.takeCommitted(storage.lastIndex())).toEqual([]);
    const rd = raw.ready();
    expect(rd.entries.map((e) => e.data.toString())).toEqual(['new2', 'new3']);
    storage.append(rd.entries);
    raw.advance(rd);
    expect(raw.stableIndex()).toBe(3);
  });

  it('a follower may get entries to write and to apply in one Ready: write first, then apply', () => {
    const storage = new MemoryStorage();
    const raw = new RawNode({ id: 2, storage, voters: [1, 2, 3] });
    const e = { index: 1, term: 1, type: 0, data: Buffer.from('e') };
    raw.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, entries: [e], commit: 1 }));
    const rd = raw.ready();
    expect(rd.entries).toEqual([e]);
    expect(rd.committedEntries).toEqual([e]);
  });

  it('softState reports leader and role changes', () => {
    const storage = new MemoryStorage();
    const raw = new RawNode({ id: 1, storage, voters: [1] });
    raw.campaign();
    const seen: string[] = [];
    for (let i = 0; i < 10 && raw.hasReady(); i++) {
      const rd = handle(raw, storage);
      if (rd.softState !== undefined) seen.push(`${Role[rd.softState.role]}:${rd.softState.lead}`);
    }
    expect(seen).toEqual(['PreCandidate:0', 'Candidate:0', 'Leader:1']);
  });
});

describe('RawNode API', () => {
  it('propose returns the index and term on the leader, undefined on a forwarding follower, and throws with no leader', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    expect(() => nt.node(1).raw?.propose(Buffer.from('x'))).toThrow(ProposalDroppedError);
    nt.campaign(1);
    const ref = nt.node(1).raw?.propose(Buffer.from('x'));
    expect(ref).toEqual({ index: nt.raft(1).raftLog.lastIndex(), term: nt.raft(1).term });
    expect(nt.node(2).raw?.propose(Buffer.from('y'))).toBeUndefined();
    nt.stabilize();
    expect(nt.raft(1).raftLog.allEntries().map((e) => e.data.toString()).slice(-2)).toEqual(['x', 'y']);
  });

  it('a leader’s proposeBatch appends the entries it made (no copies); the followers of one broadcast share one entries array', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.campaign(1);
    const raw1 = nt.node(1).raw as RawNode;
    const datas = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
    const ref = raw1.proposeBatch(datas);
    expect(ref).toEqual({ index: nt.raft(1).raftLog.lastIndex() - 2, term: nt.raft(1).term });
    const rd = raw1.ready();
    expect(rd.entries.map((e) => [e.index, e.term, e.data.toString()])).toEqual(datas.map((d, i) => [ref!.index + i, ref!.term, d.toString()]));
    // The log holds the very objects it handed out, with their index and term set once.
    const logged = raw1.raft.raftLog.slice(ref!.index, ref!.index + 3, Number.POSITIVE_INFINITY);
    for (let i = 0; i < 3; i++) expect(logged[i]).toBe(rd.entries[i]);
    const apps = rd.messages.filter((m) => m.type === MessageType.App);
    expect(apps.map((m) => m.to)).toEqual([2, 3]);
    expect(apps[0]!.entries).toBe(apps[1]!.entries);
    expect(apps[0]!.entries.map((e) => e.index)).toEqual([ref!.index, ref!.index + 1, ref!.index + 2]);
    // Outside a broadcast (one follower's acknowledgement) a slice is the follower's own.
    nt.node(1).storage.append(rd.entries);
    raw1.advance(rd);
    nt.post(apps);
    nt.stabilize();
    expect(nt.raft(2).raftLog.lastIndex()).toBe(ref!.index + 2);
    expect(nt.raft(3).raftLog.allEntries().map((e) => e.data.toString()).slice(-3)).toEqual(['a', 'b', 'c']);
  });

  it('step refuses local message types from peers and answers from non-members', () => {
    const raw = new RawNode({ id: 1, storage: new MemoryStorage(), voters: [1, 2, 3] });
    expect(() => raw.step(msg({ type: MessageType.Hup, from: 2, to: 1 }))).toThrow(StepLocalMsgError);
    expect(() => raw.step(msg({ type: MessageType.AppResp, from: 9, to: 1, term: 1 }))).toThrow(StepPeerNotFoundError);
  });

  it('restarts from storage: term, vote, log and commit survive; applied entries are not handed out again', () => {
    const storage = new MemoryStorage();
    const b = bootstrapState([1]);
    storage.append(b.entries);
    storage.setHardState(b.hardState);
    let raw = new RawNode({ id: 1, storage });
    const applied = drain(raw, storage); // the bootstrap conf change makes it a voter
    raw.campaign();
    applied.push(...drain(raw, storage));
    expect(raw.isLeader()).toBe(true);
    raw.propose(Buffer.from('kept'));
    applied.push(...drain(raw, storage));
    expect(applied.map((e) => e.data.toString())).toContain('kept');
    const last = applied.at(-1) as Entry;
    const term = raw.raft.term;

    raw = new RawNode({ id: 1, storage, applied: last.index });
    expect(raw.raft.term).toBe(term);
    expect(raw.raft.vote).toBe(1);
    expect(raw.raft.raftLog.committed).toBe(last.index);
    const rd = raw.ready();
    expect(rd.committedEntries).toEqual([]);
    // Configuration lives in the log: restarting without re-applying it leaves the node without one.
    expect(raw.status().config.voters).toEqual([]);
  });

  it('a stored commit index behind the snapshot or the applied index is stale, not fatal; one past the log is', () => {
    const storage = new MemoryStorage();
    storage.append([1, 2, 3, 4, 5].map((i) => ({ index: i, term: 1, type: EntryType.Normal, data: Buffer.alloc(0) })));
    storage.createSnapshot(3, { voters: [1, 2, 3], learners: [] }, Buffer.alloc(0));
    storage.compact(3);
    storage.setHardState({ term: 1, vote: 0, commit: 2 }); // the commit-only write was lost
    expect(new RawNode({ id: 1, storage }).raft.raftLog.committed).toBe(3);
    expect(new RawNode({ id: 1, storage, applied: 4 }).raft.raftLog.committed).toBe(4);
    storage.setHardState({ term: 1, vote: 0, commit: 9 });
    expect(() => new RawNode({ id: 1, storage })).toThrow(RaftInvariantError);
  });

  it('status reports the leader’s view of every member', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.campaign(1);
    const st = nt.node(1).raw?.status();
    expect(st?.role).toBe(Role.Leader);
    expect(st?.progress.map((p) => p.text)).toEqual([
      `StateReplicate match=4 next=5`,
      `StateReplicate match=4 next=5`,
      `StateReplicate match=4 next=5`,
    ]);
    expect(nt.node(2).raw?.status().progress).toEqual([]);
  });
});

describe('breaking the contract breaks safety', () => {
  /**
   * Node 2 grants 1 its vote, crashes before the vote is durable, restarts
   * remembering nothing, and votes for 3 in the same term. Only a driver
   * that sent the answer before writing lets node 1 count that vote.
   */
  function doubleVote(unsafeSendBeforePersist: boolean): Network {
    const nt = new Network({ ids: [1, 2, 3], config: { preVote: false, checkQuorum: false }, unsafeSendBeforePersist });
    nt.cut(1, 3);
    nt.node(1).raw?.campaign();
    nt.handleReady(1); // MsgVote to 2 (and to 3, cut)
    nt.dispatch(nt.pool.splice(0));
    nt.beginReady(2); // 2's vote answer: on the wire only if the driver cheats
    nt.crash(2);
    nt.stabilize();
    nt.cut(1, 2);
    nt.restart(2);
    nt.stabilize();
    nt.campaign(3);
    return nt;
  }

  it('sending vote answers before they are durable elects two leaders in one term', () => {
    const nt = doubleVote(true);
    expect(nt.raft(1).role).toBe(Role.Leader);
    expect(nt.raft(3).role).toBe(Role.Leader);
    expect(nt.raft(1).term).toBe(nt.raft(3).term);
    expect(() => nt.check()).toThrow(SafetyViolation);
  });

  it('following the contract, the same crash costs node 1 the election instead', () => {
    const nt = doubleVote(false);
    expect(nt.raft(1).role).toBe(Role.Candidate);
    expect(nt.raft(3).role).toBe(Role.Leader);
    nt.check();
  });
});

describe('logging', () => {
  it('raft logs through the injected Logger; debug lines only when enabled', () => {
    const logger = new MemoryLogger(false);
    const storage = new MemoryStorage();
    const raw = new RawNode({ id: 1, storage, voters: [1], logger });
    raw.campaign();
    drain(raw, storage);
    expect(logger.lines).toContain('INFO 1 became leader at term 1');
    expect(logger.lines.some((l) => l.startsWith('DEBUG'))).toBe(false);
  });
});
