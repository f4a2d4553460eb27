#!/usr/bin/env node
// CPU per request of each node of a fresh 3-node cluster (main thread: µs
// user/sys, from /proc/<pid>/task/<pid>/stat), its context switches and
// write/read syscalls per request (/proc/<pid>/io), and for GET the reads per
// ReadIndex round: the followers' write syscalls during a read-only load are
// their answers to the leader's rounds (one each). A load-dependent figure
// (batches grow with load): compare builds in alternation, several runs each.
//
// Usage: npm run build && BIN=/abs/dist/cli/main.js node bench/cpu-rounds3.mjs get|set P N
//   (redis-benchmark -c 50 -r 100000 -d 16 -P P to the leader: a warm-up of N/4, then N measured)
import fs from 'node:fs';
import { RAFTIS_BIN, startRaftisCluster, redisBenchmark } from './lib.mjs';

const stat = (pid, tid) => {
  const s = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]), Number(f[12])];
};
const switches = (pid) => {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return [Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(s)[1]), Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(s)[1])];
};
const io = (pid) => Object.fromEntries(fs.readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => { const [k, v] = l.split(': '); return [k, Number(v)]; }));
const sample = (pid) => ({ cpu: stat(pid, pid), cs: switches(pid), io: io(pid) });

const [t = 'get', P = '1', n = '200000'] = process.argv.slice(2);
const N = Number(n);
const c = await startRaftisCluster(3, [], { bin: process.env.BIN ?? RAFTIS_BIN });
try {
  const at = c.node(c.leader);
  const args = ['-c', '50', '-r', '100000', '-d', '16', '-t', t, '-P', P];
  await redisBenchmark(at.port, [...args, '-n', String(Math.floor(N / 4))], at.host);
  const s0 = c.nodes.map((x) => sample(x.proc.pid));
  const out = await redisBenchmark(at.port, [...args, '-n', String(N)], at.host);
  const s1 = c.nodes.map((x) => sample(x.proc.pid));
  console.log(JSON.stringify(out));
  let followerWrites = 0;
  c.nodes.forEach((x, i) => {
    const a = s0[i], b = s1[i];
    const per = (v) => (v / N).toFixed(3);
    const w = b.io.syscw - a.io.syscw;
    if (x.id !== c.leader) followerWrites += w;
    // clock ticks (1/100 s) → µs per request
    console.log(
      `${x.id === c.leader ? 'LEADER' : 'follower'} ${x.proc.pid}:node u${(((b.cpu[0] - a.cpu[0]) * 10000) / N).toFixed(2)} s${(((b.cpu[1] - a.cpu[1]) * 10000) / N).toFixed(2)} vcs ${per(b.cs[0] - a.cs[0])} ivcs ${per(b.cs[1] - a.cs[1])} writes ${w} (${per(w)}/req) reads ${b.io.syscr - a.io.syscr} (${per(b.io.syscr - a.io.syscr)}/req)`,
    );
  });
  if (t === 'get') console.log(`reads per round ${(N / Math.max(1, followerWrites)).toFixed(1)}`);
} finally {
  await c.stop();
}
process.exit(0);
