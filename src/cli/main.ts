#!/usr/bin/env node
/**
 * raftis entry point: parse flags, open the node's data, serve clients.
 * Failures a user can fix (port in use, data directory locked or corrupt,
 * bad flags) print one line and exit with status 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DEFAULT_OPTIONS, OptionError, checkPort, parsePeers, type Options } from './options.js';
import { peerClusterId, startRaftis, type Running } from './start.js';
import { fetchMembers, requestJoin } from './join.js';
import { setLogLevel, setLogPrefix } from '../util/log.js';
import { MAX_MEMORY_BUDGET } from '../commands/engine/scripts.js';

const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function fail(message: string): never {
  process.stderr.write(`raftis: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'import') {
    // `raftis import …`: a client tool (src/cli/import.ts), not a server.
    const { importMain } = await import('./import.js');
    process.exitCode = await importMain(process.argv.slice(3));
    return;
  }
  const argv = await yargs(hideBin(process.argv))
    .scriptName('raftis')
    .usage('$0 [options]\n\nA Redis-protocol key-value server whose writes are replicated through Raft.')
    .option('id', { type: 'number', default: DEFAULT_OPTIONS.id, describe: 'this node\'s id (a positive integer, listed in --peers)' })
    .option('bind', { type: 'string', default: DEFAULT_OPTIONS.bind, describe: 'address for the client and cluster ports, and for outgoing peer connections' })
    .option('port', { type: 'number', default: DEFAULT_OPTIONS.port, describe: 'client (RESP) port' })
    .option('cluster-port', { type: 'number', describe: 'peer (Raft) port [default: port + 10000]' })
    .option('http-port', { type: 'number', default: DEFAULT_OPTIONS.httpPort, describe: 'operator HTTP port on --bind (/healthz; 0: off)' })
    .option('dir', { type: 'string', default: DEFAULT_OPTIONS.dir, describe: 'data directory (Raft log, hard state)' })
    .option('peers', {
      type: 'string',
      describe: 'every cluster member, this node included: 1=127.0.0.1:7001,2=127.0.0.1:7002@17002,… [default: a one-member cluster of this node]',
    })
    .option('join', { type: 'string', describe: 'host:port of a member of a running cluster: ask it to add this node (empty data directory; no --peers needed)' })
    .option('cluster-id', { type: 'string', default: DEFAULT_OPTIONS.clusterId, describe: 'name shared by the members of one cluster; peers of another cluster are refused' })
    .option('log-level', { choices: ['debug', 'info', 'warn', 'error', 'silent'] as const, default: DEFAULT_OPTIONS.logLevel })
    .option('read-mode', { choices: ['readindex', 'lease'] as const, default: DEFAULT_OPTIONS.readMode, describe: 'how the leader proves a read is fresh' })
    .option('follower-writes', { choices: ['moved', 'proxy'] as const, default: DEFAULT_OPTIONS.followerWrites, describe: 'what a follower does with a write: redirect with MOVED, or forward it to the leader' })
    .option('snapshot-entries', { type: 'number', default: DEFAULT_OPTIONS.snapshotEntries, describe: 'take a snapshot after this many log entries (0: no entry threshold)' })
    .option('snapshot-bytes', { type: 'number', default: DEFAULT_OPTIONS.snapshotBytes, describe: 'take a snapshot once the log since the last one is at least as big as that snapshot and both together reach this many bytes, as Redis rewrites its AOF (0: no byte threshold)' })
    .option('lua-instruction-budget', { type: 'number', default: DEFAULT_OPTIONS.luaInstructionBudget, describe: 'Lua instructions a script may run before it is stopped (the same on every node; 0: unlimited)' })
    .option('lua-memory-budget', {
      type: 'number',
      default: DEFAULT_OPTIONS.luaMemoryBudget,
      describe: 'bytes a Lua script may allocate (counted as its operations ask, never given back) before it is stopped (the same on every node; 0: unlimited)',
    })
    .option('databases', { type: 'number', default: DEFAULT_OPTIONS.databases, describe: 'number of databases (SELECT 0 … n-1); every node of a cluster must have the same' })
    .option('requirepass', { type: 'string', describe: "the default user's password (as Redis's requirepass); users themselves are cluster state (ACL SETUSER)" })
    .option('aclfile', { type: 'string', describe: 'ACL file: users at start-up, ACL LOAD and ACL SAVE (as Redis\'s aclfile)' })
    .option('protected-mode', { type: 'boolean', default: true, describe: 'refuse non-loopback clients while the default user has no password (as Redis\'s protected-mode)' })
    .option('snapshot-keep-entries', { type: 'number', default: DEFAULT_OPTIONS.snapshotKeepEntries, describe: 'log entries kept behind a snapshot for followers that are a little behind' })
    .option('unsafe-no-fsync', {
      type: 'boolean',
      default: DEFAULT_OPTIONS.unsafeNoFsync,
      describe: 'UNSAFE, for measurement only: write the Raft log without fsync. A crash of the machine (not of the process) can lose acknowledged writes',
    })
    .strict()
    .version(pkg.version)
    .help()
    .alias('h', 'help')
    .fail((msg, err) => fail(err?.message ?? msg))
    .parseAsync();

  try {
    if (!Number.isSafeInteger(argv.id) || argv.id < 1) throw new OptionError('--id must be a positive integer');
    checkPort(argv.port, '--port');
    const clusterPort = argv['cluster-port'] ?? argv.port + 10000;
    checkPort(clusterPort, '--cluster-port');
    if (argv['http-port'] !== 0) checkPort(argv['http-port'], '--http-port');
    const selfAddr = { id: argv.id, host: argv.bind, port: argv.port, clusterPort };
    let peers = argv.peers !== undefined ? parsePeers(argv.peers) : [selfAddr];
    let join: { host: string; port: number } | undefined;
    let joining = false;
    if (argv.join !== undefined) {
      const m = /^(.+):(\d+)$/.exec(argv.join);
      if (!m) throw new OptionError(`--join must be host:port, got '${argv.join}'`);
      join = { host: m[1]!, port: Number(m[2]) };
      if (argv.peers !== undefined) throw new OptionError('--join and --peers are exclusive: a joining node learns the members from the cluster');
      if (!fs.existsSync(path.join(path.resolve(argv.dir), 'raft-log'))) {
        const members = await fetchMembers(join.host, join.port);
        if (members.some((p) => p.id === argv.id)) {
          throw new OptionError(`node id ${argv.id} is already a member of the cluster at ${argv.join}; choose another --id (or RAFT.NODE REMOVE ${argv.id} first)`);
        }
        peers = [...members, selfAddr];
        joining = true;
      } else {
        join = undefined;
        process.stderr.write(`raftis: --join ignored: ${argv.dir} already holds this node's data (it joined before)\n`);
      }
    }
    if (!peers.some((p) => p.id === argv.id)) throw new OptionError(`--peers does not list this node's --id ${argv.id}`);
    const self = peers.find((p) => p.id === argv.id)!;
    if (argv.peers !== undefined && (self.port !== argv.port || self.clusterPort !== clusterPort)) {
      throw new OptionError(`--peers gives node ${argv.id} the address ${self.host}:${self.port}@${self.clusterPort}, but --port/--cluster-port say ${argv.port}@${clusterPort}`);
    }
    for (const f of ['snapshot-entries', 'snapshot-bytes', 'snapshot-keep-entries', 'lua-instruction-budget', 'lua-memory-budget'] as const) {
      if (!Number.isSafeInteger(argv[f]) || argv[f] < 0) throw new OptionError(`--${f} must be a non-negative integer`);
    }
    if (argv['lua-memory-budget'] > MAX_MEMORY_BUDGET) throw new OptionError(`--lua-memory-budget must be at most ${MAX_MEMORY_BUDGET} (twice it must fit in the Lua VM's 1 GiB)`);
    if (!Number.isSafeInteger(argv.databases) || argv.databases < 1 || argv.databases > 2147483647) throw new OptionError('--databases must be an integer from 1 to 2147483647');
    if (argv['cluster-id'].length === 0 || Buffer.byteLength(argv['cluster-id']) > 255) throw new OptionError('--cluster-id must be 1 to 255 bytes');
    if (Buffer.byteLength(peerClusterId(argv['cluster-id'], argv.databases)) > 255) {
      throw new OptionError(`--cluster-id must be at most ${255 - Buffer.byteLength(peerClusterId('', argv.databases))} bytes with --databases ${argv.databases} (peers compare both)`);
    }
    const opts: Options = {
      id: argv.id,
      bind: argv.bind,
      port: argv.port,
      clusterPort,
      httpPort: argv['http-port'],
      dir: path.resolve(argv.dir),
      peers,
      logLevel: argv['log-level'],
      readMode: argv['read-mode'],
      followerWrites: argv['follower-writes'],
      clusterId: argv['cluster-id'],
      snapshotEntries: argv['snapshot-entries'],
      snapshotBytes: argv['snapshot-bytes'],
      snapshotKeepEntries: argv['snapshot-keep-entries'],
      luaInstructionBudget: argv['lua-instruction-budget'],
      luaMemoryBudget: argv['lua-memory-budget'],
      databases: argv.databases,
      ...(argv.requirepass !== undefined ? { requirepass: argv.requirepass } : {}),
      ...(argv.aclfile !== undefined ? { aclfile: argv.aclfile } : {}),
      protectedMode: argv['protected-mode'],
      unsafeNoFsync: argv['unsafe-no-fsync'],
      join,
      joining,
    };
    setLogLevel(opts.logLevel);
    setLogPrefix(`[${opts.id}] `);
    let stopping = false;
    let running: Running | undefined;
    // SIGTERM, SIGINT and SHUTDOWN (a client command) stop the process the same way.
    const stop = (why: string): void => {
      if (stopping || running === undefined) return;
      stopping = true;
      process.stderr.write(`raftis: ${why}, shutting down\n`);
      running.stop().then(
        () => process.exit(0),
        (e: unknown) => fail(`shutdown failed: ${(e as Error).message}`),
      );
    };
    running = await startRaftis(opts, pkg.version, stop);
    if (joining && join !== undefined) {
      try {
        await requestJoin(join.host, join.port, selfAddr);
        process.stderr.write(`raftis: node ${opts.id} was added to the cluster as a learner; it becomes a voter once it has caught up\n`);
      } catch (e) {
        await running.stop();
        // Nothing was joined: leave the directory as empty as it was, so the next --join starts afresh.
        // The log before its node state: a wal/ without raft-log/ is refused at the next start.
        fs.rmSync(path.join(opts.dir, 'wal'), { recursive: true, force: true });
        fs.rmSync(path.join(opts.dir, 'raft-log'), { recursive: true, force: true });
        fs.rmSync(path.join(opts.dir, 'snapshots'), { recursive: true, force: true });
        throw e;
      }
    }
    process.on('SIGTERM', () => stop('SIGTERM received'));
    process.on('SIGINT', () => stop('SIGINT received'));
  } catch (e) {
    fail((e as Error).message);
  }
}

void main();
