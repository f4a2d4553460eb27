#!/usr/bin/env node
// What one durable write costs on this machine: a synced LevelDB batch (what
// raftis does per group commit) next to a raw write + fdatasync on the main
// thread (what redis-server --appendfsync always does per event-loop turn)
// and the same on Node's thread pool; then raftis's own log (WalLog: segment
// files, src/storage/wal/) with its write + fdatasync on the main thread (the
// product's) and on the thread pool, and LogStore (the log in classic-level,
// before it). It bounds raftis's SET throughput at -P 1: each client waits
// for about one of these per request.
// Usage: npm run build && node bench/storage-sync.mjs [writes]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ROOT, writeResult } from './lib.mjs';

const { WalLog } = await import(path.join(ROOT, 'dist/storage/wal/wal-log.js'));
const { LogStore } = await import(path.join(ROOT, 'dist/storage/log-store.js'));

const N = Number(process.argv[2] ?? 2000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-sync-bench-'));
const lines = [];
const say = (s) => { console.log(s); lines.push(s); };
const stats = (lat) => {
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(3);
  return `${q(0.5)} | ${q(0.9)} | ${q(0.99)}`;
};
try {
  const db = new ClassicLevel(path.join(dir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const value = Buffer.alloc(60, 1);
  say(`# One durable write: LevelDB vs raw fdatasync vs raftis's log backends`);
  say(`load average before: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  say(`date: ${new Date().toISOString()}  host: ${os.cpus().length} cores, node ${process.version}, ${N} writes of 20 × 60-byte records each\n`);
  say(`| method | p50 ms | p90 ms | p99 ms |`);
  say(`|---|---|---|---|`);
  let lat = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const b = db.batch();
    for (let j = 0; j < 20; j++) {
      const k = Buffer.alloc(9);
      k.writeUInt32BE(i * 20 + j, 5);
      b.put(k, value);
    }
    await b.write({ sync: true });
    lat.push(performance.now() - t);
  }
  say(`| classic-level batch, sync: true | ${stats(lat)} |`);
  await db.close();
  const fd = fs.openSync(path.join(dir, 'aof'), 'w');
  const rec = Buffer.alloc(20 * 69, 1);
  lat = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    fs.writeSync(fd, rec);
    fs.fdatasyncSync(fd);
    lat.push(performance.now() - t);
  }
  say(`| write + fdatasync, main thread (Redis's way) | ${stats(lat)} |`);
  lat = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await new Promise((res, rej) => fs.write(fd, rec, (e) => (e ? rej(e) : fs.fdatasync(fd, (e2) => (e2 ? rej(e2) : res())))));
    lat.push(performance.now() - t);
  }
  say(`| write + fdatasync, thread pool | ${stats(lat)} |`);
  fs.closeSync(fd);
  // The Raft log backends, each write 20 entries of 60 bytes and a hard state (what a Ready carries).
  const data = Buffer.alloc(60, 1);
  const backends = [
    ['WalLog (segment files), write + fdatasync on the main thread', (d) => WalLog.open(d, { io: 'main' })],
    ['WalLog (segment files), write + fdatasync on the thread pool', (d) => WalLog.open(d, { io: 'pool' })],
    ['LogStore (classic-level batch, sync: true)', (d) => LogStore.open(d)],
  ];
  for (const [name, openLog] of backends) {
    const sub = fs.mkdtempSync(path.join(dir, 'log-'));
    const log = await openLog(sub);
    lat = [];
    let next = 1;
    for (let i = 0; i < N; i++) {
      const entries = [];
      for (let j = 0; j < 20; j++) entries.push({ index: next++, term: 1, type: 0, data });
      const t = performance.now();
      await log.write(entries, { term: 1, vote: 1, commit: next - 21 }, undefined, true);
      lat.push(performance.now() - t);
    }
    await log.close();
    say(`| ${name} | ${stats(lat)} |`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`\nwritten to ${writeResult('storage-sync.md', lines.join('\n') + '\n')}`);
