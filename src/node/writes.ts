/**
 * Proposals and in-flight writes: what the driver owes each write it took.
 *
 * Proposals of one event-loop turn reach the core as one batch (one append,
 * one MsgApp per follower); their indexes follow the log's last one, so
 * propose() can tell the caller the index at once (only the leader appends
 * to its own log; flush() checks the prediction). Once appended they wait
 * in PendingWrites until the entry at their index is applied, and each is
 * settled exactly once:
 *
 *   applied      the entry at its index is the one it proposed (same term);
 *   lost         a different entry was committed at its index;
 *   unknown      a snapshot replaced the entries around it, a new proposal
 *                took its index, or this node was deposed and did not learn
 *                its fate within `uncertainWaitMs`;
 *   not-leader / dropped   never appended (refused at propose or flush).
 */
import { EntryType, ProposalDroppedError, Role, type Entry, type RawNode } from '../raft/index.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { createLogger } from '../util/log.js';
import { Histogram, LATENCY_BUCKETS_SECONDS, monotonicSeconds } from '../util/histogram.js';
import { PendingWrites } from './pending-writes.js';
import type { Outcome, Proposal } from './state-machine.js';

const log = createLogger('node');

/** Batches whose commit is being timed at once; beyond it, the newest are not timed (a stalled quorum). */
const TIMED_BATCHES = 1024;

const settleUnknown = (p: Proposal): void => p.settle('unknown');
const settleLost = (p: Proposal): void => p.settle('lost');

export class Writes<P extends Proposal> {
  /** Proposed this turn, not yet handed to the core. */
  private queue: P[] = [];
  private readonly pending = new PendingWrites<P>();
  private uncertainTimer: TimerHandle | undefined;
  /** Proposals the core appended (the operator's /metrics). */
  proposed = 0;
  /** Seconds from a proposal's hand-off to the core until its index is applied here. */
  readonly commitLatency = new Histogram(LATENCY_BUCKETS_SECONDS);
  /**
   * The batches being timed, a ring: each batch's last index, size and
   * hand-off time. Timed per batch rather than per proposal, so the cost is
   * one ring slot per Ready, not per write.
   */
  private readonly timedLast = new Float64Array(TIMED_BATCHES);
  private readonly timedSize = new Float64Array(TIMED_BATCHES);
  private readonly timedAt = new Float64Array(TIMED_BATCHES);
  private timedHead = 0;
  private timedCount = 0;

  constructor(
    private readonly uncertainWaitMs: number,
    private readonly clock: Clock,
  ) {}

  /** Writes proposed and not yet settled, queued ones included. */
  get size(): number {
    return this.pending.size + this.queue.length;
  }

  /** Proposals wait for the next Ready. */
  get queued(): boolean {
    return this.queue.length > 0;
  }

  /** Proposals of this turn not yet handed to the core (their indexes follow the log's last one). */
  get queuedCount(): number {
    return this.queue.length;
  }

  /**
   * Takes a proposal (the caller checked that this node leads and no
   * transfer is in progress): sets p.index to where it will be appended.
   */
  add(rn: RawNode, p: P): void {
    p.index = rn.lastIndex() + this.queue.length + 1;
    this.queue.push(p);
  }

  /** Hands this turn's proposals to the core as one batch; refuses them all if it will not take them. */
  flush(rn: RawNode): void {
    if (this.queue.length === 0) return;
    const q = this.queue;
    this.queue = [];
    let ref;
    let refusal: Outcome = 'not-leader';
    // Only a leader may propose: the core would forward a follower's
    // proposal to the leader, and a write we then refuse could still commit.
    if (rn.role() === Role.Leader) {
      try {
        ref = rn.proposeBatch(q.map((p) => p.data));
      } catch (e) {
        if (!(e instanceof ProposalDroppedError)) throw e;
        refusal = 'dropped';
      }
    }
    if (ref === undefined) {
      for (const p of q) p.settle(refusal);
      return;
    }
    if (ref.index !== q[0]!.index) {
      throw new Error(`raft appended proposals at ${ref.index}, the driver expected ${q[0]!.index}`);
    }
    this.proposed += q.length;
    this.timeBatch(ref.index + q.length - 1, q.length);
    for (const p of q) {
      p.term = ref.term;
      // A write still queued at this index or later (from an earlier term) may yet commit elsewhere.
      this.pending.add(p, settleUnknown);
    }
  }

  private timeBatch(last: number, size: number): void {
    if (this.timedCount === TIMED_BATCHES) return;
    const slot = (this.timedHead + this.timedCount) % TIMED_BATCHES;
    this.timedLast[slot] = last;
    this.timedSize[slot] = size;
    this.timedAt[slot] = monotonicSeconds();
    this.timedCount++;
  }

  /** Entries up to `index` were applied: the timed batches they complete are observed. */
  appliedTo(index: number): void {
    if (this.timedCount === 0 || this.timedLast[this.timedHead]! > index) return;
    const now = monotonicSeconds();
    while (this.timedCount > 0 && this.timedLast[this.timedHead]! <= index) {
      const h = this.timedHead;
      this.commitLatency.observeN(now - this.timedAt[h]!, this.timedSize[h]!);
      this.timedHead = (h + 1) % TIMED_BATCHES;
      this.timedCount--;
    }
  }

  /**
   * The committed entry `e` is being applied: returns this node's proposal
   * for it, when `e` is that proposal. A proposal at that index with another
   * term was lost (settled here); proposals at lower indexes that never came
   * up were replaced by a snapshot (unknown).
   */
  at(e: Entry): P | undefined {
    if (this.pending.size === 0) return undefined;
    const p = this.pending.take(e.index, settleUnknown);
    if (p === undefined) return undefined;
    if (p.term === e.term && e.type === EntryType.Normal && e.data.length > 0) return p;
    // A new leader's entry (its no-op, a conf change, another write) took the place of ours.
    settleLost(p);
    return undefined;
  }

  /**
   * A leadership of this node ended (RaftisNode.checkLeadership): writes in
   * flight learn their fate from the new leader's log as it is applied here;
   * those still unsettled after a bounded wait are told their outcome is
   * unknown. The wait goes on if this node leads again meanwhile (in a later
   * term): its log may no longer hold those writes, and nothing else would
   * settle one whose index no entry of the new term reaches (until new
   * writes take it), so at the end of the wait the writes of earlier terms
   * are settled unknown all the same.
   */
  deposed(lead: number, isLeader: () => boolean, term: () => number): void {
    log.info(`a leadership of this node ended (leader now: ${lead || 'unknown'}); ${this.pending.size} writes in flight wait for their fate`);
    // Their indexes may be applied with other entries: not timed as commits.
    this.timedCount = 0;
    this.clock.clear(this.uncertainTimer);
    this.uncertainTimer = this.clock.timeout(() => {
      this.uncertainTimer = undefined;
      if (!isLeader()) {
        this.pending.drain(settleUnknown);
        return;
      }
      // Leading again: this term's writes follow every older one in the queue.
      const now = term();
      this.pending.drainWhile((p) => p.term < now, settleUnknown);
    }, this.uncertainWaitMs);
    this.uncertainTimer.unref?.();
  }

  /**
   * The node failed (RaftisNode.onFatal): writes appended may yet commit
   * elsewhere (unknown); those still queued were never appended (not-leader).
   */
  fail(): void {
    this.clock.clear(this.uncertainTimer);
    this.uncertainTimer = undefined;
    const q = this.queue;
    this.queue = [];
    for (const p of q) p.settle('not-leader');
    this.pending.drain(settleUnknown);
  }

  close(): void {
    this.clock.clear(this.uncertainTimer);
  }
}
