/**
 * /metrics' formatting (src/server/metrics.ts) over a node and engine made
 * of plain numbers, parsed back with a Prometheus text-format parser; and
 * /readyz's decision.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import type { RaftisNode, NodeMetrics } from '../../../src/node/node.js';
import { ProgressState, Role, type ProgressStatus, type Status } from '../../../src/raft/index.js';
import { COMMAND_LATENCY_EXPS, READY_APPLY_LAG, metricsRegistry, notReadyReason, type CommandMetric, type MetricsSource } from '../../../src/server/metrics.js';
import { Histogram, LATENCY_BUCKETS_SECONDS, SLOW_BUCKETS_SECONDS } from '../../../src/util/histogram.js';
import { LatencyHistogram } from '../../../src/commands/engine/latency.js';

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

function progress(id: number, match: number, state: ProgressState): ProgressStatus {
  return { id, match, next: match + 1, state, paused: false, inflight: 0, recentActive: true, isLearner: false, pendingSnapshot: 0, text: '' };
}

/** A leader (id 1) of three at term 7, peer 3 behind and disconnected. */
function fakeNode(over: Partial<Status> = {}, extra: Partial<Record<'appliedIndex' | 'failed' | 'removed' | 'closed', unknown>> = {}) {
  const commitLatency = new Histogram(LATENCY_BUCKETS_SECONDS);
  commitLatency.observeN(0.0003, 16);
  commitLatency.observe(0.02);
  const m: NodeMetrics = {
    proposals: 17,
    commitLatency,
    syncLatency: new Histogram(LATENCY_BUCKETS_SECONDS),
    elections: 2,
    leaderChanges: 3,
    readIndexRounds: 5,
    snapshotDurations: new Histogram(SLOW_BUCKETS_SECONDS),
    snapshotsSent: 1,
    snapshotsSendFailed: 0,
    snapshotsReceived: 0,
  };
  const status: Status = {
    id: 1,
    term: 7,
    vote: 1,
    commit: 40,
    applied: 40,
    lead: 1,
    role: Role.Leader,
    leadTransferee: 0,
    config: { voters: [1, 2, 3], learners: [] },
    progress: [progress(1, 42, ProgressState.Replicate), progress(2, 42, ProgressState.Replicate), progress(3, 30, ProgressState.Probe)],
    ...over,
  };
  const node = {
    id: 1,
    status: () => status,
    appliedIndex: 40,
    lastLogIndex: 42,
    firstIndex: 1,
    logBytes: 4096,
    snapshotIndex: 0,
    snapshotter: { inProgress: false },
    members: new Map([1, 2, 3].map((id) => [id, { id }])),
    peerConnected: (id: number) => id !== 3,
    metrics: () => m,
    failed: false,
    removed: false,
    closed: false,
    ...extra,
  };
  return node as unknown as RaftisNode;
}

function source(node: RaftisNode, commands: CommandMetric[] = []): MetricsSource {
  return { node, clients: () => 4, keys: () => 1000, datasetBytes: () => 123456, commands: () => commands };
}

async function scrape(src: MetricsSource): Promise<{ text: string; fam: Map<string, Family> }> {
  const text = await metricsRegistry(src, { processMetrics: false }).scrape();
  const fam = new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]));
  return { text, fam };
}

const value = (fam: Map<string, Family>, name: string, labels: Record<string, string> = {}): number => {
  const f = fam.get(name);
  if (f === undefined) throw new Error(`no family ${name}`);
  const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  if (m?.value === undefined) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return Number(m.value);
};

describe('/metrics formatting', () => {
  it('gives the Raft state as gauges and counters with Prometheus types', async () => {
    const { fam } = await scrape(source(fakeNode()));
    expect(value(fam, 'raftis_raft_term')).toBe(7);
    expect(fam.get('raftis_raft_term')!.type).toBe('GAUGE');
    expect(value(fam, 'raftis_raft_leader_id')).toBe(1);
    expect(value(fam, 'raftis_raft_role', { role: 'leader' })).toBe(1);
    expect(value(fam, 'raftis_raft_role', { role: 'follower' })).toBe(0);
    expect(fam.get('raftis_raft_role')!.metrics.filter((m) => m.value === '1')).toHaveLength(1);
    expect([value(fam, 'raftis_raft_commit_index'), value(fam, 'raftis_raft_applied_index'), value(fam, 'raftis_raft_last_index')]).toEqual([40, 40, 42]);
    expect(value(fam, 'raftis_raft_log_bytes')).toBe(4096);
    expect(fam.get('raftis_raft_proposals_total')!.type).toBe('COUNTER');
    expect(value(fam, 'raftis_raft_proposals_total')).toBe(17);
    expect([value(fam, 'raftis_raft_elections_total'), value(fam, 'raftis_raft_leader_changes_total'), value(fam, 'raftis_raft_read_index_rounds_total')]).toEqual([2, 3, 5]);
    expect(value(fam, 'raftis_raft_snapshot_transfers_total', { direction: 'sent', result: 'ok' })).toBe(1);
    expect([value(fam, 'raftis_connected_clients'), value(fam, 'raftis_keys'), value(fam, 'raftis_memory_dataset_bytes')]).toEqual([4, 1000, 123456]);
    expect(value(fam, 'raftis_memory_rss_bytes')).toBeGreaterThan(0);
  });

  it('gives each peer its match index, lag and connection, the leader itself excluded', async () => {
    const { fam } = await scrape(source(fakeNode()));
    expect(value(fam, 'raftis_raft_peer_match_index', { peer: '3', state: 'probe' })).toBe(30);
    expect(value(fam, 'raftis_raft_peer_lag_entries', { peer: '2' })).toBe(0);
    expect(value(fam, 'raftis_raft_peer_lag_entries', { peer: '3' })).toBe(12);
    expect(fam.get('raftis_raft_peer_lag_entries')!.metrics.map((m) => m.labels?.peer).sort()).toEqual(['2', '3']);
    expect([value(fam, 'raftis_raft_peer_connected', { peer: '2' }), value(fam, 'raftis_raft_peer_connected', { peer: '3' })]).toEqual([1, 0]);
  });

  it('has no per-peer progress on a follower', async () => {
    const { fam } = await scrape(source(fakeNode({ role: Role.Follower, lead: 2, progress: [] })));
    expect(value(fam, 'raftis_raft_role', { role: 'follower' })).toBe(1);
    expect(fam.get('raftis_raft_peer_match_index')?.metrics ?? []).toEqual([]);
  });

  it('renders a pre-recorded histogram with cumulative buckets, sum and count', async () => {
    const { text, fam } = await scrape(source(fakeNode()));
    const h = fam.get('raftis_raft_proposal_commit_duration_seconds')!;
    expect(h.type).toBe('HISTOGRAM');
    const [m] = h.metrics;
    expect(m!.buckets!['0.0001']).toBe('0');
    expect(m!.buckets!['0.0005']).toBe('16');
    expect(m!.buckets!['0.025']).toBe('17');
    expect(m!.buckets!['+Inf']).toBe('17');
    expect(Number(m!.count)).toBe(17);
    expect(Number(m!.sum)).toBeCloseTo(16 * 0.0003 + 0.02, 9);
    expect(text).toContain('raftis_raft_log_sync_duration_seconds_count 0\n');
  });

  it('gives commands by name from INFO commandstats counts, with their latency buckets', async () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 10; i++) h.record(3); // µs
    h.record(5000);
    const cmds: CommandMetric[] = [
      { name: 'set', calls: 160, rejected: 1, failed: 2, latency: { buckets: h.countsUpTo(COMMAND_LATENCY_EXPS), count: h.total, seconds: 0.00503 } },
      { name: 'config|get', calls: 3, rejected: 0, failed: 0, latency: undefined },
    ];
    const { text, fam } = await scrape(source(fakeNode(), cmds));
    expect(value(fam, 'raftis_commands_total', { command: 'set' })).toBe(160);
    expect(value(fam, 'raftis_commands_total', { command: 'config|get' })).toBe(3);
    expect(value(fam, 'raftis_commands_rejected_total', { command: 'set' })).toBe(1);
    expect(value(fam, 'raftis_commands_failed_total', { command: 'set' })).toBe(2);
    // parse-prometheus-text-format folds the series of a labelled histogram together: read its lines.
    expect(fam.get('raftis_command_duration_seconds')!.type).toBe('HISTOGRAM');
    expect(text).toContain('raftis_command_duration_seconds_bucket{command="set",le="0.000001"} 0\n');
    expect(text).toContain('raftis_command_duration_seconds_bucket{command="set",le="0.000004"} 10\n');
    expect(text).toContain('raftis_command_duration_seconds_bucket{command="set",le="0.004096"} 10\n');
    expect(text).toContain('raftis_command_duration_seconds_bucket{command="set",le="0.016384"} 11\n');
    expect(text).toContain('raftis_command_duration_seconds_bucket{command="set",le="+Inf"} 11\n');
    expect(text).toContain('raftis_command_duration_seconds_count{command="set"} 11\n');
    expect(text).not.toContain('raftis_command_duration_seconds_count{command="config|get"}');
  });

  it('escapes label values as the text format requires', async () => {
    const odd = 'a"b\\c\nd';
    const { text, fam } = await scrape(source(fakeNode(), [{ name: odd, calls: 1, rejected: 0, failed: 0, latency: undefined }]));
    expect(text).toContain('raftis_commands_total{command="a\\"b\\\\c\\nd"} 1\n');
    expect(value(fam, 'raftis_commands_total', { command: odd })).toBe(1);
  });

  it('adds process metrics under the names Prometheus clients give them', async () => {
    const m = metricsRegistry(source(fakeNode()));
    try {
      const fam = new Map(parsePrometheusTextFormat(m.scrape()).map((f) => [f.name, f]));
      expect(Number(fam.get('process_resident_memory_bytes')!.metrics[0]!.value)).toBeGreaterThan(0);
      expect(fam.get('process_cpu_seconds_total')!.type).toBe('COUNTER');
      expect(Number(fam.get('process_start_time_seconds')!.metrics[0]!.value)).toBeGreaterThan(1.7e9);
      expect(Number(fam.get('nodejs_eventloop_lag_p99_seconds')!.metrics[0]!.value)).toBeGreaterThanOrEqual(0);
    } finally {
      m.close();
    }
  });
});

describe('/readyz', () => {
  it('is ready with a leader known and the commit index applied', () => {
    expect(notReadyReason(fakeNode())).toBeUndefined();
    expect(notReadyReason(fakeNode({ commit: 40 + READY_APPLY_LAG }))).toBeUndefined();
  });

  it('says why it is not', () => {
    expect(notReadyReason(fakeNode({ lead: 0, role: Role.PreCandidate }))).toBe('no leader known in term 7 (an election is running or this node is cut off from a quorum)');
    expect(notReadyReason(fakeNode({ commit: 41 + READY_APPLY_LAG }))).toBe(`applied index 40 is ${READY_APPLY_LAG + 1} entries behind commit index ${41 + READY_APPLY_LAG}`);
    expect(notReadyReason(fakeNode({}, { failed: true }))).toMatch(/failed/);
  });
});

describe('Histogram', () => {
  it('counts each observation in the first bucket whose bound holds it', () => {
    const h = new Histogram([1, 2, 4]);
    for (const v of [0, 1, 1.5, 2, 3, 5, 100]) h.observe(v);
    expect(h.cumulative()).toEqual([2, 4, 5, 7]);
    expect([h.count, h.sum]).toEqual([7, 112.5]);
    expect(() => new Histogram([2, 1])).toThrow(/ascend/);
  });

  it('LatencyHistogram.countsUpTo gives exact counts at powers of two', () => {
    const h = new LatencyHistogram();
    for (const us of [1, 2, 3, 4, 5, 1024, 1025]) h.record(us);
    expect(h.countsUpTo([0, 1, 2, 10, 11])).toEqual([1, 2, 4, 6, 7]);
  });
});
