/**
 * `raftis import` on a 3-node cluster: a redis-server 7.0 filled with every
 * type and encoding (big values, integer sets, streams with consumer
 * groups, expiring keys, a function library, a key in another database)
 * is SAVEd, and the RDB file imported through a follower (writes follow
 * MOVED to the leader); then the same server copied live with --from.
 * Every key's value and TTL must match redis-server's, and every node must
 * hold the same state (RAFT.DIGEST at the same applied index).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { runRaftisCli } from '../helpers/raftis-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { fingerprint, q } from '../helpers/value-fingerprint.js';
import { DUMP_CASES } from '../differential/dump-restore-cases.js';
import { converged } from '../helpers/cluster-ops.js';

let redis: RedisServer | undefined;
let cluster: TestCluster | undefined;
let r: RawClient;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-import-'));

beforeAll(async () => {
  const [a, b] = await Promise.allSettled([startRedisServer(['--dir', dir, '--databases', '20']), TestCluster.start({ size: 3 })]);
  if (a.status === 'fulfilled') redis = a.value;
  if (b.status === 'fulfilled') cluster = b.value;
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  r = await RawClient.connect(redis!.port);
  for (const [i, c] of DUMP_CASES.entries()) {
    for (const cmd of c.setup) await r.call(...cmd.map((a) => (a === 'k' ? `k:${i}` : a)));
  }
  await r.call('SET', 'big', 'v'.repeat(3_000_000));
  await r.call('RPUSH', 'biglist', ...Array.from({ length: 20_000 }, (_, i) => `item-${i}`));
  await r.call('SET', 'ttl:str', 'x', 'PX', '600000');
  await r.call('HSET', 'ttl:hash', 'f', 'v');
  await r.call('PEXPIREAT', 'ttl:hash', String(Date.now() + 3_600_000));
  await r.call('FUNCTION', 'LOAD', "#!lua name=imp\nredis.register_function('imp_echo', function(keys, args) return args[1] end)");
  await r.call('SELECT', '1');
  await r.call('SET', 'in-db-1', 'x');
  await r.call('SET', 'k:0', 'db-1 has its own k:0');
  await r.call('SELECT', '3');
  await r.call('HSET', 'in-db-3', 'f', 'v', 'g', 'w');
  await r.call('RPUSH', 'list-db-3', 'a', 'b', 'c');
  await r.call('SELECT', '15');
  await r.call('ZADD', 'in-db-15', '1', 'a', '2', 'b');
  await r.call('SET', 'ttl-db-15', 'x', 'PX', '900000');
  await r.call('SELECT', '0');
}, 120_000);

afterAll(async () => {
  r?.close();
  await Promise.all([redis?.stop(), cluster?.destroy()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const DBS = [0, 1, 3, 15];

/** Compares every key of redis-server's databases with the cluster leader's copy in the same database, values and TTLs; returns the key count per database. */
async function compareAll(): Promise<number[]> {
  const leader = await cluster!.waitForLeader();
  const f = await cluster!.client(leader);
  const counts: number[] = [];
  try {
    for (const db of DBS) {
      expect(await r.call('SELECT', String(db))).toBe('+OK\r\n');
      expect(await f.call('SELECT', String(db))).toBe('+OK\r\n');
      const keys = ((await q(r, 'KEYS', '*')) as string[]).filter((k) => k !== '{cmp}').sort();
      expect(((await q(f, 'KEYS', '*')) as string[]).sort(), `db ${db}`).toEqual(keys);
      for (const k of keys) {
        // As redis-server holds the value after loading it (a load may change an encoding).
        const payload = (await q(r, 'DUMP', k)) as string;
        expect(await r.call('RESTORE', '{cmp}', '0', payload, 'REPLACE')).toBe('+OK\r\n');
        expect(await fingerprint(f, k), `db ${db} ${k}`).toEqual(await fingerprint(r, '{cmp}'));
        await r.call('DEL', '{cmp}');
        const [tr, tf] = [Number(await q(r, 'PTTL', k)), Number(await q(f, 'PTTL', k))];
        if (tr === -1) expect(tf, k).toBe(-1);
        else expect(Math.abs(tr - tf), k).toBeLessThan(10_000);
      }
      counts.push(keys.length);
    }
    expect(await f.call('SELECT', '1')).toBe('+OK\r\n');
    expect(await f.call('GET', 'k:0')).toBe('$20\r\ndb-1 has its own k:0\r\n');
    expect(await f.call('SELECT', '15')).toBe('+OK\r\n');
    expect(Number(await q(f, 'PTTL', 'ttl-db-15'))).toBeGreaterThan(800_000);
    expect(await f.call('FCALL', 'imp_echo', '0', 'hi')).toBe('$2\r\nhi\r\n');
    return counts;
  } finally {
    await r.call('SELECT', '0');
    f.close();
  }
}

it('imports an RDB file written by redis-server through a follower, every node converging', async () => {
  expect(await r.call('SAVE')).toBe('+OK\r\n');
  const leader = await cluster!.waitForSettledLeader();
  const follower = cluster!.nodes.find((n) => n.id !== leader)!;
  const res = await withTimeout(runRaftisCli(['import', path.join(dir, 'dump.rdb'), '--host', follower.host, '--port', String(follower.port), '--quiet'], 90_000), 95_000);
  expect(res.out).toMatch(/imported \d+ keys \(3 with a TTL\) and 1 function libraries into .* \(databases 0, 1, 3, 15\)/);
  expect(res.out).not.toContain('not imported');
  expect(res.code, res.out).toBe(0);
  expect(await compareAll()).toEqual([DUMP_CASES.length + 4, 2, 2, 2]);
  const digests = await converged(cluster!);
  expect(new Set(digests).size).toBe(1);
}, 180_000);

it('copies a live redis-server with --from, replacing what is there', async () => {
  const leader = await cluster!.waitForSettledLeader();
  const node = cluster!.node(leader);
  const cl = await cluster!.client(leader);
  try {
    await cl.call('SET', 'k:0', 'stale');
    await cl.call('SET', 'only-in-raftis', 'x');
    await cl.call('DEL', 'only-in-raftis');
  } finally {
    cl.close();
  }
  const res = await withTimeout(runRaftisCli(['import', '--from', `127.0.0.1:${redis!.port}`, '--host', node.host, '--port', String(node.port), '--replace', '--quiet'], 90_000), 95_000);
  expect(res.code, res.out).toBe(0);
  expect(res.out).toMatch(/imported \d+ keys \(3 with a TTL\) and 1 function libraries into .* \(databases 0, 1, 3, 15\)/);
  expect(await compareAll()).toEqual([DUMP_CASES.length + 4, 2, 2, 2]);
  const digests = await converged(cluster!);
  expect(new Set(digests).size).toBe(1);
}, 180_000);

it('refuses a file that is not an RDB file, and reports keys that exist without --replace', async () => {
  const bogus = path.join(dir, 'bogus.rdb');
  fs.writeFileSync(bogus, 'not an rdb');
  const node = cluster!.nodes[0]!;
  const bad = await runRaftisCli(['import', bogus, '--port', String(node.port), '--host', node.host]);
  expect(bad.code).toBe(1);
  expect(bad.out).toContain('not an RDB file');
  const again = await withTimeout(runRaftisCli(['import', path.join(dir, 'dump.rdb'), '--host', node.host, '--port', String(node.port), '--quiet'], 90_000), 95_000);
  expect(again.code).toBe(1);
  expect(again.out).toContain('BUSYKEY Target key name already exists.');
}, 120_000);

it('refuses a source database raftis does not have, before writing anything; --db imports one database', async () => {
  expect(await r.call('SELECT', '17')).toBe('+OK\r\n');
  expect(await r.call('SET', 'in-db-17', 'x')).toBe('+OK\r\n');
  expect(await r.call('SELECT', '15')).toBe('+OK\r\n');
  expect(await r.call('SET', 'new-in-db-15', 'y')).toBe('+OK\r\n');
  expect(await r.call('SELECT', '0')).toBe('+OK\r\n');
  expect(await r.call('SAVE')).toBe('+OK\r\n');
  const node = cluster!.nodes[0]!;
  const target = ['--host', node.host, '--port', String(node.port), '--quiet'];
  const file = path.join(dir, 'dump.rdb');
  for (const source of [[file], ['--from', `127.0.0.1:${redis!.port}`]]) {
    const res = await withTimeout(runRaftisCli(['import', ...source, ...target, '--replace'], 90_000), 95_000);
    expect(res.code, res.out).toBe(1);
    expect(res.out).toContain('database 17 (1 keys) but the raftis cluster at');
    expect(res.out).toContain('has 16 databases (0-15); nothing was imported. Restart every raftis node with --databases 18 (or more)');
  }
  const leader = await cluster!.waitForLeader();
  const f = await cluster!.client(leader);
  try {
    await f.call('SELECT', '15');
    expect(await f.call('EXISTS', 'new-in-db-15')).toBe(':0\r\n');
    const one = await withTimeout(runRaftisCli(['import', file, ...target, '--replace', '--db', '15'], 90_000), 95_000);
    expect(one.code, one.out).toBe(0);
    expect(one.out).toMatch(/imported 3 keys \(1 with a TTL\) and 1 function libraries into .* \(databases 15\)/);
    expect(one.out).toContain('1 keys of database 17 not imported (only --db 15 is)');
    expect(await f.call('EXISTS', 'new-in-db-15')).toBe(':1\r\n');
    const live = await withTimeout(runRaftisCli(['import', '--from', `127.0.0.1:${redis!.port}`, ...target, '--replace', '--db', '17'], 90_000), 95_000);
    expect(live.code).toBe(1);
    expect(live.out).toContain('database 17 (1 keys) but the raftis cluster at');
  } finally {
    f.close();
  }
  const digests = await converged(cluster!);
  expect(new Set(digests).size).toBe(1);
}, 180_000);
