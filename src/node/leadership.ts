/**
 * Leadership and membership, as the driver runs them: proposing membership
 * changes (one at a time), promoting caught-up learners, handing leadership
 * over, asking for it, and noticing that this node was removed while it
 * could not hear of it. The member records themselves are in membership.ts.
 */
import { ConfChangeType, EMPTY_BUFFER, type ConfState, type RawNode } from '../raft/index.js';
import { RejectCode } from '../transport/handshake.js';
import { sleep, type Clock } from '../util/clock.js';
import { createLogger } from '../util/log.js';
import { NodeRefusal } from './errors.js';
import { memberAddressContext, type Member, type Membership } from './membership.js';

const log = createLogger('node');

/** How long a majority must refuse a member as unknown before it concludes it was removed. */
const REMOVED_GRACE_MS = 5000;

/** A learner is promoted once its log is within this many entries of the leader's. */
const PROMOTE_LAG = 200;

/** What leadership needs of the driver. */
export interface LeadershipHost {
  readonly id: number;
  readonly rn: RawNode;
  readonly confState: ConfState;
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly closed: boolean;
  /** This node already knows it was removed. */
  readonly removed: boolean;
  readonly membership: Membership;
  /** An election timeout in ms (the bound on waits for a transfer or a new leader's catch-up). */
  readonly electionMs: number;
  readonly clock: Clock;
  /** Hands this turn's proposals to the core (their indexes are promised before a conf change's). */
  flushProposals(): void;
  scheduleReady(): void;
  /** This node learnt it is no longer a member. */
  removedSelf(): void;
}

const notLeader = (): NodeRefusal => new NodeRefusal('not-leader', 'not the leader');
const inProgress = (): NodeRefusal => new NodeRefusal('change-in-progress', 'a membership change is in progress; retry when it has completed');

export class Leadership {
  /** Per peer: when it first and last refused us as an unknown node. */
  private readonly unknownTo = new Map<number, { first: number; last: number }>();

  constructor(private readonly host: LeadershipHost) {}

  private get isLeader(): boolean {
    return !this.host.closed && this.host.rn.isLeader();
  }

  /**
   * The leader may not propose a membership change yet: one may be in its
   * log unapplied. A new leader counts every entry of its log as possibly
   * one until it has applied them all (etcd's rule).
   */
  get confChangePending(): boolean {
    return this.host.rn.pendingConfIndex() > this.host.appliedIndex;
  }

  /** A membership change entry is in the log and not yet applied (a change really in progress). */
  get confChangeInFlight(): boolean {
    try {
      return this.host.rn.hasConfChangeAfter(this.host.appliedIndex);
    } catch {
      return true;
    }
  }

  /**
   * Proposes a membership change (leader only) and resolves once it is
   * applied; rejects with a NodeRefusal when it cannot be made.
   */
  async changeMembership(type: ConfChangeType, nodeId: number, addr?: Member): Promise<void> {
    const h = this.host;
    if (!this.isLeader) throw notLeader();
    if (this.confChangeInFlight) throw inProgress();
    if (this.confChangePending) {
      // A new leader applying its log: not a change in progress; wait for it (bounded).
      const deadline = h.clock.now() + h.electionMs * 2;
      while (this.confChangePending && this.isLeader && h.clock.now() < deadline) await sleep(h.clock, 2);
      if (!this.isLeader) throw notLeader();
      if (this.confChangeInFlight || this.confChangePending) throw inProgress();
    }
    const context = addr === undefined ? EMPTY_BUFFER : memberAddressContext(addr);
    // Queued proposals must reach the log first: their indexes are already promised.
    h.flushProposals();
    let ref;
    try {
      ref = h.rn.proposeConfChange({ type, nodeId, context });
    } catch (e) {
      if (this.confChangeInFlight) throw inProgress();
      throw new NodeRefusal('refused', `the membership change was refused: ${(e as Error).message}`);
    }
    if (ref === undefined) throw notLeader();
    h.scheduleReady();
    return h.membership.waitApplied(ref.index, ref.term);
  }

  /** Leader: promotes learners that have caught up (one change at a time). */
  maybePromote(): void {
    const h = this.host;
    if (!this.isLeader || this.confChangePending || h.confState.learners.length === 0) return;
    const st = h.rn.status();
    const last = h.rn.lastIndex();
    for (const id of h.confState.learners) {
      const pr = st.progress.find((p) => p.id === id);
      if (pr === undefined || pr.match + PROMOTE_LAG < last || pr.match < h.firstIndex) continue;
      log.info(`learner ${id} has caught up (match ${pr.match} of ${last}): promoting it to voter`);
      this.changeMembership(ConfChangeType.AddNode, id).catch((e: Error) => log.warn(`promoting learner ${id} failed: ${e.message}`));
      return;
    }
  }

  /**
   * Leader: hands leadership to `target` (default: the most up-to-date
   * voter). Resolves with the new leader's id once it leads; rejects if it
   * does not within two election timeouts (the core then resumes leading).
   */
  transferLeadership(target?: number): Promise<number> {
    const h = this.host;
    if (!this.isLeader) return Promise.reject(notLeader());
    const voters = h.confState.voters;
    let to = target;
    if (to === undefined) {
      let best = -1;
      for (const p of h.rn.status().progress) {
        if (p.id === h.id || p.isLearner || !voters.includes(p.id)) continue;
        if (p.match > best) {
          best = p.match;
          to = p.id;
        }
      }
      if (to === undefined) return Promise.reject(new NodeRefusal('no-other-voter', 'there is no other voter to transfer leadership to'));
    }
    if (to === h.id) return Promise.resolve(h.id);
    if (!voters.includes(to)) return Promise.reject(new NodeRefusal('not-a-voter', `node ${to} is not a voter of this cluster`));
    const transferee = to;
    h.rn.transferLeader(transferee);
    h.scheduleReady();
    const limitMs = h.electionMs * 2;
    return new Promise((resolve, reject) => {
      const started = h.clock.now();
      const check = (): void => {
        if (h.rn.leader() === transferee) return resolve(transferee);
        if (h.closed) return reject(new NodeRefusal('closing', 'node closing'));
        if (h.clock.now() - started > limitMs) {
          return reject(
            new NodeRefusal('timeout', `leadership transfer to node ${transferee} did not complete within ${limitMs} ms; node ${h.rn.leader() || 'none'} leads`),
          );
        }
        h.clock.timeout(check, 2);
      };
      check();
    });
  }

  /** A follower asks the leader to hand leadership to this node (CLUSTER FAILOVER). */
  requestLeadership(): boolean {
    const h = this.host;
    if (h.rn.leader() === 0 || h.rn.isLeader()) return false;
    h.rn.transferLeader(h.id);
    h.scheduleReady();
    return true;
  }

  /**
   * A removed node may never learn of its removal (it was down or cut off
   * when the change committed, and the members stop talking to it). When a
   * majority of the other voters have refused it as unknown for a while, it
   * concludes the same, says so and exits. A node still joining is not yet a
   * member in its own configuration, so it never concludes this.
   */
  rejectedBy(id: number, code: number): void {
    const h = this.host;
    if (code !== RejectCode.UnknownNode || h.removed || h.closed) return;
    const now = h.clock.now();
    const seen = this.unknownTo.get(id);
    if (seen === undefined || now - seen.last > REMOVED_GRACE_MS) this.unknownTo.set(id, { first: now, last: now });
    else seen.last = now;
    const cs = h.confState;
    if (!cs.voters.includes(h.id) && !cs.learners.includes(h.id)) return;
    const others = cs.voters.filter((v) => v !== h.id);
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
    h.removedSelf();
  }
}
