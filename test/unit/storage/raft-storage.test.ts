/**
 * RaftStorage with snapshots: compaction behind a snapshot survives a
 * restart; a snapshot installed from the leader replaces the log; a restart
 * after a crash in the middle of an install (snapshot file in place, old log
 * still there) starts the log after the snapshot.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompactedError, EntryType, type Entry, type Ready } from '../../../src/raft/index.js';
import { LogStore } from '../../../src/storage/log-store.js';
import { WalLog } from '../../../src/storage/wal/wal-log.js';
import { RaftStorage } from '../../../src/storage/raft-storage.js';

const dirs: string[] = [];
const open: RaftStorage[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-rs-'));
  dirs.push(d);
  return d;
}

async function openStorage(dir: string): Promise<RaftStorage> {
  const s = await RaftStorage.open(dir);
  open.push(s);
  return s;
}

async function closeStorage(s: RaftStorage): Promise<void> {
  open.splice(open.indexOf(s), 1);
  await s.close();
}

const ents = (lo: number, hi: number, term: number): Entry[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => ({ index: lo + i, term, type: EntryType.Normal, data: Buffer.from(`e${lo + i}`) }));

function ready(entries: Entry[], commit: number, extra: Partial<Ready> = {}): Ready {
  return { entries, hardState: { term: entries.at(-1)?.term ?? 1, vote: 1, commit }, committedEntries: [], messages: [], persistedMessages: [], readStates: [], mustSync: true, ...extra } as Ready;
}

const conf = { voters: [1, 2, 3], learners: [] };

describe('RaftStorage and snapshots', () => {
  it('compacts behind a snapshot, keeping a tail, and reopens with the same bounds', async () => {
    const dir = tmp();
    const s = await openStorage(dir);
    await s.persistReady(ready(ents(1, 100, 2), 100));
    await s.snapshotTaken({ index: 90, term: 2, confState: conf }, 20);
    expect(s.firstIndex()).toBe(71);
    expect(s.term(70)).toBe(2);
    expect(() => s.term(69)).toThrow(CompactedError);
    expect(() => s.entries(60, 80)).toThrow(CompactedError);
    expect(s.entries(71, 101).length).toBe(30);
    expect(s.snapshot().metadata.index).toBe(90);
    await closeStorage(s);

    const again = await openStorage(dir);
    expect(again.compactedIndex).toBe(70);
    expect(again.firstIndex()).toBe(71);
    expect(again.lastIndex()).toBe(100);
    await again.restoredFrom({ index: 90, term: 2, confState: conf });
    expect(again.firstIndex()).toBe(71);
    expect(again.lastIndex()).toBe(100);
    expect(again.entries(95, 101).map((e) => e.data.toString())).toEqual(['e95', 'e96', 'e97', 'e98', 'e99', 'e100']);
    expect(again.initialState().confState).toEqual(conf);
  });

  it('a snapshot from the leader replaces the log; entries after it append', async () => {
    const dir = tmp();
    const s = await openStorage(dir);
    await s.persistReady(ready(ents(1, 10, 1), 10));
    const snap = { metadata: { index: 500, term: 4, confState: conf }, data: Buffer.alloc(0) };
    await s.persistReady(ready(ents(501, 503, 4), 500, { snapshot: snap }));
    expect(s.firstIndex()).toBe(501);
    expect(s.term(500)).toBe(4);
    expect(s.lastIndex()).toBe(503);
    expect(s.hardStateNow().commit).toBe(500);
    await closeStorage(s);
    const again = await openStorage(dir);
    expect(again.compactedIndex).toBe(500);
    expect(again.lastIndex()).toBe(503);
    expect(again.entries(501, 504).map((e) => e.index)).toEqual([501, 502, 503]);
  });

  it('after a crash mid-install (old log still on disk), the log restarts after the installed snapshot', async () => {
    const dir = tmp();
    const s = await openStorage(dir);
    await s.persistReady(ready(ents(1, 40, 1), 30));
    await closeStorage(s);
    // The snapshot file was renamed into place (index 300), then the process died before the log was replaced.
    const again = await openStorage(dir);
    await again.restoredFrom({ index: 300, term: 3, confState: conf });
    expect(again.firstIndex()).toBe(301);
    expect(again.lastIndex()).toBe(300);
    expect(again.term(300)).toBe(3);
    expect(again.hardStateNow().commit).toBe(300);
    await closeStorage(again);
    const store = await WalLog.open(dir);
    const left: number[] = [];
    for await (const e of store.entries()) left.push(e.index);
    expect(left).toEqual([]);
    expect(await store.compacted()).toEqual({ index: 300, term: 3 });
    await store.close();
  });

  it('an entry at the snapshot index from another term: the log after it is another history and is dropped', async () => {
    const dir = tmp();
    const s = await openStorage(dir);
    await s.persistReady(ready(ents(1, 50, 1), 20));
    await s.restoredFrom({ index: 30, term: 2, confState: conf });
    expect(s.firstIndex()).toBe(31);
    expect(s.lastIndex()).toBe(30);
    expect(s.term(30)).toBe(2);
  });

  it('a log whose entries after the compaction point are missing is refused', async () => {
    const dir = tmp();
    const s = await openStorage(dir);
    await s.persistReady(ready(ents(1, 100, 2), 100));
    await closeStorage(s);
    const store = await WalLog.open(dir);
    await store.compact(40, 2);
    // Lose entries 41..60: the log is rewritten to hold 61..100 only.
    await store.write(ents(61, 100, 2), undefined, 1);
    await store.close();
    await expect(RaftStorage.open(dir)).rejects.toThrow(/starts at index 61, but entries after 40 should be there/);
  });

  it('--unsafe-no-fsync: writes skip the fsync and still read back after a reopen', async () => {
    const spy = vi.spyOn(WalLog.prototype, 'write');
    try {
      const dir = tmp();
      const s = await RaftStorage.open(dir, true);
      open.push(s);
      await s.persistReady(ready(ents(1, 10, 1), 10));
      const safe = await openStorage(tmp());
      await safe.persistReady(ready(ents(1, 10, 1), 10));
      // The sync flag each store got: false with the option, true without.
      expect(spy.mock.calls.map((c) => c[3])).toEqual([false, true]);
      await closeStorage(s);
      const again = await openStorage(dir);
      expect(again.lastIndex()).toBe(10);
      expect(again.entries(1, 11).map((e) => e.data.toString())).toEqual(ents(1, 10, 1).map((e) => e.data.toString()));
    } finally {
      spy.mockRestore();
    }
  });

  it('a data directory whose log LogStore kept (raftis before segment files) opens with the same log, compaction point, hard state and members', async () => {
    const dir = tmp();
    const old = await RaftStorage.over(await LogStore.open(dir));
    await old.persistReady(ready(ents(1, 300, 2), 280));
    await old.snapshotTaken({ index: 250, term: 2, confState: conf }, 50);
    await old.persistReady(ready(ents(301, 320, 3), 310));
    await old.putMembers([{ id: 1, host: '127.0.0.1', port: 7001, clusterPort: 17001 }]);
    await old.close();
    const s = await openStorage(dir);
    expect(s.compactedIndex).toBe(200);
    expect(s.firstIndex()).toBe(201);
    expect(s.lastIndex()).toBe(320);
    expect(s.hardStateNow()).toEqual({ term: 3, vote: 1, commit: 310 });
    expect(s.term(200)).toBe(2);
    expect(s.entries(299, 303).map((e) => `${e.index}/${e.term}/${e.data.toString()}`)).toEqual(['299/2/e299', '300/2/e300', '301/3/e301', '302/3/e302']);
    expect(await s.members()).toEqual([{ id: 1, host: '127.0.0.1', port: 7001, clusterPort: 17001 }]);
    expect(fs.readdirSync(path.join(dir, 'wal')).filter((n) => n.endsWith('.wal')).length).toBe(1);
  });
});

describe('RaftStorage.entries', () => {
  it('limits by maxBytes (at least one entry) the same for entries in memory and entries read back, and hands out no shared array', async () => {
    const s = await openStorage(tmp());
    await s.persistReady(ready(ents(1, 3000, 2), 3000));
    s.appliedTo(3000);
    // The tail now starts past 1: entries below it are read back from the log.
    const tailStart = (s as unknown as { tailStart: number }).tailStart;
    expect(tailStart).toBeGreaterThan(1000);
    const size = (e: Entry): number => 24 + e.data.length; // ENTRY_OVERHEAD_BYTES + data
    for (const lo of [10, tailStart, tailStart + 7]) {
      const all = s.entries(lo, lo + 50);
      expect(all.map((e) => e.index)).toEqual(Array.from({ length: 50 }, (_, i) => lo + i));
      const per = size(all[0]!);
      for (const maxBytes of [0, per - 1, per, per + 1, 5 * per, 5 * per + 1, 49 * per, 50 * per, 1e9]) {
        const want = Math.min(50, Math.max(1, Math.floor(maxBytes / per)));
        const got = s.entries(lo, lo + 50, maxBytes);
        expect(got.map((e) => e.index), `lo ${lo} maxBytes ${maxBytes}`).toEqual(all.slice(0, want).map((e) => e.index));
      }
      // The caller may keep (and the core appends to) what it got: the log's own array is never handed out.
      const got = s.entries(lo, lo + 5);
      got.length = 0;
      expect(s.entries(lo, lo + 5).length).toBe(5);
    }
    expect(s.entries(tailStart, tailStart)).toEqual([]);
    expect(s.entries(2990, 3001).map((e) => e.data.toString())).toEqual(ents(2990, 3000, 2).map((e) => e.data.toString()));
  });
});
