#!/usr/bin/env node
// Can any Node.js server on classic-level reach the SET targets on this
// machine? Side by side, in one run: redis-server --appendonly yes
// --appendfsync always; bench/ceiling-server.mjs, the least a durable SET
// server on Node and classic-level must do (group-committed sync batches,
// one in flight, +OK when the bytes are on disk; no parsing, keyspace or
// Raft), as a single node and as a leader with two followers (answered when
// two of three have the bytes on disk); and raftis, single node and 3-node
// cluster. redis-benchmark -c 50 -r 100000 -d 16 -t set at -P 1 and -P 16.
// What the ceiling server cannot reach, raftis cannot either.
//
// Every round runs each test on all five back to back, in an order that
// rotates between rounds; medians over the rounds are reported. A raftis
// cluster run is repeated if its leader's term changed under it.
//
// The ceiling also runs in the design raftis's log has now (docs/log-format.md):
// fs-sync, a plain file appended and fdatasynced on the main thread, as one
// process and as a leader with two followers (each syncing its own file; a
// request answered once the leader and one follower synced it). Whether
// raftis's 3-node SET target (0.5× at -P 1) is reachable by any Node.js
// server with its own log on this machine is that row's ratio.
//
// With --variants, the single-process ceiling also runs in its other ways to
// commit (bench/ceiling-server.mjs: reply-first, many, worker).
//
// Usage: npm run build && node bench/node-ceiling.mjs [rounds=5] [P1-requests=100000] [P16-requests=500000] [--variants] [--out FILE]
//   --out FILE: a name under bench/results or an absolute path (default node-ceiling.md, node-ceiling-variants.md
//   with --variants); e.g. a short check: node bench/node-ceiling.mjs 1 2000 10000 --out /tmp/ceiling-check.md
import os from 'node:os';
import { benchOutput, outOption, benchServers, buildFacts, machineFacts, median, runSetRounds, setRatioTable, startCeiling, startRaftis, startRaftisCluster, startRedis, writeResult } from './lib.mjs';

const VARIANTS = process.argv.includes('--variants');
const { out: OUT, argv } = outOption(process.argv.slice(2).filter((a) => a !== '--variants'), VARIANTS ? 'node-ceiling-variants.md' : 'node-ceiling.md');
const ROUNDS = Math.max(1, Math.min(15, Number(argv[0] ?? 5)));
const N = { 1: Number(argv[1] ?? 100_000), 16: Number(argv[2] ?? 500_000) };
const BASE = ['-c', '50', '-r', '100000', '-d', '16', '-t', 'set'];

const { lines, say, log } = benchOutput('node-ceiling');

const facts = `${await machineFacts()}\n${await buildFacts()}`;
log('starting redis-server, the ceiling servers (1 and 3 processes), raftis single node and 3-node cluster');
const run = benchServers();
const servers = run.servers;
try {
  run.add('redis', 'redis-server (appendfsync always)', await startRedis());
  run.add('ceil1', 'Node ceiling, 1 process', await startCeiling('single'));
  run.add('ceil1-fs-sync', 'Node ceiling, 1 process, fs-sync', await startCeiling('single', [], 'fs-sync'));
  run.add('ceil1-fs-pool', 'Node ceiling, 1 process, fs-pool', await startCeiling('single', [], 'fs-pool'));
  if (VARIANTS) {
    for (const mode of ['reply-first', 'many', 'worker']) {
      run.add(`ceil1-${mode}`, `Node ceiling, 1 process, ${mode}`, await startCeiling('single', [], mode));
    }
  }
  const f1 = await startCeiling('follower');
  const f2 = await startCeiling('follower');
  run.keep(f1, f2);
  run.add('ceil3', 'Node ceiling, 3 processes', await startCeiling('leader', [f1.port, f2.port]));
  const g1 = await startCeiling('follower', [], 'fs-sync');
  const g2 = await startCeiling('follower', [], 'fs-sync');
  run.keep(g1, g2);
  run.add('ceil3-fs-sync', 'Node ceiling, 3 processes, fs-sync', await startCeiling('leader', [g1.port, g2.port], 'fs-sync'));
  run.add('raft1', 'raftis 1-node', await startRaftis());
  run.add('raft3', 'raftis 3-node', await startRaftisCluster(3));

  const results = await runSetRounds(servers, { rounds: ROUNDS, requests: N, base: BASE, log });

  say(`# SET: raftis and the least a Node.js server on classic-level must do, vs redis-server (appendfsync always)`);
  say();
  say(`date: ${new Date().toISOString()}`);
  say(facts);
  say();
  say(`redis-benchmark ${BASE.join(' ')} -n ${N[1]} (-P 1) / ${N[16]} (-P 16); ${ROUNDS} rounds, server order rotated; medians (every round's figure in brackets).`);
  say(`The ceiling servers (bench/ceiling-server.mjs) answer +OK once a request's bytes are in a synced classic-level batch (one in flight, the next started as the last completes), on two of three processes for the 3-process form; they do not parse, keep keys or run Raft.`);
  say(`fs-pool: the same plain file written and fdatasynced on libuv's thread pool, one write in flight, what arrived meanwhile written next (raftis's WAL with \`io: 'pool'\`): the event loop keeps reading requests while the disk syncs.`);
  say(`fs-sync (not classic-level, the design of raftis's own log): writeSync + fdatasyncSync of a plain file on the main thread, as redis-server does; in the 3-process form each process syncs its own file (the leader after sending the turn's bytes to both followers; a follower once per read) and a request is answered once the leader and one follower synced it.`);
  if (VARIANTS) say(`Variants of the 1-process ceiling: reply-first (answer a completed batch, start the next one a turn later), many (a batch per turn, several in flight), worker (classic-level in a worker thread, the main thread blocked until the batch is synced).`);
  say();
  for (const line of setRatioTable(servers, results)) say(line);
  const med = (id, P) => median(results[`${id} ${P}`]);
  say();
  say(`raftis / ceiling: 1 node ${(med('raft1', 1) / med('ceil1', 1)).toFixed(2)}× at -P 1, ${(med('raft1', 16) / med('ceil1', 16)).toFixed(2)}× at -P 16; 3 nodes ${(med('raft3', 1) / med('ceil3', 1)).toFixed(2)}× at -P 1, ${(med('raft3', 16) / med('ceil3', 16)).toFixed(2)}× at -P 16.`);
  say(`raftis / fs-sync ceiling: 1 node ${(med('raft1', 1) / med('ceil1-fs-sync', 1)).toFixed(2)}× at -P 1, ${(med('raft1', 16) / med('ceil1-fs-sync', 16)).toFixed(2)}× at -P 16; 3 nodes ${(med('raft3', 1) / med('ceil3-fs-sync', 1)).toFixed(2)}× at -P 1, ${(med('raft3', 16) / med('ceil3-fs-sync', 16)).toFixed(2)}× at -P 16.`);
  say(`1-process fs-pool ceiling / redis-server: ${(med('ceil1-fs-pool', 1) / med('redis', 1)).toFixed(2)}× at -P 1, ${(med('ceil1-fs-pool', 16) / med('redis', 16)).toFixed(2)}× at -P 16 (fs-sync: ${(med('ceil1-fs-sync', 1) / med('redis', 1)).toFixed(2)}×, ${(med('ceil1-fs-sync', 16) / med('redis', 16)).toFixed(2)}×).`);
  say(`3-process fs-sync ceiling / redis-server: ${(med('ceil3-fs-sync', 1) / med('redis', 1)).toFixed(2)}× at -P 1 (raftis's 3-node target: 0.5×), ${(med('ceil3-fs-sync', 16) / med('redis', 16)).toFixed(2)}× at -P 16.`);
  say(`Host: ${os.cpus().length} cores; all servers and redis-benchmark share them.`);
  const text = lines.join('\n') + '\n';
  console.log(`\nwritten to ${writeResult(OUT, text)}`);
} finally {
  await run.stop();
}
