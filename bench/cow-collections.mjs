#!/usr/bin/env node
// Copy-on-write cost for big collections (issue 7 × issue 5): a single raftis
// node holds a sorted set, a list, a hash and a set of N members each, plus
// 500k string keys so that a snapshot takes a while. While a snapshot runs,
// one write to each big collection (its first change in the snapshot epoch)
// is timed; the same writes without a snapshot running are the baseline.
// The snapshot writes a collection out on its first change instead of
// copying it (src/keyspace/snapshot-epoch.ts), so the first write costs the
// encoding of the collection, once, and no second copy is held.
//
// Usage: npm run build && node bench/cow-collections.mjs [members=1000000]
import { RespConn, buildFacts, loadKeys, machineFacts, rssBytes, startRaftis, writeResult } from './lib.mjs';

const N = Number(process.argv[2] ?? 1_000_000);
const s = await startRaftis(['--snapshot-entries', '0']);
const c = await RespConn.connect('127.0.0.1', s.port, 5000);
await loadKeys(s.port, 500_000, 16);
const fill = async (cmd, key, make) => {
  for (let i = 0; i < N; i += 1000) {
    const args = [cmd, key];
    for (let j = i; j < Math.min(N, i + 1000); j++) args.push(...make(j));
    const r = await c.call(args, 60_000);
    if (typeof r === 'object' && r?.error) throw new Error(r.error);
  }
};
await fill('ZADD', 'bigz', (j) => [String(j), `m${j}`]);
await fill('RPUSH', 'bigl', (j) => [`e${j}`]);
await fill('HSET', 'bigh', (j) => [`f${j}`, `v${j}`]);
await fill('SADD', 'bigs', (j) => [`s${j}`]);
const writes = [
  ['ZADD', 'bigz', '-1', 'new'],
  ['LPUSH', 'bigl', 'new'],
  ['HSET', 'bigh', 'new', 'x'],
  ['SADD', 'bigs', 'new'],
];
const time = async (args) => {
  const t = performance.now();
  await c.call(args, 60_000);
  return performance.now() - t;
};
const base = [];
for (const w of writes) base.push(await time(w));
const rssBefore = rssBytes(s.pid);
await c.call(['BGSAVE']);
const during = [];
for (const w of writes) during.push(await time([w[0], w[1], ...w.slice(2).map((x) => x + '2')]));
let inProgress = (await c.call(['INFO', 'persistence'])).includes('rdb_bgsave_in_progress:1');
let rssPeak = rssBytes(s.pid);
while ((await c.call(['INFO', 'persistence'])).includes('rdb_bgsave_in_progress:1')) {
  rssPeak = Math.max(rssPeak, rssBytes(s.pid));
  await new Promise((r) => setTimeout(r, 20));
}
c.close();
await s.stop();
const lines = [
  `# First write to a big collection during a snapshot (${N} members each; 500k other keys)`,
  '',
  (await machineFacts()) + ' · ' + (await buildFacts()),
  '',
  '| write | without snapshot (ms) | first change during a snapshot (ms) |',
  '|---|---|---|',
  ...writes.map((w, i) => `| ${w[0]} ${w[1]} | ${base[i].toFixed(2)} | ${during[i].toFixed(2)} |`),
  '',
  `snapshot still running after the four writes: ${inProgress ? 'yes' : 'no'}; RSS before ${(rssBefore / 1048576).toFixed(0)} MB, peak during the snapshot ${(rssPeak / 1048576).toFixed(0)} MB`,
  '',
];
const text = lines.join('\n');
process.stdout.write(text);
process.stderr.write(`written to ${writeResult('cow-collections.md', text)}\n`);
process.exit(0);
