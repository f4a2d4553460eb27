/**
 * The Ready loop: etcd's contract (src/raft/rawnode.ts) run against the
 * driver's parts. One Ready is handled at a time:
 *
 *   ready() → send messages ∥ persist (one synced write for everything the
 *   turn produced) → apply committed entries in log order (those already
 *   durable at once, the rest when the write completes) → advance().
 *
 * While the write is in flight, proposals form the next Ready (group
 * commit), and what does not depend on the write goes ahead
 * (workWhileWriting).
 */
import { EMPTY_BUFFER, EntryType, MessageType, Role, decodeConfChange, ConfChangeType, type ConfChange, type ConfState, type Entry, type Message, type RawNode, type Ready, type SnapshotMetadata } from '../raft/index.js';
import type { RaftStorage } from '../storage/raft-storage.js';
import type { Clock } from '../util/clock.js';
import { createLogger } from '../util/log.js';
import type { LeaderHistory } from './leader-history.js';
import type { Membership } from './membership.js';
import type { Peers } from './peers.js';
import type { Reads } from './reads.js';
import type { SnapshotPolicy } from './snapshot-policy.js';
import type { Proposal, StateMachine } from './state-machine.js';
import type { Writes } from './writes.js';

const log = createLogger('node');

/** The driver's parts the loop works with. */
export interface ReadyParts<P extends Proposal> {
  rn: RawNode;
  storage: RaftStorage;
  sm: StateMachine<P>;
  writes: Writes<P>;
  reads: Reads;
  snapshots: SnapshotPolicy;
  peers: Peers;
  membership: Membership;
  clock: Clock;
}

/** The driver's state the loop keeps up to date. */
export interface ReadyHost {
  appliedIndex: number;
  confState: ConfState;
  lastKnownLeader: number;
  /** Leader changes as this node saw them (the cluster page). */
  readonly leaderHistory: LeaderHistory;
  readonly closed: boolean;
  /** The node cannot go on safely (RaftisNode.onFatal): nothing more is handled or applied. */
  readonly failed: boolean;
  onFatal(err: Error): void;
}

export class ReadyLoop<P extends Proposal> {
  /** A Ready is being handled (its write is in flight). */
  busy = false;
  /** Whether every committed entry of the Ready in flight has been applied. */
  private allApplied = false;
  private scheduled = false;
  /** The term in which this node led at the last Ready; 0: it did not lead then (see checkLeadership). */
  private leadingAtReady = 0;
  /** The first term in which propose() or readBarrier() took work since the last Ready; 0: none. */
  private tookTerm = 0;
  /** Campaigns this node started (it became a pre-candidate or candidate), as seen at Readies. */
  elections = 0;
  /** Times a leader became known after none or another one (the first included), as etcd's leader_changes_seen. */
  leaderChanges = 0;
  private campaigning = false;
  private lastLeader = 0;
  /**
   * An entry whose apply is not finished (StateMachine.apply answered true: a
   * script paused between slices): the rest of its batch [at + 1, to), and
   * what waits for the batch to be applied. Nothing else is applied meanwhile.
   */
  private pausedApply: { ce: readonly Entry[]; at: number; to: number; mine: P | undefined; then: Array<() => void>; waiting: boolean } | undefined;
  private readonly continueApply = (): void => this.stepPausedApply();
  private readonly run = (): void => {
    this.scheduled = false;
    this.processReady();
  };

  constructor(
    private readonly host: ReadyHost,
    private readonly p: ReadyParts<P>,
  ) {}

  schedule(): void {
    if (this.scheduled || this.host.closed) return;
    this.scheduled = true;
    // After the current I/O phase: everything this turn produced goes into one Ready.
    this.p.clock.immediate(this.run);
  }

  private processReady(): void {
    const { rn, writes, reads, peers } = this.p;
    if (this.host.closed || this.host.failed) return;
    // Proposals go to the core even while a Ready is being handled: they
    // form the next one (group commit).
    writes.flush(rn);
    if (this.busy) {
      this.workWhileWriting();
      return;
    }
    // A read-only script paused between slices: Readies go on (persist, send, votes), what they would apply waits for its end.
    this.holdAppliesWhileBusy();
    reads.flush(rn);
    // A read round's heartbeat (and answers to reads already confirmed) leave
    // now, as while a write is in flight: a read-only load then builds no
    // Ready per round (an empty write, a promise, advance).
    this.sendAndAnswerNow();
    if (!rn.hasReady()) return;
    this.busy = true;
    const rd = rn.ready();
    if (rd.softState) this.onSoftState(rd.softState.lead, rd.softState.role);
    this.checkLeadership();
    if (rd.messages.length > 0) peers.send(rd.messages);
    if (rd.snapshot !== undefined) {
      // Never under a paused script: after it, in log order.
      const meta = rd.snapshot.metadata;
      if (this.pausedApply !== undefined) this.whenApplied(() => this.installSnapshot(meta));
      else this.installSnapshot(meta);
    }
    // A snapshot that cannot be loaded is not written over the log either.
    if (this.host.failed) return;
    // Committed entries already on disk need not wait for this Ready's write:
    // applying them now saves a whole fsync of latency per write (the entries
    // of Ready n commit on advance and are handed out in Ready n+1, whose own
    // write carries the next batch).
    const durable = rd.snapshot !== undefined ? 0 : this.durableIndex();
    const ce = rd.committedEntries;
    let early = 0;
    while (early < ce.length && ce[early]!.index <= durable) early++;
    this.allApplied = false;
    if (early > 0 && rd.persistedMessages.length > 0) {
      // A follower's Ready carries its answer to the leader (rd.persistedMessages:
      // the acknowledgement of the entries being written), which the leader's next
      // commit waits for. With the write on this thread (the default) it is done
      // before the loop turns: the answer leaves first, then the entries are
      // applied, from the write's completion (no immediate: it would only cost
      // the loop a turn per batch). A write still in flight when the loop turns
      // (the thread pool) has them applied meanwhile, as on a leader.
      let applied = false;
      const applyEarly = (): void => {
        if (applied || this.host.closed) return;
        applied = true;
        this.applyEntries(ce, 0, early);
        this.whenApplied(() => (this.allApplied = early === ce.length));
      };
      if (!this.p.storage.writesInline) this.p.clock.immediate(applyEarly);
      reads.answer(rd.readStates, this.host.appliedIndex);
      this.persist(rd, early, applyEarly);
      return;
    }
    this.applyEntries(ce, 0, early);
    this.whenApplied(() => (this.allApplied = early === ce.length));
    // A read's quorum confirmation does not depend on this write.
    reads.answer(rd.readStates, this.host.appliedIndex);
    // Replies to the entries just applied are written at the end of this callback
    // (process.nextTick): with the write on this thread (the default), writing
    // first would hold them for a whole fsync of the next batch. They go first.
    if (early > 0 && (rd.entries.length > 0 || rd.mustSync)) process.nextTick(() => this.persist(rd, early, undefined));
    else this.persist(rd, early, undefined);
  }

  /**
   * Contract steps 3–6 of the Ready being handled: the write, the messages
   * that wait for it, the rest of the applies (from `early`, after
   * `applyEarly` if given: the first `early` ones not applied yet), advance.
   */
  private persist(rd: Ready, early: number, applyEarly: (() => void) | undefined): void {
    const { rn, storage, writes, reads, peers, snapshots } = this.p;
    if (this.host.closed || this.host.failed) {
      this.busy = false;
      return;
    }
    const ce = rd.committedEntries;
    const written = storage.persistReady(rd);
    written.then(
      () => {
        if (this.host.closed || this.host.failed) {
          this.busy = false;
          return;
        }
        if (rd.persistedMessages.length > 0) peers.send(rd.persistedMessages);
        applyEarly?.();
        this.applyEntries(ce, early, ce.length);
        const finish = (): void => {
          if (this.host.closed || this.host.failed) {
            this.busy = false;
            return;
          }
          // No snapshot of a state a paused script is half way through.
          if (this.pausedApply === undefined) snapshots.maybeSnapshot();
          rn.advance(rd);
          this.busy = false;
          if (rn.hasReady() || reads.queued || writes.queued) this.processReady();
        };
        // A script paused in this batch or before: the Ready is advanced now and the next ones handled (appends,
        // votes, commits; their entries queue behind the script, as etcd's server applies asynchronously), except
        // past a configuration change, which the core must see applied first.
        if (this.pausedApply !== undefined && ce.some((e) => e.type === EntryType.ConfChange)) this.whenApplied(finish);
        else finish();
      },
      (err: unknown) => {
        // This Ready is never advanced: the core and the disk disagree from here on.
        this.host.onFatal(new Error(`cannot write the raft log: ${(err as Error).message}`, { cause: err }));
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
    return Math.min(this.p.storage.lastStoredIndex, this.p.rn.stableIndex());
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
    this.p.reads.flush(this.p.rn);
    this.sendAndAnswerNow();
    if (!this.allApplied || this.pausedApply !== undefined) return;
    const ents = this.p.rn.takeCommitted(this.durableIndex());
    if (ents.length > 0) this.applyEntries(ents, 0, ents.length);
  }

  /** Sends what may leave before the next Ready (see sendEarly) and answers confirmed reads. */
  sendAndAnswerNow(): void {
    const { rn, peers } = this.p;
    const msgs = rn.peekMessages();
    if (msgs.length > 0 && sendEarly(msgs)) peers.send(rn.takeMessages());
    this.answerNow();
  }

  /** Answers the reads a quorum has confirmed (RawNode.takeReadStates). */
  answerNow(): void {
    const rs = this.p.rn.takeReadStates();
    if (rs.length > 0) this.p.reads.answer(rs, this.host.appliedIndex);
  }

  /** Follower: the leader's snapshot replaces the state machine. */
  private installSnapshot(meta: SnapshotMetadata): void {
    const loaded = this.p.snapshots.install(meta);
    if (loaded === undefined) return;
    this.host.confState = { voters: [...meta.confState.voters], learners: [...meta.confState.learners] };
    this.p.membership.adopt(loaded.members);
    this.host.appliedIndex = meta.index;
    this.p.sm.restored(loaded.appState ?? EMPTY_BUFFER);
    this.p.reads.appliedUpTo(meta.index);
  }

  /** Contract step 5: applies committed entries [from, to) in order, settling this node's proposals. */
  private applyEntries(ce: readonly Entry[], from: number, to: number): void {
    if (from >= to || this.host.failed) return;
    const paused = this.pausedApply;
    if (paused !== undefined) {
      // Log order: after the entry being applied and the rest of its batch.
      paused.then.push(() => this.applyEntries(ce, from, to));
      this.lookAhead(ce, from, to);
      return;
    }
    const { rn, sm, writes } = this.p;
    if (sm.busy?.() === true) {
      // A read-only script paused between slices (run locally): nothing is applied until it ends.
      this.pausedApply = { ce, at: from - 1, to, mine: undefined, then: [], waiting: true };
      this.p.clock.immediate(this.continueApply);
      this.lookAhead(ce, from, to);
      return;
    }
    const host = this.host;
    for (let i = from; i < to; i++) {
      const e = ce[i]!;
      const mine = writes.at(e);
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        host.confState = rn.applyConfChange(cc);
        this.membershipChanged(cc, e.index, e.term);
      } else if (e.data.length > 0) {
        // An empty entry is a new leader's no-op.
        if (sm.apply(e.index, e.data, mine) === true) {
          // A script paused: the event loop turns (ticks, messages, held clients) and it goes on later.
          this.pausedApply = { ce, at: i, to, mine, then: [], waiting: false };
          this.p.clock.immediate(this.continueApply);
          this.lookAhead(ce, i + 1, to);
          break;
        }
        mine?.settle('applied');
      }
      this.entryApplied(e);
    }
    this.p.storage.appliedTo(host.appliedIndex);
    writes.appliedTo(host.appliedIndex);
  }

  /** Committed entries [from, to) queued behind a paused apply: shown to the state machine now (StateMachine.committedAhead). */
  private lookAhead(ce: readonly Entry[], from: number, to: number): void {
    const sm = this.p.sm;
    if (sm.committedAhead === undefined) return;
    for (let i = from; i < to; i++) {
      const e = ce[i]!;
      if (e.type !== EntryType.ConfChange && e.data.length > 0) sm.committedAhead(e.index, e.data);
    }
  }

  private entryApplied(e: Entry): void {
    this.host.appliedIndex = e.index;
    this.p.snapshots.applied(e.data.length);
    this.p.reads.applied(e.index);
  }

  /** Whether an entry's apply is not finished (a script paused in it). */
  get applyPaused(): boolean {
    return this.pausedApply !== undefined;
  }

  /** A read-only script is paused (StateMachine.busy) and nothing waits for it yet: what comes to apply now waits. */
  private holdAppliesWhileBusy(): void {
    if (this.pausedApply !== undefined || this.p.sm.busy?.() !== true) return;
    this.pausedApply = { ce: [], at: -1, to: 0, mine: undefined, then: [], waiting: true };
    this.p.clock.immediate(this.continueApply);
  }

  /** Runs f once every entry handed to applyEntries so far is applied (at once when none is paused). */
  private whenApplied(f: () => void): void {
    if (this.pausedApply !== undefined) this.pausedApply.then.push(f);
    else f();
  }

  /** The paused entry's next slice; once it is applied, the rest of its batch, then what waited for it. */
  private stepPausedApply(): void {
    const pa = this.pausedApply;
    if (pa === undefined) return;
    if (this.host.closed || this.host.failed) return;
    let done: boolean;
    try {
      done = pa.waiting ? this.p.sm.busy?.() !== true : (this.p.sm.continueApply?.() ?? true);
    } catch (err) {
      this.host.onFatal(err as Error);
      return;
    }
    if (!done) {
      this.p.clock.immediate(this.continueApply);
      return;
    }
    this.pausedApply = undefined;
    if (!pa.waiting) {
      pa.mine?.settle('applied');
      this.entryApplied(pa.ce[pa.at]!);
      this.p.storage.appliedTo(this.host.appliedIndex);
      this.p.writes.appliedTo(this.host.appliedIndex);
    }
    this.applyEntries(pa.ce, pa.at + 1, pa.to);
    const queue = pa.then;
    while (queue.length > 0) {
      const next = this.pausedApply as typeof pa | undefined;
      if (next !== undefined) {
        next.then.push(...queue);
        break;
      }
      queue.shift()!();
    }
  }

  /** Applied conf change: members and their links (membership.ts); a new learner may need a fresh snapshot. */
  private membershipChanged(cc: ConfChange, index: number, term: number): void {
    // A new member can only be sent a snapshot whose configuration names it:
    // with a compacted log, take one now rather than at the next threshold.
    if (cc.type === ConfChangeType.AddLearnerNode && this.p.rn.isLeader() && this.p.storage.compactedIndex > 0) void this.p.snapshots.covering(index);
    this.p.membership.applied(cc, index, term);
  }

  private onSoftState(lead: number, role: Role): void {
    const campaigning = role === Role.Candidate || role === Role.PreCandidate;
    if (campaigning && !this.campaigning) this.elections++;
    this.campaigning = campaigning;
    // As etcd counts leader_changes_seen: a leader heard of after none (the same one again included) or another one.
    if (lead !== 0 && lead !== this.lastLeader) this.leaderChanges++;
    this.lastLeader = lead;
    if (lead !== 0) this.host.lastKnownLeader = lead;
    this.host.leaderHistory.observe(Date.now(), this.p.rn.term(), lead);
    if (role === Role.Leader) log.info(`became the leader (term ${this.p.rn.term()})`, { term: this.p.rn.term() });
  }

  /** Work was taken as leader (propose, readBarrier): see checkLeadership. */
  noteLeading(): void {
    if (this.tookTerm === 0) this.tookTerm = this.p.rn.term();
  }

  /**
   * At each Ready: did a leadership under which work may have been taken
   * end since the last one? Then that work learns its fate as a deposed
   * leader's does (writes.deposed: from the new log, or unknown after
   * uncertainWaitMs) and its reads are refused. The driver sees the core
   * only at Readies, and propose() takes work whenever the core leads: while
   * a write is in flight the core may become leader, lose it, and lead
   * again in a later term, with the role shown by the Ready unchanged.
   */
  private checkLeadership(): void {
    const { rn, writes, reads } = this.p;
    const now = rn.isLeader() ? rn.term() : 0;
    const ended = (this.leadingAtReady !== 0 && this.leadingAtReady !== now) || (this.tookTerm !== 0 && this.tookTerm !== now);
    this.leadingAtReady = now;
    this.tookTerm = 0;
    if (!ended) return;
    writes.deposed(rn.leader(), () => rn.isLeader(), () => rn.term());
    reads.deposed();
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
