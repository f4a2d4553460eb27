/**
 * Server commands: COMMAND, CONFIG, INFO, TIME. All answered from local
 * state; none is replicated.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { EngineClient as Client } from './engine/engine.js';
import { ERR, ERR_CONN, configSetFailed, configSetUnknown } from './errors.js';
import type { ConfigParam } from './engine/config.js';
import type { RespWriter } from '../server/resp-writer.js';
import { REDIS_VERSION } from './connection.js';
import { writeTree } from './generated-table.js';
import { writeHelp } from './help.js';
import { commandKeyRefs } from './keys.js';
import { stringMatch as globMatch } from '../keyspace/glob.js';
import { protectedCommandError, type CommandDef, type CommandTable, type ConnHandler, type ConnCtx } from './table.js';
import { commandUsec, newCommandCounters } from './engine/stats.js';
import { raftInfoText } from './cluster.js';
import type { RaftisNode } from '../node/node.js';

function time({ w }: ConnCtx, _argv: string[]): void {
  const us = BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000));
  w.arrayHeader(2);
  w.bulk(String(us / 1000000n));
  w.bulk(String(us % 1000000n));
}

// ---- COMMAND ------------------------------------------------------------

function commandAll({ c, w }: ConnCtx, _argv: string[]): void {
  const table = c.server.table;
  w.arrayHeader(table.size);
  for (const d of table.all()) writeTree(w, d.info);
}

function commandInfo(ctx: ConnCtx, argv: string[]): void {
  const { c, w } = ctx;
  if (argv.length === 2) return commandAll(ctx, argv);
  w.arrayHeader(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    const d = c.server.table.get(argv[i]!);
    if (d) writeTree(w, d.info);
    else w.nil();
  }
}

function commandDocs({ c, w }: ConnCtx, argv: string[]): void {
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

/** COMMAND LIST [FILTERBY MODULE|ACLCAT|PATTERN x]: every command and subcommand (container|sub), as Redis lists them. */
function commandList({ c, w }: ConnCtx, argv: string[]): void {
  const all: CommandDef[] = [];
  for (const d of c.server.table.all()) {
    all.push(d);
    for (const s of d.subcommands?.values() ?? []) all.push(s);
  }
  let keep: (d: CommandDef) => boolean = () => true;
  if (argv.length > 2) {
    if (argv.length !== 5 || argv[2]!.toLowerCase() !== 'filterby') return w.error(ERR.syntax);
    const kind = argv[3]!.toLowerCase();
    const arg = argv[4]!;
    if (kind === 'pattern') {
      keep = (d) => globMatch(arg, d.meta.name, true);
    } else if (kind === 'aclcat') {
      const cat = `@${arg.toLowerCase()}`;
      keep = (d) => ((d.info[6] as { set: { s: string }[] } | undefined)?.set ?? []).some((x) => x.s === cat);
    } else if (kind === 'module') {
      keep = () => false;
    } else {
      return w.error(ERR.syntax);
    }
  }
  w.bulkArray(all.filter(keep).map((d) => d.meta.name));
}

/** COMMAND GETKEYS / GETKEYSANDFLAGS (Redis's getKeysSubcommandImpl). */
function commandGetkeys({ c, w }: ConnCtx, argv: string[]): void {
  const sub = argv.slice(2);
  const def = c.server.table.lookup(sub);
  if (!def) return w.error(ERR_CONN.getkeysInvalidCommand);
  const meta = def.meta;
  if (!meta.keySpecs.some((s) => !s.flags.includes('not_key'))) return w.error(ERR_CONN.getkeysNoKeys);
  const arity = meta.arity;
  if ((arity > 0 && sub.length !== arity) || sub.length < -arity) return w.error(ERR_CONN.getkeysInvalidArgs);
  const keys = commandKeyRefs(meta, sub);
  if (keys.length === 0) {
    if (meta.flags.has('no_mandatory_keys')) return w.arrayHeader(0);
    return w.error(ERR_CONN.getkeysBadArgs);
  }
  const withFlags = argv[1]!.toLowerCase() === 'getkeysandflags';
  w.arrayHeader(keys.length);
  for (const k of keys) {
    if (!withFlags) {
      w.bulk(sub[k.pos]!);
      continue;
    }
    w.arrayHeader(2);
    w.bulk(sub[k.pos]!);
    w.setHeader(k.flags.length);
    for (const f of k.flags) w.simple(f);
  }
}

// ---- CONFIG -------------------------------------------------------------

function configGet({ c, w }: ConnCtx, argv: string[]): void {
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

function configSet({ c, w }: ConnCtx, argv: string[]): void {
  // Redis 7.0 configSetCommand: an odd number of name/value arguments is a syntax error.
  if ((argv.length - 2) % 2 !== 0) return w.error(ERR.syntax);
  const params = c.server.config.params;
  // Validate all first: CONFIG SET is all-or-nothing in Redis 7; the first bad name wins.
  const named: ConfigParam[] = [];
  for (let i = 2; i < argv.length; i += 2) {
    const p = params.get(argv[i]!.toLowerCase());
    if (!p) return w.error(configSetUnknown(argv[i]!));
    // A name given twice (in any case) fails even when it is also immutable, as in Redis.
    if (named.includes(p)) return w.error(configSetFailed(argv[i]!, 'duplicate parameter'));
    if (!p.set) return w.error(configSetFailed(argv[i]!, "can't set immutable config"));
    named.push(p);
  }
  // A value refused undoes the ones set before it (Redis restores its backup).
  const applied: [ConfigParam, string][] = [];
  for (let i = 2; i < argv.length; i += 2) {
    const p = named[(i - 2) / 2]!;
    const old = p.get();
    const err = p.set!(argv[i + 1]!);
    if (err !== undefined) {
      for (let j = applied.length - 1; j >= 0; j--) applied[j]![0].set!(applied[j]![1]);
      return w.error(configSetFailed(argv[i]!, err));
    }
    applied.push([p, old]);
  }
  w.ok();
}

// ---- INFO ---------------------------------------------------------------

/** A section and how to compute its fields: only the sections asked for are computed. */
type Section = [name: string, fields: () => [string, string | number][]];

function infoSections(c: Client): Section[] {
  const s = c.server;
  const node = s.node;
  const now = Date.now();
  const uptime = Math.floor((now - s.startedAt) / 1000);
  const snap = node.snapshotter.stats;
  return [
    [
      'Server',
      () => [
        ['redis_version', REDIS_VERSION],
        ['raftis_version', s.info.version],
        ['redis_git_sha1', '00000000'],
        ['redis_git_dirty', 0],
        ['redis_build_id', '0'],
        ['redis_mode', node.voters.length > 1 ? 'cluster' : 'standalone'],
        ['os', `${os.type()} ${os.release()} ${os.arch()}`],
        ['arch_bits', 64],
        ['monotonic_clock', 'POSIX clock_gettime'],
        ['multiplexing_api', 'epoll'],
        ['atomicvar_api', 'c11-builtin'],
        ['gcc_version', '0.0.0'],
        ['process_id', process.pid],
        ['process_supervised', 'no'],
        ['run_id', s.runId],
        ['tcp_port', s.info.port],
        ['server_time_usec', now * 1000],
        ['uptime_in_seconds', uptime],
        ['uptime_in_days', Math.floor(uptime / 86400)],
        ['hz', 10],
        ['configured_hz', 10],
        ['lru_clock', Math.floor(now / 1000) & 0xffffff],
        ['executable', process.argv[1] ?? ''],
        ['config_file', s.info.configFile],
        ['io_threads_active', 0],
      ],
    ],
    [
      'Clients',
      () => {
        let maxOutput = 0;
        for (const cl of s.clients.values()) maxOutput = Math.max(maxOutput, cl.outputBytes);
        let peers = 0;
        for (const m of node.members.values()) if (m.id !== node.id && node.peerConnected(m.id)) peers++;
        return [
          ['connected_clients', s.clients.size],
          ['cluster_connections', peers],
          ['maxclients', 10000],
          ['client_recent_max_input_buffer', 0],
          ['client_recent_max_output_buffer', maxOutput],
          ['blocked_clients', s.dispatcher.blocking.blockedClients],
          ['tracking_clients', 0],
          ['clients_in_timeout_table', s.dispatcher.blocking.withTimeout],
        ];
      },
    ],
    [
      'Memory',
      () => {
        const mem = process.memoryUsage();
        const used = mem.heapUsed + mem.external;
        s.memoryPeak = Math.max(s.memoryPeak, used);
        return [
          ['used_memory', used],
          ['used_memory_human', human(used)],
          ['used_memory_rss', mem.rss],
          ['used_memory_rss_human', human(mem.rss)],
          ['used_memory_peak', s.memoryPeak],
          ['used_memory_peak_human', human(s.memoryPeak)],
          ['used_memory_peak_perc', `${((used / s.memoryPeak) * 100).toFixed(2)}%`],
          // No Lua and no functions in raftis: their memory is nil.
          ['used_memory_lua', 0],
          ['used_memory_vm_eval', 0],
          ['used_memory_lua_human', '0B'],
          ['used_memory_scripts_eval', 0],
          ['number_of_cached_scripts', 0],
          ['number_of_functions', 0],
          ['number_of_libraries', 0],
          ['used_memory_vm_functions', 0],
          ['used_memory_vm_total', 0],
          ['used_memory_vm_total_human', '0B'],
          ['used_memory_functions', 0],
          ['used_memory_scripts', 0],
          ['used_memory_scripts_human', '0B'],
          ['total_system_memory', os.totalmem()],
          ['total_system_memory_human', human(os.totalmem())],
          ['maxmemory', s.config.maxmemory],
          ['maxmemory_human', human(s.config.maxmemory)],
          ['maxmemory_policy', s.config.maxmemoryPolicy],
          ['mem_fragmentation_ratio', (mem.rss / used).toFixed(2)],
          ['mem_fragmentation_bytes', mem.rss - used],
          ['mem_not_counted_for_evict', 0],
          ['mem_replication_backlog', 0],
          ['mem_total_replication_buffers', 0],
          ['mem_clients_slaves', 0],
          ['mem_aof_buffer', 0],
          ['mem_allocator', 'v8'],
          // No defragmentation: V8 compacts its own heap.
          ['active_defrag_running', 0],
          ['lazyfree_pending_objects', 0],
          ['lazyfreed_objects', 0],
        ];
      },
    ],
    [
      'Persistence',
      () => [
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
        // Snapshots are copy-on-write in the process (no fork).
        ['current_cow_peak', 0],
        ['current_cow_size', 0],
        ['current_cow_size_age', 0],
        ['current_fork_perc', '0.00'],
        ['rdb_last_cow_size', 0],
        ['aof_enabled', 1],
        ['aof_rewrite_in_progress', 0],
        ['aof_rewrite_scheduled', 0],
        ['aof_last_rewrite_time_sec', -1],
        ['aof_current_rewrite_time_sec', -1],
        ['aof_last_bgrewrite_status', 'ok'],
        ['aof_rewrites', 0],
        ['aof_rewrites_consecutive_failures', 0],
        ['aof_last_write_status', 'ok'],
        ['aof_last_cow_size', 0],
        ['module_fork_in_progress', 0],
        ['module_fork_last_cow_size', 0],
        // The Raft log plays the AOF (its bytes since the last snapshot), the newest snapshot its base.
        ['aof_current_size', node.logBytes],
        ['aof_base_size', node.snapshotBytes],
        ['aof_pending_rewrite', 0],
        ['aof_buffer_length', 0],
        ['aof_pending_bio_fsync', 0],
        ['aof_delayed_fsync', 0],
        ['raft_log_last_index', node.lastIndex],
        ['raft_log_bytes', node.logBytes],
      ],
    ],
    [
      'Stats',
      () => {
        const inst = s.stats.instantaneous();
        return [
          ['total_connections_received', s.stats.totalConnections],
          ['total_commands_processed', s.stats.totalCommands],
          ['instantaneous_ops_per_sec', inst.ops],
          ['total_net_input_bytes', s.stats.netInputBytes],
          ['total_net_output_bytes', s.stats.netOutputBytes],
          ['instantaneous_input_kbps', inst.inKbps.toFixed(2)],
          ['instantaneous_output_kbps', inst.outKbps.toFixed(2)],
          ['rejected_connections', s.stats.rejectedConnections],
          ['expired_keys', node.keyspace.expired],
          ['expired_stale_perc', '0.00'],
          ['expired_time_cap_reached_count', 0],
          ['expire_cycle_cpu_milliseconds', 0],
          // raftis evicts neither keys nor clients and never forks.
          ['evicted_keys', 0],
          ['evicted_clients', 0],
          ['total_eviction_exceeded_time', 0],
          ['current_eviction_exceeded_time', 0],
          ['keyspace_hits', node.keyspace.hits],
          ['keyspace_misses', node.keyspace.misses],
          ['pubsub_channels', s.pubsub.channels.size],
          ['pubsub_patterns', s.pubsub.patterns.size],
          ['pubsubshard_channels', s.pubsub.shardChannels.size],
          ['latest_fork_usec', 0],
          ['total_forks', 0],
          ['migrate_cached_sockets', 0],
          ['slave_expires_tracked_keys', 0],
          ['active_defrag_hits', 0],
          ['active_defrag_misses', 0],
          ['active_defrag_key_hits', 0],
          ['active_defrag_key_misses', 0],
          ['total_active_defrag_time', 0],
          ['current_active_defrag_time', 0],
          ['tracking_total_keys', 0],
          ['tracking_total_items', 0],
          ['tracking_total_prefixes', 0],
          ['unexpected_error_replies', 0],
          ['total_error_replies', s.stats.totalErrorReplies],
          ['dump_payload_sanitizations', 0],
          ['total_reads_processed', s.stats.readsProcessed],
          ['total_writes_processed', s.stats.writesProcessed],
          ['io_threaded_reads_processed', 0],
          ['io_threaded_writes_processed', 0],
          ['reply_buffer_shrinks', 0],
          ['reply_buffer_expands', 0],
        ];
      },
    ],
    [
      'Replication',
      () => [
        ...replicationFields(node),
        ['master_failover_state', 'no-failover'],
        // One replication history per cluster: its id, as Redis names a history.
        ['master_replid', crypto.createHash('sha1').update(s.info.clusterId).digest('hex')],
        ['master_replid2', '0'.repeat(40)],
        ['second_repl_offset', -1],
        // Followers catch up from the Raft log and snapshots, not from a backlog.
        ['repl_backlog_active', 0],
        ['repl_backlog_size', 0],
        ['repl_backlog_first_byte_offset', 0],
        ['repl_backlog_histlen', 0],
      ],
    ],
    [
      'CPU',
      () => {
        const cpu = process.cpuUsage();
        const mainCpu = mainThreadCpu() ?? cpu;
        return [
          ['used_cpu_sys', (cpu.system / 1e6).toFixed(6)],
          ['used_cpu_user', (cpu.user / 1e6).toFixed(6)],
          ['used_cpu_sys_children', '0.000000'],
          ['used_cpu_user_children', '0.000000'],
          ['used_cpu_sys_main_thread', (mainCpu.system / 1e6).toFixed(6)],
          ['used_cpu_user_main_thread', (mainCpu.user / 1e6).toFixed(6)],
        ];
      },
    ],
    ['Modules', () => []],
    ['Commandstats', () => commandStats(s.table)],
    ['Errorstats', () => [...s.stats.errors].map(([code, n]) => [`errorstat_${code}`, `count=${n}`])],
    ['Latencystats', () => latencyStats(s.table, s.stats.latencyPercentiles)],
    // Every raftis node speaks the Redis Cluster protocol (CLUSTER SLOTS, MOVED).
    ['Cluster', () => [['cluster_enabled', 1]]],
    [
      'Raft',
      () =>
        raftInfoText(node, s.info.clusterId)
          .split('\r\n')
          .filter((l) => l.includes(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)] as [string, string]),
    ],
    [
      'Keyspace',
      () => (node.keyspace.size > 0 ? [['db0', `keys=${node.keyspace.size},expires=${node.keyspace.expiresCount},avg_ttl=0`]] : []),
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

/** The main thread's CPU time in µs, from /proc on Linux (undefined elsewhere). */
function mainThreadCpu(): { user: number; system: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = 1e6 / 100; // USER_HZ
    return { user: Number(f[11]) * tick, system: Number(f[12]) * tick };
  } catch {
    return undefined;
  }
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

/** The handler of a protected command: the dispatcher refuses it first; this answers the same if it is reached another way (EXEC). */
function refuseProtected({ c, w }: ConnCtx, argv: string[]): void {
  const def = c.server.table.lookup(argv);
  w.error((def && protectedCommandError(def)) ?? ERR.syntax);
}

/** INFO latencystats: each tracked command's latency percentiles in µs. */
function latencyStats(table: CommandTable, percentiles: readonly number[]): [string, string][] {
  const out: [string, string][] = [];
  for (const def of commandDefs(table)) {
    const h = def.stats.latency;
    if (h === undefined || h.total === 0 || percentiles.length === 0) continue;
    out.push([`latency_percentiles_usec_${def.meta.name}`, percentiles.map((p) => `p${p}=${h.percentile(p).toFixed(3)}`).join(',')]);
  }
  return out;
}

/** LATENCY HISTOGRAM [command …]: the named commands (a container: its subcommands), or all that were tracked. */
function latencyHistogram({ c, w }: ConnCtx, argv: string[]): void {
  const table = c.server.table;
  let defs: CommandDef[];
  if (argv.length === 2) {
    defs = [...commandDefs(table)];
  } else {
    defs = [];
    for (const name of argv.slice(2)) {
      const def = table.get(name) ?? table.lookup(name.split('|'));
      if (def === undefined) continue;
      if (def.subcommands !== undefined && !name.includes('|')) defs.push(...def.subcommands.values());
      else defs.push(def);
    }
  }
  const tracked = defs.filter((d) => d.stats.latency !== undefined && d.stats.latency.total > 0);
  w.mapHeader(tracked.length);
  for (const d of tracked) {
    // Cheap commands are timed one call in 16: their counts are scaled to all calls.
    const calls = d.stats.calls;
    const h = d.stats.latency!;
    const scale = calls / h.total;
    const buckets = h.cumulative();
    w.bulk(d.meta.name);
    w.mapHeader(2);
    w.bulk('calls');
    w.int(calls);
    w.bulk('histogram_usec');
    w.mapHeader(buckets.length);
    for (let i = 0; i < buckets.length; i++) {
      w.int(buckets[i]![0]);
      w.int(i === buckets.length - 1 ? calls : Math.round(buckets[i]![1] * scale));
    }
  }
}

function info({ c, w }: ConnCtx, argv: string[]): void {
  const wanted = new Set(argv.slice(1).map((a) => a.toLowerCase()));
  const all = wanted.has('all') || wanted.has('everything');
  const useDefault = wanted.size === 0 || wanted.has('default');
  let text = '';
  for (const [name, fields] of infoSections(c)) {
    const lname = name.toLowerCase();
    if (!(all || wanted.has(lname) || (useDefault && DEFAULT_SECTIONS.has(lname)))) continue;
    if (text !== '') text += '\r\n';
    text += `# ${name}\r\n`;
    for (const [k, v] of fields()) text += `${k}:${v}\r\n`;
  }
  w.verbatim(text);
}

export const serverCommands: Record<string, ConnHandler> = {
  time,
  info,
  'latency|histogram': latencyHistogram,
  // raftis loads no modules; the protected commands never get here (the dispatcher refuses them).
  'module|list': ({ w }, _argv) => w.arrayHeader(0),
  'module|help': ({ w }, _argv) =>
    writeHelp(w, 'module', [
      'LIST',
      '    Return a list of loaded modules.',
      'LOAD <path> [<arg> ...]',
      '    Load a module library from <path>, passing to it any optional arguments.',
      'LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]',
      '    Load a module library from <path>, while passing it module configurations and optional arguments.',
      'UNLOAD <name>',
      '    Unload a module.',
    ]),
  debug: refuseProtected,
  'module|load': refuseProtected,
  'module|loadex': refuseProtected,
  'module|unload': refuseProtected,
  'latency|help': ({ w }, _argv) =>
    writeHelp(w, 'latency', [
      'HISTOGRAM [COMMAND ...]',
      '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
      '    If no commands are specified then all histograms are replied.',
    ]),
  command: commandAll,
  'command|count': ({ c, w }, _argv) => w.int(c.server.table.size),
  'command|info': commandInfo,
  'command|docs': commandDocs,
  'command|list': commandList,
  'command|getkeys': commandGetkeys,
  'command|getkeysandflags': commandGetkeys,
  'command|help': ({ w }, _argv) =>
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
  'config|resetstat': ({ c, w }, _argv) => {
    const st = c.server.stats;
    st.totalCommands = st.netInputBytes = st.netOutputBytes = st.totalErrorReplies = 0;
    st.errors.clear();
    const ks = c.server.node.keyspace;
    ks.hits = ks.misses = ks.expired = 0;
    for (const def of commandDefs(c.server.table)) Object.assign(def.stats, newCommandCounters());
    w.ok();
  },
  'config|help': ({ w }, _argv) =>
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
  'config|rewrite': ({ w }, _argv) => w.error('ERR The server is running without a config file'),
};
