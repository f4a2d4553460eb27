/**
 * Membership and leadership commands (names as RedisRaft's, which Redis
 * users know): RAFT.NODE ADD <id> <host:port[@clusterport]>, RAFT.NODE
 * REMOVE <id>, RAFT.TRANSFER_LEADER [<id>], and Redis Cluster's CLUSTER
 * FAILOVER sent to a follower. Changes are made by the leader, one at a time
 * (a new node joins as a learner and the leader promotes it once it has
 * caught up); a follower answers MOVED to the leader.
 */
import net from 'node:net';
import { ConfChangeType } from '../raft/index.js';
import type { EngineClient as Client } from './engine/engine.js';
import type { RespWriter } from '../server/resp-writer.js';
import { NodeRefusal, type RaftisNode } from '../node/node.js';
import { leaderRedirect } from './routing.js';
import type { ConnHandler, ConnCtx } from './table.js';

const REACH_TIMEOUT_MS = 2000;

/** MOVED to the leader (slot 0: these commands name no key), or CLUSTERDOWN. */
function toLeader(node: RaftisNode): string {
  return leaderRedirect(node, 0);
}

function parseId(s: string): number | undefined {
  if (!/^[1-9]\d{0,14}$/.test(s)) return undefined;
  return Number(s);
}

/** Whether a TCP connection to host:port can be opened (the new node's peer port must be up). */
function reachable(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(`no answer within ${REACH_TIMEOUT_MS} ms`);
    }, REACH_TIMEOUT_MS);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(undefined);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      resolve(e.message);
    });
  });
}

export const CHANGE_IN_PROGRESS = 'ERR a membership change is in progress; retry when it has completed';

/** What a client sees when the node refused a change or a transfer. */
function refusalText(node: RaftisNode, e: Error): string {
  if (!(e instanceof NodeRefusal)) return e.message;
  switch (e.code) {
    case 'not-leader':
      return toLeader(node);
    case 'change-in-progress':
      return CHANGE_IN_PROGRESS;
    case 'lost':
      return `TRYAGAIN ${e.message}`;
    default:
      return `ERR ${e.message}`;
  }
}

/** Answers later, in order: an async outcome on this client's reply queue. */
function later(c: Client, w: RespWriter, p: Promise<void | string>): void {
  if (w !== c.out()) {
    // Inside MULTI: the transaction's reply cannot wait.
    w.error('ERR RAFT.NODE and RAFT.TRANSFER_LEADER cannot run inside MULTI');
    return;
  }
  const slot = c.defer();
  p.then(
    (text) => slot.simple(text ?? 'OK'),
    (e: Error) => slot.error(refusalText(c.server.node, e)),
  ).finally(() => c.complete(slot));
}

function raftNode({ c, w }: ConnCtx, argv: string[]): void {
  const node = c.server.node;
  const sub = argv[1]!.toLowerCase();
  if (sub === 'add') {
    if (argv.length !== 4) return w.error("ERR wrong number of arguments for 'raft.node|add' command");
    const id = parseId(argv[2]!);
    if (id === undefined) return w.error('ERR invalid node id: a positive integer is expected');
    const m = /^(.+):(\d{1,5})(?:@(\d{1,5}))?$/.exec(argv[3]!);
    if (!m) return w.error('ERR invalid address: expected host:port or host:port@clusterport');
    const port = Number(m[2]);
    const clusterPort = m[3] !== undefined ? Number(m[3]) : port + 10000;
    if (port < 1 || port > 65535 || clusterPort < 1 || clusterPort > 65535) return w.error('ERR invalid address: port out of range');
    if (!node.isLeader) return w.error(toLeader(node));
    if (node.voters.includes(id) || node.learners.includes(id)) return w.error(`ERR node ${id} is already a member of this cluster`);
    if (node.confChangeInFlight) return w.error(CHANGE_IN_PROGRESS);
    const host = m[1]!;
    later(
      c,
      w,
      reachable(host, clusterPort).then((why) => {
        if (why !== undefined) throw new Error(`ERR cannot reach node ${id}'s peer port at ${host}:${clusterPort} (${why}); start it first`);
        return node.changeMembership(ConfChangeType.AddLearnerNode, id, { id, host, port, clusterPort });
      }),
    );
    return;
  }
  if (sub === 'remove') {
    if (argv.length !== 3) return w.error("ERR wrong number of arguments for 'raft.node|remove' command");
    const id = parseId(argv[2]!);
    if (id === undefined) return w.error('ERR invalid node id: a positive integer is expected');
    if (!node.isLeader) return w.error(toLeader(node));
    const isVoter = node.voters.includes(id);
    if (!isVoter && !node.learners.includes(id)) return w.error(`ERR node ${id} is not a member of this cluster`);
    if (isVoter && node.voters.length === 1) return w.error('ERR cannot remove the last voter of the cluster');
    if (node.confChangeInFlight) return w.error(CHANGE_IN_PROGRESS);
    if (id === node.id) {
      // The leader hands leadership over first; the client retries on the new leader (MOVED).
      later(
        c,
        w,
        node.transferLeadership().then(() => {
          // Leadership moved: the client is sent to the new leader to remove this node.
          throw new NodeRefusal('not-leader', 'not the leader');
        }),
      );
      return;
    }
    later(c, w, node.changeMembership(ConfChangeType.RemoveNode, id));
    return;
  }
  w.error(`ERR unknown subcommand '${argv[1]!}'. Try RAFT.NODE ADD <id> <host:port> or RAFT.NODE REMOVE <id>.`);
}

function transferLeader({ c, w }: ConnCtx, argv: string[]): void {
  const node = c.server.node;
  if (argv.length > 2) return w.error("ERR wrong number of arguments for 'raft.transfer_leader' command");
  let target: number | undefined;
  if (argv.length === 2) {
    target = parseId(argv[1]!);
    if (target === undefined) return w.error('ERR invalid node id: a positive integer is expected');
  }
  if (!node.isLeader) return w.error(toLeader(node));
  later(c, w, node.transferLeadership(target).then(() => undefined));
}

/** CLUSTER FAILOVER [FORCE|TAKEOVER]: a replica (follower) asks to become the master. */
function clusterFailover({ c, w }: ConnCtx, argv: string[]): void {
  if (argv.length > 3) return w.error('ERR syntax error');
  if (argv.length === 3 && !['force', 'takeover'].includes(argv[2]!.toLowerCase())) return w.error('ERR syntax error');
  const node = c.server.node;
  if (node.isLeader) return w.error('ERR You should send CLUSTER FAILOVER to a replica');
  if (!node.voters.includes(node.id)) return w.error('ERR a learner cannot become the leader; wait until it is promoted to voter');
  if (!node.requestLeadership()) return w.error('ERR Master is down or failed, please use CLUSTER FAILOVER FORCE');
  w.simple('OK');
}

export const membershipCommands: Record<string, ConnHandler> = {
  'raft.node': raftNode,
  'raft.transfer_leader': transferLeader,
  'cluster|failover': clusterFailover,
};
