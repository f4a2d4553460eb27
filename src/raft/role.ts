/**
 * A node's role in its current term, and the ways it can set out to change
 * it (campaigns).
 */

export enum Role {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

const ROLE_NAMES: Record<Role, string> = {
  [Role.Follower]: 'StateFollower',
  [Role.Candidate]: 'StateCandidate',
  [Role.Leader]: 'StateLeader',
  [Role.PreCandidate]: 'StatePreCandidate',
};

export function roleName(r: Role): string {
  return ROLE_NAMES[r];
}

/** Volatile state worth reporting to the driver; never persisted. */
export interface SoftState {
  lead: number;
  role: Role;
}

export enum CampaignType {
  /** Pre-vote round (thesis §9.6): asks whether an election could be won, without raising the term. */
  PreElection = 0,
  Election = 1,
  /** Asked by the leader through TimeoutNow: skips pre-vote and overrides the followers' lease. */
  Transfer = 2,
}

/** Vote context marking a campaign started by leadership transfer. */
export const CAMPAIGN_TRANSFER_CONTEXT = Buffer.from('CampaignTransfer');
