#!/usr/bin/env node
// Data-type commands (issue 7), side by side in one run: redis-benchmark
// -t lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,mset
// -c 50 against redis-server --appendonly yes --appendfsync always, a 3-node
// raftis cluster (sent to the leader) and a single raftis node. Every run
// must finish without an error reply (redisBenchmark throws on one). ROUNDS
// rounds, the server order rotating between rounds; medians of rps and the
// ratios raftis/redis.
//
// Usage: npm run build && node bench/types.mjs [rounds=3] [requests=20000]
import { buildFacts, machineFacts, median, redisBenchmark, startTargets, writeResult } from './lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 3);
const N = Number(process.argv[3] ?? 20_000);
const TESTS = 'lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,mset';

const targets = await startTargets(['redis', 'raft3', 'raft1']);
const { servers } = targets;
const results = { redis: {}, raft3: {}, raft1: {} };
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < servers.length; k++) {
    const s = servers[(k + round) % servers.length];
    const out = await redisBenchmark(s.port, ['-t', TESTS, '-c', '50', '-n', String(N)], s.host);
    for (const [test, r] of Object.entries(out)) (results[s.id][test] ??= []).push(r.rps);
    process.stderr.write(`round ${round + 1} ${s.id}: ${Object.entries(out).map(([t, r]) => `${t} ${r.rps.toFixed(0)}`).join(', ')}\n`);
  }
}
const tests = Object.keys(results.redis);
const lines = [
  `# Data-type commands: redis-benchmark -t ${TESTS} -c 50 -n ${N}, ${ROUNDS} rounds (median rps)`,
  '',
  (await machineFacts()) + ' · ' + (await buildFacts()),
  '',
  '| test | redis-server | raftis 1 node | ratio | raftis 3 nodes (leader) | ratio |',
  '|---|---|---|---|---|---|',
];
for (const t of tests) {
  const r = median(results.redis[t]);
  const one = median(results.raft1[t] ?? [0]);
  const three = median(results.raft3[t] ?? [0]);
  lines.push(`| ${t} | ${r.toFixed(0)} | ${one.toFixed(0)} | ${(one / r).toFixed(2)}× | ${three.toFixed(0)} | ${(three / r).toFixed(2)}× |`);
}
lines.push('', 'No run returned an error reply (redis-benchmark output checked).', '');
const text = lines.join('\n');
process.stdout.write(text);
process.stderr.write(`written to ${writeResult('types.md', text)}\n`);
await targets.stop();
process.exit(0);
