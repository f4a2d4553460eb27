/**
 * Snapshot files: the keyspace as of one applied index, written next to the
 * Raft log (docs/snapshots.md has the byte layout).
 *
 *   <dir>/snapshots/snap-<index:16 hex>-<term:16 hex>.rsnap
 *
 * A file is written under a temporary name, fsynced, renamed, and the
 * directory fsynced, so a crash leaves either no file or a whole one. A
 * CRC-32 over everything before it lets a reader detect a torn or damaged
 * file; the reader says which file and what is wrong.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ConfState } from '../raft/index.js';
import { CorruptDataError } from './errors.js';
import type { StoredMember } from './log-store.js';

export const SNAPSHOT_MAGIC = 'RAFTISNP';
/** Version 2 added the state machine's own state (appState) after the members; version 1 files are still read. */
export const SNAPSHOT_VERSION = 2;
/** Ends the records; every record begins with a tag byte other than this one (src/keyspace/snapshot-records.ts). */
export const END_MARKER = 0xff;

/** A member and its addresses, as the membership record keeps it. */
export type SnapshotMember = StoredMember;

export interface SnapshotMeta {
  index: number;
  term: number;
  confState: ConfState;
  /** Addresses of the members (a node installing this snapshot may have missed their conf changes). */
  members: SnapshotMember[];
  /** Wall-clock ms when the snapshot began (LASTSAVE). */
  createdAt: number;
  /**
   * The state machine's own state besides the keyspace (opaque here: the
   * layer above encodes it, e.g. the script cache); absent or empty for none.
   */
  appState?: Buffer;
}

export function snapshotDir(dataDir: string): string {
  return path.join(dataDir, 'snapshots');
}

export function snapshotFileName(index: number, term: number): string {
  return `snap-${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}.rsnap`;
}

const NAME_RE = /^snap-([0-9a-f]{16})-([0-9a-f]{16})\.rsnap$/;

/** Snapshot files in a directory, newest (highest index) first. */
export function listSnapshotFiles(dir: string): { file: string; index: number; term: number }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: { file: string; index: number; term: number }[] = [];
  for (const n of names) {
    const m = NAME_RE.exec(n);
    if (m) out.push({ file: path.join(dir, n), index: parseInt(m[1]!, 16), term: parseInt(m[2]!, 16) });
  }
  return out.sort((a, b) => b.index - a.index);
}

/** fsync a directory so a rename or unlink in it is durable. */
export async function syncDir(dir: string): Promise<void> {
  const fd = await fsp.open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** A growable output buffer with the encodings the format uses. */
export class SnapshotOut {
  buf: Buffer;
  len = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.len);
    this.len += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
  }
  /** A latin1 string (one byte per char), u32 length first. */
  str(s: string): void {
    const n = s.length;
    this.ensure(4 + n);
    const b = this.buf;
    let o = this.len;
    b[o] = n & 0xff;
    b[o + 1] = (n >>> 8) & 0xff;
    b[o + 2] = (n >>> 16) & 0xff;
    b[o + 3] = n >>> 24;
    o += 4;
    // Short strings: a JS loop beats a call into C++.
    if (n < 48) {
      for (let i = 0; i < n; i++) b[o + i] = s.charCodeAt(i);
      this.len = o + n;
    } else {
      this.len = o + b.write(s, o, 'latin1');
    }
  }
  /** Bytes, u32 length first. */
  bytes(b: Buffer): void {
    this.u32(b.length);
    this.ensure(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }
  ascii(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }
  /**
   * The bytes encoded so far; the buffer is reused once the caller is done
   * with them (release), so a snapshot allocates two buffers, not one per flush.
   */
  take(): Buffer {
    const b = this.buf.subarray(0, this.len);
    const spare = this.spare;
    this.spare = this.buf;
    this.buf = spare !== undefined && spare.length >= this.buf.length ? spare : Buffer.allocUnsafe(this.buf.length);
    this.len = 0;
    return b;
  }
  private spare: Buffer | undefined;
}

function encodeHeader(out: SnapshotOut, meta: SnapshotMeta): void {
  out.ascii(SNAPSHOT_MAGIC);
  out.u32(SNAPSHOT_VERSION);
  out.f64(meta.index);
  out.f64(meta.term);
  out.f64(meta.createdAt);
  out.u32(meta.confState.voters.length);
  for (const id of meta.confState.voters) out.f64(id);
  out.u32(meta.confState.learners.length);
  for (const id of meta.confState.learners) out.f64(id);
  out.u32(meta.members.length);
  for (const m of meta.members) {
    out.f64(m.id);
    out.u32(m.port);
    out.u32(m.clusterPort);
    out.str(Buffer.from(m.host, 'utf8').toString('latin1'));
  }
  out.bytes(meta.appState ?? EMPTY);
}

const EMPTY = Buffer.alloc(0);

/**
 * Streams records into a new snapshot file. Records are encoded into memory
 * synchronously (so a value is captured before it can change) and written
 * out by flush(); finish() makes the file durable under its final name.
 */
export class SnapshotWriter {
  /** Where records are encoded (src/keyspace/snapshot-records.ts writes them; each counts itself in `records`). */
  readonly out = new SnapshotOut(1 << 20);
  private crc = 0;
  private written = 0;
  records = 0;

  private constructor(
    private readonly fh: fsp.FileHandle,
    private readonly tmp: string,
    readonly file: string,
    readonly meta: SnapshotMeta,
  ) {
    encodeHeader(this.out, meta);
  }

  static async create(dataDir: string, meta: SnapshotMeta): Promise<SnapshotWriter> {
    const dir = snapshotDir(dataDir);
    await fsp.mkdir(dir, { recursive: true });
    const file = path.join(dir, snapshotFileName(meta.index, meta.term));
    const tmp = `${file}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    return new SnapshotWriter(fh, tmp, file, meta);
  }

  /** Bytes encoded but not yet written. */
  get buffered(): number {
    return this.out.len;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.written + this.out.len;
  }

  async flush(): Promise<void> {
    if (this.out.len === 0) return;
    const b = this.out.take();
    this.crc = zlib.crc32(b, this.crc);
    this.written += b.length;
    await this.fh.write(b, 0, b.length);
    // Data written now rather than all at the end: a big burst of dirty
    // pages would ride along with the Raft log's next fsync (ext4 ordered
    // mode) and stall writes.
    await this.fh.datasync();
  }

  /** Writes the trailer, fsyncs, renames into place, fsyncs the directory; returns the file's size. */
  async finish(): Promise<number> {
    this.out.u8(END_MARKER);
    this.out.f64(this.records);
    await this.flush();
    const t = Buffer.allocUnsafe(4);
    t.writeUInt32LE(this.crc >>> 0, 0);
    await this.fh.write(t, 0, 4);
    this.written += 4;
    await this.fh.sync();
    await this.fh.close();
    await fsp.rename(this.tmp, this.file);
    await syncDir(path.dirname(this.file));
    return this.written;
  }

  /** Gives up: closes and removes the temporary file. */
  async abort(): Promise<void> {
    await this.fh.close().catch(() => {});
    await fsp.rm(this.tmp, { force: true });
  }
}

/** Reads a snapshot file's bytes, checking every length against the end. */
export class SnapshotIn {
  off = 0;
  constructor(
    readonly buf: Buffer,
    readonly file: string,
  ) {}
  private need(n: number, what: string): void {
    if (this.off + n > this.buf.length) {
      throw new CorruptDataError(`snapshot ${this.file} is truncated: ${what} at byte ${this.off} runs past the end`);
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.off++]!;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.buf.readDoubleLE(this.off);
    this.off += 8;
    return v;
  }
  bytes(what: string): Buffer {
    const n = this.u32(what);
    this.need(n, what);
    const b = Buffer.from(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    return b;
  }
  str(what: string): string {
    const n = this.u32(what);
    this.need(n, what);
    const s = this.buf.toString('latin1', this.off, this.off + n);
    this.off += n;
    return s;
  }
}

function decodeHeader(r: SnapshotIn, file: string): SnapshotMeta {
  if (r.buf.length < SNAPSHOT_MAGIC.length || r.buf.toString('latin1', 0, SNAPSHOT_MAGIC.length) !== SNAPSHOT_MAGIC) {
    throw new CorruptDataError(`${file} is not a raftis snapshot (bad magic)`);
  }
  r.off = SNAPSHOT_MAGIC.length;
  const version = r.u32('version');
  if (version !== 1 && version !== SNAPSHOT_VERSION) {
    throw new CorruptDataError(`snapshot ${file} has format version ${version}; this raftis reads versions 1 to ${SNAPSHOT_VERSION}`);
  }
  const index = r.f64('index');
  const term = r.f64('term');
  const createdAt = r.f64('created-at');
  const voters: number[] = [];
  for (let n = r.u32('voter count'); n > 0; n--) voters.push(r.f64('voter id'));
  const learners: number[] = [];
  for (let n = r.u32('learner count'); n > 0; n--) learners.push(r.f64('learner id'));
  const members: SnapshotMember[] = [];
  for (let n = r.u32('member count'); n > 0; n--) {
    const id = r.f64('member id');
    const port = r.u32('member port');
    const clusterPort = r.u32('member cluster port');
    const host = Buffer.from(r.str('member host'), 'latin1').toString('utf8');
    members.push({ id, host, port, clusterPort });
  }
  const appState = version >= 2 ? r.bytes('state machine state') : EMPTY;
  const meta: SnapshotMeta = { index, term, createdAt, confState: { voters, learners }, members };
  if (appState.length > 0) meta.appState = appState;
  return meta;
}

/** Checks a whole file's checksum; returns its bytes. */
export function readVerified(file: string): Buffer {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new CorruptDataError(`cannot read snapshot ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (buf.length < SNAPSHOT_MAGIC.length + 4) throw new CorruptDataError(`snapshot ${file} is truncated (${buf.length} bytes)`);
  const stored = buf.readUInt32LE(buf.length - 4);
  const actual = zlib.crc32(buf.subarray(0, buf.length - 4)) >>> 0;
  if (stored !== actual) {
    throw new CorruptDataError(
      `snapshot ${file} fails its checksum (stored ${stored.toString(16)}, computed ${actual.toString(16)}): the file is truncated or damaged`,
    );
  }
  return buf;
}

/** The metadata of a snapshot file, after checking the whole file's checksum. */
export function verifySnapshotFile(file: string): SnapshotMeta {
  const buf = readVerified(file);
  return decodeHeader(new SnapshotIn(buf, file), file);
}

/**
 * Reads a snapshot file: checks its checksum, then calls `record` with each
 * record's tag, the reader placed after it, in order. Returns the metadata
 * and the number of records.
 */
export function readSnapshotRecords(file: string, record: (tag: number, r: SnapshotIn) => void): { meta: SnapshotMeta; records: number } {
  const buf = readVerified(file);
  const r = new SnapshotIn(buf.subarray(0, buf.length - 4), file);
  const meta = decodeHeader(r, file);
  let records = 0;
  for (;;) {
    const tag = r.u8('record tag');
    if (tag === END_MARKER) break;
    record(tag, r);
    records++;
  }
  const count = r.f64('record count');
  if (count !== records) throw new CorruptDataError(`snapshot ${file} says it holds ${count} records but has ${records}`);
  if (r.off !== r.buf.length) throw new CorruptDataError(`snapshot ${file} has ${r.buf.length - r.off} stray bytes after its end marker`);
  return { meta, records };
}
