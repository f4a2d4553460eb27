/**
 * Snapshots on a real node: BGSAVE/SAVE/LASTSAVE and INFO persistence as
 * Redis answers them; the log is compacted behind snapshots; kill -9 while a
 * snapshot is being written under write load loses no acknowledged write; a
 * damaged snapshot is detected, named, and either an older snapshot the log
 * still covers is used or the node refuses to start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRaftis, runRaftisCli, type RaftisProcess } from '../helpers/raftis-process.js';
import { until } from '../helpers/poll.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { listSnapshotFiles } from '../../src/storage/snapshot-file.js';

let srv: RaftisProcess | undefined;
let redis: RedisServer | undefined;
afterEach(async () => {
  await srv?.destroy();
  srv = undefined;
  await redis?.stop();
  redis = undefined;
});

function infoField(info: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim();
}

async function info(c: RawClient, section: string): Promise<string> {
  return c.call('INFO', section);
}

function snapshotsOf(dir: string): { file: string; index: number }[] {
  return listSnapshotFiles(path.join(dir, 'snapshots'));
}

/** Loads n keys quickly with pipelined MSETs. */
async function preload(port: number, n: number, prefix = 'pre'): Promise<void> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  await r.connect();
  try {
    for (let i = 0; i < n; i += 5000) {
      const p = r.pipeline();
      for (let j = i; j < Math.min(n, i + 5000); j += 100) {
        const args: string[] = [];
        for (let k = j; k < Math.min(n, j + 100); k++) args.push(`${prefix}:${k}`, `value-${k}-0123456`);
        p.mset(...args);
      }
      await p.exec();
    }
  } finally {
    r.disconnect();
  }
}

describe('snapshots on a node', () => {
  it('BGSAVE, SAVE, LASTSAVE and their errors reply as redis-server does', async () => {
    redis = await startRedisServer();
    srv = await startRaftis();
    const steps = [['BGSAVE', 'now'], ['SAVE', 'x'], ['LASTSAVE', 'x'], ['SAVE'], ['BGSAVE', 'a', 'b']];
    for (const s of steps) {
      const a = await RawClient.connect(redis.port);
      const b = await RawClient.connect(srv.port);
      expect(await b.call(...s), s.join(' ')).toBe(await a.call(...s));
      a.close();
      b.close();
    }
    const c = await RawClient.connect(srv.port);
    const before = Number((await c.call('LASTSAVE')).slice(1));
    expect(await c.call('SET', 'k', 'v')).toBe('+OK\r\n');
    expect(await c.call('BGSAVE')).toBe('+Background saving started\r\n');
    await until('BGSAVE', async () => infoField(await info(c, 'persistence'), 'rdb_bgsave_in_progress') === '0', 5000);
    const p = await info(c, 'persistence');
    expect(infoField(p, 'rdb_last_bgsave_status')).toBe('ok');
    expect(Number(infoField(p, 'rdb_changes_since_last_save'))).toBe(0);
    expect(Number(infoField(p, 'rdb_saves'))).toBeGreaterThanOrEqual(1);
    expect(Number((await c.call('LASTSAVE')).slice(1))).toBeGreaterThanOrEqual(before);
    expect(snapshotsOf(srv.dir).length).toBeGreaterThanOrEqual(1);
    c.close();
  });

  it('compacts the log behind automatic snapshots and restarts from the snapshot plus the log after it', async () => {
    srv = await startRaftis({ args: ['--snapshot-entries', '300', '--snapshot-keep-entries', '100'] });
    const r = new Redis({ port: srv.port, host: '127.0.0.1' });
    for (let i = 0; i < 1000; i++) {
      await Promise.all([r.set(`s${i}`, `v${i}`), r.hset(`h${i % 10}`, `f${i}`, `${i}`), r.sadd(`set${i % 7}`, `m${i}`)]);
    }
    r.disconnect();
    const c = await RawClient.connect(srv.port);
    const p = await info(c, 'persistence');
    const snapIndex = Number(infoField(p, 'raft_snapshot_index'));
    expect(snapIndex).toBeGreaterThan(2500);
    // Entries before (snapshot - keep) are gone: the log holds well under the 3000 written.
    const raft = await c.call('RAFT.INFO');
    const first = Number(/first_index:(\d+)/.exec(raft)?.[1] ?? 'NaN');
    expect(first).toBeGreaterThan(2000);
    const digest = await c.call('RAFT.DIGEST');
    const dbsize = await c.call('DBSIZE');
    c.close();
    await srv.kill9();
    await srv.restart();
    const c2 = await RawClient.connect(srv.port);
    expect(await c2.call('RAFT.DIGEST')).toBe(digest);
    expect(await c2.call('DBSIZE')).toBe(dbsize);
    expect(await c2.call('HGET', 'h3', 'f993')).toBe('$3\r\n993\r\n');
    c2.close();
    expect(srv.logs()).toMatch(/loaded snapshot .* index \d+/);
  });

  it('snapshots by log size as Redis rewrites its AOF: at --snapshot-bytes, then each time the log has grown by the last snapshot', async () => {
    srv = await startRaftis({ args: ['--snapshot-entries', '0', '--snapshot-bytes', '50000'] });
    const c = await RawClient.connect(srv.port);
    const value = 'x'.repeat(1000);
    const persistence = async (): Promise<{ saves: number; busy: boolean; base: number }> => {
      const p = await info(c, 'persistence');
      return { saves: Number(infoField(p, 'rdb_saves')), busy: infoField(p, 'rdb_bgsave_in_progress') === '1', base: Number(infoField(p, 'rdb_last_save_bytes')) };
    };
    const idle = async (): Promise<void> => until('the snapshot in progress', async () => !(await persistence()).busy, 10_000);
    const write = async (from: number, n: number, keys: number): Promise<void> => {
      for (let i = from; i < from + n; i++) expect(await c.call('SET', `k${i % keys}`, value)).toBe('+OK\r\n');
    };
    // 40 KB of log: below the 50 KB minimum.
    await write(0, 40, 300);
    expect(await persistence()).toMatchObject({ saves: 0, busy: false });
    // 300 KB of new keys: snapshots at about 50, 100 and 200 KB as each doubles the last (a fixed
    // 50 KB threshold would take six).
    await write(40, 260, 300);
    await idle();
    const grown = await persistence();
    expect(grown.saves).toBeGreaterThanOrEqual(2);
    expect(grown.saves).toBeLessThanOrEqual(4);
    await c.call('BGSAVE');
    await until('BGSAVE', async () => (await persistence()).saves === grown.saves + 1, 10_000);
    const { base, saves } = await persistence();
    expect(base).toBeGreaterThan(300_000);
    // Overwrites worth half the snapshot: the log has not grown by a snapshot's size, none is taken.
    await write(0, Math.floor(base / 2 / 1000), 300);
    expect(await persistence()).toMatchObject({ saves, busy: false });
    // Past the snapshot's size: the next one.
    await write(0, Math.ceil((base * 0.6) / 1000), 300);
    await until('the next snapshot', async () => (await persistence()).saves === saves + 1, 10_000);
    c.close();
  });

  it('kill -9 while a snapshot is being written under write load loses no acknowledged write', async () => {
    srv = await startRaftis({ args: ['--snapshot-entries', '0'] });
    await preload(srv.port, 150_000);
    const acked = new Map<string, string>();
    let killedDuring = 0;
    for (let round = 0; round < 3; round++) {
      const writers = Array.from({ length: 4 }, () => new Redis({ port: srv!.port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null }));
      for (const w of writers) w.on('error', () => {});
      let stop = false;
      let acks = 0;
      const load = writers.map(async (w, wi) => {
        await new Promise<void>((res) => (w.status === 'ready' ? res() : w.once('ready', () => res())));
        for (let i = 0; !stop && i < 200_000; i++) {
          const key = `r${round}:w${wi}:${i % 500}`;
          const val = `${i}`;
          try {
            await w.set(key, val);
            acked.set(key, val);
            acks++;
          } catch {
            return;
          }
        }
      });
      await until('the writers to be under way', () => acks >= 100, 10_000);
      const c = await RawClient.connect(srv.port);
      expect(await c.call('BGSAVE')).toBe('+Background saving started\r\n');
      // Kill at a random moment while the snapshot is in progress.
      await until('the snapshot to start', async () => infoField(await info(c, 'persistence'), 'rdb_bgsave_in_progress') === '1', 5000);
      await new Promise((res) => setTimeout(res, Math.floor(Math.random() * 80)));
      const inProgress = infoField(await info(c, 'persistence'), 'rdb_bgsave_in_progress');
      if (inProgress === '1') killedDuring++;
      c.close();
      await srv.kill9();
      stop = true;
      await Promise.all(load);
      for (const w of writers) w.disconnect();
      await srv.restart();
      const check = new Redis({ port: srv.port, host: '127.0.0.1' });
      const keys = [...acked.keys()];
      const vals = keys.length > 0 ? await check.mget(...keys) : [];
      const lost = keys.filter((k, i) => vals[i] !== acked.get(k) && Number(vals[i]) < Number(acked.get(k)));
      expect(lost, `round ${round} (snapshot in progress at kill: ${inProgress})`).toEqual([]);
      expect(await check.dbsize()).toBeGreaterThanOrEqual(150_000);
      check.disconnect();
      // No temporary file is ever taken for a snapshot.
      for (const f of fs.readdirSync(path.join(srv.dir, 'snapshots'))) expect(f).toMatch(/\.rsnap(\.tmp)?$/);
    }
    expect(acked.size).toBeGreaterThan(100);
    expect(killedDuring).toBeGreaterThan(0);
  }, 120_000);

  it('a damaged newest snapshot: falls back to an older one the log covers, else refuses to start naming the file', async () => {
    srv = await startRaftis({ args: ['--snapshot-entries', '0', '--snapshot-keep-entries', '100000'] });
    const c = await RawClient.connect(srv.port);
    for (let i = 0; i < 50; i++) await c.call('SET', `a${i}`, `${i}`);
    expect(await c.call('SAVE')).toBe('+OK\r\n');
    for (let i = 0; i < 50; i++) await c.call('SET', `b${i}`, `${i}`);
    expect(await c.call('SAVE')).toBe('+OK\r\n');
    const digest = await c.call('RAFT.DIGEST');
    c.close();
    expect(await srv.stop()).toBe(0);
    const files = snapshotsOf(srv.dir);
    expect(files.length).toBe(2);
    const newest = files[0]!.file;
    const b = fs.readFileSync(newest);
    b[Math.floor(b.length / 2)]! ^= 0xff;
    fs.writeFileSync(newest, b);

    // The log still holds everything after the older snapshot: it is used, and the data is whole.
    await srv.restart();
    expect(srv.logs()).toContain(`snapshot ${newest} fails its checksum`);
    const c2 = await RawClient.connect(srv.port);
    expect(await c2.call('RAFT.DIGEST')).toBe(digest);
    c2.close();
    expect(await srv.stop()).toBe(0);

    // Truncate both: with a compacted log nothing covers the gap, so the node must not start.
    const dir = srv.dir;
    srv = undefined;
    const again = await startRaftis({ dir, args: ['--snapshot-entries', '0', '--snapshot-keep-entries', '10'] });
    const c3 = await RawClient.connect(again.port);
    for (let i = 0; i < 30; i++) await c3.call('SET', `c${i}`, `${i}`);
    expect(await c3.call('SAVE')).toBe('+OK\r\n');
    c3.close();
    expect(await again.stop()).toBe(0);
    for (const f of snapshotsOf(dir)) fs.truncateSync(f.file, 40);
    const r = await runRaftisCli(['--port', String(again.port), '--dir', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/raftis: the raft log in .* was compacted up to index \d+ and no usable snapshot covers it/);
    expect(r.out).toContain(snapshotsOf(dir)[0]!.file);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});
