/**
 * Server commands: COMMAND, CONFIG, INFO, TIME. All answered from local
 * state; none is replicated.
 */
import os from 'node:os';
import type { Client } from '../server/client.js';
import { ERR, ERR_CONN, configSetFailed, configSetUnknown } from '../server/errors.js';
import type { RespWriter } from '../server/resp-writer.js';
import { REDIS_VERSION } from './connection.js';
import { writeTree } from './generated-table.js';
import { writeHelp } from './help.js';
import { commandKeys } from './keys.js';
import { stringMatch as globMatch } from '../keyspace/glob.js';
import type { CommandDef, CommandTable, ConnHandler } from './table.js';
import { commandUsec, newCommandCounters } from '../server/stats.js';
import { raftInfoText } from './cluster.js';
import type { RaftisNode } from '../node/node.js';

function time(_c: Client, _argv: string[], w: RespWriter): void {
  const us = BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000));
  w.arrayHeader(2);
  w.bulk(String(us / 1000000n));
  w.bulk(String(us % 1000000n));
}

// ---- COMMAND ------------------------------------------------------------

function commandAll(c: Client, _argv: string[], w: RespWriter): void {
  const table = c.server.table;
  w.arrayHeader(table.size);
  for (const d of table.all()) writeTree(w, d.info);
}

function commandInfo(c: Client, argv: string[], w: RespWriter): void {
  if (argv.length === 2) return commandAll(c, argv, w);
  w.arrayHeader(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    const d = c.server.table.get(argv[i]!);
    if (d) writeTree(w, d.info);
    else w.nil();
  }
}

function commandDocs(c: Client, argv: string[], w: RespWriter): void {
  const table = c.server.table;
  const defs: CommandDef[] = [];
  if (argv.length === 2) defs.push(...table.all());
  else
    for (let i = 2; i < argv.length; i++) {
      const d = table.get(argv[i]!);
      if (d) defs.push(d);
    }
  w.mapHeader(defs.length);
  for (const d of defs) {
    w.bulk(d.name);
    writeTree(w, d.docs ?? { map: [] });
  }
}

function commandList(c: Client, argv: string[], w: RespWriter): void {
  const all = [...c.server.table.all()];
  let names = all.map((d) => d.name);
  if (argv.length > 2) {
    if (argv.length !== 5 || argv[2]!.toLowerCase() !== 'filterby') return w.error(ERR.syntax);
    const kind = argv[3]!.toLowerCase();
    const arg = argv[4]!;
    if (kind === 'pattern') {
      names = [];
      for (const d of all) {
        names.push(...[d.name, ...[...(d.subcommands?.values() ?? [])].map((s) => s.name)].filter((n) => globMatch(arg, n, true)));
      }
    } else if (kind === 'aclcat') {
      names = all
        .filter((d) => ((d.info[6] as { set: string[] } | undefined)?.set ?? []).some((cat) => cat === `@${arg.toLowerCase()}`))
        .map((d) => d.name);
    } else if (kind === 'module') {
      names = [];
    } else {
      return w.error(ERR.syntax);
    }
  }
  w.bulkArray(names);
}

function commandGetkeys(c: Client, argv: string[], w: RespWriter): void {
  const sub = argv.slice(2);
  const def = c.server.table.lookup(sub);
  if (!def) return w.error(ERR_CONN.getkeysInvalidCommand);
  const arity = def.meta.arity;
  if ((arity > 0 && sub.length !== arity) || sub.length < -arity) return w.error(ERR_CONN.getkeysInvalidArgs);
  const keys = commandKeys(def.meta, sub);
  if (keys.length === 0) return w.error(ERR_CONN.getkeysNoKeys);
  w.bulkArray(keys);
}

// ---- CONFIG -------------------------------------------------------------

function configGet(c: Client, argv: string[], w: RespWriter): void {
  const params = c.server.config.params;
  const found = new Map<string, string>();
  for (let i = 2; i < argv.length; i++) {
    const pat = argv[i]!.toLowerCase();
    for (const [name, p] of params) if (!found.has(name) && globMatch(pat, name, true)) found.set(name, p.get());
  }
  w.mapHeader(found.size);
  for (const [k, v] of found) {
    w.bulk(k);
    w.bulk(v);
  }
}

function configSet(c: Client, argv: string[], w: RespWriter): void {
  if ((argv.length - 2) % 2 !== 0) return w.error(configSetUnknown(argv[argv.length - 1]!));
  const params = c.server.config.params;
  // Validate all first: CONFIG SET is all-or-nothing in Redis 7.
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i]!.toLowerCase();
    const p = params.get(name);
    if (!p) return w.error(configSetUnknown(argv[i]!));
    if (!p.set) return w.error(configSetFailed(argv[i]!, "can't set immutable config"));
  }
  for (let i = 2; i < argv.length; i += 2) {
    const err = params.get(argv[i]!.toLowerCase())!.set!(argv[i + 1]!);
    if (err !== undefined) return w.error(configSetFailed(argv[i]!, err));
  }
  w.ok();
}

// ---- INFO ---------------------------------------------------------------

type Section = [name: string, fields: [string, string | number][]];

function infoSections(c: Client): Section[] {
  const s = c.server;
  const node = s.node;
  const mem = process.memoryUsage();
  const now = Date.now();
  const uptime = Math.floor((now - s.startedAt) / 1000);
  const cpu = process.cpuUsage();
  const snap = node.snapshotter.stats;
  return [
    [
      'Server',
      [
        ['redis_version', REDIS_VERSION],
        ['raftis_version', s.info.version],
        ['redis_mode', node.voters.length > 1 ? 'cluster' : 'standalone'],
        ['os', `${os.type()} ${os.release()} ${os.arch()}`],
        ['arch_bits', 64],
        ['multiplexing_api', 'epoll'],
        ['process_id', process.pid],
        ['run_id', s.runId],
        ['tcp_port', s.info.port],
        ['server_time_usec', now * 1000],
        ['uptime_in_seconds', uptime],
        ['uptime_in_days', Math.floor(uptime / 86400)],
        ['hz', 10],
        ['executable', process.argv[1] ?? ''],
        ['config_file', s.info.configFile],
      ],
    ],
    [
      'Clients',
      [
        ['connected_clients', s.clients.size],
        ['maxclients', 10000],
        ['blocked_clients', s.dispatcher.blocking.blockedClients],
        ['tracking_clients', 0],
      ],
    ],
    [
      'Memory',
      [
        ['used_memory', mem.heapUsed + mem.external],
        ['used_memory_human', human(mem.heapUsed + mem.external)],
        ['used_memory_rss', mem.rss],
        ['used_memory_rss_human', human(mem.rss)],
        ['used_memory_peak', mem.heapTotal + mem.external],
        ['total_system_memory', os.totalmem()],
        ['total_system_memory_human', human(os.totalmem())],
        ['maxmemory', s.config.maxmemory],
        ['maxmemory_human', human(s.config.maxmemory)],
        ['maxmemory_policy', s.config.maxmemoryPolicy],
        ['mem_allocator', 'v8'],
      ],
    ],
    [
      'Persistence',
      [
        ['loading', 0],
        ['async_loading', 0],
        ['current_save_keys_processed', snap.inProgress ? snap.keysProcessed : 0],
        ['current_save_keys_total', snap.inProgress ? node.keyspace.size : 0],
        ['rdb_changes_since_last_save', node.appliedIndex - node.snapshotIndex],
        ['rdb_bgsave_in_progress', snap.inProgress ? 1 : 0],
        ['rdb_last_save_time', snap.lastSaveTime],
        ['rdb_last_bgsave_status', snap.lastStatus],
        ['rdb_last_bgsave_time_sec', snap.lastDurationSec],
        ['rdb_current_bgsave_time_sec', snap.inProgress ? Math.floor((Date.now() - snap.currentStartedAt) / 1000) : -1],
        ['rdb_saves', snap.saves],
        ['rdb_last_save_keys', snap.lastKeys],
        ['rdb_last_save_bytes', snap.lastBytes],
        ['raft_snapshot_index', node.snapshotIndex],
        ['aof_enabled', 1],
        ['aof_rewrite_in_progress', 0],
        ['aof_last_write_status', 'ok'],
        ['raft_log_last_index', node.lastIndex],
        ['raft_log_bytes', node.logBytes],
      ],
    ],
    [
      'Stats',
      [
        ['total_connections_received', s.stats.totalConnections],
        ['total_commands_processed', s.stats.totalCommands],
        ['total_net_input_bytes', s.stats.netInputBytes],
        ['total_net_output_bytes', s.stats.netOutputBytes],
        ['rejected_connections', s.stats.rejectedConnections],
        ['expired_keys', node.keyspace.expired],
        ['keyspace_hits', node.keyspace.hits],
        ['keyspace_misses', node.keyspace.misses],
        ['pubsub_channels', s.pubsub.channels.size],
        ['pubsub_patterns', s.pubsub.patterns.size],
        ['pubsubshard_channels', 0],
        ['total_error_replies', s.stats.totalErrorReplies],
      ],
    ],
    ['Replication', replicationFields(node)],
    [
      'CPU',
      [
        ['used_cpu_sys', (cpu.system / 1e6).toFixed(6)],
        ['used_cpu_user', (cpu.user / 1e6).toFixed(6)],
      ],
    ],
    ['Modules', []],
    ['Commandstats', commandStats(s.table)],
    ['Errorstats', [...s.stats.errors].map(([code, n]) => [`errorstat_${code}`, `count=${n}`])],
    // Every raftis node speaks the Redis Cluster protocol (CLUSTER SLOTS, MOVED).
    ['Cluster', [['cluster_enabled', 1]]],
    [
      'Raft',
      raftInfoText(node, s.info.clusterId)
        .split('\r\n')
        .filter((l) => l.includes(':'))
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)] as [string, string]),
    ],
    [
      'Keyspace',
      node.keyspace.size > 0 ? [['db0', `keys=${node.keyspace.size},expires=${node.keyspace.expiresCount},avg_ttl=0`]] : [],
    ],
  ];
}

/** INFO replication: the leader is the master, followers its replicas. */
function replicationFields(node: RaftisNode): [string, string | number][] {
  if (node.isLeader) {
    const st = node.status();
    const replicas = [...node.members.values()].filter((m) => m.id !== node.id && node.voters.includes(m.id));
    return [
      ['role', 'master'],
      ['connected_slaves', replicas.filter((m) => node.peerConnected(m.id)).length],
      ...replicas.map((m, i): [string, string] => {
        const pr = st.progress.find((p) => p.id === m.id);
        const state = node.peerConnected(m.id) ? 'online' : 'wait_bgsave';
        return [`slave${i}`, `ip=${m.host},port=${m.port},state=${state},offset=${pr?.match ?? 0},lag=0`];
      }),
      ['master_repl_offset', node.appliedIndex],
    ];
  }
  const leader = node.members.get(node.leader);
  return [
    ['role', 'slave'],
    ['master_host', leader?.host ?? '?'],
    ['master_port', leader?.port ?? 0],
    ['master_link_status', leader && node.peerConnected(leader.id) ? 'up' : 'down'],
    ['slave_repl_offset', node.appliedIndex],
    ['slave_read_only', 1],
    ['connected_slaves', 0],
    ['master_repl_offset', node.appliedIndex],
  ];
}

function human(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(2)}${units[i]}`;
}

// Redis 7's default sections (Modules is its module list), and Raft.
const DEFAULT_SECTIONS = new Set(['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'errorstats', 'cluster', 'raft', 'keyspace']);

/** Every command and subcommand of the table, with its counters. */
function* commandDefs(table: CommandTable): Generator<CommandDef> {
  for (const def of table.all()) {
    yield def;
    if (def.subcommands !== undefined) yield* def.subcommands.values();
  }
}

/** INFO commandstats: the commands used since the start (or CONFIG RESETSTAT), as Redis lists them. */
function commandStats(table: CommandTable): [string, string][] {
  const out: [string, string][] = [];
  for (const def of commandDefs(table)) {
    const st = def.stats;
    if (st.calls === 0 && st.rejectedCalls === 0 && st.failedCalls === 0) continue;
    const usec = commandUsec(st);
    const perCall = st.calls === 0 ? 0 : usec / st.calls;
    out.push([
      `cmdstat_${def.meta.name}`,
      `calls=${st.calls},usec=${Math.round(usec)},usec_per_call=${perCall.toFixed(2)},rejected_calls=${st.rejectedCalls},failed_calls=${st.failedCalls}`,
    ]);
  }
  return out;
}

function info(c: Client, argv: string[], w: RespWriter): void {
  const wanted = new Set(argv.slice(1).map((a) => a.toLowerCase()));
  const all = wanted.has('all') || wanted.has('everything');
  const useDefault = wanted.size === 0 || wanted.has('default');
  let text = '';
  for (const [name, fields] of infoSections(c)) {
    const lname = name.toLowerCase();
    if (!(all || wanted.has(lname) || (useDefault && DEFAULT_SECTIONS.has(lname)))) continue;
    if (text !== '') text += '\r\n';
    text += `# ${name}\r\n`;
    for (const [k, v] of fields) text += `${k}:${v}\r\n`;
  }
  w.verbatim(text);
}

export const serverCommands: Record<string, ConnHandler> = {
  time,
  info,
  command: commandAll,
  'command|count': (c, _argv, w) => w.int(c.server.table.size),
  'command|info': commandInfo,
  'command|docs': commandDocs,
  'command|list': commandList,
  'command|getkeys': commandGetkeys,
  'command|help': (_c, _argv, w) =>
    writeHelp(w, 'command', [
      '(no subcommand)',
      '    Return details about all Redis commands.',
      'COUNT',
      '    Return the total number of commands in this Redis server.',
      'LIST',
      '    Return a list of all commands in this Redis server.',
      'INFO [<command-name> ...]',
      '    Return details about multiple Redis commands.',
      '    If no command names are given, documentation details for all',
      '    commands are returned.',
      'DOCS [<command-name> ...]',
      '    Return documentation details about multiple Redis commands.',
      '    If no command names are given, documentation details for all',
      '    commands are returned.',
      'GETKEYS <full-command>',
      '    Return the keys from a full Redis command.',
    ]),
  'config|get': configGet,
  'config|set': configSet,
  'config|resetstat': (c, _argv, w) => {
    const st = c.server.stats;
    st.totalCommands = st.netInputBytes = st.netOutputBytes = st.totalErrorReplies = 0;
    st.errors.clear();
    const ks = c.server.node.keyspace;
    ks.hits = ks.misses = ks.expired = 0;
    for (const def of commandDefs(c.server.table)) Object.assign(def.stats, newCommandCounters());
    w.ok();
  },
  'config|help': (_c, _argv, w) =>
    writeHelp(w, 'config', [
      'GET <pattern>',
      '    Return parameters matching the glob-like <pattern> and their values.',
      'SET <directive> <value>',
      '    Set the configuration <directive> to <value>.',
      'RESETSTAT',
      '    Reset statistics reported by the INFO command.',
      'REWRITE',
      '    Rewrite the configuration file.',
    ]),
  // raftis takes its settings from the command line: Redis's answer when it was started without a file.
  'config|rewrite': (_c, _argv, w) => w.error('ERR The server is running without a config file'),
};
