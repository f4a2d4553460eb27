#!/usr/bin/env node
// The rest of the data model (issue 18), side by side in one run:
// redis-benchmark -c 50 with XADD, PFADD, GEOADD and an XRANGE read against
// redis-server --appendonly yes --appendfsync always, a raftis single node
// and the leader of a 3-node raftis cluster, ROUNDS rounds with the server
// order rotating; medians and ratios. Then `raftis import` of an RDB file of
// IMPORT_KEYS keys (written by redis-server itself: DEBUG POPULATE, SAVE) into
// the 3-node cluster: keys per second.
// The writes also run against bench/ceiling-server.mjs's 3-process fs-sync
// form (a leader and two followers that only append the request bytes to a
// plain file, fdatasync it on the main thread and answer once two of three
// have: no parsing, keyspace or Raft): what a 3-node design that syncs every
// request on a quorum allows on this machine, beside issue 18's 0.5× targets
// (a PFADD or GEOADD that changes nothing is answered as a read by raftis,
// as redis-server does not sync it, so for those the ceiling is not a bound).
//
// Usage: npm run build && node bench/data-model.mjs [rounds=3] [requests=20000] [importKeys=1000000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, buildFacts, machineFacts, median, redisBenchmark, RespConn, startCeiling, startRedis, startTargets, writeResult } from './lib.mjs';

const run = promisify(execFile);
const ROUNDS = Number(process.argv[2] ?? 3);
const N = Number(process.argv[3] ?? 20_000);
const IMPORT_KEYS = Number(process.argv[4] ?? 1_000_000);

const TESTS = [
  { id: 'XADD', cmd: ['XADD', 'bench:stream', '*', 'field', 'value:__rand_int__'] },
  { id: 'PFADD', cmd: ['PFADD', 'bench:hll', 'element:__rand_int__'] },
  { id: 'GEOADD', cmd: ['GEOADD', 'bench:geo', '13.361389', '38.115556', 'member:__rand_int__'] },
  { id: 'XRANGE (10 of 1000)', cmd: ['XRANGE', 'bench:ranged', '-', '+', 'COUNT', '10'], read: true },
];

const targets = await startTargets(['redis', 'raft3', 'raft1']);
const { cluster } = targets;
// The 3-process ceiling: followers first, then the leader that connects to them.
const ceilingFollowers = [await startCeiling('follower', [], 'fs-sync'), await startCeiling('follower', [], 'fs-sync')];
const ceilingLeader = await startCeiling('leader', ceilingFollowers.map((f) => f.port), 'fs-sync');
const servers = [...targets.servers, { id: 'ceil3', host: '127.0.0.1', port: ceilingLeader.port }];
for (const s of servers) {
  if (s.id === 'ceil3') continue;
  const c = await RespConn.connect(s.host, s.port);
  for (let i = 0; i < 1000; i += 100) {
    const batch = [];
    for (let j = 0; j < 100; j++) batch.push(c.call(['XADD', 'bench:ranged', '*', 'field', `value${i + j}`], 10_000));
    await Promise.all(batch);
  }
  c.close();
}
const results = { redis: {}, raft3: {}, raft1: {}, ceil3: {} };
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < servers.length; k++) {
    const s = servers[(k + round) % servers.length];
    for (const t of TESTS) {
      if (s.id === 'ceil3' && t.read) continue;
      const out = await redisBenchmark(s.port, ['-c', '50', '-r', '100000', '-n', String(N), ...t.cmd], s.host);
      const r = Object.values(out)[0];
      if (r === undefined) throw new Error(`no result for ${t.id} on ${s.id}`);
      (results[s.id][t.id] ??= []).push(r.rps);
    }
    process.stderr.write(`round ${round + 1} ${s.id}: ${TESTS.filter((t) => results[s.id][t.id]).map((t) => `${t.id} ${results[s.id][t.id].at(-1).toFixed(0)}`).join(', ')}\n`);
  }
}

// Import: an RDB of IMPORT_KEYS keys written by redis-server, into the 3-node cluster.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-bench-rdb-'));
const source = await startRedis(['--dir', dir, '--dbfilename', 'dump.rdb', '--enable-debug-command', 'yes']);
const sc = await RespConn.connect('127.0.0.1', source.port);
await sc.call(['DEBUG', 'POPULATE', String(IMPORT_KEYS), 'key', '16'], 120_000);
await sc.call(['SAVE'], 120_000);
sc.close();
await source.stop();
const rdb = path.join(dir, 'dump.rdb');
const leader = cluster.node(cluster.leader);
const t0 = performance.now();
await run('node', [path.join(ROOT, 'dist/cli/main.js'), 'import', rdb, '--host', leader.host, '--port', String(leader.port), '--quiet'], { maxBuffer: 16 << 20, timeout: 900_000 });
const seconds = (performance.now() - t0) / 1000;
const check = await RespConn.connect(leader.host, leader.port);
const dbsize = await check.call(['DBSIZE']);
check.close();

const lines = [
  `# Streams, HyperLogLog, geo and import: redis-benchmark -c 50 -r 100000 -n ${N}, ${ROUNDS} rounds (median rps)`,
  '',
  (await machineFacts()) + ' · ' + (await buildFacts()),
  '',
  '| test | redis-server | raftis 1 node | ratio | raftis 3 nodes (leader) | ratio | 3-process ceiling | ratio | raftis 3 nodes / ceiling |',
  '|---|---|---|---|---|---|---|---|---|',
];
for (const t of TESTS) {
  const r = median(results.redis[t.id]);
  const one = median(results.raft1[t.id]);
  const three = median(results.raft3[t.id]);
  const ceil = t.read ? undefined : median(results.ceil3[t.id]);
  const ceilCells = ceil === undefined ? '– | – | –' : `${ceil.toFixed(0)} | ${(ceil / r).toFixed(2)}× | ${(three / ceil).toFixed(2)}×`;
  lines.push(`| ${t.id} | ${r.toFixed(0)} | ${one.toFixed(0)} | ${(one / r).toFixed(2)}× | ${three.toFixed(0)} | ${(three / r).toFixed(2)}× | ${ceilCells} |`);
}
lines.push(
  '',
  `\`raftis import\` of an RDB file of ${IMPORT_KEYS} keys (redis-server DEBUG POPULATE, SAVE; ${(fs.statSync(rdb).size / 1e6).toFixed(1)} MB) into the 3-node cluster's leader: ${seconds.toFixed(1)} s, ${(IMPORT_KEYS / seconds).toFixed(0)} keys/s; DBSIZE afterwards ${String(dbsize).trim()}.`,
  '',
);
fs.rmSync(dir, { recursive: true, force: true });
const text = lines.join('\n');
process.stdout.write(text);
process.stderr.write(`written to ${writeResult('data-model.md', text)}\n`);
await ceilingLeader.stop();
for (const f of ceilingFollowers) await f.stop();
await targets.stop();
process.exit(0);
