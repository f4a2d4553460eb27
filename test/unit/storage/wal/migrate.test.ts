/**
 * A data directory whose log LogStore kept in LevelDB (formats 1 and 2) is
 * migrated to segment files on the first open; a crash anywhere in the
 * migration leaves the old log in use and the migration is redone.
 */
import { ClassicLevel } from 'classic-level';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LogStore } from '../../../../src/storage/log-store.js';
import { SegmentLog } from '../../../../src/storage/wal/segment-log.js';
import { WalLog } from '../../../../src/storage/wal/wal-log.js';
import { all, cleanupAfterEach, close, open, range, reopen, segments, show, shown, tmp } from './helpers.js';

cleanupAfterEach();
afterEach(() => {
  vi.restoreAllMocks();
});

const members = [
  { id: 1, host: '127.0.0.1', port: 7001, clusterPort: 17001 },
  { id: 2, host: '127.0.0.2', port: 7002, clusterPort: 17002 },
];

/** A directory as today's raftis leaves it: LogStore's format 2, compacted at 100, entries 101..2600, a hard state and members. */
async function logStoreDir(): Promise<string> {
  const dir = tmp();
  const s = await LogStore.open(dir);
  for (let i = 0; i < 26; i++) await s.write(range(i * 100 + 1, i * 100 + 100, 1 + (i >> 3)), { term: 4, vote: 2, commit: i * 100 + 50 });
  await s.compact(100, 1);
  await s.putMembers(members);
  await s.close();
  return dir;
}

async function rawDb<T>(dir: string, fn: (db: ClassicLevel<Buffer, Buffer>) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, 'raft-log'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const want = (): ReturnType<typeof range> => Array.from({ length: 25 }, (_, k) => range((k + 1) * 100 + 1, (k + 1) * 100 + 100, 1 + ((k + 1) >> 3))).flat();

async function expectMigrated(dir: string): Promise<WalLog> {
  const s = await open(dir, { segmentSize: 16 * 1024 });
  expect(await s.compacted()).toEqual({ index: 100, term: 1 });
  expect(await s.hardState()).toEqual({ term: 4, vote: 2, commit: 2550 });
  expect(await s.members()).toEqual(members);
  expect(await s.lastIndex()).toBe(2600);
  expect(show(await all(s))).toEqual(show(want()));
  for (const i of [101, 1000, 1001, 2600]) expect(shown(s.entrySync(i))).toBe(shown(want()[i - 101]));
  return s;
}

describe('WalLog: migration from LogStore', () => {
  it('moves a format 2 log into segment files and drops it from LevelDB', async () => {
    const dir = await logStoreDir();
    const s = await expectMigrated(dir);
    expect(segments(dir).length).toBeGreaterThan(1);
    await s.write(range(2601, 2602, 4), { term: 4, vote: 2, commit: 2600 });
    await close(s);
    await rawDb(dir, async (db) => {
      expect((await db.get(Buffer.from('m')))!.readUInt32BE(0)).toBe(3);
      expect(await db.get(Buffer.from('h'))).toBeUndefined();
      expect(await db.get(Buffer.from('c'))).toBeUndefined();
      expect(await db.keys({ gte: Buffer.from('b'), lt: Buffer.from('c') }).all()).toEqual([]);
      expect(await db.get(Buffer.from('p'))).toBeDefined();
    });
    // LogStore no longer reads the directory; WalLog keeps what was written after the migration.
    await expect(LogStore.open(dir)).rejects.toThrow(/unknown format/);
    const again = await open(dir, { segmentSize: 16 * 1024 });
    expect(await again.lastIndex()).toBe(2602);
    expect(fs.existsSync(path.join(dir, 'wal.tmp'))).toBe(false);
  });

  it('moves a format 1 log (one LevelDB record per entry)', async () => {
    const dir = tmp();
    await rawDb(dir, async (db) => {
      const meta = Buffer.alloc(4);
      meta.writeUInt32BE(1);
      const hs = Buffer.alloc(24);
      hs.writeUInt32BE(3, 4);
      hs.writeUInt32BE(1, 12);
      hs.writeUInt32BE(20, 20);
      const key = (i: number): Buffer => {
        const k = Buffer.alloc(9);
        k.write('e', 0, 'latin1');
        k.writeUInt32BE(i, 5);
        return k;
      };
      await db.batch([
        { type: 'put', key: Buffer.from('m'), value: meta },
        { type: 'put', key: Buffer.from('h'), value: hs },
        ...range(1, 30, 3).map((e) => {
          const v = Buffer.alloc(9 + e.data.length);
          v.writeUInt32BE(e.term, 4);
          v[8] = e.type;
          e.data.copy(v, 9);
          return { type: 'put' as const, key: key(e.index), value: v };
        }),
      ]);
    });
    const s = await open(dir);
    expect(await s.hardState()).toEqual({ term: 3, vote: 1, commit: 20 });
    expect(show(await all(s))).toEqual(show(range(1, 30, 3)));
    expect(await s.members()).toBeUndefined();
  });

  it('a migration that fails half way leaves the old log in use, and the next open migrates it whole', async () => {
    const dir = await logStoreDir();
    // The process "dies" after some of the entries reached wal.tmp.
    let writes = 0;
    const real = SegmentLog.prototype.write;
    vi.spyOn(SegmentLog.prototype, 'write').mockImplementation(function (this: SegmentLog, ...args) {
      if (++writes === 2) throw new Error('crash during migration');
      return real.apply(this, args);
    });
    await expect(WalLog.open(dir)).rejects.toThrow('crash during migration');
    vi.restoreAllMocks();
    expect(fs.existsSync(path.join(dir, 'wal.tmp'))).toBe(true);
    await rawDb(dir, async (db) => expect((await db.get(Buffer.from('m')))!.readUInt32BE(0)).toBe(2));
    await close(await expectMigrated(dir));
    expect(fs.existsSync(path.join(dir, 'wal.tmp'))).toBe(false);
  });

  it('a crash after the segment files are in place but before the format record is redone from LevelDB', async () => {
    const dir = await logStoreDir();
    const setFormat = vi.spyOn((await import('../../../../src/storage/wal/node-state.js')).NodeState.prototype, 'setWalFormat').mockRejectedValueOnce(new Error('crash before the format record'));
    await expect(WalLog.open(dir)).rejects.toThrow('crash before the format record');
    expect(setFormat).toHaveBeenCalled();
    vi.restoreAllMocks();
    // wal/ is complete but not yet the log: damage it to prove it is not read, only replaced.
    const first = segments(dir)[0]!;
    fs.writeFileSync(first, 'garbage');
    const s = await expectMigrated(dir);
    const again = await reopen(s, { segmentSize: 16 * 1024 });
    expect(await again.lastIndex()).toBe(2600);
  });
});
