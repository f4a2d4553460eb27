/**
 * Segment files of the Raft log: naming, the file header, creating a
 * segment durably, and reading one back record by record with the repair
 * rules for a torn tail (docs/log-format.md).
 *
 * A segment is `<seq as 16 hex digits>.wal` in the log directory. It is
 * created as `<name>.tmp` (header and state records written, the file
 * extended to its preallocated size with ftruncate, fsynced), renamed into
 * place and the directory fsynced, as etcd's file pipeline does; so a
 * segment under its final name always has a whole header, and a `.tmp`
 * file is a creation that a crash interrupted (removed at open).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptDataError, StorageError } from '../errors.js';
import { ENTRIES_HEADER, RECORD_HEADER, RecordType, crc32, fixedPayload, readU64, writeU64 } from './record.js';

export const SEGMENT_MAGIC = Buffer.from('RAFTISWL', 'latin1');
export const SEGMENT_VERSION = 1;
/** magic (8) · version (u32) · flags (u32, 0) · sequence (u64) · preallocated size (u32) · crc32 of bytes 0..28 (u32). */
export const SEGMENT_HEADER = 32;
/** Sector size assumed by the torn-write check (a write reaches the disk in whole sectors). */
const SECTOR = 512;

const NAME = /^([0-9a-f]{16})\.wal$/;

export interface Segment {
  seq: number;
  /** Full path, for error messages. */
  file: string;
  fd: number;
  /** Preallocated size (from the header). */
  size: number;
  /** Where the next record goes (the end of the last whole record). */
  end: number;
  /** Records in this segment (the state records at its start included). */
  records: number;
  /** Written since the last fdatasync. */
  dirty: boolean;
}

export function segmentName(seq: number): string {
  return `${seq.toString(16).padStart(16, '0')}.wal`;
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes all of b[0, len) at `pos` (writeSync may write less than asked). */
export function writeAll(fd: number, b: Buffer, len: number, pos: number): void {
  let done = 0;
  while (done < len) done += fs.writeSync(fd, b, done, len - done, pos + done);
}

/** Sequence numbers of the segments in `dir`, ascending; removes segments a crash left half-created. */
export function listSegments(dir: string): number[] {
  const seqs: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith('.wal.tmp')) {
      fs.rmSync(path.join(dir, name), { force: true });
      continue;
    }
    const m = NAME.exec(name);
    if (m) seqs.push(parseInt(m[1]!, 16));
  }
  seqs.sort((a, b) => a - b);
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] !== seqs[i - 1]! + 1) {
      throw new CorruptDataError(
        `raft log in ${dir} is missing segment ${segmentName(seqs[i - 1]! + 1)} (found ${segmentName(seqs[i - 1]!)} then ${segmentName(seqs[i]!)}); ` +
          'the log cannot be read past the gap: restore the directory from a backup, or remove this node\'s data directory and let it rejoin the cluster',
      );
    }
  }
  return seqs;
}

function header(seq: number, size: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER);
  SEGMENT_MAGIC.copy(h, 0);
  h.writeUInt32LE(SEGMENT_VERSION, 8);
  writeU64(h, seq, 16);
  h.writeUInt32LE(size, 24);
  h.writeUInt32LE(crc32(h, 0, 28), 28);
  return h;
}

/**
 * Creates segment `seq` durably: header, then `state` (whole records: the
 * log's current compaction point and hard state), preallocated to `size`.
 */
export function createSegment(dir: string, seq: number, size: number, state: Buffer): Segment {
  const file = path.join(dir, segmentName(seq));
  const tmp = `${file}.tmp`;
  let fd = -1;
  try {
    fd = fs.openSync(tmp, 'w+');
    const h = header(seq, size);
    writeAll(fd, h, h.length, 0);
    writeAll(fd, state, state.length, SEGMENT_HEADER);
    const used = SEGMENT_HEADER + state.length;
    if (size > used) fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
    fs.renameSync(tmp, file);
    fsyncDir(dir);
    return { seq, file, fd, size, end: used, records: 2, dirty: false };
  } catch (e) {
    if (fd !== -1) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new StorageError(`cannot create raft log segment ${file}: ${(e as Error).message}`, { cause: e });
  }
}

export function damaged(file: string, offset: number, why: string): CorruptDataError {
  return new CorruptDataError(
    `raft log segment ${file} is damaged at offset ${offset}: ${why}. The entries from there on cannot be trusted, so the node does not start: ` +
      'restore the data directory from a backup, or remove this node\'s data directory and let it rejoin the cluster (RAFT.NODE REMOVE, then --join)',
  );
}

/** Checks the header of segment `seq` (the first bytes of the file in `b`); returns its preallocated size. */
export function checkHeader(b: Buffer, seq: number, file: string): number {
  if (b.length < SEGMENT_HEADER) throw damaged(file, 0, `the file is ${b.length} bytes, shorter than a segment header`);
  if (!b.subarray(0, 8).equals(SEGMENT_MAGIC)) throw damaged(file, 0, 'it does not start with a raftis log header (RAFTISWL)');
  if (b.readUInt32LE(28) !== crc32(b, 0, 28)) throw damaged(file, 0, 'the segment header fails its checksum');
  const version = b.readUInt32LE(8);
  if (version !== SEGMENT_VERSION) throw damaged(file, 8, `the segment format is version ${version}, this raftis reads version ${SEGMENT_VERSION} (written by a newer raftis?)`);
  const s = readU64(b, 16);
  if (s !== seq) throw damaged(file, 16, `the header names segment ${s}, the file name ${seq}`);
  return b.readUInt32LE(24);
}

export type Visit = (type: number, b: Buffer, payload: number, len: number, offset: number) => void;

function allZero(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/** A record [off, end) that failed its checksum has a sector-bounded piece of all zeros: part of it never reached the disk. */
function hasZeroSector(b: Buffer, off: number, end: number): boolean {
  let p = off;
  while (p < end) {
    const next = Math.min(end, (Math.floor(p / SECTOR) + 1) * SECTOR);
    if (allZero(b, p, next)) return true;
    p = next;
  }
  return false;
}

const READ_CHUNK = 1024 * 1024;

/** The front of a segment file, read as far as the scan needs it (not the preallocated zeros after the records). */
class Front {
  b = Buffer.allocUnsafe(READ_CHUNK);
  /** Bytes of the file in b. */
  n = 0;

  constructor(
    private readonly fd: number,
    readonly fileSize: number,
  ) {}

  /** Reads until b holds the file up to `upto` (false: the file ends before it). */
  has(upto: number): boolean {
    if (upto <= this.n) return true;
    const target = Math.min(upto, this.fileSize);
    while (this.n < target) {
      const want = Math.min(this.fileSize, Math.max(target, this.n + READ_CHUNK));
      if (want > this.b.length) {
        const grown = Buffer.allocUnsafe(Math.min(this.fileSize, Math.max(want, this.b.length * 2)));
        this.b.copy(grown, 0, 0, this.n);
        this.b = grown;
      }
      const got = fs.readSync(this.fd, this.b, this.n, want - this.n, this.n);
      if (got === 0) break;
      this.n += got;
    }
    return this.n >= upto;
  }
}

export interface ScanResult {
  /** End of the last whole record. */
  end: number;
  records: number;
  /** Set when the last segment ended in a torn record, cut at `end`. */
  torn?: string;
}

/**
 * Reads the records of segment `seq` (open as `fd`, `fileSize` bytes) and
 * visits each; returns the preallocated size from its header and where the
 * records end. They end at four zero bytes (nothing written there) or at
 * the end of the file. In the last segment, a record that a crash tore (it
 * runs past the end of the file, or fails its checksum with a sector of
 * zeros in it and nothing written after it) ends the log there, as etcd's
 * repair does; any other damage, and any damage in an earlier segment,
 * throws a CorruptDataError naming the file and offset.
 */
export function scanSegment(fd: number, fileSize: number, seq: number, file: string, last: boolean, visit: Visit): ScanResult & { size: number } {
  const f = new Front(fd, fileSize);
  f.has(SEGMENT_HEADER);
  const size = checkHeader(f.b.subarray(0, f.n), seq, file);
  let off = SEGMENT_HEADER;
  let records = 0;
  const done = (torn?: string): ScanResult & { size: number } => ({ end: off, records, size, ...(torn !== undefined ? { torn } : {}) });
  const torn = (why: string): ScanResult & { size: number } => {
    if (!last) throw damaged(file, off, `${why}, and it is not the last segment (a torn write can only be at the end of the log)`);
    return done(`${why} at offset ${off}`);
  };
  /** Nothing was written after `end`: a later write would have started there. */
  const nothingAfter = (end: number): boolean => (f.has(end + 8) ? allZero(f.b, end, end + 8) : allZero(f.b, end, f.n));
  for (;;) {
    if (!f.has(off + 8)) {
      if (allZero(f.b, off, f.n)) return done();
      return torn('a record header is cut off by the end of the file');
    }
    const b = f.b;
    const crc = b.readUInt32LE(off);
    const len = b.readUInt32LE(off + 4);
    if (len === 0) {
      if (crc === 0) return done();
      return torn('a record has length 0');
    }
    const end = off + 8 + len;
    if (!f.has(end)) {
      // A write that does not fit is only ever made at the start of a segment: elsewhere this is a damaged length.
      if (end <= size || records <= 2) return torn(`a record of ${len} bytes runs past the end of the file (${fileSize} bytes)`);
      throw damaged(file, off, `a record claims ${len} bytes, more than the segment holds`);
    }
    const rb = f.b;
    if (rb.readUInt32LE(off) !== crc32(rb, off + 4, end)) {
      if (hasZeroSector(rb, off, end) && nothingAfter(end)) return torn('a record fails its checksum where part of it was never written');
      throw damaged(file, off, 'a record fails its checksum');
    }
    const type = rb[off + 8]!;
    const fixed = fixedPayload(type);
    if (fixed !== undefined ? len - 1 !== fixed : type !== RecordType.Entries && type !== RecordType.WireEntries) {
      throw damaged(file, off, fixed === undefined ? `a record has unknown type ${type} (written by a newer raftis?)` : `a record of type ${type} has ${len - 1} payload bytes, expected ${fixed}`);
    }
    if (fixed === undefined && len - 1 < ENTRIES_HEADER) throw damaged(file, off, `an entries record has ${len - 1} payload bytes, too few for its header`);
    visit(type, rb, off + RECORD_HEADER, len - 1, off);
    records++;
    off = end;
  }
}
