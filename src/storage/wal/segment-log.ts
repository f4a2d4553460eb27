/**
 * The Raft log in segment files (docs/log-format.md): replay at open, one
 * appended buffer of records per write, fdatasync on the main thread, whole
 * segments deleted behind the compaction point. WalLog (wal-log.ts) adds
 * the node state kept in LevelDB and is the product's LogBackend.
 *
 * In memory: the hard state, the compaction point, and one descriptor per
 * live entries record (first index, count, segment, offset, length), so an
 * entry is found with a binary search and read back with one pread (the
 * record last read stays decoded, as LogStore's does). Replay and write()
 * change this index through the same apply* methods, so what a reopen sees
 * is what the writes made.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../util/log.js';
import type { StoredEntry, StoredHardState } from '../log-backend.js';
import {
  COMPACT_RECORD,
  HARD_STATE_RECORD,
  RECORD_HEADER,
  RecordType,
  SNAPSHOT_RECORD,
  TRUNCATE_RECORD,
  crc32,
  entriesRecordSize,
  entryAt,
  entryOffsets,
  putCompact,
  putEntries,
  putHardState,
  putSnapshot,
  putTruncate,
  putWireEntries,
  readHardState,
  readU64,
  wireEntriesRecordSize,
  wireEntryAt,
  wireEntryOffsets,
} from './record.js';
import { takeWireRun, type WireRun } from '../../util/wire-entries.js';
import { createSegment, damaged, fsyncDir, listSegments, scanSegment, writeAll, type Segment } from './segment.js';
import { lowerBound } from '../../util/lower-bound.js';

const log = createLogger('storage');

export const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;
/** entries() reads this much of a segment at a time. */
const READ_AHEAD = 1024 * 1024;

export interface WalOptions {
  /** Bytes per segment, preallocated (default 64 MiB). Tests use small ones. */
  segmentSize?: number;
  /**
   * Where a write and its fdatasync run: 'main' (the default: writeSync +
   * fdatasyncSync on the event loop, as redis-server does; fastest on a
   * quiet machine) or 'pool' (libuv's thread pool; faster on a machine
   * whose CPUs are busy: docs/decisions.md, bench/storage-sync.mjs).
   */
  io?: 'main' | 'pool';
}

function writeAllAsync(fd: number, b: Buffer, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done >= b.length) return resolve();
      fs.write(fd, b, done, b.length - done, pos + done, (e, n) => (e ? reject(e) : step(done + n)));
    };
    step(0);
  });
}

const fdatasyncAsync = (fd: number): Promise<void> => new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));

/**
 * A write that failed (ENOSPC part way, a failing fdatasync) is taken back
 * as far as the disk lets us: the segment is cut where the write began and
 * extended again, so the bytes it left do not read as a damaged record
 * before later writes (the node stops after a failed write; the next start
 * finds the log as it was before it). Best effort: if this fails too, the
 * next open sees a torn or damaged tail.
 */
function unwrite(seg: Segment, pos: number): void {
  try {
    fs.ftruncateSync(seg.fd, pos);
    fs.ftruncateSync(seg.fd, Math.max(seg.size, pos));
  } catch {
    // The disk refuses even this; the error of the write is the one to report.
  }
}

interface Decoded {
  seg: Segment;
  off: number;
  buf: Buffer;
  offsets: number[];
  /** A wire entries record (else an entries record). */
  wire: boolean;
}

/**
 * The noted wire runs (util/wire-entries.ts) that are exactly `entries`,
 * whole and in order; undefined when they are not (only a part of a
 * received append, a leader's entries it did not send as one append).
 */
function wireRuns(entries: readonly StoredEntry[]): WireRun[] | undefined {
  let out: WireRun[] | undefined;
  for (let p = 0; p < entries.length; ) {
    const run = takeWireRun(entries[p]!);
    if (run === undefined) return undefined;
    const es = run.entries;
    const m = es.length;
    if (p + m > entries.length) return undefined;
    for (let j = 1; j < m; j++) if (entries[p + j] !== es[j]) return undefined;
    (out ??= []).push(run);
    p += m;
  }
  return out;
}

export class SegmentLog {
  private readonly segs: Segment[] = [];
  private hs: StoredHardState = { term: 0, vote: 0, commit: 0 };
  private compactIndex = 0;
  private compactTerm = 0;
  /** Live entries records, in log order: first index, entries still live, where the record is. */
  private recFirst: number[] = [];
  private recCount: number[] = [];
  private recSeg: Segment[] = [];
  private recOff: number[] = [];
  private recLen: number[] = [];
  /** Index of the last entry (0 when no record is live). */
  private last = 0;
  /** The record entrySync decoded last. */
  private cache: Decoded | undefined;
  private readonly segmentSize: number;
  private readonly io: 'main' | 'pool';

  /** write() does its write and fdatasync on this thread before it returns (io 'main'): LogBackend.writesInline. */
  get writesInline(): boolean {
    return this.io === 'main';
  }
  /** Pool mode: appends run one after another. */
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly walDir: string,
    /** The node's data directory, for error messages. */
    readonly dir: string,
    opts: WalOptions,
  ) {
    this.segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    if (!(this.segmentSize >= 4096 && this.segmentSize <= 0xffffffff)) throw new RangeError(`segment size ${this.segmentSize} is out of range (4 KiB to 4 GiB)`);
    this.io = opts.io ?? 'main';
  }

  /** Opens the log in `walDir` (creating it), replaying its segments; a torn last record is cut. */
  static open(walDir: string, dir: string, opts: WalOptions = {}): SegmentLog {
    const s = new SegmentLog(walDir, dir, opts);
    try {
      fs.mkdirSync(walDir, { recursive: true });
      s.replay();
    } catch (e) {
      s.closeFds();
      throw e;
    }
    return s;
  }

  private replay(): void {
    const seqs = listSegments(this.walDir);
    if (seqs.length === 0) {
      this.segs.push(createSegment(this.walDir, 1, this.segmentSize, this.stateRecords()));
      return;
    }
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      const file = path.join(this.walDir, `${seq.toString(16).padStart(16, '0')}.wal`);
      const fd = fs.openSync(file, i === seqs.length - 1 ? 'r+' : 'r');
      const seg: Segment = { seq, file, fd, size: 0, end: 0, records: 0, dirty: false };
      this.segs.push(seg);
      const last = i === seqs.length - 1;
      const res = scanSegment(fd, fs.fstatSync(fd).size, seq, file, last, (type, buf, p, len, off) => this.replayRecord(seg, type, buf, p, len, off));
      seg.size = res.size;
      seg.end = res.end;
      seg.records = res.records;
      if (res.torn !== undefined) log.warn(`raft log segment ${file}: cut a torn write at its end (${res.torn}); it was never acknowledged`);
      if (last) {
        // Whatever follows the last whole record (a torn write, or bytes of one whose start never
        // reached the disk) becomes zeros again, so that the next writes are read back alone.
        fs.ftruncateSync(fd, res.end);
        fs.ftruncateSync(fd, Math.max(seg.size, res.end));
        fs.fsyncSync(fd);
      }
    }
    this.dropDeadSegments();
  }

  private replayRecord(seg: Segment, type: number, b: Buffer, p: number, len: number, off: number): void {
    switch (type) {
      case RecordType.Entries:
      case RecordType.WireEntries: {
        const first = readU64(b, p);
        const count = b.readUInt32LE(p + 8);
        if (count === 0) throw damaged(seg.file, off, 'an entries record holds no entries');
        if (this.recFirst.length > 0 && first !== this.last + 1) {
          throw damaged(seg.file, off, `entries from ${first} do not continue the log, which ends at ${this.last}`);
        }
        this.applyEntries(first, count, seg, off, RECORD_HEADER + len);
        break;
      }
      case RecordType.HardState:
        this.hs = readHardState(b, p);
        break;
      case RecordType.Compact:
        this.applyCompact(readU64(b, p), readU64(b, p + 8));
        break;
      case RecordType.Snapshot:
        this.applySnapshot(readU64(b, p), readU64(b, p + 8), readHardState(b, p + 16));
        break;
      case RecordType.Truncate:
        this.applyTruncate(readU64(b, p));
        break;
    }
  }

  // ---- the in-memory index, changed the same way by replay and by writes -------------

  private applyEntries(first: number, count: number, seg: Segment, off: number, len: number): void {
    this.recFirst.push(first);
    this.recCount.push(count);
    this.recSeg.push(seg);
    this.recOff.push(off);
    this.recLen.push(len);
    this.last = first + count - 1;
  }

  private applyTruncate(from: number): void {
    if (this.recFirst.length === 0 || from > this.last) return;
    const k = lowerBound(this.recFirst, from);
    this.recFirst.length = this.recCount.length = this.recSeg.length = this.recOff.length = this.recLen.length = k;
    if (k > 0 && this.recFirst[k - 1]! + this.recCount[k - 1]! > from) this.recCount[k - 1] = from - this.recFirst[k - 1]!;
    this.last = k > 0 ? from - 1 : 0;
    const c = this.cache;
    if (c !== undefined && !this.isLive(c.seg, c.off)) this.cache = undefined;
  }

  private applyCompact(index: number, term: number): void {
    this.compactIndex = index;
    this.compactTerm = term;
    let n = 0;
    while (n < this.recFirst.length && this.recFirst[n]! + this.recCount[n]! - 1 <= index) n++;
    if (n > 0) this.dropRecords(n);
  }

  private applySnapshot(index: number, term: number, hs: StoredHardState): void {
    this.dropRecords(this.recFirst.length);
    this.compactIndex = index;
    this.compactTerm = term;
    this.hs = hs;
  }

  private dropRecords(n: number): void {
    this.recFirst.splice(0, n);
    this.recCount.splice(0, n);
    this.recSeg.splice(0, n);
    this.recOff.splice(0, n);
    this.recLen.splice(0, n);
    if (this.recFirst.length === 0) this.last = 0;
  }

  private isLive(seg: Segment, off: number): boolean {
    for (let k = this.recFirst.length - 1; k >= 0; k--) if (this.recSeg[k] === seg && this.recOff[k] === off) return true;
    return false;
  }

  /** Deletes the segments before the one holding the first live record (all but the last when none is live). */
  private dropDeadSegments(): void {
    const keep = this.recSeg.length > 0 ? this.segs.indexOf(this.recSeg[0]!) : this.segs.length - 1;
    if (keep <= 0) return;
    // Oldest first, so that a crash in between leaves a run of segments without a gap.
    for (const seg of this.segs.slice(0, keep)) {
      fs.closeSync(seg.fd);
      seg.fd = -1;
      fs.unlinkSync(seg.file);
    }
    this.segs.splice(0, keep);
    fsyncDir(this.walDir);
    if (this.cache !== undefined && this.cache.seg.fd === -1) this.cache = undefined;
  }

  // ---- appending ----------------------------------------------------------------------

  /** The compaction point and hard state as records: the start of every new segment. */
  private stateRecords(): Buffer {
    const b = Buffer.allocUnsafe(COMPACT_RECORD + HARD_STATE_RECORD);
    putHardState(b, putCompact(b, 0, this.compactIndex, this.compactTerm), this.hs);
    return b;
  }

  /** The segment a write of `size` bytes goes to: a new one when it does not fit (unless the last holds no entries yet). */
  private room(size: number): Segment {
    let seg = this.segs[this.segs.length - 1]!;
    if (seg.end + size <= seg.size || seg.records <= 2) return seg;
    // Everything before the new segment is durable before it starts.
    if (seg.dirty) fs.fdatasyncSync(seg.fd);
    seg.dirty = false;
    seg = createSegment(this.walDir, seg.seq + 1, this.segmentSize, this.stateRecords());
    this.segs.push(seg);
    return seg;
  }

  /**
   * Appends `b` (`records` whole records) to the log, fdatasynced when
   * `sync`, then runs `apply` with where it went. Main mode: all of it
   * now, on this thread (undefined returned). Pool mode: queued after the
   * appends before it, on the thread pool.
   */
  private append(b: Buffer, records: number, sync: boolean, apply: (seg: Segment, pos: number) => void): Promise<void> | undefined {
    if (this.io === 'main') {
      const seg = this.room(b.length);
      const pos = seg.end;
      try {
        writeAll(seg.fd, b, b.length, pos);
        if (sync) fs.fdatasyncSync(seg.fd);
      } catch (e) {
        unwrite(seg, pos);
        throw e;
      }
      return void this.appended(seg, pos, b.length, records, sync, apply);
    }
    const job = this.chain.then(async () => {
      const seg = this.room(b.length);
      const pos = seg.end;
      try {
        await writeAllAsync(seg.fd, b, pos);
        if (sync) await fdatasyncAsync(seg.fd);
      } catch (e) {
        unwrite(seg, pos);
        throw e;
      }
      this.appended(seg, pos, b.length, records, sync, apply);
    });
    this.chain = job.catch(() => {});
    return job;
  }

  /** After `len` bytes of `records` records went to `seg` at `pos` (synced when `sync`): the segment's bookkeeping, then `apply`. */
  private appended(seg: Segment, pos: number, len: number, records: number, sync: boolean, apply: (seg: Segment, pos: number) => void): void {
    seg.end = pos + len;
    seg.records += records;
    seg.dirty = !sync;
    apply(seg, pos);
  }

  // ---- LogBackend, less the members ---------------------------------------------------

  async hardState(): Promise<StoredHardState> {
    return { ...this.hs };
  }

  async compacted(): Promise<{ index: number; term: number }> {
    return { index: this.compactIndex, term: this.compactTerm };
  }

  /** Index of the last entry, 0 when no entry is stored. */
  async lastIndex(): Promise<number> {
    return this.last;
  }

  /** Nothing was ever written: no entries, no hard state, no compaction point. */
  isBlank(): boolean {
    return this.recFirst.length === 0 && this.compactIndex === 0 && this.hs.term === 0 && this.hs.vote === 0 && this.hs.commit === 0;
  }

  async write(entries: readonly StoredEntry[], hardState?: StoredHardState, truncateFrom?: number, sync = true): Promise<void> {
    const n = entries.length;
    let next = 0;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      if (i > 0 && e.index !== next) {
        throw new Error(`WalLog.write: entries must be consecutive and ascending (entry ${e.index} follows ${next - 1})`);
      }
      next = e.index + 1;
    }
    const first = n > 0 ? entries[0]!.index : 0;
    // The cut: entries at or after it are replaced (none if it is past the end).
    let cut = truncateFrom;
    if (n > 0 && first <= this.last && (cut === undefined || first < cut)) cut = first;
    if (cut !== undefined && (cut > this.last || this.recFirst.length === 0)) cut = undefined;
    if (n > 0) {
      const kept = cut === undefined ? this.recFirst.length : lowerBound(this.recFirst, cut);
      const end = cut === undefined ? this.last : cut - 1;
      if (kept > 0 && first !== end + 1) throw new Error(`WalLog.write: entries from ${first} would leave a gap after the log's last entry ${end}`);
    }
    // Entries as they went over the wire are written as those bytes (one copy): a follower's as
    // they came from the leader, a leader's as it encoded them for its followers. Anything else
    // (a part of a received append, a leader's entries it did not send as one append) is encoded.
    const runs = n > 0 ? wireRuns(entries) : undefined;
    let entriesSize = 0;
    if (runs !== undefined) for (let i = 0; i < runs.length; i++) entriesSize += wireEntriesRecordSize(runs[i]!.end - runs[i]!.start);
    else if (n > 0) entriesSize = entriesRecordSize(entries);
    const size = (cut !== undefined ? TRUNCATE_RECORD : 0) + entriesSize + (hardState ? HARD_STATE_RECORD : 0);
    if (size === 0) return;
    const b = Buffer.allocUnsafe(size);
    let p = 0;
    let records = 0;
    if (cut !== undefined) {
      p = putTruncate(b, p, cut);
      records++;
    }
    const at = p;
    if (runs !== undefined) {
      for (let i = 0, index = first; i < runs.length; i++) {
        const r = runs[i]!;
        p = putWireEntries(b, p, index, r.entries.length, r.buf, r.start, r.end);
        index += r.entries.length;
        records++;
      }
    } else if (n > 0) {
      p = putEntries(b, p, entries);
      records++;
    }
    if (hardState) {
      putHardState(b, p, hardState);
      records++;
    }
    const hs = hardState ? { term: hardState.term, vote: hardState.vote, commit: hardState.commit } : undefined;
    const pending = this.append(b, records, sync, (seg, pos) => {
      if (cut !== undefined) this.applyTruncate(cut);
      if (runs !== undefined) {
        for (let i = 0, index = first, q = pos + at; i < runs.length; i++) {
          const r = runs[i]!;
          const len = wireEntriesRecordSize(r.end - r.start);
          this.applyEntries(index, r.entries.length, seg, q, len);
          index += r.entries.length;
          q += len;
        }
      } else if (n > 0) this.applyEntries(first, n, seg, pos + at, entriesSize);
      if (hs) this.hs = hs;
    });
    if (pending) await pending;
  }

  async compact(index: number, term: number): Promise<void> {
    const b = Buffer.allocUnsafe(COMPACT_RECORD);
    putCompact(b, 0, index, term);
    const pending = this.append(b, 1, true, () => this.applyCompact(index, term));
    if (pending) await pending;
    this.dropDeadSegments();
  }

  async replaceWithSnapshot(index: number, term: number, hardState: StoredHardState): Promise<void> {
    const b = Buffer.allocUnsafe(SNAPSHOT_RECORD);
    putSnapshot(b, 0, index, term, hardState);
    const hs = { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
    const pending = this.append(b, 1, true, () => this.applySnapshot(index, term, hs));
    if (pending) await pending;
    this.cache = undefined;
    this.dropDeadSegments();
  }

  /** Reads live record k (checksum checked) into `b` at `at`; the entries' offsets within b. */
  private decode(k: number, b: Buffer, at: number): number[] {
    const seg = this.recSeg[k]!;
    const off = this.recOff[k]!;
    const len = this.recLen[k]!;
    if (b.readUInt32LE(at) !== crc32(b, at + 4, at + len)) throw damaged(seg.file, off, 'a record fails its checksum when read back');
    const offsets = b[at + 8] === RecordType.WireEntries ? wireEntryOffsets(b, at + RECORD_HEADER, len - RECORD_HEADER) : entryOffsets(b, at + RECORD_HEADER, len - RECORD_HEADER);
    if (offsets === undefined || readU64(b, at + RECORD_HEADER) !== this.recFirst[k]) throw damaged(seg.file, off, 'an entries record does not decode');
    return offsets;
  }

  async *entries(lo = 1, hi = Number.MAX_SAFE_INTEGER): AsyncGenerator<StoredEntry> {
    if (lo <= this.compactIndex) lo = this.compactIndex + 1;
    if (lo >= hi) return;
    let k = Math.max(0, lowerBound(this.recFirst, lo + 1) - 1);
    // A window of one segment read at once, so reading the whole log is a few large reads.
    let win: Buffer = Buffer.alloc(0);
    let winSeg: Segment | undefined;
    let winStart = 0;
    let winLen = 0;
    for (; k < this.recFirst.length; k++) {
      const first = this.recFirst[k]!;
      if (first >= hi) return;
      const seg = this.recSeg[k]!;
      const off = this.recOff[k]!;
      const len = this.recLen[k]!;
      if (winSeg !== seg || off < winStart || off + len > winStart + winLen) {
        win = Buffer.allocUnsafe(Math.max(len, Math.min(READ_AHEAD, seg.end - off)));
        winLen = fs.readSync(seg.fd, win, 0, win.length, off);
        if (winLen < len) throw damaged(seg.file, off, `the file ends inside a record (read ${winLen} of ${len} bytes)`);
        winSeg = seg;
        winStart = off;
      }
      const offsets = this.decode(k, win, off - winStart);
      const wire = win[off - winStart + 8] === RecordType.WireEntries;
      const count = this.recCount[k]!;
      for (let j = Math.max(0, lo - first); j < count; j++) {
        const index = first + j;
        if (index >= hi) return;
        yield wire ? wireEntryAt(win, offsets[j]!) : entryAt(win, offsets[j]!, index);
      }
    }
  }

  entrySync(index: number): StoredEntry | undefined {
    if (index <= this.compactIndex || index > this.last) return undefined;
    const k = lowerBound(this.recFirst, index + 1) - 1;
    if (k < 0 || index >= this.recFirst[k]! + this.recCount[k]!) return undefined;
    const seg = this.recSeg[k]!;
    const off = this.recOff[k]!;
    let c = this.cache;
    if (c === undefined || c.seg !== seg || c.off !== off) {
      const len = this.recLen[k]!;
      const buf = Buffer.allocUnsafe(len);
      const got = fs.readSync(seg.fd, buf, 0, len, off);
      if (got < len) throw damaged(seg.file, off, `the file ends inside a record (read ${got} of ${len} bytes)`);
      c = { seg, off, buf, offsets: this.decode(k, buf, 0), wire: buf[8] === RecordType.WireEntries };
      this.cache = c;
    }
    const q = c.offsets[index - this.recFirst[k]!]!;
    return c.wire ? wireEntryAt(c.buf, q) : entryAt(c.buf, q, index);
  }

  /** Segments on disk, oldest first (for tests and INFO). */
  segmentFiles(): string[] {
    return this.segs.map((s) => s.file);
  }

  private closeFds(): void {
    for (const s of this.segs) if (s.fd !== -1) fs.closeSync(s.fd);
    this.segs.length = 0;
  }

  async close(): Promise<void> {
    await this.chain;
    for (const s of this.segs) if (s.dirty) fs.fdatasyncSync(s.fd);
    this.closeFds();
  }
}
