/**
 * The behaviour every Storage must show, as a reusable vitest suite: run it
 * against MemoryStorage here and against the on-disk storage in src/storage
 * (pass a factory whose writers may be async).
 */
import { describe, expect, it } from 'vitest';
import { type ConfState, type Entry, EntryType, type HardState, type Snapshot } from '../../src/raft/messages.js';
import { CompactedError, SnapshotOutOfDateError, type Storage, UnavailableError } from '../../src/raft/storage.js';

export interface StorageUnderTest {
  storage: Storage;
  append(entries: Entry[]): void | Promise<void>;
  setHardState(hs: HardState): void | Promise<void>;
  applySnapshot(s: Snapshot): void | Promise<void>;
  createSnapshot(i: number, cs: ConfState | undefined, data: Buffer): Snapshot | Promise<Snapshot>;
  compact(i: number): void | Promise<void>;
  close?(): void | Promise<void>;
}

const e = (index: number, term: number, data = ''): Entry => ({ index, term, type: EntryType.Normal, data: Buffer.from(data) });
const ids = (ents: Entry[]): string[] => ents.map((x) => `${x.term}/${x.index}`);

export function storageConformance(name: string, make: () => Promise<StorageUnderTest> | StorageUnderTest): void {
  /** A storage compacted to index 3 (term 3) holding entries 4 and 5 (terms 4, 5). */
  async function compacted(): Promise<StorageUnderTest> {
    const s = await make();
    await s.append([e(1, 1), e(2, 2), e(3, 3), e(4, 4), e(5, 5)]);
    await s.createSnapshot(3, { voters: [1, 2, 3], learners: [] }, Buffer.from('snap'));
    await s.compact(3);
    return s;
  }

  describe(`Storage conformance: ${name}`, () => {
    it('starts empty: no hard state, no configuration, first index 1, last index 0', async () => {
      const s = await make();
      expect(s.storage.initialState()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, confState: { voters: [], learners: [] } });
      expect(s.storage.firstIndex()).toBe(1);
      expect(s.storage.lastIndex()).toBe(0);
      expect(s.storage.term(0)).toBe(0);
      await s.close?.();
    });

    it('term(i) answers from the snapshot index to the last index', async () => {
      const s = await compacted();
      expect(() => s.storage.term(2)).toThrow(CompactedError);
      expect(s.storage.term(3)).toBe(3);
      expect(s.storage.term(5)).toBe(5);
      expect(() => s.storage.term(6)).toThrow(UnavailableError);
      expect(s.storage.firstIndex()).toBe(4);
      expect(s.storage.lastIndex()).toBe(5);
      await s.close?.();
    });

    it('entries(lo, hi, maxBytes) returns [lo, hi), within the byte budget but at least one', async () => {
      const s = await make();
      await s.append([e(1, 1, 'aaaa'), e(2, 1, 'bbbb'), e(3, 2, 'cccc'), e(4, 2, 'dddd')]);
      expect(ids(s.storage.entries(2, 4))).toEqual(['1/2', '2/3']);
      expect(ids(s.storage.entries(1, 5, 0))).toEqual(['1/1']);
      expect(ids(s.storage.entries(1, 5, 2 * (24 + 4)))).toEqual(['1/1', '1/2']);
      expect(ids(s.storage.entries(1, 5, 2 * (24 + 4) + 1))).toEqual(['1/1', '1/2']);
      expect(s.storage.entries(3, 4)[0]?.data.toString()).toBe('cccc');
      await s.close?.();
    });

    it('entries below the first index are compacted', async () => {
      const s = await compacted();
      expect(() => s.storage.entries(3, 5)).toThrow(CompactedError);
      expect(ids(s.storage.entries(4, 6))).toEqual(['4/4', '5/5']);
      await s.close?.();
    });

    it('append replaces a conflicting suffix and ignores what was compacted', async () => {
      const s = await compacted();
      await s.append([e(5, 6), e(6, 6)]);
      expect(ids(s.storage.entries(4, 7))).toEqual(['4/4', '6/5', '6/6']);
      await s.append([e(2, 2), e(3, 3), e(4, 7)]);
      expect(ids(s.storage.entries(4, 5))).toEqual(['7/4']);
      expect(s.storage.lastIndex()).toBe(4);
      await s.close?.();
    });

    it('append refuses to leave a gap', async () => {
      const s = await make();
      await s.append([e(1, 1)]);
      await expect(async () => s.append([e(3, 1)])).rejects.toThrow();
      await s.close?.();
    });

    it('createSnapshot records index, term, configuration and data; an older one is refused', async () => {
      const s = await compacted();
      const snap = s.storage.snapshot();
      expect(snap.metadata).toEqual({ index: 3, term: 3, confState: { voters: [1, 2, 3], learners: [] } });
      expect(snap.data.toString()).toBe('snap');
      expect(s.storage.initialState().confState).toEqual({ voters: [1, 2, 3], learners: [] });
      await expect(async () => s.createSnapshot(3, undefined, Buffer.from('x'))).rejects.toThrow(SnapshotOutOfDateError);
      await s.close?.();
    });

    it('compact refuses an index already compacted', async () => {
      const s = await compacted();
      await expect(async () => s.compact(3)).rejects.toThrow(CompactedError);
      await s.compact(4);
      expect(s.storage.firstIndex()).toBe(5);
      expect(s.storage.term(4)).toBe(4);
      await s.close?.();
    });

    it('applySnapshot replaces the whole log; an older snapshot is refused', async () => {
      const s = await compacted();
      const snap: Snapshot = { metadata: { index: 10, term: 7, confState: { voters: [1], learners: [2] } }, data: Buffer.from('new') };
      await s.applySnapshot(snap);
      expect(s.storage.firstIndex()).toBe(11);
      expect(s.storage.lastIndex()).toBe(10);
      expect(s.storage.term(10)).toBe(7);
      expect(s.storage.snapshot().data.toString()).toBe('new');
      expect(s.storage.initialState().confState).toEqual({ voters: [1], learners: [2] });
      await expect(async () => s.applySnapshot({ ...snap, metadata: { ...snap.metadata, index: 9 } })).rejects.toThrow(SnapshotOutOfDateError);
      await s.close?.();
    });

    it('setHardState is returned by initialState', async () => {
      const s = await make();
      await s.append([e(1, 1)]);
      await s.setHardState({ term: 3, vote: 2, commit: 1 });
      expect(s.storage.initialState().hardState).toEqual({ term: 3, vote: 2, commit: 1 });
      await s.close?.();
    });
  });
}
