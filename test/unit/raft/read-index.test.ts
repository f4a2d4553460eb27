/**
 * Linearizable reads without log writes (thesis §6.4): ReadIndex batched per
 * heartbeat round, forwarded from followers, held until the leader has
 * committed in its term; single-voter shortcut; opt-in leader lease.
 */
import { describe, expect, it } from 'vitest';
import { ReadOnlyOption } from '../../../src/raft/config.js';
import { ReadIndexDroppedError } from '../../../src/raft/errors.js';
import { MessageType } from '../../../src/raft/messages.js';
import { RawNode } from '../../../src/raft/rawnode.js';
import { Role } from '../../../src/raft/role.js';
import { MemoryStorage } from '../../../src/raft/storage.js';
import { Network } from '../../harness/network.js';

const ctx = (s: string): Buffer => Buffer.from(s);
const heartbeats = (nt: Network): number => nt.stats.delivered.get(MessageType.Heartbeat) ?? 0;
const ctxs = (nt: Network, id: number): string[] => nt.node(id).readStates.map((rs) => rs.requestCtx.toString());

function cluster(config: ConstructorParameters<typeof Network>[0]['config'] = {}): Network {
  const nt = new Network({ ids: [1, 2, 3], config });
  // As if up for an election timeout: in lease mode fresh nodes ignore votes that long.
  for (const n of nt.upNodes()) n.raft.ticks = n.raft.electionTimeout;
  nt.campaign(1);
  expect(nt.raft(1).role).toBe(Role.Leader);
  return nt;
}

describe('ReadIndex', () => {
  it('all reads that arrive before a heartbeat round share its single quorum confirmation', () => {
    const nt = cluster();
    const hb = heartbeats(nt);
    for (let i = 0; i < 50; i++) nt.readIndex(1, ctx(`r${i}`));
    nt.stabilize();

    expect(heartbeats(nt) - hb).toBe(1); // one round: a heartbeat to one follower (with the leader, a quorum of 3)
    const states = nt.node(1).readStates;
    expect(states).toHaveLength(50);
    expect(new Set(states.map((s) => s.index))).toEqual(new Set([nt.raft(1).raftLog.committed]));
  });

  it('reads arriving while a round is in flight form the next batch', () => {
    const nt = cluster();
    const hb = heartbeats(nt);
    for (let i = 0; i < 10; i++) nt.readIndex(1, ctx(`a${i}`));
    nt.beginReady(1); // round A leaves with the first ten
    for (let i = 0; i < 10; i++) nt.readIndex(1, ctx(`b${i}`));
    nt.finishReady(1);
    expect(nt.node(1).raw?.hasReady()).toBe(false); // round A still in flight: b* wait
    nt.stabilize();

    expect(heartbeats(nt) - hb).toBe(2); // two rounds, one heartbeat each
    expect(ctxs(nt, 1)).toEqual([...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 10 }, (_, i) => `b${i}`)]);
  });

  it('reads that arrive after a round is confirmed, before the driver flushes, join the next round', () => {
    const nt = cluster();
    const hb = heartbeats(nt);
    for (let i = 0; i < 3; i++) nt.readIndex(1, ctx(`a${i}`));
    nt.beginReady(1); // round A leaves with a*
    nt.finishReady(1);
    for (let i = 0; i < 3; i++) nt.readIndex(1, ctx(`b${i}`)); // wait: A in flight
    // A's heartbeat reaches its follower, whose answer reaches the leader.
    nt.dispatch(nt.pool.splice(0));
    for (const id of [2, 3]) nt.handleReady(id);
    nt.dispatch(nt.pool.splice(0));
    expect(nt.raft(1).readStates.map((rs) => rs.requestCtx.toString())).toEqual(['a0', 'a1', 'a2']);
    // Confirming A started no round: reads arriving now go with b* in the next one.
    expect(nt.raft(1).msgs.filter((m) => m.type === MessageType.Heartbeat)).toEqual([]);
    for (let i = 0; i < 3; i++) nt.readIndex(1, ctx(`c${i}`));
    nt.stabilize();

    expect(heartbeats(nt) - hb).toBe(2); // A, then one round for b* and c*
    expect(ctxs(nt, 1)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'c0', 'c1', 'c2']);
    const states = nt.node(1).readStates;
    expect(states[3]!.index).toBe(states[8]!.index);
  });

  it('a read at the commit index reflects every write acknowledged before it', () => {
    const nt = cluster();
    const w = nt.propose(1, 'x=1');
    nt.stabilize();
    nt.readIndex(2, ctx('after-write'));
    nt.stabilize();
    const [rs] = nt.node(2).readStates;
    expect(rs?.index).toBeGreaterThanOrEqual(w?.index ?? Infinity);
  });

  it('followers forward reads; they are batched with the leader’s and answered to the follower', () => {
    const nt = cluster();
    const hb = heartbeats(nt);
    nt.readIndex(2, ctx('from-2'));
    nt.readIndex(3, ctx('from-3'));
    nt.readIndex(1, ctx('from-1'));
    // Deliver the forwarded requests before the leader builds its next Ready.
    for (const id of [2, 3]) nt.handleReady(id);
    nt.dispatch(nt.pool.splice(0));
    nt.stabilize();

    expect(heartbeats(nt) - hb).toBe(1);
    expect(ctxs(nt, 1)).toEqual(['from-1']);
    expect(ctxs(nt, 2)).toEqual(['from-2']);
    expect(ctxs(nt, 3)).toEqual(['from-3']);
    expect(nt.stats.delivered.get(MessageType.ReadIndexResp)).toBe(2);
  });

  it('a read round goes to the followers that answered the latest heartbeat broadcast first; if they do not answer, the next broadcast confirms the round', () => {
    const nt = new Network({ ids: [1, 2, 3, 4, 5] });
    nt.campaign(1);
    expect(nt.raft(1).role).toBe(Role.Leader);
    nt.stabilize();
    const hbTo = (): number[] => nt.pool.filter((m) => m.type === MessageType.Heartbeat).map((m) => m.to).sort();
    // No broadcast answered yet: the lowest ids, two of the four followers (with the leader, 3 of 5).
    nt.readIndex(1, ctx('first'));
    nt.handleReady(1);
    expect(hbTo()).toEqual([2, 3]);
    nt.stabilize();
    expect(ctxs(nt, 1)).toEqual(['first']);
    // A heartbeat broadcast answered by 5 and 4 first (their answers delivered before 2's and 3's).
    nt.tick(1, nt.raft(1).heartbeatTimeout);
    nt.handleReady(1);
    expect(hbTo()).toEqual([2, 3, 4, 5]);
    for (const to of [5, 4, 3, 2]) nt.deliverAt(nt.pool.findIndex((m) => m.type === MessageType.Heartbeat && m.to === to));
    for (const id of [5, 4, 3, 2]) nt.handleReady(id);
    for (const from of [5, 4, 3, 2]) nt.deliverAt(nt.pool.findIndex((m) => m.type === MessageType.HeartbeatResp && m.from === from));
    nt.stabilize();
    nt.readIndex(1, ctx('second'));
    nt.handleReady(1);
    expect(hbTo()).toEqual([4, 5]);
    nt.stabilize();
    expect(ctxs(nt, 1)).toEqual(['first', 'second']);
    // Node 5 stops answering: the next round (to 4 and 5) stays unconfirmed…
    nt.isolate(5);
    nt.readIndex(1, ctx('third'));
    nt.stabilize();
    expect(ctxs(nt, 1)).toEqual(['first', 'second']);
    // …until the heartbeat of the next tick, to everyone, confirms it (2, 3 and 4 answer).
    nt.tickAll(nt.raft(1).heartbeatTimeout);
    nt.stabilize();
    expect(ctxs(nt, 1)).toEqual(['first', 'second', 'third']);
    // Rounds now go to followers that answered that broadcast.
    nt.readIndex(1, ctx('fourth'));
    nt.handleReady(1);
    const to = hbTo();
    expect(to).toHaveLength(2);
    expect(to).not.toContain(5);
    nt.stabilize();
    expect(ctxs(nt, 1)).toEqual(['first', 'second', 'third', 'fourth']);
  });

  it('a new leader answers reads only after it has committed an entry of its own term', () => {
    const nt = new Network({ ids: [1, 2, 3] });
    nt.ignore(MessageType.App); // its no-op cannot reach anyone
    nt.campaign(1);
    expect(nt.raft(1).role).toBe(Role.Leader);
    nt.readIndex(1, ctx('early'));
    nt.stabilize();
    expect(nt.node(1).readStates).toEqual([]);

    nt.recover();
    nt.tickAll(1); // heartbeat answers bring an append; the no-op commits
    nt.stabilize();
    const [rs] = nt.node(1).readStates;
    expect(rs?.requestCtx.toString()).toBe('early');
    expect(nt.raft(1).raftLog.termOrZero(rs?.index ?? 0)).toBe(nt.raft(1).term);
  });

  it('a single voter answers at once, without messages', () => {
    const nt = new Network({ ids: [1] });
    nt.campaign(1);
    expect(nt.raft(1).role).toBe(Role.Leader);
    nt.readIndex(1, ctx('solo'));
    const rd = nt.node(1).raw?.ready();
    expect(rd?.readStates.map((s) => [s.index, s.requestCtx.toString()])).toEqual([[nt.raft(1).raftLog.committed, 'solo']]);
    expect(rd?.messages).toEqual([]);
  });

  it('a leader cut off from the majority cannot confirm reads (no stale answers)', () => {
    const nt = cluster({ checkQuorum: false });
    nt.isolate(1);
    nt.readIndex(1, ctx('stale?'));
    nt.tickAll(50); // 2 and 3 elect a new leader and move on
    expect(nt.raft(1).role).toBe(Role.Leader);
    expect(nt.leader()?.id).not.toBe(1);
    expect(nt.node(1).readStates).toEqual([]);
  });

  it('a node that knows no leader refuses reads', () => {
    const raw = new RawNode({ id: 1, storage: new MemoryStorage(), voters: [1, 2, 3] });
    expect(() => raw.readIndex(ctx('x'))).toThrow(ReadIndexDroppedError);
  });
});

describe('lease-based reads (ReadOnlyOption.LeaseBased)', () => {
  const lease = { readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true };

  it('while the lease holds, reads are answered without a round trip', () => {
    const nt = cluster(lease);
    nt.tickAll(2); // heartbeat rounds confirm the lease
    const hb = heartbeats(nt);
    const delivered = [...nt.stats.delivered.values()].reduce((a, b) => a + b, 0);
    nt.readIndex(1, ctx('leased'));
    nt.stabilize();
    expect(ctxs(nt, 1)).toEqual(['leased']);
    expect(heartbeats(nt)).toBe(hb);
    expect([...nt.stats.delivered.values()].reduce((a, b) => a + b, 0)).toBe(delivered);
  });

  it('once the lease has run out, a read needs a quorum round like a safe read', () => {
    const nt = cluster(lease);
    nt.tickAll(2);
    nt.isolate(1);
    for (let i = 0; i < 8; i++) nt.tick(1); // electionTick 10 − 2 safety ticks
    nt.stabilize();
    expect(nt.raft(1).role).toBe(Role.Leader);
    nt.readIndex(1, ctx('expired'));
    nt.stabilize();
    expect(nt.node(1).readStates).toEqual([]);
  });

  it('a leader that started a leadership transfer stops serving from its lease', () => {
    const nt = cluster(lease);
    nt.tickAll(2);
    // Cut off, so only the lease could answer; the lease itself has not run out.
    nt.isolate(1);
    nt.node(1).raw?.transferLeader(2);
    nt.readIndex(1, ctx('during-transfer'));
    nt.stabilize();
    expect(nt.node(1).readStates).toEqual([]);
    // Nor after the transfer is abandoned: the TimeoutNow may have gone out.
    for (let i = 0; i < 10; i++) nt.tick(1);
    expect(nt.raft(1).role).toBe(Role.Leader);
    expect(nt.raft(1).leadTransferee).toBe(0);
    expect(nt.readIndex(1, ctx('after-abort'))).toBe(true);
    nt.stabilize();
    expect(nt.node(1).readStates).toEqual([]);
  });

  it('without a transfer, the same isolated leader still answers from its lease', () => {
    const nt = cluster(lease);
    nt.tickAll(2);
    nt.isolate(1);
    nt.readIndex(1, ctx('leased'));
    nt.stabilize();
    expect(ctxs(nt, 1)).toEqual(['leased']);
  });

  it('reads held until the term’s first commit are released into a heartbeat round, never answered from the lease', () => {
    // The commit that releases them may be stepped by a driver that has not
    // counted its ticks up to its clock (a disk write completing right after
    // a stall: src/node/ticker.ts), so the lease cannot be judged then.
    const nt = new Network({ ids: [1, 2, 3], config: lease });
    for (const n of nt.upNodes()) n.raft.ticks = n.raft.electionTimeout;
    nt.ignore(MessageType.AppResp); // the new leader's no-op does not commit yet
    nt.campaign(1);
    expect(nt.raft(1).role).toBe(Role.Leader);
    nt.tickAll(2); // heartbeat rounds confirm the lease
    expect(nt.raft(1).leaseValid()).toBe(true);
    expect(nt.raft(1).committedEntryInCurrentTerm()).toBe(false);
    nt.readIndex(1, ctx('held'));
    nt.stabilize();
    expect(nt.raft(1).pendingReadIndexMessages).toHaveLength(1);
    nt.recover();
    const hb = heartbeats(nt);
    nt.tick(1); // a heartbeat broadcast: the followers' answers bring the no-op's append and its acks
    nt.stabilize();
    expect(nt.raft(1).committedEntryInCurrentTerm()).toBe(true);
    expect(ctxs(nt, 1)).toEqual(['held']);
    // Answered by a round of its own after the release (one heartbeat: with the
    // leader a quorum), not at the release: the tick's broadcast to both, then it.
    expect(heartbeats(nt) - hb).toBe(3);
  });

  it('a restarted node keeps its lease promise: it ignores votes for an election timeout', () => {
    const nt = cluster(lease);
    nt.crash(2);
    nt.restart(2);
    nt.stabilize();
    const r2 = nt.raft(2);
    r2.step({ ...voteFrom(3, r2.term + 1, nt.raft(3).raftLog.lastEntryId()), to: 2 });
    expect(r2.term).toBe(nt.raft(1).term);
  });
});

function voteFrom(from: number, term: number, last: { index: number; term: number }) {
  return {
    type: MessageType.Vote,
    from,
    to: 0,
    term,
    logTerm: last.term,
    index: last.index,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: Buffer.alloc(0),
  };
}
