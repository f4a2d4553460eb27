#!/usr/bin/env node
// Peer frames per request on a 3-node cluster under SET load, by what they
// carry: counts, which unlike CPU time do not move with other load on the
// machine (though at -P 1 they follow the batch sizes the load allowed).
// For each build given, a copy of its dist/ gets a counter in
// Transport.sendGroup (the copy only; the build is untouched) that every
// 2 s prints each frame's messages by type to stderr; a cluster of the copy
// runs redis-benchmark -c 50 -r 100000 -d 16 -t set, and the counts over
// the measured run are divided by its requests. Builds alternate in rounds.
// A frame's key lists its messages' types (src/raft/messages.ts MessageType:
// 3 App, 4 AppResp, 8 Heartbeat, 9 HeartbeatResp), an App marked "e" when
// it carries entries and "0" when it does not (a commit index or a probe).
//
// Usage: npm run build && node bench/peer-frames.mjs [-P 1] [-n 20000] [--rounds 2] [build dirs … (default: this checkout)]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, median, redisBenchmark, startRaftisCluster } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const P = opt('-P', '1');
const N = Number(opt('-n', 20000));
const ROUNDS = Number(opt('--rounds', 2));
const builds = (argv.length > 0 ? argv : [ROOT]).map((d) => path.resolve(d));

const ANCHOR = '    sendGroup(to, msgs) {\n';
const COUNTER = `${ANCHOR}        const C = (globalThis.__peerFrames ??= (() => { const c = new Map(); setInterval(() => console.error('PEERFRAMES ' + JSON.stringify([...c])), 2000).unref(); return c; })());
        const key = msgs.map((m) => m.type + (m.type === 3 ? (m.entries.length > 0 ? 'e' : '0') : '')).join('+');
        C.set(key, (C.get(key) ?? 0) + 1);
        C.set('frames', (C.get('frames') ?? 0) + 1);
`;

/** A copy of build's dist/ with the counter; returns its main.js. */
function instrument(build) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-peer-frames-'));
  fs.cpSync(path.join(build, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(build, 'package.json'), path.join(dir, 'package.json'));
  for (const d of ['node_modules', 'native']) if (fs.existsSync(path.join(build, d))) fs.symlinkSync(path.join(build, d), path.join(dir, d));
  const t = path.join(dir, 'dist/transport/transport.js');
  const src = fs.readFileSync(t, 'utf8');
  if (!src.includes(ANCHOR)) throw new Error(`${t}: no '${ANCHOR.trim()}' to count frames at; update bench/peer-frames.mjs`);
  fs.writeFileSync(t, src.replace(ANCHOR, COUNTER));
  return { dir, bin: path.join(dir, 'dist/cli/main.js') };
}

const lastCounts = (x) => {
  const ls = x.log.split('\n').filter((l) => l.startsWith('PEERFRAMES '));
  return ls.length > 0 ? new Map(JSON.parse(ls[ls.length - 1].slice('PEERFRAMES '.length))) : new Map();
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One measured run: per role, frames per request by key. */
async function measure(bin) {
  const c = await startRaftisCluster(3, [], { bin });
  try {
    const leader = c.node(c.leader);
    const args = (n) => ['-c', '50', '-r', '100000', '-d', '16', '-n', String(n), '-P', P, '-t', 'set'];
    await redisBenchmark(leader.port, args(Math.min(N, 10000)), leader.host);
    await sleep(2300);
    const before = c.nodes.map(lastCounts);
    const out = await redisBenchmark(leader.port, args(N), leader.host);
    await sleep(2300);
    const res = { rps: out.SET.rps, roles: {} };
    let k = 0;
    c.nodes.forEach((x, i) => {
      const a = before[i];
      const role = x.id === c.leader ? 'leader' : `follower${++k}`;
      res.roles[role] = new Map([...lastCounts(x)].map(([key, v]) => [key, (v - (a.get(key) ?? 0)) / N]));
    });
    return res;
  } finally {
    await c.stop();
  }
}

const copies = builds.map(instrument);
const runs = builds.map(() => []);
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (let b = 0; b < builds.length; b++) {
      const i = (r + b) % builds.length;
      console.error(`[peer-frames] round ${r + 1}: ${builds[i]}`);
      runs[i].push(await measure(copies[i].bin));
    }
  }
} finally {
  for (const c of copies) fs.rmSync(c.dir, { recursive: true, force: true });
}

console.log(`# Peer frames per request, SET -P ${P}, -n ${N}, ${ROUNDS} rounds (medians)\n`);
console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
for (let i = 0; i < builds.length; i++) {
  console.log(`## ${builds[i]} (rps median ${median(runs[i].map((x) => x.rps)).toFixed(0)})\n`);
  console.log('| process | frames / request | frames with entries / request | frames / frame with entries | top frame kinds (per request) |');
  console.log('|---|---|---|---|---|');
  for (const role of Object.keys(runs[i][0].roles)) {
    const keys = new Set(runs[i].flatMap((x) => [...x.roles[role].keys()]));
    const med = new Map([...keys].map((key) => [key, median(runs[i].map((x) => x.roles[role]?.get(key) ?? 0))]));
    const frames = med.get('frames') ?? 0;
    const withEntries = [...med].filter(([key]) => key.includes('3e')).reduce((s, [, v]) => s + v, 0);
    const top = [...med].filter(([key]) => key !== 'frames').sort((a, b) => b[1] - a[1]).slice(0, 6).map(([key, v]) => `${key} ${v.toFixed(4)}`).join(', ');
    const ratio = withEntries > 0 ? (frames / withEntries).toFixed(2) : '–';
    console.log(`| ${role} | ${frames.toFixed(4)} | ${role === 'leader' ? withEntries.toFixed(4) : '–'} | ${role === 'leader' ? ratio : '–'} | ${top} |`);
  }
  console.log('');
}
