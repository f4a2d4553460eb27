#!/usr/bin/env node
// A slot move under load (issue 21, phase 2): p99 of requests to the slots
// that do NOT move, during a RAFT.SHARDS MOVE of a range holding keys, against
// the same load without a move; and the move's duration and keys per second.
//
//   node bench/shard-move.mjs            (after npm run build; a quiet machine)
//
// Environment: SHARD_MOVE_KEYS (keys loaded, default 200000), SHARD_MOVE_GROUP_SIZE
// (nodes per group, default 1), SHARD_MOVE_SECONDS (the run without a move, default 10),
// SHARD_MOVE_WORKERS (concurrent request loops, default 8).
//
// Two groups started with ./cluster.sh start --shards 2 in a temporary directory on
// free ports; group 0 owns 0-8191, group 1 8192-16383. The keys are spread over every
// slot; slots 0-4095 move from group 0 to group 1 while workers SET/GET keys of
// slots 8192-16383 (group 1, the receiving group: the worst case for "the other
// slots") and 4096-8191 (group 0, the sending group). Prints a Markdown table.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { ROOT } from './lib.mjs';

const run = promisify(execFile);
const KEYS = Number(process.env.SHARD_MOVE_KEYS ?? 200_000);
const SIZE = Number(process.env.SHARD_MOVE_GROUP_SIZE ?? 1);
const SECONDS = Number(process.env.SHARD_MOVE_SECONDS ?? 10);
const WORKERS = Number(process.env.SHARD_MOVE_WORKERS ?? 8);
const MOVING = [0, 4095];

function crc16(buf) {
  let crc = 0;
  for (const ch of buf) {
    crc ^= ch << 8;
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
const slotOf = (k) => crc16(Buffer.from(k, 'latin1')) & 16383;

async function portFree(port) {
  return new Promise((r) => {
    const s = net.createServer().once('error', () => r(false)).listen(port, '127.0.0.1', () => s.close(() => r(true)));
  });
}

/** A base port whose client, HTTP and cluster ports for 2 groups are free. */
async function freeBase() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 8000);
    let ok = true;
    for (let i = 1; i <= 2 * SIZE && ok; i++) ok = (await portFree(base + i)) && (await portFree(base + i + 1000)) && (await portFree(base + i + 10000));
    if (ok) return base;
  }
  throw new Error('no free base port');
}

function p(arr, q) {
  if (arr.length === 0) return NaN;
  const s = [...arr].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-shard-move-'));
const base = await freeBase();
const env = { ...process.env, RAFTIS_CLUSTER_DIR: dir, RAFTIS_BASE_PORT: String(base) };
const sh = (...args) => run('bash', [path.join(ROOT, 'cluster.sh'), ...args], { env, timeout: 600_000 });
let client;
try {
  await sh('start', '--shards', '2', String(SIZE));
  // Load: KEYS keys over every slot, 1000 at a time (auto-pipelined per group, on a client of its own:
  // the measuring client below follows MOVED and ASK one request at a time).
  const loader = new Cluster([{ host: '127.0.0.1', port: base + 1 }], { enableAutoPipelining: true });
  const t0 = Date.now();
  for (let i = 0; i < KEYS; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(KEYS, i + 1000); j++) batch.push(loader.set(`k${j}`, `value-${j}`));
    await Promise.all(batch);
  }
  loader.disconnect();
  client = new Cluster([{ host: '127.0.0.1', port: base + 1 }], { maxRedirections: 200, retryDelayOnTryAgain: 10 });
  console.error(`loaded ${KEYS} keys in ${Date.now() - t0} ms`);
  // Keys whose slots do not move (both groups' unmoved slots).
  const still = [];
  for (let i = 0; still.length < 5000 && i < KEYS; i++) {
    const s = slotOf(`k${i}`);
    if (s < MOVING[0] || s > MOVING[1]) still.push(`k${i}`);
  }
  const moving = [];
  for (let i = 0; i < KEYS; i++) {
    const s = slotOf(`k${i}`);
    if (s >= MOVING[0] && s <= MOVING[1]) moving.push(i);
  }

  async function load(untilDone) {
    const lat = [];
    let errors = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        for (let n = w; !untilDone(); n += WORKERS) {
          const k = still[n % still.length];
          const t = process.hrtime.bigint();
          try {
            if (n % 2 === 0) await client.get(k);
            else await client.set(k, `v${n}`);
            lat.push(Number(process.hrtime.bigint() - t) / 1e6);
          } catch {
            errors++;
          }
        }
      }),
    );
    return { lat, errors };
  }

  const endA = Date.now() + SECONDS * 1000;
  const a = await load(() => Date.now() > endA);
  let done = false;
  const tm = Date.now();
  const mover = (async () => {
    const { stdout } = await run('redis-cli', ['-c', '-p', String(base + 1), 'RAFT.SHARDS', 'MOVE', '1', `${MOVING[0]}-${MOVING[1]}`], { timeout: 3_600_000 });
    done = true;
    return stdout.trim();
  })();
  const b = await load(() => done);
  const reply = await mover;
  const moveMs = Date.now() - tm;
  // Every moved key is there.
  let missing = 0;
  for (let i = 0; i < moving.length; i += 1000) {
    const vals = await Promise.all(moving.slice(i, i + 1000).map((j) => client.get(`k${j}`)));
    missing += vals.filter((v) => v === null).length;
  }
  const rows = [
    ['', 'requests', 'errors', 'p50 ms', 'p99 ms'],
    ['without a move', a.lat.length, a.errors, p(a.lat, 0.5).toFixed(2), p(a.lat, 0.99).toFixed(2)],
    ['during the move', b.lat.length, b.errors, p(b.lat, 0.5).toFixed(2), p(b.lat, 0.99).toFixed(2)],
  ];
  console.log(`# shard move: ${moving.length} of ${KEYS} keys (slots ${MOVING[0]}-${MOVING[1]}) from group 0 to group 1, groups of ${SIZE}\n`);
  console.log(`MOVE answered ${reply} after ${moveMs} ms: ${Math.round((moving.length * 1000) / moveMs)} keys/s; keys missing afterwards: ${missing}\n`);
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.join(' | ')} |`);
    if (i === 0) console.log(`|${r.map(() => '---').join('|')}|`);
  }
  console.log(`\np99 ratio (during / without): ${(p(b.lat, 0.99) / p(a.lat, 0.99)).toFixed(2)} (target: at most 1.5)`);
} finally {
  client?.disconnect();
  await sh('stop').catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
}
