/**
 * Command-line options, their defaults and validation. Defaults give a
 * working single node on 127.0.0.1:6379 with its data under ./data.
 */
import type { Member } from '../node/membership.js';
import type { ClientTlsOptions } from '../server/server.js';
import type { PeerTlsOptions } from '../transport/index.js';
import type { ConfigFileInfo, OptionReport } from '../commands/engine/engine.js';

/** A member as --peers names it. */
export type PeerAddress = Member;

export interface Options {
  id: number;
  bind: string;
  port: number;
  clusterPort: number;
  /** Operator HTTP port (/healthz, metrics, the cluster page); 0: off. */
  httpPort: number;
  dir: string;
  peers: PeerAddress[];
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  readMode: 'readindex' | 'lease';
  followerWrites: 'moved' | 'proxy';
  /** --group: this node's data group in a sharded cluster (absent: one group owns every slot). */
  group?: number;
  /** --shard-seeds: client addresses of group 0's nodes (groups other than 0). */
  shardSeeds?: { host: string; port: number }[];
  /** Peers refuse connections from nodes of another cluster. */
  clusterId: string;
  /** Snapshot after this many applied entries (0: no entry threshold). */
  snapshotEntries: number;
  /** …or once the log since the last snapshot is this big and at least that snapshot's size (Redis's AOF rewrite rule). */
  snapshotBytes: number;
  /** Log entries kept behind a snapshot for slow followers. */
  snapshotKeepEntries: number;
  /** Lua instructions a script may run before it is stopped; must be the same on every node (scripts are replicated, not their effects). */
  luaInstructionBudget: number;
  /** Bytes a script's own operations may allocate before it is stopped; must be the same on every node, like the instruction budget. */
  luaMemoryBudget: number;
  /** Number of databases (Redis's `databases`); must be the same on every node (peers with another number are refused). */
  databases: number;
  /** The default user's password at start-up (Redis's requirepass; empty: none). */
  requirepass?: string;
  /** The ACL file: its users at start-up, ACL LOAD and ACL SAVE (Redis's aclfile). */
  aclfile?: string;
  /** Redis's protected-mode: without a default user password, only loopback clients are served. */
  protectedMode?: boolean;
  /** Write the Raft log without fsync (measurement only, as etcd's --unsafe-no-fsync). */
  unsafeNoFsync: boolean;
  /** --cluster-secret-file's contents: peers must prove they hold the same (protocol v2 handshake). */
  clusterSecret?: Buffer;
  /** --tls-port and the tls-* files: a TLS client port next to (or, with --port 0, instead of) the plain one. */
  clientTls?: ClientTlsOptions & { port: number };
  /** --peer-tls-*: mutual TLS on the cluster port. */
  peerTls?: PeerTlsOptions;
  /** --join: the address of a member of the cluster this new node asks to join. */
  join?: { host: string; port: number };
  /** Set by the CLI when joining with an empty data directory: no bootstrap log. */
  joining?: boolean;
  /** The config file: its absolute path and the Redis parameters it sets. */
  configFile?: ConfigFileInfo;
  /** raftis's own options with their values and where they came from (RAFT.CONFIG). */
  ownOptions?: OptionReport[];
  /** Where each option given by the file or the command line came from (flag name → source). */
  optionSources?: Record<string, string>;
}

export const DEFAULT_OPTIONS = {
  id: 1,
  bind: '127.0.0.1',
  port: 6379,
  httpPort: 0,
  dir: './data',
  logLevel: 'info',
  readMode: 'readindex',
  followerWrites: 'moved',
  clusterId: 'raftis',
  snapshotEntries: 0,
  snapshotBytes: 64 * 1024 * 1024,
  snapshotKeepEntries: 5_000,
  luaInstructionBudget: 1_000_000_000,
  luaMemoryBudget: 256 * 1024 * 1024,
  databases: 16,
  unsafeNoFsync: false,
} as const;

export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

/**
 * Parses `--peers 1=127.0.0.1:7001,2=127.0.0.1:7002@17002,…`: every member,
 * this node included, by client address with an optional @clusterport
 * (default: client port + 10000, Redis Cluster's convention).
 */
export function parsePeers(spec: string): PeerAddress[] {
  const peers: PeerAddress[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)=([^:@\s]+|\[[^\]]+\]):(\d+)(?:@(\d+))?$/.exec(part);
    if (!m) throw new OptionError(`bad --peers entry '${part}': expected ID=HOST:PORT or ID=HOST:PORT@CLUSTERPORT`);
    const id = Number(m[1]);
    const port = Number(m[3]);
    const clusterPort = m[4] !== undefined ? Number(m[4]) : port + 10000;
    if (id < 1 || !Number.isSafeInteger(id)) throw new OptionError(`bad --peers entry '${part}': node id must be a positive integer`);
    checkPort(port, `--peers entry '${part}'`);
    checkPort(clusterPort, `--peers entry '${part}'`);
    if (peers.some((p) => p.id === id)) throw new OptionError(`--peers lists node id ${id} twice`);
    peers.push({ id, host: m[2]!.replace(/^\[|\]$/g, ''), port, clusterPort });
  }
  return peers;
}

export function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new OptionError(`${what}: port must be an integer from 1 to 65535`);
}
