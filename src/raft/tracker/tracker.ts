/**
 * The configuration (voters, learners), one Progress per member, and the
 * votes of the current election. Quorum questions (what is committed, who won,
 * is a quorum alive) are answered here from the quorum functions.
 *
 * Members are visited in increasing id order so that runs are reproducible.
 */
import type { ConfState } from '../messages.js';
import { committedIndex, VoteResult, voteResult } from '../quorum.js';
import { Progress } from './progress.js';

export interface VoteTally {
  granted: number;
  rejected: number;
  result: VoteResult;
}

export class ProgressTracker {
  private voterIds: number[] = [];
  private learnerIds: number[] = [];
  private memberIds: number[] = [];
  private readonly progress = new Map<number, Progress>();
  private readonly votes = new Map<number, boolean>();
  /** committed()'s lookup, made once. */
  private readonly matchOf = (id: number): number | undefined => this.progress.get(id)?.match;

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  voters(): readonly number[] {
    return this.voterIds;
  }

  learners(): readonly number[] {
    return this.learnerIds;
  }

  isVoter(id: number): boolean {
    return this.voterIds.includes(id);
  }

  get(id: number): Progress | undefined {
    return this.progress.get(id);
  }

  /** All members, voters and learners, in increasing id order. */
  ids(): readonly number[] {
    return this.memberIds;
  }

  visit(fn: (id: number, pr: Progress) => void): void {
    for (const id of this.memberIds) fn(id, this.progress.get(id) as Progress);
  }

  confState(): ConfState {
    return { voters: [...this.voterIds], learners: [...this.learnerIds] };
  }

  /** A single voter: it alone is a quorum. */
  isSingleton(): boolean {
    return this.voterIds.length === 1;
  }

  /**
   * Replaces the configuration. Members that stay keep their Progress; new
   * ones start probing at `next` and count as recently active so a check
   * quorum right after the change does not depose the leader.
   */
  setConfig(cs: ConfState, next: number): void {
    const learners = cs.learners.filter((id) => !cs.voters.includes(id));
    this.voterIds = [...new Set(cs.voters)].sort((a, b) => a - b);
    this.learnerIds = [...new Set(learners)].sort((a, b) => a - b);
    this.memberIds = [...this.voterIds, ...this.learnerIds].sort((a, b) => a - b);
    const keep = new Set(this.memberIds);
    for (const id of [...this.progress.keys()]) {
      if (!keep.has(id)) this.progress.delete(id);
    }
    for (const id of keep) {
      const isLearner = this.learnerIds.includes(id);
      const pr = this.progress.get(id);
      if (pr === undefined) {
        this.progress.set(
          id,
          new Progress({
            match: 0,
            next: Math.max(next, 1),
            maxInflight: this.maxInflight,
            maxInflightBytes: this.maxInflightBytes,
            isLearner,
            recentActive: true,
          }),
        );
      } else {
        pr.isLearner = isLearner;
      }
    }
    for (const id of [...this.votes.keys()]) {
      if (!this.voterIds.includes(id)) this.votes.delete(id);
    }
  }

  /** The largest index durable on a quorum of voters. */
  committed(): number {
    return committedIndex(this.voterIds, this.matchOf);
  }

  /** Whether a quorum of voters was heard from since the last check. */
  quorumActive(): boolean {
    return voteResult(this.voterIds, (id) => this.progress.get(id)?.recentActive) === VoteResult.Won;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records id's first answer in this election; later ones are ignored. */
  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteTally {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voterIds) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voterIds, (id) => this.votes.get(id)) };
  }
}
