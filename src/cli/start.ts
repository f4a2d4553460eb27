/**
 * Wires a node together: storage + state machine (node/), command table,
 * client server. Used by the CLI and by in-process tests.
 */
import { CommandTable } from '../commands/table.js';
import { clusterCommands } from '../commands/cluster.js';
import { connectionCommands } from '../commands/connection.js';
import { keyspaceCommands } from '../commands/keyspace.js';
import { listCommands } from '../commands/list.js';
import { serverCommands } from '../commands/server.js';
import { stringCommands } from '../commands/string.js';
import { transactionCommands } from '../commands/transaction.js';
import { zsetCommands } from '../commands/zset.js';
import { zsetOpCommands } from '../commands/zset-ops.js';
import { RaftisNode } from '../node/node.js';
import { Transport } from '../transport/index.js';
import { RespServer } from '../server/server.js';
import { ServerState } from '../server/server-state.js';
import { createLogger } from '../util/log.js';
import type { Options } from './options.js';

const log = createLogger('cli');

export function buildCommandTable(): CommandTable {
  return new CommandTable({
    data: { ...stringCommands, ...keyspaceCommands, ...listCommands, ...zsetCommands, ...zsetOpCommands },
    conn: { ...connectionCommands, ...serverCommands, ...transactionCommands, ...clusterCommands },
  });
}

export interface Running {
  state: ServerState;
  stop(): Promise<void>;
}

export async function startRaftis(opts: Options, version: string): Promise<Running> {
  const table = buildCommandTable();
  const others = opts.peers.filter((p) => p.id !== opts.id);
  const node = await RaftisNode.open({
    id: opts.id,
    dir: opts.dir,
    table,
    members: opts.peers,
    readMode: opts.readMode,
    transport:
      others.length === 0
        ? undefined
        : (deliver, unreachable, forwarded) =>
            new Transport({
              selfId: opts.id,
              clusterId: opts.clusterId,
              bindHost: opts.bind,
              port: opts.clusterPort,
              peers: new Map(others.map((p) => [p.id, { host: p.host, clusterPort: p.clusterPort }])),
              onMessage: deliver,
              onUnreachable: unreachable,
              onForward: forwarded,
              isMember: (id) => opts.peers.some((p) => p.id === id),
            }),
    onFatal: (err) => {
      log.error(`${err.message}; stopping so no reply is sent for a write that is not durable`);
      process.exit(1);
    },
  });
  const state = new ServerState(
    { version, port: opts.port, configFile: '', clusterId: opts.clusterId, followerWrites: opts.followerWrites },
    node,
    table,
  );
  const server = new RespServer(state);
  try {
    await server.listen(opts.bind, opts.port);
  } catch (e) {
    await node.close();
    throw e;
  }
  log.info(`raftis ${version} node ${opts.id} ready: clients on ${opts.bind}:${opts.port}, data in ${opts.dir}`);
  return {
    state,
    async stop() {
      await server.close();
      await node.close();
    },
  };
}
