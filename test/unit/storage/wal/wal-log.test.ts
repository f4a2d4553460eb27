/**
 * WalLog against every guarantee of LogBackend (src/storage/log-backend.ts),
 * each checked again after a reopen, with both I/O modes: write + fdatasync
 * on the main thread (the product's) and on the thread pool.
 */
import { describe, expect, it } from 'vitest';
import { CorruptDataError, DataDirLockedError } from '../../../../src/storage/errors.js';
import { WalLog } from '../../../../src/storage/wal/wal-log.js';
import type { StoredEntry } from '../../../../src/storage/log-backend.js';
import { all, cleanupAfterEach, close, entry, open, range, recordTypes, reopen, segments, show, shown, tmp, wire } from './helpers.js';

cleanupAfterEach();

for (const [io, from] of [['main', 'leader'], ['pool', 'leader'], ['main', 'wire'], ['pool', 'wire']] as const) {
  const opts = { io };
  // Entries as the leader makes them (encoded into entries records) or as a follower receives
  // them (written as the bytes they came in: wire entries records); read back the same.
  const W = from === 'wire' ? wire : (es: StoredEntry[]): StoredEntry[] => es;
  const R = (lo: number, hi: number, term: number): StoredEntry[] => W(range(lo, hi, term));
  describe(`WalLog (io: ${io}, entries from the ${from})`, () => {
    it('persists entries and hard state across reopen, in index order', async () => {
      const s = await open(tmp(), opts);
      expect(await s.hardState()).toEqual({ term: 0, vote: 0, commit: 0 });
      expect(await s.compacted()).toEqual({ index: 0, term: 0 });
      expect(await s.lastIndex()).toBe(0);
      await s.write(W([entry(1, 1, 'a'), entry(2, 1, 'b')]), { term: 2, vote: 3, commit: 2 });
      await s.write(W(Array.from({ length: 253 }, (_, i) => entry(i + 3, 2, `x${i}`))));
      await s.write(W([entry(256, 2, 'c')]));
      // A write of only a hard state.
      await s.write([], { term: 2, vote: 3, commit: 256 });
      expect(await s.lastIndex()).toBe(256);
      const s2 = await reopen(s, opts);
      expect(await s2.hardState()).toEqual({ term: 2, vote: 3, commit: 256 });
      expect(await s2.lastIndex()).toBe(256);
      const es = await all(s2);
      expect(es.map((e) => e.index)).toEqual(Array.from({ length: 256 }, (_, i) => i + 1));
      expect(es[0]!.data.toString()).toBe('a');
      expect(es[2]!.data.toString()).toBe('x0');
      expect(es[255]!.data.toString()).toBe('c');
      // Each write's entries went to disk as one record of the kind their source calls for.
      const entriesRecords = recordTypes(segments(s2.dir)[0]!).filter((t) => t === 1 || t === 6);
      expect(entriesRecords).toEqual(from === 'wire' ? [6, 6, 6] : [1, 1, 1]);
    });

    it('many writes: entries, ranges and entrySync after reopen', async () => {
      const s = await open(tmp(), opts);
      const sizes = [1, 37, 400, 2, 1, 123, 64, 999, 5, 17];
      const written: StoredEntry[] = [];
      let next = 1;
      for (const [i, n] of sizes.entries()) {
        const es = R(next, next + n - 1, 1 + (i >> 2));
        await s.write(es, { term: 3, vote: 1, commit: next }, undefined, i % 2 === 0);
        written.push(...es);
        next += n;
      }
      const last = next - 1;
      for (const s2 of [s, await reopen(s, opts)]) {
        if (s2 !== s) expect(await s2.lastIndex()).toBe(last);
        expect(show(await all(s2))).toEqual(show(written));
        expect(show(await all(s2, 40, 445))).toEqual(show(written.slice(39, 444)));
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
      }
    });

    it('refuses entries that are not consecutive or would leave a gap, writing nothing', async () => {
      const s = await open(tmp(), opts);
      await expect(s.write(W([entry(2, 1, 'b'), entry(1, 1, 'a')]))).rejects.toThrow(/consecutive/);
      await expect(s.write(W([entry(1, 1, 'a'), entry(3, 1, 'c')]))).rejects.toThrow(/consecutive/);
      await s.write(W([entry(1, 1, 'a'), entry(2, 1, 'b')]));
      const gap = s.write(W([entry(5, 1, 'e')]));
      await expect(gap).rejects.toThrow(/gap/);
      await expect(gap).rejects.not.toBeInstanceOf(CorruptDataError);
      await expect(s.write(W([entry(3, 2, 'c')]), undefined, 2)).rejects.toThrow(/gap/);
      expect(show(await all(s))).toEqual(['1/1/0/a', '2/1/0/b']);
      const s2 = await reopen(s, opts);
      expect(show(await all(s2))).toEqual(['1/1/0/a', '2/1/0/b']);
    });

    it('truncates a conflicting suffix inside a record, at a boundary, and with no entries, durably', async () => {
      const s = await open(tmp(), opts);
      await s.write(R(1, 10, 1));
      await s.write(R(11, 20, 1));
      await s.write(R(21, 30, 1));
      expect(shown(s.entrySync(16))).toBe(shown(R(16, 16, 1)[0]));
      await s.write(R(15, 17, 2), undefined, 15);
      expect(await s.lastIndex()).toBe(17);
      expect(shown(s.entrySync(16))).toBe('16/2/0/d16');
      expect(show(await all(s))).toEqual(show([...R(1, 14, 1), ...R(15, 17, 2)]));
      await s.write(R(15, 16, 3));
      await s.write(R(11, 12, 4), undefined, 12);
      expect(show(await all(s))).toEqual(show([...R(1, 10, 1), ...R(11, 12, 4)]));
      await s.write([], undefined, 6);
      expect(await s.lastIndex()).toBe(5);
      expect(s.entrySync(6)).toBeUndefined();
      await s.write(R(6, 8, 5));
      const want = [...R(1, 5, 1), ...R(6, 8, 5)];
      const s2 = await reopen(s, opts);
      expect(await s2.lastIndex()).toBe(8);
      expect(show(await all(s2))).toEqual(show(want));
      for (let i = 1; i <= 8; i++) expect(shown(s2.entrySync(i))).toBe(shown(want[i - 1]));
      expect(s2.entrySync(9)).toBeUndefined();
      await s2.write(R(9, 9, 5), undefined, 9);
      expect(await s2.lastIndex()).toBe(9);
    });

    it('compacts at a record boundary and inside a record, durably; the log continues after a full compaction', async () => {
      const s = await open(tmp(), opts);
      for (let i = 0; i < 5; i++) await s.write(R(i * 10 + 1, i * 10 + 10, 1));
      await s.compact(20, 1);
      expect(await s.compacted()).toEqual({ index: 20, term: 1 });
      expect((await all(s)).map((e) => e.index)).toEqual(R(21, 50, 1).map((e) => e.index));
      expect(s.entrySync(20)).toBeUndefined();
      await s.compact(35, 1);
      expect((await all(s, 30)).map((e) => e.index)).toEqual(R(36, 50, 1).map((e) => e.index));
      expect(s.entrySync(35)).toBeUndefined();
      expect(shown(s.entrySync(36))).toBe('36/1/0/d36');
      const s2 = await reopen(s, opts);
      expect(await s2.compacted()).toEqual({ index: 35, term: 1 });
      expect(await s2.lastIndex()).toBe(50);
      expect(show(await all(s2))).toEqual(show(R(36, 50, 1)));
      await s2.write(R(51, 52, 2));
      await s2.compact(52, 2);
      expect(await s2.lastIndex()).toBe(0);
      expect(await all(s2)).toEqual([]);
      await s2.write(R(53, 54, 2));
      const s3 = await reopen(s2, opts);
      expect(await s3.compacted()).toEqual({ index: 52, term: 2 });
      expect(show(await all(s3))).toEqual(show(R(53, 54, 2)));
    });

    it('a compaction overlapping a write loses neither', async () => {
      const s = await open(tmp(), opts);
      await s.write(R(1, 100, 1));
      await Promise.all([s.write(R(101, 120, 1), { term: 1, vote: 1, commit: 100 }), s.compact(60, 1)]);
      const s2 = await reopen(s, opts);
      expect(await s2.compacted()).toEqual({ index: 60, term: 1 });
      expect(await s2.hardState()).toEqual({ term: 1, vote: 1, commit: 100 });
      expect(show(await all(s2))).toEqual(show(R(61, 120, 1)));
    });

    it('replaceWithSnapshot empties the log, durably; writes after it append', async () => {
      const s = await open(tmp(), opts);
      await s.write(R(1, 10, 1));
      await s.write(R(11, 20, 1));
      s.entrySync(15);
      await s.replaceWithSnapshot(500, 4, { term: 4, vote: 2, commit: 500 });
      expect(await s.lastIndex()).toBe(0);
      expect(s.entrySync(15)).toBeUndefined();
      expect(await all(s)).toEqual([]);
      expect(await s.hardState()).toEqual({ term: 4, vote: 2, commit: 500 });
      const r = await reopen(s, opts);
      expect(await r.compacted()).toEqual({ index: 500, term: 4 });
      expect(await all(r)).toEqual([]);
      await r.write(R(501, 503, 4), { term: 4, vote: 2, commit: 501 });
      const s2 = await reopen(r, opts);
      expect(await s2.compacted()).toEqual({ index: 500, term: 4 });
      expect(await s2.hardState()).toEqual({ term: 4, vote: 2, commit: 501 });
      expect(show(await all(s2))).toEqual(show(R(501, 503, 4)));
      expect(shown(s2.entrySync(502))).toBe(shown(R(502, 502, 4)[0]));
      expect(s2.entrySync(500)).toBeUndefined();
    });

    it('keeps the members in LevelDB, durably', async () => {
      const s = await open(tmp(), opts);
      expect(await s.members()).toBeUndefined();
      const list = [
        { id: 1, host: '127.0.0.1', port: 7001, clusterPort: 17001 },
        { id: 2, host: '127.0.0.2', port: 7002, clusterPort: 17002 },
      ];
      await s.putMembers(list);
      const s2 = await reopen(s, opts);
      expect(await s2.members()).toEqual(list);
    });

    it('the data of an entrySync entry is only a view: a later read does not change an earlier copy', async () => {
      const s = await open(tmp(), opts);
      await s.write(R(1, 3, 1));
      await s.write(R(4, 6, 1));
      const a = Buffer.from(s.entrySync(2)!.data);
      s.entrySync(5);
      expect(a.toString()).toBe('d2');
    });
  });
}

describe('WalLog: the data directory', () => {
  it('refuses a directory another process holds, and an unknown format', async () => {
    const dir = tmp();
    const s = await open(dir);
    await expect(WalLog.open(dir)).rejects.toBeInstanceOf(DataDirLockedError);
    await close(s);
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel<Buffer, Buffer>(`${dir}/raft-log`, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    await db.put(Buffer.from('m'), Buffer.from([0, 0, 0, 9]));
    await db.close();
    await expect(WalLog.open(dir)).rejects.toThrow(/unknown format/);
  });

  it('a format 3 directory whose wal/ is gone is refused, not started afresh', async () => {
    const dir = tmp();
    const s = await open(dir);
    await s.write(range(1, 3, 1), { term: 1, vote: 1, commit: 3 });
    await close(s);
    const { rmSync } = await import('node:fs');
    rmSync(`${dir}/wal`, { recursive: true });
    await expect(WalLog.open(dir)).rejects.toThrow(/raft log in .* is missing/);
  });

  it('a wal/ holding a log beside a raft-log/ without a format record is refused; a blank one is used', async () => {
    const dir = tmp();
    const s = await open(dir);
    await s.write(range(1, 3, 1));
    await close(s);
    const fs = await import('node:fs');
    fs.rmSync(`${dir}/raft-log`, { recursive: true });
    await expect(WalLog.open(dir)).rejects.toThrow(/holds a raft log, but .* has no record of it/);
    // A first start that died after creating the empty log, before its format record.
    const fresh = tmp();
    await close(await open(fresh));
    fs.rmSync(`${fresh}/raft-log`, { recursive: true });
    const again = await open(fresh);
    await again.write(range(1, 2, 1));
    expect(show(await all(await reopen(again)))).toEqual(show(range(1, 2, 1)));
    expect(segments(fresh).length).toBe(1);
  });
});

describe('WalLog: reading back', () => {
  it('reads a log larger than its 1 MiB read window, across window edges, after reopen', async () => {
    const s = await open(tmp());
    const written: StoredEntry[] = [];
    for (let i = 0; i < 300; i++) {
      const es = range(i * 10 + 1, i * 10 + 10, 1, 500 + (i % 13) * 37);
      await s.write(es);
      written.push(...es);
    }
    const s2 = await reopen(s);
    expect(show(await all(s2))).toEqual(show(written));
    expect(show(await all(s2, 1234, 2345))).toEqual(show(written.slice(1233, 2344)));
    for (const i of [1, 1500, 2999, 3000]) expect(shown(s2.entrySync(i))).toBe(shown(written[i - 1]));
  });
});
