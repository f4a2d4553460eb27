/**
 * Wires a node together: storage + state machine (node/), command table,
 * client server. Used by the CLI and by in-process tests.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import { CommandTable } from '../commands/table.js';
import { appliedCommands, connCommands, dataCommands, unchangedCommands } from '../commands/handlers.js';
import { Engine } from '../commands/engine/engine.js';
import { ClusterSecret, Transport } from '../transport/index.js';
import { RespServer } from '../server/server.js';
import { TLS_CONTEXT_PARAMS, tlsServerOptions } from '../server/tls-params.js';
import { HttpServer, send } from '../server/http.js';
import { registerClusterPage } from '../server/cluster-page.js';
import { registerMetrics } from '../server/metrics.js';
import { metricsSource } from '../commands/metrics-source.js';
import { createLogger } from '../util/log.js';
import { IdleGc } from '../util/idle-gc.js';
import type { Options } from './options.js';

const log = createLogger('cli');

export function buildCommandTable(): CommandTable {
  return new CommandTable({ data: dataCommands, conn: connCommands, applied: appliedCommands, unchanged: unchangedCommands });
}

export interface Running {
  engine: Engine;
  stop(): Promise<void>;
}

export async function startRaftis(opts: Options, version: string, shutdown?: (reason: string) => void): Promise<Running> {
  let running: Running | undefined;
  // The port members advertise to clients: the plain one, or the TLS one when --port 0 turns plain off.
  const clientPort = opts.port !== 0 ? opts.port : (opts.clientTls?.port ?? 0);
  const secret = opts.clusterSecret !== undefined ? new ClusterSecret(opts.clusterSecret) : undefined;
  const engine = await Engine.open({
    info: {
      version,
      port: clientPort,
      bind: opts.bind,
      clusterPort: opts.clusterPort,
      configFile: opts.configFile?.path ?? '',
      ownOptions: opts.ownOptions,
      clusterId: opts.clusterId,
      followerWrites: opts.followerWrites,
      ...(opts.group !== undefined ? { group: opts.group, shardSeeds: opts.shardSeeds ?? [] } : {}),
    },
    table: buildCommandTable(),
    shutdown,
    scripts: { budget: opts.luaInstructionBudget, memoryBudget: opts.luaMemoryBudget },
    databases: opts.databases,
    configFile: opts.configFile,
    configSources: instanceSources(opts.optionSources ?? {}),
    auth: { requirepass: opts.requirepass, aclfile: opts.aclfile, protectedMode: opts.protectedMode },
    node: {
      id: opts.id,
      dir: opts.dir,
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
      transport: (events) =>
        new Transport({
          selfId: opts.id,
          // Nodes with different --databases would apply MOVE, SWAPDB and SELECT differently: the
          // number is part of the id peers compare, so such a node is refused as of another cluster.
          // In a sharded cluster each group is a Raft group of its own: a node of another group is refused as of another cluster.
          clusterId: peerClusterId(opts.clusterId, opts.databases) + (opts.group !== undefined ? ` group=${opts.group}` : ''),
          bindHost: opts.bind,
          port: opts.clusterPort,
          peers: new Map(),
          onMessage: events.deliver,
          onUnreachable: events.unreachable,
          onForward: events.frame,
          onPubSub: events.pubsub,
          isMember: events.isMember,
          onRejected: events.rejected,
          ...(secret !== undefined ? { secret } : {}),
          ...(opts.peerTls !== undefined ? { tls: opts.peerTls } : {}),
        }),
      onFatal: (err) => {
        log.error(`${err.message}; stopping so no reply is sent for a write that is not durable`);
        process.exit(1);
      },
    },
  });
  const server = new RespServer(engine);
  server.backlog = engine.config.number('tcp-backlog');
  try {
    if (opts.port !== 0) await server.listen(opts.bind, opts.port);
    const clientTls = opts.clientTls;
    if (clientTls !== undefined) {
      await server.listenTls(opts.bind, clientTls.port, { ...clientTls, params: tlsServerOptions((n) => engine.config.get(n)) });
      // CONFIG SET of one: refused whole, as redis-server's applyTlsCfg, if the new context cannot be built …
      engine.config.guard(TLS_CONTEXT_PARAMS, (get) => {
        try {
          tls.createSecureContext({ cert: clientTls.cert, key: clientTls.key, ...(clientTls.ca !== undefined ? { ca: clientTls.ca } : {}), minVersion: 'TLSv1.2', ...tlsServerOptions(get) });
          return undefined;
        } catch (e) {
          log.warn(`CONFIG SET refused: the TLS configuration cannot be built: ${(e as Error).message}`);
          return 'Unable to update TLS configuration. Check server logs.';
        }
      });
      // … else a new context for new connections (kept as it was, with a warning, if it still cannot be built).
      for (const name of TLS_CONTEXT_PARAMS) {
        engine.config.watch(name, () => {
          let err: string | undefined;
          try {
            err = server.updateTls({ ...clientTls, params: tlsServerOptions((n) => engine.config.get(n)) });
          } catch (e) {
            err = (e as Error).message;
          }
          if (err !== undefined) log.warn(`Failed to update the TLS configuration after CONFIG SET ${name}: ${err}; new TLS connections keep the previous one`);
        });
      }
    }
    const unixsocket = engine.config.get('unixsocket');
    if (unixsocket !== '') await server.listenUnix(unixsocket, engine.config.number('unixsocketperm'));
  } catch (e) {
    await server.close();
    await engine.close();
    throw e;
  }
  // pidfile: written once listening, removed at shutdown, as redis-server's createPidFile / prepareForShutdown.
  const pidfile = engine.config.get('pidfile');
  if (pidfile !== '') {
    try {
      fs.writeFileSync(pidfile, `${process.pid}\n`);
    } catch (e) {
      // Redis goes on without it (createPidFile: "Failed to write PID file").
      log.warn(`Failed to write PID file ${pidfile}: ${(e as Error).message}`);
    }
  }
  let httpServer: HttpServer | undefined;
  if (opts.httpPort > 0) {
    httpServer = new HttpServer().route('/healthz', (_req, res) => send(res, 200, 'text/plain; charset=utf-8', 'ok\n'));
    registerClusterPage(httpServer, engine.clusterStatus);
    registerMetrics(httpServer, metricsSource(engine));
    try {
      await httpServer.listen(opts.bind, opts.httpPort);
    } catch (e) {
      await server.close();
      await engine.close();
      throw e;
    }
  }
  const httpNote = httpServer === undefined ? '' : `, HTTP on ${opts.bind}:${opts.httpPort}`;
  const plainNote = opts.port !== 0 ? `clients on ${opts.bind}:${opts.port}` : 'no plain client port';
  const tlsNote = opts.clientTls !== undefined ? `, TLS clients on ${opts.bind}:${opts.clientTls.port}` : '';
  log.info(`raftis ${version} node ${opts.id} ready: ${plainNote}${tlsNote}${httpNote}, data in ${opts.dir}`, {
    version,
    bind: opts.bind,
    port: opts.port,
    ...(opts.clientTls === undefined ? {} : { tlsPort: opts.clientTls.port }),
    clusterPort: opts.clusterPort,
    ...(httpServer === undefined ? {} : { httpPort: opts.httpPort }),
    dir: opts.dir,
  });
  // Commands run and entries applied (a follower applies without commands).
  const idleGc = new IdleGc(() => engine.stats.totalCommands + engine.node.appliedIndex);
  idleGc.start();
  running = {
    engine,
    async stop() {
      idleGc.stop();
      await httpServer?.close();
      await server.close();
      await engine.close();
      if (pidfile !== '') fs.rmSync(pidfile, { force: true });
    },
  };
  return running;
}

/** Where the Config store's instance values (port, bind, dir, cluster-port, databases, loglevel) came from. */
function instanceSources(sources: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['port', 'bind', 'dir', 'cluster-port', 'databases']) if (sources[name] !== undefined) out[name] = sources[name]!;
  if (sources['log-level'] !== undefined) out.loglevel = sources['log-level']!;
  return out;
}

/** The cluster id peers compare: --cluster-id, with --databases when it is not Redis's default 16. */
export function peerClusterId(clusterId: string, databases: number): string {
  return databases === 16 ? clusterId : `${clusterId} databases=${databases}`;
}
