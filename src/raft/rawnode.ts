/**
 * RawNode: the driver's interface to the Raft core. Single-threaded: call it
 * only from the event loop that owns it.
 *
 * THE READY CONTRACT
 *
 * The driver feeds Raft with tick(), step(), propose(), readIndex()… and
 * whenever hasReady() is true it handles one Ready:
 *
 *   1. rd = ready(). At most one Ready is outstanding: until advance(rd),
 *      hasReady() is false and ready() throws. The driver may keep calling
 *      step/tick/propose/readIndex meanwhile; their effects go to the next
 *      Ready (this is how group commit happens: everything proposed while one
 *      write is in flight becomes the next single write).
 *   2. Send rd.messages at once, in parallel with the write of step 3. They
 *      never depend on this Ready's unwritten state: the leader sends its
 *      appends while writing its own log, and only counts itself towards a
 *      commit after advance() (step 6).
 *   3. Write, as one atomic batch: rd.snapshot if present (it replaces the
 *      log up to its index), then rd.entries (writing entry i first discards
 *      every stored entry >= i), then rd.hardState if present. fsync when
 *      rd.mustSync. Update the Storage that Raft reads (the in-memory mirror)
 *      before advance().
 *   4. Once the write is durable, send rd.persistedMessages (vote answers and
 *      append acknowledgements: they promise durable state, thesis §3.8).
 *   5. Apply: restore the state machine from rd.snapshot if present, then
 *      apply rd.committedEntries in order. For an EntryType.ConfChange entry,
 *      decode it (decodeConfChange) and call applyConfChange(cc), keeping the
 *      returned ConfState for the next snapshot. rd.readStates answer earlier
 *      readIndex(ctx) calls: serve that read once applied >= index.
 *      rd.softState, when present, says the leader or role changed.
 *   6. advance(rd): steps 3–5 are done. Raft marks the entries stable, moves
 *      its applied index, and steps back the node's own answers (the
 *      leader's append ack, a candidate's own vote) which may commit entries
 *      or win the election, filling the next Ready.
 *
 * At any time, a write in flight or not, the driver may also take what does
 * not depend on it (the next Ready will not carry it again): takeMessages()
 * (may be sent at once, like rd.messages) and takeReadStates() (like
 * rd.readStates); and while a write is in flight, takeCommitted(durableIndex)
 * once every entry of the outstanding Ready's committedEntries has been
 * applied. "Durable" is also bounded by stableIndex(): the disk may still
 * hold a conflicting suffix the core is replacing.
 *
 * Also: after sending a MsgSnap call reportSnapshot(to, …) once the transport
 * knows whether it arrived; call reportUnreachable(id) when a message to id
 * could not be sent. A proposal's {index, term} (from propose) is committed
 * when an entry at that index with that term is applied; an entry there with
 * another term means the proposal was lost.
 */
import { encodeConfChange, type ConfChange } from './conf-change.js';
import type { RaftConfig } from './config.js';
import { ProposalDroppedError, ReadyContractError, StepLocalMsgError, StepPeerNotFoundError } from './errors.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  EMPTY_BUFFER,
  type HardState,
  hardStateEqual,
  isEmptyHardState,
  isLocalMessage,
  isResponseMessage,
  type Message,
  MessageType,
  newMessage,
  type Snapshot,
} from './messages.js';
import { proposeOwned } from './leader.js';
import { Raft } from './raft.js';
import type { ReadState } from './read-only.js';
import { Role, type SoftState } from './role.js';
import { type Status, statusOf } from './status.js';

/** A batch of work for the driver; see the contract above. Treat it as read-only. */
export interface Ready {
  /** Sequence number of this Ready, starting at 1. */
  number: number;
  /** Present when leader or role changed since the previous Ready. */
  softState?: SoftState;
  /** Present when term, vote or commit changed: persist it. */
  hardState?: HardState;
  /** Answers to readIndex calls (own or forwarded by followers). */
  readStates: ReadState[];
  /** Entries to append to durable storage. */
  entries: Entry[];
  /** Snapshot to persist and restore the state machine from. */
  snapshot?: Snapshot;
  /** Entries to apply, in order. Some may be in `entries` too: persist first. */
  committedEntries: Entry[];
  /** May be sent immediately. */
  messages: Message[];
  /** May be sent only after this Ready's write is durable. */
  persistedMessages: Message[];
  /** Whether the write must be fsynced (entries, term or vote changed, or a snapshot). */
  mustSync: boolean;
}

/** Where a proposal landed in the leader's log. */
export interface ProposalRef {
  index: number;
  term: number;
}

export type SnapshotStatus = 'finish' | 'failure';

const NO_MESSAGES: readonly Message[] = Object.freeze([]);
const NO_READ_STATES: readonly ReadState[] = Object.freeze([]);

export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Ready | undefined = undefined;
  private stepsOnAdvance: Message[] = [];
  private readyNumber = 0;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** Advances the logical clock by one tick (election timeouts, heartbeats, lease). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (with pre-vote if configured). */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.Hup, from: this.raft.id }));
  }

  /**
   * Proposes data for the log. On the leader returns where it was appended;
   * on a follower that knows the leader it is forwarded and undefined is
   * returned. Throws ProposalDroppedError when there is no leader or a
   * leadership transfer is in progress.
   */
  propose(data: Buffer): ProposalRef | undefined {
    return this.proposeEntry(EntryType.Normal, data);
  }

  /**
   * Proposes several entries as one step: they are appended at consecutive
   * indexes from the returned ref's index, and replicated together (one
   * MsgApp per follower rather than one per entry). Same outcomes as propose().
   */
  proposeBatch(datas: readonly Buffer[]): ProposalRef | undefined {
    if (datas.length === 0) throw new RangeError('proposeBatch needs at least one entry');
    const r = this.raft;
    const entries = datas.map((data) => ({ index: 0, term: 0, type: EntryType.Normal, data }));
    if (r.role === Role.Leader) {
      // What step() does with a local MsgProp on a leader, appending these
      // entries themselves (made here, seen by nobody else) rather than copies.
      proposeOwned(r, entries);
      return { index: r.raftLog.lastIndex() - datas.length + 1, term: r.term };
    }
    r.step(newMessage({ type: MessageType.Prop, from: r.id, entries }));
    if ((r.role as Role) !== Role.Leader) return undefined;
    return { index: r.raftLog.lastIndex() - datas.length + 1, term: r.term };
  }

  /**
   * Proposes a membership change. Only one may be pending (appended but not
   * applied) at a time; otherwise throws ProposalDroppedError.
   */
  proposeConfChange(cc: ConfChange): ProposalRef | undefined {
    return this.proposeEntry(EntryType.ConfChange, encodeConfChange(cc));
  }

  /** Applies a committed conf change (Ready contract step 5); returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Steps a message received from a peer. Throws StepLocalMsgError for local
   * message types and StepPeerNotFoundError for answers from non-members
   * (log and drop them), RaftInvariantError if the node must stop.
   */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new StepLocalMsgError();
    if (isResponseMessage(m.type) && this.raft.trk.get(m.from) === undefined) throw new StepPeerNotFoundError();
    try {
      this.raft.step(m);
    } catch (err) {
      // A follower's forwarded proposal we cannot take: the follower's client times out.
      if (err instanceof ProposalDroppedError && m.from !== this.raft.id) {
        if (this.raft.logger.debugEnabled) this.raft.logger.debug(`${this.raft.id} dropped proposal from ${m.from}: ${err.message}`);
        return;
      }
      throw err;
    }
  }

  /**
   * Requests a linearizable read. The answer arrives as a ReadState with the
   * same ctx in a later Ready. Reads are batched: all that arrive before the
   * next heartbeat round share its quorum confirmation. A request may be
   * dropped silently when leadership changes: time out and retry. Throws
   * ReadIndexDroppedError when no leader is known.
   */
  readIndex(ctx: Buffer): void {
    this.raft.step(newMessage({ type: MessageType.ReadIndex, from: this.raft.id, context: ctx }));
  }

  /** Asks the leader (directly, or via this follower) to hand leadership to `transferee`. */
  transferLeader(transferee: number): void {
    this.raft.step(newMessage({ type: MessageType.TransferLeader, from: transferee }));
  }

  /** The transport failed to send to `id`: in pipelined replication its appends are likely lost. */
  reportUnreachable(id: number): void {
    this.raft.step(newMessage({ type: MessageType.Unreachable, from: id }));
  }

  /** The outcome of sending a snapshot to `id`. */
  reportSnapshot(id: number, status: SnapshotStatus): void {
    this.raft.step(newMessage({ type: MessageType.SnapStatus, from: id, reject: status === 'failure' }));
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.prevSoftState)) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHardState)) return true;
    if (r.raftLog.nextUnstableSnapshot() !== undefined) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0 || r.readStates.length > 0) return true;
    if (r.raftLog.hasNextUnstableEnts() || r.raftLog.hasNextCommittedEnts()) return true;
    return r.readFlushPending();
  }

  ready(): Ready {
    if (this.outstanding !== undefined) {
      throw new ReadyContractError(`ready() called while Ready ${this.outstanding.number} awaits advance()`);
    }
    const r = this.raft;
    // Reads queued since the last Ready go out now as one heartbeat round.
    r.flushReadRequests();
    const rd: Ready = {
      number: ++this.readyNumber,
      readStates: r.readStates,
      entries: r.raftLog.nextUnstableEnts(),
      committedEntries: r.raftLog.nextCommittedEnts(),
      messages: r.msgs,
      persistedMessages: r.msgsAfterAppend.filter((m) => m.to !== r.id),
      mustSync: false,
    };
    const ss = r.softState();
    if (!softStateEqual(ss, this.prevSoftState)) {
      rd.softState = ss;
      this.prevSoftState = ss;
    }
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHardState)) {
      rd.hardState = hs;
    }
    const snap = r.raftLog.nextUnstableSnapshot();
    if (snap !== undefined) rd.snapshot = snap;
    rd.mustSync =
      rd.entries.length > 0 || snap !== undefined || (rd.hardState !== undefined && (hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote));
    if (rd.hardState !== undefined) this.prevHardState = hs;

    this.stepsOnAdvance = r.msgsAfterAppend.filter((m) => m.to === r.id);
    r.msgs = [];
    r.msgsAfterAppend = [];
    r.readStates = [];
    r.raftLog.acceptUnstable();
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) r.raftLog.acceptApplying(lastCommitted.index);
    this.outstanding = rd;
    return rd;
  }

  /** Reports that the outstanding Ready was handled (contract steps 3–5). */
  advance(rd: Ready): void {
    const out = this.outstanding;
    if (out === undefined || out.number !== rd.number) {
      throw new ReadyContractError(`advance(${rd.number}) without a matching outstanding Ready (${out?.number ?? 'none'})`);
    }
    this.outstanding = undefined;
    const r = this.raft;
    if (rd.snapshot !== undefined) {
      const idx = rd.snapshot.metadata.index;
      r.raftLog.stableSnapTo(idx);
      if (idx > r.raftLog.applied) r.raftLog.appliedTo(idx);
    }
    const lastEnt = rd.entries[rd.entries.length - 1];
    if (lastEnt !== undefined) r.raftLog.stableTo(lastEnt.index, lastEnt.term);
    // takeCommitted() may already have moved applied past this Ready's entries.
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined && lastApplied.index > r.raftLog.applied) r.raftLog.appliedTo(lastApplied.index);
    const steps = this.stepsOnAdvance;
    this.stepsOnAdvance = [];
    for (const m of steps) r.step(m);
  }

  /**
   * Messages that may be sent at once (what Ready.messages would carry),
   * produced since the last Ready, taken out now: a driver whose write is in
   * flight sends new appends, heartbeats and heartbeat answers without
   * waiting for that write. Starts the heartbeat round for reads queued
   * since the last Ready first. They will not be in the next Ready.
   */
  takeMessages(): readonly Message[] {
    const r = this.raft;
    r.flushReadRequests();
    if (r.msgs.length === 0) return NO_MESSAGES;
    const msgs = r.msgs;
    r.msgs = [];
    return msgs;
  }

  /** The messages takeMessages() would return, left in place (after starting a pending read round). */
  peekMessages(): readonly Message[] {
    this.raft.flushReadRequests();
    return this.raft.msgs;
  }

  /** Answers to readIndex calls produced since the last Ready, taken out now (like takeMessages). */
  takeReadStates(): readonly ReadState[] {
    const r = this.raft;
    if (r.readStates.length === 0) return NO_READ_STATES;
    const rs = r.readStates;
    r.readStates = [];
    return rs;
  }

  /**
   * The last index whose entry is stable: on the driver's disk as the log
   * has it. Entries after it are unstable (in the outstanding Ready's write,
   * or not yet handed out) and may replace a conflicting suffix the disk
   * still holds, so the disk's last index alone does not say an entry there
   * is durable.
   */
  stableIndex(): number {
    return this.raft.raftLog.unstable.offset - 1;
  }

  /**
   * While the outstanding Ready's write is in flight: entries that committed
   * since (typically on a follower's acknowledgement) and are already durable
   * here (index <= durableIndex and stable), not yet handed out. The caller applies them
   * at once and they count as applied; call it only once every entry of the
   * outstanding Ready's committedEntries has been applied, so that entries
   * are still applied in log order. Saves waiting for an unrelated write.
   */
  takeCommitted(durableIndex: number): Entry[] {
    const log = this.raft.raftLog;
    const ents = log.nextCommittedEntsUpTo(Math.min(durableIndex, this.stableIndex()));
    const last = ents[ents.length - 1];
    if (last !== undefined) log.appliedTo(last.index);
    return ents;
  }

  status(): Status {
    return statusOf(this.raft);
  }

  /** Known leader id, or 0. */
  leader(): number {
    return this.raft.lead;
  }

  role(): Role {
    return this.raft.role;
  }

  isLeader(): boolean {
    return this.raft.role === Role.Leader;
  }

  /** The current term. */
  term(): number {
    return this.raft.term;
  }

  /**
   * Index of the last entry in the log, including entries not yet stable.
   * A leader's next proposal is appended right after it (only the leader
   * appends to its own log), which lets a driver predict the indexes of
   * proposals it batches before handing them over.
   */
  lastIndex(): number {
    return this.raft.raftLog.lastIndex();
  }

  /** A leadership transfer is in progress (proposals are dropped meanwhile). */
  transferring(): boolean {
    return this.raft.leadTransferee !== 0;
  }

  /**
   * The index up to which the log may hold a membership change not yet
   * applied (a new leader counts its whole log until it has applied it, as
   * etcd does); a new change may be proposed only once `applied` reaches it.
   */
  pendingConfIndex(): number {
    return this.raft.pendingConfIndex;
  }

  /** Whether an entry after `index` (up to the last, stable or not) is a membership change. */
  hasConfChangeAfter(index: number): boolean {
    const log = this.raft.raftLog;
    const last = log.lastIndex();
    if (last <= index) return false;
    return log.slice(index + 1, last + 1, Number.POSITIVE_INFINITY).some((e) => e.type === EntryType.ConfChange);
  }

  private proposeEntry(type: EntryType, data: Buffer): ProposalRef | undefined {
    const r = this.raft;
    r.step(newMessage({ type: MessageType.Prop, from: r.id, entries: [{ index: 0, term: 0, type, data: data ?? EMPTY_BUFFER }] }));
    if (r.role !== Role.Leader) return undefined;
    return { index: r.raftLog.lastIndex(), term: r.term };
  }
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.role === b.role;
}
