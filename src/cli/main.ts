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
import { fetchMembers, requestJoin, type JoinTls } from './join.js';
import { readClusterSecret, readPemFile } from './security.js';
import { createLogger, reopenLogFile, setLogFile, setLogFormat, setLogLevel, setLogNode } from '../util/log.js';
import { ConfigFileError, readConfigFile } from './config-file.js';
import { OWN_OPTIONS, interpretConfig, type FileParam, type LoadedConfig } from './config-load.js';
import { Config } from '../commands/engine/config.js';
import { MAX_MEMORY_BUDGET } from '../commands/engine/scripts.js';

const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function fail(message: string): never {
  process.stderr.write(`raftis: ${message}\n`);
  process.exit(1);
}

const log = createLogger('cli');

/** Whether the command line gives --name (as --name v, --name=v or --no-name). */
function onCommandLine(args: readonly string[], name: string): boolean {
  return args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `--no-${name}`);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'import') {
    // `raftis import …`: a client tool (src/cli/import.ts), not a server.
    const { importMain } = await import('./import.js');
    process.exitCode = await importMain(process.argv.slice(3));
    return;
  }
  let args = hideBin(process.argv);
  // `raftis /etc/raftis.conf --port 7000`, as `redis-server /path/redis.conf`.
  let configPath: string | undefined;
  if (args[0] !== undefined && !args[0].startsWith('-')) {
    configPath = args[0];
    args = args.slice(1);
  }
  // Redis parameters as redis-server takes them on its command line (`--maxmemory 1gb`, `--save 60 1000 300 10`):
  // every argument up to the next `--…` is the value. They come after the file's, as in redis-server.
  const redisParams: FileParam[] = [];
  const probe = new Config();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([a-z][a-z0-9-]*)$/i.exec(args[i]!)?.[1]?.toLowerCase();
    if (name === undefined || name in OWN_OPTIONS || probe.lookup(name) === undefined) {
      rest.push(args[i]!);
      continue;
    }
    const values: string[] = [];
    while (i + 1 < args.length && !args[i + 1]!.startsWith('--')) values.push(args[++i]!);
    const error = probe.load(name, values, 'command line');
    if (error !== undefined) fail(`--${name} ${values.map((v) => JSON.stringify(v)).join(' ')}: ${error}`);
    redisParams.push({ name, args: values, source: 'command line' });
  }
  args = rest;
  const argv0 = await yargs(args)
    .scriptName('raftis')
    .usage('$0 [config-file] [options]\n\nA Redis-protocol key-value server whose writes are replicated through Raft.\nRedis parameters are taken as redis-server takes them: --maxmemory 1gb, --save 60 1000 300 10.')
    .option('config', { type: 'string', describe: 'a config file in redis.conf\'s syntax: Redis parameters and these options without "--" (flags override it)' })
    .option('id', { type: 'number', default: DEFAULT_OPTIONS.id, describe: 'this node\'s id (a positive integer, listed in --peers)' })
    .option('bind', { type: 'string', default: DEFAULT_OPTIONS.bind, describe: 'address for the client and cluster ports, and for outgoing peer connections' })
    .option('port', { type: 'number', default: DEFAULT_OPTIONS.port, describe: 'client (RESP) port' })
    .option('cluster-port', { type: 'number', describe: 'peer (Raft) port [default: port + 10000]' })
    .option('http-port', { type: 'number', default: DEFAULT_OPTIONS.httpPort, describe: 'operator HTTP port on --bind: /healthz, /readyz, /metrics and the cluster page at / (0: off)' })
    .option('dir', { type: 'string', default: DEFAULT_OPTIONS.dir, describe: 'data directory (Raft log, hard state)' })
    .option('peers', {
      type: 'string',
      describe: 'every cluster member, this node included: 1=127.0.0.1:7001,2=127.0.0.1:7002@17002,… [default: a one-member cluster of this node]',
    })
    .option('join', { type: 'string', describe: 'host:port of a member of a running cluster: ask it to add this node (empty data directory; no --peers needed)' })
    .option('cluster-id', { type: 'string', default: DEFAULT_OPTIONS.clusterId, describe: 'name shared by the members of one cluster; peers of another cluster are refused' })
    .option('group', { type: 'number', describe: "this node's data group in a sharded cluster (0: the configuration group, which keeps the slot map); without it one group owns every slot" })
    .option('shard-seeds', { type: 'string', describe: 'sharded cluster, groups other than 0: client addresses of group 0\'s nodes, host:port,host:port,… (where the slot map is fetched)' })
    .option('cluster-secret-file', {
      type: 'string',
      describe: 'file holding a secret (at least 16 bytes, trimmed) every member must hold: peers prove it to each other in the handshake, without sending it',
    })
    .option('tls-port', { type: 'number', default: 0, describe: 'TLS client port next to --port (Redis\'s tls-port; --port 0 serves TLS only; 0: off)' })
    .option('tls-cert-file', { type: 'string', describe: 'PEM certificate of the TLS client port' })
    .option('tls-key-file', { type: 'string', describe: 'PEM private key of --tls-cert-file' })
    .option('tls-ca-cert-file', { type: 'string', describe: 'PEM CA bundle that client certificates must chain to' })
    .option('tls-auth-clients', { choices: ['yes', 'no', 'optional'] as const, default: 'yes' as const, describe: 'require (yes), check if presented (optional) or ignore (no) client certificates, as Redis' })
    .option('peer-tls-cert-file', { type: 'string', describe: 'PEM certificate this node presents on the cluster port, both ways (mutual TLS)' })
    .option('peer-tls-key-file', { type: 'string', describe: 'PEM private key of --peer-tls-cert-file' })
    .option('peer-tls-ca-file', { type: 'string', describe: 'PEM CA that every peer\'s certificate must chain to' })
    .option('log-level', { choices: ['debug', 'info', 'warn', 'error', 'silent'] as const, default: DEFAULT_OPTIONS.logLevel })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'log lines as text, or as one JSON object per line' })
    .option('logfile', { type: 'string', default: '', describe: 'append the log to this file (reopened on SIGHUP) instead of stderr' })
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
    .option('protected-mode', { choices: ['yes', 'no'] as const, default: 'yes' as const, describe: 'refuse non-loopback clients while the default user has no password (as Redis\'s protected-mode)' })
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

  if (argv0.config !== undefined) {
    if (configPath !== undefined) fail(`two config files: ${configPath} and --config ${argv0.config}`);
    configPath = argv0.config;
  }
  let loaded: LoadedConfig | undefined;
  if (configPath !== undefined) {
    try {
      loaded = interpretConfig(configPath, readConfigFile(configPath));
    } catch (e) {
      if (!(e instanceof ConfigFileError)) throw e;
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
  }
  // The file's options, then the command line's over them; each with where it came from (RAFT.CONFIG).
  const argv = argv0 as typeof argv0 & Record<string, unknown>;
  const sources: Record<string, string> = {};
  for (const [name, value] of Object.entries(loaded?.options ?? {})) {
    if (onCommandLine(args, name)) continue;
    argv[name] = value;
    sources[name] = loaded!.sources[name]!;
  }
  for (const a of args) {
    const m = /^--(?:no-)?([a-z][a-z-]*)/.exec(a);
    if (m && m[1] !== 'config') sources[m[1]!] = 'command line';
  }

  try {
    if (!Number.isSafeInteger(argv.id) || argv.id < 1) throw new OptionError('--id must be a positive integer');
    const tlsPort = argv['tls-port'];
    if (tlsPort !== 0) checkPort(tlsPort, '--tls-port');
    if (argv.port !== 0 || tlsPort === 0) checkPort(argv.port, '--port');
    // The client port members advertise (MOVED, RAFT.INFO): the plain one, or the TLS one when --port 0 turns plain off.
    const clientPort = argv.port !== 0 ? argv.port : tlsPort;
    const clusterPort = argv['cluster-port'] ?? clientPort + 10000;
    checkPort(clusterPort, '--cluster-port');
    if (argv['http-port'] !== 0) checkPort(argv['http-port'], '--http-port');
    // A Redis parameter as the file and then the command line give it ('' when neither does).
    const redisParam = (name: string): string => [...(loaded?.params ?? []), ...redisParams].filter((p) => p.name === name).pop()?.args.join(' ') ?? '';
    const security = readSecurityOptions(argv, redisParam);
    const selfAddr = { id: argv.id, host: argv.bind, port: clientPort, clusterPort };
    let peers = argv.peers !== undefined ? parsePeers(argv.peers) : [selfAddr];
    let join: { host: string; port: number } | undefined;
    let joining = false;
    if (argv.join !== undefined) {
      const m = /^(.+):(\d+)$/.exec(argv.join);
      if (!m) throw new OptionError(`--join must be host:port, got '${argv.join}'`);
      join = { host: m[1]!, port: Number(m[2]) };
      if (argv.peers !== undefined) throw new OptionError('--join and --peers are exclusive: a joining node learns the members from the cluster');
      if (!fs.existsSync(path.join(path.resolve(argv.dir), 'raft-log'))) {
        const members = await fetchMembers(join.host, join.port, joinTls(argv.port, security.clientTls));
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
    if (argv.peers !== undefined && (self.port !== clientPort || self.clusterPort !== clusterPort)) {
      throw new OptionError(`--peers gives node ${argv.id} the address ${self.host}:${self.port}@${self.clusterPort}, but --port/--cluster-port say ${clientPort}@${clusterPort}`);
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
    let shardSeeds: { host: string; port: number }[] | undefined;
    if (argv.group !== undefined) {
      if (!Number.isInteger(argv.group) || argv.group < 0 || argv.group > 16383) throw new OptionError('--group must be an integer from 0 to 16383');
      shardSeeds = parseSeeds(argv['shard-seeds'] ?? '');
      if (argv.group !== 0 && shardSeeds.length === 0) throw new OptionError('--group other than 0 needs --shard-seeds (client addresses of group 0\'s nodes)');
    } else if (argv['shard-seeds'] !== undefined) {
      throw new OptionError('--shard-seeds needs --group');
    }
    const opts: Options = {
      id: argv.id,
      ...(argv.group !== undefined ? { group: argv.group, shardSeeds } : {}),
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
      protectedMode: argv['protected-mode'] === 'yes',
      unsafeNoFsync: argv['unsafe-no-fsync'],
      ...security,
      join,
      joining,
      configFile: { path: loaded?.path ?? '', params: [...(loaded?.params ?? []), ...redisParams] },
      ownOptions: Object.keys(OWN_OPTIONS).map((name) => {
        const v = name === 'dir' ? path.resolve(argv.dir) : name === 'cluster-port' ? clusterPort : argv[name];
        return { name, value: v === undefined ? '' : String(v), source: sources[name] ?? 'default' };
      }),
      optionSources: sources,
    };
    setLogLevel(opts.logLevel);
    setLogNode(opts.id);
    setLogFormat(argv['log-format']);
    // The CLI's own lines: `raftis: …` on stderr as before, or log lines where the log is JSON or goes to a file.
    const say = (msg: string): void => {
      if (argv['log-format'] === 'json' || argv.logfile !== '') log.info(msg);
      else process.stderr.write(`raftis: ${msg}\n`);
    };
    try {
      setLogFile(argv.logfile);
    } catch (e) {
      // redis-server: "Can't open the log file: <strerror>".
      throw new OptionError(`Can't open the log file ${argv.logfile}: ${(e as Error).message}`);
    }
    // logrotate's postrotate sends SIGHUP: the log goes on in a new file of the same name.
    process.on('SIGHUP', () => reopenLogFile());
    if (loaded !== undefined) {
      log.info(`config file ${loaded.path} loaded`, { file: loaded.path, options: Object.keys(loaded.options).length, parameters: loaded.params.length });
      for (const what of loaded.ignored) log.info(`config file: ignored ${what}`);
      if (loaded.clusterWide.length > 0 && opts.peers.length > 1) {
        log.warn(`config file sets cluster-wide parameters (${loaded.clusterWide.join(', ')}): give every node the same values, or set them with CONFIG SET, which goes through the log`);
      }
    }
    let stopping = false;
    let running: Running | undefined;
    // SIGTERM, SIGINT and SHUTDOWN (a client command) stop the process the same way.
    const stop = (why: string): void => {
      if (stopping || running === undefined) return;
      stopping = true;
      say(`${why}, shutting down`);
      running.stop().then(
        () => process.exit(0),
        (e: unknown) => fail(`shutdown failed: ${(e as Error).message}`),
      );
    };
    running = await startRaftis(opts, pkg.version, stop);
    if (joining && join !== undefined) {
      try {
        await requestJoin(join.host, join.port, selfAddr, joinTls(argv.port, security.clientTls));
        say(`node ${opts.id} was added to the cluster as a learner; it becomes a voter once it has caught up`);
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
    // shutdown-on-sigterm / shutdown-on-sigint: with `save`, a snapshot first (a faster restart), as SHUTDOWN SAVE; if it
    // fails the node keeps running unless `force` is there too (Redis's finishShutdown). nosave, now and default stop at
    // once: every acknowledged write is in the Raft log already, and there are no replicas to wait for.
    const onSignal = (sig: 'SIGTERM' | 'SIGINT'): void => {
      const why = `${sig} received`;
      const flags = running?.engine.config.get(sig === 'SIGTERM' ? 'shutdown-on-sigterm' : 'shutdown-on-sigint').split(' ') ?? [];
      if (!flags.includes('save') || stopping || running === undefined) return stop(why);
      stopping = true;
      say(`${why}, saving a snapshot before shutting down`);
      void running.engine.node.snapshot().then((m) => {
        if (m === undefined && !flags.includes('force')) {
          log.warn(`${why}: the snapshot failed, not shutting down (add force to shutdown-on-${sig.slice(3).toLowerCase()} to stop anyway)`);
          stopping = false;
          return;
        }
        stopping = false;
        stop(why);
      });
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  } catch (e) {
    fail((e as Error).message);
  }
}

interface SecurityArgs {
  'cluster-secret-file'?: string;
  'tls-port': number;
  'tls-cert-file'?: string;
  'tls-key-file'?: string;
  'tls-ca-cert-file'?: string;
  'tls-auth-clients': 'yes' | 'no' | 'optional';
  'peer-tls-cert-file'?: string;
  'peer-tls-key-file'?: string;
  'peer-tls-ca-file'?: string;
}

/** Reads the secret and certificate files the flags name; refuses half-configured TLS. */
function readSecurityOptions(argv: SecurityArgs, redisParam: (name: string) => string): Pick<Options, 'clusterSecret' | 'clientTls' | 'peerTls'> {
  const out: Pick<Options, 'clusterSecret' | 'clientTls' | 'peerTls'> = {};
  if (argv['cluster-secret-file'] !== undefined) {
    out.clusterSecret = readClusterSecret(argv['cluster-secret-file'], (line) => process.stderr.write(`raftis: warning: ${line}\n`));
  }
  if (argv['tls-port'] !== 0) {
    const cert = argv['tls-cert-file'];
    const key = argv['tls-key-file'];
    const ca = argv['tls-ca-cert-file'];
    const caDir = redisParam('tls-ca-cert-dir');
    if (cert === undefined || key === undefined) throw new OptionError('--tls-port needs --tls-cert-file and --tls-key-file');
    if (ca === undefined && caDir === '' && argv['tls-auth-clients'] !== 'no') {
      throw new OptionError(`--tls-auth-clients ${argv['tls-auth-clients']} needs --tls-ca-cert-file to check client certificates (or --tls-auth-clients no)`);
    }
    out.clientTls = {
      port: argv['tls-port'],
      cert: readPemFile(cert, '--tls-cert-file'),
      key: readPemFile(key, '--tls-key-file'),
      ...(ca !== undefined || caDir !== '' ? { ca: readCaCerts(ca, caDir) } : {}),
      authClients: argv['tls-auth-clients'],
    };
  } else if ((argv['tls-cert-file'] !== undefined || argv['tls-key-file'] !== undefined) && redisParam('tls-cluster') !== 'yes') {
    throw new OptionError('--tls-cert-file/--tls-key-file without --tls-port: give the TLS client port');
  }
  const peer = [argv['peer-tls-cert-file'], argv['peer-tls-key-file'], argv['peer-tls-ca-file']];
  if (peer.some((f) => f !== undefined)) {
    if (peer.some((f) => f === undefined)) throw new OptionError('peer TLS needs all three of --peer-tls-cert-file, --peer-tls-key-file and --peer-tls-ca-file');
    out.peerTls = {
      cert: readPemFile(peer[0]!, '--peer-tls-cert-file'),
      key: readPemFile(peer[1]!, '--peer-tls-key-file'),
      ca: readPemFile(peer[2]!, '--peer-tls-ca-file'),
    };
  } else if (redisParam('tls-cluster') === 'yes') {
    // Redis's tls-cluster: the cluster bus over TLS with the client port's files, always mutual (as Redis's bus),
    // presenting tls-client-cert-file / tls-client-key-file when set (both ways: a raftis peer link is one
    // certificate per node). --peer-tls-* given too wins.
    const cert = redisParam('tls-client-cert-file') || argv['tls-cert-file'];
    const key = redisParam('tls-client-cert-file') !== '' ? redisParam('tls-client-key-file') : argv['tls-key-file'];
    const ca = argv['tls-ca-cert-file'];
    if (cert === undefined || cert === '' || key === undefined || key === '' || ca === undefined) {
      throw new OptionError('tls-cluster yes needs tls-cert-file and tls-key-file (or tls-client-cert-file and tls-client-key-file) and tls-ca-cert-file');
    }
    out.peerTls = { cert: readPemFile(cert, 'tls-cert-file'), key: readPemFile(key, 'tls-key-file'), ca: readPemFile(ca, 'tls-ca-cert-file') };
  }
  return out;
}

/**
 * tls-ca-cert-file and tls-ca-cert-dir together: Node.js has no CA directory (OpenSSL's CApath), so every file of the
 * directory holding a PEM certificate is read at start (its c_rehash links to the same files included).
 */
function readCaCerts(file: string | undefined, dir: string): Buffer[] {
  const out = file !== undefined ? [readPemFile(file, '--tls-ca-cert-file')] : [];
  if (dir === '') return out;
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (e) {
    throw new OptionError(`tls-ca-cert-dir: cannot read ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  for (const n of names) {
    const f = path.join(dir, n);
    if (!fs.statSync(f).isFile()) continue;
    const data = fs.readFileSync(f);
    if (data.includes('-----BEGIN CERTIFICATE-----')) out.push(data);
  }
  if (out.length === 0) throw new OptionError(`tls-ca-cert-dir: ${dir} holds no PEM certificate`);
  return out;
}

/** --join talks to the cluster's client port: over TLS when this node serves TLS only (--port 0), as its peers then do. */
function joinTls(port: number, clientTls: Options['clientTls']): JoinTls | undefined {
  if (port !== 0 || clientTls === undefined) return undefined;
  return { ca: clientTls.ca, cert: clientTls.cert, key: clientTls.key };
}

void main();

/** --shard-seeds: host:port,host:port,… */
function parseSeeds(spec: string): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const part of spec.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([^:\s]+|\[[^\]]+\]):(\d{1,5})$/.exec(part);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new OptionError(`bad --shard-seeds entry '${part}': expected HOST:PORT`);
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
  }
  return out;
}
