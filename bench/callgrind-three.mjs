#!/usr/bin/env node
// Instructions per request of one process of a 3-node raftis cluster under
// valgrind's callgrind: the leader, or one follower, while the other two run
// normally (bench/callgrind-per-request.mjs does one node; see it for why an
// instruction count and how it is read).
//
// Node 1 (127.0.0.1) runs under `valgrind --tool=callgrind --instr-atstart=no`,
// nodes 2 and 3 (127.0.0.2, .3) as usual. Role `leader`: node 1 is made the
// leader (RAFT.TRANSFER_LEADER 1 if the election chose another); role
// `follower`: another node is (RAFT.TRANSFER_LEADER away from node 1).
// redis-benchmark always talks to the leader. A warm-up load, then (follower)
// wait until node 1 has applied everything the leader committed, counting on,
// the measured load, (follower) wait again until node 1 has applied it all,
// dump. Instructions per request = the dump's Ir / requests: for a follower,
// everything it did for those requests' entries (it may lag behind the load:
// the leader commits on the other follower's acknowledgement).
// Under valgrind the measured process is ~50× slower than the others, so its
// batches are larger than on a real cluster (a leader's: everything the 50
// clients sent; a lagging follower's: up to the leader's message size): the
// counts are per request for that shape, as for one node.
//
// Usage: npm run build && node bench/callgrind-three.mjs [options]
//   --a BIN        the other build's dist/cli/main.js (A); B is RAFTIS_BIN (this checkout)
//   --requests N   measured requests per run (default 20000)
//   --warmup W     warm-up requests (default 5×N)
//   --tests LIST   e.g. SET:16,SET:1,GET:16 (default SET:16); PFADD, GEOADD and XADD are
//                  bench/data-model.mjs's command lines (bench/data-model-commands.mjs)
//   --roles LIST   leader,follower (default both)
//   --rounds R     default 1
//   --clients C    redis-benchmark's -c (default 50). With -c 1 -P 1 every GET is a read
//                  round of its own: the count is a round's cost end to end on that node
//   --stop-other   role follower: the other follower is stopped (SIGSTOP) from the
//                  warm-up to the end of the measured load, so the leader's read rounds go to node 1; every node
//                  runs on the slow ticks (SLOW_TICKS below), or the leader, left with
//                  node 1 alone, steps down when node 1 stalls
//   --keep DIR     keep the callgrind files and perf maps (DIR/<build>-<role>-<test>-<P>-r<round>.cg:
//                  bench/callgrind-top.mjs DIR N --test leader-SET-16)
//   --out FILE     results file under bench/results or an absolute path (default callgrind-three-run.md)
//   --server-args "ARGS"  extra flags for every node of both builds, split on spaces
//                  (e.g. --server-args "--read-mode lease")
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DATA_MODEL_COMMANDS } from './data-model-commands.mjs';
import { RAFTIS_BIN, RespConn, benchOutput, buildFacts, freePorts, loadBenchmarkKeys, machineFacts, median, raftInfo, redisBenchmark, waitPort, writeResult, optionReader } from './lib.mjs';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const opt = optionReader(argv);
const A = opt('--a', undefined) ? path.resolve(opt('--a')) : undefined;
const N = Number(opt('--requests', 20000));
const WARMUP = Number(opt('--warmup', 5 * N));
const ROUNDS = Number(opt('--rounds', 1));
const CLIENTS = Number(opt('--clients', 50));
const STOP_OTHER = argv.includes('--stop-other');
const KEEP = opt('--keep', undefined);
const OUT = opt('--out', 'callgrind-three-run.md');
const ROLES = opt('--roles', 'leader,follower').split(',');
const SERVER_ARGS = opt('--server-args', '').split(' ').filter((a) => a !== '');
const TESTS = opt('--tests', 'SET:16').split(',').map((s) => {
  const [t, p] = s.split(':');
  return { t: t.toUpperCase(), P: Number(p) };
});
const { say, log, lines } = benchOutput('callgrind-three');
const builds = [...(A ? [{ name: 'A', bin: A }] : []), { name: 'B', bin: RAFTIS_BIN }];

const procs = new Set();
for (const sig of ['exit', 'SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const p of procs) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (sig !== 'exit') process.exit(1);
  });
}

/** A process under valgrind starts ~50× slower: up to 300 s. */
const waitSlowPort = (host, port, proc, what) => waitPort(port, proc, what, host, 1200, 250);

async function poll(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const MAJOR_GC = /ConcurrentMarking|MarkCompact|Sweeper|MarkingVisitor|IncrementalMarking|MarkingBarrier|LiveObjectRange|MarkingWorklist|FullEvacuator|PointersUpdating|MemoryChunkData|RememberedSetUpdating|EvacuateVisitorBase|EvacuateNewSpaceVisitor|RecordMigratedSlot|CompactionSpace|ActiveSystemPages|Heap::CreateFillerObjectAtSweeper/;

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

/**
 * Preloaded into the two normal nodes when node 1 leads: their Raft tick (a
 * 50 ms interval) runs every second instead, so their election timeout is
 * 10–20 s rather than 0.5–1 s. Node 1 under callgrind stalls for longer than
 * a second at times (switching the counting on re-translates all its code),
 * and the followers would elect another leader in the middle of the load.
 * They do nothing else on a tick that the measured leader sees. Builds that
 * count ticks by the monotonic clock (src/node/ticker.ts) get a clock
 * (performance.now) running 20× slow as well; the followers use it for
 * nothing else the leader sees (their metrics, snapshot slices).
 * The measured leader gets it too (both builds): its ticks used to slow
 * down with it under valgrind (one per firing of a late timer), but counted
 * by the clock they run at the real rate, and a leader ~50× slower than
 * normal misses its check-quorum (no follower's answer handled within an
 * election timeout of real time) and steps down in the middle of the load.
 * So its heartbeats and lease are on a 1 s tick in this benchmark (a
 * heartbeat round a second instead of twenty: per request, nothing).
 */
const SLOW_TICKS = `data:text/javascript,${encodeURIComponent('const si = globalThis.setInterval; globalThis.setInterval = (fn, ms, ...a) => si(fn, ms === 50 ? 1000 : ms, ...a); const pn = performance.now.bind(performance); performance.now = () => pn() / 20;')}`;

/** One measured run: a fresh cluster with node 1 under callgrind in `role`. */
async function measure(build, role, test, round) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-cg3-'));
  const nodes = [];
  for (let i = 1; i <= 3; i++) {
    const host = `127.0.0.${i}`;
    const [port, clusterPort] = await freePorts(2, host);
    nodes.push({ id: i, host, port, clusterPort, dir: path.join(root, `node${i}`) });
  }
  const peers = nodes.map((x) => `${x.id}=${x.host}:${x.port}@${x.clusterPort}`).join(',');
  const outBase = path.join(root, 'cg.out');
  let stderr = '';
  const started = [];
  try {
    for (const x of nodes) {
      const args = [build.bin, '--id', String(x.id), '--bind', x.host, '--port', String(x.port), '--cluster-port', String(x.clusterPort), '--dir', x.dir, '--peers', peers, '--log-level', 'warn', ...SERVER_ARGS];
      const proc =
        x.id === 1
          ? spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outBase}`, process.execPath, ...(role === 'leader' || STOP_OTHER ? ['--import', SLOW_TICKS] : []), ...(KEEP ? ['--perf-basic-prof'] : []), ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
          : spawn(process.execPath, [...(role === 'leader' || STOP_OTHER ? ['--import', SLOW_TICKS] : []), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      proc.stderr.on('data', (d) => {
        stderr += `[${x.id}] ${d}`;
        if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
      });
      procs.add(proc);
      started.push(proc);
      x.proc = proc;
      // The leader's role: node 1 is up first, so its election timeout usually runs out first.
      if (x.id === 1 && role === 'leader') await waitSlowPort(x.host, x.port, x.proc, 'node 1');
    }
    for (const x of nodes) await waitSlowPort(x.host, x.port, x.proc, `node ${x.id}`);
    const info = (x) => raftInfo(x.host, x.port, 10_000);
    const leaderNow = async () => {
      const infos = await Promise.all(nodes.map(info));
      const l = infos.filter((f) => f?.role === 'leader').map((f) => Number(f.node_id));
      if (l.length !== 1) return undefined;
      return infos.filter((f) => f && Number(f.leader) === l[0]).length >= 2 ? l[0] : undefined;
    };
    let leader = await poll('a leader', leaderNow, 120_000);
    const want = role === 'leader' ? 1 : 2;
    for (let attempt = 0; (role === 'leader') !== (leader === 1); attempt++) {
      if (attempt === 10) throw new Error(`node ${want} did not become the leader after ${attempt} transfers`);
      const x = nodes[leader - 1];
      const c = await RespConn.connect(x.host, x.port, 10_000);
      try {
        const reply = await c.call(['RAFT.TRANSFER_LEADER', String(want)], 60_000);
        if (reply instanceof Error) log(`  transfer to ${want}: ${reply.message}`);
      } catch (e) {
        log(`  transfer to ${want}: ${e.message}`);
      } finally {
        c.close();
      }
      leader = await poll('a leader', leaderNow, 120_000);
    }
    const L = nodes[leader - 1];
    const cmd = DATA_MODEL_COMMANDS[test.t] ?? ['-t', test.t.toLowerCase()];
    const bench = (n) => redisBenchmark(L.port, ['-c', String(CLIENTS), '-r', '100000', '-d', '16', '-n', String(n), '-P', String(test.P), ...cmd], L.host);
    if (test.t === 'GET') await loadBenchmarkKeys(L.port, 100_000, 16, L.host);
    // Stopped before the warm-up too: node 1 must have answered rounds before the count starts.
    const other = role === 'follower' && STOP_OTHER ? nodes.find((x) => x.id !== 1 && x.id !== leader) : undefined;
    if (other) {
      other.proc.kill('SIGSTOP');
      // The leader's next heartbeat broadcast (a tick) is answered by node 1 alone: its rounds go there.
      await new Promise((r) => setTimeout(r, 2500));
    }
    await bench(WARMUP);
    const caughtUp = async () => {
      if (role !== 'follower') return;
      const commit = Number((await info(L)).commit_index);
      await poll('node 1 to apply the load', async () => Number((await info(nodes[0]))?.applied_index ?? 0) >= commit, 600_000);
    };
    await caughtUp();
    await run('callgrind_control', ['--instr=on', String(nodes[0].proc.pid)]);
    const r = await bench(N);
    await caughtUp();
    await run('callgrind_control', ['--dump', String(nodes[0].proc.pid)]);
    if (other) other.proc.kill('SIGCONT');
    if (leader !== (await leaderNow())) throw new Error('the leader changed under the load');
    const dump = fs.readdirSync(root).filter((f) => f.startsWith('cg.out')).map((f) => path.join(root, f));
    const file = dump.find((f) => /\.1$/.test(f)) ?? dump[0];
    if (!file) throw new Error(`no callgrind dump in ${root}`);
    const ir = await irOf(file);
    if (KEEP) {
      fs.mkdirSync(KEEP, { recursive: true });
      const base = `${build.name}-${role}-${test.t}-${test.P}-r${round}`;
      fs.copyFileSync(file, path.join(KEEP, `${base}.cg`));
      const map = `/tmp/perf-${nodes[0].proc.pid}.map`;
      if (fs.existsSync(map)) {
        fs.copyFileSync(map, path.join(KEEP, `${base}.map`));
        fs.rmSync(map);
      }
    }
    const rps = Object.values(r)[0]?.rps ?? 0;
    return { all: ir.total / N, noCompiler: (ir.total - ir.compiler) / N, steady: (ir.total - ir.compiler - ir.majorGc) / N, rps };
  } catch (e) {
    throw new Error(`${e.message}\n${stderr.slice(-3000)}`);
  } finally {
    for (const p of started) {
      p.kill('SIGKILL');
      await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', r)));
      procs.delete(p);
      const map = `/tmp/perf-${p.pid}.map`;
      if (fs.existsSync(map)) fs.rmSync(map);
    }
    fs.rmSync(root, { recursive: true, force: true });
  }
}

say('# Instructions per request of one process of a 3-node cluster under callgrind');
say(`date: ${new Date().toISOString()}`);
say(await machineFacts());
say(await buildFacts());
if (A) say(`A: ${A}`);
if (SERVER_ARGS.length > 0) say(`server args (every node, both builds): ${SERVER_ARGS.join(' ')}`);
say(`redis-benchmark -c ${CLIENTS} -r 100000 -d 16 -n ${N} to the leader after a warm-up of ${WARMUP}; node 1 under valgrind --tool=callgrind in the role named, the others normal${STOP_OTHER ? ' (role follower: the other follower stopped from the warm-up on)' : ''}; counting only during the measured load (a follower: until it has applied it); ${ROUNDS} round(s), builds alternating; medians.\n`);

const rows = [];
for (const test of TESTS) {
  for (const role of ROLES) {
    const res = new Map(builds.map((b) => [b.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      for (const b of order) {
        log(`${role} ${test.t} -P ${test.P} round ${round + 1}: ${b.name}`);
        const v = await measure(b, role, test, round + 1);
        log(`  ${Math.round(v.all)} instructions per request, ${Math.round(v.noCompiler)} without the compilers, ${Math.round(v.steady)} without them and major GC (${Math.round(v.rps)} rps under valgrind)`);
        res.get(b.name).push(v);
      }
    }
    rows.push({ test, role, res });
  }
}

say('| role | test | P | build | instructions / request (median) | rounds | without the compilers (median) | rounds | without the compilers and major GC (median) | rounds |');
say('|---|---|---|---|---|---|---|---|---|---|');
const fmt = (xs) => xs.map((x) => Math.round(x)).join(', ');
for (const { test, role, res } of rows) {
  for (const b of builds) {
    const all = res.get(b.name).map((v) => v.all);
    const nc = res.get(b.name).map((v) => v.noCompiler);
    const st = res.get(b.name).map((v) => v.steady);
    say(`| ${role} | ${test.t} | ${test.P} | ${b.name} | ${Math.round(median(all))} | ${fmt(all)} | ${Math.round(median(nc))} | ${fmt(nc)} | ${Math.round(median(st))} | ${fmt(st)} |`);
  }
  if (A) {
    const m = (name, k) => median(res.get(name).map((v) => v[k]));
    say(`| ${role} | ${test.t} | ${test.P} | B / A | ${(m('B', 'all') / m('A', 'all')).toFixed(3)} | | ${(m('B', 'noCompiler') / m('A', 'noCompiler')).toFixed(3)} | | ${(m('B', 'steady') / m('A', 'steady')).toFixed(3)} | |`);
  }
}
const text = lines.join('\n') + '\n';
console.log(`\nwritten to ${writeResult(OUT, text)}`);
