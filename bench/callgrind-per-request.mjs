#!/usr/bin/env node
// Instructions per request of a one-node raftis under valgrind's callgrind:
// a count that does not depend on the machine's load (CPU time per request
// moves by ±15 % between rounds on a shared machine; an instruction count by
// far less), for A/B comparisons of two builds on a fixed workload.
//
// Each build runs under `valgrind --tool=callgrind --instr-atstart=no`
// (start-up is not instrumented), takes a warm-up load (so V8 has compiled
// the hot path), then `callgrind_control --instr=on` switches the counting
// on, the measured load runs, and `callgrind_control --dump` writes the
// counts. Instructions per request = the dump's total Ir / requests, also
// without V8's compilers and without major GC (a 20000-request window holds
// a mark-compact or not, and re-optimizations after deopts come and go).
// Every thread is counted (V8's GC and compiler threads included). What the
// process does while idle between the loads (timers) is in the count too:
// small against the load, and the same for both builds.
// The rounds alternate A and B; medians. The count does not depend on the
// machine's load directly, but batch sizes and the JIT's state do: runs of
// one build still differ by ±10 %, more on a busy machine. Changes of a few
// % are read by function (bench/callgrind-top.mjs), not from the totals.
//
// Usage: npm run build && node bench/callgrind-per-request.mjs [options]
//   --a BIN        the other build's dist/cli/main.js (A); B is RAFTIS_BIN (this checkout)
//   --requests N   measured requests per run (default 20000)
//   --warmup W     warm-up requests before the counting starts (default 5×N: V8 must
//                  have compiled the hot path, or its optimizing compiler is half the count)
//   --warmup-runs K  the warm-up as K redis-benchmark runs of W requests (default 1). Each
//                  run starts with CONFIG GET, which can deoptimize the request path once
//                  (a shape it had not seen since it was optimized); with 1 that happens
//                  inside the measured window, with 2 in the second warm-up run
//   --tests LIST   e.g. SET:16,GET:16,SET:1,EVALSHA:16 (default SET:16); EVALSHA is
//                  EVALSHA <sha of "return redis.call('GET', KEYS[1])"> 1 key:__rand_int__
//                  over loaded keys (the script read path: no log entry); PFADD, GEOADD and
//                  XADD are bench/data-model.mjs's command lines (bench/data-model-commands.mjs)
//   --rounds R     default 3
//   --keep DIR     keep the callgrind output files there (callgrind_annotate them), with
//                  node's --perf-basic-prof map of each run (/tmp/perf-<pid>.map), which
//                  names the JIT code callgrind shows as ???:0x… (bench/callgrind-js.py)
//   --out FILE     results file under bench/results or an absolute path (default callgrind-per-request.md)
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { DATA_MODEL_COMMANDS } from './data-model-commands.mjs';
import { RAFTIS_BIN, RespConn, benchOutput, buildFacts, freePort, loadBenchmarkKeys, machineFacts, median, redisBenchmark, writeResult, optionReader } from './lib.mjs';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const opt = optionReader(argv);
const A = opt('--a', undefined) ? path.resolve(opt('--a')) : undefined;
const N = Number(opt('--requests', 20000));
const WARMUP = Number(opt('--warmup', 5 * N));
const WARMUP_RUNS = Number(opt('--warmup-runs', 1));
const ROUNDS = Number(opt('--rounds', 3));
const KEEP = opt('--keep', undefined);
const OUT = opt('--out', 'callgrind-per-request.md');
const TESTS = opt('--tests', 'SET:16').split(',').map((s) => {
  const [t, p] = s.split(':');
  return { t: t.toUpperCase(), P: Number(p) };
});
const { say, log, lines } = benchOutput('callgrind');

const builds = [...(A ? [{ name: 'A', bin: A }] : []), { name: 'B', bin: RAFTIS_BIN }];

async function waitPort(port, proc) {
  const net = await import('node:net');
  for (let i = 0; i < 1200; i++) {
    if (proc.exitCode !== null) throw new Error('raftis under valgrind exited early');
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('raftis under valgrind did not listen within 300 s');
}

/** V8's mark-compact (marking, sweeping, evacuation): whether one falls in a 20000-request window is luck. */
const MAJOR_GC = /ConcurrentMarking|MarkCompact|Sweeper|MarkingVisitor|IncrementalMarking|MarkingBarrier|LiveObjectRange|MarkingWorklist|FullEvacuator|PointersUpdating|MemoryChunkData|RememberedSetUpdating|EvacuateVisitorBase|EvacuateNewSpaceVisitor|RecordMigratedSlot|CompactionSpace|ActiveSystemPages|Heap::CreateFillerObjectAtSweeper/;

/**
 * Total Ir of a callgrind output file, the part in V8's compilers
 * (v8::internal::compiler::…, TurboFan on its threads; Sparkplug): a one-time
 * cost that a longer warm-up shrinks, and the part in major GC (a run has
 * one or none): reported apart so they do not blur the per-request count.
 */
async function irOf(file) {
  const { stdout } = await run('callgrind_annotate', ['--threshold=100', file], { maxBuffer: 256 << 20 });
  let total = 0;
  let compiler = 0;
  let majorGc = 0;
  let body = false;
  for (const line of stdout.split('\n')) {
    if (/file:function/.test(line)) { body = true; continue; }
    const m = body && /^\s*([\d,]+)\s/.exec(line);
    if (!m) continue;
    const n = Number(m[1].replaceAll(',', ''));
    total += n;
    if (/v8::internal::compiler::|v8::internal::maglev::|TurboFan|PipelineImpl|baseline::BaselineCompiler/.test(line)) compiler += n;
    else if (!/Scaveng/.test(line) && MAJOR_GC.test(line)) majorGc += n;
  }
  return { total, compiler, majorGc };
}

/** The script of the EVALSHA test: a read, served without a log entry. */
const EVALSHA_BODY = "return redis.call('GET', KEYS[1])";
const EVALSHA_SHA = createHash('sha1').update(EVALSHA_BODY).digest('hex');

/** One measured run: a fresh process, warm-up, counting on, the load, dump; Ir per request. */
async function measure(build, test, round) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-callgrind-'));
  const port = await freePort();
  const outBase = path.join(dir, 'cg.out');
  const proc = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outBase}`, process.execPath, ...(KEEP ? ['--perf-basic-prof'] : []), build.bin,
    '--port', String(port), '--dir', path.join(dir, 'data'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  try {
    await waitPort(port, proc);
    const cmd = test.t === 'EVALSHA' ? ['EVALSHA', EVALSHA_SHA, '1', 'key:__rand_int__'] : DATA_MODEL_COMMANDS[test.t] ?? ['-t', test.t.toLowerCase()];
    const args = (n) => ['-c', '50', '-r', '100000', '-d', '16', '-n', String(n), '-P', String(test.P), ...cmd];
    if (test.t === 'GET' || test.t === 'EVALSHA') await loadBenchmarkKeys(port, 100_000, 16);
    if (test.t === 'EVALSHA') {
      const c = await RespConn.connect('127.0.0.1', port, 5000);
      try {
        if ((await c.call(['SCRIPT', 'LOAD', EVALSHA_BODY], 30_000)) !== EVALSHA_SHA) throw new Error('SCRIPT LOAD failed');
      } finally {
        c.close();
      }
    }
    for (let i = 0; i < WARMUP_RUNS; i++) await redisBenchmark(port, args(WARMUP));
    await run('callgrind_control', ['--instr=on', String(proc.pid)]);
    await redisBenchmark(port, args(N));
    await run('callgrind_control', ['--dump', String(proc.pid)]);
    const dump = fs.readdirSync(dir).filter((f) => f.startsWith('cg.out')).map((f) => path.join(dir, f));
    // The dump is cg.out.1 (the final one at exit, cg.out, comes later).
    const file = dump.find((f) => /\.1$/.test(f)) ?? dump[0];
    if (!file) throw new Error(`no callgrind dump in ${dir}`);
    const ir = await irOf(file);
    if (KEEP) {
      fs.mkdirSync(KEEP, { recursive: true });
      fs.copyFileSync(file, path.join(KEEP, `${build.name}-${test.t}-${test.P}-r${round}.cg`));
      const map = `/tmp/perf-${proc.pid}.map`;
      if (fs.existsSync(map)) {
        fs.copyFileSync(map, path.join(KEEP, `${build.name}-${test.t}-${test.P}-r${round}.map`));
        fs.rmSync(map);
      }
    }
    return { all: ir.total / N, noCompiler: (ir.total - ir.compiler) / N, steady: (ir.total - ir.compiler - ir.majorGc) / N };
  } catch (e) {
    throw new Error(`${e.message}\n${stderr.slice(-2000)}`);
  } finally {
    proc.kill('SIGKILL');
    await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', r)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

say('# Instructions per request under callgrind (one node)');
say(`date: ${new Date().toISOString()}`);
say(await machineFacts());
say(await buildFacts());
if (A) say(`A: ${A}`);
say(`redis-benchmark -c 50 -r 100000 -d 16 -n ${N} after a warm-up of ${WARMUP_RUNS > 1 ? `${WARMUP_RUNS} runs of ` : ''}${WARMUP}; valgrind --tool=callgrind, counting only during the measured load; ${ROUNDS} rounds, builds alternating; medians.\n`);

const rows = [];
for (const test of TESTS) {
  const res = new Map(builds.map((b) => [b.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const b of order) {
      log(`${test.t} -P ${test.P} round ${round + 1}: ${b.name}`);
      const v = await measure(b, test, round + 1);
      log(`  ${Math.round(v.all)} instructions per request, ${Math.round(v.noCompiler)} without the compilers, ${Math.round(v.steady)} without them and major GC`);
      res.get(b.name).push(v);
    }
  }
  rows.push({ test, res });
}

say('| test | P | build | instructions / request (median) | rounds | without the compilers (median) | rounds | without the compilers and major GC (median) | rounds |');
say('|---|---|---|---|---|---|---|---|---|');
const fmt = (xs) => xs.map((x) => Math.round(x)).join(', ');
for (const { test, res } of rows) {
  for (const b of builds) {
    const all = res.get(b.name).map((v) => v.all);
    const nc = res.get(b.name).map((v) => v.noCompiler);
    const st = res.get(b.name).map((v) => v.steady);
    say(`| ${test.t} | ${test.P} | ${b.name} | ${Math.round(median(all))} | ${fmt(all)} | ${Math.round(median(nc))} | ${fmt(nc)} | ${Math.round(median(st))} | ${fmt(st)} |`);
  }
  if (A) {
    const m = (name, k) => median(res.get(name).map((v) => v[k]));
    say(`| ${test.t} | ${test.P} | B / A | ${(m('B', 'all') / m('A', 'all')).toFixed(3)} | | ${(m('B', 'noCompiler') / m('A', 'noCompiler')).toFixed(3)} | | ${(m('B', 'steady') / m('A', 'steady')).toFixed(3)} | |`);
  }
}
const text = lines.join('\n') + '\n';
console.log(`\nwritten to ${writeResult(OUT, text)}`);
