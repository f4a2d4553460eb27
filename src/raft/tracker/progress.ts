/**
 * The leader's view of one follower and the flow control towards it. Every
 * change of ProgressState happens in a method of this class (etcd spreads
 * them over raft.go); raft.ts only reports events: an append was sent, acked,
 * rejected, a heartbeat answered, the peer unreachable, a snapshot done.
 *
 * Invariants: 0 <= match < next; sentCommit < next.
 */
import { invariant } from '../errors.js';
import { Inflights } from './inflights.js';
import { ProgressState, progressStateName } from './state.js';

export class Progress {
  /** Highest index known to be durable in the follower's log and equal to ours. */
  match: number;
  /** Next index to send. Entries in (match, next) are in flight. */
  next: number;
  /** Highest commit index sent to the follower (capped below next). */
  sentCommit = 0;
  state: ProgressState = ProgressState.Probe;
  /** In Snapshot state: index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. Always true for the leader itself. */
  recentActive = false;
  /** Set after each MsgApp: in Probe state, hold further probes until a heartbeat response. */
  msgAppProbesPaused = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(init: { match: number; next: number; maxInflight: number; maxInflightBytes: number; isLearner: boolean; recentActive?: boolean }) {
    this.match = init.match;
    this.next = init.next;
    this.inflights = new Inflights(init.maxInflight, init.maxInflightBytes);
    this.isLearner = init.isLearner;
    this.recentActive = init.recentActive ?? false;
    this.checkInvariant();
  }

  /** Back to a fresh Probe at `next` (used on every term change of the leader). */
  resetForNewTerm(match: number, next: number): void {
    this.resetState(ProgressState.Probe);
    this.match = match;
    this.next = next;
    this.sentCommit = 0;
    this.recentActive = false;
    this.checkInvariant();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      // The snapshot reached the follower: probe from just after it.
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  /** The follower lost its log (wiped disk): nothing it acknowledged is there any more. */
  forgetMatch(): void {
    this.resetState(ProgressState.Probe);
    this.match = 0;
    this.next = 1;
    this.sentCommit = 0;
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
    this.sentCommit = Math.min(this.sentCommit, this.match);
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
    this.next = Math.max(this.next, snapshotIndex + 1);
  }

  /** A MsgApp carrying `entries` entries (`bytes` in total) starting at next was sent. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === ProgressState.Replicate && entries > 0) {
      this.next += entries;
      this.inflights.add(this.next - 1, bytes);
    }
    this.msgAppProbesPaused = true;
  }

  sentCommitIndex(commit: number): void {
    this.sentCommit = Math.min(Math.max(this.sentCommit, commit), this.next - 1);
  }

  /** Whether sending `commit` could move the follower's commit index. */
  canBumpCommit(commit: number): boolean {
    return this.sentCommit < Math.min(commit, this.next - 1);
  }

  /** Whether flow control allows at least one more entry to go out. */
  canSendEntries(lastIndex: number): boolean {
    return this.next <= lastIndex && (this.state === ProgressState.Probe || !this.inflights.full());
  }

  /**
   * Whether a MsgApp should go to this follower now. In Replicate, an empty
   * one still goes when all entries are in flight but probes are not paused:
   * it lets a follower whose MsgApps were all lost answer and unblock the
   * pipeline.
   */
  shouldSendMsgApp(lastIndex: number, commit: number): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return !this.msgAppProbesPaused;
      case ProgressState.Replicate:
        return this.canBumpCommit(commit) || (this.match < lastIndex && (!this.msgAppProbesPaused || this.canSendEntries(lastIndex)));
      case ProgressState.Snapshot:
        return false;
    }
  }

  /**
   * The follower acknowledged its log matches ours up to `index`. Moves Probe
   * to Replicate, and Snapshot to Replicate once the follower can be caught up
   * from our log (`firstIndex` is our first available entry). Returns whether
   * anything changed (false for stale or duplicate acks).
   */
  onAppendAccepted(index: number, firstIndex: number): boolean {
    const advanced = index > this.match;
    if (advanced) {
      this.match = index;
      this.next = Math.max(this.next, index + 1);
    } else if (!(index === this.match && this.state === ProgressState.Probe)) {
      return false;
    }
    switch (this.state) {
      case ProgressState.Probe:
        this.becomeReplicate();
        break;
      case ProgressState.Snapshot:
        if (this.match + 1 >= firstIndex) {
          this.becomeProbe();
          this.becomeReplicate();
        }
        break;
      case ProgressState.Replicate:
        this.inflights.freeLE(index);
        break;
    }
    this.checkInvariant();
    return true;
  }

  /**
   * The follower rejected the MsgApp anchored at `rejected`; `hint` is where
   * the logs may match. Returns false for stale rejections (reordered or
   * duplicated messages), otherwise lowers next, falls back to Probe and
   * clears the way for the next probe.
   */
  onAppendRejected(rejected: number, hint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.becomeProbe();
      return true;
    }
    // Probes go one at a time, so a genuine rejection is for next - 1.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
    this.msgAppProbesPaused = false;
    this.checkInvariant();
    return true;
  }

  onHeartbeatResponse(): void {
    this.recentActive = true;
    this.msgAppProbesPaused = false;
  }

  /** The transport could not deliver: in Replicate, MsgApps were likely lost. */
  onUnreachable(): void {
    if (this.state === ProgressState.Replicate) this.becomeProbe();
  }

  /**
   * The driver reports the snapshot's fate. On failure probe from match again.
   * Either way wait for the follower (or the next heartbeat) before sending.
   */
  onSnapshotStatus(failed: boolean): void {
    if (this.state !== ProgressState.Snapshot) return;
    if (failed) this.pendingSnapshot = 0;
    this.becomeProbe();
    this.msgAppProbesPaused = true;
  }

  /** Whether appends to this follower are currently held back. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.msgAppProbesPaused;
      case ProgressState.Replicate:
        return this.msgAppProbesPaused && this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }

  toString(): string {
    let s = `${progressStateName(this.state)} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    const n = this.inflights.count();
    if (n > 0) {
      s += ` inflight=${n}`;
      if (this.inflights.full()) s += '[full]';
    }
    return s;
  }

  private resetState(state: ProgressState): void {
    this.msgAppProbesPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  private checkInvariant(): void {
    invariant(this.match < this.next, () => `progress invariant broken: match=${this.match} next=${this.next}`);
  }
}
