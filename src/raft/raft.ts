/**
 * The Raft state machine: fed messages and ticks, it updates its state and
 * queues outgoing messages. It does no I/O and reads no clock; RawNode
 * (rawnode.ts) wraps it with the Ready/advance interface.
 *
 * Each role has its own step function (leader.ts, candidate.ts,
 * follower.ts); what they share (term handling, voting, elections, the
 * become* transitions, appends, snapshots, reads, membership) lives here.
 * Fields are public so those functions and tests can reach them; only RawNode
 * is the API for drivers.
 */
import { ProgressTracker } from './tracker/tracker.js';
import type { Progress } from './tracker/progress.js';
import { applyToConfState, type ConfChange, decodeConfChange, describeConfChange } from './conf-change.js';
import { ReadOnlyOption, type RaftConfig, resolveConfig } from './config.js';
import { invariant, RaftConfigError } from './errors.js';
import type { Logger } from './logger.js';
import { RaftLog } from './log.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  isEmptyHardState,
  isEmptySnapshot,
  type Message,
  MessageType,
  NONE,
  newAppend,
  newAppendAck,
  newMessage,
  type Snapshot,
  entriesSize,
  voteResponseType,
  EMPTY_BUFFER,
} from './messages.js';
import { majority, VoteResult } from './quorum.js';
import { ReadOnly, type ReadRequest, type ReadState } from './read-only.js';
import { CAMPAIGN_TRANSFER_CONTEXT, CampaignType, Role, type SoftState } from './role.js';
import { CompactedError, SnapshotTemporarilyUnavailableError } from './storage.js';
import { stepLeader } from './leader.js';
import { stepCandidate } from './candidate.js';
import { stepFollower } from './follower.js';

/**
 * Ticks taken off the election timeout E for the lease (thesis §6.4.1).
 *
 * The driver runs tick k of every node when its monotonic clock passes
 * origin + k·T (src/node/ticker.ts), counting the ticks a stall skipped
 * before it handles any message or lease read. Then:
 *
 * - A follower f ignores votes until E of its ticks have run since it took
 *   the heartbeat of round s (electionElapsed is reset then); the first of
 *   them may come right after, so f votes no earlier than
 *   r_f + (E-1)·T_f, r_f ≥ t_s its receipt of the heartbeat sent at t_s.
 * - The round's sentTick is the leader's tick count when it sent it, so
 *   tick sentTick began at or before t_s. The leader answers from the lease
 *   only while ticks < sentTick + E - M, i.e. before its tick
 *   sentTick + E - M begins: at t_r < t_s + (E-M)·T_L.
 *
 * A new leader needs the vote of a member of the quorum that acked round s,
 * so a read served from the lease precedes every write of a later leader if
 * (E-M)·T_L ≤ (E-1)·T_f: with M = 2 the tick clocks of two nodes may run
 * apart by up to 1/(E-2) (12% at E = 10) — far beyond a monotonic clock's
 * rate error (parts per million) — while phase between their ticks costs
 * nothing more. What is left assumed: that each node's monotonic clock
 * counts the real time that passes while its process is stopped (true of
 * CLOCK_MONOTONIC for SIGSTOP, swapping and GC pauses, not for a whole VM
 * or machine suspended).
 */
export const LEASE_SAFETY_TICKS = 2;

/** appendEntries' kept slice when there is none (never handed out: no append starts at index 0). */
const NO_ENTRIES: Entry[] = [];

export class Raft {
  readonly id: number;
  term = 0;
  vote = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  trk: ProgressTracker;
  role = Role.Follower;
  isLearner = false;
  /** Messages that may leave right away. */
  msgs: Message[] = [];
  /**
   * Messages that may leave only once everything this node has accepted so
   * far is durable: answers to votes and appends (thesis §3.8). Those
   * addressed to this node itself (the leader's own append ack, a
   * candidate's own vote) are stepped back in by RawNode.advance.
   */
  msgsAfterAppend: Message[] = [];
  lead = NONE;
  /** Node leadership is being handed to (thesis §3.10), or NONE. */
  leadTransferee = NONE;
  /** Index of the latest conf change appended; a new one waits until it is applied. */
  pendingConfIndex = 0;
  /** The last "snapshot predates joining" warning given (follower:index), so it is not repeated each probe. */
  private staleSnapshotWarned = '';
  readonly readOnly = new ReadOnly();
  /** Reads that arrived before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  /** Set once this leader sent TimeoutNow: followers may now vote without waiting out their lease. */
  leaseRevoked = false;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** Ticks since this instance started: the clock of the leader lease. */
  ticks = 0;
  randomizedElectionTimeout = 0;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly readOnlyOption: ReadOnlyOption;
  readonly logger: Logger;
  private readonly rng: () => number;

  constructor(config: RaftConfig) {
    const c = resolveConfig(config);
    this.id = c.id;
    this.logger = c.logger;
    this.rng = c.rng;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.readOnlyOption = c.readOnlyOption;
    this.maxMsgSize = c.maxSizePerMsg;
    this.raftLog = new RaftLog(c.storage, c.logger, c.maxCommittedSizePerReady);
    const { hardState, confState } = c.storage.initialState();
    const fromStorage = confState.voters.length > 0 || confState.learners.length > 0;
    const fromConfig = c.voters.length > 0 || c.learners.length > 0;
    if (fromStorage && fromConfig) {
      throw new RaftConfigError('cannot specify both config voters/learners and a ConfState in storage');
    }
    this.trk = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes);
    this.switchToConfig(fromStorage ? confState : { voters: c.voters, learners: c.learners });
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (c.applied > this.raftLog.applied) {
      // Only committed entries are applied, so the durable commit index
      // (written without fsync when nothing else changed) may lag behind.
      if (c.applied > this.raftLog.committed) {
        this.logger.info(`${this.id} applied index ${c.applied} is past the stored commit ${this.raftLog.committed}; committing to it`);
        this.raftLog.commitTo(c.applied);
      }
      this.raftLog.appliedTo(c.applied);
    }
    this.becomeFollower(this.term, NONE);
    const last = this.raftLog.lastEntryId();
    this.logger.info(
      `newRaft ${this.id} [peers: [${this.trk.voters().join(',')}], term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${last.index}, lastterm: ${last.term}]`,
    );
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // ---- sending ----------------------------------------------------------

  /** Queues a message, stamping from and term, and sorts it into msgs or msgsAfterAppend. */
  send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (t === MessageType.Vote || t === MessageType.VoteResp || t === MessageType.PreVote || t === MessageType.PreVoteResp) {
      // Campaign messages carry the term they campaign for, which for pre-votes is not ours.
      invariant(m.term !== 0, () => `term should be set when sending ${MessageType[t]}`);
    } else {
      invariant(m.term === 0, () => `term should not be set when sending ${MessageType[t]} (was ${m.term})`);
      // Proposals and reads forwarded to the leader are local requests there, not term-bound.
      if (t !== MessageType.Prop && t !== MessageType.ReadIndex) m.term = this.term;
    }
    if (t === MessageType.AppResp || t === MessageType.VoteResp || t === MessageType.PreVoteResp) {
      this.msgsAfterAppend.push(m);
    } else {
      invariant(m.to !== this.id, () => `message should not be self-addressed when sending ${MessageType[t]}`);
      this.msgs.push(m);
    }
  }

  /**
   * Sends `to` an append if its flow control allows: entries it lacks, or an
   * empty one to carry the commit index or to probe. Falls back to a snapshot
   * when the entries it needs were compacted. Returns whether a message went.
   */
  maybeSendAppend(to: number): boolean {
    const pr = this.trk.get(to);
    if (pr === undefined) return false;
    const last = this.raftLog.lastIndex();
    const commit = this.raftLog.committed;
    if (!pr.shouldSendMsgApp(last, commit)) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.maybeTerm(prevIndex);
    if (prevTerm === undefined) return this.maybeSendSnapshot(to, pr);
    let entries: Entry[] = [];
    if (pr.canSendEntries(last)) {
      try {
        entries = this.appendEntries(pr.next);
      } catch (err) {
        if (err instanceof CompactedError) return this.maybeSendSnapshot(to, pr);
        throw err;
      }
    }
    this.send(newAppend(to, prevIndex, prevTerm, entries, commit));
    // Bytes in flight matter only under a byte limit (maxInflightBytes 0: none, the default).
    pr.sentEntries(entries.length, this.trk.maxInflightBytes === 0 ? 0 : entriesSize(entries));
    pr.sentCommitIndex(commit);
    return true;
  }

  private maybeSendSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) {
      if (this.logger.debugEnabled) this.logger.debug(`ignore sending snapshot to ${to} since it is not recently active`);
      return false;
    }
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot();
    } catch (err) {
      if (err instanceof SnapshotTemporarilyUnavailableError) {
        if (this.logger.debugEnabled) this.logger.debug(`${this.id} failed to send snapshot to ${to} because snapshot is temporarily unavailable`);
        return false;
      }
      throw err;
    }
    invariant(!isEmptySnapshot(snap), 'need non-empty snapshot');
    const cs = snap.metadata.confState;
    if (!cs.voters.includes(to) && !cs.learners.includes(to)) {
      // The snapshot predates the conf change that added `to`, which would
      // refuse it and ask again at once. Wait for the driver to snapshot
      // past that change (it keeps probing meanwhile, without messages).
      // Said once per follower and snapshot: the probe repeats every heartbeat.
      const said = `${to}:${snap.metadata.index}`;
      if (this.staleSnapshotWarned !== said) {
        this.staleSnapshotWarned = said;
        this.logger.warn(`${this.id} cannot send snapshot [index: ${snap.metadata.index}] to ${to}: it predates ${to} joining; a newer snapshot is needed`);
      }
      return false;
    }
    this.logger.info(
      `${this.id} [firstindex: ${this.raftLog.firstIndex()}, commit: ${this.raftLog.committed}] sent snapshot[index: ${snap.metadata.index}, term: ${snap.metadata.term}] to ${to} [${pr.toString()}]`,
    );
    pr.becomeSnapshot(snap.metadata.index);
    this.send(newMessage({ type: MessageType.Snap, to, snapshot: snap }));
    return true;
  }

  private sendHeartbeat(to: number, ctx: Buffer): void {
    const pr = this.trk.get(to);
    if (pr === undefined) return;
    // Never tell a follower to commit past what it is known to hold.
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send(newMessage({ type: MessageType.Heartbeat, to, commit, context: ctx }));
    pr.sentCommitIndex(commit);
  }

  /**
   * The entries of an append from index `next` (raftLog.entries within
   * maxMsgSize). During bcastAppend followers at the same next index get the
   * same array: the log does not change meanwhile, and messages' entries are
   * never modified by anyone.
   */
  private appendEntries(next: number): Entry[] {
    if (this.bcastNext === next) return this.bcastEntries;
    const ents = this.raftLog.entries(next, this.maxMsgSize);
    if (this.bcasting) {
      this.bcastNext = next;
      this.bcastEntries = ents;
    }
    return ents;
  }

  /** bcastAppend is running (appendEntries keeps its last slice). */
  private bcasting = false;
  /** The next index of appendEntries' kept slice; 0: none. */
  private bcastNext = 0;
  private bcastEntries: Entry[] = NO_ENTRIES;

  bcastAppend(): void {
    this.bcasting = true;
    try {
      for (const id of this.trk.ids()) {
        if (id !== this.id) this.maybeSendAppend(id);
      }
    } finally {
      this.bcasting = false;
      this.bcastNext = 0;
      this.bcastEntries = NO_ENTRIES;
    }
  }

  private bcastHeartbeat(ctx: Buffer): void {
    for (const id of this.trk.ids()) {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    }
  }

  sendTimeoutNow(to: number): void {
    // The transferee will campaign past the followers' lease: ours is over.
    this.leaseRevoked = true;
    this.send(newMessage({ type: MessageType.TimeoutNow, to }));
  }

  // ---- ticks and transitions -------------------------------------------

  tick(): void {
    this.ticks++;
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage({ type: MessageType.CheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === Role.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: MessageType.Beat, from: this.id }));
    }
  }

  becomeFollower(term: number, lead: number): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
    this.logger.info(`${this.id} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    invariant(this.role !== Role.Leader, 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
    this.logger.info(`${this.id} became candidate at term ${this.term}`);
  }

  /** Like candidate, but keeps term and vote: a pre-vote changes nothing durable. */
  becomePreCandidate(): void {
    invariant(this.role !== Role.Leader, 'invalid transition [leader -> pre-candidate]');
    this.trk.resetVotes();
    this.lead = NONE;
    this.role = Role.PreCandidate;
    this.logger.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    invariant(this.role !== Role.Follower, 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    const self = this.trk.get(this.id);
    if (self !== undefined) {
      // Our own log is matched by definition, but only counts once durable:
      // match stays 0 until the ack stepped in by advance().
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Any entry in our log may be an unapplied conf change: wait for all of them.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The no-op of the new term: committing it commits everything before (§5.4.2, §8).
    this.appendEntry([{ index: 0, term: 0, type: EntryType.Normal, data: EMPTY_BUFFER }]);
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  private reset(term: number): void {
    invariant(term >= this.term, () => `term must not go backwards: ${this.term} -> ${term}`);
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const next = this.raftLog.lastIndex() + 1;
    this.trk.visit((_id, pr) => pr.resetForNewTerm(0, next));
    this.pendingConfIndex = 0;
    this.readOnly.reset();
    this.pendingReadIndexMessages = [];
    this.leaseRevoked = false;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.rng() * this.electionTimeout);
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  /** Appends entries proposed to this leader at its term; its own ack comes once they are durable. */
  appendEntry(es: readonly Entry[]): number {
    const li = this.raftLog.lastIndex();
    // Copies: the proposal's entries may be shared (a duplicated message) and must stay untouched.
    const ents = es.map((e, i) => ({ index: li + 1 + i, term: this.term, type: e.type, data: e.data }));
    const last = this.raftLog.append(ents);
    this.send(newAppendAck(this.id, last));
    return last;
  }

  /** appendEntry for entries nobody else holds (RawNode.proposeBatch's): their index and term are set in place. */
  appendOwnEntries(es: Entry[]): number {
    const li = this.raftLog.lastIndex();
    const term = this.term;
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      e.index = li + 1 + i;
      e.term = term;
    }
    const last = this.raftLog.append(es);
    this.send(newAppendAck(this.id, last));
    return last;
  }

  /** Advances the commit index to what a quorum holds, if that entry is of this term. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  promotable(): boolean {
    const pr = this.trk.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  // ---- elections --------------------------------------------------------

  hup(t: CampaignType): void {
    if (this.role === Role.Leader) {
      if (this.logger.debugEnabled) this.logger.debug(`${this.id} ignoring MsgHup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${this.id} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`);
      return;
    }
    this.logger.info(`${this.id} is starting a new election at term ${this.term}`);
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    // The application may have applied (and snapshotted, and compacted) entries
    // it was handed before it called advance(): compacted ones are applied.
    const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
    if (lo > this.raftLog.committed) return false;
    const ents = this.raftLog.slice(lo, this.raftLog.committed + 1, Number.POSITIVE_INFINITY);
    return ents.some((e) => e.type === EntryType.ConfChange);
  }

  campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      // Pre-votes ask for the term we would campaign in, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    const last = this.raftLog.lastEntryId();
    for (const id of this.trk.voters()) {
      if (id === this.id) {
        // Our own vote counts once it is durable: it comes back through advance().
        this.send(newMessage({ type: voteResponseType(voteMsg), to: id, term }));
        continue;
      }
      this.logger.info(
        `${this.id} [logterm: ${last.term}, index: ${last.index}] sent ${MessageType[voteMsg]} request to ${id} at term ${this.term}`,
      );
      const context = t === CampaignType.Transfer ? CAMPAIGN_TRANSFER_CONTEXT : EMPTY_BUFFER;
      this.send(newMessage({ type: voteMsg, to: id, term, index: last.index, logTerm: last.term, context }));
    }
  }

  poll(id: number, t: MessageType, granted: boolean): { granted: number; rejected: number; result: VoteResult } {
    this.logger.info(`${this.id} received ${MessageType[t]}${granted ? '' : ' rejection'} from ${id} at term ${this.term}`);
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  // ---- the entry point --------------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // local message, or a proposal / read forwarded by a follower
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = m.context.equals(CAMPAIGN_TRANSFER_CONTEXT);
        if (!force && this.inLease()) {
          // Within the minimum election timeout of hearing from a leader we
          // neither raise our term nor vote (thesis §4.2.3): a node coming
          // back from a partition cannot depose a healthy leader.
          const last = this.raftLog.lastEntryId();
          this.logger.info(
            `${this.id} [logterm: ${last.term}, index: ${last.index}, vote: ${this.vote}] ignored ${MessageType[m.type]} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          );
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // Pre-votes are granted for our future term; it is raised on winning.
      } else {
        this.logger.info(`${this.id} [term: ${this.term}] received a ${MessageType[m.type]} message with higher term from ${m.from} [term: ${m.term}]`);
        const fromLeader = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A leader of an older term: with check-quorum or pre-vote our higher
        // term may come from a lost election on our side of a partition and
        // would otherwise never reach it. Answer so it steps down and the
        // cluster can move past our term.
        this.send(newMessage({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        // Reject explicitly, or a pre-candidate with a stale term would wait forever.
        this.send(newMessage({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      } else if (this.logger.debugEnabled) {
        this.logger.debug(`${this.id} [term: ${this.term}] ignored a ${MessageType[m.type]} message with lower term from ${m.from} [term: ${m.term}]`);
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
      default:
        switch (this.role) {
          case Role.Leader:
            stepLeader(this, m);
            return;
          case Role.Candidate:
          case Role.PreCandidate:
            stepCandidate(this, m);
            return;
          case Role.Follower:
            stepFollower(this, m);
            return;
        }
    }
  }

  /** A follower that heard from its leader within the election timeout ignores votes. */
  private inLease(): boolean {
    if (!this.checkQuorum) return false;
    if (this.lead !== NONE && this.electionElapsed < this.electionTimeout) return true;
    // With lease reads, a restarted node may have acked a heartbeat it no
    // longer remembers: it keeps that promise for one election timeout.
    return this.readOnlyOption === ReadOnlyOption.LeaseBased && this.ticks < this.electionTimeout;
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      // a repeat of the vote we cast…
      this.vote === m.from ||
      // …or we have not voted and know no leader in this term…
      (this.vote === NONE && this.lead === NONE) ||
      // …or a pre-vote for a future term.
      (m.type === MessageType.PreVote && m.term > this.term);
    const last = this.raftLog.lastEntryId();
    // Learners vote too: one may have been promoted without knowing it yet.
    if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
      this.logger.info(
        `${this.id} [logterm: ${last.term}, index: ${last.index}, vote: ${this.vote}] cast ${MessageType[m.type]} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
      );
      // Answer with the request's term: for a pre-vote ours is older, and
      // the pre-candidate would ignore an answer at our term.
      this.send(newMessage({ type: voteResponseType(m.type), to: m.from, term: m.term }));
      if (m.type === MessageType.Vote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.logger.info(
        `${this.id} [logterm: ${last.term}, index: ${last.index}, vote: ${this.vote}] rejected ${MessageType[m.type]} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
      );
      this.send(newMessage({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true }));
    }
  }

  // ---- follower-side handlers ------------------------------------------

  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(newMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(newAppendAck(m.from, lastNew));
      return;
    }
    if (this.logger.debugEnabled) {
      this.logger.debug(
        `${this.id} [logterm: ${this.raftLog.termOrZero(m.index)}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`,
      );
    }
    // Hint where the logs may match: the largest index <= m.index whose term
    // is <= the leader's term there. A divergent tail of higher terms is
    // skipped in one round trip instead of one entry per round trip.
    const [hintIndex, hintTerm] = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm);
    this.send(newMessage({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm }));
  }

  handleHeartbeat(m: Message): void {
    const last = this.raftLog.lastIndex();
    if (m.commit > last) {
      // The leader only names a commit index this node acknowledged holding:
      // the log was lost (a wiped data directory). Commit nothing and ask the
      // leader to forget what it knew of this log and probe it afresh.
      this.logger.warn(
        `${this.id} [lastindex: ${last}] leader ${m.from} says entries up to ${m.commit} are here, but the log ends at ${last}: this node's log was lost; asking the leader to resend it`,
      );
      this.send(newMessage({ type: MessageType.HeartbeatResp, to: m.from, context: m.context, reject: true, rejectHint: last }));
      return;
    }
    this.raftLog.commitTo(m.commit);
    this.send(newMessage({ type: MessageType.HeartbeatResp, to: m.from, context: m.context }));
  }

  handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s !== undefined && this.restore(s)) {
      this.logger.info(`${this.id} [commit: ${this.raftLog.committed}] restored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`);
      this.send(newMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.logger.info(`${this.id} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${s?.metadata.index ?? 0}, term: ${s?.metadata.term ?? 0}]`);
      this.send(newMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Replaces log and configuration with the snapshot's. False if it is stale or does not include us. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.role !== Role.Follower) {
      this.logger.warn(`${this.id} attempted to restore snapshot as leader; should never happen`);
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) {
      this.logger.warn(`${this.id} attempted to restore snapshot but it is not in the ConfState; should never happen`);
      return false;
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already hold that entry: only the commit index moves.
      const last = this.raftLog.lastEntryId();
      this.logger.info(
        `${this.id} [commit: ${this.raftLog.committed}, lastindex: ${last.index}, lastterm: ${last.term}] fast-forwarded commit to snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`,
      );
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    this.switchToConfig(cs);
    return true;
  }

  // ---- membership -------------------------------------------------------

  /** Applies a committed conf change; the driver calls this (through RawNode) when it applies the entry. */
  applyConfChange(cc: ConfChange): ConfState {
    const next = applyToConfState(this.trk.confState(), cc);
    invariant(next.voters.length > 0, () => `conf change ${describeConfChange(cc)} would remove all voters`);
    this.logger.info(`${this.id} applies conf change ${describeConfChange(cc)}`);
    return this.switchToConfig(next);
  }

  /** Why a proposed conf change entry must be refused, or undefined if it may be appended. */
  confChangeRefusal(e: Entry): string | undefined {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(e.data);
    } catch (err) {
      return `malformed conf change: ${(err as Error).message}`;
    }
    if (this.pendingConfIndex > this.raftLog.applied) {
      return `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${this.raftLog.applied})`;
    }
    if (applyToConfState(this.trk.confState(), cc).voters.length === 0) return 'would remove all voters';
    return undefined;
  }

  private switchToConfig(cs: ConfState): ConfState {
    this.trk.setConfig(cs, this.raftLog.lastIndex());
    const pr = this.trk.get(this.id);
    this.isLearner = pr?.isLearner ?? false;
    const out = this.trk.confState();
    this.logger.info(`${this.id} switched to configuration voters=(${out.voters.join(' ')}) learners=(${out.learners.join(' ')})`);
    if ((pr === undefined || this.isLearner) && this.role === Role.Leader) {
      // Removed or demoted: step down rather than lead a group we are not a voter of.
      this.becomeFollower(this.term, NONE);
      return out;
    }
    if (this.role !== Role.Leader || out.voters.length === 0) return out;
    // The quorum may have changed size: entries may now be committed.
    if (this.maybeCommit()) this.bcastAppend();
    else {
      // Probe new members now rather than at the next heartbeat.
      for (const id of this.trk.ids()) {
        if (id !== this.id) this.maybeSendAppend(id);
      }
    }
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return out;
  }

  private loadState(hs: HardState): void {
    invariant(
      hs.commit <= this.raftLog.lastIndex(),
      () => `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    // A snapshot only holds committed state: a stored commit below it is
    // merely stale (a commit-only hard state is not fsynced), not a loss.
    this.raftLog.committed = Math.max(hs.commit, this.raftLog.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- linearizable reads -----------------------------------------------

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  /**
   * Leader: serves a read now (single voter, valid lease) or queues it for
   * the next heartbeat round. `lease` false: never from the lease (reads
   * released by a commit, which may come from a driver that has not
   * counted its ticks up to the clock: ticker.ts).
   */
  handleReadIndexRequest(m: Message, lease = true): void {
    const req: ReadRequest = { from: m.from, ctx: m.context };
    if (this.trk.isSingleton() || (lease && this.leaseValid())) {
      this.respondToReadRequest(req, this.raftLog.committed);
      return;
    }
    this.readOnly.addRequest(req);
  }

  /** Whether the leader may answer reads from its lease (ReadOnlyOption.LeaseBased). */
  leaseValid(): boolean {
    const start = this.readOnly.leaseStartTick;
    return (
      this.readOnlyOption === ReadOnlyOption.LeaseBased &&
      this.role === Role.Leader &&
      !this.leaseRevoked &&
      this.leadTransferee === NONE &&
      start !== undefined &&
      this.ticks < start + this.electionTimeout - LEASE_SAFETY_TICKS
    );
  }

  respondToReadRequest(req: ReadRequest, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.ctx });
      return;
    }
    this.send(newMessage({ type: MessageType.ReadIndexResp, to: req.from, index, context: req.ctx }));
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) {
      this.logger.error('pending MsgReadIndex should be released only after first commit in current term');
      return;
    }
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.handleReadIndexRequest(m, false);
  }

  /** Starts a heartbeat round carrying the waiting reads (every heartbeat is a round). */
  broadcastHeartbeatRound(): void {
    const ctx = this.readOnly.startRound(this.raftLog.committed, this.ticks);
    this.readOnly.markBroadcast();
    this.bcastHeartbeat(ctx);
    this.confirmReadRounds();
  }

  /**
   * Starts a round for the waiting reads, sent only to as many voters as a
   * quorum needs besides this leader: the first to answer the latest
   * heartbeat broadcast (the heartbeat of every heartbeatTimeout still goes
   * to every member), then those that answered a round latest. In a 3-node
   * cluster that is one follower, the quicker one; the other is not woken
   * for it. If the chosen ones do not answer, the next heartbeat broadcast
   * confirms the round (an answer to a later round confirms every earlier
   * one: see ReadOnly), within a heartbeat timeout, and whoever answered it
   * first is chosen next.
   */
  private startReadRound(): void {
    const voters = this.trk.voters();
    const self = voters.includes(this.id) ? 1 : 0;
    const need = majority(voters.length) - self;
    if (need >= voters.length - self) {
      this.broadcastHeartbeatRound();
      return;
    }
    const ctx = this.readOnly.startRound(this.raftLog.committed, this.ticks);
    const chosen: number[] = [];
    for (const id of this.readOnly.answeredBroadcast) {
      if (chosen.length === need) break;
      if (id !== this.id && this.trk.isVoter(id)) chosen.push(id);
    }
    // Then the latest answers (ties: the lower id); a small selection, no sort.
    while (chosen.length < need) {
      let best = NONE;
      let bestSeq = -1;
      for (const id of voters) {
        if (id === this.id || chosen.includes(id)) continue;
        const seq = this.readOnly.lastAcked(id);
        if (seq > bestSeq || (seq === bestSeq && id < best)) {
          best = id;
          bestSeq = seq;
        }
      }
      chosen.push(best);
    }
    for (const id of chosen) this.sendHeartbeat(id, ctx);
    this.confirmReadRounds();
  }

  /**
   * Answers the reads of every round a quorum has now confirmed. The next
   * batch's round is not started here but by the driver's next
   * flushReadRequests (RawNode.ready, takeMessages, peekMessages): a driver
   * that takes the answers at once (RawNode.takeReadStates) and the
   * messages at the end of its turn lets the reads that arrive later in that
   * turn join the round.
   */
  confirmReadRounds(): void {
    for (const round of this.readOnly.confirm(this.trk.voters(), this.id)) {
      for (const req of round.requests) this.respondToReadRequest(req, round.index);
    }
  }

  /** Leader: starts a round for reads queued since the last one, unless one is in flight. RawNode calls it when building a Ready. */
  flushReadRequests(): void {
    if (this.role === Role.Leader && this.readOnly.shouldFlush()) this.startReadRound();
  }

  readFlushPending(): boolean {
    return this.role === Role.Leader && this.readOnly.shouldFlush();
  }
}
