/**
 * A snapshot of a node's Raft state for introspection (INFO, CLUSTER
 * commands, tests). Plain data; building it copies.
 */
import type { ConfState } from './messages.js';
import type { Raft } from './raft.js';
import type { Role } from './role.js';
import type { ProgressState } from './tracker/state.js';

export interface ProgressStatus {
  id: number;
  match: number;
  next: number;
  state: ProgressState;
  paused: boolean;
  inflight: number;
  recentActive: boolean;
  isLearner: boolean;
  pendingSnapshot: number;
  /** The Progress in etcd's text form, e.g. "StateReplicate match=14 next=15 paused inflight=3[full]". */
  text: string;
}

export interface Status {
  id: number;
  term: number;
  vote: number;
  commit: number;
  applied: number;
  lead: number;
  role: Role;
  leadTransferee: number;
  config: ConfState;
  /** One entry per member, by id; filled only on the leader. */
  progress: ProgressStatus[];
}

export function statusOf(r: Raft): Status {
  const progress: ProgressStatus[] = [];
  if (r.lead === r.id) {
    r.trk.visit((id, pr) => {
      progress.push({
        id,
        match: pr.match,
        next: pr.next,
        state: pr.state,
        paused: pr.isPaused(),
        inflight: pr.inflights.count(),
        recentActive: pr.recentActive,
        isLearner: pr.isLearner,
        pendingSnapshot: pr.pendingSnapshot,
        text: pr.toString(),
      });
    });
  }
  return {
    id: r.id,
    term: r.term,
    vote: r.vote,
    commit: r.raftLog.committed,
    applied: r.raftLog.applied,
    lead: r.lead,
    role: r.role,
    leadTransferee: r.leadTransferee,
    config: r.trk.confState(),
    progress,
  };
}
