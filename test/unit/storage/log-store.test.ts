import { ClassicLevel } from 'classic-level';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CorruptDataError, DataDirLockedError } from '../../../src/storage/errors.js';
import { LogStore, type StoredEntry } from '../../../src/storage/log-store.js';

const dirs: string[] = [];
const stores: LogStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-logstore-'));
  dirs.push(d);
  return d;
}

async function open(dir: string): Promise<LogStore> {
  const s = await LogStore.open(dir);
  stores.push(s);
  return s;
}

async function close(s: LogStore): Promise<void> {
  stores.splice(stores.indexOf(s), 1);
  await s.close();
}

async function reopen(s: LogStore): Promise<LogStore> {
  await close(s);
  return open(s.dir);
}

/** The LevelDB under a (closed) store, for writing records behind LogStore's back. */
async function withRawDb(dir: string, fn: (db: ClassicLevel<Buffer, Buffer>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, 'raft-log'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

const key = (prefix: string, index: number): Buffer => {
  const k = Buffer.alloc(9);
  k.write(prefix, 0, 'latin1');
  k.writeBigUInt64BE(BigInt(index), 1);
  return k;
};

/** Re-keys the record starting at `from` to start at `to`, behind LogStore's back (a gap or an overlap it never makes). */
async function moveRecord(dir: string, from: number, to: number): Promise<void> {
  await withRawDb(dir, async (db) => {
    const rec = (await db.get(key('b', from)))!;
    await db.batch([
      { type: 'del', key: key('b', from) },
      { type: 'put', key: key('b', to), value: rec },
    ]);
  });
}

async function all(s: LogStore, lo?: number, hi?: number): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  for await (const e of s.entries(lo, hi)) out.push({ ...e, data: Buffer.from(e.data) });
  return out;
}

const entry = (index: number, term: number, data: string): StoredEntry => ({ index, term, type: 0, data: Buffer.from(data) });
/** Entries lo..hi (inclusive), data `d<index>` (one in seven empty, one in five of type 1). */
const range = (lo: number, hi: number, term: number): StoredEntry[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => ({
    index: lo + i,
    term,
    type: (lo + i) % 5 === 0 ? 1 : 0,
    data: Buffer.from((lo + i) % 7 === 0 ? '' : `d${lo + i}`),
  }));
const show = (es: StoredEntry[]): string[] => es.map((e) => `${e.index}/${e.term}/${e.type}/${e.data.toString()}`);
const shown = (e: StoredEntry | undefined): string | undefined => (e === undefined ? undefined : show([e])[0]);

describe('LogStore', () => {
  it('persists entries and hard state across reopen, in index order', async () => {
    const s = await open(tmp());
    expect(await s.hardState()).toEqual({ term: 0, vote: 0, commit: 0 });
    expect(await s.lastIndex()).toBe(0);
    await s.write([entry(1, 1, 'a'), entry(2, 1, 'b')], { term: 2, vote: 3, commit: 2 });
    await s.write(Array.from({ length: 253 }, (_, i) => entry(i + 3, 2, `x${i}`)));
    // 256 = 0x100: big-endian keys keep LevelDB order = log order.
    await s.write([entry(256, 2, 'c')]);
    expect(await s.lastIndex()).toBe(256);
    const s2 = await reopen(s);
    expect(await s2.hardState()).toEqual({ term: 2, vote: 3, commit: 2 });
    expect(await s2.lastIndex()).toBe(256);
    const es = await all(s2);
    expect(es.map((e) => e.index)).toEqual(Array.from({ length: 256 }, (_, i) => i + 1));
    expect(es[0]!.data.toString()).toBe('a');
    expect(es[2]!.data.toString()).toBe('x0');
    expect(es[255]!.data.toString()).toBe('c');
  });

  it('many writes, one record each: entries, lastIndex and entrySync after reopen', async () => {
    const s = await open(tmp());
    const sizes = [1, 37, 400, 2, 1, 123, 64, 999, 5, 17];
    const written: StoredEntry[] = [];
    let next = 1;
    for (const [i, n] of sizes.entries()) {
      const es = range(next, next + n - 1, 1 + (i >> 2));
      await s.write(es, { term: 3, vote: 1, commit: next }, undefined, i % 2 === 0);
      written.push(...es);
      next += n;
    }
    const last = next - 1;
    expect(await s.lastIndex()).toBe(last);
    const s2 = await reopen(s);
    expect(await s2.lastIndex()).toBe(last);
    expect(show(await all(s2))).toEqual(show(written));
    expect(show(await all(s2, 40, 445))).toEqual(show(written.slice(39, 444)));
    // First, middle and last entry of each record, in an order that defeats the one-record cache.
    let start = 1;
    const probes: number[] = [];
    for (const n of sizes) {
      probes.push(start, start + (n >> 1), start + n - 1);
      start += n;
    }
    for (const i of [...probes].reverse()) expect(shown(s2.entrySync(i))).toBe(shown(written[i - 1]));
    for (const i of probes) expect(shown(s2.entrySync(i))).toBe(shown(written[i - 1]));
    expect(s2.entrySync(0)).toBeUndefined();
    expect(s2.entrySync(last + 1)).toBeUndefined();
  });

  it('entrySync reads sequentially across records, fetching each record once', async () => {
    const s = await open(tmp());
    const written = range(1, 1000, 2);
    for (let i = 0; i < 1000; i += 100) await s.write(written.slice(i, i + 100));
    const db = (s as unknown as { db: ClassicLevel<Buffer, Buffer> }).db;
    const getSync = vi.spyOn(db, 'getSync');
    for (let i = 1; i <= 1000; i++) expect(shown(s.entrySync(i))).toBe(shown(written[i - 1]));
    expect(getSync).toHaveBeenCalledTimes(10);
    // Writes after the cached record leave it valid; a cut through it does not.
    await s.write(range(1001, 1010, 2));
    expect(shown(s.entrySync(999))).toBe(shown(written[998]));
    await s.write(range(950, 960, 3), undefined, 950);
    expect(shown(s.entrySync(955))).toBe('955/3/1/d955');
    expect(shown(s.entrySync(949))).toBe(shown(written[948]));
    expect(s.entrySync(961)).toBeUndefined();
    getSync.mockRestore();
  });

  it('refuses entries that are not consecutive or would leave a gap', async () => {
    const s = await open(tmp());
    await expect(s.write([entry(2, 1, 'b'), entry(1, 1, 'a')])).rejects.toThrow(/consecutive/);
    await expect(s.write([entry(1, 1, 'a'), entry(3, 1, 'c')])).rejects.toThrow(/consecutive/);
    await expect(s.write([entry(1, 1, 'a'), entry(1, 1, 'a')])).rejects.toThrow(/consecutive/);
    await s.write([entry(1, 1, 'a'), entry(2, 1, 'b')]);
    const gap = s.write([entry(5, 1, 'e')]);
    await expect(gap).rejects.toThrow(/gap/);
    await expect(gap).rejects.not.toBeInstanceOf(CorruptDataError);
    // A cut that the entries do not reach is a gap too.
    await expect(s.write([entry(3, 2, 'c')], undefined, 2)).rejects.toThrow(/gap/);
    // Nothing was written by the refused calls.
    expect(show(await all(s))).toEqual(['1/1/0/a', '2/1/0/b']);
    expect(await s.lastIndex()).toBe(2);
  });

  it('truncates a conflicting suffix', async () => {
    const s = await open(tmp());
    await s.write([entry(1, 1, 'a'), entry(2, 1, 'b'), entry(3, 1, 'c')]);
    await s.write([entry(2, 2, 'B')], undefined, 2);
    expect(show(await all(s))).toEqual(['1/1/0/a', '2/2/0/B']);
    expect(await s.lastIndex()).toBe(2);
  });

  it('truncates in the middle of a record and at a record boundary, durably', async () => {
    const s = await open(tmp());
    await s.write(range(1, 10, 1));
    await s.write(range(11, 20, 1));
    await s.write(range(21, 30, 1));
    // Middle of the second record: 11..14 stay, 15..30 go.
    await s.write(range(15, 17, 2), undefined, 15);
    expect(await s.lastIndex()).toBe(17);
    let want = [...range(1, 14, 1), ...range(15, 17, 2)];
    expect(show(await all(s))).toEqual(show(want));
    // At a record boundary (15 starts the last record), and without truncateFrom: it overwrites all the same.
    await s.write(range(15, 16, 3));
    want = [...range(1, 14, 1), ...range(15, 16, 3)];
    expect(show(await all(s))).toEqual(show(want));
    // At the boundary of the first record, with truncateFrom past the entries' start.
    await s.write(range(11, 12, 4), undefined, 12);
    want = [...range(1, 10, 1), ...range(11, 12, 4)];
    expect(show(await all(s))).toEqual(show(want));
    // A cut with no entries.
    await s.write([], undefined, 6);
    want = range(1, 5, 1);
    expect(await s.lastIndex()).toBe(5);
    await s.write(range(6, 8, 5));
    want = [...range(1, 5, 1), ...range(6, 8, 5)];
    const s2 = await reopen(s);
    expect(await s2.lastIndex()).toBe(8);
    expect(show(await all(s2))).toEqual(show(want));
    for (let i = 1; i <= 8; i++) expect(shown(s2.entrySync(i))).toBe(shown(want[i - 1]));
    expect(s2.entrySync(9)).toBeUndefined();
    // A cut past the end changes nothing.
    await s2.write(range(9, 9, 5), undefined, 9);
    expect(await s2.lastIndex()).toBe(9);
  });

  it('compacts at a record boundary and in the middle of a record, durably', async () => {
    const s = await open(tmp());
    for (let i = 0; i < 5; i++) await s.write(range(i * 10 + 1, i * 10 + 10, 1));
    const db = (s as unknown as { db: ClassicLevel<Buffer, Buffer> }).db;
    const recordCount = async (): Promise<number> => (await db.keys({ gte: Buffer.from('b'), lt: Buffer.from('c') }).all()).length;

    await s.compact(20, 1); // boundary: the first two records go
    expect(await recordCount()).toBe(3);
    expect(await s.compacted()).toEqual({ index: 20, term: 1 });
    expect((await all(s, 21)).map((e) => e.index)).toEqual(range(21, 50, 1).map((e) => e.index));
    expect(s.entrySync(20)).toBeUndefined();
    expect(shown(s.entrySync(21))).toBe(shown(range(21, 21, 1)[0]));

    await s.compact(35, 1); // middle of the fourth record: it stays, entries up to 35 are not read back
    expect(await recordCount()).toBe(2);
    expect((await all(s, 36)).map((e) => e.index)).toEqual(range(36, 50, 1).map((e) => e.index));
    expect((await all(s)).map((e) => e.index)).toEqual(range(36, 50, 1).map((e) => e.index));
    expect(s.entrySync(35)).toBeUndefined();
    expect(shown(s.entrySync(36))).toBe('36/1/0/d36');
    expect(await s.lastIndex()).toBe(50);

    const s2 = await reopen(s);
    expect(await s2.compacted()).toEqual({ index: 35, term: 1 });
    expect(await s2.lastIndex()).toBe(50);
    expect(show(await all(s2, 36))).toEqual(show(range(36, 50, 1)));
    expect(shown(s2.entrySync(36))).toBe('36/1/0/d36');
    expect(shown(s2.entrySync(50))).toBe('50/1/1/d50');
    await s2.write(range(51, 52, 2));
    expect((await all(s2)).map((e) => e.index)).toEqual(range(36, 52, 1).map((e) => e.index));

    // Everything: no records left, the log continues after the compaction point.
    await s2.compact(52, 2);
    expect(await s2.lastIndex()).toBe(0);
    expect(await all(s2)).toEqual([]);
    await s2.write(range(53, 54, 2));
    const s3 = await reopen(s2);
    expect(show(await all(s3))).toEqual(show(range(53, 54, 2)));
    expect(await s3.lastIndex()).toBe(54);
  });

  it('finishes on open a compaction that a crash interrupted', async () => {
    const dir = tmp();
    const s = await open(dir);
    for (let i = 0; i < 3; i++) await s.write(range(i * 10 + 1, i * 10 + 10, 1));
    await close(s);
    // The compaction point was recorded, then the process died before the records were deleted.
    await withRawDb(dir, (db) => db.put(Buffer.from('c'), Buffer.concat([key('\0', 25).subarray(1), key('\0', 1).subarray(1)])));
    const s2 = await open(dir);
    expect(await s2.compacted()).toEqual({ index: 25, term: 1 });
    expect((await all(s2)).map((e) => e.index)).toEqual(range(26, 30, 1).map((e) => e.index));
    await s2.write(range(31, 31, 1));
    await close(s2);
    await withRawDb(dir, async (db) => {
      expect((await db.keys({ gte: Buffer.from('b'), lt: Buffer.from('c') }).all()).map((k) => k.readUInt32BE(5))).toEqual([21, 31]);
    });
  });

  it('replaceWithSnapshot empties the log; writes after it append', async () => {
    const s = await open(tmp());
    await s.write(range(1, 10, 1));
    await s.write(range(11, 20, 1));
    s.entrySync(15); // cached
    await s.replaceWithSnapshot(500, 4, { term: 4, vote: 2, commit: 500 });
    expect(await s.lastIndex()).toBe(0);
    expect(s.entrySync(15)).toBeUndefined();
    expect(await all(s)).toEqual([]);
    await s.write(range(501, 503, 4), { term: 4, vote: 2, commit: 501 });
    expect(await s.lastIndex()).toBe(503);
    const s2 = await reopen(s);
    expect(await s2.compacted()).toEqual({ index: 500, term: 4 });
    expect(await s2.hardState()).toEqual({ term: 4, vote: 2, commit: 501 });
    expect(show(await all(s2))).toEqual(show(range(501, 503, 4)));
    expect(shown(s2.entrySync(502))).toBe(shown(range(502, 502, 4)[0]));
    expect(s2.entrySync(500)).toBeUndefined();
  });

  it('migrates a format 1 log (one record per entry) in place', async () => {
    const dir = tmp();
    const want = range(1, 2345, 3);
    await withRawDb(dir, async (db) => {
      const meta = Buffer.alloc(4);
      meta.writeUInt32BE(1);
      const hs = Buffer.alloc(24);
      hs.writeUInt32BE(3, 4);
      hs.writeUInt32BE(1, 12);
      hs.writeUInt32BE(2000, 20);
      await db.batch([
        { type: 'put', key: Buffer.from('m'), value: meta },
        { type: 'put', key: Buffer.from('h'), value: hs },
        ...want.map((e) => {
          const v = Buffer.alloc(9 + e.data.length);
          v.writeUInt32BE(e.term, 4);
          v[8] = e.type;
          e.data.copy(v, 9);
          return { type: 'put' as const, key: key('e', e.index), value: v };
        }),
      ]);
    });
    const s = await open(dir);
    expect(await s.hardState()).toEqual({ term: 3, vote: 1, commit: 2000 });
    expect(await s.lastIndex()).toBe(2345);
    expect(show(await all(s))).toEqual(show(want));
    for (const i of [1, 1000, 1001, 2000, 2001, 2345]) expect(shown(s.entrySync(i))).toBe(shown(want[i - 1]));
    await s.write(range(2346, 2346, 3));
    await close(s);
    await withRawDb(dir, async (db) => {
      expect((await db.get(Buffer.from('m')))!.readUInt32BE(0)).toBe(2);
      expect(await db.keys({ gte: Buffer.from('e'), lt: Buffer.from('f') }).all()).toEqual([]);
      const starts = (await db.keys({ gte: Buffer.from('b'), lt: Buffer.from('c') }).all()).map((k) => k.readUInt32BE(5));
      expect(starts).toEqual([1, 1001, 2001, 2346]);
    });
    const s2 = await open(dir);
    expect(show(await all(s2))).toEqual(show(range(1, 2346, 3)));
  });

  it('migrating a format 1 log keeps a gap a gap', async () => {
    const dir = tmp();
    await withRawDb(dir, async (db) => {
      const meta = Buffer.alloc(4);
      meta.writeUInt32BE(1);
      const v = Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 0, 0x78]);
      await db.batch([
        { type: 'put', key: Buffer.from('m'), value: meta },
        { type: 'put', key: key('e', 1), value: v },
        { type: 'put', key: key('e', 3), value: v },
      ]);
    });
    const s = await open(dir);
    await expect(all(s)).rejects.toThrow(/gap: entries 2 to 2 are missing/);
  });

  it('refuses a directory another process holds, an unknown format, and reports gaps and bad records as corruption', async () => {
    const dir = tmp();
    await open(dir);
    await expect(LogStore.open(dir)).rejects.toBeInstanceOf(DataDirLockedError);

    const other = tmp();
    await withRawDb(other, (db) => db.put(Buffer.from('m'), Buffer.from([0, 0, 0, 3])));
    await expect(LogStore.open(other)).rejects.toThrow(/unknown format/);

    // A gap between records, made behind LogStore's back (write() refuses to make one).
    const gapDir = tmp();
    const s = await open(gapDir);
    await s.write([entry(1, 1, 'a'), entry(2, 1, 'b')]);
    await s.write([entry(3, 1, 'c'), entry(4, 1, 'd')]);
    await close(s);
    await moveRecord(gapDir, 3, 4);
    const g = await open(gapDir);
    await expect(all(g)).rejects.toThrow(CorruptDataError);
    await expect(all(g)).rejects.toThrow(/gap: entries 3 to 3 are missing/);

    // Overlapping records.
    await close(g);
    await moveRecord(gapDir, 4, 2);
    const o = await open(gapDir);
    await expect(all(o)).rejects.toThrow(/overlapping/);

    // A record whose length does not decode exactly.
    await close(o);
    await withRawDb(gapDir, async (db) => {
      const rec = (await db.get(key('b', 2)))!;
      await db.batch([
        { type: 'del', key: key('b', 2) },
        { type: 'put', key: key('b', 3), value: Buffer.concat([rec, Buffer.from([0])]) },
      ]);
    });
    await expect(LogStore.open(gapDir)).rejects.toThrow(/malformed/);
  });
});
