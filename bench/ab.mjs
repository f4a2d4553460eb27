#!/usr/bin/env node
// A/B of two raftis builds, single node, side by side with redis-server
// (appendfsync always) in one run: redis-benchmark -c 50 -r 100000 -d 16,
// SET and GET at -P 1 and -P 16. Each round runs redis, A and B in a rotating
// order; the report gives medians, each build's ratio to redis-server and B/A.
// Usage: npm run build && node bench/ab.mjs <A: path to dist/cli/main.js> [B: default this checkout's] [requests at -P 1 (×5 at -P 16)] [rounds]
import path from 'node:path';
import { benchOutput, median, redisBenchmark, startRaftis, startRedis, writeResult, RAFTIS_BIN } from './lib.mjs';

const A = process.argv[2] ? path.resolve(process.argv[2]) : undefined;
if (A === undefined) {
  console.error('usage: node bench/ab.mjs <A: path to another build\'s dist/cli/main.js> [B] [requests] [rounds]');
  process.exit(2);
}
const B = process.argv[3] ? path.resolve(process.argv[3]) : RAFTIS_BIN;
const N = Number(process.argv[4] ?? 150000);
const ROUNDS = Number(process.argv[5] ?? 5);
const nFor = (P) => (P === 16 ? N * 5 : N);
const { say, lines } = benchOutput('ab');

say(`# A/B: two raftis builds, single node, beside redis-server (appendfsync always)`);
say(`A: ${A}\nB: ${B}`);
say(`redis-benchmark -c 50 -r 100000 -d 16 -n ${nFor(1)} (-P 1) / ${nFor(16)} (-P 16); ${ROUNDS} rounds, the three servers in a rotating order; medians\n`);
say('| test | P | redis rps | A rps | B rps | A / redis | B / redis | B / A |');
say('|---|---|---|---|---|---|---|---|');

const redis = await startRedis();
const a = await startRaftis([], A);
const b = await startRaftis([], B);
const servers = [
  ['redis', redis.port],
  ['A', a.port],
  ['B', b.port],
];
try {
  for (const P of [1, 16]) {
    for (const t of ['set', 'get']) {
      const args = ['-c', '50', '-r', '100000', '-d', '16', '-n', String(nFor(P)), '-P', String(P), '-t', t];
      const key = t.toUpperCase();
      const rps = { redis: [], A: [], B: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < servers.length; i++) {
          const [name, port] = servers[(round + i) % servers.length];
          rps[name].push((await redisBenchmark(port, args))[key].rps);
        }
      }
      const r = median(rps.redis), x = median(rps.A), y = median(rps.B);
      say(`| ${key} | ${P} | ${r.toFixed(0)} | ${x.toFixed(0)} | ${y.toFixed(0)} | ${(x / r).toFixed(2)}× | ${(y / r).toFixed(2)}× | ${(y / x).toFixed(3)} |`);
    }
  }
} finally {
  await redis.stop();
  await a.stop();
  await b.stop();
}
console.log(`\nwritten to ${writeResult('ab.md', lines.join('\n') + '\n')}`);
