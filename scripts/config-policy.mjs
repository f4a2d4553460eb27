// What raftis makes of each redis-server parameter: raftis's own decisions,
// merged into src/commands/generated/redis-config.json by
// scripts/gen-config-table.mjs (which refuses a parameter missing here).
//
// scope — 'cluster': the parameter changes what the data is or what a write
//   does to it (encodings, eviction, notifications, databases…): every replica
//   must hold the same value, so a CONFIG SET that names one is a Raft log
//   entry applied as a whole on every node, and the values are kept in
//   snapshots. 'node': a property of one node (timeouts, limits, logs); never
//   replicated. See docs/decisions.md, "Cluster-wide configuration".
//
// raftis — 'applied': takes effect now. 'fixed': raftis answers what it does
//   (value; null: this node's own, from its command line), whatever is set;
//   a CONFIG SET is parsed as redis-server parses it and then changes nothing
//   (port and bind: a different value gets redis-server's "cannot listen"
//   answer, since raftis cannot move its listener). 'later': accepted, stored
//   and reported back, no effect yet (its feature is not there yet). 'never':
//   accepted, stored and reported back, and never to have an effect (Redis's
//   replication, AOF/RDB files, cluster bus, allocator and threads: raftis has
//   Raft, its log and snapshots, and Node.js instead).
//
// value — for 'fixed', what raftis answers; otherwise the value raftis starts
//   with when it is not redis-server's default.
// refuse — values raftis refuses although redis-server takes them, and why.

const cluster = new Set([
  // Encodings (OBJECT ENCODING, MEMORY USAGE, the order small values are listed in).
  'hash-max-listpack-entries', 'hash-max-listpack-value', 'set-max-intset-entries', 'zset-max-listpack-entries',
  'zset-max-listpack-value', 'list-max-listpack-size', 'list-compress-depth', 'stream-node-max-bytes',
  'stream-node-max-entries', 'hll-sparse-max-bytes',
  // The channels new ACL users start with (users are created when entries are applied).
  'acl-pubsub-default',
  // Eviction: which keys a write removes, and OBJECT FREQ.
  'maxmemory', 'maxmemory-policy', 'maxmemory-samples', 'maxmemory-eviction-tenacity', 'lfu-log-factor', 'lfu-decay-time',
  // What applying a write publishes, how many databases there are, what RESTORE accepts.
  'notify-keyspace-events', 'databases', 'sanitize-dump-payload',
]);

const applied = [
  'slowlog-log-slower-than', 'slowlog-max-len', 'latency-monitor-threshold', 'latency-tracking',
  'latency-tracking-info-percentiles', 'proto-max-bulk-len', 'client-query-buffer-limit', 'timeout',
  'notify-keyspace-events', 'hash-max-listpack-entries', 'hash-max-listpack-value', 'zset-max-listpack-entries',
  'zset-max-listpack-value', 'set-max-intset-entries', 'maxclients', 'tracking-table-max-keys', 'maxmemory', 'maxmemory-policy', 'maxmemory-samples',
  'maxmemory-eviction-tenacity', 'lfu-log-factor', 'lfu-decay-time', 'hz', 'dynamic-hz', 'loglevel',
  'client-output-buffer-limit', 'save',
  // A script pauses between slices; others get BUSY past it (docs/decisions.md "Pausable scripts").
  'busy-reply-threshold',
  // ACL users and authentication (src/commands/engine/acl.ts).
  'requirepass', 'aclfile', 'protected-mode', 'acllog-max-len', 'acl-pubsub-default',
  'hll-sparse-max-bytes', 'tcp-keepalive', 'stream-node-max-bytes', 'stream-node-max-entries',
  // Client eviction, per node (src/server/client-eviction.ts).
  'maxmemory-clients',
  // At start-up: the pid file, the listen backlog, the Unix socket listener (src/cli/start.ts); on SIGTERM / SIGINT, a snapshot first with `save` (src/cli/main.ts).
  'pidfile', 'tcp-backlog', 'shutdown-on-sigint', 'shutdown-on-sigterm', 'unixsocket', 'unixsocketperm',
  // How many expired keys one active expiry cycle proposes (src/commands/engine/expire.ts).
  'active-expire-effort',
  // How a list created from now on is split into quicklist nodes and compressed (DUMP, MEMORY USAGE: src/keyspace/rdb/quicklist.ts).
  'list-max-listpack-size', 'list-compress-depth',
  // The TLS client port, at start-up (src/server/tls-params.ts, src/cli/main.ts readSecurityOptions); tls-cluster: the
  // peer links over mutual TLS with the same files.
  'tls-port', 'tls-auth-clients', 'tls-ca-cert-dir', 'tls-ca-cert-file', 'tls-cert-file', 'tls-ciphers', 'tls-ciphersuites',
  'tls-client-cert-file', 'tls-client-key-file', 'tls-dh-params-file', 'tls-key-file', 'tls-key-file-pass',
  'tls-prefer-server-ciphers', 'tls-protocols', 'tls-session-cache-timeout', 'tls-session-caching', 'tls-cluster',
  // While no leader is known (raftis's cluster down): reads from local state, shard pub/sub (src/commands/engine/dispatch.ts, pubsub.ts).
  'cluster-allow-reads-when-down', 'cluster-allow-pubsubshard-when-down',
  // How this node gives addresses (CLUSTER SLOTS / SHARDS / NODES, MOVED) and describes itself (src/commands/cluster.ts).
  'cluster-preferred-endpoint-type', 'cluster-announce-ip', 'cluster-announce-hostname', 'cluster-announce-port',
  // The log file, from the config file or --logfile (immutable, as in Redis).
  'logfile',
];

const fixed = {
  appendonly: 'yes',
  appendfsync: 'always',
  databases: null,
  'cluster-enabled': 'yes',
  'replica-read-only': 'yes',
  'enable-debug-command': 'no',
  'enable-module-command': 'no',
  'enable-protected-configs': 'no',
  port: null,
  bind: null,
  dir: null,
  'cluster-port': null,
};

// Nothing is left without effect: every parameter is applied, fixed, or never to mean anything (README's table says why).
const later = [];

const never = [
  // Redis replication (raftis replicates through Raft).
  'replicaof', 'masterauth', 'masteruser', 'min-replicas-max-lag', 'min-replicas-to-write', 'repl-backlog-size',
  'repl-backlog-ttl', 'repl-disable-tcp-nodelay', 'repl-diskless-load', 'repl-diskless-sync', 'repl-diskless-sync-delay',
  'repl-diskless-sync-max-replicas', 'repl-ping-replica-period', 'repl-timeout', 'replica-announce-ip',
  'replica-announce-port', 'replica-announced', 'replica-ignore-disk-write-errors', 'replica-ignore-maxmemory',
  'replica-lazy-flush', 'replica-priority', 'replica-serve-stale-data', 'propagation-error-behavior', 'bind-source-addr',
  // AOF and RDB files (raftis has its Raft log and its snapshots).
  'dbfilename', 'rdbchecksum', 'rdbcompression', 'rdb-del-sync-files', 'rdb-save-incremental-fsync',
  'stop-writes-on-bgsave-error', 'appenddirname', 'appendfilename', 'aof-disable-auto-gc', 'aof-load-truncated',
  'aof-rewrite-incremental-fsync', 'aof-timestamp-enabled', 'aof-use-rdb-preamble', 'auto-aof-rewrite-min-size',
  'auto-aof-rewrite-percentage', 'no-appendfsync-on-rewrite',
  // The cluster bus and its gossip (raftis's members are in the Raft log; there is one shard).
  'cluster-config-file', 'cluster-node-timeout', 'cluster-migration-barrier', 'cluster-replica-validity-factor',
  'cluster-replica-no-failover', 'cluster-allow-replica-migration', 'cluster-require-full-coverage',
  'cluster-link-sendbuf-limit', 'cluster-announce-bus-port', 'cluster-announce-tls-port',
  // Allocator, threads, process (raftis runs on Node.js and V8's heap).
  'activedefrag', 'active-defrag-cycle-max', 'active-defrag-cycle-min', 'active-defrag-ignore-bytes',
  'active-defrag-max-scan-fields', 'active-defrag-threshold-lower', 'active-defrag-threshold-upper', 'activerehashing',
  'jemalloc-bg-thread', 'disable-thp', 'io-threads', 'io-threads-do-reads', 'server_cpulist', 'bio_cpulist',
  'aof_rewrite_cpulist', 'bgsave_cpulist', 'lazyfree-lazy-eviction', 'lazyfree-lazy-expire', 'lazyfree-lazy-server-del',
  'lazyfree-lazy-user-del', 'lazyfree-lazy-user-flush', 'daemonize', 'always-show-logo', 'set-proc-title',
  'proc-title-template', 'crash-log-enabled', 'crash-memcheck-enabled', 'oom-score-adj', 'oom-score-adj-values',
  'socket-mark-id',
  // No meaning in raftis (README: "no meaning in raftis"): RESTORE always checks a payload fully (as `yes`);
  // the Raft log is on a quorum before a reply, so a shutdown has no replicas to wait for; syslog and systemd's
  // notification need Unix datagram sockets, which Node.js lacks; raftis prints no start-up warnings to silence.
  'sanitize-dump-payload', 'shutdown-timeout', 'syslog-enabled', 'syslog-ident', 'syslog-facility', 'supervised',
  'ignore-warnings',
  // No meaning in raftis: there is no Redis replication link to encrypt; Node.js keeps no server-side session cache
  // (resumption is by tickets, held by the client), so there is no cache to size; peer links take an unencrypted key.
  'tls-replication', 'tls-session-cache-size', 'tls-client-key-file-pass',
];

/** Values that differ from redis-server's default at start-up (raftis has no save points: its snapshots follow --snapshot-*). */
const startsWith = { save: '' };

const refuse = {};

export const POLICY = {};
const add = (name, raftis, value) => {
  if (POLICY[name]) throw new Error(`config-policy: ${name} listed twice`);
  POLICY[name] = { scope: cluster.has(name) ? 'cluster' : 'node', raftis };
  if (value !== undefined) POLICY[name].value = value;
  if (refuse[name]) POLICY[name].refuse = refuse[name];
};
for (const n of applied) add(n, 'applied', startsWith[n]);
for (const [n, v] of Object.entries(fixed)) add(n, 'fixed', v);
for (const n of later) add(n, 'later', startsWith[n]);
for (const n of never) add(n, 'never', startsWith[n]);
for (const n of cluster) if (!POLICY[n]) throw new Error(`config-policy: ${n} is cluster-wide but has no other entry`);
