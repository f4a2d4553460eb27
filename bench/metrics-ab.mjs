#!/usr/bin/env node
// The hot-path cost of metrics: CPU µs per request at SET -P 16 (redis-benchmark
// -c 50 -r 100000 -d 16) of raftis on one node and of a 3-node cluster's leader
// (and of all three), in three setups side by side:
//   A       a build without the metrics code (--a BIN, e.g. main's dist/cli/main.js)
//   off     this build without --http-port (the counters and histograms the node
//           keeps are there; nothing reads them)
//   scraped this build with --http-port and a scraper fetching /metrics (and
//           /readyz) from every node once a second, as Prometheus would
// CPU is utime + stime from /proc/<pid>/stat over the run, divided by the
// requests; rounds rotate the order of the targets; medians with the lowest and
// highest round. The scraper runs in this process (its CPU is not counted: it
// stands for Prometheus); serving the scrapes is in raftis's CPU.
//
// Usage: npm run build && node bench/metrics-ab.mjs --a /path/to/A/dist/cli/main.js
//   [--requests N (default 300000)] [--rounds R (default 5)] [--no-cluster] [--out FILE]
import path from 'node:path';
import os from 'node:os';
import { RAFTIS_BIN, benchOutput, buildFacts, freePort, machineFacts, median, procTicks, redisBenchmark, startRaftis, startRaftisCluster, writeResult, optionReader } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = optionReader(argv);
const N = Number(opt('--requests', 300000));
const ROUNDS = Number(opt('--rounds', 5));
const A = opt('--a', undefined) ? path.resolve(opt('--a')) : undefined;
const CLUSTER = !argv.includes('--no-cluster');
const OUT = opt('--out', 'metrics-ab.md');
const US_PER_TICK = 1e6 / 100;
const { say, log, lines } = benchOutput('metrics-ab');

/** Fetches /metrics and /readyz of each url base once a second until stopped; counts the scrapes. */
function scraper(bases) {
  let scrapes = 0;
  let failures = 0;
  let bytes = 0;
  const timer = setInterval(() => {
    for (const b of bases) {
      fetch(`${b}/metrics`, { signal: AbortSignal.timeout(5000) })
        .then(async (r) => {
          bytes += (await r.text()).length;
          if (r.status === 200) scrapes++;
          else failures++;
        })
        .catch(() => failures++);
      fetch(`${b}/readyz`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.text())
        .catch(() => {});
    }
  }, 1000);
  return {
    stop: () => clearInterval(timer),
    get stats() {
      return { scrapes, failures, bytes };
    },
  };
}

const targets = [];
async function retry(what, f) {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= 3) throw e;
      log(`${what}: ${e.message.split('\n')[0]}; retrying`);
    }
  }
}

async function addSingle(name, bin, http) {
  const httpPort = http ? await freePort() : 0;
  const p = await retry(name, () => startRaftis(http ? ['--http-port', String(httpPort)] : [], bin));
  const s = http ? scraper([`http://127.0.0.1:${httpPort}`]) : undefined;
  targets.push({ name, host: '127.0.0.1', port: p.port, procs: [{ role: 'node', pid: p.pid }], scraper: s, stop: () => (s?.stop(), p.stop()) });
}

async function addCluster(name, bin, http) {
  // Every node binds its own 127.0.0.i: one port number serves them all.
  const httpPort = http ? await freePort('127.0.0.1') : 0;
  const c = await retry(name, () => startRaftisCluster(3, http ? ['--http-port', String(httpPort)] : [], { bin }));
  const leader = c.node(c.leader);
  const procs = [{ role: 'leader', pid: leader.proc.pid }];
  let k = 0;
  for (const x of c.nodes) if (x.id !== c.leader) procs.push({ role: `follower${++k}`, pid: x.proc.pid });
  const s = http ? scraper(c.nodes.map((x) => `http://${x.host}:${httpPort}`)) : undefined;
  targets.push({ name, host: leader.host, port: leader.port, procs, scraper: s, stop: () => (s?.stop(), c.stop()) });
}

say('# The hot-path cost of /metrics: CPU µs per request at SET -P 16');
say(`date: ${new Date().toISOString()}`);
say(await machineFacts());
say(await buildFacts());
if (A) say(`A: ${A}`);
say(`redis-benchmark -c 50 -r 100000 -d 16 -P 16 -t set -n ${N}; ${ROUNDS} rounds, targets in a rotating order; medians (lowest–highest round). CPU = utime+stime from /proc/<pid>/stat over the run / requests. "scraped": --http-port and /metrics + /readyz fetched from every node once a second.\n`);

const loads = [];
try {
  if (A) await addSingle('1 node A', A, false);
  await addSingle('1 node off', RAFTIS_BIN, false);
  await addSingle('1 node scraped', RAFTIS_BIN, true);
  if (CLUSTER) {
    if (A) await addCluster('3 nodes A', A, false);
    await addCluster('3 nodes off', RAFTIS_BIN, false);
    await addCluster('3 nodes scraped', RAFTIS_BIN, true);
  }
  const args = ['-c', '50', '-r', '100000', '-d', '16', '-n', String(N), '-P', '16', '-t', 'set'];
  const res = new Map(targets.map((x) => [x.name, { rps: [], us: x.procs.map(() => []) }]));
  for (let round = 0; round < ROUNDS; round++) {
    loads.push(os.loadavg()[0]);
    for (let i = 0; i < targets.length; i++) {
      const x = targets[(round + i) % targets.length];
      log(`round ${round + 1}: ${x.name}`);
      const t0 = x.procs.map((p) => procTicks(p.pid).self);
      const out = await redisBenchmark(x.port, args, x.host);
      const t1 = x.procs.map((p) => procTicks(p.pid).self);
      const r = res.get(x.name);
      r.rps.push(out.SET.rps);
      x.procs.forEach((_, k) => r.us[k].push(((t1[k] - t0[k]) * US_PER_TICK) / N));
    }
  }
  loads.push(os.loadavg()[0]);

  const spread = (xs) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  say('| target | process | CPU µs / request | lowest–highest | rps (median) |');
  say('|---|---|---|---|---|');
  const med = new Map();
  for (const x of targets) {
    const r = res.get(x.name);
    let sum = 0;
    x.procs.forEach((p, k) => {
      const us = median(r.us[k]);
      med.set(`${x.name}/${p.role}`, us);
      sum += us;
      say(`| ${x.name} | ${p.role} | ${us.toFixed(2)} | ${spread(r.us[k])} | ${median(r.rps).toFixed(0)} |`);
    });
    if (x.procs.length > 1) {
      med.set(`${x.name}/all`, sum);
      say(`| ${x.name} | all 3 | ${sum.toFixed(2)} | | |`);
    }
  }
  say('\n| compared | process | ratio |');
  say('|---|---|---|');
  const cmp = (a, b, role) => {
    const ua = med.get(`${a}/${role}`);
    const ub = med.get(`${b}/${role}`);
    if (ua !== undefined && ub !== undefined) say(`| ${b} / ${a} | ${role} | ${(ub / ua).toFixed(3)} |`);
  };
  for (const size of CLUSTER ? ['1 node', '3 nodes'] : ['1 node']) {
    const roles = size === '1 node' ? ['node'] : ['leader', 'all'];
    for (const role of roles) {
      if (A) cmp(`${size} A`, `${size} off`, role);
      if (A) cmp(`${size} A`, `${size} scraped`, role);
      cmp(`${size} off`, `${size} scraped`, role);
    }
  }
  say('');
  for (const x of targets) if (x.scraper) say(`${x.name}: ${x.scraper.stats.scrapes} scrapes answered, ${x.scraper.stats.failures} failed, ${(x.scraper.stats.bytes / Math.max(1, x.scraper.stats.scrapes)).toFixed(0)} bytes each`);
  say(`1-minute load average before each round and at the end: ${loads.map((l) => l.toFixed(1)).join(', ')} (${os.cpus().length} cores)`);
} finally {
  for (const x of targets) await x.stop();
}
const text = lines.join('\n') + '\n';
console.log(`\nwritten to ${writeResult(OUT, text)}`);
