/**
 * The driver: owns the Raft core (RawNode), the durable log, the peer
 * transport, the state machine and the pending proposals, and runs etcd's
 * Ready loop (see src/raft/rawnode.ts for the contract):
 *
 *   client write → propose → Ready: send appends ∥ write own log (one synced
 *   batch for everything proposed meanwhile) → advance → commit → apply in
 *   log order → reply to the waiting client.
 *
 * One Ready is handled at a time; everything proposed while its write is in
 * flight becomes the next Ready (group commit). A single-member cluster runs
 * exactly the same path, without peers.
 */
import {
  EntryType,
  MessageType,
  ProposalDroppedError,
  RawNode,
  ReadOnlyOption,
  Role,
  StepLocalMsgError,
  StepPeerNotFoundError,
  bootstrapState,
  decodeConfChange,
  type ConfChange,
  ConfChangeType,
  EMPTY_BUFFER,
  type ConfState,
  type Entry,
  type Message,
  type Ready,
  type ReadState,
  type SnapshotMetadata,
  type Status,
} from '../raft/index.js';
import fs from 'node:fs';
import path from 'node:path';
import { Keyspace } from '../keyspace/keyspace.js';
import type { CommandTable } from '../commands/table.js';
import { RaftStorage } from '../storage/raft-storage.js';
import { createLogger } from '../util/log.js';
import { EntryKind, decodeStateEntry, encodeStateEntry, type StateEntry } from '../commands/engine/entry.js';
import { StateMachine, type ApplyTarget, type Refusal } from '../commands/engine/apply.js';
import { Snapshotter } from './snapshotter.js';
import { PendingWrites, type PendingWrite } from './pending-writes.js';
import { Membership, memberAddressContext, type Member } from './membership.js';
import { SnapshotReceiver, SnapshotSender } from './snapshot-transfer.js';
import { CorruptDataError } from '../storage/errors.js';
import { readSnapshotFile } from '../keyspace/snapshot-records.js';
import { listSnapshotFiles, snapshotDir, snapshotFileName, type SnapshotMeta } from '../storage/snapshot-file.js';
import { FrameType } from '../transport/frame.js';
import { RejectCode } from '../transport/handshake.js';

const log = createLogger('node');
const raftLog = createLogger('raft');

export type { Member } from './membership.js';

/** The peer transport as the driver uses it (src/transport implements it). */
export interface PeerTransport {
  start?(): Promise<void>;
  addPeer?(id: number, addr: { host: string; clusterPort: number }): void;
  removePeer?(id: number): void;
  send(msgs: readonly Message[]): void;
  /** Sends a forwarded-command frame (FrameType.ForwardCommand/ForwardReply); false if there is no link. */
  forward?(to: number, type: number, body: Buffer): boolean;
  /** Sends a frame to every connected peer (pub/sub fan-out); how many peers it went to. */
  broadcast?(type: number, body: Buffer): number;
  close(): Promise<void>;
  status?(): ReadonlyMap<number, { connected: boolean }>;
}

export interface NodeOptions {
  id: number;
  dir: string;
  table: CommandTable;
  /** The founding members (from --peers), this node included; a node that joins: the members it learned. */
  members: Member[];
  /** Joining an existing cluster (--join): start with an empty log instead of bootstrapping one. */
  joining?: boolean;
  /** This node was removed from the cluster: the process should stop. */
  onRemoved?: () => void;
  /** Called when the node cannot go on safely (e.g. the disk failed); the process should exit. */
  onFatal: (err: Error) => void;
  /** Builds the transport; `deliver` steps a received message. Absent for a one-member cluster. */
  transport?: (
    deliver: (m: Message) => void,
    unreachable: (id: number, snapshot: boolean) => void,
    forwarded: (type: number, body: Buffer, from: number) => void,
    pubsub: (body: Buffer, from: number) => void,
    isMember: (id: number) => boolean,
    rejected: (id: number, code: number) => void,
  ) => PeerTransport;
  /** Active expiry cycle period in ms (0 disables). */
  expireCycleMs?: number;
  /** Length of a Raft tick in ms. */
  tickMs?: number;
  electionTick?: number;
  heartbeatTick?: number;
  readMode?: 'readindex' | 'lease';
  /** Take a snapshot once this many entries were applied since the last one (0: never automatically). */
  snapshotEntries?: number;
  /** …or once the entries applied since the last one hold this many bytes. */
  snapshotBytes?: number;
  /** Entries kept in the log behind a snapshot, for followers that are only a little behind. */
  snapshotKeepEntries?: number;
  /** Write the log without fsync (--unsafe-no-fsync: measurement only). */
  unsafeNoFsync?: boolean;
  /** How long a deposed leader keeps waiting for the fate of its in-flight writes. */
  uncertainWaitMs?: number;
  rng?: () => number;
}


export const CHANGE_IN_PROGRESS = 'ERR a membership change is in progress; retry when it has completed';

/** How long a majority must refuse a member as unknown before it concludes it was removed. */
const REMOVED_GRACE_MS = 5000;

/** A learner is promoted once its log is within this many entries of the leader's. */
const PROMOTE_LAG = 200;


/** Replies for writes whose fate is known or unknowable after a leader change. */
export const TRYAGAIN_LOST = 'TRYAGAIN the write was not committed: leadership changed before it was replicated; it was not applied, retry it';
export const OUTCOME_UNKNOWN =
  'ERR outcome unknown: this node lost leadership before the write was known to be committed; it may or may not have been applied';

export class RaftisNode {
  readonly keyspace = new Keyspace();
  readonly sm: StateMachine;
  readonly id: number;
  readonly membership: Membership;
  appliedIndex = 0;
  /** Receives forwarded-command frames from peers (set by the proxy, --follower-writes proxy). */
  onForward: ((type: number, body: Buffer, from: number) => void) | undefined;
  /** Receives PubSubMessage frame bodies from peers (set by the server's pub/sub registry). */
  onPubSub: ((body: Buffer, from: number) => void) | undefined;

  private rn!: RawNode;
  private storage!: RaftStorage;
  readonly snapshotter: Snapshotter;
  private sender: SnapshotSender | undefined;
  private receiver: SnapshotReceiver | undefined;
  /** Index of the newest snapshot (taken here or installed from the leader). */
  snapshotIndex = 0;
  /** Entry bytes applied since that snapshot. */
  private bytesSinceSnapshot = 0;
  /** Size of the newest snapshot file (Redis's AOF base size for its growth rule). */
  private snapshotBaseBytes = 0;
  private transport: PeerTransport | undefined;
  private readonly pending = new PendingWrites();
  private propQueue: PendingWrite[] = [];
  private readonly waiters = new Map<number, (() => void)[]>();
  private readQueue: ((ok: boolean) => void)[] = [];
  private readonly readBatches = new Map<number, ((ok: boolean) => void)[]>();
  private readSeq = 0;
  private readyBusy = false;
  /** Whether every committed entry of the Ready in flight has been applied. */
  private readyApplied = false;
  private readyScheduled = false;
  private closed = false;
  private lastTime = 0;
  private confState: ConfState = { voters: [], learners: [] };
  private tickTimer: NodeJS.Timeout | undefined;
  private expireTimer: NodeJS.Timeout | undefined;
  private expireIt: Iterator<[string, number]> | undefined;
  private expireInFlight = 0;
  private uncertainTimer: NodeJS.Timeout | undefined;
  /** Whether active expiry must wait (CLIENT PAUSE: Redis proposes no deletes while clients are paused). */
  expiryHeld: () => boolean = () => false;
  /** The last leader this node knew of, kept while an election runs (for CLUSTER SLOTS). */
  lastKnownLeader = 0;
  private role: Role = Role.Follower;

  private constructor(private readonly opts: NodeOptions) {
    this.id = opts.id;
    this.sm = new StateMachine(this.keyspace, opts.table);
    this.snapshotter = new Snapshotter(opts.dir, this.keyspace);
    this.membership = new Membership(opts.id, {
      peerUp: (m) => {
        this.ensureTransport();
        this.transport?.addPeer?.(m.id, { host: m.host, clusterPort: m.clusterPort });
      },
      peerGone: (id) => this.transport?.removePeer?.(id),
      persist: (list) => this.storage.putMembers(list).catch((e: Error) => log.error(`cannot record the cluster members: ${e.message}`)),
      removedSelf: (index) => {
        log.warn(`this node (${this.id}) was removed from the cluster by the conf change at index ${index}; it stops taking part and exits`);
        this.removed = true;
        setImmediate(() => this.opts.onRemoved?.());
      },
    });
    this.membership.load(opts.members);
  }

  static async open(opts: NodeOptions): Promise<RaftisNode> {
    const node = new RaftisNode(opts);
    node.storage = await RaftStorage.open(opts.dir, opts.unsafeNoFsync === true);
    if (opts.unsafeNoFsync) log.warn('--unsafe-no-fsync: the raft log is written without fsync; a crash of the machine (not of this process) can lose acknowledged writes. For measurement only');
    try {
      const stored = await node.storage.members();
      if (stored !== undefined) node.membership.load(stored);
      else await node.storage.putMembers(node.membership.list());
    } catch (e) {
      await node.storage.close();
      throw e;
    }
    try {
      await node.start();
    } catch (e) {
      await node.close();
      throw e;
    }
    return node;
  }

  private async start(): Promise<void> {
    const started = Date.now();
    const restored = this.restoreSnapshot();
    if (restored !== undefined) {
      await this.storage.restoredFrom(restored);
      this.appliedIndex = restored.index;
      this.snapshotIndex = restored.index;
      this.confState = restored.confState;
    } else if (this.storage.isEmpty && !this.opts.joining) {
      const boot = bootstrapState(this.opts.members.map((m) => m.id));
      await this.storage.bootstrap(boot.entries, boot.hardState);
    }
    const initialCommit = this.storage.hardStateNow().commit;
    const readOnly = this.opts.readMode === 'lease' ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe;
    this.rn = new RawNode({
      id: this.id,
      storage: this.storage,
      electionTick: this.opts.electionTick ?? 10,
      heartbeatTick: this.opts.heartbeatTick ?? 1,
      preVote: true,
      checkQuorum: true,
      readOnlyOption: readOnly,
      applied: this.appliedIndex,
      rng: this.opts.rng,
      logger: raftLog,
    });
    this.ensureTransport();
    await this.transportStarting;
    // Replay: the first Readies hand out every committed entry.
    this.scheduleReady();
    await this.until(() => this.appliedIndex >= initialCommit);
    const tickMs = this.opts.tickMs ?? 50;
    this.tickTimer = setInterval(() => {
      this.rn.tick();
      this.sender?.check();
      this.maybePromote();
      this.scheduleReady();
    }, tickMs);
    this.tickTimer.unref();
    // A lone voter need not wait for an election timeout.
    if (this.confState.voters.length === 1 && this.confState.voters[0] === this.id) {
      this.rn.campaign();
      this.scheduleReady();
      await this.until(() => this.isLeader && this.appliedIndex >= this.storage.lastStoredIndex);
    }
    const period = this.opts.expireCycleMs ?? 100;
    if (period > 0) {
      this.expireTimer = setInterval(() => this.expireCycle(), period);
      this.expireTimer.unref();
    }
    this.running = true;
    log.info(`replayed the log to index ${this.appliedIndex} in ${Date.now() - started} ms, ${this.keyspace.size} keys; members ${this.confState.voters.join(',')}`);
  }

  /**
   * Loads the newest snapshot file that verifies and that the log continues
   * (the log must hold every entry after it). A damaged file is reported and
   * the next older one tried; with none usable while the log was compacted,
   * the node refuses to start rather than serve wrong data.
   */
  private restoreSnapshot(): SnapshotMeta | undefined {
    const compacted = this.storage.compactedIndex;
    const problems: string[] = [];
    for (const f of listSnapshotFiles(snapshotDir(this.opts.dir))) {
      if (f.index < compacted) {
        problems.push(`${f.file} is at index ${f.index}, but the log only continues after ${compacted}`);
        continue;
      }
      try {
        const started = Date.now();
        const { meta, records } = readSnapshotFile(f.file, (k, v, at) => this.keyspace.load(k, v, at));
        log.info(`loaded snapshot ${f.file}: index ${meta.index}, ${records} keys in ${Date.now() - started} ms`);
        this.snapshotBaseBytes = fileSize(f.file);
        return meta;
      } catch (e) {
        if (!(e instanceof CorruptDataError)) throw e;
        this.keyspace.flush();
        log.error(`${e.message}; trying an older snapshot`);
        problems.push(e.message);
      }
    }
    if (compacted > 0) {
      throw new CorruptDataError(
        `the raft log in ${this.opts.dir} was compacted up to index ${compacted} and no usable snapshot covers it` +
          (problems.length > 0 ? ` (${problems.join('; ')})` : ' (no snapshot files)') +
          `; this data directory cannot be used: move it away and restart the node empty so the leader sends it a snapshot`,
      );
    }
    return undefined;
  }

  private transportStarting: Promise<void> | undefined;

  /**
   * Creates and starts the peer transport once there is a peer to talk to
   * (a one-member cluster has none until a node is added).
   */
  private ensureTransport(): void {
    if (this.transport !== undefined || this.opts.transport === undefined || this.closed) return;
    if (!this.membership.hasPeers()) return;
    const t = this.opts.transport(
      (m) => this.receive(m),
      (id, snap) => {
        this.rn.reportUnreachable(id);
        if (snap) this.rn.reportSnapshot(id, 'failure');
        this.scheduleReady();
      },
      (type, body, from) => {
        if (type === FrameType.SnapshotChunk) this.receiver?.onChunk(from, body);
        else if (type === FrameType.SnapshotChunkAck) this.sender?.onAck(from, body);
        else this.onForward?.(type, body, from);
      },
      (body, from) => this.onPubSub?.(body, from),
      (id) => this.members.has(id),
      (id, code) => this.rejectedBy(id, code),
    );
    this.transport = t;
    for (const m of this.membership.members.values()) if (m.id !== this.id) t.addPeer?.(m.id, { host: m.host, clusterPort: m.clusterPort });
    const sendFrame = (to: number, type: FrameType.SnapshotChunk | FrameType.SnapshotChunkAck, body: Buffer): boolean =>
      this.transport?.forward?.(to, type, body) ?? false;
    this.sender = new SnapshotSender(this.opts.dir, sendFrame, (to, msg, ok) => {
      if (this.closed) return;
      if (ok) this.transport?.send([msg]);
      this.rn.reportSnapshot(to, ok ? 'finish' : 'failure');
      this.scheduleReady();
    });
    this.receiver = new SnapshotReceiver(this.opts.dir, sendFrame);
    this.transportStarting = t.start?.();
    // At start-up open() awaits this (a busy port fails the start); later, a
    // failure to listen for peers leaves the node unable to take part.
    this.transportStarting?.catch((e: Error) => {
      if (this.running) this.opts.onFatal(new Error(`cannot listen for peers: ${e.message}`, { cause: e }));
    });
  }

  private until(cond: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.closed) return reject(new Error('node closed while starting'));
        if (cond()) return resolve();
        setTimeout(check, 2);
      };
      check();
    });
  }

  // ---- state for the dispatcher, INFO, CLUSTER ------------------------------------

  /** Live from the core (not from the last Ready): a deposed leader must know at once. */
  get isLeader(): boolean {
    return this.rn.raft.role === Role.Leader;
  }

  /** The known leader's id, 0 when there is none (live from the core). */
  get leader(): number {
    return this.rn.raft.lead;
  }

  get term(): number {
    return this.rn.status().term;
  }

  get commitIndex(): number {
    return this.storage.hardStateNow().commit;
  }

  get lastIndex(): number {
    return this.storage.lastStoredIndex;
  }

  /** The first entry still in the log (entries before it are in a snapshot). */
  get firstIndex(): number {
    return this.storage.firstIndex();
  }

  get logBytes(): number {
    return this.storage.logBytes;
  }

  /** This node is the only voter: nobody else can be elected, so its applied state is the latest. */
  get soleVoter(): boolean {
    return this.isLeader && this.confState.voters.length === 1 && this.confState.voters[0] === this.id;
  }

  /** Index of the last entry in the log, including entries not yet on disk. */
  get lastLogIndex(): number {
    return this.rn.raft.raftLog.lastIndex();
  }

  /** Size of the newest snapshot file (INFO aof_base_size). */
  get snapshotBytes(): number {
    return this.snapshotBaseBytes;
  }

  get voters(): readonly number[] {
    return this.confState.voters;
  }

  get learners(): readonly number[] {
    return this.confState.learners;
  }

  // ---- membership ------------------------------------------------------------------

  /** The members by id, with their addresses. */
  get members(): ReadonlyMap<number, Member> {
    return this.membership.members;
  }

  /**
   * The leader may not propose a membership change yet: one may be in its
   * log unapplied. A new leader counts every entry of its log as possibly
   * one until it has applied them all (etcd's rule).
   */
  get confChangePending(): boolean {
    return this.rn.raft.pendingConfIndex > this.appliedIndex;
  }

  /** A membership change entry is in the log and not yet applied (a change really in progress). */
  get confChangeInFlight(): boolean {
    const log = this.rn.raft.raftLog;
    const last = log.lastIndex();
    if (last <= this.appliedIndex) return false;
    try {
      return log.slice(this.appliedIndex + 1, last + 1, Number.POSITIVE_INFINITY).some((e) => e.type === EntryType.ConfChange);
    } catch {
      return true;
    }
  }

  /**
   * Proposes a membership change (leader only) and resolves once it is
   * applied; rejects with a message for the client when it cannot be made.
   */
  async changeMembership(type: ConfChangeType, nodeId: number, addr?: Member): Promise<void> {
    if (!this.isLeader) throw new Error('not the leader');
    if (this.confChangeInFlight) throw new Error(CHANGE_IN_PROGRESS);
    if (this.confChangePending) {
      // A new leader applying its log: not a change in progress; wait for it (bounded).
      const deadline = Date.now() + (this.opts.electionTick ?? 10) * (this.opts.tickMs ?? 50) * 2;
      while (this.confChangePending && this.isLeader && !this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      if (!this.isLeader) throw new Error('not the leader');
      if (this.confChangeInFlight || this.confChangePending) throw new Error(CHANGE_IN_PROGRESS);
    }
    const context = addr === undefined ? EMPTY_BUFFER : memberAddressContext(addr);
    // Queued proposals must reach the log first: their indexes are already promised.
    this.flushProposals();
    let ref;
    try {
      ref = this.rn.proposeConfChange({ type, nodeId, context });
    } catch (e) {
      if (this.confChangeInFlight) throw new Error(CHANGE_IN_PROGRESS);
      throw new Error(`ERR the membership change was refused: ${(e as Error).message}`);
    }
    if (ref === undefined) throw new Error('not the leader');
    this.scheduleReady();
    return this.membership.waitApplied(ref.index, ref.term);
  }

  /** Applied conf change: members and their links (membership.ts); a new learner may need a fresh snapshot. */
  private membershipChanged(cc: ConfChange, index: number, term: number): void {
    // A new member can only be sent a snapshot whose configuration names it:
    // with a compacted log, take one now rather than at the next threshold.
    if (cc.type === ConfChangeType.AddLearnerNode && this.isLeader && this.storage.compactedIndex > 0) void this.snapshotCovering(index);
    this.membership.applied(cc, index, term);
  }

  /** This node was removed from the cluster. */
  removed = false;
  /** start() has finished (later failures are reported through onFatal). */
  private running = false;

  /** Per peer: when it first and last refused us as an unknown node. */
  private readonly unknownTo = new Map<number, { first: number; last: number }>();

  /**
   * A removed node may never learn of its removal (it was down or cut off
   * when the change committed, and the members stop talking to it). When a
   * majority of the other voters have refused it as unknown for a while, it
   * concludes the same, says so and exits. A node still joining is not yet a
   * member in its own configuration, so it never concludes this.
   */
  private rejectedBy(id: number, code: number): void {
    if (code !== RejectCode.UnknownNode || this.removed || this.closed) return;
    const now = Date.now();
    const seen = this.unknownTo.get(id);
    if (seen === undefined || now - seen.last > REMOVED_GRACE_MS) this.unknownTo.set(id, { first: now, last: now });
    else seen.last = now;
    const cs = this.confState;
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) return;
    const others = cs.voters.filter((v) => v !== this.id);
    if (others.length === 0) return;
    const refusing = others.filter((v) => {
      const t = this.unknownTo.get(v);
      return t !== undefined && now - t.first >= REMOVED_GRACE_MS && now - t.last < REMOVED_GRACE_MS;
    });
    if (refusing.length * 2 <= others.length) return;
    log.warn(
      `nodes ${refusing.join(',')} (a majority of the other voters) have refused this node as unknown for ${REMOVED_GRACE_MS / 1000} s: ` +
        `it was removed from the cluster while it could not hear of it; it stops taking part and exits`,
    );
    this.removed = true;
    setImmediate(() => this.opts.onRemoved?.());
  }

  /** Leader: promotes learners that have caught up (one change at a time). */
  private maybePromote(): void {
    if (!this.isLeader || this.confChangePending || this.confState.learners.length === 0) return;
    const st = this.rn.status();
    const last = this.lastLogIndex;
    for (const id of this.confState.learners) {
      const pr = st.progress.find((p) => p.id === id);
      if (pr === undefined || pr.match + PROMOTE_LAG < last || pr.match < this.storage.firstIndex()) continue;
      log.info(`learner ${id} has caught up (match ${pr.match} of ${last}): promoting it to voter`);
      this.changeMembership(ConfChangeType.AddNode, id).catch((e: Error) => log.warn(`promoting learner ${id} failed: ${e.message}`));
      return;
    }
  }

  /**
   * Leader: hands leadership to `target` (default: the most up-to-date
   * voter). Resolves with the new leader's id once it leads; rejects if it
   * does not within an election timeout (the core then resumes leading).
   */
  transferLeadership(target?: number): Promise<number> {
    if (!this.isLeader) return Promise.reject(new Error('not the leader'));
    const st = this.rn.status();
    let to = target;
    if (to === undefined) {
      let best = -1;
      for (const p of st.progress) {
        if (p.id === this.id || p.isLearner || !this.confState.voters.includes(p.id)) continue;
        if (p.match > best) {
          best = p.match;
          to = p.id;
        }
      }
      if (to === undefined) return Promise.reject(new Error('ERR there is no other voter to transfer leadership to'));
    }
    if (to === this.id) return Promise.resolve(this.id);
    if (!this.confState.voters.includes(to)) return Promise.reject(new Error(`ERR node ${to} is not a voter of this cluster`));
    const target_ = to;
    this.rn.transferLeader(target_);
    this.scheduleReady();
    const limitMs = (this.opts.electionTick ?? 10) * (this.opts.tickMs ?? 50) * 2;
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const check = (): void => {
        if (this.leader === target_) return resolve(target_);
        if (this.closed) return reject(new Error('ERR node closing'));
        if (Date.now() - started > limitMs) {
          return reject(new Error(`ERR leadership transfer to node ${target_} did not complete within ${limitMs} ms; node ${this.leader || 'none'} leads`));
        }
        setTimeout(check, 2);
      };
      check();
    });
  }

  /** A follower asks the leader to hand leadership to this node (CLUSTER FAILOVER). */
  requestLeadership(): boolean {
    if (this.leader === 0 || this.isLeader) return false;
    this.rn.transferLeader(this.id);
    this.scheduleReady();
    return true;
  }

  status(): Status {
    return this.rn.status();
  }

  /** Sends a forwarded-command frame to a peer; false when it cannot be sent. */
  sendForward(to: number, type: number, body: Buffer): boolean {
    return this.transport?.forward?.(to, type, body) ?? false;
  }

  /** Sends a pub/sub frame to every connected peer (best effort); how many peers it went to. */
  broadcast(type: number, body: Buffer): number {
    return this.transport?.broadcast?.(type, body) ?? 0;
  }

  /** Whether this node currently has a working connection to peer id (itself: true). */
  peerConnected(id: number): boolean {
    if (id === this.id) return true;
    return this.transport?.status?.().get(id)?.connected ?? false;
  }

  // ---- writes and reads ------------------------------------------------------------

  /** The time stamped on a new entry: the clock, but never before an earlier entry. */
  entryTime(): number {
    const t = Date.now();
    if (t > this.lastTime) this.lastTime = t;
    return this.lastTime;
  }

  /**
   * Proposes an entry (leader only). Returns its index, or a refusal when
   * nothing was appended (safe for the client to retry elsewhere). The
   * target is answered when the entry is applied, or told that it was lost.
   */
  propose(entry: StateEntry, target?: ApplyTarget): number | Refusal {
    if (this.closed || !this.isLeader) return 'not-leader';
    if (this.rn.raft.leadTransferee !== 0) return 'dropped';
    // Proposals of one turn reach the core as one batch (one append, one
    // MsgApp per follower). Their indexes follow the log's last one: only
    // this leader appends to its log, so the prediction holds, and
    // flushProposals checks it.
    const index = this.rn.raft.raftLog.lastIndex() + this.propQueue.length + 1;
    this.propQueue.push({ index, term: 0, data: encodeStateEntry(entry), entry, target });
    this.scheduleReady();
    return index;
  }

  private flushProposals(): void {
    if (this.propQueue.length === 0) return;
    const q = this.propQueue;
    this.propQueue = [];
    let ref;
    let refusal: Refusal = 'not-leader';
    // Only a leader may propose: the core would forward a follower's
    // proposal to the leader, and a write we then refuse could still commit.
    if (this.rn.raft.role === Role.Leader) {
      try {
        ref = this.rn.proposeBatch(q.map((p) => p.data));
      } catch (e) {
        if (!(e instanceof ProposalDroppedError)) throw e;
        refusal = 'dropped';
      }
    }
    if (ref === undefined) {
      for (const p of q) {
        if (p.target) p.target.refuse(refusal, p.entry);
        else if (p.entry.kind === EntryKind.ExpireKeys) this.expireInFlight = 0;
      }
      return;
    }
    if (ref.index !== q[0]!.index) {
      throw new Error(`raft appended proposals at ${ref.index}, the driver expected ${q[0]!.index}`);
    }
    for (let i = 0; i < q.length; i++) {
      const p = q[i]!;
      p.term = ref.term;
      // A write still queued at this index or later (from an earlier term) may yet commit elsewhere.
      this.pending.add(p, this.unknownWrite);
    }
  }

  /** Runs fn once every entry up to `index` has been applied (at once if it has). */
  whenApplied(index: number, fn: () => void): void {
    if (index <= this.appliedIndex) {
      fn();
      return;
    }
    const list = this.waiters.get(index);
    if (list) list.push(fn);
    else this.waiters.set(index, [fn]);
  }

  /**
   * Linearizable read barrier (ReadIndex): cb(true) once this node has
   * applied everything committed when the read arrived and a quorum confirmed
   * it is still the leader; cb(false) if it cannot (not or no longer leader).
   * All reads of one event-loop turn share one request, and the core batches
   * requests into one heartbeat round.
   */
  readBarrier(cb: (ok: boolean) => void): void {
    if (!this.isLeader) {
      cb(false);
      return;
    }
    this.readQueue.push(cb);
    this.scheduleReady();
  }

  receive(m: Message): void {
    if (this.closed) return;
    // raftis nodes never forward proposals (a follower redirects or proxies
    // whole commands); one arriving anyway would land in the leader's log
    // between its own predicted indexes.
    if (m.type === MessageType.Prop) {
      log.warn(`dropped a forwarded proposal from node ${m.from}: raftis peers do not forward proposals`);
      return;
    }
    try {
      this.rn.step(m);
    } catch (e) {
      if (e instanceof StepPeerNotFoundError || e instanceof StepLocalMsgError) {
        log.debug(`ignored ${m.type} from ${m.from}: ${(e as Error).message}`);
        return;
      }
      throw e;
    }
    // A heartbeat's answer, and the confirmation of a read round it brings,
    // need not wait for the next turn (neither depends on the disk).
    if (m.type === MessageType.Heartbeat || m.type === MessageType.HeartbeatResp) this.sendAndAnswerNow();
    this.scheduleReady();
  }

  /** Sends what may leave before the next Ready (see sendEarly) and answers confirmed reads. */
  private sendAndAnswerNow(): void {
    const msgs = this.rn.peekMessages();
    if (msgs.length > 0 && sendEarly(msgs)) this.sendMessages(this.rn.takeMessages());
    const rs = this.rn.takeReadStates();
    if (rs.length > 0) this.answerReads(rs);
  }

  // ---- the Ready loop -----------------------------------------------------------------

  private scheduleReady(): void {
    if (this.readyScheduled || this.closed) return;
    this.readyScheduled = true;
    // After the current I/O phase: everything this turn produced goes into one Ready.
    setImmediate(() => {
      this.readyScheduled = false;
      this.processReady();
    });
  }

  private flushReads(): void {
    if (this.readQueue.length === 0) return;
    const batch = this.readQueue;
    this.readQueue = [];
    if (!this.isLeader) {
      for (const cb of batch) cb(false);
      return;
    }
    const seq = ++this.readSeq;
    const ctx = Buffer.allocUnsafe(8);
    ctx.writeDoubleBE(seq);
    this.readBatches.set(seq, batch);
    try {
      this.rn.readIndex(ctx);
    } catch {
      this.readBatches.delete(seq);
      for (const cb of batch) cb(false);
    }
  }

  private processReady(): void {
    if (this.closed) return;
    // Proposals go to the core even while a Ready is being handled: they
    // form the next one (group commit).
    this.flushProposals();
    if (this.readyBusy) {
      this.workWhileWriting();
      return;
    }
    this.flushReads();
    if (!this.rn.hasReady()) return;
    this.readyBusy = true;
    const rd = this.rn.ready();
    if (rd.softState) this.onSoftState(rd.softState.lead, rd.softState.role);
    if (rd.messages.length > 0) this.sendMessages(rd.messages);
    if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot.metadata);
    // Committed entries already on disk need not wait for this Ready's write:
    // applying them now saves a whole fsync of latency per write (the entries
    // of Ready n commit on advance and are handed out in Ready n+1, whose own
    // write carries the next batch).
    const durable = rd.snapshot !== undefined ? 0 : this.durableIndex();
    const ce = rd.committedEntries;
    let early = 0;
    while (early < ce.length && ce[early]!.index <= durable) early++;
    // The write goes to the disk first; applying and replying overlap with it.
    const written = this.storage.persistReady(rd);
    this.applyEntries(ce, 0, early);
    this.readyApplied = early === ce.length;
    // A read's quorum confirmation does not depend on this write.
    this.answerReads(rd.readStates);
    written.then(
      () => {
        if (this.closed) {
          this.readyBusy = false;
          return;
        }
        if (rd.persistedMessages.length > 0) this.sendMessages(rd.persistedMessages);
        this.applyEntries(ce, early, ce.length);
        this.maybeSnapshot();
        this.rn.advance(rd);
        this.readyBusy = false;
        if (this.rn.hasReady() || this.readQueue.length > 0 || this.propQueue.length > 0) this.processReady();
      },
      (err: unknown) => {
        this.opts.onFatal(new Error(`cannot write the raft log: ${(err as Error).message}`, { cause: err }));
      },
    );
  }

  /**
   * The last index whose entry on disk is the one in the log. The disk's
   * last index alone is not enough: entries the core holds unstable (the
   * write in flight, or not yet handed out) may replace a conflicting suffix
   * that is still on disk, and applying a committed entry early on the
   * strength of the old one would let a snapshot record the old entry's term.
   */
  private durableIndex(): number {
    return Math.min(this.storage.lastStoredIndex, this.rn.stableIndex());
  }

  /**
   * While a Ready's write is in flight, what does not depend on it goes
   * ahead instead of waiting for that unrelated write: new appends to the
   * followers (the leader writes its own log in parallel), heartbeats and
   * heartbeat answers, reads a quorum has confirmed, and entries that
   * committed meanwhile (on a follower's acknowledgement) and are already on
   * our disk, applied and answered now. Those only once the Ready's own
   * committed entries are applied: log order.
   */
  private workWhileWriting(): void {
    this.flushReads();
    this.sendAndAnswerNow();
    if (!this.readyApplied) return;
    const ents = this.rn.takeCommitted(this.durableIndex());
    if (ents.length > 0) this.applyEntries(ents, 0, ents.length);
  }

  /** Raft messages to peers; a MsgSnap goes out only after its file has been streamed. */
  private sendMessages(msgs: readonly Message[]): void {
    let snaps = false;
    for (const m of msgs) if (m.type === MessageType.Snap) snaps = true;
    if (!snaps) {
      this.transport?.send(msgs);
      return;
    }
    const rest: Message[] = [];
    for (const m of msgs) {
      if (m.type !== MessageType.Snap) rest.push(m);
      else if (this.sender) this.sender.start(m);
    }
    if (rest.length > 0) this.transport?.send(rest);
  }

  /**
   * Follower: the leader's snapshot replaces the state machine. Its file was
   * received and verified before the leader sent MsgSnap.
   */
  private installSnapshot(meta: SnapshotMetadata): void {
    this.snapshotter.abort();
    this.keyspace.flush();
    const file = path.join(snapshotDir(this.opts.dir), snapshotFileName(meta.index, meta.term));
    let members: Member[] = [];
    try {
      const started = Date.now();
      const r = readSnapshotFile(file, (k, v, at) => this.keyspace.load(k, v, at));
      members = r.meta.members;
      this.snapshotBaseBytes = fileSize(file);
      log.info(`installed the leader's snapshot at index ${meta.index}: ${r.records} keys in ${Date.now() - started} ms`);
    } catch (e) {
      this.opts.onFatal(new Error(`cannot install the snapshot from the leader: ${(e as Error).message}`, { cause: e }));
      return;
    }
    this.confState = { voters: [...meta.confState.voters], learners: [...meta.confState.learners] };
    this.membership.adopt(members);
    this.appliedIndex = meta.index;
    this.snapshotIndex = meta.index;
    this.bytesSinceSnapshot = 0;
    this.sm.onTouch?.(null);
    for (const [index, list] of this.waiters) {
      if (index > meta.index) continue;
      this.waiters.delete(index);
      for (const fn of list) fn();
    }
  }

  /**
   * Starts a snapshot when the log since the last one passed a threshold:
   * `--snapshot-entries` entries, or Redis's AOF rewrite rule for bytes
   * (auto-aof-rewrite-min-size / -percentage 100): the log since the last
   * snapshot is at least as big as that snapshot, and the two together at
   * least `--snapshot-bytes`. So a big keyspace is not walked again after
   * every few writes, and a small one is snapshotted every 64 MB of log.
   */
  private maybeSnapshot(): void {
    if (this.snapshotter.inProgress || this.closed) return;
    const entries = this.opts.snapshotEntries ?? 0;
    const bytes = this.opts.snapshotBytes ?? 64 * 1024 * 1024;
    const since = this.appliedIndex - this.snapshotIndex;
    const grown = this.bytesSinceSnapshot;
    if ((entries > 0 && since >= entries) || (bytes > 0 && grown >= this.snapshotBaseBytes && grown + this.snapshotBaseBytes >= bytes)) void this.snapshot();
  }

  /**
   * Takes a snapshot now (BGSAVE): resolves with its metadata once it is
   * durable and the log before it is compacted; undefined if it failed.
   * Joins the one in progress, if any.
   */
  snapshot(): Promise<SnapshotMeta | undefined> {
    const cur = this.snapshotter.current;
    if (cur !== undefined) return cur;
    const index = this.appliedIndex;
    const meta = this.snapshotter.start(index, this.storage.term(index), this.confState, this.membership.list());
    this.bytesSinceSnapshot = 0;
    return meta.then(async (m) => {
      if (m === undefined || this.closed) return m;
      if (m.index > this.snapshotIndex) this.snapshotIndex = m.index;
      this.snapshotBaseBytes = this.snapshotter.stats.lastBytes;
      try {
        await this.storage.snapshotTaken(m, this.opts.snapshotKeepEntries ?? 5000);
      } catch (e) {
        if (!this.closed) this.opts.onFatal(new Error(`cannot compact the raft log: ${(e as Error).message}`, { cause: e }));
      }
      return m;
    });
  }

  /** Takes a snapshot at or past `index` (after the one in progress, if that one is older). */
  private async snapshotCovering(index: number): Promise<void> {
    const cur = this.snapshotter.current;
    if (cur !== undefined) {
      const m = await cur;
      if (m !== undefined && m.index >= index) return;
    }
    // The apply of `index` is finishing: start on the next turn, when appliedIndex includes it.
    await new Promise((r) => setImmediate(r));
    if (this.closed || this.snapshotter.inProgress) return;
    await this.snapshot();
  }

  /** Contract step 5: applies committed entries [from, to) in order. */
  private applyEntries(ce: readonly Entry[], from: number, to: number): void {
    if (from >= to) return;
    for (let i = from; i < to; i++) {
      const e = ce[i]!;
      const p = this.pending.size === 0 ? undefined : this.pending.take(e.index, this.unknownWrite);
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        this.confState = this.rn.applyConfChange(cc);
        if (p !== undefined) this.lostWrite(p);
        this.membershipChanged(cc, e.index, e.term);
      } else if (e.data.length === 0) {
        if (p !== undefined) this.lostWrite(p); // a new leader's no-op took the place of our proposal
      } else if (p !== undefined && p.term === e.term) {
        this.applyEntry(e.index, p.entry, p.target);
        p.target?.done();
      } else {
        if (p !== undefined) this.lostWrite(p);
        this.applyEntry(e.index, decodeStateEntry(e.data), undefined);
      }
      this.appliedIndex = e.index;
      this.bytesSinceSnapshot += e.data.length;
      if (this.waiters.size !== 0) {
        const list = this.waiters.get(e.index);
        if (list) {
          this.waiters.delete(e.index);
          for (const fn of list) fn();
        }
      }
    }
    this.storage.appliedTo(this.appliedIndex);
  }

  /** ReadIndex answers: serve each batch once the state machine reaches its index. */
  private answerReads(states: readonly ReadState[]): void {
    for (const rs of states) {
      const seq = rs.requestCtx.length === 8 ? rs.requestCtx.readDoubleBE(0) : -1;
      const batch = this.readBatches.get(seq);
      if (!batch) continue;
      this.readBatches.delete(seq);
      this.whenApplied(rs.index, () => {
        for (const cb of batch) cb(true);
      });
    }
  }

  private applyEntry(index: number, entry: StateEntry, target: ApplyTarget | undefined): void {
    if (entry.time > this.lastTime) this.lastTime = entry.time;
    if (entry.kind === EntryKind.ExpireKeys && this.expireInFlight === index) this.expireInFlight = 0;
    this.sm.apply(index, entry, target);
  }

  /** A different entry was committed where this node had proposed one: that write is lost. */
  private readonly lostWrite = (p: PendingWrite): void => {
    if (p.target) {
      p.target.w.error(TRYAGAIN_LOST);
      p.target.done();
    }
  };

  /**
   * The write's fate cannot be known here: a snapshot replaced the entry
   * where this node had proposed it, or this node proposes anew at its index
   * (another node may still hold and later commit it).
   */
  private readonly unknownWrite = (p: PendingWrite): void => {
    if (p.target) {
      p.target.w.error(OUTCOME_UNKNOWN);
      p.target.done();
    }
  };

  private onSoftState(lead: number, role: Role): void {
    const wasLeader = this.role === Role.Leader;
    if (lead !== 0) this.lastKnownLeader = lead;
    this.role = role;
    if (role === Role.Leader) {
      if (this.uncertainTimer) clearTimeout(this.uncertainTimer);
      this.uncertainTimer = undefined;
      // An expiry entry proposed in an earlier term may never commit: start afresh.
      this.expireInFlight = 0;
    }
    if (wasLeader && role !== Role.Leader) {
      log.info(`no longer the leader (new leader: ${lead || 'unknown'}); ${this.pending.size} writes in flight wait for their fate`);
      // Reads not yet confirmed cannot be served by this node any more.
      for (const batch of this.readBatches.values()) for (const cb of batch) cb(false);
      this.readBatches.clear();
      for (const cb of this.readQueue.splice(0)) cb(false);
      this.uncertainTimer = setTimeout(() => this.giveUpPending(), this.opts.uncertainWaitMs ?? 5000);
      this.uncertainTimer.unref();
    }
    if (role === Role.Leader) log.info(`became the leader (term ${this.rn.status().term})`);
  }

  /** After a bounded wait, writes whose fate is still unknown are told so. */
  private giveUpPending(): void {
    this.uncertainTimer = undefined;
    if (this.isLeader) return;
    this.pending.drain(this.unknownWrite);
  }

  /**
   * Active expiry (leader only): walk the keys that carry a TTL a slice at a
   * time and propose the deletion of those that expired. The delete is
   * conditional at apply time, so a key re-set in between survives.
   */
  private expireCycle(): void {
    if (!this.isLeader || this.expireInFlight !== 0 || this.closed || this.keyspace.expiresCount === 0 || this.expiryHeld()) return;
    const now = Date.now();
    const keys: string[] = [];
    for (let looked = 0; looked < 1000 && keys.length < 200; looked++) {
      this.expireIt ??= this.keyspace.keysWithExpiry();
      const r = this.expireIt.next();
      if (r.done) {
        this.expireIt = undefined;
        break;
      }
      if (r.value[1] <= now) keys.push(r.value[0]);
    }
    if (keys.length === 0) return;
    const idx = this.propose({ kind: EntryKind.ExpireKeys, time: this.entryTime(), keys });
    if (typeof idx === 'number') this.expireInFlight = idx;
  }

  /** Stops ticking and taking proposals, lets the write in flight finish, closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.expireTimer) clearInterval(this.expireTimer);
    if (this.uncertainTimer) clearTimeout(this.uncertainTimer);
    // Let what was proposed reach the disk and be answered (bounded).
    const deadline = Date.now() + 3000;
    while (this.rn !== undefined && (this.readyBusy || this.pending.size > 0 || this.propQueue.length > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    this.closed = true;
    this.snapshotter.abort();
    await this.snapshotter.current;
    this.sender?.close();
    this.receiver?.close();
    await this.transport?.close();
    while (this.readyBusy) await new Promise((r) => setTimeout(r, 5));
    await this.storage?.close();
  }
}

/** Appends sent while a write is in flight carry at least this many entries (see sendEarly). */
const EARLY_APPEND_ENTRIES = 64;

/**
 * Whether messages produced while a write is in flight should leave now
 * rather than with the next Ready. Anything but appends (heartbeats and
 * their answers, which confirm reads; votes) goes at once. Appends go
 * early only when they carry a large batch: small ones (a few clients'
 * writes each turn) would cost a socket write per turn on both sides for
 * little gain, as the follower is busy with its own write meanwhile.
 */
function sendEarly(msgs: readonly Message[]): boolean {
  let entries = 0;
  for (const m of msgs) {
    if (m.type !== MessageType.App) return true;
    entries += m.entries.length;
  }
  return entries >= EARLY_APPEND_ENTRIES;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
