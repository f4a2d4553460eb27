#!/usr/bin/env node
// Sorted-set micro-benchmark: a single-node raftis vs redis-server
// --appendonly yes --appendfsync always (the same durability), in one run.
//
// 1. Load: N members into one sorted set with pipelined ZADDs of BATCH
//    members each (deterministic pseudo-random scores), timed.
// 2. Latency, one connection, one request at a time (SAMPLES each):
//    ZADD of one new member, ZRANGE by rank (10 members at a random rank),
//    ZRANGEBYSCORE with LIMIT 0 10 at a random score, ZRANK of a random
//    member, ZSCORE. Reported: p50 / p99 in µs per server and the ratio
//    raftis/redis of the p50s.
//
// Usage: npm run build && node bench/zset-1m.mjs [N=1000000] [samples=2000] [batch=1000]
import { RespConn, ratio, startTargets } from './lib.mjs';

const N = Math.max(1000, Number(process.argv[2] ?? 1_000_000));
const SAMPLES = Math.max(10, Number(process.argv[3] ?? 2000));
const BATCH = Math.max(1, Number(process.argv[4] ?? 1000));
const WINDOW = 8;

/** Deterministic scores: the same set on both servers. */
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

async function load(conn) {
  const rand = lcg(42);
  const t0 = performance.now();
  const inFlight = [];
  for (let i = 0; i < N; i += BATCH) {
    const args = ['ZADD', 'z'];
    for (let j = i; j < Math.min(N, i + BATCH); j++) args.push(String(Math.floor(rand() * N * 10) / 10), 'member:' + j);
    inFlight.push(conn.call(args, 120_000));
    if (inFlight.length >= WINDOW) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const card = await conn.call(['ZCARD', 'z'], 30_000);
  return { ms: performance.now() - t0, card };
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function latency(conn, make) {
  const rand = lcg(7);
  const us = [];
  for (let i = 0; i < SAMPLES; i++) {
    const args = make(rand, i);
    const t0 = performance.now();
    await conn.call(args, 30_000);
    us.push((performance.now() - t0) * 1000);
  }
  return { p50: pct(us, 50), p99: pct(us, 99) };
}

const TESTS = {
  'ZADD 1 new member': (r, i) => ['ZADD', 'z', String(r() * N), 'new:' + i],
  'ZRANGE by rank (10)': (r) => {
    const start = Math.floor(r() * (N - 10));
    return ['ZRANGE', 'z', String(start), String(start + 9), 'WITHSCORES'];
  },
  'ZRANGEBYSCORE LIMIT 0 10': (r) => ['ZRANGEBYSCORE', 'z', String(r() * N), '+inf', 'LIMIT', '0', '10'],
  ZRANK: (r) => ['ZRANK', 'z', 'member:' + Math.floor(r() * N)],
  ZSCORE: (r) => ['ZSCORE', 'z', 'member:' + Math.floor(r() * N)],
};

const targets = await startTargets(['redis', 'raft1']);
const servers = { redis: targets.redis, raftis: targets.single };
const results = {};
try {
  for (const [name, srv] of Object.entries(servers)) {
    const conn = await RespConn.connect('127.0.0.1', srv.port, 5000);
    const l = await load(conn);
    results[name] = { load: l };
    console.log(`${name}: loaded ${l.card} members in ${(l.ms / 1000).toFixed(1)} s (${Math.round((N / l.ms) * 1000)} members/s)`);
    for (const [t, make] of Object.entries(TESTS)) results[name][t] = await latency(conn, make);
    conn.close();
  }
} finally {
  await targets.stop();
}

console.log(`\nsorted set of ${N} members, ${SAMPLES} sequential requests per test (µs)`);
console.log(['test'.padEnd(26), 'redis p50', 'redis p99', 'raftis p50', 'raftis p99', 'p50 raftis/redis'].join('  '));
for (const t of Object.keys(TESTS)) {
  const a = results.redis[t];
  const b = results.raftis[t];
  console.log([t.padEnd(26), a.p50.toFixed(0).padStart(9), a.p99.toFixed(0).padStart(9), b.p50.toFixed(0).padStart(10), b.p99.toFixed(0).padStart(10), ratio(b.p50, a.p50).padStart(16)].join('  '));
}
console.log(`load time raftis/redis: ${ratio(results.raftis.load.ms, results.redis.load.ms)}`);
