#!/usr/bin/env node
// A/B of two raftis builds as 3-node clusters, interleaved: per run a fresh
// cluster of one build (127.0.0.1-3), a warm-up of half the requests, then
// redis-benchmark -c 50 -r 100000 -d 16 -t TEST -P P -n N to the leader;
// the builds alternate (A B, B A, …) for ROUNDS rounds; prints every run and
// the medians with B/A. Only meaningful on a quiet machine.
// Usage: npm run build && node bench/ab-cluster.mjs <A dist/cli/main.js> <B dist/cli/main.js> set|get P N ROUNDS
import path from 'node:path';
import { median, redisBenchmark, startRaftisCluster } from './lib.mjs';

const [a, b, test, P, n, rounds] = process.argv.slice(2);
if (!a || !b || !test || !P || !n) {
  console.error('usage: node bench/ab-cluster.mjs <A dist/cli/main.js> <B dist/cli/main.js> set|get P N [ROUNDS=4]');
  process.exit(2);
}
const builds = { A: path.resolve(a), B: path.resolve(b) };
const res = { A: [], B: [] };
const args = ['-c', '50', '-r', '100000', '-d', '16', '-t', test, '-P', P];
for (let r = 0; r < Number(rounds ?? 4); r++) {
  for (const name of r % 2 ? ['B', 'A'] : ['A', 'B']) {
    const c = await startRaftisCluster(3, [], { bin: builds[name] });
    try {
      const at = c.node(c.leader);
      await redisBenchmark(at.port, [...args, '-n', String(Math.round(Number(n) / 2))], at.host);
      const out = await redisBenchmark(at.port, [...args, '-n', n], at.host);
      res[name].push(out[test.toUpperCase()].rps);
      console.log(name, test, `-P ${P}`, out[test.toUpperCase()].rps);
    } finally {
      await c.stop();
    }
  }
}
const ma = median(res.A);
const mb = median(res.B);
console.log(`${test} -P ${P}: A median ${ma.toFixed(0)}, B median ${mb.toFixed(0)}, B/A ${(mb / ma).toFixed(3)}`);
process.exit(0);
