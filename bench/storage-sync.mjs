#!/usr/bin/env node
// What one durable write costs on this machine: a synced LevelDB batch next
// to a raw write + fdatasync on the main thread (what redis-server
// --appendfsync always does per event-loop turn) and the same on Node's
// thread pool; then raftis's own log (WalLog: segment files,
// src/storage/wal/) with its write + fdatasync on the main thread (the
// product's) and on the thread pool, and LogStore (the log in classic-level,
// before it). It bounds raftis's SET throughput at -P 1: each client waits
// for about one of these per request.
// The methods take turns, 50 writes each per round (rotating who goes
// first), so that a burst of disk activity from other processes does not
// land on one method only.
// Usage: npm run build && node bench/storage-sync.mjs [writes per method]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ROOT, writeResult } from './lib.mjs';

const { WalLog } = await import(path.join(ROOT, 'dist/storage/wal/wal-log.js'));
const { LogStore } = await import(path.join(ROOT, 'dist/storage/log-store.js'));

const N = Number(process.argv[2] ?? 2000);
const STEP = 50;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-sync-bench-'));
const lines = [];
const say = (s) => { console.log(s); lines.push(s); };
const stats = (lat) => {
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(3);
  return `${q(0.5)} | ${q(0.9)} | ${q(0.99)}`;
};

/** A method: name, one durable write, and its cleanup. */
async function methods() {
  const value = Buffer.alloc(60, 1);
  const db = new ClassicLevel(path.join(dir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  let dbi = 0;
  const fdMain = fs.openSync(path.join(dir, 'aof-main'), 'w');
  const fdPool = fs.openSync(path.join(dir, 'aof-pool'), 'w');
  const rec = Buffer.alloc(20 * 69, 1);
  const list = [
    {
      name: 'classic-level batch, sync: true',
      write: async () => {
        const b = db.batch();
        for (let j = 0; j < 20; j++) {
          const k = Buffer.alloc(9);
          k.writeUInt32BE(dbi++, 5);
          b.put(k, value);
        }
        await b.write({ sync: true });
      },
      close: () => db.close(),
    },
    {
      name: "write + fdatasync, main thread (Redis's way)",
      write: async () => {
        fs.writeSync(fdMain, rec);
        fs.fdatasyncSync(fdMain);
      },
      close: async () => fs.closeSync(fdMain),
    },
    {
      name: 'write + fdatasync, thread pool',
      write: () => new Promise((res, rej) => fs.write(fdPool, rec, (e) => (e ? rej(e) : fs.fdatasync(fdPool, (e2) => (e2 ? rej(e2) : res()))))),
      close: async () => fs.closeSync(fdPool),
    },
  ];
  // The Raft log backends, each write 20 entries of 60 bytes and a hard state (what a Ready carries).
  const backends = [
    ['WalLog (segment files), write + fdatasync on the main thread', (d) => WalLog.open(d, { io: 'main' })],
    ['WalLog (segment files), write + fdatasync on the thread pool', (d) => WalLog.open(d, { io: 'pool' })],
    ['LogStore (classic-level batch, sync: true)', (d) => LogStore.open(d)],
  ];
  for (const [name, openLog] of backends) {
    const log = await openLog(fs.mkdtempSync(path.join(dir, 'log-')));
    let next = 1;
    list.push({
      name,
      write: async () => {
        const entries = [];
        for (let j = 0; j < 20; j++) entries.push({ index: next++, term: 1, type: 0, data: value });
        await log.write(entries, { term: 1, vote: 1, commit: next - 21 }, undefined, true);
      },
      close: () => log.close(),
    });
  }
  return list;
}

try {
  const list = await methods();
  say(`# One durable write: LevelDB vs raw fdatasync vs raftis's log backends`);
  say(`date: ${new Date().toISOString()}  host: ${os.cpus().length} cores, node ${process.version}, ${N} writes of 20 × 60-byte records per method, in turns of ${STEP}`);
  say(`load average before: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  say(`| method | p50 ms | p90 ms | p99 ms |`);
  say(`|---|---|---|---|`);
  const lat = list.map(() => []);
  for (let round = 0; round * STEP < N; round++) {
    for (let k = 0; k < list.length; k++) {
      const m = (round + k) % list.length;
      for (let i = 0; i < STEP; i++) {
        const t = performance.now();
        await list[m].write();
        lat[m].push(performance.now() - t);
      }
    }
  }
  for (const [m, x] of list.entries()) say(`| ${x.name} | ${stats(lat[m])} |`);
  say(`\nload average after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const x of list) await x.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`\nwritten to ${writeResult('storage-sync.md', lines.join('\n') + '\n')}`);
