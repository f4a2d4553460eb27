/**
 * The operator's /metrics (Prometheus text format, through prom-client's
 * registry) and /readyz, on the HTTP port (http.ts).
 *
 * Everything is read at scrape time from state the node and the engine keep
 * anyway: the Raft core's status, the node's counters and pre-allocated
 * histograms (RaftisNode.metrics(), util/histogram.ts), INFO commandstats'
 * and latencystats' counts. No prom-client object is touched on a request's
 * path, so serving commands costs the same with or without a scraper
 * (docs/decisions.md "Metrics", bench/results/metrics.md).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';
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

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** The state one scrape reads, taken once so every family sees the same moment. */
interface Scrape {
  node: RaftisNode;
  status: Status;
  applied: number;
  lastIndex: number;
  commands: CommandMetric[];
}

const ROLES: readonly [Role, string][] = [
  [Role.Follower, 'follower'],
  [Role.PreCandidate, 'precandidate'],
  [Role.Candidate, 'candidate'],
  [Role.Leader, 'leader'],
];

/** A histogram whose buckets are kept elsewhere (pre-allocated, observed on the hot path), formatted by prom-client's registry. */
class BucketsMetric {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => Iterable<{ labels: Record<string, string>; bounds: readonly number[]; cumulative: readonly number[]; sum: number; count: number }>,
  ) {}

  get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
    const values: MetricValue<string>[] = [];
    for (const h of this.read()) {
      for (let i = 0; i < h.bounds.length; i++) values.push({ metricName: `${this.name}_bucket`, labels: { ...h.labels, le: h.bounds[i]! }, value: h.cumulative[i]! } as MetricValue<string>);
      values.push({ metricName: `${this.name}_bucket`, labels: { ...h.labels, le: '+Inf' }, value: h.count } as MetricValue<string>);
      values.push({ metricName: `${this.name}_sum`, labels: h.labels, value: h.sum } as MetricValue<string>);
      values.push({ metricName: `${this.name}_count`, labels: h.labels, value: h.count } as MetricValue<string>);
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values } as unknown as MetricObjectWithValues<MetricValue<string>>);
  }
}

function fixed(h: Histogram, labels: Record<string, string> = {}) {
  return { labels, bounds: Array.from(h.bounds), cumulative: h.cumulative(), sum: h.sum, count: h.count };
}

/** Builds the registry of every raftis metric over `src`; `scrape()` renders one exposition. */
export function metricsRegistry(src: MetricsSource, opts: { defaultMetrics?: boolean } = {}): { registry: Registry; scrape(): Promise<string> } {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  let cur: Scrape | undefined;
  const now = (): Scrape => {
    if (cur === undefined) throw new Error('metrics read outside a scrape');
    return cur;
  };
  const gauge = (name: string, help: string, value: (s: Scrape) => number): void => {
    registry.registerMetric(
      new Gauge({
        name,
        help,
        registers: [],
        collect() {
          this.set(value(now()));
        },
      }),
    );
  };
  const counter = (name: string, help: string, value: (s: Scrape) => number): void => {
    registry.registerMetric(
      new Counter({
        name,
        help,
        registers: [],
        collect() {
          this.reset();
          this.inc(value(now()));
        },
      }),
    );
  };
  const labelled = <L extends string>(kind: 'gauge' | 'counter', name: string, help: string, labelNames: readonly L[], values: (s: Scrape) => Iterable<[Partial<Record<L, string>>, number]>): void => {
    const collect = function (this: Gauge<L> | Counter<L>): void {
      this.reset();
      for (const [labels, v] of values(now())) {
        if (this instanceof Gauge) this.set(labels, v);
        else this.inc(labels, v);
      }
    };
    const m = kind === 'gauge' ? new Gauge<L>({ name, help, labelNames, registers: [], collect }) : new Counter<L>({ name, help, labelNames, registers: [], collect });
    registry.registerMetric(m);
  };
  const histogram = (name: string, help: string, read: ConstructorParameters<typeof BucketsMetric>[2]): void => {
    // prom-client's registry formats any metric that gives its values through get(); its own
    // Histogram cannot take counts kept elsewhere.
    registry.registerMetric(new BucketsMetric(name, help, read) as unknown as Metric);
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
  histogram('raftis_raft_proposal_commit_duration_seconds', 'From a proposal reaching the Raft core to its entry applied here', () => [fixed(now().node.metrics().commitLatency)]);
  histogram('raftis_raft_log_sync_duration_seconds', 'Each synced write of the log (one batch written and fdatasynced)', () => [fixed(now().node.metrics().syncLatency)]);
  counter('raftis_raft_elections_total', 'Election campaigns this node started', (s) => s.node.metrics().elections);
  counter('raftis_raft_leader_changes_total', 'Times a leader became known here after none or another one (the first included)', (s) => s.node.metrics().leaderChanges);
  counter('raftis_raft_read_index_rounds_total', 'ReadIndex requests (one quorum round shared by the reads of one turn)', (s) => s.node.metrics().readIndexRounds);
  histogram('raftis_raft_snapshot_duration_seconds', 'Snapshots written by this node, and how long each took', () => [fixed(now().node.metrics().snapshotDurations)]);
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
  histogram('raftis_command_duration_seconds', 'Durations of the timed calls of each command (INFO latencystats; cheap commands are timed one call in 16)', function* () {
    for (const c of now().commands) {
      if (c.latency !== undefined) yield { labels: { command: c.name }, bounds: COMMAND_LATENCY_BOUNDS, cumulative: c.latency.buckets, sum: c.latency.seconds, count: c.latency.count };
    }
  });
  gauge('raftis_keys', 'Keys in all databases', () => src.keys());
  const mem = (pick: (m: NodeJS.MemoryUsage) => number) => () => pick(process.memoryUsage());
  gauge('raftis_memory_used_bytes', 'Memory used as INFO used_memory counts it (V8 heap used + external)', mem((m) => m.heapUsed + m.external));
  gauge('raftis_memory_rss_bytes', 'Resident set size (INFO used_memory_rss)', mem((m) => m.rss));
  gauge('raftis_memory_heap_used_bytes', 'V8 heap used', mem((m) => m.heapUsed));
  gauge('raftis_memory_dataset_bytes', "The dataset's size as maxmemory counts it (INFO used_memory_dataset)", () => src.datasetBytes());

  return {
    registry,
    async scrape() {
      const node = src.node;
      cur = { node, status: node.status(), applied: node.appliedIndex, lastIndex: node.lastLogIndex, commands: [...src.commands(COMMAND_LATENCY_EXPS)] };
      try {
        return await registry.metrics();
      } finally {
        cur = undefined;
      }
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
  http.route('/metrics', async (_req, res) => send(res, 200, PROMETHEUS_CONTENT_TYPE, await m.scrape()));
  http.route('/readyz', (_req, res) => {
    const why = notReadyReason(src.node);
    if (why === undefined) send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
    else send(res, 503, 'text/plain; charset=utf-8', `not ready: ${why}\n`);
  });
}
