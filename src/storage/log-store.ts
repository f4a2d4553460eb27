/**
 * The durable Raft log and hard state of one node, in classic-level (LevelDB):
 * the product's LogBackend up to format 2 (log-backend.ts says what
 * RaftStorage relies on). The product now keeps the log in segment files
 * (wal/wal-log.ts); LogStore reads a log of format 1 or 2 for the migration
 * (wal/migrate.ts), and refuses format 3 (the log moved to `<dir>/wal`).
 *
 * Layout (all keys are Buffers):
 *   "m"             → meta: format version (u32) — refuse to open other formats
 *   "h"             → hard state: term (u64) · vote (u64) · commit (u64)
 *   "p"             → cluster members with their addresses (JSON; rare writes)
 *   "c"             → compaction point: index (u64) · term (u64) of the last
 *                     entry removed from the front of the log (absent: none)
 *   "b" + u64 index → record: the entries of one write, from that index on,
 *                     back to back, each term (u64) · type (u8) · data length
 *                     (u32) · data; their indexes are consecutive from the key
 * Indexes are fixed-width big-endian so LevelDB's order is log order.
 *
 * A record ends where the next one starts (the last one: with its last entry);
 * records must be contiguous, which reading the log checks. The starts of
 * the records are kept in memory, so that one entry is found with a single
 * getSync and a write never has to iterate: a write that replaces a suffix
 * (a follower's conflicting entries) rewrites the record the cut falls in
 * with its head only and deletes the records after it, in the same batch.
 * A compaction deletes the records that end at or before its point; one
 * that straddles it stays, and the entries in it at or before the point are
 * not read back.
 *
 * Format 1 kept one "e" + u64 index record per entry (term · type · data);
 * a log in format 1 (meta 1) is migrated on open, in one synced batch, to
 * records of up to 1000 (MIGRATION_CHUNK) entries.
 *
 * Every write is one batch with { sync: true } (unless the caller asks for
 * none): one fsync for everything a turn produced (group commit happens in
 * the caller, which batches), and one LevelDB record for all its entries.
 */
import { ClassicLevel, type BatchOperation } from 'classic-level';
import { createLogger } from '../util/log.js';
import { CorruptDataError } from './errors.js';
import { openLevelDir, readMembers, writeMembers } from './level-dir.js';
import type { LogBackend, StoredEntry, StoredHardState, StoredMember } from './log-backend.js';
import { lowerBound } from '../util/lower-bound.js';

export type { LogBackend, StoredEntry, StoredHardState, StoredMember } from './log-backend.js';

const log = createLogger('storage');

const FORMAT_VERSION = 2;
const META_KEY = Buffer.from('m');
const HARD_STATE_KEY = Buffer.from('h');
const COMPACTED_KEY = Buffer.from('c');

const RECORD_PREFIX = 0x62; // 'b'
/** All record keys: "b" ≤ key < "c". */
const RECORD_RANGE = { gte: Buffer.from([RECORD_PREFIX]), lt: Buffer.from([RECORD_PREFIX + 1]) };
/** Per entry in a record: term (u64) · type (u8) · data length (u32). */
const ENTRY_HEADER = 13;

/** Format 1: one record per entry, "e" + u64 index. */
const V1_ENTRY_RANGE = { gte: Buffer.from('e'), lt: Buffer.from('f') };
/** Entries per record when a format 1 log is migrated. */
const MIGRATION_CHUNK = 1000;

type Op = BatchOperation<ClassicLevel<Buffer, Buffer>, Buffer, Buffer>;

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

function writeRecordKey(k: Buffer, start: number): Buffer {
  k[0] = RECORD_PREFIX;
  writeU64(k, start, 1);
  return k;
}

function recordKey(start: number): Buffer {
  return writeRecordKey(Buffer.allocUnsafe(9), start);
}

/** One record holding `entries` (consecutive), `size` bytes long: a single allocation. */
function encodeRecord(entries: readonly StoredEntry[], size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let off = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const len = e.data.length;
    writeU64(b, e.term, off);
    b[off + 8] = e.type;
    b.writeUInt32BE(len, off + 9);
    b.set(e.data, off + ENTRY_HEADER);
    off += ENTRY_HEADER + len;
  }
  return b;
}

/** Byte offsets of the entries of a record; throws if its length does not decode exactly. */
function parseRecord(value: Buffer, start: number, dir: string): number[] {
  const offsets: number[] = [];
  let off = 0;
  while (off < value.length) {
    if (off + ENTRY_HEADER > value.length) break;
    const next = off + ENTRY_HEADER + value.readUInt32BE(off + 9);
    if (next > value.length) break;
    offsets.push(off);
    off = next;
  }
  if (off !== value.length || offsets.length === 0) {
    throw new CorruptDataError(
      `raft log record at index ${start} in ${dir} is malformed (${value.length} bytes, entry ${start + offsets.length} does not decode)`,
    );
  }
  return offsets;
}

function entryAt(value: Buffer, off: number, index: number): StoredEntry {
  const start = off + ENTRY_HEADER;
  return {
    index,
    term: readU64(value, off),
    type: value[off + 8]!,
    data: value.subarray(start, start + value.readUInt32BE(off + 9)),
  };
}

/** The LogBackend on classic-level (see log-backend.ts for what each method guarantees). */
export class LogStore implements LogBackend {
  /** Start indexes of the records on disk, ascending. */
  private starts: number[] = [];
  /** Index of the last entry (the end of the last record), 0 when there are no records. */
  private last = 0;
  /** Entries at or before this index are compacted away (some may remain in a straddling record). */
  private compactIndex = 0;
  /** The record entrySync decoded last (start -1: none), so that sequential reads decode each record once. */
  private cacheStart = -1;
  private cacheValue: Buffer | undefined;
  private cacheOffsets: number[] = [];
  /** Key buffer for getSync (synchronous, so one is enough). */
  private readonly scratchKey = Buffer.allocUnsafe(9);

  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    readonly dir: string,
  ) {}

  /** Opens (creating if needed) the log under `dir`/raft-log. */
  static async open(dir: string): Promise<LogStore> {
    const db = await openLevelDir(dir, 'the raft log');
    const store = new LogStore(db, dir);
    try {
      await store.checkFormat();
      await store.load();
    } catch (e) {
      await db.close();
      throw e;
    }
    return store;
  }

  private async checkFormat(): Promise<void> {
    const meta = await this.db.get(META_KEY);
    if (meta === undefined) {
      await this.db.put(META_KEY, encodeMeta(FORMAT_VERSION), { sync: true });
      return;
    }
    const version = meta.length === 4 ? meta.readUInt32BE(0) : -1;
    if (version === 1) return this.migrateFromV1();
    if (version !== FORMAT_VERSION) {
      throw new CorruptDataError(
        `raft log in ${this.dir} has an unknown format (meta record ${meta.toString('hex')}); it was not written by this raftis version`,
      );
    }
  }

  /**
   * Format 1 → 2: the per-entry records become records of up to
   * MIGRATION_CHUNK consecutive entries (a gap starts a new record, so it
   * stays a gap), in one synced batch with the new meta record. The log is
   * bounded by snapshots, so it fits in memory.
   */
  private async migrateFromV1(): Promise<void> {
    const ops: Op[] = [];
    let chunk: StoredEntry[] = [];
    let size = 0;
    let migrated = 0;
    const flush = (): void => {
      if (chunk.length === 0) return;
      ops.push({ type: 'put', key: recordKey(chunk[0]!.index), value: encodeRecord(chunk, size) });
      migrated += chunk.length;
      chunk = [];
      size = 0;
    };
    for await (const [k, v] of this.db.iterator({ ...V1_ENTRY_RANGE })) {
      if (k.length !== 9 || v.length < 9) {
        throw new CorruptDataError(`log entry record has a bad size (key ${k.length} bytes, value ${v.length} bytes)`);
      }
      const index = readU64(k, 1);
      const prev = chunk[chunk.length - 1];
      if (prev !== undefined && (index !== prev.index + 1 || chunk.length === MIGRATION_CHUNK)) flush();
      const data = v.subarray(9);
      chunk.push({ index, term: readU64(v, 0), type: v[8]!, data });
      size += ENTRY_HEADER + data.length;
      ops.push({ type: 'del', key: k });
    }
    flush();
    ops.push({ type: 'put', key: META_KEY, value: encodeMeta(FORMAT_VERSION) });
    await this.db.batch(ops, { sync: true });
    log.info(`raft log in ${this.dir} migrated to format ${FORMAT_VERSION}: ${migrated} entries`);
  }

  /**
   * Loads the record starts and the last index, and finishes a compaction
   * a crash interrupted (records wholly at or before the compaction point).
   */
  private async load(): Promise<void> {
    this.compactIndex = (await this.compacted()).index;
    for await (const k of this.db.keys({ ...RECORD_RANGE })) {
      if (k.length !== 9) throw new CorruptDataError(`raft log record key in ${this.dir} has ${k.length} bytes, expected 9`);
      this.starts.push(readU64(k, 1));
    }
    const lastStart = this.starts[this.starts.length - 1];
    if (lastStart === undefined) return;
    const v = await this.db.get(recordKey(lastStart));
    if (v === undefined) throw new CorruptDataError(`raft log record at index ${lastStart} in ${this.dir} vanished while opening`);
    this.last = lastStart + parseRecord(v, lastStart, this.dir).length - 1;
    const dead = this.recordsEndingBy(this.compactIndex);
    if (dead > 0) await this.dropFront(dead);
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
    return readMembers(this.db, this.dir);
  }

  async putMembers(list: readonly StoredMember[]): Promise<void> {
    await writeMembers(this.db, list);
  }

  /** Index and term of the last entry compacted away ({0, 0}: none). */
  async compacted(): Promise<{ index: number; term: number }> {
    const v = await this.db.get(COMPACTED_KEY);
    if (v === undefined) return { index: 0, term: 0 };
    if (v.length !== 16) throw new CorruptDataError(`compaction record in ${this.dir} has ${v.length} bytes, expected 16`);
    return { index: readU64(v, 0), term: readU64(v, 8) };
  }

  /** The index the record at position k of `starts` ends at. */
  private endOf(k: number): number {
    return k + 1 < this.starts.length ? this.starts[k + 1]! - 1 : this.last;
  }

  /** How many records, from the front, end at or before `index`. */
  private recordsEndingBy(index: number): number {
    let n = 0;
    while (n < this.starts.length && this.endOf(n) <= index) n++;
    return n;
  }

  /** Deletes the first n records (on disk, then in memory). */
  private async dropFront(n: number): Promise<void> {
    const ops: Op[] = [];
    for (let k = 0; k < n; k++) ops.push({ type: 'del', key: recordKey(this.starts[k]!) });
    const dropped = this.starts.slice(0, n);
    await this.db.batch(ops);
    // A write may have completed meanwhile: it appends, or cuts after the
    // compaction point, so the records dropped are still the first ones.
    let m = 0;
    while (m < n && this.starts[m] === dropped[m]) m++;
    this.starts.splice(0, m);
    if (this.starts.length === 0) this.last = 0;
    this.dropCache();
  }

  private dropCache(): void {
    this.cacheStart = -1;
    this.cacheValue = undefined;
    this.cacheOffsets = [];
  }

  /**
   * Removes entries up to and including `index` (a snapshot covers them).
   * The compaction point is recorded first, so a crash in between leaves
   * entries that the next start ignores (and deletes). A record that
   * straddles `index` stays; its entries up to `index` are not read back.
   */
  async compact(index: number, term: number): Promise<void> {
    await this.db.put(COMPACTED_KEY, encodeCompaction(index, term), { sync: true });
    const n = this.recordsEndingBy(index);
    if (n > 0) await this.dropFront(n);
    // A cached record still on disk stays valid: entrySync hides entries up to compactIndex.
    this.compactIndex = index;
  }

  /**
   * A snapshot from the leader replaces the whole log: no entries, the
   * compaction point at the snapshot, and the hard state, durably.
   */
  async replaceWithSnapshot(index: number, term: number, hardState: StoredHardState): Promise<void> {
    // Entries first: a crash in between leaves an empty log behind a valid
    // snapshot file, which the next start reads as "the log begins after it".
    await this.db.clear({ ...RECORD_RANGE });
    this.starts = [];
    this.last = 0;
    this.dropCache();
    await this.db.batch(
      [
        { type: 'put', key: COMPACTED_KEY, value: encodeCompaction(index, term) },
        { type: 'put', key: HARD_STATE_KEY, value: encodeHardState(hardState) },
      ],
      { sync: true },
    );
    this.compactIndex = index;
  }

  /**
   * Entries with lo <= index < hi (hi omitted: to the end), in order, none
   * at or before the compaction point; checks that the records are
   * contiguous (no gap, no overlap) and that each decodes exactly.
   */
  async *entries(lo = 1, hi = Number.MAX_SAFE_INTEGER): AsyncGenerator<StoredEntry> {
    if (lo <= this.compactIndex) lo = this.compactIndex + 1;
    if (lo >= hi) return;
    // The record holding lo (or the first one after it).
    const k = lowerBound(this.starts, lo + 1) - 1;
    const from = k >= 0 ? this.starts[k]! : lo;
    let expect = -1;
    for await (const [key, value] of this.db.iterator({ gte: recordKey(from), lt: recordKey(hi) })) {
      if (key.length !== 9) throw new CorruptDataError(`raft log record key in ${this.dir} has ${key.length} bytes, expected 9`);
      const start = readU64(key, 1);
      if (expect !== -1 && start !== expect) {
        throw new CorruptDataError(
          start > expect
            ? `raft log in ${this.dir} has a gap: entries ${expect} to ${start - 1} are missing`
            : `raft log in ${this.dir} has overlapping records: the one at ${start} overlaps entries up to ${expect - 1}`,
        );
      }
      const offsets = parseRecord(value, start, this.dir);
      expect = start + offsets.length;
      for (let j = Math.max(0, lo - start); j < offsets.length; j++) {
        const index = start + j;
        if (index >= hi) return;
        yield entryAt(value, offsets[j]!, index);
      }
    }
  }

  /**
   * One entry, read synchronously (LevelDB's block cache usually has it):
   * the Raft core's Storage interface is synchronous, and the driver keeps
   * only a recent tail of the log in memory. The record last read stays
   * decoded, so reading i, i+1, … decodes each record once. The entry's
   * data is a view of the record (copy it to keep it).
   */
  entrySync(index: number): StoredEntry | undefined {
    if (index <= this.compactIndex || index > this.last) return undefined;
    const cs = this.cacheStart;
    if (cs !== -1 && index >= cs && index < cs + this.cacheOffsets.length) {
      return entryAt(this.cacheValue!, this.cacheOffsets[index - cs]!, index);
    }
    const k = lowerBound(this.starts, index + 1) - 1;
    if (k < 0 || index > this.endOf(k)) return undefined;
    const start = this.starts[k]!;
    if (!this.loadRecord(start)) return undefined;
    const off = this.cacheOffsets[index - start];
    return off === undefined ? undefined : entryAt(this.cacheValue!, off, index);
  }

  /** Makes the record starting at `start` the decoded one (the cache); false if it is not on disk. */
  private loadRecord(start: number): boolean {
    if (this.cacheStart === start) return true;
    const v = this.db.getSync(writeRecordKey(this.scratchKey, start));
    if (v === undefined) return false;
    const offsets = parseRecord(v, start, this.dir);
    this.cacheStart = start;
    this.cacheValue = v;
    this.cacheOffsets = offsets;
    return true;
  }

  /** Index of the last entry, 0 when the log is empty. */
  async lastIndex(): Promise<number> {
    return this.last;
  }

  /**
   * Durably writes entries (consecutive, ascending) as one record,
   * replacing any stored at index >= truncateFrom or >= the first of them
   * (as Raft requires when a follower's log is overwritten), and the hard
   * state, in one batch, fsynced unless `sync` is false. Entries must
   * continue the log (after the cut): a gap is refused. Calls must not
   * overlap (await each): the record starts in memory are brought up to
   * date when the batch is on disk, and the next call builds on them.
   */
  async write(entries: readonly StoredEntry[], hardState?: StoredHardState, truncateFrom?: number, sync = true): Promise<void> {
    const n = entries.length;
    let size = 0;
    let next = 0;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      if (i > 0 && e.index !== next) {
        throw new Error(`LogStore.write: entries must be consecutive and ascending (entry ${e.index} follows ${next - 1})`);
      }
      next = e.index + 1;
      size += ENTRY_HEADER + e.data.length;
    }
    const first = n > 0 ? entries[0]!.index : 0;
    const ops: Op[] = [];
    // The cut: entries at or after it are replaced (none if it is past the end).
    let cut = truncateFrom;
    if (n > 0 && first <= this.last && (cut === undefined || first < cut)) cut = first;
    if (cut !== undefined && (cut > this.last || this.starts.length === 0)) cut = undefined;
    let kept = this.starts.length; // records left before the new one
    let end = this.last; // where the log ends before the new record
    if (cut !== undefined) {
      kept = lowerBound(this.starts, cut);
      if (kept > 0) {
        // The record the cut falls in keeps its entries before the cut.
        const s = this.starts[kept - 1]!;
        if (this.endOf(kept - 1) >= cut) {
          if (!this.loadRecord(s)) throw new CorruptDataError(`raft log record at index ${s} is missing from ${this.dir}`);
          const off = this.cacheOffsets[cut - s];
          if (off !== undefined) ops.push({ type: 'put', key: recordKey(s), value: this.cacheValue!.subarray(0, off) });
        }
      }
      for (let k = kept; k < this.starts.length; k++) ops.push({ type: 'del', key: recordKey(this.starts[k]!) });
      end = cut - 1;
    }
    if (n > 0) {
      if (kept > 0 && first !== end + 1) {
        throw new Error(`LogStore.write: entries from ${first} would leave a gap after the log's last entry ${end}`);
      }
      ops.push({ type: 'put', key: recordKey(first), value: encodeRecord(entries, size) });
    }
    if (hardState) ops.push({ type: 'put', key: HARD_STATE_KEY, value: encodeHardState(hardState) });
    await this.db.batch(ops, { sync });
    if (cut !== undefined) {
      // Recomputed from the starts as they are now (a compaction may have
      // dropped records at the front meanwhile; never any after the cut).
      while (this.starts.length > 0 && this.starts[this.starts.length - 1]! >= cut) this.starts.pop();
      this.last = this.starts.length > 0 ? cut - 1 : 0;
      if (this.cacheStart !== -1 && this.cacheStart + this.cacheOffsets.length - 1 >= cut) this.dropCache();
    }
    if (n > 0) {
      this.starts.push(first);
      this.last = next - 1;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function encodeMeta(version: number): Buffer {
  const m = Buffer.alloc(4);
  m.writeUInt32BE(version);
  return m;
}
