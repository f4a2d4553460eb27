/**
 * The data Raft exchanges: log entries, persistent state, snapshots and
 * messages. Everything here is a plain object of numbers, booleans and
 * Buffers (no classes, no Maps) so that the peer codec can encode it field by
 * field and tests can compare it structurally.
 *
 * Enum values are part of the wire format: never renumber, only append.
 */

/** Node ids are positive integers; 0 means "nobody" (no leader, no vote). */
export const NONE = 0;

/** Shared empty buffer for fields that carry nothing. Never mutated. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  data: Buffer;
}

/** What must be durable before a node answers votes or appends. */
export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

export interface ConfState {
  voters: number[];
  learners: number[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Buffer;
}

/** Numbering follows etcd's raftpb.MessageType so logs read alike. */
export enum MessageType {
  /** Local: start an election. */
  Hup = 0,
  /** Local: leader broadcasts heartbeats. */
  Beat = 1,
  /** A proposal; forwarded to the leader with term 0. */
  Prop = 2,
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  Snap = 7,
  Heartbeat = 8,
  HeartbeatResp = 9,
  /** Local: the transport could not reach `from`. */
  Unreachable = 10,
  /** Local: outcome of sending a snapshot to `from`. */
  SnapStatus = 11,
  /** Local: leader checks that a quorum is still active. */
  CheckQuorum = 12,
  /** Ask the leader to hand leadership to `from` (the transferee). */
  TransferLeader = 13,
  TimeoutNow = 14,
  /** A linearizable read request; `context` is the caller's request id. */
  ReadIndex = 15,
  ReadIndexResp = 16,
  PreVote = 17,
  PreVoteResp = 18,
}

export interface Message {
  type: MessageType;
  from: number;
  to: number;
  term: number;
  /** App: term of the entry at `index`. AppResp rejection: term at `rejectHint`. Vote: last log term. */
  logTerm: number;
  /** App: index preceding `entries`. AppResp: last matching index. Vote: last log index. ReadIndexResp: the read index. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** AppResp rejection: the follower's guess of the largest index where the logs may match. */
  rejectHint: number;
  /** ReadIndex/ReadIndexResp: request id. Heartbeat/HeartbeatResp: read round. Vote: campaign kind. */
  context: Buffer;
  snapshot?: Snapshot;
}

export type MessageInit = Partial<Message> & Pick<Message, 'type'>;

/** Builds a message with every field present (zeroes and empty buffers by default). */
export function newMessage(init: MessageInit): Message {
  const m: Message = {
    type: init.type,
    from: init.from ?? NONE,
    to: init.to ?? NONE,
    term: init.term ?? 0,
    logTerm: init.logTerm ?? 0,
    index: init.index ?? 0,
    entries: init.entries ?? [],
    commit: init.commit ?? 0,
    reject: init.reject ?? false,
    rejectHint: init.rejectHint ?? 0,
    context: init.context ?? EMPTY_BUFFER,
  };
  if (init.snapshot !== undefined) m.snapshot = init.snapshot;
  return m;
}

/**
 * newMessage({ type: MessageType.App, to, index, logTerm, entries, commit })
 * for the leader's hot path: the same object, without reading an init object
 * (newMessage's callers pass many shapes, so its loads are megamorphic).
 */
export function newAppend(to: number, index: number, logTerm: number, entries: Entry[], commit: number): Message {
  return { type: MessageType.App, from: NONE, to, term: 0, logTerm, index, entries, commit, reject: false, rejectHint: 0, context: EMPTY_BUFFER };
}

/** newMessage({ type: MessageType.AppResp, to, index }), as newAppend. */
export function newAppendAck(to: number, index: number): Message {
  return { type: MessageType.AppResp, from: NONE, to, term: 0, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0, context: EMPTY_BUFFER };
}

export function newEntry(index: number, term: number, data: Buffer = EMPTY_BUFFER, type: EntryType = EntryType.Normal): Entry {
  return { index, term, type, data };
}

/** Messages that only a node may send to itself; a peer sending one is ignored. */
export function isLocalMessage(t: MessageType): boolean {
  return (
    t === MessageType.Hup ||
    t === MessageType.Beat ||
    t === MessageType.Unreachable ||
    t === MessageType.SnapStatus ||
    t === MessageType.CheckQuorum
  );
}

/** Messages that answer a request and so only make sense from a known peer. */
export function isResponseMessage(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.Unreachable ||
    t === MessageType.PreVoteResp
  );
}

export function voteResponseType(t: MessageType): MessageType {
  if (t === MessageType.Vote) return MessageType.VoteResp;
  if (t === MessageType.PreVote) return MessageType.PreVoteResp;
  throw new Error(`not a vote message: ${MessageType[t]}`);
}

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: EMPTY_BUFFER };
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/**
 * Approximate encoded size of an entry, used for maxSizePerMsg and in-flight
 * byte budgets: index, term, type and a length prefix around the payload.
 */
export const ENTRY_OVERHEAD_BYTES = 24;

export function entrySize(e: Entry): number {
  return ENTRY_OVERHEAD_BYTES + e.data.length;
}

export function entriesSize(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += entrySize(e);
  return n;
}

/** The longest prefix of `ents` within `maxBytes`, but always at least one entry. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length <= 1) return ents;
  let size = entrySize(ents[0] as Entry);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n] as Entry);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
