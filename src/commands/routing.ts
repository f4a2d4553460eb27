/**
 * Where a command must be served, as Redis Cluster clients expect: every
 * slot belongs to the one Raft group, whose leader is the master. A
 * follower redirects with `MOVED <slot> <leader-host>:<leader-port>` (the
 * key's real CRC16 slot, hash tags respected) or answers CLUSTERDOWN when
 * no leader is known. How membership is learned lives in node/, not here.
 */
import type { RaftisNode } from '../node/node.js';
import { movedError } from './errors.js';
import { commandKeys } from './keys.js';
import type { CommandDef } from './table.js';
import { keyHashSlot } from '../util/hash-slot.js';

/** Redis's CLUSTER_REDIR_DOWN_RO_STATE: a write while the cluster is down and cluster-allow-reads-when-down is yes. */
export const CLUSTERDOWN_READ_ONLY = 'CLUSTERDOWN The cluster is down and only accepts read commands';
export const CLUSTERDOWN_NO_LEADER = 'CLUSTERDOWN The cluster is down: no leader is elected right now (election in progress or no quorum); retry shortly';

export { crc16, keyHashSlot } from '../util/hash-slot.js';

/** The slot a command is routed by: its first key's, or 0 for commands without keys. */
export function commandSlot(def: CommandDef, argv: readonly string[]): number {
  const keys = commandKeys(def.meta, argv);
  return keys.length > 0 ? keyHashSlot(keys[0]!) : 0;
}

/** MOVED <slot> to the leader, or CLUSTERDOWN when none is known. */
export function leaderRedirect(node: RaftisNode, slot: number, endpointType = 'ip'): string {
  const leader = node.members.get(node.leader);
  if (node.leader === 0 || leader === undefined) return CLUSTERDOWN_NO_LEADER;
  // Another member's hostname is not known here (cluster-announce-hostname is each node's own): '?' with `hostname`.
  return movedError(slot, preferredEndpoint(endpointType, leader.host, '') ?? '', leader.port);
}

/**
 * cluster-preferred-endpoint-type: how a node's address is given, as
 * cluster.c's getPreferredEndpoint / addNodeToNodeReply — `ip`: its ip;
 * `hostname`: its hostname, or "?" when it has none; `unknown-endpoint`:
 * null (CLUSTER SLOTS), "" (MOVED, CLUSTER SHARDS).
 */
export function preferredEndpoint(type: string, ip: string, hostname: string): string | null {
  if (type === 'hostname') return hostname !== '' ? hostname : '?';
  if (type === 'unknown-endpoint') return null;
  return ip;
}

/** The error that sends a client to the leader (or tells it there is none). */
export function redirectError(node: RaftisNode, def: CommandDef, argv: readonly string[], endpointType = 'ip'): string {
  return leaderRedirect(node, commandSlot(def, argv), endpointType);
}
