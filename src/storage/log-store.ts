/**
 * The durable Raft log and hard state of one node, in classic-level (LevelDB).
 *
 * Layout (all keys are Buffers):
 *   "m"             → meta: format version (u32) — refuse to open other formats
 *   "h"             → hard state: term (u64) · vote (u64) · commit (u64)
 *   "p"             → cluster members with their addresses (JSON; rare writes)
 *   "c"             → compaction point: index (u64) · term (u64) of the last
 *                     entry removed from the front of the log (absent: none)
 *   "e" + u64 index → entry: term (u64) · type (u8) · data
 * Indexes are fixed-width big-endian so LevelDB's order is log order.
 *
 * Every write is one batch with { sync: true }: one fsync for everything a
 * turn produced (group commit happens in the caller, which batches).
 */
import { ClassicLevel } from 'classic-level';
import fs from 'node:fs';
import path from 'node:path';
import { CorruptDataError, DataDirLockedError, StorageError } from './errors.js';

export interface StoredEntry {
  index: number;
  term: number;
  type: number;
  data: Buffer;
}

export interface StoredHardState {
  term: number;
  vote: number;
  commit: number;
}

const FORMAT_VERSION = 1;
const META_KEY = Buffer.from('m');
const HARD_STATE_KEY = Buffer.from('h');
const COMPACTED_KEY = Buffer.from('c');
const MEMBERS_KEY = Buffer.from('p');

/** A cluster member with its client and peer addresses (the one shape used for members everywhere). */
export interface StoredMember {
  id: number;
  host: string;
  port: number;
  clusterPort: number;
}
const ENTRY_PREFIX = 0x65; // 'e'

/** Writes a non-negative safe integer as a big-endian u64 (no BigInt: this is the hot path). */
function writeU64(b: Buffer, n: number, off: number): void {
  b.writeUInt32BE(Math.floor(n / 0x100000000), off);
  b.writeUInt32BE(n >>> 0, off + 4);
}

function readU64(b: Buffer, off: number): number {
  return b.readUInt32BE(off) * 0x100000000 + b.readUInt32BE(off + 4);
}

/** The hard state record: term · vote · commit. */
function encodeHardState(hs: StoredHardState): Buffer {
  const h = Buffer.allocUnsafe(24);
  writeU64(h, hs.term, 0);
  writeU64(h, hs.vote, 8);
  writeU64(h, hs.commit, 16);
  return h;
}

/** The compaction record: index · term of the last entry removed. */
function encodeCompaction(index: number, term: number): Buffer {
  const c = Buffer.allocUnsafe(16);
  writeU64(c, index, 0);
  writeU64(c, term, 8);
  return c;
}

function entryKey(index: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = ENTRY_PREFIX;
  writeU64(k, index, 1);
  return k;
}

function encodeEntry(e: StoredEntry): Buffer {
  const b = Buffer.allocUnsafe(9 + e.data.length);
  writeU64(b, e.term, 0);
  b[8] = e.type;
  e.data.copy(b, 9);
  return b;
}

function decodeEntry(key: Buffer, value: Buffer): StoredEntry {
  if (key.length !== 9 || value.length < 9) {
    throw new CorruptDataError(`log entry record has a bad size (key ${key.length} bytes, value ${value.length} bytes)`);
  }
  return {
    index: readU64(key, 1),
    term: readU64(value, 0),
    type: value[8]!,
    data: value.subarray(9),
  };
}

export class LogStore {
  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    readonly dir: string,
  ) {}

  /** Opens (creating if needed) the log under `dir`/raft-log. */
  static async open(dir: string): Promise<LogStore> {
    const location = path.join(dir, 'raft-log');
    try {
      fs.mkdirSync(location, { recursive: true });
    } catch (e) {
      throw new StorageError(`cannot create data directory ${location}: ${(e as Error).message}`, { cause: e });
    }
    const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new DataDirLockedError(
          `data directory ${dir} is already in use by another raftis process (LevelDB lock held); stop it or choose another --dir`,
          { cause: e },
        );
      }
      throw new CorruptDataError(
        `cannot open the raft log in ${location}: ${cause?.message ?? (e as Error).message}; the data directory is unreadable or corrupt`,
        { cause: e },
      );
    }
    const store = new LogStore(db, dir);
    try {
      await store.checkFormat();
    } catch (e) {
      await db.close();
      throw e;
    }
    return store;
  }

  private async checkFormat(): Promise<void> {
    const meta = await this.db.get(META_KEY);
    if (meta === undefined) {
      const m = Buffer.alloc(4);
      m.writeUInt32BE(FORMAT_VERSION);
      await this.db.put(META_KEY, m, { sync: true });
      return;
    }
    if (meta.length !== 4 || meta.readUInt32BE(0) !== FORMAT_VERSION) {
      throw new CorruptDataError(
        `raft log in ${this.dir} has an unknown format (meta record ${meta.toString('hex')}); it was not written by this raftis version`,
      );
    }
  }

  async hardState(): Promise<StoredHardState> {
    const v = await this.db.get(HARD_STATE_KEY);
    if (v === undefined) return { term: 0, vote: 0, commit: 0 };
    if (v.length !== 24) throw new CorruptDataError(`hard state record in ${this.dir} has ${v.length} bytes, expected 24`);
    return {
      term: readU64(v, 0),
      vote: readU64(v, 8),
      commit: readU64(v, 16),
    };
  }

  /** The members this node last knew (undefined before the first membership record). */
  async members(): Promise<StoredMember[] | undefined> {
    const v = await this.db.get(MEMBERS_KEY);
    if (v === undefined) return undefined;
    try {
      const list = JSON.parse(v.toString('utf8')) as StoredMember[];
      if (!Array.isArray(list)) throw new Error('not a list');
      return list;
    } catch (e) {
      throw new CorruptDataError(`members record in ${this.dir} is unreadable: ${(e as Error).message}`);
    }
  }

  async putMembers(list: readonly StoredMember[]): Promise<void> {
    await this.db.put(MEMBERS_KEY, Buffer.from(JSON.stringify(list)), { sync: true });
  }

  /** Index and term of the last entry compacted away ({0, 0}: none). */
  async compacted(): Promise<{ index: number; term: number }> {
    const v = await this.db.get(COMPACTED_KEY);
    if (v === undefined) return { index: 0, term: 0 };
    if (v.length !== 16) throw new CorruptDataError(`compaction record in ${this.dir} has ${v.length} bytes, expected 16`);
    return { index: readU64(v, 0), term: readU64(v, 8) };
  }

  /**
   * Removes entries up to and including `index` (a snapshot covers them).
   * The compaction point is recorded first, so a crash in between leaves
   * entries that the next start ignores.
   */
  async compact(index: number, term: number): Promise<void> {
    await this.db.put(COMPACTED_KEY, encodeCompaction(index, term), { sync: true });
    await this.db.clear({ gte: entryKey(0), lt: entryKey(index + 1) });
  }

  /**
   * A snapshot from the leader replaces the whole log: no entries, the
   * compaction point at the snapshot, and the hard state, durably.
   */
  async replaceWithSnapshot(index: number, term: number, hardState: StoredHardState): Promise<void> {
    // Entries first: a crash in between leaves an empty log behind a valid
    // snapshot file, which the next start reads as "the log begins after it".
    await this.db.clear({ gte: entryKey(0), lt: entryKey(Number.MAX_SAFE_INTEGER) });
    await this.db.batch(
      [
        { type: 'put', key: COMPACTED_KEY, value: encodeCompaction(index, term) },
        { type: 'put', key: HARD_STATE_KEY, value: encodeHardState(hardState) },
      ],
      { sync: true },
    );
  }

  /** Entries with lo <= index < hi (hi omitted: to the end), in order; checks there are no gaps. */
  async *entries(lo = 1, hi = Number.MAX_SAFE_INTEGER): AsyncGenerator<StoredEntry> {
    let expect = -1;
    for await (const [k, v] of this.db.iterator({ gte: entryKey(lo), lt: entryKey(hi) })) {
      const e = decodeEntry(k, v);
      if (expect !== -1 && e.index !== expect) {
        throw new CorruptDataError(`raft log in ${this.dir} has a gap: entry ${expect} is missing before ${e.index}`);
      }
      expect = e.index + 1;
      yield e;
    }
  }

  /**
   * One entry, read synchronously (LevelDB's block cache usually has it):
   * the Raft core's Storage interface is synchronous, and the driver keeps
   * only a recent tail of the log in memory.
   */
  entrySync(index: number): StoredEntry | undefined {
    const key = entryKey(index);
    const v = this.db.getSync(key);
    return v === undefined ? undefined : decodeEntry(key, v);
  }

  /** Index of the last entry, 0 when the log is empty. */
  async lastIndex(): Promise<number> {
    for await (const k of this.db.keys({ gte: entryKey(0), lt: entryKey(Number.MAX_SAFE_INTEGER), reverse: true, limit: 1 })) {
      return readU64(k, 1);
    }
    return 0;
  }

  /**
   * Durably writes entries (replacing any stored at index >= the first of
   * them, as Raft requires when a follower's log is overwritten) and the hard
   * state, in one batch, fsynced unless `sync` is false.
   */
  async write(entries: readonly StoredEntry[], hardState?: StoredHardState, truncateFrom?: number, sync = true): Promise<void> {
    const batch = this.db.batch();
    if (truncateFrom !== undefined) {
      // Remove a conflicting suffix of the log.
      for await (const k of this.db.keys({ gte: entryKey(truncateFrom), lt: entryKey(Number.MAX_SAFE_INTEGER) })) batch.del(k);
    }
    for (const e of entries) batch.put(entryKey(e.index), encodeEntry(e));
    if (hardState) batch.put(HARD_STATE_KEY, encodeHardState(hardState));
    await batch.write({ sync });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
