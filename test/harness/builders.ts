/**
 * Builders for tests that drive one Raft instance by hand (etcd's
 * raft_paper_test style): create, step, read what it wants to send.
 */
import { type RaftConfig } from '../../src/raft/config.js';
import { type Entry, EntryType, EMPTY_BUFFER, type Message, type MessageInit, newMessage } from '../../src/raft/messages.js';
import { Raft } from '../../src/raft/raft.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { createPrng } from '../../src/util/prng.js';

export interface TestRaftOptions extends Partial<Omit<RaftConfig, 'id' | 'storage'>> {
  storage?: MemoryStorage;
}

/** A Raft with the given voters, a MemoryStorage and a seeded RNG (etcd's newTestRaft). */
export function newTestRaft(id: number, voters: number[], electionTick = 10, heartbeatTick = 1, opts: TestRaftOptions = {}): Raft {
  const storage = opts.storage ?? new MemoryStorage();
  const hasConf = storage.initialState().confState.voters.length > 0;
  return new Raft({
    preVote: false,
    checkQuorum: false,
    rng: createPrng(id * 7919),
    ...opts,
    id,
    storage,
    electionTick,
    heartbeatTick,
    voters: hasConf ? [] : voters,
  });
}

export function storageOf(r: Raft): MemoryStorage {
  const s = r.raftLog.storage;
  if (!(s instanceof MemoryStorage)) throw new Error('test raft must use MemoryStorage');
  return s;
}

/**
 * Makes everything the Raft accepted durable, as a driver would between
 * ready() and advance(): writes unstable entries, snapshot and hard state to
 * its MemoryStorage and marks them stable.
 */
export function persist(r: Raft): void {
  const storage = storageOf(r);
  const snap = r.raftLog.nextUnstableSnapshot();
  if (snap !== undefined) {
    storage.applySnapshot(snap);
    r.raftLog.stableSnapTo(snap.metadata.index);
    if (snap.metadata.index > r.raftLog.applied) r.raftLog.appliedTo(snap.metadata.index);
  }
  const ents = r.raftLog.nextUnstableEnts();
  if (ents.length > 0) {
    storage.append(ents);
    const last = ents[ents.length - 1] as Entry;
    r.raftLog.stableTo(last.index, last.term);
  }
  storage.setHardState(r.hardState());
}

/**
 * Persists, then steps back the messages addressed to the node itself (its
 * own append ack or vote), repeating until none is left; messages for others
 * move to r.msgs.
 */
export function advanceMessagesAfterAppend(r: Raft): void {
  for (let i = 0; i < 100; i++) {
    persist(r);
    const msgs = r.msgsAfterAppend;
    if (msgs.length === 0) return;
    r.msgsAfterAppend = [];
    for (const m of msgs) {
      if (m.to === r.id) r.step(m);
      else r.msgs.push(m);
    }
  }
  throw new Error('advanceMessagesAfterAppend did not settle');
}

/** Everything the node wants to send, after persisting what that depends on. */
export function readMessages(r: Raft): Message[] {
  advanceMessagesAfterAppend(r);
  const msgs = r.msgs;
  r.msgs = [];
  return msgs;
}

/** Committed entries not yet applied; marks them applied. */
export function nextEnts(r: Raft): Entry[] {
  advanceMessagesAfterAppend(r);
  const ents = r.raftLog.nextCommittedEnts();
  const last = ents[ents.length - 1];
  if (last !== undefined) r.raftLog.appliedTo(last.index);
  return ents;
}

export function msg(init: MessageInit): Message {
  return newMessage(init);
}

export function ent(index: number, term: number, data: string | Buffer = EMPTY_BUFFER): Entry {
  return { index, term, type: EntryType.Normal, data: typeof data === 'string' ? Buffer.from(data) : data };
}

/** A MemoryStorage whose log holds entries with the given terms at indexes 1, 2, … */
export function storageWithTerms(terms: number[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => ent(i + 1, t)));
  return s;
}

/** (index, term) pairs of a log, for compact assertions. */
export function logIds(ents: readonly Entry[]): string[] {
  return ents.map((e) => `${e.term}/${e.index}`);
}

/** Ticks until the node's randomized election timeout fires. */
export function tickUntilElection(r: Raft): void {
  for (let i = 0; i < 2 * r.electionTimeout; i++) r.tick();
}

/**
 * etcd's in-test `network` over bare Raft instances: send() delivers a
 * message, then everything its target wants to send, breadth first, until
 * quiet. Peers missing from the map swallow messages (etcd's nopStepper).
 */
export class RaftNet {
  readonly peers = new Map<number, Raft>();
  private readonly dropped = new Set<string>();
  private readonly ignored = new Set<number>();
  /** Extra filter: return true to drop a message. */
  dropIf: ((m: Message) => boolean) | undefined = undefined;
  /** Every message delivered, for assertions. */
  readonly delivered: Message[] = [];

  constructor(rafts: Raft[]) {
    for (const r of rafts) this.peers.set(r.id, r);
  }

  get(id: number): Raft {
    const r = this.peers.get(id);
    if (r === undefined) throw new Error(`no raft ${id}`);
    return r;
  }

  cut(a: number, b: number): void {
    this.dropped.add(`${a}-${b}`);
    this.dropped.add(`${b}-${a}`);
  }

  isolate(id: number): void {
    for (let other = 1; other <= 16; other++) if (other !== id) this.cut(id, other);
  }

  ignore(t: number): void {
    this.ignored.add(t);
  }

  recover(): void {
    this.dropped.clear();
    this.ignored.clear();
    this.dropIf = undefined;
  }

  send(msgs: Message[], maxDeliveries = 10_000): void {
    const queue = [...msgs];
    for (let n = 0; queue.length > 0; n++) {
      if (n >= maxDeliveries) throw new Error('RaftNet.send did not settle');
      const m = queue.shift() as Message;
      if (this.dropped.has(`${m.from}-${m.to}`) || this.ignored.has(m.type) || this.dropIf?.(m) === true) continue;
      const r = this.peers.get(m.to);
      if (r === undefined) continue;
      this.delivered.push(m);
      r.step(m);
      queue.push(...readMessages(r));
    }
  }
}
