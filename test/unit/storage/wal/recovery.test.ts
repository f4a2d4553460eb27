/**
 * What a crash or a damaged disk leaves, and what WalLog makes of it: a
 * torn last write (the file cut at every byte offset of its last records, or
 * its unwritten sectors zero) recovers to the last whole write; damage
 * before the tail is refused with the file and offset; segments roll over
 * when full and are deleted behind the compaction point.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptDataError } from '../../../../src/storage/errors.js';
import { HARD_STATE_RECORD } from '../../../../src/storage/wal/record.js';
import { WalLog } from '../../../../src/storage/wal/wal-log.js';
import type { StoredEntry } from '../../../../src/storage/log-backend.js';
import { all, cleanupAfterEach, close, open, range, recordTypes, reopen, segments, show, shown, tmp, wireRange } from './helpers.js';

cleanupAfterEach();

const SMALL = { segmentSize: 4096 };

type Make = (lo: number, hi: number, term: number, pad?: number) => StoredEntry[];

/**
 * A log of three writes, the last one (entries 6..8 and a hard state) at [start, end) of the only
 * segment; entries made by `R` (the leader's, or a follower's as received: wire entries records).
 */
async function threeWrites(dir: string, pad = 40, R: Make = range): Promise<{ start: number; end: number }> {
  const s = await open(dir, SMALL);
  await s.write(R(1, 3, 1), { term: 1, vote: 1, commit: 1 });
  await s.write(R(4, 5, 1), { term: 1, vote: 1, commit: 3 });
  const file = segments(dir)[0]!;
  const start = usedBytes(s);
  await s.write(R(6, 8, 2, pad), { term: 2, vote: 1, commit: 5 });
  const end = usedBytes(s);
  await close(s);
  expect(segments(dir)).toEqual([file]);
  expect(recordTypes(file).slice(2)).toEqual(Array.from({ length: 3 }, () => [R === range ? 1 : 6, 2]).flat());
  return { start, end };
}

/** Where the next write of the log goes (end of its records). */
function usedBytes(s: WalLog): number {
  const segs = (s.log as unknown as { segs: { end: number }[] }).segs;
  return segs[segs.length - 1]!.end;
}

function copyDir(from: string): string {
  const to = tmp();
  fs.cpSync(from, to, { recursive: true });
  return to;
}

for (const [from, R] of [['leader', range], ['wire', wireRange]] as const) {
  describe(`WalLog recovery (entries from the ${from})`, () => {
    it('a last write cut at every byte offset recovers to the write before it; a whole one is kept', async () => {
      const base = tmp();
      const { start, end } = await threeWrites(base, 40, R);
      expect(end - start).toBeGreaterThan(140);
      // The write is an entries record, then a hard state record: the entries may survive without
      // the hard state (LogBackend allows it), the hard state never without the entries.
      const entriesEnd = end - HARD_STATE_RECORD;
      for (let cut = start; cut <= end; cut++) {
        const dir = copyDir(base);
        fs.truncateSync(segments(dir)[0]!, cut);
        const s = await open(dir, SMALL);
        const kept = cut >= entriesEnd;
        expect(await s.lastIndex(), `cut at ${cut}`).toBe(kept ? 8 : 5);
        expect(await s.hardState()).toEqual(cut === end ? { term: 2, vote: 1, commit: 5 } : { term: 1, vote: 1, commit: 3 });
        expect(show(await all(s))).toEqual(show(kept ? [...R(1, 5, 1), ...R(6, 8, 2, 40)] : R(1, 5, 1)));
        // The log goes on where the whole records end, and reads back after another reopen.
        const next = kept ? 9 : 6;
        await s.write(R(next, next, 3));
        if (cut % 8 === 0 || cut === end || cut === entriesEnd) {
          const s2 = await reopen(s, SMALL);
          expect(await s2.lastIndex()).toBe(next);
          expect(shown(s2.entrySync(next))).toBe(shown(R(next, next, 3)[0]));
          await close(s2);
        } else {
          await close(s);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a last write whose later sectors never reached the disk (zeros) is cut', async () => {
      const base = tmp();
      // The last write spans a sector boundary, so that a sector of it can be missing.
      const { start, end } = await threeWrites(base, 300, R);
      expect(Math.floor(start / 512)).toBeLessThan(Math.floor(end / 512));
      const seen = { torn: 0, refused: 0 };
      // Zero the write from every 7th byte offset to its end: the part that did not reach the disk.
      for (let from = start; from < end; from += 7) {
        const dir = copyDir(base);
        const file = segments(dir)[0]!;
        const fd = fs.openSync(file, 'r+');
        fs.writeSync(fd, Buffer.alloc(end - from), 0, end - from, from);
        fs.closeSync(fd);
        const opened = WalLog.open(dir);
        // Zeros from the start of the write look like nothing written; later, like a torn record,
        // unless the zeros cover no whole sector piece of it (then the record is damaged, not torn).
        const s = await opened.catch((e: Error) => e);
        if (s instanceof Error) {
          expect(s).toBeInstanceOf(CorruptDataError);
          expect(s.message).toContain(`${file} is damaged at offset`);
          // Only when no sector-bounded piece of the record is all zeros: the zeros start past the
          // last sector boundary inside it (a disk writes whole sectors, so that is not a torn write).
          expect(Math.floor((end - HARD_STATE_RECORD) / 512)).toBe(Math.floor(from / 512));
          expect(from % 512).not.toBe(0);
          seen.refused++;
        } else {
          seen.torn++;
          expect(await s.lastIndex(), `zeroed from ${from}`).toBe(from >= end - HARD_STATE_RECORD ? 8 : 5);
          await s.close();
        }
        fs.rmSync(dir, { recursive: true, force: true });
      }
      expect(seen.torn).toBeGreaterThan(0);
      expect(seen.refused).toBeGreaterThan(0);
    });

    it('a damaged record before the tail is refused with the file and offset', async () => {
      const base = tmp();
      const { start } = await threeWrites(base, 40, R);
      const file = segments(base)[0]!;
      // Flip one byte inside the second write (entries 4..5): the third write follows it.
      const b = fs.readFileSync(file);
      const at = start - 40;
      b[at] = b[at]! ^ 0x55;
      fs.writeFileSync(file, b);
      const e = await WalLog.open(base).catch((x: Error) => x);
      expect(e).toBeInstanceOf(CorruptDataError);
      expect((e as Error).message).toMatch(new RegExp(`raft log segment ${file} is damaged at offset \\d+: a record fails its checksum`));
      expect((e as Error).message).toMatch(/restore the data directory from a backup, or remove this node's data directory/);
    });

    it('segments roll over when full, are read back across, and are deleted behind the compaction point', async () => {
      const dir = tmp();
      const s = await open(dir, SMALL);
      const written = [];
      for (let i = 0; i < 80; i++) {
        const es = R(i * 10 + 1, i * 10 + 10, 1, 20);
        await s.write(es, { term: 1, vote: 1, commit: i * 10 });
        written.push(...es);
      }
      const files = segments(dir);
      expect(files.length).toBeGreaterThan(4);
      expect(show(await all(s))).toEqual(show(written));
      const log = await reopen(s, SMALL);
      expect(show(await all(log))).toEqual(show(written));
      for (const i of [1, 57, 123, 250, 399, 400, 777, 800]) expect(shown(log.entrySync(i))).toBe(shown(written[i - 1]));
      const live = segments;
      await log.compact(200, 1);
      const after = live(dir);
      expect(after.length).toBeLessThan(files.length);
      expect(after[after.length - 1]).toBe(files[files.length - 1]);
      // The oldest segment left holds entry 201.
      expect(shown(log.entrySync(201))).toBe(shown(written[200]));
      expect(log.entrySync(200)).toBeUndefined();
      const again = await reopen(log, SMALL);
      expect(await again.compacted()).toEqual({ index: 200, term: 1 });
      expect(await again.hardState()).toEqual({ term: 1, vote: 1, commit: 790 });
      expect(show(await all(again))).toEqual(show(written.slice(200)));
      // A snapshot replaces the log: only the last segment stays.
      await again.replaceWithSnapshot(1000, 3, { term: 3, vote: 2, commit: 1000 });
      expect(live(dir)).toEqual([files[files.length - 1]]);
      const last = await reopen(again, SMALL);
      expect(await last.compacted()).toEqual({ index: 1000, term: 3 });
      expect(await all(last)).toEqual([]);
      await last.write(R(1001, 1003, 3));
      expect(show(await all(await reopen(last, SMALL)))).toEqual(show(R(1001, 1003, 3)));
    });

    it('a write larger than a segment goes alone into a new one', async () => {
      const dir = tmp();
      const s = await open(dir, SMALL);
      await s.write(R(1, 2, 1));
      const big = R(3, 60, 1, 200);
      await s.write(big);
      await s.write(R(61, 62, 1));
      expect(segments(dir).length).toBe(3);
      const s2 = await reopen(s, SMALL);
      expect(show(await all(s2))).toEqual(show([...R(1, 2, 1), ...big, ...R(61, 62, 1)]));
    });

    it('damage in a segment before the last is refused, torn or not; a missing middle segment too', async () => {
      const dir = tmp();
      const s = await open(dir, SMALL);
      for (let i = 0; i < 40; i++) await s.write(R(i * 10 + 1, i * 10 + 10, 1, 20));
      await close(s);
      const files = segments(dir);
      expect(files.length).toBeGreaterThan(2);
      const copy = copyDir(dir);
      const first = segments(copy)[0]!;
      fs.truncateSync(first, fs.statSync(first).size > 4096 ? 4000 : 3000);
      await expect(WalLog.open(copy)).rejects.toThrow(/is damaged at offset \d+: .*not the last segment/);
      fs.rmSync(path.join(dir, 'wal', path.basename(files[1]!)));
      await expect(WalLog.open(dir)).rejects.toThrow(/is missing segment 0000000000000002\.wal/);
    });

    it('a compaction whose segment deletion a crash interrupted is finished at open', async () => {
      const dir = tmp();
      const s = await open(dir, SMALL);
      for (let i = 0; i < 20; i++) await s.write(R(i * 10 + 1, i * 10 + 10, 1, 20));
      const before = segments(dir);
      // The compaction record reaches the disk, but the process dies before deleting segments.
      const unlink = fs.unlinkSync;
      (fs as { unlinkSync: typeof fs.unlinkSync }).unlinkSync = () => {
        throw new Error('crash');
      };
      try {
        await expect(s.compact(150, 1)).rejects.toThrow('crash');
      } finally {
        (fs as { unlinkSync: typeof fs.unlinkSync }).unlinkSync = unlink;
      }
      expect(segments(dir)).toEqual(before);
      await close(s).catch(() => {});
      const again = await open(dir, SMALL);
      expect(segments(dir).length).toBeLessThan(before.length);
      expect(await again.compacted()).toEqual({ index: 150, term: 1 });
      expect((await all(again)).map((e) => e.index)).toEqual(R(151, 200, 1).map((e) => e.index));
    });
  });
}

describe('WalLog: a disk that refuses a write', () => {
  type WriteSync = (fd: number, b: Buffer, off: number, len: number, pos: number) => number;
  const mutableFs = fs as unknown as { writeSync: WriteSync; fdatasyncSync: (fd: number) => void };

  it('a write that fails part way (ENOSPC) rejects, acknowledges nothing, and the log reopens as before it', async () => {
    const dir = tmp();
    const s = await open(dir, SMALL);
    await s.write(range(1, 5, 1), { term: 1, vote: 1, commit: 5 });
    const real = mutableFs.writeSync;
    mutableFs.writeSync = (fd, b, off, len, pos) => {
      real(fd, b, off, len >> 1, pos);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    try {
      await expect(s.write(range(6, 9, 1, 30), { term: 1, vote: 1, commit: 9 })).rejects.toThrow(/ENOSPC/);
    } finally {
      mutableFs.writeSync = real;
    }
    expect(await s.lastIndex()).toBe(5);
    expect(s.entrySync(6)).toBeUndefined();
    const again = await reopen(s, SMALL);
    expect(await again.lastIndex()).toBe(5);
    expect(await again.hardState()).toEqual({ term: 1, vote: 1, commit: 5 });
    // The disk has room again: the log goes on.
    await again.write(range(6, 7, 2), { term: 2, vote: 1, commit: 7 });
    expect(show(await all(await reopen(again, SMALL)))).toEqual(show([...range(1, 5, 1), ...range(6, 7, 2)]));
  });

  it('a failing fdatasync rejects the write; what the page cache kept may come back, whole and in order', async () => {
    const dir = tmp();
    const s = await open(dir, SMALL);
    await s.write(range(1, 5, 1), { term: 1, vote: 1, commit: 5 });
    const real = mutableFs.fdatasyncSync;
    mutableFs.fdatasyncSync = () => {
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    };
    try {
      await expect(s.write(range(6, 9, 1), { term: 1, vote: 1, commit: 9 })).rejects.toThrow(/EIO/);
    } finally {
      mutableFs.fdatasyncSync = real;
    }
    expect(await s.lastIndex()).toBe(5);
    const again = await reopen(s, SMALL);
    const last = await again.lastIndex();
    expect([5, 9]).toContain(last);
    expect((await again.hardState()).commit).toBe(last);
    expect((await all(again)).map((e) => e.index)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  });
});
