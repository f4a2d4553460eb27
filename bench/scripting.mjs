#!/usr/bin/env node
// Lua scripting side by side, in one run: redis-server with --appendonly yes
// --appendfsync always (every write fsynced before its reply, the durability
// raftis gives), a raftis single node and the leader of a 3-node raftis
// cluster. redis-benchmark -c 50 -r 100000 at -P 1 and -P 16:
//   EVAL    a small write: return redis.call('SET', KEYS[1], ARGV[1])
//   EVALSHA a small read (SCRIPT LOAD first): return redis.call('GET', KEYS[1])
//   EVALSHA a 200-line queue step (bench/scripting-finish.lua: reads, writes,
//           table manipulation, cjson), on one queue's keys ({q} hash tag)
// Several rounds, the servers in a rotating order; medians and ratios.
// Usage: npm run build && node bench/scripting.mjs [requests at -P 1 (×4 at -P 16)] [rounds]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, benchOutput, buildFacts, loadBenchmarkKeys, machineFacts, median, RespConn, startTargets, writeResult } from './lib.mjs';

const run = promisify(execFile);
const N = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 3);
/** Requests per run: ×4 at -P 16; a tenth for the long script (a run of it would otherwise last minutes). */
const nFor = (P, scale = 1) => Math.round((P === 16 ? N * 4 : N) * scale);
const { say, log, lines } = benchOutput('scripting');

const SET_LUA = "return redis.call('SET', KEYS[1], ARGV[1])";
const GET_LUA = "return redis.call('GET', KEYS[1])";
const FINISH_LUA = fs.readFileSync(path.join(ROOT, 'bench/scripting-finish.lua'), 'latin1');
const FINISH_KEYS = ['{q}:active', '{q}:completed', '{q}:job:__rand_int__', '{q}:meta', '{q}:events', '{q}:metrics', '{q}:stalled'];

/** The tests: redis-benchmark's trailing command, given a server's loaded shas. */
const TESTS = [
  { id: 'eval-set', label: 'EVAL small write (SET)', target: 0.5, cmd: () => ['EVAL', SET_LUA, '1', 'key:__rand_int__', 'val'] },
  { id: 'evalsha-get', label: 'EVALSHA small read (GET)', target: 0.5, cmd: (s) => ['EVALSHA', s.get, '1', 'key:__rand_int__'] },
  { id: 'evalsha-finish', label: `EVALSHA ${FINISH_LUA.split('\n').length}-line queue step`, target: 0.3, scale: 0.1, cmd: (s) => ['EVALSHA', s.finish, String(FINISH_KEYS.length), ...FINISH_KEYS, '__rand_int__', 'done', '100'] },
];

/** redis-benchmark with a custom command; its CSV line's numbers (the command itself may hold commas). */
async function bench(server, P, cmd, scale) {
  const args = ['-h', server.host, '-p', String(server.port), '--csv', '-c', '50', '-r', '100000', '-n', String(nFor(P, scale)), '-P', String(P), ...cmd];
  const { stdout, stderr } = await run('redis-benchmark', args, { maxBuffer: 64 << 20, timeout: 600_000 });
  if (/error/i.test(stderr)) throw new Error(`redis-benchmark reported an error on ${server.label}: ${stderr.slice(0, 500)}`);
  const last = stdout.trim().split('\n').pop();
  const nums = [...last.matchAll(/"([\d.]+)"/g)].map((m) => Number(m[1]));
  if (nums.length < 7) throw new Error(`unexpected redis-benchmark output: ${last}`);
  const [rps, avg, , p50, , p99] = nums.slice(-7);
  return { rps, avg, p50, p99 };
}

/**
 * One run; for the cluster, repeated (at most 3 times) on the new leader if
 * leadership moved under it (redis-benchmark stops at the first MOVED): a
 * long script applied in one turn delays the leader's heartbeats, and on a
 * loaded machine a follower may then start an election.
 */
let leaderChanges = 0;
let brokenRuns = 0;
async function benchRetrying(s, P, t) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await bench(s, P, t.cmd(s.shas), t.scale ?? 1);
    } catch (e) {
      if (s.id !== 'raft3' || !/MOVED|CLUSTERDOWN|TRYAGAIN/.test(String(e.message))) throw e;
      leaderChanges++;
      if (attempt >= 4) {
        log(`the cluster's leader kept moving: no figure for this run`);
        brokenRuns++;
        return { rps: NaN, avg: NaN, p50: NaN, p99: NaN };
      }
      log(`the cluster's leader moved to node ${await targets.followLeader()}; run repeated`);
    }
  }
}

async function loadScripts(server) {
  const c = await RespConn.connect(server.host, server.port, 5000);
  try {
    return { get: await c.call(['SCRIPT', 'LOAD', GET_LUA], 10_000), finish: await c.call(['SCRIPT', 'LOAD', FINISH_LUA], 10_000) };
  } finally {
    c.close();
  }
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

say('# Lua scripting: raftis beside redis-server (appendfsync always)');
say(`date: ${new Date().toISOString()}`);
say(await machineFacts());
say(await buildFacts());
say(`redis-benchmark -c 50 -r 100000 -n ${nFor(1)} (-P 1) / ${nFor(16)} (-P 16), a tenth of that for the long script; ${ROUNDS} rounds, servers in a rotating order; medians (every round in brackets)\n`);

const targets = await startTargets(['redis', 'raft1', 'raft3'], { labels: { raft1: 'raftis 1 node', raft3: 'raftis 3-node leader' } });
const { servers } = targets;
const results = {};
const loads = [];
try {
  for (const s of servers) {
    s.shas = await loadScripts(s);
    await loadBenchmarkKeys(s.port, 100_000, 16, s.host);
  }
  for (const t of TESTS) {
    for (const P of [1, 16]) {
      loads.push(`${t.id} -P ${P}: ${load()}`);
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < servers.length; i++) {
          const s = servers[(round + i) % servers.length];
          const r = await benchRetrying(s, P, t);
          (results[`${t.id} ${P} ${s.id}`] ??= []).push(r);
          log(`${t.id} P${P} round ${round + 1} ${s.label.padEnd(22)} ${r.rps.toFixed(0).padStart(7)} rps  load ${load()}`);
        }
      }
    }
  }
  if (leaderChanges > 0) say(`The 3-node cluster's leader moved ${leaderChanges} time(s) during the run (each run it broke was repeated on the new leader, at most 4 times: ${brokenRuns} run(s) got no figure).\n`);
} finally {
  await targets.stop();
}

say('| test | P | redis rps | raftis 1 node rps | / redis | raftis 3-node rps | / redis | target (1 node) | redis p50/p99 ms | raftis 1 node p50/p99 ms |');
say('|---|---|---|---|---|---|---|---|---|---|');
for (const t of TESTS) {
  for (const P of [1, 16]) {
    const runs = (id) => results[`${t.id} ${P} ${id}`];
    const med = (id) => median(runs(id).map((r) => r.rps).filter(Number.isFinite));
    const all = (id) => runs(id).map((r) => r.rps.toFixed(0)).join(', ');
    const pick = (id) => {
      const done = runs(id).filter((r) => Number.isFinite(r.rps));
      return done.length === 0 ? { p50: NaN, p99: NaN } : done.reduce((a, b) => (Math.abs(b.rps - med(id)) < Math.abs(a.rps - med(id)) ? b : a));
    };
    const r = med('redis'), x = med('raft1'), y = med('raft3');
    const met = x / r >= t.target ? 'met' : 'not met';
    say(
      `| ${t.label} | ${P} | ${r.toFixed(0)} (${all('redis')}) | ${x.toFixed(0)} (${all('raft1')}) | ${(x / r).toFixed(2)}× | ${y.toFixed(0)} (${all('raft3')}) | ${(y / r).toFixed(2)}× | ≥ ${t.target}× ${met} | ${pick('redis').p50}/${pick('redis').p99} | ${pick('raft1').p50}/${pick('raft1').p99} |`,
    );
  }
}
say(`\nload average (1, 5, 15 min) when each test began: ${loads.join('; ')}; at the end: ${load()}`);
const noisy = [...loads.map((l) => Number(l.split(': ')[1].split(' ')[0])), os.loadavg()[0]].some((x) => x > 2);
if (noisy) say('The machine was loaded (load average above 2) during part of the run: these figures are noisy; compare ratios, not absolute rates.');
console.log(`\nwritten to ${writeResult('scripting.md', lines.join('\n') + '\n')}`);
