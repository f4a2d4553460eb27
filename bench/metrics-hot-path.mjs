#!/usr/bin/env node
// What counting costs on a request's path, in ns per operation, in one
// process (a microbenchmark: less disturbed by other load than a server
// benchmark): prom-client's Counter.inc and Histogram.observe (without and
// with a label, as a per-command count would need) against what raftis does
// instead (a plain field increment; util/histogram.ts's pre-allocated
// Histogram, observed once per batch of proposals). Then what one scrape of
// /metrics costs (src/server/metrics.ts over a node-like object with 3 peers
// and 20 commands), with and without prom-client's default process metrics.
//
// Usage: npm run build && node bench/metrics-hot-path.mjs [--out FILE]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import client from 'prom-client';
import { benchOutput, machineFacts, median, writeResult } from './lib.mjs';
import { Histogram, LATENCY_BUCKETS_SECONDS } from '../dist/util/histogram.js';
import { metricsRegistry, COMMAND_LATENCY_EXPS } from '../dist/server/metrics.js';
import { LatencyHistogram } from '../dist/commands/engine/latency.js';

const argv = process.argv.slice(2);
const OUT = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : 'metrics-hot-path.md';
const { say, lines } = benchOutput('metrics-hot-path');
const OPS = 2_000_000;
const ROUNDS = 7;

/** ns per call of fn(i), median of ROUNDS rounds of OPS calls (after a warm-up round). */
function nsPerOp(fn) {
  const rounds = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) fn(i);
    const ns = Number(process.hrtime.bigint() - t0) / OPS;
    if (r > 0) rounds.push(ns);
  }
  return rounds;
}

const reg = new client.Registry();
const counter = new client.Counter({ name: 'c_total', help: 'h', registers: [reg] });
const labelled = new client.Counter({ name: 'l_total', help: 'h', labelNames: ['command'], registers: [reg] });
const hist = new client.Histogram({ name: 'h_seconds', help: 'h', buckets: [...LATENCY_BUCKETS_SECONDS], registers: [reg] });
const histL = new client.Histogram({ name: 'hl_seconds', help: 'h', labelNames: ['command'], buckets: [...LATENCY_BUCKETS_SECONDS], registers: [reg] });
const ours = new Histogram(LATENCY_BUCKETS_SECONDS);
const plain = { n: 0 };
const lat = new LatencyHistogram();
const vals = Float64Array.from({ length: 1024 }, (_, i) => 0.0002 + (i % 37) * 0.0003);
const cmds = ['set', 'get', 'incr', 'lpush'];

const cases = [
  ['a field increment (raftis: Writes.proposed, Reads.rounds, …)', () => plain.n++],
  ["raftis's Histogram.observe (util/histogram.ts)", (i) => ours.observe(vals[i & 1023])],
  ["INFO latencystats' LatencyHistogram.record (kept anyway)", (i) => lat.record(3 + (i & 255))],
  ['prom-client Counter.inc()', () => counter.inc()],
  ["prom-client Counter.inc({ command })", (i) => labelled.inc({ command: cmds[i & 3] })],
  ['prom-client Histogram.observe(v)', (i) => hist.observe(vals[i & 1023])],
  ['prom-client Histogram.observe({ command }, v)', (i) => histL.observe({ command: cmds[i & 3] }, vals[i & 1023])],
];

say('# What counting costs on the hot path, and what a scrape costs');
say(`date: ${new Date().toISOString()}`);
say(await machineFacts());
say(`prom-client ${JSON.parse(fs.readFileSync(new URL('../node_modules/prom-client/package.json', import.meta.url))).version}; ${OPS} calls per round, ${ROUNDS} rounds after a warm-up; median ns per call (lowest–highest round)\n`);
say('| operation | ns / call | lowest–highest |');
say('|---|---|---|');
for (const [name, fn] of cases) {
  const r = nsPerOp(fn);
  say(`| ${name} | ${median(r).toFixed(1)} | ${Math.min(...r).toFixed(1)}–${Math.max(...r).toFixed(1)} |`);
}

// A scrape over a node-like object: 3 members, 20 commands with latency histograms.
// (The first version of /metrics registered the same families as prom-client Gauges
// and Counters with collect() callbacks: see docs/decisions.md "Metrics" for its cost.)
const h = new LatencyHistogram();
for (let i = 0; i < 1000; i++) h.record(1 + (i % 500));
const commands = Array.from({ length: 20 }, (_, i) => ({ name: `cmd${i}`, calls: 1000 * i, rejected: 0, failed: i, latency: { buckets: h.countsUpTo(COMMAND_LATENCY_EXPS), count: h.total, seconds: 0.5 } }));
const m = { proposals: 1, commitLatency: ours, syncLatency: ours, elections: 1, leaderChanges: 1, readIndexRounds: 1, snapshotDurations: new Histogram([1, 2]), snapshotsSent: 0, snapshotsSendFailed: 0, snapshotsReceived: 0 };
const progress = [1, 2, 3].map((id) => ({ id, match: 100, next: 101, state: 1, paused: false, inflight: 0, recentActive: true, isLearner: false, pendingSnapshot: 0, text: '' }));
const node = {
  id: 1,
  status: () => ({ id: 1, term: 3, vote: 1, commit: 100, applied: 100, lead: 1, role: 2, leadTransferee: 0, config: { voters: [1, 2, 3], learners: [] }, progress }),
  appliedIndex: 100, lastLogIndex: 100, firstIndex: 1, logBytes: 1000, snapshotIndex: 0, snapshotter: { inProgress: false },
  members: new Map([1, 2, 3].map((id) => [id, { id }])), peerConnected: () => true, metrics: () => m, failed: false, removed: false, closed: false,
};
const src = { node, clients: () => 50, keys: () => 100000, datasetBytes: () => 1e7, commands: () => commands };
say('\n| scrape | bytes | µs CPU / scrape | lowest–highest |');
say('|---|---|---|---|');
const promDefaults = new client.Registry();
client.collectDefaultMetrics({ register: promDefaults });
const scrapes = [
  ['raftis families (src/server/metrics.ts)', metricsRegistry(src, { processMetrics: false })],
  ['raftis families + its process_* / nodejs_* (what /metrics serves)', metricsRegistry(src)],
  ["prom-client's collectDefaultMetrics alone, for comparison", { scrape: () => promDefaults.metrics() }],
];
for (const [name, r] of scrapes) {
  const text = await r.scrape();
  const rounds = [];
  for (let k = 0; k < 6; k++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 200; i++) await r.scrape();
    const c = process.cpuUsage(c0);
    if (k > 0) rounds.push((c.user + c.system) / 200);
  }
  say(`| ${name} | ${text.length} | ${median(rounds).toFixed(0)} | ${Math.min(...rounds).toFixed(0)}–${Math.max(...rounds).toFixed(0)} |`);
}
say(`\n1-minute load average at the end: ${os.loadavg()[0].toFixed(1)} (${os.cpus().length} cores)`);
const text = lines.join('\n') + '\n';
console.log(`\nwritten to ${writeResult(OUT, text)}`);
process.exit(0);
