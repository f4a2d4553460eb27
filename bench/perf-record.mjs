#!/usr/bin/env node
// On-CPU profiles of a 3-node cluster's processes under SET load, with Linux
// perf (`perf record -e cpu-clock -g`, node --perf-basic-prof-only-functions
// for the JavaScript frames). Unlike --cpu-prof (cpu-per-request.mjs), which
// samples the main thread's wall time, perf samples only while a thread is
// on a CPU: on a loaded machine --cpu-prof charges the time a process waits
// to be scheduled again to whatever it was in (a socket write that woke
// the receiver, an fdatasync), and it leaves out the kernel's share of a
// syscall and the GC and compiler threads. Needs perf and permission to
// profile the processes (root, or kernel.perf_event_paranoid <= 1).
// The load runs once unmeasured first, so the profile is of warm code.
//
// Usage: npm run build && node bench/perf-record.mjs [-P 16] [-n 150000] [--out-dir DIR]
//   then: perf report -i DIR/leader.data --no-children --sort sym
//         perf report -i DIR/leader.data --children --sort sym -g none   (inclusive)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { redisBenchmark, startRaftisCluster, optionReader } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = optionReader(argv);
const P = opt('-P', '16');
const N = Number(opt('-n', 150000));
const OUT = path.resolve(opt('--out-dir', path.join(os.tmpdir(), 'raftis-perf-record')));
fs.mkdirSync(OUT, { recursive: true });
// Read by lib.mjs when it starts a raftis process; perf reads /tmp/perf-<pid>.map for the JavaScript symbols.
process.env.RAFTIS_NODE_ARGS = `${process.env.RAFTIS_NODE_ARGS ?? ''} --perf-basic-prof-only-functions`.trim();

const c = await startRaftisCluster(3, []);
try {
  const leader = c.node(c.leader);
  const args = (n) => ['-c', '50', '-r', '100000', '-d', '16', '-n', String(n), '-P', P, '-t', 'set'];
  await redisBenchmark(leader.port, args(Math.round(N / 5)), leader.host);
  let k = 0;
  const recs = c.nodes.map((x) => {
    const role = x.id === c.leader ? 'leader' : `follower${++k}`;
    const file = path.join(OUT, `${role}.data`);
    const proc = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '2000', '-g', '-p', String(x.proc.pid), '-o', file], { stdio: 'ignore' });
    return { role, file, proc };
  });
  await new Promise((r) => setTimeout(r, 500));
  const out = await redisBenchmark(leader.port, args(N), leader.host);
  for (const r of recs) r.proc.kill('SIGINT');
  await Promise.all(recs.map((r) => new Promise((res) => (r.proc.exitCode !== null ? res() : r.proc.once('exit', res)))));
  console.log(`SET -P ${P}: ${N} requests at ${out.SET.rps.toFixed(0)} rps; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const r of recs) console.log(`${r.role}: ${r.file}`);
} finally {
  await c.stop();
}
