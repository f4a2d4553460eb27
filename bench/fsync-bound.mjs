#!/usr/bin/env node
// How much of raftis's SET gap to redis-server is the disk? Side by side, in
// one run: redis-server --appendonly yes --appendfsync always, raftis (single
// node and 3-node cluster), and the same two started with --unsafe-no-fsync
// (the Raft log written without fsync; measurement only). redis-benchmark
// -c 50 -r 100000 -d 16 -t set at -P 1 and -P 16. If raftis without any fsync
// still trails redis-server with one per write, what is left is the CPU and
// latency of raftis's own path, not its durability.
//
// Every round runs each test on all five servers back to back, in an order
// that rotates between rounds; medians over the rounds are reported. A
// cluster run is repeated if its leader's term changed under it.
//
// Usage: npm run build && node bench/fsync-bound.mjs [rounds=3] [P1-requests=60000] [P16-requests=300000]
import os from 'node:os';
import { benchOutput, benchServers, buildFacts, machineFacts, runSetRounds, setRatioTable, startRaftis, startRaftisCluster, startRedis, writeResult } from './lib.mjs';

const ROUNDS = Math.max(1, Math.min(10, Number(process.argv[2] ?? 3)));
const N = { 1: Number(process.argv[3] ?? 60_000), 16: Number(process.argv[4] ?? 300_000) };
const BASE = ['-c', '50', '-r', '100000', '-d', '16', '-t', 'set'];
const NO_FSYNC = ['--unsafe-no-fsync'];

const { lines, say, log } = benchOutput('fsync-bound');

const facts = `${await machineFacts()}\n${await buildFacts()}`;
log('starting redis-server, raftis single node and 3-node cluster, each with and without fsync');
const run = benchServers();
const servers = run.servers;
try {
  run.add('redis', 'redis-server (appendfsync always)', await startRedis());
  run.add('raft1', 'raftis 1-node', await startRaftis());
  run.add('raft1-nofsync', 'raftis 1-node --unsafe-no-fsync', await startRaftis(NO_FSYNC));
  run.add('raft3', 'raftis 3-node', await startRaftisCluster(3));
  run.add('raft3-nofsync', 'raftis 3-node --unsafe-no-fsync', await startRaftisCluster(3, NO_FSYNC));

  const results = await runSetRounds(servers, { rounds: ROUNDS, requests: N, base: BASE, log });

  say(`# SET with and without fsync: raftis vs redis-server (appendfsync always)`);
  say();
  say(`date: ${new Date().toISOString()}`);
  say(facts);
  say();
  say(`redis-benchmark ${BASE.join(' ')} -n ${N[1]} (-P 1) / ${N[16]} (-P 16); ${ROUNDS} rounds, server order rotated; medians (every round's figure in brackets).`);
  say(`--unsafe-no-fsync writes the Raft log without fsync: an upper bound on what a faster disk (or any cleverer durability) could give raftis; never a supported mode.`);
  say();
  for (const line of setRatioTable(servers, results)) say(line);
  say();
  say(`Host: ${os.cpus().length} cores; all servers and redis-benchmark share them.`);
  console.log(`\nwritten to ${writeResult('fsync-bound.md', lines.join('\n') + '\n')}`);
} finally {
  await run.stop();
}
