#!/usr/bin/env node
// A cache workload beside redis-server: the same maxmemory, allkeys-lru, a
// key space several times larger than fits (redis-benchmark -r), SET then
// GET phases in rounds. Reports throughput (and the ratio to redis-server),
// the GET phase's hit rate (keyspace_hits / (hits + misses)), evicted_keys
// and the keys held. redis-server runs with appendfsync always (the
// durability raftis gives); raftis is one node.
// Usage: npm run build && node bench/eviction.mjs [maxmemory bytes] [key range] [requests per phase] [rounds]
import { benchOutput, machineFacts, median, redisBenchmark, RespConn, startTargets, writeResult } from './lib.mjs';
import os from 'node:os';

const MAXMEMORY = Number(process.argv[2] ?? 16 * 1024 * 1024);
const RANGE = Number(process.argv[3] ?? 1_000_000);
const N = Number(process.argv[4] ?? 200_000);
const ROUNDS = Number(process.argv[5] ?? 3);
const { say, lines } = benchOutput('eviction');

const field = (info, name) => Number(new RegExp(`\\r\\n${name}:([^\\r]*)`).exec(info)?.[1] ?? NaN);

say('# Eviction: a cache workload beside redis-server (allkeys-lru, the same maxmemory)');
say(await machineFacts());
say(`maxmemory ${MAXMEMORY} bytes, allkeys-lru; redis-benchmark -c 50 -P 16 -d 100 -r ${RANGE} -n ${N} per phase; ${ROUNDS} rounds of SET then GET`);
say('redis-server: used_memory (its allocator, ~0.9 MB of it at start) counts; raftis: used_memory_dataset (the dataset\'s estimated size)\n');

const targets = await startTargets(['redis', 'raft1'], { redisArgs: ['--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory', String(MAXMEMORY), '--maxmemory-policy', 'allkeys-lru'] });
const { redis, single: raftis } = targets;
const servers = [
  ['redis', redis.port, 'used_memory'],
  ['raftis', raftis.port, 'used_memory_dataset'],
];
const results = { redis: { set: [], get: [], hit: [], evicted: [] }, raftis: { set: [], get: [], hit: [], evicted: [] } };
const finals = {};
try {
  const rc = await RespConn.connect('127.0.0.1', raftis.port);
  await rc.call(['CONFIG', 'SET', 'maxmemory', String(MAXMEMORY), 'maxmemory-policy', 'allkeys-lru']);
  rc.close();
  const args = (t) => ['-c', '50', '-P', '16', '-d', '100', '-r', String(RANGE), '-n', String(N), '-t', t];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < servers.length; i++) {
      const [name, port] = servers[(round + i) % servers.length];
      const conn = await RespConn.connect('127.0.0.1', port);
      await conn.call(['CONFIG', 'RESETSTAT']);
      results[name].set.push((await redisBenchmark(port, args('set'))).SET.rps);
      results[name].evicted.push(field(await conn.call(['INFO', 'stats']), 'evicted_keys'));
      await conn.call(['CONFIG', 'RESETSTAT']);
      results[name].get.push((await redisBenchmark(port, args('get'))).GET.rps);
      const stats = await conn.call(['INFO', 'stats']);
      const hits = field(stats, 'keyspace_hits'), misses = field(stats, 'keyspace_misses');
      results[name].hit.push(hits / (hits + misses));
      conn.close();
    }
  }
  for (const [name, port, measure] of servers) {
    const conn = await RespConn.connect('127.0.0.1', port);
    const info = await conn.call(['INFO']);
    finals[name] = { used: field(info, measure), keys: await conn.call(['DBSIZE']) };
    conn.close();
  }
} finally {
  await targets.stop();
}

say('| server | SET rps | GET rps | GET hit rate | keys held at the end | evicted_keys per SET phase | memory counted at the end |');
say('|---|---|---|---|---|---|---|');
for (const [name] of servers) {
  const r = results[name];
  const f = finals[name];
  say(`| ${name} | ${median(r.set).toFixed(0)} | ${median(r.get).toFixed(0)} | ${(median(r.hit) * 100).toFixed(1)}% | ${f.keys} | ${median(r.evicted).toFixed(0)} | ${f.used} (maxmemory ${MAXMEMORY}) |`);
}
say(`\nraftis / redis: SET ${(median(results.raftis.set) / median(results.redis.set)).toFixed(2)}×, GET ${(median(results.raftis.get) / median(results.redis.get)).toFixed(2)}×`);
say(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`\nwritten to ${writeResult('eviction.md', lines.join('\n') + '\n')}`);
