#!/usr/bin/env node
// A slot move under load (issue 21: "a reshard of 1M keys between two groups
// under load: duration, throughput and p99 of the other slots during it"): p99
// of requests to the slots that do NOT move, during a RAFT.SHARDS MOVE of a
// range holding keys, against the same load without a move; the move's
// duration and keys per second; and that every moved key is on its new group.
//
//   node bench/shard-move.mjs                           (after npm run build; a quiet machine)
//   SHARD_MOVE_KEYS=1000000 node bench/shard-move.mjs   (the 1M-key reshard)
//
// Environment: SHARD_MOVE_KEYS (keys in the slots that move, all of them moved;
// default 200000), SHARD_MOVE_OTHER_KEYS (keys in the slots that stay, which the
// load reads and writes; default 20000), SHARD_MOVE_GROUP_SIZE (nodes per group,
// default 1), SHARD_MOVE_SECONDS (the run without a move, default 10),
// SHARD_MOVE_WORKERS (concurrent request loops, default 8), SHARD_MOVE_OUT (a
// results file: a name under bench/results or an absolute path; default none).
//
// Two groups started with ./cluster.sh start --shards 2 in a temporary directory on
// free ports; group 0 owns 0-8191, group 1 8192-16383. Slots 0-4095 move from
// group 0 to group 1 while workers SET/GET keys of slots 8192-16383 (group 1, the
// receiving group: the worst case for "the other slots") and 4096-8191 (group 0,
// the sending group). The keys are loaded with one MSET per slot and chunk of
// 500 (a single-slot MSET is one log entry), pipelined: a 1M-key load takes
// seconds, not the minutes of one SET per key. Prints a Markdown report.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { ROOT, RespConn, buildFacts, machineFacts, writeResult } from './lib.mjs';

const run = promisify(execFile);
const KEYS = Number(process.env.SHARD_MOVE_KEYS ?? 200_000);
const OTHER_KEYS = Number(process.env.SHARD_MOVE_OTHER_KEYS ?? 20_000);
const OUT = process.env.SHARD_MOVE_OUT;
const SIZE = Number(process.env.SHARD_MOVE_GROUP_SIZE ?? 1);
const SECONDS = Number(process.env.SHARD_MOVE_SECONDS ?? 10);
const WORKERS = Number(process.env.SHARD_MOVE_WORKERS ?? 8);
const MOVING = [0, 4095];

const CRC16 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  CRC16[i] = crc;
}
/** The hash slot of a key without a hash tag (the keys here have none): CRC16 of its latin1 chars. */
function slotOf(k) {
  let crc = 0;
  for (let i = 0; i < k.length; i++) crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >> 8) ^ k.charCodeAt(i)) & 0xff];
  return crc & 16383;
}

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
  // KEYS keys k<i> in the moving slots and OTHER_KEYS in the others, by slot.
  const bySlot = new Map();
  const moving = [];
  const still = [];
  for (let i = 0; moving.length < KEYS || still.length < OTHER_KEYS; i++) {
    const k = `k${i}`;
    const s = slotOf(k);
    const mv = s >= MOVING[0] && s <= MOVING[1];
    if (mv ? moving.length >= KEYS : still.length >= OTHER_KEYS) continue;
    (mv ? moving : still).push(k);
    let l = bySlot.get(s);
    if (l === undefined) bySlot.set(s, (l = []));
    l.push(k);
  }
  // Load: one MSET per slot and chunk, auto-pipelined per group on a client of its own (the
  // measuring client below follows MOVED and ASK one request at a time).
  const loader = new Cluster([{ host: '127.0.0.1', port: base + 1 }], { enableAutoPipelining: true });
  const t0 = Date.now();
  let pending = [];
  for (const keys of bySlot.values()) {
    for (let i = 0; i < keys.length; i += 500) {
      const args = [];
      for (const k of keys.slice(i, i + 500)) args.push(k, `value-${k}`);
      pending.push(loader.mset(...args));
      if (pending.length >= 200) {
        await Promise.all(pending);
        pending = [];
      }
    }
  }
  await Promise.all(pending);
  const loadMs = Date.now() - t0;
  console.error(`loaded ${KEYS + OTHER_KEYS} keys in ${loadMs} ms`);
  client = new Cluster([{ host: '127.0.0.1', port: base + 1 }], { maxRedirections: 200, retryDelayOnTryAgain: 10 });

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
  // Every moved key is on group 1 with its value, none left on group 0 (COUNTKEYSINSLOT on each group's node 1).
  // A new auto-pipelined client: it learns the slots as they are now (a pipeline does not follow MOVED per key).
  loader.disconnect();
  const checker = new Cluster([{ host: '127.0.0.1', port: base + 1 }], { enableAutoPipelining: true });
  let missing = 0;
  try {
    for (let i = 0; i < moving.length; i += 5000) {
      const part = moving.slice(i, i + 5000);
      const vals = await Promise.all(part.map((k) => checker.get(k)));
      missing += vals.filter((v, j) => v !== `value-${part[j]}`).length;
    }
  } finally {
    checker.disconnect();
  }
  const countKeys = async (port) => {
    const c = await RespConn.connect('127.0.0.1', port, 2000);
    try {
      const slots = Array.from({ length: MOVING[1] - MOVING[0] + 1 }, (_, i) => MOVING[0] + i);
      const counts = await Promise.all(slots.map((s) => c.call(['CLUSTER', 'COUNTKEYSINSLOT', String(s)], 30_000)));
      return counts.reduce((a, b) => a + Number(b), 0);
    } finally {
      c.close();
    }
  };
  // Node 1 of each group may be a follower still applying the last entries: a few tries, 200 ms apart.
  let left = 0;
  let arrived = 0;
  for (let i = 0; i < 50; i++) {
    left = await countKeys(base + 1);
    arrived = await countKeys(base + SIZE + 1);
    if (left === 0 && arrived === moving.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const rows = [
    ['', 'requests', 'errors', 'p50 ms', 'p99 ms'],
    ['without a move', a.lat.length, a.errors, p(a.lat, 0.5).toFixed(2), p(a.lat, 0.99).toFixed(2)],
    ['during the move', b.lat.length, b.errors, p(b.lat, 0.5).toFixed(2), p(b.lat, 0.99).toFixed(2)],
  ];
  const out = [];
  const say = (x = '') => {
    console.log(x);
    out.push(x);
  };
  say(`# shard move: ${moving.length} keys (slots ${MOVING[0]}-${MOVING[1]}) from group 0 to group 1 under load, groups of ${SIZE}\n`);
  say(`date: ${new Date().toISOString()}`);
  say(await machineFacts());
  say(await buildFacts());
  say(`${KEYS} keys in the moving slots, ${OTHER_KEYS} in the others (${WORKERS} request loops GET/SET them, one request at a time each), loaded in ${loadMs} ms (one MSET per slot and 500 keys)\n`);
  say(`MOVE answered ${reply} after ${moveMs} ms: **${Math.round((moving.length * 1000) / moveMs)} keys/s**; afterwards: keys missing or wrong on a GET ${missing}, COUNTKEYSINSLOT over the moved slots: group 0 ${left}, group 1 ${arrived} (of ${moving.length})\n`);
  for (const [i, r] of rows.entries()) {
    say(`| ${r.join(' | ')} |`);
    if (i === 0) say(`|${r.map(() => '---').join('|')}|`);
  }
  say(`\np99 ratio (during / without): ${(p(b.lat, 0.99) / p(a.lat, 0.99)).toFixed(2)} (target: at most 1.5)`);
  if (OUT) console.log(`\nwritten to ${path.isAbsolute(OUT) ? (fs.writeFileSync(OUT, out.join('\n') + '\n'), OUT) : writeResult(OUT, out.join('\n') + '\n')}`);
} finally {
  client?.disconnect();
  await sh('stop').catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
}
