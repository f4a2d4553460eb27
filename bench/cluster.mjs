#!/usr/bin/env node
// Side by side, in one run: redis-server --appendonly yes --appendfsync always
// vs a 3-node raftis cluster (benchmark sent to the leader) vs a single-node
// raftis. redis-benchmark -c 50 -r 100000 -d 16, SET and GET at -P 1 and -P 16.
//
// The machine is noisy, so every (test, server) pair runs ROUNDS times. Within
// a round the tests go one after another and, for each test, the three servers
// run back to back in an order that rotates between rounds (a Latin square:
// in 3 rounds each server goes first, second and third once). Reported: the
// median rps and the median p50 / p99 over the rounds, and the ratios
// raftis/redis of the median rps. -n is aimed, per server and test, at runs of
// about SECONDS seconds: from a warm-up run first, then from each run for the
// next round. All three servers stay up for the whole run; the 100000 keys
// redis-benchmark -r uses are loaded first so GETs hit.
//
// Other work on a shared VM skews everything, so before each test of a round
// the script waits (up to QUIET_WAIT s) for the machine to be quiet (CPU < 25 %
// busy over 1 s), and it measures how much CPU other processes took during
// each run (machine busy time minus ours: this script, redis-benchmark, the
// servers). A run during which others took more than 30 % of the machine is
// repeated (at most twice more), keeping the least disturbed attempt.
//
// Usage: npm run build && node bench/cluster.mjs [rounds=3] [seconds=3] [quiet-wait-s=60]
// RAFTIS_BIN=/path/to/dist/cli/main.js runs another raftis build (see lib.mjs).
import os from 'node:os';
import {
  benchOutput,
  buildFacts,
  cpuShare,
  loadBenchmarkKeys,
  machineFacts,
  median,
  pipelineSpread,
  redisBenchmark,
  startTargets,
  waitQuiet,
  writeResult,
} from './lib.mjs';

const ROUNDS = Math.max(1, Math.min(10, Number(process.argv[2] ?? 3)));
const SECONDS = Math.max(0.5, Math.min(30, Number(process.argv[3] ?? 3)));
const QUIET_WAIT = Math.max(0, Math.min(600, Number(process.argv[4] ?? 60)));
const BASE = ['-c', '50', '-r', '100000', '-d', '16'];
const TESTS = [
  { t: 'set', P: 1 },
  { t: 'get', P: 1 },
  { t: 'set', P: 16 },
  { t: 'get', P: 16 },
];
const testKey = (x) => `${x.t.toUpperCase()} ${x.P}`;
// Issue 19's targets, as a fraction of redis-server's rps: the 3-node cluster's
// (linearizable GET) and the single node's (none for its GET at -P 1).
const TARGET = { 'SET 1': 0.5, 'SET 16': 0.5, 'GET 1': 0.8, 'GET 16': 0.8 };
const TARGET1 = { 'SET 1': 0.9, 'SET 16': 0.9, 'GET 16': 0.9 };
const WARMUP_N = { 1: 20_000, 16: 100_000 };
const MIN_N = 10_000;
const MAX_N = 3_000_000;
const BUSY_LIMIT = 0.3;
const BUSY_ATTEMPTS = 3;
const aimN = (rps) => Math.min(MAX_N, Math.max(MIN_N, Math.round((rps * SECONDS) / 10_000) * 10_000));

const { lines, say, log } = benchOutput('cluster-bench');

const startedAt = new Date();
const facts = `${await machineFacts()}\n${await buildFacts()}`;

log('starting redis-server, a 3-node raftis cluster and a single raftis node');
const targets = await startTargets(['redis', 'raft3', 'raft1']);
const { redis, cluster, single, servers, byId } = targets;
const oddities = [];

/** The cluster's leader must not change under a benchmark: redis-benchmark counts error replies (MOVED) as done. */
async function leaderState() {
  const info = await cluster.info(cluster.leader, 2000);
  return info && { role: info.role, term: info.term, commit: Number(info.commit_index) };
}

const serverPids = () => [redis.pid, single.pid, ...cluster.nodes.map((nd) => nd.proc.pid)];

/** One redis-benchmark run; for the cluster, repeated if the leader changed or SETs failed under it. */
async function cleanRun(server, x, n) {
  const args = [...BASE, '-n', String(n), '-P', String(x.P), '-t', x.t];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const before = server.id === 'raft3' ? await leaderState() : undefined;
    const t0 = performance.now();
    const share = cpuShare(serverPids());
    const out = (await redisBenchmark(server.port, args, server.host))[x.t.toUpperCase()];
    const { others } = share();
    const secs = (performance.now() - t0) / 1000;
    if (!out) throw new Error(`no ${x.t} result from redis-benchmark against ${server.label}`);
    if (server.id !== 'raft3') return { ...out, n, secs, others };
    const after = await leaderState();
    const ok = before?.role === 'leader' && after?.role === 'leader' && before.term === after.term;
    // Every SET is one log entry: fewer new entries than requests means some SETs failed.
    const committed = after && before ? after.commit - before.commit : NaN;
    if (ok && (x.t !== 'set' || committed >= n)) return { ...out, n, secs, others, committed };
    const why = ok ? `only ${committed} entries committed for ${n} SETs` : `leadership changed (${JSON.stringify(before)} -> ${JSON.stringify(after)})`;
    oddities.push(`${testKey(x)} on the 3-node cluster, attempt ${attempt}: ${why}; run discarded`);
    log(`discarding a 3-node run: ${why}`);
    await targets.followLeader();
  }
  throw new Error(`${testKey(x)} on the 3-node cluster: no clean run in 3 attempts`);
}

/** A measured run: repeated while other processes took more than BUSY_LIMIT of the machine; the least disturbed attempt counts. */
async function runOne(server, x, n) {
  let best;
  for (let attempt = 1; attempt <= BUSY_ATTEMPTS; attempt++) {
    const r = await cleanRun(server, x, n);
    if (!best || r.others < best.others) best = r;
    best.attempts = attempt;
    if (r.others <= BUSY_LIMIT) break;
    log(`${testKey(x)} on ${server.label}: other processes took ${(r.others * 100).toFixed(0)} % of the machine during the run (${r.rps.toFixed(0)} rps)${attempt < BUSY_ATTEMPTS ? '; repeating' : ''}`);
    if (attempt < BUSY_ATTEMPTS) await waitQuiet(0.25, Math.min(QUIET_WAIT, 10) * 1000);
  }
  return best;
}

try {
  log('loading the 100000 benchmark keys into each server');
  for (const s of servers) await loadBenchmarkKeys(s.port, 100_000, 16, s.host);

  // Warm-up (also warms the JIT) and calibration of -n per server and test.
  const nFor = {};
  for (const x of TESTS) {
    for (const s of servers) {
      const r = await cleanRun(s, x, WARMUP_N[x.P]);
      const n = aimN(r.rps);
      nFor[`${s.id} ${testKey(x)}`] = n;
      log(`warm-up ${testKey(x).padEnd(6)} ${s.label.padEnd(14)} ${r.rps.toFixed(0).padStart(7)} rps -> -n ${n}`);
    }
  }

  const results = {}; // `${server} ${test}` -> [runs]
  const detail = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = servers.map((_, i) => servers[(i + round) % servers.length].id);
    for (const x of TESTS) {
      const busy = await waitQuiet(0.25, QUIET_WAIT * 1000);
      const row = { round: round + 1, order, test: testKey(x), busy };
      for (const id of order) {
        const s = byId[id];
        const r = await runOne(s, x, nFor[`${id} ${testKey(x)}`]);
        nFor[`${id} ${testKey(x)}`] = aimN(r.rps);
        (results[`${id} ${testKey(x)}`] ??= []).push(r);
        row[id] = r;
        log(
          `round ${round + 1} ${testKey(x).padEnd(6)} ${s.label.padEnd(14)} ${r.rps.toFixed(0).padStart(7)} rps  p50 ${r.p50}  p99 ${r.p99}  ` +
            `(-n ${r.n}, ${r.secs.toFixed(1)} s, others ${(r.others * 100).toFixed(0)} %${r.attempts > 1 ? `, ${r.attempts} tries` : ''})`,
        );
      }
      detail.push(row);
    }
  }

  // How long a pipelined batch really takes: first vs last reply, one connection, no other load.
  const spread = {};
  for (const s of servers) {
    spread[`${s.id} GET`] = await pipelineSpread(s.host, s.port, ['GET', 'key:000000000042']);
    spread[`${s.id} SET`] = await pipelineSpread(s.host, s.port, ['SET', 'key:000000000042', 'x'.repeat(16)]);
  }

  const med = (id, x, f) => median(results[`${id} ${testKey(x)}`].map((r) => r[f]));
  const fmtMs = (v) => v.toFixed(3);
  say(`# raftis 3-node cluster and single node vs redis-server (appendfsync always)`);
  say();
  say(`date: ${startedAt.toISOString()}`);
  say(facts);
  say();
  say(`All processes on one machine, over loopback; the 3-node cluster's nodes listen on 127.0.0.1-3 and share the 2 cores with redis-benchmark.`);
  say(`Medians over ${ROUNDS} rounds; server order rotated between rounds; each run about ${SECONDS} s.`);
  say(`CPU busy before = share of the machine's CPU busy in the second before that test's runs (after waiting up to ${QUIET_WAIT} s for < 25 %); our own servers are idle then, so it is mostly other work on the VM.`);
  say(`Load average at the end: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}.`);
  say();
  say(`| test | P | redis-server rps | raftis 3-node rps | 3-node / redis | target | raftis 1-node rps | 1-node / redis | target | redis p50/p99 ms | 3-node p50/p99 ms | 1-node p50/p99 ms |`);
  say(`|---|---|---|---|---|---|---|---|---|---|---|---|`);
  const verdicts = [];
  for (const x of TESTS) {
    const r = med('redis', x, 'rps'), c = med('raft3', x, 'rps'), s1 = med('raft1', x, 'rps');
    const goal = TARGET[testKey(x)];
    const met = c / r >= goal;
    verdicts.push({ test: `3-node ${testKey(x)}`, ratio: c / r, goal, met });
    const goal1 = TARGET1[testKey(x)];
    const met1 = goal1 === undefined || s1 / r >= goal1;
    if (goal1 !== undefined) verdicts.push({ test: `1-node ${testKey(x)}`, ratio: s1 / r, goal: goal1, met: met1 });
    const target1 = goal1 === undefined ? '–' : `≥ ${goal1}× ${met1 ? 'met' : '**not met**'}`;
    say(
      `| ${x.t.toUpperCase()} | ${x.P} | ${r.toFixed(0)} | ${c.toFixed(0)} | ${(c / r).toFixed(2)}× | ≥ ${goal}× ${met ? 'met' : '**not met**'} | ${s1.toFixed(0)} | ${(s1 / r).toFixed(2)}× | ${target1} | ` +
        `${fmtMs(med('redis', x, 'p50'))}/${fmtMs(med('redis', x, 'p99'))} | ${fmtMs(med('raft3', x, 'p50'))}/${fmtMs(med('raft3', x, 'p99'))} | ${fmtMs(med('raft1', x, 'p50'))}/${fmtMs(med('raft1', x, 'p99'))} |`,
    );
  }
  say();
  say(`Issue 19's targets (vs redis-server): ${verdicts.map((v) => `${v.test}: ${v.ratio.toFixed(2)}× vs ≥ ${v.goal}× ${v.met ? 'met' : 'NOT met'}`).join('; ')}.`);
  say();
  say(`redis-benchmark's latency for a pipelined batch is the time from sending it to the first byte of its replies, so at P=16 p50/p99 say nothing about when the last reply of a batch arrives. ` +
    `Measured separately (one connection, 200 batches of 16 pipelined commands one after another, median ms):`);
  say();
  say(`| batch of 16 | ${servers.map((s) => `${s.label} first / last reply`).join(' | ')} |`);
  say(`|---|${servers.map(() => '---').join('|')}|`);
  for (const cmd of ['GET', 'SET']) say(`| ${cmd} | ${servers.map((s) => `${spread[`${s.id} ${cmd}`].first.toFixed(2)} / ${spread[`${s.id} ${cmd}`].last.toFixed(2)}`).join(' | ')} |`);
  say();
  say(`## Every run (rps; order = the order the servers ran in for that round)`);
  say();
  say(`Cells: rps (-n, duration, share of the machine's CPU taken by other processes during the run; "tries" = attempts made because of such load).`);
  say();
  say(`| round | order | test | CPU busy before | redis-server | raftis 3-node | raftis 1-node |`);
  say(`|---|---|---|---|---|---|---|`);
  for (const d of detail) {
    const cell = (id) => `${d[id].rps.toFixed(0)} (-n ${d[id].n}, ${d[id].secs.toFixed(1)} s, others ${(d[id].others * 100).toFixed(0)} %${d[id].attempts > 1 ? `, ${d[id].attempts} tries` : ''})`;
    say(`| ${d.round} | ${d.order.join(', ')} | ${d.test} | ${(d.busy * 100).toFixed(0)} % | ${cell('redis')} | ${cell('raft3')} | ${cell('raft1')} |`);
  }
  say();
  say(`## Command lines`);
  say();
  say('```');
  say(`redis-server --port ${redis.port} --bind 127.0.0.1 --save '' --dir <tmp> --appendonly yes --appendfsync always`);
  for (const nd of cluster.nodes) say(cluster.commandLine(nd.id).join(' ').replace(nd.dir, '<tmp>/node' + nd.id));
  say(`node ${cluster.commandLine(1)[1]} --port ${single.port} --dir <tmp> --log-level warn`);
  say(`redis-benchmark -h <host> -p <port> --csv ${BASE.join(' ')} -n <N> -P <1|16> -t <set|get>`);
  say('```');
  say();
  say(`-n per server and test: aimed at ${SECONDS} s from a warm-up run (${WARMUP_N[1]} requests at P=1, ${WARMUP_N[16]} at P=16), then from each run for the next round.`);
  say(`The 3-node cluster's leader was node ${cluster.leader}; a run is discarded and repeated if the leader's term changed under it or, for SET, if fewer log entries than requests were committed.`);
  if (oddities.length > 0) {
    say();
    say(`## Discarded runs`);
    for (const o of oddities) say(`- ${o}`);
  }
  console.log(`\nwritten to ${writeResult('cluster.md', lines.join('\n') + '\n')}`);
} finally {
  await targets.stop();
}
