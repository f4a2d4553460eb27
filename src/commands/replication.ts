/**
 * ROLE and WAIT: Redis's replication commands, answered from Raft. The
 * leader is the master and the other members its replicas (as in INFO
 * replication and CLUSTER SLOTS); a replica's offset is its match index.
 */
import { ERR } from './errors.js';
import { string2ll } from '../util/number.js';
import type { RaftisNode } from '../node/node.js';
import type { ConnHandler, ConnCtx } from './table.js';

const WAIT_ON_REPLICA =
  'ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.';
const TIMEOUT_NOT_INTEGER = 'ERR timeout is not an integer or out of range';
const TIMEOUT_NEGATIVE = 'ERR timeout is negative';
/** How often a waiting WAIT looks at the followers' match indexes. */
const WAIT_POLL_MS = 5;

/** The other members, each with how far its log is known to match the leader's (0 on a follower). */
function replicas(node: RaftisNode): { host: string; port: number; match: number }[] {
  const progress = node.status().progress;
  const out = [];
  for (const m of node.members.values()) {
    if (m.id === node.id || !node.peerConnected(m.id)) continue;
    out.push({ host: m.host, port: m.port, match: progress.find((p) => p.id === m.id)?.match ?? 0 });
  }
  return out;
}

/** ROLE: ["master", offset, [[ip, port, offset], …]] on the leader; ["slave", ip, port, state, offset] elsewhere. */
function role({ c, w }: ConnCtx, _argv: string[]): void {
  const node = c.server.node;
  if (node.isLeader) {
    const list = replicas(node);
    w.arrayHeader(3);
    w.bulk('master');
    w.int(node.appliedIndex);
    w.arrayHeader(list.length);
    for (const r of list) {
      w.arrayHeader(3);
      w.bulk(r.host);
      w.bulk(String(r.port));
      w.bulk(String(r.match));
    }
    return;
  }
  const leader = node.members.get(node.leader);
  w.arrayHeader(5);
  w.bulk('slave');
  w.bulk(leader?.host ?? '?');
  w.int(leader?.port ?? 0);
  w.bulk(leader !== undefined && node.peerConnected(leader.id) ? 'connected' : 'connect');
  w.int(node.appliedIndex);
}

/** How many replicas hold the log up to `index`. */
function acked(node: RaftisNode, index: number): number {
  if (!node.isLeader) return 0;
  let n = 0;
  for (const p of node.status().progress) if (p.id !== node.id && p.match >= index) n++;
  return n;
}

/**
 * WAIT numreplicas timeout: until that many replicas hold this client's last
 * write (or the timeout passes, 0: no timeout), then how many do. Raft has
 * already put every acknowledged write on a majority's disk; WAIT can ask
 * for more (every member, say) before the client goes on.
 */
function wait({ c, w }: ConnCtx, argv: string[]): void {
  const node = c.server.node;
  if (!node.isLeader) return w.error(WAIT_ON_REPLICA);
  const want = string2ll(argv[1]!);
  if (want === null) return w.error(ERR.notInteger);
  const ms = string2ll(argv[2]!);
  if (ms === null) return w.error(TIMEOUT_NOT_INTEGER);
  if (ms < 0n) return w.error(TIMEOUT_NEGATIVE);
  const index = c.lastWriteIndex;
  const now = acked(node, index);
  // Inside MULTI Redis answers at once, as it does when enough replicas have it.
  if (BigInt(now) >= want || c.inExec) return w.int(now);
  const slot = c.defer();
  c.hold(slot);
  const deadline = ms === 0n ? Infinity : Date.now() + Number(ms);
  const timer = setInterval(() => {
    const n = acked(node, index);
    if (!c.closed && BigInt(n) < want && Date.now() < deadline && node.isLeader) return;
    clearInterval(timer);
    slot.int(n);
    c.complete(slot);
  }, WAIT_POLL_MS);
  timer.unref();
}

export const replicationCommands: Record<string, ConnHandler> = { role, wait };
