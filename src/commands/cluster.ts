/**
 * The Redis Cluster protocol, for cluster-aware clients (redis-cli -c,
 * ioredis Cluster): every slot belongs to the one Raft group; its leader is
 * the master and the other members its replicas, with the addresses MOVED
 * uses. Also READONLY / READWRITE / ASKING and RAFT.INFO.
 */
import crypto from 'node:crypto';
import type { Member, RaftisNode } from '../node/node.js';
import type { EngineClient as Client } from './engine/engine.js';
import { ERR } from './errors.js';
import type { RespWriter } from '../server/resp-writer.js';
import { progressStateName, roleName } from '../raft/index.js';
import { writeHelp } from './help.js';
import { keyHashSlot, preferredEndpoint } from './routing.js';
import { NO_GROUP, SLOT_COUNT, assignedSlots, groupRanges, type GroupMember } from '../util/slot-map.js';
import type { ConnHandler, ConnCtx } from './table.js';

/** A member's 40-hex-char cluster node id, stable for (cluster id, raft id) and, in a sharded cluster, its group. */
export function clusterNodeId(clusterId: string, id: number, group?: number): string {
  return crypto.createHash('sha1').update(group === undefined ? `raftis:${clusterId}:${id}` : `raftis:${clusterId}:g${group}:${id}`).digest('hex');
}

interface View {
  node: RaftisNode;
  members: Member[];
  leader: Member | undefined;
  nid: (id: number) => string;
}

function view(c: Client): View {
  const node = c.server.node;
  const members = [...node.members.values()].filter(
    (m) => node.voters.length === 0 || node.voters.includes(m.id) || node.learners.includes(m.id) || m.id === node.id,
  );
  members.sort((a, b) => a.id - b.id);
  // While an election runs, keep describing the last known leader as the
  // master (as Redis lists a failed master until a replica is promoted):
  // a cluster client that sees no slot owner drops all its connections.
  const leaderId = node.leader || node.lastKnownLeader;
  return { node, members, leader: node.members.get(leaderId), nid: (id) => clusterNodeId(c.server.info.clusterId, id) };
}

/** A node's address as this node tells it: the membership's, with cluster-announce-* in place for its own entry. */
interface Endpoint {
  ip: string;
  port: number;
  hostname: string;
}

/**
 * cluster-announce-ip / -port / -hostname are each node's own: they change
 * how a node describes itself (CLUSTER SLOTS, SHARDS, NODES); the others
 * describe it by its membership address (--peers, join), with no hostname.
 */
function endpointOf(c: Client, m: { host: string; port: number }, self: boolean): Endpoint {
  if (!self) return { ip: m.host, port: m.port, hostname: '' };
  const cfg = c.server.config;
  const port = Number(cfg.get('cluster-announce-port'));
  return { ip: cfg.get('cluster-announce-ip') || m.host, port: port !== 0 ? port : m.port, hostname: cfg.get('cluster-announce-hostname') };
}

/** CLUSTER SLOTS' node entry, as cluster.c's addNodeToNodeReply: the preferred endpoint, port, id, and the other known addresses. */
function writeEndpoint(w: RespWriter, c: Client, e: Endpoint, id: string): void {
  const type = c.server.config.get('cluster-preferred-endpoint-type');
  w.arrayHeader(4);
  w.bulkOrNil(preferredEndpoint(type, e.ip, e.hostname));
  w.int(e.port);
  w.bulk(id);
  const ip = type !== 'ip';
  const host = type !== 'hostname' && e.hostname !== '';
  w.mapHeader((ip ? 1 : 0) + (host ? 1 : 0));
  if (ip) {
    w.bulk('ip');
    w.bulk(e.ip);
  }
  if (host) {
    w.bulk('hostname');
    w.bulk(e.hostname);
  }
}

function writeNodeEndpoint(w: RespWriter, c: Client, v: View, m: Member): void {
  writeEndpoint(w, c, endpointOf(c, m, m.id === v.node.id), v.nid(m.id));
}

/** One master per group, with its replicas and slot ranges: a sharded cluster's Redis Cluster view (the same on every node). */
interface ShardView {
  gid: number;
  ranges: [number, number][];
  master: GroupMember | undefined;
  members: GroupMember[];
}

function shardViews(c: Client): ShardView[] {
  const router = c.server.shardRouter;
  const map = router.latest();
  const out: ShardView[] = [];
  for (const gid of [...map.groups.keys()].sort((a, b) => a - b)) {
    const members = router.view(gid).members;
    out.push({ gid, ranges: groupRanges(map, gid).map((r) => [r.from, r.to]), master: router.masterOf(gid), members });
  }
  return out;
}

function shardNodeId(c: Client, gid: number, id: number): string {
  return clusterNodeId(c.server.info.clusterId, id, gid);
}

function writeShardEndpoint(w: RespWriter, c: Client, gid: number, m: GroupMember): void {
  writeEndpoint(w, c, endpointOf(c, m, gid === c.server.shards.group && m.id === c.server.node.id), shardNodeId(c, gid, m.id));
}

function shardedSlots(c: Client, w: RespWriter): void {
  const views = shardViews(c);
  const rows: [number, number, ShardView][] = [];
  for (const v of views) if (v.master !== undefined) for (const [from, to] of v.ranges) rows.push([from, to, v]);
  rows.sort((a, b) => a[0] - b[0]);
  w.arrayHeader(rows.length);
  for (const [from, to, v] of rows) {
    const replicas = v.members.filter((m) => m.id !== v.master!.id);
    w.arrayHeader(3 + replicas.length);
    w.int(from);
    w.int(to);
    writeShardEndpoint(w, c, v.gid, v.master!);
    for (const r of replicas) writeShardEndpoint(w, c, v.gid, r);
  }
}

/** One node of CLUSTER SHARDS' "nodes" list (the sharded view and the one-group view alike). */
function writeShardNode(w: RespWriter, c: Client, id: string, e: Endpoint, master: boolean, offset: number, online: boolean): void {
  w.mapHeader(e.hostname !== '' ? 8 : 7);
  w.bulk('id');
  w.bulk(id);
  w.bulk('port');
  w.int(e.port);
  w.bulk('ip');
  w.bulk(e.ip);
  w.bulk('endpoint');
  w.bulk(preferredEndpoint(c.server.config.get('cluster-preferred-endpoint-type'), e.ip, e.hostname) ?? '');
  if (e.hostname !== '') {
    w.bulk('hostname');
    w.bulk(e.hostname);
  }
  w.bulk('role');
  w.bulk(master ? 'master' : 'replica');
  w.bulk('replication-offset');
  w.int(offset);
  w.bulk('health');
  w.bulk(online ? 'online' : 'failed');
}

function shardedShards(c: Client, w: RespWriter): void {
  const views = shardViews(c);
  const node = c.server.node;
  const mine = c.server.shards.group;
  const st = node.isLeader ? node.status() : undefined;
  w.arrayHeader(views.length);
  for (const v of views) {
    w.mapHeader(2);
    w.bulk('slots');
    w.arrayHeader(v.ranges.length * 2);
    for (const [from, to] of v.ranges) {
      w.int(from);
      w.int(to);
    }
    w.bulk('nodes');
    w.arrayHeader(v.members.length);
    for (const m of v.members) {
      const local = v.gid === mine;
      const pr = local ? st?.progress.find((p) => p.id === m.id) : undefined;
      writeShardNode(
        w,
        c,
        shardNodeId(c, v.gid, m.id),
        endpointOf(c, m, local && m.id === node.id),
        m.id === v.master?.id,
        pr?.match ?? (local && m.id === node.id ? node.appliedIndex : 0),
        !local || m.id === node.id || node.peerConnected(m.id),
      );
    }
  }
}

function shardedNodes(c: Client, w: RespWriter): void {
  const node = c.server.node;
  const mine = c.server.shards.group;
  const epoch = c.server.shardRouter.latest().epoch;
  let out = '';
  for (const v of shardViews(c)) {
    for (const m of v.members) {
      const local = v.gid === mine;
      const isMaster = m.id === v.master?.id;
      const self = local && m.id === node.id;
      const up = !local || self || node.peerConnected(m.id);
      const flags = (self ? 'myself,' : '') + (isMaster ? 'master' : 'slave') + (up ? '' : ',fail');
      const master = !isMaster && v.master !== undefined ? shardNodeId(c, v.gid, v.master.id) : '-';
      const slotList = isMaster ? v.ranges.map(([a, b]) => (a === b ? ` ${a}` : ` ${a}-${b}`)).join('') : '';
      const moves = self && isMaster ? movingMarkers(c) : '';
      out += `${shardNodeId(c, v.gid, m.id)} ${nodesAddress(endpointOf(c, m, self), m.clusterPort)} ${flags} ${master} 0 0 ${epoch} ${up ? 'connected' : 'disconnected'}${slotList}${moves}\n`;
    }
  }
  w.verbatim(out);
}

/**
 * The open slots on a master's own line, as clusterGenNodeDescription writes
 * them for MYSELF (checked against redis-server 7.0.15): per slot, in slot
 * order, ` [<slot>->-<node id>]` for a slot migrating to that node and
 * ` [<slot>-<-<node id>]` for one importing from it. Here: the slots this
 * group serves while they move away (to the target group's master) and
 * those moving into it (from the owner's master), as its log has adopted
 * them — what its routing answers ASK for.
 */
function movingMarkers(c: Client): string {
  const shards = c.server.shards;
  const router = c.server.shardRouter;
  const target = shards.adopted.target;
  const ids = new Map<number, string>();
  const idOf = (gid: number): string => {
    let id = ids.get(gid);
    if (id === undefined) {
      const m = router.masterOf(gid);
      id = m !== undefined ? shardNodeId(c, gid, m.id) : '';
      ids.set(gid, id);
    }
    return id;
  };
  let out = '';
  for (let s = 0; s < SLOT_COUNT; s++) {
    if (target[s] === NO_GROUP) continue;
    const to = shards.movingTo(s);
    if (to !== NO_GROUP) {
      const id = idOf(to);
      if (id !== '') out += ` [${s}->-${id}]`;
    } else if (shards.importing(s)) {
      const id = idOf(shards.adopted.owner[s]!);
      if (id !== '') out += ` [${s}-<-${id}]`;
    }
  }
  return out;
}

/** CLUSTER NODES' address field: ip:port@cport, and `,hostname` when there is one (Redis 7.0). */
function nodesAddress(e: Endpoint, clusterPort: number): string {
  return `${e.ip}:${e.port}@${clusterPort}${e.hostname !== '' ? `,${e.hostname}` : ''}`;
}

function shardedInfo(c: Client, w: RespWriter): void {
  const map = c.server.shardRouter.latest();
  const views = shardViews(c);
  const assigned = assignedSlots(map);
  const ok = assigned === SLOT_COUNT && c.server.node.leader !== 0;
  const lines = [
    `cluster_state:${ok ? 'ok' : 'fail'}`,
    `cluster_slots_assigned:${assigned}`,
    `cluster_slots_ok:${assigned}`,
    'cluster_slots_pfail:0',
    'cluster_slots_fail:0',
    `cluster_known_nodes:${views.reduce((n, v) => n + v.members.length, 0)}`,
    `cluster_size:${views.filter((v) => v.ranges.length > 0).length}`,
    `cluster_current_epoch:${map.epoch}`,
    `cluster_my_epoch:${map.epoch}`,
    'cluster_stats_messages_sent:0',
    'cluster_stats_messages_received:0',
    'total_cluster_links_buffer_limit_exceeded:0',
  ];
  w.verbatim(lines.join('\r\n') + '\r\n');
}

function slots({ c, w }: ConnCtx, _argv: string[]): void {
  if (c.server.shards.sharded) return shardedSlots(c, w);
  const v = view(c);
  if (!v.leader) return w.arrayHeader(0);
  const replicas = v.members.filter((m) => m.id !== v.leader!.id);
  w.arrayHeader(1);
  w.arrayHeader(3 + replicas.length);
  w.int(0);
  w.int(16383);
  writeNodeEndpoint(w, c, v, v.leader);
  for (const r of replicas) writeNodeEndpoint(w, c, v, r);
}

function shards({ c, w }: ConnCtx, _argv: string[]): void {
  if (c.server.shards.sharded) return shardedShards(c, w);
  const v = view(c);
  const st = v.node.isLeader ? v.node.status() : undefined;
  w.arrayHeader(1);
  w.mapHeader(2);
  w.bulk('slots');
  if (v.leader) {
    w.arrayHeader(2);
    w.int(0);
    w.int(16383);
  } else {
    w.arrayHeader(0);
  }
  w.bulk('nodes');
  w.arrayHeader(v.members.length);
  for (const m of v.members) {
    const pr = st?.progress.find((p) => p.id === m.id);
    writeShardNode(w, c, v.nid(m.id), endpointOf(c, m, m.id === v.node.id), m.id === v.leader?.id, pr?.match ?? (m.id === v.node.id ? v.node.appliedIndex : 0), v.node.peerConnected(m.id));
  }
}

function nodes({ c, w }: ConnCtx, _argv: string[]): void {
  if (c.server.shards.sharded) return shardedNodes(c, w);
  const v = view(c);
  const term = v.node.term;
  let out = '';
  for (const m of v.members) {
    const isMaster = m.id === v.leader?.id;
    const flags = (m.id === v.node.id ? 'myself,' : '') + (isMaster ? 'master' : v.leader ? 'slave' : 'master') + (v.node.peerConnected(m.id) ? '' : ',fail');
    const master = !isMaster && v.leader ? v.nid(v.leader.id) : '-';
    const link = v.node.peerConnected(m.id) ? 'connected' : 'disconnected';
    out += `${v.nid(m.id)} ${nodesAddress(endpointOf(c, m, m.id === v.node.id), m.clusterPort)} ${flags} ${master} 0 0 ${term} ${link}${isMaster ? ' 0-16383' : ''}\n`;
  }
  w.verbatim(out);
}

function info({ c, w }: ConnCtx, _argv: string[]): void {
  if (c.server.shards.sharded) return shardedInfo(c, w);
  const v = view(c);
  const ok = v.node.leader !== 0;
  const term = v.node.term;
  const lines = [
    `cluster_state:${ok ? 'ok' : 'fail'}`,
    `cluster_slots_assigned:${ok ? 16384 : 0}`,
    `cluster_slots_ok:${ok ? 16384 : 0}`,
    'cluster_slots_pfail:0',
    'cluster_slots_fail:0',
    `cluster_known_nodes:${v.members.length}`,
    `cluster_size:${ok ? 1 : 0}`,
    `cluster_current_epoch:${term}`,
    `cluster_my_epoch:${term}`,
    'cluster_stats_messages_sent:0',
    'cluster_stats_messages_received:0',
    'total_cluster_links_buffer_limit_exceeded:0',
  ];
  w.verbatim(lines.join('\r\n') + '\r\n');
}

function slotArg(s: string, w: RespWriter): number | undefined {
  if (!/^-?\d+$/.test(s)) {
    w.error(ERR.notInteger);
    return undefined;
  }
  const n = Number(s);
  if (n < 0 || n > 16383) {
    w.error('ERR Invalid slot');
    return undefined;
  }
  return n;
}


/** RAFT.INFO: this node's Raft state, for operators and ./cluster.sh status. */
export function raftInfoText(node: RaftisNode, clusterId: string): string {
  const st = node.status();
  const lines = [
    '# Raft',
    `node_id:${node.id}`,
    `cluster_id:${clusterId}`,
    `role:${roleName(st.role).replace(/^State/, '').toLowerCase()}`,
    `term:${st.term}`,
    `leader:${node.leader}`,
    `commit_index:${st.commit}`,
    `applied_index:${node.appliedIndex}`,
    `first_index:${node.firstIndex}`,
    `last_log_index:${node.lastLogIndex}`,
    `snapshot_index:${node.snapshotIndex}`,
    `log_bytes:${node.logBytes}`,
    `voters:${st.config.voters.join(',')}`,
    `learners:${st.config.learners.join(',')}`,
  ];
  for (const m of [...node.members.values()].sort((a, b) => a.id - b.id)) {
    const role = node.voters.includes(m.id) ? 'voter' : node.learners.includes(m.id) ? 'learner' : 'joining';
    lines.push(`member_${m.id}:role=${role},addr=${m.host}:${m.port},cluster_addr=${m.host}:${m.clusterPort}`);
  }
  for (const m of [...node.members.values()].sort((a, b) => a.id - b.id)) {
    if (m.id === node.id) continue;
    const pr = st.progress.find((p) => p.id === m.id);
    const fields = [`id=${m.id}`, `addr=${m.host}:${m.port}`, `cluster_addr=${m.host}:${m.clusterPort}`, `connected=${node.peerConnected(m.id) ? 'yes' : 'no'}`];
    if (pr) fields.push(`match=${pr.match}`, `next=${pr.next}`, `state=${progressStateName(pr.state)}`, `learner=${pr.isLearner ? 'yes' : 'no'}`);
    lines.push(`peer_${m.id}:${fields.join(',')}`);
  }
  return lines.join('\r\n') + '\r\n';
}

export const clusterCommands: Record<string, ConnHandler> = {
  'cluster|slots': slots,
  'cluster|shards': shards,
  'cluster|nodes': nodes,
  'cluster|info': info,
  'cluster|myid': ({ c, w }, _argv) => w.bulk(clusterNodeId(c.server.info.clusterId, c.server.node.id, c.server.shards.group)),
  'cluster|keyslot': ({ w }, argv) => w.int(keyHashSlot(argv[2]!)),
  'cluster|countkeysinslot': ({ c, w }, argv) => {
    const slot = slotArg(argv[2]!, w);
    // As Redis's countKeysInSlot: the keys stored, expired ones not yet deleted included (O(1) on a sharded node's index).
    if (slot !== undefined) w.int(c.db.countInSlot(slot));
  },
  'cluster|getkeysinslot': ({ c, w }, argv) => {
    const s = argv[2]!;
    const n = argv[3]!;
    if (!/^-?\d+$/.test(s) || !/^-?\d+$/.test(n)) return w.error(ERR.notInteger);
    const slot = Number(s);
    const count = Number(n);
    if (slot < 0 || slot > 16383 || count < 0) return w.error('ERR Invalid slot or number of keys');
    // Newest first, expired keys included, as Redis walks slots_to_keys.
    w.bulkArray(c.db.keysInSlot(slot, count));
  },
  'cluster|help': ({ w }, _argv) =>
    writeHelp(w, 'cluster', [
      'COUNTKEYSINSLOT <slot>',
      '    Return the number of keys in <slot>.',
      'GETKEYSINSLOT <slot> <count>',
      '    Return key names stored by current node in a slot.',
      'INFO',
      '    Return information about the cluster.',
      'KEYSLOT <key>',
      '    Return the hash slot for <key>.',
      'MYID',
      '    Return the node id.',
      'NODES',
      '    Return cluster configuration seen by node. Output format:',
      '    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...',
      'SHARDS',
      '    Return information about slot range mappings and the nodes associated with them.',
      'SLOTS',
      '    Return information about slots range mappings. Each range is made of:',
      '    start, end, master and replicas IP addresses, ports and ids',
    ]),
  readonly: ({ c, w }, _argv) => {
    c.readonly = true;
    w.ok();
  },
  readwrite: ({ c, w }, _argv) => {
    c.readonly = false;
    w.ok();
  },
  asking: ({ c, w }, _argv) => {
    c.asking = true;
    w.ok();
  },
  'raft.info': ({ c, w }, _argv) => w.verbatim(raftInfoText(c.server.node, c.server.info.clusterId)),
};
