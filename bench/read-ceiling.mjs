#!/usr/bin/env node
// Can a 3-node Raft leader on this machine reach issue 19's linearizable GET
// target (0.8× redis-server at -P 1 and -P 16) by ReadIndex, and what does a
// leader lease give? Side by side, in one run, redis-benchmark -c 50 -r 100000
// -d 16 -t get at -P 1 and -P 16 against:
//   - redis-server (appendfsync always; a GET does not touch the disk);
//   - the ReadIndex ceiling: bench/ceiling-server.mjs in CEILING_MODE=read, three
//     processes, the least a leader must do to serve a linearizable read without
//     a lease — one round trip to one follower per event-loop turn (rounds
//     overlapping), then a fixed 16-byte value per request; no parsing, keyspace
//     or Raft;
//   - raftis 3-node with its default reads (--read-mode readindex);
//   - raftis 3-node with --read-mode lease (answered from the leader's lease, no
//     round trip; safe under bounded clock drift, see README).
// Every round runs each test on all four back to back, in an order that rotates
// between rounds; medians. A raftis run is repeated if its leader changed.
//
// Usage: npm run build && node bench/read-ceiling.mjs [rounds=3] [P1-requests=150000] [P16-requests=1000000] [--out FILE]
import os from 'node:os';
import { benchOutput, outOption, benchServers, buildFacts, loadBenchmarkKeys, machineFacts, median, runSetRounds, setRatioTable, startCeiling, startRaftisCluster, startRedis, writeResult } from './lib.mjs';

const { out: OUT, argv } = outOption(process.argv.slice(2), 'read-ceiling.md');
const ROUNDS = Math.max(1, Math.min(15, Number(argv[0] ?? 3)));
const N = { 1: Number(argv[1] ?? 150_000), 16: Number(argv[2] ?? 1_000_000) };
const BASE = ['-c', '50', '-r', '100000', '-d', '16', '-t', 'get'];

const { lines, say, log } = benchOutput('read-ceiling');
const facts = `${await machineFacts()}\n${await buildFacts()}`;
log('starting redis-server, the ReadIndex ceiling (3 processes) and two 3-node raftis clusters (readindex, lease)');
const run = benchServers();
const servers = run.servers;
try {
  run.add('redis', 'redis-server', await startRedis());
  const f1 = await startCeiling('follower', [], 'read');
  const f2 = await startCeiling('follower', [], 'read');
  run.keep(f1, f2);
  run.add('ceil3-read', 'ReadIndex ceiling, 3 processes', await startCeiling('leader', [f1.port, f2.port], 'read'));
  run.add('raft3', 'raftis 3-node (readindex)', await startRaftisCluster(3));
  run.add('raft3-lease', 'raftis 3-node (--read-mode lease)', await startRaftisCluster(3, ['--read-mode', 'lease']));
  log('loading the 100000 keys redis-benchmark -r reads');
  for (const s of servers) if (s.id !== 'ceil3-read') await loadBenchmarkKeys(s.port, 100_000, 16, s.host);

  const results = await runSetRounds(servers, { rounds: ROUNDS, requests: N, base: BASE, log, test: 'GET' });
  const med = (id, P) => median(results[`${id} ${P}`]);
  say(`# Linearizable GET on 3 nodes: raftis's two read modes and the ReadIndex ceiling, vs redis-server`);
  say();
  say(`date: ${new Date().toISOString()}`);
  say(facts);
  say();
  say(`redis-benchmark ${BASE.join(' ')} -n ${N[1]} (-P 1) / ${N[16]} (-P 16), to the leader; ${ROUNDS} rounds, server order rotated; medians (every round's figure in brackets).`);
  say(`The ReadIndex ceiling (bench/ceiling-server.mjs, CEILING_MODE=read): three processes; per event-loop turn the leader sends one empty frame to one follower, which answers at once, and then answers the turn's requests with a fixed 16-byte value. No parsing, keyspace, Raft or disk: what any ReadIndex design must at least do per turn on this machine.`);
  say();
  for (const line of setRatioTable(servers, results, 'redis', 'GET')) say(line);
  say();
  for (const P of [1, 16]) {
    say(`-P ${P}: raftis readindex / ceiling ${(med('raft3', P) / med('ceil3-read', P)).toFixed(2)}×; ceiling / redis-server ${(med('ceil3-read', P) / med('redis', P)).toFixed(2)}× (issue 19's 3-node GET target: 0.8×); raftis lease / redis-server ${(med('raft3-lease', P) / med('redis', P)).toFixed(2)}×.`);
  }
  say(`Host: ${os.cpus().length} cores; all servers and redis-benchmark share them.`);
  const text = lines.join('\n') + '\n';
  console.log(`\nwritten to ${writeResult(OUT, text)}`);
} finally {
  await run.stop();
}
