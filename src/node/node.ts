/**
 * The driver: owns the Raft core (RawNode), the durable log, the peer
 * transport and the snapshot files, and runs etcd's Ready loop (see
 * src/raft/rawnode.ts for the contract):
 *
 *   propose → Ready: send appends ∥ write own log (one synced batch for
 *   everything proposed meanwhile) → advance → commit → apply in log order
 *   through the StateMachine → settle the proposal.
 *
 * One Ready is handled at a time; everything proposed while its write is in
 * flight becomes the next Ready (group commit). A single-member cluster runs
 * exactly the same path, without peers.
 *
 * The driver does not know what entries mean: the layer above gives it a
 * StateMachine and Proposals (state-machine.ts) in its options (options.ts).
 * Its parts, by concept: ready-loop.ts (the Ready loop), writes.ts
 * (proposals and in-flight writes), reads.ts (ReadIndex and waits for an
 * index), leadership.ts (membership changes, transfers), snapshot-policy.ts
 * (when to snapshot, loading and installing), peers.ts (the transport) —
 * and this file: start and stop, and the driver's face to the layer above.
 */
import {
  EMPTY_BUFFER,
  MessageType,
  RawNode,
  ReadOnlyOption,
  StepLocalMsgError,
  StepPeerNotFoundError,
  bootstrapState,
  ConfChangeType,
  type ConfState,
  type Message,
  type Status,
} from '../raft/index.js';
import type { Databases } from '../keyspace/databases.js';
import { RaftStorage } from '../storage/raft-storage.js';
import type { SnapshotMeta } from '../storage/snapshot-file.js';
import { realClock, sleep, type Clock, type TimerHandle } from '../util/clock.js';
import { createLogger } from '../util/log.js';
import { LeaderHistory } from './leader-history.js';
import { Leadership } from './leadership.js';
import { Membership, type Member } from './membership.js';
import { Reads } from './reads.js';
import { ReadyLoop } from './ready-loop.js';
import { SnapshotPolicy } from './snapshot-policy.js';
import { Ticker } from './ticker.js';
import type { Snapshotter } from './snapshotter.js';
import { Peers } from './peers.js';
import type { Proposal, StateMachine } from './state-machine.js';
import { Writes } from './writes.js';

const log = createLogger('node');
const raftLog = createLogger('raft');

export type { Member } from './membership.js';
export type { Outcome, Proposal, StateMachine } from './state-machine.js';
export { NodeRefusal, type RefusalCode } from './errors.js';
export type { NodeOptions, PeerLinkStatus, PeerTransport, TransportEvents } from './options.js';
export type { SavePoint } from './snapshot-policy.js';
import type { NodeOptions, PeerLinkStatus } from './options.js';
import type { Histogram } from '../util/histogram.js';

/** What RaftisNode.metrics() gives: counters since start, and histograms in seconds. */
export interface NodeMetrics {
  /** Proposals the core appended as leader. */
  proposals: number;
  /** From a proposal's hand-off to the core until it is applied here. */
  commitLatency: Histogram;
  /** Each synced log write (write + fdatasync of one batch). */
  syncLatency: Histogram;
  /** Campaigns this node started. */
  elections: number;
  /** Times a leader became known after none or another one (the first included). */
  leaderChanges: number;
  /** ReadIndex requests (each one quorum round shared by a turn's reads). */
  readIndexRounds: number;
  /** Snapshots written here. */
  snapshotDurations: Histogram;
  snapshotsSent: number;
  snapshotsSendFailed: number;
  snapshotsReceived: number;
}

export class RaftisNode<P extends Proposal = Proposal> {
  readonly id: number;
  readonly dbs: Databases;
  readonly membership: Membership;
  readonly clock: Clock;
  /** The data directory (the log, the membership record, snapshot files). */
  readonly dir: string;
  appliedIndex = 0;
  /** The configuration as of the applied index. */
  confState: ConfState = { voters: [], learners: [] };
  /** This node was removed from the cluster. */
  removed = false;
  closed = false;
  /** The last leader this node knew of, kept while an election runs (for CLUSTER SLOTS). */
  lastKnownLeader = 0;
  /** Leader changes as this node saw them, with their wall-clock times (the cluster page). */
  readonly leaderHistory = new LeaderHistory();

  rn!: RawNode;
  storage!: RaftStorage;
  private readonly sm: StateMachine<P>;
  private readonly writes: Writes<P>;
  private readonly reads = new Reads();
  private readonly leadership: Leadership;
  private readonly snapshots: SnapshotPolicy;
  private readonly peers: Peers;
  private loop!: ReadyLoop<P>;
  private tickTimer: TimerHandle | undefined;
  /** Counts the core's ticks from the monotonic clock (ticker.ts); set once ticking starts. */
  private ticker: Ticker | undefined;
  /** start() has finished (later failures are reported through onFatal). */
  private running = false;
  /**
   * The node cannot go on safely (onFatal was called: its log write failed,
   * a snapshot could not be loaded, …): it handles no more Readies, applies
   * nothing, refuses proposals and reads. The process is expected to exit;
   * until it does, nothing it says may rest on a disk it cannot trust.
   */
  failed = false;

  private constructor(private readonly opts: NodeOptions<P>) {
    this.id = opts.id;
    this.dir = opts.dir;
    this.dbs = opts.dbs;
    this.sm = opts.stateMachine;
    this.clock = opts.clock ?? realClock;
    this.writes = new Writes<P>(opts.uncertainWaitMs ?? 5000, this.clock);
    this.leadership = new Leadership(this);
    // The lease is checked when reads go to the core: with the ticks up to the clock.
    this.reads.catchUp = () => this.catchUpTicks();
    this.snapshots = new SnapshotPolicy(
      {
        dir: opts.dir,
        dbs: opts.dbs,
        entries: opts.snapshotEntries ?? 0,
        bytes: opts.snapshotBytes ?? 64 * 1024 * 1024,
        keepEntries: opts.snapshotKeepEntries ?? 5000,
        changes: opts.changes,
      },
      this,
    );
    this.peers = new Peers(this, opts.transport, {
      deliver: (m) => this.receive(m),
      unreachable: (id, snap) => {
        this.rn.reportUnreachable(id);
        if (snap) this.rn.reportSnapshot(id, 'failure');
        this.scheduleReady();
      },
      frame: (type, body, from) => this.opts.onPeerFrame?.(type, body, from),
      pubsub: (body, from) => this.opts.onPubSub?.(body, from),
      isMember: (id) => this.members.has(id),
      rejected: (id, code) => this.leadership.rejectedBy(id, code),
    });
    this.membership = new Membership(opts.id, {
      peerUp: (m) => {
        this.ensureTransport();
        this.peers.addPeer(m);
      },
      peerGone: (id) => this.peers.removePeer(id),
      persist: (list) => this.storage.putMembers(list).catch((e: Error) => log.error(`cannot record the cluster members: ${e.message}`)),
      removedSelf: (index) => {
        log.warn(`this node (${this.id}) was removed from the cluster by the conf change at index ${index}; it stops taking part and exits`);
        this.removedSelf();
      },
    });
    this.membership.load(opts.members);
  }

  static async open<P extends Proposal>(opts: NodeOptions<P>): Promise<RaftisNode<P>> {
    const node = new RaftisNode(opts);
    const noFsync = opts.unsafeNoFsync === true;
    node.storage = await (opts.openStorage ?? RaftStorage.open)(opts.dir, noFsync);
    if (noFsync) log.warn('--unsafe-no-fsync: the raft log is written without fsync; a crash of the machine (not of this process) can lose acknowledged writes. For measurement only');
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
    const started = this.clock.now();
    const restored = this.snapshots.restore(this.storage.compactedIndex);
    if (restored !== undefined) {
      await this.storage.restoredFrom(restored);
      this.appliedIndex = restored.index;
      this.confState = restored.confState;
      this.sm.restored(restored.appState ?? EMPTY_BUFFER);
    } else if (this.storage.isEmpty && !this.opts.joining) {
      const boot = bootstrapState(this.opts.members.map((m) => m.id));
      await this.storage.bootstrap(boot.entries, boot.hardState);
    }
    const initialCommit = this.storage.hardStateNow().commit;
    this.rn = new RawNode({
      id: this.id,
      storage: this.storage,
      electionTick: this.opts.electionTick ?? 10,
      heartbeatTick: this.opts.heartbeatTick ?? 1,
      preVote: true,
      checkQuorum: true,
      readOnlyOption: this.opts.readMode === 'lease' ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
      applied: this.appliedIndex,
      rng: this.opts.rng,
      logger: raftLog,
    });
    if (this.sm.busy !== undefined) this.reads.blocked = () => this.sm.busy!();
    this.loop = new ReadyLoop<P>(this, {
      rn: this.rn,
      storage: this.storage,
      sm: this.sm,
      writes: this.writes,
      reads: this.reads,
      snapshots: this.snapshots,
      peers: this.peers,
      membership: this.membership,
      clock: this.clock,
    });
    this.ensureTransport();
    await this.peers.starting;
    // Replay: the first Readies hand out every committed entry.
    this.scheduleReady();
    await this.until(() => this.appliedIndex >= initialCommit);
    const tickMs = this.opts.tickMs ?? 50;
    // Lease mode catches up the ticks a stall skipped (up to an election
    // timeout: the lease must see the time that passed); ReadIndex mode runs
    // at most one tick per call, as a plain interval timer did: its safety
    // does not depend on time, and a machine-wide stall (every node paused
    // alike) then does not end in elections on every node at once.
    const maxCatchUp = this.opts.readMode === 'lease' ? (this.opts.electionTick ?? 10) : 1;
    this.ticker = new Ticker(this.clock, tickMs, maxCatchUp);
    this.tickTimer = this.clock.interval(() => this.catchUpTicks(), tickMs);
    this.tickTimer.unref?.();
    // A lone voter need not wait for an election timeout.
    if (this.confState.voters.length === 1 && this.confState.voters[0] === this.id) {
      this.rn.campaign();
      this.scheduleReady();
      await this.until(() => this.isLeader && this.appliedIndex >= this.storage.lastStoredIndex);
    }
    this.running = true;
    log.info(
      `replayed the log to index ${this.appliedIndex} in ${this.clock.now() - started} ms, ${this.dbs.size} keys; members ${this.confState.voters.join(',')}`,
    );
  }

  /**
   * Runs the ticks due by the monotonic clock (ticker.ts): on the tick timer,
   * and before the core sees anything whose handling depends on how much
   * time passed — each message received (a follower must count the ticks a
   * stall skipped before a heartbeat restarts its election timeout, not
   * after) and each batch of reads (the leader's lease). See
   * docs/decisions.md "Leader lease under stalls".
   */
  catchUpTicks(): void {
    const n = this.ticker?.due() ?? 0;
    if (n === 0) return;
    for (let i = 0; i < n; i++) this.rn.tick();
    this.peers.tick();
    this.leadership.maybePromote();
    this.scheduleReady();
  }

  /**
   * Creates and starts the peer transport once there is a peer to talk to
   * (a one-member cluster has none until a node is added).
   */
  private ensureTransport(): void {
    if (this.peers.created || !this.membership.hasPeers()) return;
    this.peers.ensure(this.id, this.membership.members.values());
    // At start-up open() awaits this (a busy port fails the start); later, a
    // failure to listen for peers leaves the node unable to take part.
    this.peers.starting?.catch((e: Error) => {
      if (this.running) this.onFatal(new Error(`cannot listen for peers: ${e.message}`, { cause: e }));
    });
  }

  private until(cond: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.closed) return reject(new Error('node closed while starting'));
        if (this.failed) return reject(new Error('node failed while starting'));
        if (cond()) return resolve();
        this.clock.timeout(check, 2);
      };
      check();
    });
  }

  // ---- state for the layer above (dispatch, INFO, CLUSTER) ----------------------------

  /** Live from the core (not from the last Ready): a deposed leader must know at once. */
  get isLeader(): boolean {
    return this.rn.isLeader();
  }

  /** The known leader's id, 0 when there is none (live from the core). */
  get leader(): number {
    return this.rn.leader();
  }

  get term(): number {
    return this.rn.term();
  }

  get commitIndex(): number {
    return this.storage.hardStateNow().commit;
  }

  /** Index of the last entry on disk. */
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
    return this.rn.lastIndex();
  }

  /** The index of the last write proposed here: the log's last one, or past it for this turn's proposals not yet appended. */
  get lastProposedIndex(): number {
    return this.rn.lastIndex() + this.writes.queuedCount;
  }

  /** Index of the newest snapshot (taken here or installed from the leader). */
  get snapshotIndex(): number {
    return this.snapshots.snapshotIndex;
  }

  /** Size of the newest snapshot file (INFO aof_base_size). */
  get snapshotBytes(): number {
    return this.snapshots.baseBytes;
  }

  get snapshotter(): Snapshotter {
    return this.snapshots.snapshotter;
  }

  /** When snapshots are taken: Redis's save points (CONFIG SET save, this node's own; checkSavePoints hz times a second) and changes since the last. */
  get snapshotPolicy(): SnapshotPolicy {
    return this.snapshots;
  }

  get voters(): readonly number[] {
    return this.confState.voters;
  }

  get learners(): readonly number[] {
    return this.confState.learners;
  }

  /** The members by id, with their addresses. */
  get members(): ReadonlyMap<number, Member> {
    return this.membership.members;
  }

  /** An election timeout in ms. */
  get electionMs(): number {
    return (this.opts.electionTick ?? 10) * (this.opts.tickMs ?? 50);
  }

  status(): Status {
    return this.rn.status();
  }

  /** The driver's and its log's counters and histograms, read when the operator's /metrics is scraped. */
  metrics(): NodeMetrics {
    const t = this.peers.snapshotTransfers;
    return {
      proposals: this.writes.proposed,
      commitLatency: this.writes.commitLatency,
      syncLatency: this.storage.syncLatency,
      elections: this.loop.elections,
      leaderChanges: this.loop.leaderChanges,
      readIndexRounds: this.reads.rounds,
      snapshotDurations: this.snapshots.snapshotter.durations,
      snapshotsSent: t.sent,
      snapshotsSendFailed: t.failed,
      snapshotsReceived: t.received,
    };
  }

  /** Whether this node currently has a working connection to peer id (itself: true). */
  peerConnected(id: number): boolean {
    if (id === this.id) return true;
    return this.peers.connected(id);
  }

  /** Our links with peer id (outgoing, incoming, the last failure); undefined when there is none. */
  peerLink(id: number): PeerLinkStatus | undefined {
    return this.peers.link(id);
  }

  /** Sends an application frame to a peer; false when it cannot be sent. */
  sendForward(to: number, type: number, body: Buffer): boolean {
    return this.peers.forward(to, type, body);
  }

  /** Sends a pub/sub frame to every connected peer (best effort); how many peers it went to. */
  broadcast(type: number, body: Buffer): number {
    return this.peers.broadcast(type, body);
  }

  // ---- leadership, membership, snapshots (leadership.ts, snapshot-policy.ts) --------------

  /** A membership change entry is in the log and not yet applied. */
  get confChangeInFlight(): boolean {
    return this.leadership.confChangeInFlight;
  }

  /** Proposes a membership change (leader only); resolves once applied, rejects with a NodeRefusal. */
  changeMembership(type: ConfChangeType, nodeId: number, addr?: Member): Promise<void> {
    return this.leadership.changeMembership(type, nodeId, addr);
  }

  /** Hands leadership to `target` (default: the most up-to-date voter); resolves with the new leader's id. */
  transferLeadership(target?: number): Promise<number> {
    return this.leadership.transferLeadership(target);
  }

  /** A follower asks the leader to hand leadership to this node (CLUSTER FAILOVER). */
  requestLeadership(): boolean {
    return this.leadership.requestLeadership();
  }

  /** Takes a snapshot now (BGSAVE); joins the one in progress, if any. */
  snapshot(): Promise<SnapshotMeta | undefined> {
    return this.snapshots.snapshot();
  }

  removedSelf(): void {
    if (this.removed) return;
    this.removed = true;
    this.clock.immediate(() => this.opts.onRemoved?.());
  }

  /**
   * The node cannot go on safely: it stops (see `failed`) and tells the layer
   * above, which exits. Should the process go on, its writes in flight are
   * then settled 'unknown' (they may still commit elsewhere) and its reads
   * refused: no reply rests on this node any more.
   */
  onFatal(err: Error): void {
    const first = !this.failed;
    this.failed = true;
    this.clock.clear(this.tickTimer);
    this.opts.onFatal(err);
    if (!first) return;
    this.writes.fail();
    this.reads.deposed();
  }

  /** The state machine's own state for a snapshot being taken now. */
  appState(): Buffer | undefined {
    return this.sm.snapshotState?.();
  }

  // ---- writes and reads (writes.ts, reads.ts) ----------------------------------------------

  /**
   * Proposes a write (leader only). On acceptance sets p.index (so the
   * caller knows at once where it will be) and returns true; otherwise
   * settles it with 'not-leader' or 'dropped' and returns false. p is
   * settled exactly once.
   */
  propose(p: P): boolean {
    if (this.closed || this.failed || !this.isLeader) {
      p.settle('not-leader');
      return false;
    }
    if (this.rn.transferring()) {
      p.settle('dropped');
      return false;
    }
    this.writes.add(this.rn, p);
    this.loop.noteLeading();
    this.scheduleReady();
    return true;
  }

  /** Hands this turn's proposals to the core. */
  flushProposals(): void {
    this.writes.flush(this.rn);
  }

  /** Runs fn once every entry up to `index` has been applied (at once if it has). */
  whenApplied(index: number, fn: () => void): void {
    this.reads.whenApplied(index, this.appliedIndex, fn);
  }

  /**
   * Moves each time the callbacks readBarrier queued are sent as one
   * ReadIndex request (or refused): while it has not moved, reads that
   * arrive may still be answered by a callback queued earlier in it (one
   * callback for a turn's reads: commands/engine/dispatch.ts ReadBatch).
   */
  get readTurn(): number {
    return this.reads.turn;
  }

  /**
   * Linearizable read barrier (ReadIndex): cb(true) once this node has
   * applied everything committed when the read arrived and a quorum confirmed
   * it is still the leader; cb(false) if it cannot (not or no longer leader).
   */
  readBarrier(cb: (ok: boolean) => void): void {
    if (this.failed || !this.isLeader) {
      cb(false);
      return;
    }
    this.reads.add(cb);
    this.loop.noteLeading();
    this.scheduleReady();
  }

  receive(m: Message): void {
    if (this.closed || this.failed) return;
    // raftis nodes never forward proposals (a follower redirects or proxies
    // whole commands); one arriving anyway would land in the leader's log
    // between its own predicted indexes.
    if (m.type === MessageType.Prop) {
      log.warn(`dropped a forwarded proposal from node ${m.from}: raftis peers do not forward proposals`);
      return;
    }
    this.catchUpTicks();
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
    if (m.type === MessageType.Heartbeat) {
      this.loop.sendAndAnswerNow();
      // A heartbeat that moved nothing else (a read round's, on a read-only
      // load) needs no turn of the Ready loop: processReady would find nothing.
      if (!this.loop.busy && !this.writes.queued && !this.reads.queued && !this.rn.hasReady()) return;
    } else if (m.type === MessageType.HeartbeatResp) {
      // The reads it confirms are served now; the next round (and any message it
      // brought) leaves from processReady at the end of this turn, carrying the
      // reads that arrive meanwhile too.
      this.loop.answerNow();
    }
    this.scheduleReady();
  }

  // ---- the Ready loop (ready-loop.ts) ----------------------------------------------------------

  scheduleReady(): void {
    this.loop.schedule();
  }

  /** Stops ticking and taking proposals, lets the write in flight finish, closes the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.clock.clear(this.tickTimer);
    this.writes.close();
    // Let what was proposed reach the disk and be answered (bounded).
    const deadline = this.clock.now() + 3000;
    // (A script paused in an entry is not waited for: SHUTDOWN NOSAVE stops it.)
    while (this.rn !== undefined && !this.failed && !this.loop.applyPaused && (this.loop.busy || this.writes.size > 0) && this.clock.now() < deadline) await sleep(this.clock, 5);
    this.closed = true;
    await this.snapshots.close();
    await this.peers.close();
    // A failed write leaves its Ready busy for good; so does a script paused in an entry.
    while (this.loop?.busy === true && !this.loop.applyPaused && !this.failed) await sleep(this.clock, 5);
    await this.storage?.close();
  }
}
