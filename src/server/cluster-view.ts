/**
 * The cluster page's JSON (/api/cluster): the serving node's round of status
 * answers (src/commands/engine/cluster-status.ts) merged into one view of
 * the cluster — each member's numbers, its lag behind the leader, the
 * leader changes every reachable node saw — and, for what this node cannot
 * see, what it knows instead (since when, why). Pure: tested on its own.
 */
import type { LeaderChange } from '../node/leader-history.js';

/** One of a node's peer links, as it sees them. */
export interface LinkStatus {
  id: number;
  /** Our outgoing connection is up (past the handshake). */
  connected: boolean;
  /** The peer's connection to us is up. */
  inbound: boolean;
  /** Why our outgoing connection last failed, when it is down. */
  error?: string;
}

/** The leader's view of one member's replication (Raft's Progress). */
export interface ProgressView {
  id: number;
  match: number;
  next: number;
  /** probe, replicate or snapshot. */
  state: string;
  /** The leader heard from it within the last election timeout. */
  active: boolean;
  learner: boolean;
}

/** What a node says about itself: the body of a StatusReply (JSON; fields may be added). */
export interface MemberStatus {
  id: number;
  version: string;
  /** Wall-clock ms when the status was taken. */
  time: number;
  uptimeSec: number;
  /** Client address host:port and peer address host:clusterPort. */
  addr: string;
  clusterAddr: string;
  /** leader, follower, candidate or precandidate. */
  role: string;
  /** voter or learner in the applied configuration. */
  membership: string;
  term: number;
  /** The leader this node knows of, 0 when none. */
  leader: number;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  snapshotIndex: number;
  logBytes: number;
  /** INFO instantaneous_ops_per_sec and total_commands_processed: commands run on this node. */
  opsPerSec: number;
  totalCommands: number;
  /** INFO used_memory (heap + external) and used_memory_rss. */
  usedMemory: number;
  rss: number;
  keys: number;
  clients: number;
  links: LinkStatus[];
  /** Only on the leader. */
  progress?: ProgressView[];
  leaderChanges: LeaderChange[];
}

/** A member's answer, or why there is none. */
export type PeerAnswer =
  | { id: number; ok: true; status: MemberStatus; rttMs: number }
  | {
      id: number;
      ok: false;
      /** What went wrong this time. */
      reason: string;
      /** Wall-clock ms since when this member has not answered (the first failure after its last answer). */
      since: number;
      /** Its last answer, if it ever gave one since this node started. */
      lastSeen?: number;
    };

export interface Gathered {
  /** The node that gathered (serves the page). */
  self: MemberStatus;
  /** Every other member this node knows of, by id order. */
  peers: PeerAnswer[];
  /** Wall-clock ms when the round ended. */
  time: number;
}

/** Where the page's data comes from (the engine's ClusterStatus, src/commands/engine/cluster-status.ts). */
export interface ClusterSource {
  /** Asks every other member for its status (a short round; concurrent callers share it). */
  gather(): Promise<Gathered>;
  /** This node's own status now. */
  local(): MemberStatus;
  /** The members this node knows of, with their addresses (for those that do not answer). */
  readonly members: ReadonlyMap<number, { host: string; port: number; clusterPort: number }>;
}

export interface MemberView {
  id: number;
  /** Client and peer addresses (from the member's own answer, else from this node's member list). */
  addr: string;
  clusterAddr: string;
  /** The member answered in this round (the serving node always does). */
  reachable: boolean;
  /** Not reachable: why, since when (wall-clock ms), and its last answer. */
  reason?: string;
  since?: number;
  lastSeen?: number;
  /** Its answer (absent when it did not answer). */
  status?: MemberStatus;
  /** Round-trip time of its answer, ms. */
  rttMs?: number;
  /**
   * Entries behind: from the leader's Progress (last log index − match)
   * when the leader answered, else the highest commit index any member
   * reported − this member's applied index.
   */
  lag?: number;
  lagSource?: 'leader' | 'commit';
  /** The leader's view of it: replication state and whether it heard from it lately. */
  progress?: { state: string; match: number; active: boolean };
  /** The serving node's links with it. */
  link?: { connected: boolean; inbound: boolean; error?: string };
}

export interface LeaderChangeView {
  time: number;
  term: number;
  leader: number;
  /** The members that reported this change (each at its own time; `time` is the earliest). */
  seenBy: number[];
}

export interface ClusterView {
  /** The node serving the page. */
  servedBy: number;
  time: number;
  /** The leader the reachable members agree on (highest term), 0 when none is visible. */
  leader: number;
  term: number;
  members: MemberView[];
  /** Members answering (this node included) out of all known, and whether that is a majority. */
  reachable: number;
  total: number;
  quorum: boolean;
  leaderChanges: LeaderChangeView[];
  /** What the page cannot see, in words. */
  notes: string[];
}

/** At most this many leader changes are listed (newest kept). */
const MAX_CHANGES = 20;

function hhmmss(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

export function aggregate(g: Gathered, known: ReadonlyMap<number, { host: string; port: number; clusterPort: number }> = new Map()): ClusterView {
  const self = g.self;
  const answers: PeerAnswer[] = [{ id: self.id, ok: true, status: self, rttMs: 0 }, ...g.peers];
  answers.sort((a, b) => a.id - b.id);
  const statuses = answers.flatMap((a) => (a.ok ? [a.status] : []));

  // The leader: a member that answered as leader, in the highest term among those; else
  // the leader the answering members name in the highest term (it may not have answered itself).
  let leader = 0;
  let term = 0;
  for (const s of statuses) if (s.role === 'leader' && s.term >= term) ((leader = s.id), (term = s.term));
  if (leader === 0) {
    for (const s of statuses) if (s.leader !== 0 && s.term > term) ((leader = s.leader), (term = s.term));
  }
  for (const s of statuses) term = Math.max(term, s.term);
  const leaderStatus = statuses.find((s) => s.id === leader && s.role === 'leader');
  const maxCommit = Math.max(0, ...statuses.map((s) => s.commit));

  const members: MemberView[] = answers.map((a) => {
    const addr = known.get(a.id);
    const v: MemberView = {
      id: a.id,
      addr: a.ok ? a.status.addr : addr !== undefined ? `${addr.host}:${addr.port}` : '',
      clusterAddr: a.ok ? a.status.clusterAddr : addr !== undefined ? `${addr.host}:${addr.clusterPort}` : '',
      reachable: a.ok,
    };
    if (a.ok) {
      v.status = a.status;
      v.rttMs = a.rttMs;
    } else {
      v.reason = a.reason;
      v.since = a.since;
      if (a.lastSeen !== undefined) v.lastSeen = a.lastSeen;
    }
    const pr = leaderStatus?.progress?.find((p) => p.id === a.id);
    if (leaderStatus !== undefined && a.id === leaderStatus.id) {
      v.lag = 0;
      v.lagSource = 'leader';
    } else if (pr !== undefined && leaderStatus !== undefined) {
      v.lag = Math.max(0, leaderStatus.lastIndex - pr.match);
      v.lagSource = 'leader';
    } else if (a.ok) {
      v.lag = Math.max(0, maxCommit - a.status.applied);
      v.lagSource = 'commit';
    }
    if (pr !== undefined) v.progress = { state: pr.state, match: pr.match, active: pr.active };
    const l = self.links.find((x) => x.id === a.id);
    if (l !== undefined) {
      v.link = { connected: l.connected, inbound: l.inbound };
      if (l.error !== undefined) v.link.error = l.error;
    }
    return v;
  });

  // Every answering node's ring, merged: one row per (term, leader) at the earliest time seen.
  const byKey = new Map<string, LeaderChangeView>();
  for (const s of statuses) {
    for (const c of Array.isArray(s.leaderChanges) ? s.leaderChanges : []) {
      const key = `${c.term}/${c.leader}`;
      const had = byKey.get(key);
      if (had === undefined) byKey.set(key, { time: c.time, term: c.term, leader: c.leader, seenBy: [s.id] });
      else {
        had.time = Math.min(had.time, c.time);
        if (!had.seenBy.includes(s.id)) had.seenBy.push(s.id);
      }
    }
  }
  const leaderChanges = [...byKey.values()].sort((a, b) => a.term - b.term || a.time - b.time).slice(-MAX_CHANGES);
  for (const c of leaderChanges) c.seenBy.sort((a, b) => a - b);

  const reachable = statuses.length;
  const total = answers.length;
  const quorum = reachable > total / 2;
  const notes: string[] = [];
  for (const m of members) {
    if (m.reachable) continue;
    const last = m.lastSeen !== undefined ? `; last answer at ${hhmmss(m.lastSeen)} UTC` : '';
    notes.push(`node ${m.id}: unreachable since ${hhmmss(m.since!)} UTC (from node ${self.id}): ${m.reason}${last}`);
  }
  if (leader === 0) {
    notes.push(
      quorum
        ? `no leader visible from node ${self.id}: an election may be running`
        : `no leader visible from node ${self.id}: it reaches ${reachable} of ${total} members, not a majority; the other side may have a leader this node cannot see`,
    );
  } else if (!quorum) {
    notes.push(`node ${self.id} reaches ${reachable} of ${total} members, not a majority: what it shows of the others may be stale`);
  }
  if (leader !== 0 && leaderStatus === undefined) {
    notes.push(`leader node ${leader} did not answer: lag is measured against the highest commit index reported`);
  }
  return { servedBy: self.id, time: g.time, leader, term, members, reachable, total, quorum, leaderChanges, notes };
}
