/**
 * The records of raftis's Raft log (docs/log-format.md has the bytes).
 *
 * A record: crc32 (u32) · length (u32) · type (u8) · payload, little-endian.
 * `length` counts the type byte and the payload (never 0, so four zero
 * bytes where a record would start mean "nothing written here": the
 * preallocated rest of a segment). The crc32 (zlib's, IEEE polynomial)
 * covers everything after itself: length, type and payload.
 *
 * Every write of the log is one buffer of whole records, built here with a
 * single allocation and written with one write call.
 */
import zlib from 'node:zlib';
import type { StoredEntry, StoredHardState } from '../log-backend.js';

export const RecordType = {
  /** first index (u64) · count (u32) · per entry: term (u64) · type (u8) · data length (u32) · data */
  Entries: 1,
  /** term (u64) · vote (u64) · commit (u64) */
  HardState: 2,
  /** index (u64) · term (u64): entries up to index are compacted away */
  Compact: 3,
  /** index (u64) · term (u64) · hard state term, vote, commit (u64 each): the log is replaced by a snapshot */
  Snapshot: 4,
  /** from (u64): stored entries at index >= from are removed */
  Truncate: 5,
  /**
   * first index (u64) · count (u32) · per entry, the peer protocol's Entry:
   * type (u8) · index (varint) · term (varint) · data length (varint) · data.
   * A follower writes a received append's entries as they came (one copy).
   */
  WireEntries: 6,
} as const;

/** crc32 · length · type. */
export const RECORD_HEADER = 9;
/** Entries payload header: first index · count. */
export const ENTRIES_HEADER = 12;
/** Per entry: term · type · data length. */
export const ENTRY_HEADER = 13;

export const HARD_STATE_RECORD = RECORD_HEADER + 24;
export const COMPACT_RECORD = RECORD_HEADER + 16;
export const SNAPSHOT_RECORD = RECORD_HEADER + 40;
export const TRUNCATE_RECORD = RECORD_HEADER + 8;

/**
 * Writes a u32 little-endian with four byte stores: Buffer#writeUInt32LE is
 * a JavaScript function with range checks, called through a generic load of
 * the method (~190 instructions a call under callgrind against ~15), and the
 * entries record writes three per entry (bench/results/callgrind-per-request.md).
 */
function putU32(b: Buffer, off: number, n: number): void {
  b[off] = n;
  b[off + 1] = n >>> 8;
  b[off + 2] = n >>> 16;
  b[off + 3] = n >>> 24;
}

/** Writes a non-negative safe integer as a little-endian u64 (no BigInt: this is the hot path). */
export function writeU64(b: Buffer, n: number, off: number): void {
  putU32(b, off, n >>> 0);
  putU32(b, off + 4, Math.floor(n / 0x100000000));
}

export function readU64(b: Buffer, off: number): number {
  return b.readUInt32LE(off + 4) * 0x100000000 + b.readUInt32LE(off);
}

export function crc32(b: Buffer, start: number, end: number): number {
  return zlib.crc32(b.subarray(start, end));
}

/** Writes length and type of the record at `off` (payload already in place) and its checksum. */
function seal(b: Buffer, off: number, type: number, payload: number): number {
  putU32(b, off + 4, payload + 1);
  b[off + 8] = type;
  const end = off + RECORD_HEADER + payload;
  putU32(b, off, crc32(b, off + 4, end));
  return end;
}

/** Bytes of an entries record holding `entries`. */
export function entriesRecordSize(entries: readonly StoredEntry[]): number {
  let size = RECORD_HEADER + ENTRIES_HEADER;
  for (let i = 0; i < entries.length; i++) size += ENTRY_HEADER + entries[i]!.data.length;
  return size;
}

/** Writes an entries record at `off`; returns where it ends. */
export function putEntries(b: Buffer, off: number, entries: readonly StoredEntry[]): number {
  let p = off + RECORD_HEADER;
  writeU64(b, entries[0]!.index, p);
  putU32(b, p + 8, entries.length);
  p += ENTRIES_HEADER;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    writeU64(b, e.term, p);
    b[p + 8] = e.type;
    putU32(b, p + 9, e.data.length);
    b.set(e.data, p + ENTRY_HEADER);
    p += ENTRY_HEADER + e.data.length;
  }
  return seal(b, off, RecordType.Entries, p - off - RECORD_HEADER);
}

/**
 * Writes a wire entries record at `off` holding `count` entries from
 * `first`, whose peer-protocol bytes are src[start, end); returns where it ends.
 */
export function putWireEntries(b: Buffer, off: number, first: number, count: number, src: Buffer, start: number, end: number): number {
  const p = off + RECORD_HEADER;
  writeU64(b, first, p);
  putU32(b, p + 8, count);
  b.set(src.subarray(start, end), p + ENTRIES_HEADER);
  return seal(b, off, RecordType.WireEntries, ENTRIES_HEADER + end - start);
}

/** Bytes of a wire entries record whose entries are `bytes` long. */
export const wireEntriesRecordSize = (bytes: number): number => RECORD_HEADER + ENTRIES_HEADER + bytes;

export function putHardState(b: Buffer, off: number, hs: StoredHardState): number {
  const p = off + RECORD_HEADER;
  writeU64(b, hs.term, p);
  writeU64(b, hs.vote, p + 8);
  writeU64(b, hs.commit, p + 16);
  return seal(b, off, RecordType.HardState, 24);
}

export function putCompact(b: Buffer, off: number, index: number, term: number): number {
  writeU64(b, index, off + RECORD_HEADER);
  writeU64(b, term, off + RECORD_HEADER + 8);
  return seal(b, off, RecordType.Compact, 16);
}

export function putSnapshot(b: Buffer, off: number, index: number, term: number, hs: StoredHardState): number {
  const p = off + RECORD_HEADER;
  writeU64(b, index, p);
  writeU64(b, term, p + 8);
  writeU64(b, hs.term, p + 16);
  writeU64(b, hs.vote, p + 24);
  writeU64(b, hs.commit, p + 32);
  return seal(b, off, RecordType.Snapshot, 40);
}

export function putTruncate(b: Buffer, off: number, from: number): number {
  writeU64(b, from, off + RECORD_HEADER);
  return seal(b, off, RecordType.Truncate, 8);
}

export function readHardState(b: Buffer, p: number): StoredHardState {
  return { term: readU64(b, p), vote: readU64(b, p + 8), commit: readU64(b, p + 16) };
}

/** The payload length each fixed-size record type must have (undefined: variable, or unknown type). */
export function fixedPayload(type: number): number | undefined {
  switch (type) {
    case RecordType.HardState:
      return 24;
    case RecordType.Compact:
      return 16;
    case RecordType.Snapshot:
      return 40;
    case RecordType.Truncate:
      return 8;
    default:
      return undefined;
  }
}

/**
 * Byte offsets (within `b`) of the entries of the entries record whose
 * payload is b[p, p + len); undefined when it does not decode exactly.
 */
export function entryOffsets(b: Buffer, p: number, len: number): number[] | undefined {
  if (len < ENTRIES_HEADER) return undefined;
  const count = b.readUInt32LE(p + 8);
  const end = p + len;
  const offsets: number[] = new Array<number>(count);
  let q = p + ENTRIES_HEADER;
  for (let i = 0; i < count; i++) {
    if (q + ENTRY_HEADER > end) return undefined;
    offsets[i] = q;
    q += ENTRY_HEADER + b.readUInt32LE(q + 9);
  }
  return q === end && count > 0 ? offsets : undefined;
}

/** The varint (LEB128, at most 8 bytes, at most 2^53 - 1) at b[q], ending before `end`; -1 if there is none. Sets varintEnd. */
function varintAt(b: Buffer, q: number, end: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (q >= end) return -1;
    const c = b[q++]!;
    if (i === 7 && c > 0x0f) return -1;
    result += (c & 0x7f) * mul;
    if (c < 0x80) {
      varintEnd = q;
      return result;
    }
    mul *= 0x80;
  }
  return -1;
}
/** Where the varint varintAt read last ended (no array per call). */
let varintEnd = 0;

/**
 * Byte offsets (within `b`) of the entries of the wire entries record whose
 * payload is b[p, p + len); undefined unless it decodes exactly: `count`
 * entries, the first at the record's first index and each next one after it.
 */
export function wireEntryOffsets(b: Buffer, p: number, len: number): number[] | undefined {
  if (len < ENTRIES_HEADER) return undefined;
  const first = readU64(b, p);
  const count = b.readUInt32LE(p + 8);
  const end = p + len;
  if (count === 0 || count > len) return undefined;
  const offsets: number[] = new Array<number>(count);
  let q = p + ENTRIES_HEADER;
  for (let i = 0; i < count; i++) {
    offsets[i] = q;
    if (varintAt(b, q + 1, end) !== first + i) return undefined;
    if (varintAt(b, varintEnd, end) < 0) return undefined;
    const size = varintAt(b, varintEnd, end);
    if (size < 0 || size > end - varintEnd) return undefined;
    q = varintEnd + size;
  }
  return q === end ? offsets : undefined;
}

/** The entry at b[q] of a wire entries record (offsets checked by wireEntryOffsets). */
export function wireEntryAt(b: Buffer, q: number): StoredEntry {
  const type = b[q]!;
  const index = varintAt(b, q + 1, b.length);
  const term = varintAt(b, varintEnd, b.length);
  const size = varintAt(b, varintEnd, b.length);
  const start = varintEnd;
  return { index, term, type, data: b.subarray(start, start + size) };
}

export function entryAt(b: Buffer, q: number, index: number): StoredEntry {
  const start = q + ENTRY_HEADER;
  return { index, term: readU64(b, q), type: b[q + 8]!, data: b.subarray(start, start + b.readUInt32LE(q + 9)) };
}
