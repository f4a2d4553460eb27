#!/usr/bin/env node
// CPU µs per request, per process, for redis-server (appendfsync always),
// raftis on one node and a 3-node raftis cluster (leader and both followers)
// under the same redis-benchmark load: -c 50 -r 100000 -d 16, SET and GET at
// -P 1 and -P 16, a bounded -n. CPU is utime + stime from /proc/<pid>/stat
// over the run, divided by the requests: less sensitive to other load on the
// machine than requests per second, though not immune (shared caches; and at
// -P 1 a request's share of each wakeup, fsync and peer message depends on
// the batch sizes the load allowed). Each median comes with the lowest and
// highest round, to show what a difference between two medians can mean.
// Profiles (--cpu-prof) cover the whole process: start-up and the loading of
// the keys GET asks for are in them too.
//
// Usage: npm run build && node bench/cpu-per-request.mjs [options]
//   --requests N     requests per run at -P 1 (3× at -P 16); default 100000
//   --rounds R       rounds (targets in a rotating order); medians; default 3
//   --tests LIST     e.g. SET:1,SET:16,GET:1,GET:16 (default all four)
//   --no-single / --no-cluster / --no-redis   leave a target out
//   --a BIN          also run another build (its dist/cli/main.js) as "A" (one node
//                    and, unless --no-cluster, a cluster): an A/B of CPU per request
//   --peer-security  also run two more 3-node clusters: "3 nodes secret" (--cluster-secret-file)
//                    and "3 nodes secret+TLS" (and peer mutual TLS), with a throwaway secret
//                    and openssl-made certificates in a temporary directory
//   --cpu-prof       run the raftis processes under node --cpu-prof, stop them with
//                    SIGTERM at the end and print the top self-time functions of
//                    each (bench/cpuprofile-top.mjs); profiles kept in --prof-dir
//   --prof-dir DIR   where the .cpuprofile files go (default $TMPDIR/raftis-cpu-prof)
//   --out FILE       results file: a name under bench/results (default cpu-per-request-run.md) or an absolute path
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, RAFTIS_BIN, benchOutput, buildFacts, loadBenchmarkKeys, machineFacts, median, procIo, procTicks, redisBenchmark, startRaftis, startRaftisCluster, startRedis, writeResult, optionReader } from './lib.mjs';
import { summarise, summaryLines } from './cpuprofile-top.mjs';

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = optionReader(argv);
const N = Number(opt('--requests', 100000));
const ROUNDS = Number(opt('--rounds', 3));
const TESTS = opt('--tests', 'SET:1,SET:16,GET:1,GET:16').split(',').map((s) => {
  const [t, p] = s.split(':');
  return { t: t.toUpperCase(), P: Number(p) };
});
const A = opt('--a', undefined) ? path.resolve(opt('--a')) : undefined;
const PROF = flag('--cpu-prof');
const PROF_DIR = path.resolve(opt('--prof-dir', path.join(os.tmpdir(), 'raftis-cpu-prof')));
const OUT = opt('--out', 'cpu-per-request-run.md');
const nFor = (P) => (P === 16 ? N * 3 : N);
const US_PER_TICK = 1e6 / 100; // CLK_TCK is 100 on Linux
const { say, log, lines } = benchOutput('cpu-per-request');

if (PROF) {
  fs.mkdirSync(PROF_DIR, { recursive: true });
  // Read by lib.mjs when it starts a raftis process.
  process.env.RAFTIS_NODE_ARGS = `${process.env.RAFTIS_NODE_ARGS ?? ''} --cpu-prof --cpu-prof-dir=${PROF_DIR}`.trim();
}

/** Starting may lose a race for a free port with other processes on the machine: a few tries. */
async function retry(what, f) {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= 3 || !/EADDRINUSE|exited early/.test(e.message)) throw e;
      log(`${what}: ${e.message.split('\n')[0]}; retrying`);
    }
  }
}

/** targets: { name, host, port, procs: [{ role, pid, proc }], stop } */
const targets = [];
async function addSingle(name, bin) {
  const p = await retry(name, () => startRaftis([], bin));
  targets.push({ name, host: '127.0.0.1', port: p.port, procs: [{ role: 'node', pid: p.pid, proc: p.proc }], stop: () => p.stop() });
}
async function addCluster(name, bin, args = []) {
  const c = await retry(name, () => startRaftisCluster(3, args, { bin }));
  const leader = c.node(c.leader);
  const procs = [{ role: 'leader', pid: leader.proc.pid, proc: leader.proc }];
  let k = 0;
  for (const x of c.nodes) if (x.id !== c.leader) procs.push({ role: `follower${++k}`, pid: x.proc.pid, proc: x.proc });
  targets.push({ name, host: leader.host, port: leader.port, procs, stop: () => c.stop() });
}

/** A secret file and a CA-signed node certificate for 127.0.0.1–3 in a temporary directory (removed at exit). */
function peerSecurityFiles() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-bench-peersec-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const ossl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bench CA');
  fs.writeFileSync(path.join(dir, 'node.ext'), 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3\nextendedKeyUsage=serverAuth,clientAuth\n');
  ossl('req', ...ec, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=bench node');
  ossl('x509', '-req', '-in', 'node.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.crt', '-days', '2', '-extfile', 'node.ext');
  fs.writeFileSync(path.join(dir, 'secret'), 'bench secret of thirty-two bytes', { mode: 0o600 });
  const f = (n) => path.join(dir, n);
  const secret = ['--cluster-secret-file', f('secret')];
  return { secret, tls: [...secret, '--peer-tls-cert-file', f('node.crt'), '--peer-tls-key-file', f('node.key'), '--peer-tls-ca-file', f('ca.crt')] };
}

/** SIGTERM (raftis writes its profile as it exits), then wait at most 20 s for the exit. */
async function gracefulStop(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
}

say('# CPU µs per request: redis-server (appendfsync always) and raftis, per process');
say(`date: ${new Date().toISOString()}`);
say(await machineFacts());
say(await buildFacts());
if (A) say(`A: ${A}`);
say(`redis-benchmark -c 50 -r 100000 -d 16 -n ${nFor(1)} (-P 1) / ${nFor(16)} (-P 16); ${ROUNDS} rounds, targets in a rotating order; medians. CPU = utime+stime from /proc/<pid>/stat over the run / requests.${PROF ? ' Under --cpu-prof (profiling adds CPU).' : ''}\n`);

try {
  if (!flag('--no-redis')) {
    const r = await startRedis();
    targets.push({ name: 'redis', host: '127.0.0.1', port: r.port, procs: [{ role: 'redis-server', pid: r.pid, proc: r.proc }], stop: () => r.stop() });
  }
  if (A && !flag('--no-single')) await addSingle('A 1 node', A);
  if (!flag('--no-single')) await addSingle('1 node', RAFTIS_BIN);
  if (A && !flag('--no-cluster')) await addCluster('A 3 nodes', A);
  if (!flag('--no-cluster')) await addCluster('3 nodes', RAFTIS_BIN);
  if (flag('--peer-security')) {
    const sec = peerSecurityFiles();
    await addCluster('3 nodes secret', RAFTIS_BIN, sec.secret);
    await addCluster('3 nodes secret+TLS', RAFTIS_BIN, sec.tls);
  }
  if (TESTS.some((x) => x.t === 'GET')) {
    log('loading the keys GET asks for');
    for (const t of targets) await loadBenchmarkKeys(t.port, 100_000, 16, t.host);
  }

  const rows = [];
  for (const { t, P } of TESTS) {
    const n = nFor(P);
    const args = ['-c', '50', '-r', '100000', '-d', '16', '-n', String(n), '-P', String(P), '-t', t.toLowerCase()];
    const res = new Map(targets.map((x) => [x.name, { rps: [], us: x.procs.map(() => []), r: x.procs.map(() => []), w: x.procs.map(() => []) }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < targets.length; i++) {
        const x = targets[(round + i) % targets.length];
        log(`${t} -P ${P} round ${round + 1}: ${x.name}`);
        const t0 = x.procs.map((p) => procTicks(p.pid).self);
        const io0 = x.procs.map((p) => procIo(p.pid));
        const out = await redisBenchmark(x.port, args, x.host);
        const t1 = x.procs.map((p) => procTicks(p.pid).self);
        const io1 = x.procs.map((p) => procIo(p.pid));
        const r = res.get(x.name);
        r.rps.push(out[t].rps);
        x.procs.forEach((_, k) => {
          r.us[k].push(((t1[k] - t0[k]) * US_PER_TICK) / n);
          r.r[k].push((io1[k].r - io0[k].r) / n);
          r.w[k].push((io1[k].w - io0[k].w) / n);
        });
      }
    }
    rows.push({ t, P, res });
  }

  const times = (us, ref) => (Number.isNaN(ref) ? 'n/a' : `${(us / ref).toFixed(2)}×`);
  const redisUs = (row) => (row.res.has('redis') ? median(row.res.get('redis').us[0]) : NaN);
  // The spread (lowest–highest round) says how much a difference between two medians can mean on this machine.
  const spread = (xs) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  say('| test | P | target | process | CPU µs / request | lowest–highest of the rounds | / redis-server | rps (median) |');
  say('|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const ref = redisUs(row);
    for (const x of targets) {
      const r = row.res.get(x.name);
      let sum = 0;
      x.procs.forEach((p, k) => {
        const us = median(r.us[k]);
        sum += us;
        say(`| ${row.t} | ${row.P} | ${x.name} | ${p.role} | ${us.toFixed(2)} | ${spread(r.us[k])} | ${times(us, ref)} | ${median(r.rps).toFixed(0)} |`);
      });
      if (x.procs.length > 1) say(`| ${row.t} | ${row.P} | ${x.name} | all ${x.procs.length} | ${sum.toFixed(2)} | | ${times(sum, ref)} | |`);
    }
  }
  // Counts do not depend on the machine's load, but at -P 1 they follow the batch sizes the load allowed.
  say('\nSystem calls per request (/proc/<pid>/io syscr and syscw: socket and file reads and writes), medians:\n');
  say('| test | P | target | process | reads / request | writes / request |');
  say('|---|---|---|---|---|---|');
  for (const row of rows) {
    for (const x of targets) {
      const r = row.res.get(x.name);
      x.procs.forEach((p, k) => say(`| ${row.t} | ${row.P} | ${x.name} | ${p.role} | ${median(r.r[k]).toFixed(3)} | ${median(r.w[k]).toFixed(3)} |`));
    }
  }
  if (A) {
    say('\n| test | P | process | A µs | B µs | B / A |');
    say('|---|---|---|---|---|---|');
    for (const row of rows) {
      for (const [a, b] of [['A 1 node', '1 node'], ['A 3 nodes', '3 nodes']]) {
        const xa = targets.find((x) => x.name === a), xb = targets.find((x) => x.name === b);
        if (!xa || !xb) continue;
        xa.procs.forEach((p, k) => {
          const ua = median(row.res.get(a).us[k]), ub = median(row.res.get(b).us[k]);
          say(`| ${row.t} | ${row.P} | ${b} ${p.role} | ${ua.toFixed(2)} | ${ub.toFixed(2)} | ${(ub / ua).toFixed(3)} |`);
        });
      }
    }
  }

  if (PROF) {
    for (const x of targets) for (const p of x.procs) if (p.role !== 'redis-server') await gracefulStop(p.proc);
    for (const x of targets) {
      for (const p of x.procs) {
        if (p.role === 'redis-server') continue;
        const file = fs.readdirSync(PROF_DIR).find((f) => f.includes(`.${p.pid}.`) && f.endsWith('.cpuprofile'));
        if (!file) {
          say(`\n(no profile for ${x.name} ${p.role}, pid ${p.pid})`);
          continue;
        }
        const s = summarise(JSON.parse(fs.readFileSync(path.join(PROF_DIR, file), 'utf8')), 30);
        say('');
        for (const l of summaryLines(s, `${x.name} ${p.role} — ${path.relative(ROOT, path.join(PROF_DIR, file))}`)) say(l);
      }
    }
  }
} finally {
  for (const x of targets) await x.stop();
}
const text = lines.join('\n') + '\n';
console.log(`\nwritten to ${writeResult(OUT, text)}`);
