#!/usr/bin/env node
// The long-script test of bench/scripting.mjs alone, small, on one raftis
// node (or redis-server): where its p99 at -P 16 comes from. Runs the
// 220-line queue step `runs` times with redis-benchmark -c 50 -P 16 and
// prints each run's latency distribution (redis-benchmark's own summary).
// Usage: npm run build && node bench/scripting-tail.mjs [requests] [runs] [redis|raft1]
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, RespConn, startTargets } from './lib.mjs';

const run = promisify(execFile);
const N = Number(process.argv[2] ?? 1200);
const RUNS = Number(process.argv[3] ?? 3);
const TARGET = process.argv[4] ?? 'raft1';
const FINISH_LUA = fs.readFileSync(path.join(ROOT, 'bench/scripting-finish.lua'), 'latin1');
const FINISH_KEYS = ['{q}:active', '{q}:completed', '{q}:job:__rand_int__', '{q}:meta', '{q}:events', '{q}:metrics', '{q}:stalled'];

const { servers, stop } = await startTargets([TARGET]);
try {
  const s = servers[0];
  const c = await RespConn.connect(s.host, s.port, 5000);
  const sha = await c.call(['SCRIPT', 'LOAD', FINISH_LUA], 30_000);
  c.close();
  for (let i = 0; i < RUNS; i++) {
    const args = ['-h', s.host, '-p', String(s.port), '-c', '50', '-r', '100000', '-n', String(N), '-P', '16', 'EVALSHA', sha, String(FINISH_KEYS.length), ...FINISH_KEYS, '__rand_int__', 'done', '100'];
    const t0 = Date.now();
    const { stdout } = await run('redis-benchmark', args, { maxBuffer: 64 << 20, timeout: 600_000 });
    const summary = stdout.split('\n').filter((l) => /throughput|latency|avg|min|p50|p95|p99|max|^\s+[\d.]+\s/.test(l));
    console.log(`run ${i + 1}: ${Date.now() - t0} ms wall\n${summary.join('\n')}`);
  }
} finally {
  await stop();
}
