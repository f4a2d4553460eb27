/**
 * The operator's /metrics (Prometheus text format 0.0.4) and /readyz, on the
 * HTTP port (http.ts). The exposition is written here, straight from the
 * numbers: a scrape costs a fifth of prom-client's (its Gauge and Counter
 * objects with collect() callbacks, and its default process metrics), and
 * nothing of prom-client is needed on the request path either
 * (docs/decisions.md "Metrics", bench/results/metrics.md). The process
 * metrics keep the names prom-client and other Prometheus clients give them
 * (process_cpu_seconds_total, process_resident_memory_bytes, nodejs_*), so
 * the usual dashboards find them.
 *
 * Everything is read at scrape time from state the node and the engine keep
 * anyway: the Raft core's status, the node's counters and pre-allocated
 * histograms (RaftisNode.metrics(), util/histogram.ts), INFO commandstats'
 * and latencystats' counts. No prom-client object is touched on a request's
 * path, so serving commands costs the same with or without a scraper
 * (docs/decisions.md "Metrics", bench/results/metrics.md).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { RaftisNode } from '../node/node.js';
import { Role, progressStateName, type Status } from '../raft/index.js';
import type { Histogram } from '../util/histogram.js';
import { send, type HttpServer } from './http.js';

/** One command's counts (INFO commandstats) and its timed calls' durations (latencystats). */
export interface CommandMetric {
  name: string;
  calls: number;
  rejected: number;
  failed: number;
  /** Cumulative counts at COMMAND_LATENCY_EXPS' bounds; count and seconds of the timed calls. */
  latency: { buckets: number[]; count: number; seconds: number } | undefined;
}

/** What the layer above gives /metrics (commands/metrics-source.ts builds it from the engine). */
export interface MetricsSource {
  readonly node: RaftisNode;
  clients(): number;
  keys(): number;
  /** The dataset's deterministic size, as maxmemory counts it (INFO used_memory_dataset). */
  datasetBytes(): number;
  /** Commands used since the start (or CONFIG RESETSTAT), their latency counted at 2^e µs for each e of latencyExps. */
  commands(latencyExps: readonly number[]): Iterable<CommandMetric>;
}

/**
 * Command latency buckets: powers of four from 1 µs to 16.8 s, the bounds
 * the latencystats histogram (engine/latency.ts) counts exactly.
 */
export const COMMAND_LATENCY_EXPS: readonly number[] = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24];
const COMMAND_LATENCY_BOUNDS = COMMAND_LATENCY_EXPS.map((e) => 2 ** e / 1e6);

/**
 * /readyz tolerates this many committed entries not yet applied: a node
 * applying a large group-commit batch (redis-benchmark's 50 clients × -P 16
 * make batches of up to 800) is still ready; one replaying or catching up
 * from further back is not.
 */
export const READY_APPLY_LAG = 1000;

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The state one scrape reads, taken once so every family sees the same moment. */
interface Scrape {
  node: RaftisNode;
  status: Status;
  applied: number;
  lastIndex: number;
  commands: CommandMetric[];
  mem: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
}

const ROLES: readonly [Role, string][] = [
  [Role.Follower, 'follower'],
  [Role.PreCandidate, 'precandidate'],
  [Role.Candidate, 'candidate'],
  [Role.Leader, 'leader'],
];

type Labels = Record<string, string>;
interface HistogramSeries {
  labels: Labels;
  bounds: readonly number[];
  cumulative: readonly number[];
  sum: number;
  count: number;
}

/** A label value in the text format: backslash, double quote and newline escaped. */
const escapeLabel = (v: string): string => (/[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v);
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** A sample value as Prometheus writes it (+Inf, -Inf, NaN). */
function num(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

function labelText(labels: Labels, extra?: string): string {
  let out = '';
  for (const k in labels) out += `${out === '' ? '' : ','}${k}="${escapeLabel(labels[k]!)}"`;
  if (extra !== undefined) out += `${out === '' ? '' : ','}${extra}`;
  return out === '' ? '' : `{${out}}`;
}

function fixed(h: Histogram, labels: Labels = {}): HistogramSeries {
  return { labels, bounds: Array.from(h.bounds), cumulative: h.cumulative(), sum: h.sum, count: h.count };
}

/**
 * Builds the renderer of every metric over `src`; `scrape()` gives one
 * exposition. `processMetrics` false leaves out process_* and nodejs_* (tests).
 */
export function metricsRegistry(src: MetricsSource, opts: { processMetrics?: boolean } = {}): { scrape(): string; close(): void } {
  const withProcess = opts.processMetrics !== false;
  // Event-loop delay sampled every 10 ms by a native timer (no work on the request path), reset at each scrape.
  const loopDelay = withProcess ? monitorEventLoopDelay({ resolution: 10 }) : undefined;
  loopDelay?.enable();
  const families: ((s: Scrape) => string)[] = [];
  const head = (name: string, help: string, type: string): string => `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  // labelNames: the labels each sample carries (for the reader; samples give their own).
  const labelled = (kind: 'gauge' | 'counter', name: string, help: string, _labelNames: readonly string[], values: (s: Scrape) => Iterable<[Labels, number]>): void => {
    families.push((s) => {
      let out = head(name, help, kind);
      for (const [labels, v] of values(s)) out += `${name}${labelText(labels)} ${num(v)}\n`;
      return out;
    });
  };
  const gauge = (name: string, help: string, value: (s: Scrape) => number): void => labelled('gauge', name, help, [], (s) => [[{}, value(s)]]);
  const counter = (name: string, help: string, value: (s: Scrape) => number): void => labelled('counter', name, help, [], (s) => [[{}, value(s)]]);
  const histogram = (name: string, help: string, read: (s: Scrape) => Iterable<HistogramSeries>): void => {
    families.push((s) => {
      let out = head(name, help, 'histogram');
      for (const h of read(s)) {
        for (let i = 0; i < h.bounds.length; i++) out += `${name}_bucket${labelText(h.labels, `le="${num(h.bounds[i]!)}"`)} ${num(h.cumulative[i]!)}\n`;
        out += `${name}_bucket${labelText(h.labels, 'le="+Inf"')} ${num(h.count)}\n`;
        const l = labelText(h.labels);
        out += `${name}_sum${l} ${num(h.sum)}\n${name}_count${l} ${num(h.count)}\n`;
      }
      return out;
    });
  };

  // ---- Raft ----
  labelled('gauge', 'raftis_node_info', 'This node: its id (constant 1)', ['node_id'], (s) => [[{ node_id: String(s.node.id) }, 1]]);
  gauge('raftis_raft_term', 'The current Raft term', (s) => s.status.term);
  labelled('gauge', 'raftis_raft_role', 'The Raft role of this node (1 for the current one)', ['role'], (s) => ROLES.map(([r, name]) => [{ role: name }, s.status.role === r ? 1 : 0]));
  gauge('raftis_raft_leader_id', 'The id of the leader this node knows of (0: none)', (s) => s.status.lead);
  gauge('raftis_raft_commit_index', 'The highest log index known to be committed', (s) => s.status.commit);
  gauge('raftis_raft_applied_index', 'The highest log index applied to the keyspace', (s) => s.applied);
  gauge('raftis_raft_first_index', 'The first index still in the log (earlier entries are in a snapshot)', (s) => s.node.firstIndex);
  gauge('raftis_raft_last_index', 'The index of the last entry in the log', (s) => s.lastIndex);
  gauge('raftis_raft_log_bytes', 'Bytes of entry payloads in the log on disk', (s) => s.node.logBytes);
  gauge('raftis_raft_snapshot_index', 'The log index of the newest snapshot', (s) => s.node.snapshotIndex);
  gauge('raftis_raft_snapshot_in_progress', 'Whether a snapshot is being written (1) or not (0)', (s) => (s.node.snapshotter.inProgress ? 1 : 0));
  labelled('gauge', 'raftis_raft_peer_connected', 'Whether this node has a working connection to the peer (1) or not (0)', ['peer'], function* (s) {
    for (const id of s.node.members.keys()) if (id !== s.node.id) yield [{ peer: String(id) }, s.node.peerConnected(id) ? 1 : 0];
  });
  labelled('gauge', 'raftis_raft_peer_match_index', "Leader only: the highest index known to be in the peer's log", ['peer', 'state'], function* (s) {
    for (const p of s.status.progress) if (p.id !== s.node.id) yield [{ peer: String(p.id), state: progressStateName(p.state).replace(/^State/, '').toLowerCase() }, p.match];
  });
  labelled('gauge', 'raftis_raft_peer_lag_entries', "Leader only: entries of the leader's log the peer does not have yet", ['peer'], function* (s) {
    for (const p of s.status.progress) if (p.id !== s.node.id) yield [{ peer: String(p.id) }, Math.max(0, s.lastIndex - p.match)];
  });
  counter('raftis_raft_proposals_total', 'Proposals appended to the log as leader', (s) => s.node.metrics().proposals);
  histogram('raftis_raft_proposal_commit_duration_seconds', 'From a proposal reaching the Raft core to its entry applied here', (s) => [fixed(s.node.metrics().commitLatency)]);
  histogram('raftis_raft_log_sync_duration_seconds', 'Each synced write of the log (one batch written and fdatasynced)', (s) => [fixed(s.node.metrics().syncLatency)]);
  counter('raftis_raft_elections_total', 'Election campaigns this node started', (s) => s.node.metrics().elections);
  counter('raftis_raft_leader_changes_total', 'Times a leader became known here after none or another one (the first included)', (s) => s.node.metrics().leaderChanges);
  counter('raftis_raft_read_index_rounds_total', 'ReadIndex requests (one quorum round shared by the reads of one turn)', (s) => s.node.metrics().readIndexRounds);
  histogram('raftis_raft_snapshot_duration_seconds', 'Snapshots written by this node, and how long each took', (s) => [fixed(s.node.metrics().snapshotDurations)]);
  labelled('counter', 'raftis_raft_snapshot_transfers_total', 'Snapshot transfers ended: sent to followers (ok or failed) and received from the leader', ['direction', 'result'], (s) => {
    const m = s.node.metrics();
    return [
      [{ direction: 'sent', result: 'ok' }, m.snapshotsSent],
      [{ direction: 'sent', result: 'failed' }, m.snapshotsSendFailed],
      [{ direction: 'received', result: 'ok' }, m.snapshotsReceived],
    ];
  });

  // ---- clients, commands, keyspace, memory ----
  gauge('raftis_connected_clients', 'Client connections (INFO connected_clients)', () => src.clients());
  labelled('counter', 'raftis_commands_total', 'Commands run, by name (INFO commandstats calls)', ['command'], (s) => s.commands.map((c) => [{ command: c.name }, c.calls]));
  labelled('counter', 'raftis_commands_rejected_total', 'Commands refused before running, by name (INFO commandstats rejected_calls)', ['command'], (s) =>
    s.commands.map((c) => [{ command: c.name }, c.rejected]),
  );
  labelled('counter', 'raftis_commands_failed_total', 'Commands that replied with an error, by name (INFO commandstats failed_calls)', ['command'], (s) =>
    s.commands.map((c) => [{ command: c.name }, c.failed]),
  );
  histogram('raftis_command_duration_seconds', 'Durations of the timed calls of each command (INFO latencystats; cheap commands are timed one call in 16)', function* (s) {
    for (const c of s.commands) {
      if (c.latency !== undefined) yield { labels: { command: c.name }, bounds: COMMAND_LATENCY_BOUNDS, cumulative: c.latency.buckets, sum: c.latency.seconds, count: c.latency.count };
    }
  });
  gauge('raftis_keys', 'Keys in all databases', () => src.keys());
  const mem = (pick: (m: NodeJS.MemoryUsage) => number) => (s: Scrape) => pick(s.mem);
  gauge('raftis_memory_used_bytes', 'Memory used as INFO used_memory counts it (V8 heap used + external)', mem((m) => m.heapUsed + m.external));
  gauge('raftis_memory_rss_bytes', 'Resident set size (INFO used_memory_rss)', mem((m) => m.rss));
  gauge('raftis_memory_heap_used_bytes', 'V8 heap used', mem((m) => m.heapUsed));
  gauge('raftis_memory_dataset_bytes', "The dataset's size as maxmemory counts it (INFO used_memory_dataset)", () => src.datasetBytes());

  if (loopDelay !== undefined) {
    const ns = (v: number): number => (Number.isFinite(v) ? v / 1e9 : 0);
    counter('process_cpu_user_seconds_total', 'User CPU time spent in seconds', (s) => s.cpu.user / 1e6);
    counter('process_cpu_system_seconds_total', 'System CPU time spent in seconds', (s) => s.cpu.system / 1e6);
    counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds', (s) => (s.cpu.user + s.cpu.system) / 1e6);
    gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds', () => Math.round(performance.timeOrigin / 1000));
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes', (s) => s.mem.rss);
    gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes', (s) => s.mem.heapTotal);
    gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes', (s) => s.mem.heapUsed);
    gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes', (s) => s.mem.external);
    gauge('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays since the last scrape', () => ns(loopDelay.mean));
    gauge('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays since the last scrape', () => ns(loopDelay.percentile(50)));
    gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays since the last scrape', () => ns(loopDelay.percentile(99)));
    gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay since the last scrape', () => ns(loopDelay.max));
  }

  return {
    scrape() {
      const node = src.node;
      const s: Scrape = {
        node,
        status: node.status(),
        applied: node.appliedIndex,
        lastIndex: node.lastLogIndex,
        commands: [...src.commands(COMMAND_LATENCY_EXPS)],
        mem: process.memoryUsage(),
        cpu: process.cpuUsage(),
      };
      let out = '';
      for (const f of families) out += f(s);
      loopDelay?.reset();
      return out;
    },
    close() {
      loopDelay?.disable();
    },
  };
}

/**
 * Why this node is not ready to serve (undefined: it is): it must know a
 * leader and have applied what it knows to be committed, within
 * READY_APPLY_LAG entries.
 */
export function notReadyReason(node: RaftisNode): string | undefined {
  if (node.failed) return 'the node failed (see its log) and is stopping';
  if (node.removed) return 'the node was removed from the cluster';
  if (node.closed) return 'the node is shutting down';
  const st = node.status();
  if (st.lead === 0) return `no leader known in term ${st.term} (an election is running or this node is cut off from a quorum)`;
  const behind = st.commit - node.appliedIndex;
  if (behind > READY_APPLY_LAG) return `applied index ${node.appliedIndex} is ${behind} entries behind commit index ${st.commit}`;
  return undefined;
}

/** Serves /metrics and /readyz on the operator's HTTP port. */
export function registerMetrics(http: HttpServer, src: MetricsSource): void {
  const m = metricsRegistry(src);
  http.route('/metrics', (_req, res) => send(res, 200, PROMETHEUS_CONTENT_TYPE, m.scrape()));
  http.route('/readyz', (_req, res) => {
    const why = notReadyReason(src.node);
    if (why === undefined) send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
    else send(res, 503, 'text/plain; charset=utf-8', `not ready: ${why}\n`);
  });
}
