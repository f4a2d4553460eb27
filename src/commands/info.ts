/**
 * INFO [section ...] (Redis's genRedisInfoString): every section raftis
 * can fill, computed only when asked for, plus raftis's own Raft section.
 * Answered from local state; never replicated.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { EngineClient as Client } from './engine/engine.js';
import { REDIS_VERSION } from './connection.js';
import type { CommandTable, ConnHandler, ConnCtx } from './table.js';
import { commandUsec } from './engine/stats.js';
import { raftInfoText } from './cluster.js';
import { fragmentation, memoryOverhead } from './memory.js';
import { aofRewriteState } from './persistence.js';
import type { RaftisNode } from '../node/node.js';

/** A section and how to compute its fields: only the sections asked for are computed. */
type Section = [name: string, fields: () => [string, string | number][]];

function infoSections(c: Client): Section[] {
  const s = c.server;
  const node = s.node;
  const now = Date.now();
  const uptime = Math.floor((now - s.startedAt) / 1000);
  const snap = node.snapshotter.stats;
  const aof = aofRewriteState(node);
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
        // uname's sysname, release and machine, as Redis prints them (x86_64, not Node's x64).
        ['os', `${os.type()} ${os.release()} ${os.machine()}`],
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
        ['hz', s.cron.hz],
        ['configured_hz', s.config.get('hz')],
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
          ['maxclients', s.config.get('maxclients')],
          ['client_recent_max_input_buffer', 0],
          ['client_recent_max_output_buffer', maxOutput],
          ['blocked_clients', s.dispatcher.blocking.blockedClients],
          ['tracking_clients', s.tracking.clientCount],
          ['clients_in_timeout_table', s.dispatcher.blocking.withTimeout],
        ];
      },
    ],
    [
      'Memory',
      () => {
        // getMemoryOverheadData's breakdown (memory.ts), with V8 as the allocator.
        const mh = memoryOverhead(s);
        const f = fragmentation(mh);
        const used = mh.totalAllocated;
        const lua = s.scripts.memory();
        return [
          ['used_memory', used],
          ['used_memory_human', human(used)],
          ['used_memory_rss', mh.rss],
          ['used_memory_rss_human', human(mh.rss)],
          ['used_memory_peak', mh.peakAllocated],
          ['used_memory_peak_human', human(mh.peakAllocated)],
          ['used_memory_peak_perc', `${mh.peakPerc.toFixed(2)}%`],
          ['used_memory_overhead', mh.overheadTotal],
          ['used_memory_startup', mh.startupAllocated],
          // What maxmemory compares: the dataset's deterministic size (keyspace/used-memory.ts), the same on every replica.
          ['used_memory_dataset', mh.dataset],
          ['used_memory_dataset_perc', `${mh.datasetPerc.toFixed(2)}%`],
          ['allocator_allocated', mh.allocatorAllocated],
          ['allocator_active', mh.allocatorActive],
          ['allocator_resident', mh.allocatorResident],
          ['total_system_memory', os.totalmem()],
          ['total_system_memory_human', human(os.totalmem())],
          // The two Lua VMs (EVAL's and the functions engine's) and what they hold.
          ['used_memory_lua', lua.eval],
          ['used_memory_vm_eval', lua.eval],
          ['used_memory_lua_human', human(lua.eval)],
          ['used_memory_scripts_eval', lua.scriptBytes],
          ['number_of_cached_scripts', s.scripts.size],
          ['number_of_functions', s.scripts.functions.current.functions.size],
          ['number_of_libraries', s.scripts.functions.current.libraries.size],
          ['used_memory_vm_functions', lua.functions],
          ['used_memory_vm_total', lua.eval + lua.functions],
          ['used_memory_vm_total_human', human(lua.eval + lua.functions)],
          ['used_memory_functions', lua.libraryBytes],
          ['used_memory_scripts', lua.scriptBytes + lua.libraryBytes],
          ['used_memory_scripts_human', human(lua.scriptBytes + lua.libraryBytes)],
          ['maxmemory', s.config.get('maxmemory')],
          ['maxmemory_human', human(s.config.number('maxmemory'))],
          ['maxmemory_policy', s.config.get('maxmemory-policy')],
          ['allocator_frag_ratio', f.allocatorFrag.toFixed(2)],
          ['allocator_frag_bytes', f.allocatorFragBytes],
          ['allocator_rss_ratio', f.allocatorRss.toFixed(2)],
          ['allocator_rss_bytes', f.allocatorRssBytes],
          ['rss_overhead_ratio', f.rssExtra.toFixed(2)],
          ['rss_overhead_bytes', f.rssExtraBytes],
          ['mem_fragmentation_ratio', f.totalFrag.toFixed(2)],
          ['mem_fragmentation_bytes', f.totalFragBytes],
          ['mem_not_counted_for_evict', 0],
          ['mem_replication_backlog', 0],
          ['mem_total_replication_buffers', 0],
          ['mem_clients_slaves', 0],
          ['mem_clients_normal', mh.clientsNormal],
          ['mem_cluster_links', 0],
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
        ['current_save_keys_total', snap.inProgress ? node.dbs.size : 0],
        ['rdb_changes_since_last_save', node.snapshotPolicy.changesSinceSave],
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
        // BGREWRITEAOF's snapshots (persistence.ts).
        ['aof_rewrite_in_progress', aof.running !== undefined ? 1 : 0],
        ['aof_rewrite_scheduled', aof.scheduled ? 1 : 0],
        ['aof_last_rewrite_time_sec', aof.lastDurationSec],
        ['aof_current_rewrite_time_sec', aof.running !== undefined ? Math.floor((Date.now() - aof.startedAt) / 1000) : -1],
        ['aof_last_bgrewrite_status', aof.lastStatus],
        ['aof_rewrites', aof.rewrites],
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
          ['expired_keys', node.dbs.expired],
          ['expired_stale_perc', '0.00'],
          ['expired_time_cap_reached_count', 0],
          ['expire_cycle_cpu_milliseconds', 0],
          // Keys evicted by maxmemory (entries applied here), clients by maxmemory-clients (this node's); raftis never forks.
          ['evicted_keys', node.dbs.evicted],
          ['evicted_clients', s.clientEviction.evicted],
          ['total_eviction_exceeded_time', 0],
          ['current_eviction_exceeded_time', 0],
          ['keyspace_hits', node.dbs.hits],
          ['keyspace_misses', node.dbs.misses],
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
          ['tracking_total_keys', s.tracking.totalKeys],
          ['tracking_total_items', s.tracking.totalItems],
          ['tracking_total_prefixes', s.tracking.totalPrefixes],
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
      () => {
        // One line per database holding keys, as Redis's genRedisInfoString.
        const lines: [string, string][] = [];
        node.dbs.dbs.forEach((db, i) => {
          if (db.size > 0) lines.push([`db${i}`, `keys=${db.size},expires=${db.expiresCount},avg_ttl=0`]);
        });
        return lines;
      },
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

/** INFO commandstats: the commands used since the start (or CONFIG RESETSTAT), as Redis lists them. */
function commandStats(table: CommandTable): [string, string][] {
  const out: [string, string][] = [];
  for (const def of table.withSubcommands()) {
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

/** INFO latencystats: each tracked command's latency percentiles in µs. */
function latencyStats(table: CommandTable, percentiles: readonly number[]): [string, string][] {
  const out: [string, string][] = [];
  for (const def of table.withSubcommands()) {
    const h = def.stats.latency;
    if (h === undefined || h.total === 0 || percentiles.length === 0) continue;
    out.push([`latency_percentiles_usec_${def.meta.name}`, percentiles.map((p) => `p${p}=${h.percentile(p).toFixed(3)}`).join(',')]);
  }
  return out;
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

export const infoCommands: Record<string, ConnHandler> = {
  info,
};
