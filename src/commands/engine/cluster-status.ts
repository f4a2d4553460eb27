/**
 * The cluster page's data on the node side: what this node says about itself
 * (MemberStatus), the answer it gives a peer that asks (StatusRequest →
 * StatusReply frames, src/transport/status-frame.ts), and the round in which
 * the node serving the page asks every other member and waits a short time
 * for their answers (gather). Nothing here changes data: it reads the
 * node's own numbers, as RAFT.INFO and INFO do.
 *
 * Each member is asked over the peer links that Raft uses, so what the page
 * can see is what this node can reach; a member that does not answer is
 * reported with the time since when and the reason (no connection, or no
 * answer in time: stopped, partitioned, or a build without these frames).
 */
import { progressStateName, roleName } from '../../raft/index.js';
import type { RaftisNode } from '../../node/node.js';
import type { ClusterSource, Gathered, LinkStatus, MemberStatus, PeerAnswer } from '../../server/cluster-view.js';
import { FrameType } from '../../transport/frame.js';
import { decodeStatusReply, decodeStatusRequest, encodeStatusReply, encodeStatusRequest } from '../../transport/status-frame.js';
import { createLogger } from '../../util/log.js';
import type { Engine } from './engine.js';

const log = createLogger('status');

/** What the status service needs from the node; the engine gives the real one, tests a fake. */
export interface StatusPort {
  readonly selfId: number;
  /** The members this node knows of (itself included), with their addresses. */
  readonly members: ReadonlyMap<number, { host: string; port: number; clusterPort: number }>;
  /** Sends a status frame; false when there is no link to that peer. */
  send(to: number, type: FrameType.StatusRequest | FrameType.StatusReply, body: Buffer): boolean;
  /** Why there is no working link to `id` right now, or undefined if our outgoing connection is up. */
  linkDown(id: number): string | undefined;
  local(): MemberStatus;
  now(): number;
}

/** How long the page's round waits for answers: a peer farther away than this is shown as not answering. */
export const DEFAULT_GATHER_TIMEOUT_MS = 700;
/** Rounds closer together than this share one (several open pages, quick reloads). */
const REUSE_MS = 250;

interface Pending {
  to: number;
  sent: number;
  done: (a: { status: MemberStatus; rttMs: number } | undefined) => void;
}

export class ClusterStatus implements ClusterSource {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Per member: its last answer and since when it has not answered. */
  private readonly seen = new Map<number, { lastOk?: number; failingSince?: number }>();
  private round: Promise<Gathered> | undefined;
  private last: Gathered | undefined;

  constructor(
    private readonly port: StatusPort,
    private readonly timeoutMs = DEFAULT_GATHER_TIMEOUT_MS,
  ) {}

  /** A StatusRequest or StatusReply frame from peer `from`. */
  onFrame(type: number, body: Buffer, from: number): void {
    try {
      if (type === FrameType.StatusRequest) {
        const id = decodeStatusRequest(body);
        this.port.send(from, FrameType.StatusReply, encodeStatusReply(id, this.port.local()));
      } else if (type === FrameType.StatusReply) {
        const { id, status } = decodeStatusReply(body);
        const p = this.pending.get(id);
        // A late answer (after the round gave up) or one from another node than asked is dropped.
        if (p === undefined || p.to !== from) return;
        this.pending.delete(id);
        p.done({ status: status as unknown as MemberStatus, rttMs: this.port.now() - p.sent });
      }
    } catch (e) {
      log.warn(`ignoring a malformed status frame from node ${from}: ${(e as Error).message}`);
    }
  }

  /** Asks every other member for its status and waits up to the timeout; concurrent callers share one round. */
  gather(): Promise<Gathered> {
    if (this.round !== undefined) return this.round;
    if (this.last !== undefined && this.port.now() - this.last.time < REUSE_MS) return Promise.resolve(this.last);
    this.round = this.ask().finally(() => (this.round = undefined));
    return this.round;
  }

  private async ask(): Promise<Gathered> {
    const ids = [...this.port.members.keys()].filter((id) => id !== this.port.selfId).sort((a, b) => a - b);
    const answers = await Promise.all(ids.map((id) => this.askOne(id)));
    const now = this.port.now();
    const peers: PeerAnswer[] = answers.map((a, i) => {
      const id = ids[i]!;
      const s = this.seen.get(id) ?? {};
      this.seen.set(id, s);
      if (typeof a !== 'string') {
        s.lastOk = now;
        s.failingSince = undefined;
        return { id, ok: true, status: a.status, rttMs: a.rttMs };
      }
      s.failingSince ??= now;
      const out: PeerAnswer = { id, ok: false, reason: a, since: s.failingSince };
      if (s.lastOk !== undefined) out.lastSeen = s.lastOk;
      return out;
    });
    for (const id of this.seen.keys()) if (!ids.includes(id)) this.seen.delete(id);
    this.last = { self: this.port.local(), peers, time: now };
    return this.last;
  }

  /** The peer's status, or why there is none. */
  private askOne(to: number): Promise<{ status: MemberStatus; rttMs: number } | string> {
    const down = this.port.linkDown(to);
    if (down !== undefined) return Promise.resolve(down);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(`no answer within ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      timer.unref?.();
      this.pending.set(id, {
        to,
        sent: this.port.now(),
        done: (a) => {
          clearTimeout(timer);
          resolve(a ?? 'no answer');
        },
      });
      if (!this.port.send(to, FrameType.StatusRequest, encodeStatusRequest(id))) {
        this.pending.delete(id);
        clearTimeout(timer);
        resolve('no link to this member');
      }
    });
  }

  get members(): ReadonlyMap<number, { host: string; port: number; clusterPort: number }> {
    return this.port.members;
  }

  /** This node's own status now. */
  local(): MemberStatus {
    return this.port.local();
  }

  /** Settles every round in flight (the node is closing). */
  close(): void {
    for (const p of this.pending.values()) p.done(undefined);
    this.pending.clear();
  }
}

/** The engine's StatusPort: the node's numbers and links. */
export function engineStatusPort(e: Engine): StatusPort {
  return {
    get selfId() {
      return e.node.id;
    },
    get members() {
      return e.node.members;
    },
    send: (to, type, body) => e.node.sendForward(to, type, body),
    linkDown: (id) => {
      const l = e.node.peerLink(id);
      if (l === undefined) return 'no link to this member';
      if (l.connected) return undefined;
      return l.lastError !== undefined ? `no connection (${l.lastError})` : 'no connection';
    },
    local: () => localStatus(e),
    now: () => Date.now(),
  };
}

/** This node's own numbers, as a peer or the page sees them. */
export function localStatus(e: Engine): MemberStatus {
  const node: RaftisNode = e.node;
  const st = node.status();
  const mem = process.memoryUsage();
  const self = node.members.get(node.id);
  const links: LinkStatus[] = [];
  for (const id of [...node.members.keys()].sort((a, b) => a - b)) {
    if (id === node.id) continue;
    const l = node.peerLink(id);
    const link: LinkStatus = { id, connected: l?.connected ?? false, inbound: l?.inbound ?? false };
    if (l !== undefined && !l.connected && l.lastError !== undefined) link.error = l.lastError;
    links.push(link);
  }
  const out: MemberStatus = {
    id: node.id,
    version: e.info.version,
    time: Date.now(),
    uptimeSec: Math.floor((Date.now() - e.startedAt) / 1000),
    addr: self !== undefined ? `${self.host}:${self.port}` : `${e.info.bind ?? '127.0.0.1'}:${e.info.port}`,
    clusterAddr: self !== undefined ? `${self.host}:${self.clusterPort}` : '',
    role: roleName(st.role).replace(/^State/, '').toLowerCase(),
    membership: node.learners.includes(node.id) ? 'learner' : 'voter',
    term: st.term,
    leader: node.leader,
    commit: st.commit,
    applied: node.appliedIndex,
    lastIndex: node.lastLogIndex,
    firstIndex: node.firstIndex,
    snapshotIndex: node.snapshotIndex,
    logBytes: node.logBytes,
    opsPerSec: e.stats.instantaneous().ops,
    totalCommands: e.stats.totalCommands,
    usedMemory: mem.heapUsed + mem.external,
    rss: mem.rss,
    keys: node.dbs.size,
    clients: e.clients.size,
    links,
    leaderChanges: node.leaderHistory.list(),
  };
  if (st.progress.length > 0) {
    out.progress = st.progress
      .map((p) => ({ id: p.id, match: p.match, next: p.next, state: progressStateName(p.state).replace(/^State/, '').toLowerCase(), active: p.recentActive, learner: p.isLearner }))
      .sort((a, b) => a.id - b.id);
  }
  return out;
}
