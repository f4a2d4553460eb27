/**
 * RaftStorage when the process dies between the writes of one Ready.
 *
 * A follower's Ready can carry a snapshot from the leader together with
 * entries after it and a hard state whose commit index covers them (the
 * leader's appends arrived while the previous write was in flight).
 * persistReady writes it in two steps: replaceWithSnapshot durably records
 * the compaction point and that hard state, then a second write adds the
 * entries. A crash between the two could leave a commit index past the last
 * entry on disk, and the node cannot start again (the Raft core refuses:
 * "state.commit … is out of range"). Found by the driver harness
 * (test/unit/node/driver-random.test.ts, RAFTIS_DRIVER_STEPS=400, seeds 229
 * — the entries' write torn — and 242 — lost).
 *
 * RaftStorage.persistReady now keeps the commit index of what it makes
 * durable within what is on disk at every step: the hard state written with
 * the snapshot commits no further than its index, and the Ready's own hard
 * state is written with the entries.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EntryType, RawNode, type Entry, type Ready } from '../../../src/raft/index.js';
import { WalLog } from '../../../src/storage/wal/wal-log.js';
import { RaftStorage } from '../../../src/storage/raft-storage.js';
import { MemDisk, MemLog, type PendingWrite } from '../../harness/driver/mem-log.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const conf = { voters: [1, 2, 3], learners: [] };

const ents = (lo: number, hi: number, term: number): Entry[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => ({ index: lo + i, term, type: EntryType.Normal, data: Buffer.from(`e${lo + i}`) }));

function ready(entries: Entry[], commit: number, extra: Partial<Ready> = {}): Ready {
  return { entries, hardState: { term: entries.at(-1)?.term ?? 1, vote: 1, commit }, committedEntries: [], messages: [], persistedMessages: [], readStates: [], mustSync: true, ...extra } as Ready;
}

/** The leader's snapshot at 20 (term 2), entries 21 and 22 after it, commit 22: one Ready. */
const snapshotReady = (): Ready =>
  ready(ents(21, 22, 2), 22, { snapshot: { metadata: { index: 20, term: 2, confState: conf }, data: Buffer.alloc(0) } });

/** What a restarted node does: the log, the snapshot it loaded, then the Raft core on it. */
async function restart(s: RaftStorage): Promise<{ commit: number; last: number; start: () => RawNode }> {
  await s.restoredFrom({ index: 20, term: 2, confState: conf });
  return {
    commit: s.hardStateNow().commit,
    last: s.lastIndex(),
    start: () => new RawNode({ id: 2, storage: s, electionTick: 10, heartbeatTick: 1, applied: 20 }),
  };
}

describe('RaftStorage: a crash between the writes of a Ready with a snapshot and entries', () => {
  it('segment files: the process dies before the entries are written; the log restarts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-rsc-'));
    dirs.push(dir);
    const s = await RaftStorage.open(dir);
    await s.persistReady(ready(ents(1, 10, 1), 10));
    // The entries' write never happens: the process died (the snapshot's replacement is on disk).
    const write = vi.spyOn(WalLog.prototype, 'write').mockImplementationOnce(() => new Promise<void>(() => {}));
    void s.persistReady(snapshotReady());
    await vi.waitFor(() => expect(write).toHaveBeenCalled());
    await s.close();
    const again = await RaftStorage.open(dir);
    try {
      const r = await restart(again);
      expect(r.commit).toBeLessThanOrEqual(r.last);
      expect(r.start).not.toThrow();
    } finally {
      await again.close();
    }
  });

  for (const keep of [0, 1]) {
    it(`a LogBackend that kept ${keep} of the entries' write; the log restarts`, async () => {
      const disk = new MemDisk(2);
      const held: PendingWrite[] = [];
      const control = { started: (w: PendingWrite) => held.push(w) };
      const s = await RaftStorage.over(new MemLog(disk, control));
      const first = s.persistReady(ready(ents(1, 10, 1), 10));
      held[0]!.complete();
      await first;
      void s.persistReady(snapshotReady());
      await vi.waitFor(() => expect(held.length).toBe(2));
      // The process dies with the entries' write in flight; the disk kept `keep` of them.
      held[1]!.tear(keep);
      const r = await restart(await RaftStorage.over(new MemLog(disk, control)));
      expect(r.commit).toBeLessThanOrEqual(r.last);
      expect(r.start).not.toThrow();
    });
  }
});
