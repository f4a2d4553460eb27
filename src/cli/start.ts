/**
 * Wires a node together: storage + state machine (node/), command table,
 * client server. Used by the CLI and by in-process tests.
 */
import { CommandTable } from '../commands/table.js';
import { connCommands, dataCommands } from '../commands/handlers.js';
import { RaftisNode } from '../node/node.js';
import { Transport } from '../transport/index.js';
import { RespServer } from '../server/server.js';
import { ServerState } from '../commands/engine/engine.js';
import { createLogger } from '../util/log.js';
import { IdleGc } from '../util/idle-gc.js';
import type { Options } from './options.js';

const log = createLogger('cli');

export function buildCommandTable(): CommandTable {
  return new CommandTable({ data: dataCommands, conn: connCommands });
}

export interface Running {
  state: ServerState;
  stop(): Promise<void>;
}

export async function startRaftis(opts: Options, version: string): Promise<Running> {
  const table = buildCommandTable();
  let running: Running | undefined;
  const node = await RaftisNode.open({
    id: opts.id,
    dir: opts.dir,
    table,
    members: opts.peers,
    readMode: opts.readMode,
    snapshotEntries: opts.snapshotEntries,
    snapshotBytes: opts.snapshotBytes,
    snapshotKeepEntries: opts.snapshotKeepEntries,
    unsafeNoFsync: opts.unsafeNoFsync,
    joining: opts.joining,
    onRemoved: () => {
      log.warn('removed from the cluster: shutting down');
      void (running?.stop() ?? Promise.resolve()).then(() => process.exit(0));
    },
    transport: (deliver, unreachable, forwarded, pubsub, isMember, rejected) =>
      new Transport({
        selfId: opts.id,
        clusterId: opts.clusterId,
        bindHost: opts.bind,
        port: opts.clusterPort,
        peers: new Map(),
        onMessage: deliver,
        onUnreachable: unreachable,
        onForward: forwarded,
        onPubSub: pubsub,
        isMember,
        onRejected: rejected,
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
  // Commands run and entries applied (a follower applies without commands).
  const idleGc = new IdleGc(() => state.stats.totalCommands + node.appliedIndex);
  idleGc.start();
  running = {
    state,
    async stop() {
      idleGc.stop();
      await server.close();
      await node.close();
    },
  };
  return running;
}
