/**
 * The payload of a state-machine log entry: what the leader decided, encoded
 * compactly (no JSON). Every replica applies the same bytes.
 *
 *   u8  kind       1 = commands, 2 = expired-key deletes, 3 = evictions,
 *                  4 = script bodies to cache, 5 / 6 = kill / proceed
 *                  with the script of entry N (one "key": N in decimal)
 *   f64 time       the leader's clock when it proposed (ms since epoch);
 *                  every expiry decision during apply uses this time
 *   u8  flags      bit 0: MULTI/EXEC (reply is an array of the replies)
 *                  bit 1: a database number follows (absent: db 0)
 *                  bit 2: proposed over maxmemory (a script's first
 *                  denyoom call before any write gets -OOM)
 *                  bit 3: proposed by a group of one voter: scripts run
 *                  without Redis Cluster's slot rules (as on a standalone
 *                  redis-server; absent: the rules apply)
 *                  bit 4: kind 1 only, the entry serves a parked client
 *                  (Ctx.unblock): a u32-length-prefixed string follows
 *                  bit 5: kind 1 only, the command is a parked blocking
 *                  pop proposed again when its keys got data (Ctx.served)
 *                  bit 6: kind 1 only, proposed for a client whose ACL user
 *                  may not run everything: its name (u32 length, bytes)
 *                  follows, after the unblock string; scripts check their
 *                  redis.call commands against that user (Ctx.user)
 *   u32 count      number of commands (kind 1) or keys (kind 2)
 *   [u32 db]       with flag bit 1: the database the commands run in (the
 *                  client's SELECTed one; a SELECT inside a MULTI changes it
 *                  for the commands after it) or the keys expire in
 *   [u32 len, bytes]  with flag bit 4: the unblock string
 *   [u32 len, bytes]  with flag bit 6: the ACL user
 *   kind 1: per command: u32 argc, then per arg: u32 length, bytes
 *   kind 2, 3: per key: u32 length, bytes
 *   kind 4: per script body: u32 length, bytes
 *
 * An entry in db 0 is encoded exactly as before databases existed (no flag,
 * no field), so entries written by older builds decode as db 0 and the hot
 * path's entries are no bigger.
 */
import { latin1 } from '../../util/latin1.js';
import { latin1Key } from '../../util/key-hash.js';
import { INLINE_MAX } from '../../keyspace/key-table.js';

export const enum EntryKind {
  Commands = 1,
  ExpireKeys = 2,
  /** Keys the leader chose to evict (maxmemory; engine/evict.ts). */
  EvictKeys = 3,
  /**
   * Script bodies a read-path EVAL / EVAL_RO ran on the leader without
   * caching them: every replica caches them, as Redis's EVAL caches every
   * body it runs (dispatch.ts cacheScript). No command: nothing is counted.
   */
  CacheScripts = 4,
  /**
   * KillScript(N) / ProceedScript(N): the fate of entry N's script once it
   * ran past the kill threshold without writing; the first of the two
   * committed after N decides, on every replica (engine/script-decision.ts,
   * docs/decisions.md "Killing a replicated script"). Applied in sequence
   * they do nothing.
   */
  KillScript = 5,
  ProceedScript = 6,
}

export interface CommandEntry {
  kind: EntryKind.Commands;
  time: number;
  multi: boolean;
  cmds: string[][];
  /** The database the commands run in (undefined: 0). */
  db?: number;
  /**
   * The leader was over maxmemory when it proposed this script (Redis's
   * pre_command_oom_state): a script without a shebang gets -OOM at its first
   * denyoom command, if it has written nothing before (scriptVerifyOOM).
   */
  oom?: boolean;
  /**
   * The leader's group had one voter when it proposed the entry: scripts in
   * it run as on a standalone redis-server, without Redis Cluster's slot
   * rules (decided once, so every replica applies the same rule).
   */
  standalone?: boolean;
  /** Set on the entry that serves a parked XREADGROUP (Ctx.unblock). */
  unblock?: string;
  /** Set on the entry of a parked blocking pop proposed again when its keys got data (Ctx.served). */
  served?: boolean;
  /** The ACL user of the client, when it may not run everything: scripts check redis.call against it (Ctx.user). */
  user?: string;
}

/**
 * In a transaction's entry, in place of a queued command the client's ACL
 * user may no longer run when EXEC ran (execCommand's second check):
 * `[NOPERM_IN_EXEC, error text]`, answered with that error when applied. No
 * client can queue a command of that name (it is unknown).
 */
export const NOPERM_IN_EXEC = '\0noperm-in-exec';

export interface ExpireEntry {
  kind: EntryKind.ExpireKeys;
  time: number;
  keys: string[];
  /** The database the keys expire in (undefined: 0). */
  db?: number;
}

const FLAG_MULTI = 1;
const FLAG_DB = 2;
const FLAG_OOM = 4;
const FLAG_STANDALONE = 8;
const FLAG_UNBLOCK = 16;
const FLAG_SERVED = 32;
const FLAG_USER = 64;

export interface EvictEntry {
  kind: EntryKind.EvictKeys;
  time: number;
  keys: string[];
  /** The database the keys are in (0 when absent). */
  db?: number;
}

export interface CacheScriptsEntry {
  kind: EntryKind.CacheScripts;
  time: number;
  /** The script bodies (named keys to share the key lists' encoding). */
  keys: string[];
  /** Unused (scripts are not per database); 0 when absent. */
  db?: number;
}

export interface ScriptDecisionEntry {
  kind: EntryKind.KillScript | EntryKind.ProceedScript;
  time: number;
  /** One: the index of the script's entry, in decimal. */
  keys: string[];
  db?: number;
}

export type StateEntry = CommandEntry | ExpireEntry | EvictEntry | CacheScriptsEntry | ScriptDecisionEntry;

const HEADER = 1 + 8 + 1 + 4;

/** Scratch for the entry time's bytes: a typed-array copy instead of Buffer's readDoubleLE / writeDoubleLE. */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
/** The scratch is in the machine's byte order; the format's is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Strings shorter than this are copied by a loop: a native Buffer.write per argument costs more than the bytes (bench/results/cpu-per-request.md). */
const SHORT = 48;

/**
 * Entries are carved out of an own slab (an ArrayBuffer with one DataView
 * and one Uint8Array made with it), as Buffer.allocUnsafe carves its pool:
 * the encoder knows the slab and the entry's offset in it, where reading
 * `b.buffer` and `b.byteOffset` of a pool Buffer costs two megamorphic
 * LoadICs and a call into C++ (~550 instructions an entry under callgrind).
 * An entry is an EntryBytes, a Uint8Array subclass whose prototype chain
 * runs through Buffer.prototype, so it is a Buffer (instanceof, isBuffer,
 * every method) made for the cost of a plain Uint8Array (~390 instructions;
 * Buffer.from(slab, off, n) ~600, allocUnsafe ~415). A slab lives as long as
 * any entry carved from it (RaftStorage keeps the last 1000 in memory, the
 * unstable log the unwritten ones): with 8 KB slabs, as Buffer's pool, a
 * kept entry holds at most 8 KB. Entries above half a slab get their own.
 */
class EntryBytes extends Uint8Array {}
Object.setPrototypeOf(EntryBytes.prototype, Buffer.prototype);
// As FastBuffer's: `constructor` is Buffer (what subarray and slice make, and what deep equality compares).
Object.defineProperty(EntryBytes.prototype, 'constructor', { value: Buffer, writable: true, configurable: true });

const SLAB = 8 * 1024;

/**
 * A slab's memory, not zeroed (as Buffer.allocUnsafe's pool: the encoders
 * write every byte of an entry, entry.test.ts checks it; zeroing 8 KB cost
 * ~180 instructions a SET under callgrind).
 */
function newSlab(size: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
}

let slab = newSlab(SLAB);
let slabView = new DataView(slab);
let slabTop = 0;

/** Room for `size` bytes: the slab they go in is `slab` (and `slabView`) from here on; returns their offset in it. */
function reserve(size: number): number {
  if (size > SLAB >>> 1) {
    slab = newSlab(size);
    slabView = new DataView(slab);
    slabTop = SLAB;
    return 0;
  }
  if (slabTop + size > SLAB) {
    slab = newSlab(SLAB);
    slabView = new DataView(slab);
    slabTop = 0;
  }
  const off = slabTop;
  // 8-aligned, as Buffer's pool aligns its slices.
  slabTop = (off + size + 7) & ~7;
  return off;
}

/** Writes the u32-length-prefixed latin1 string `a` at q of `v`; returns the position after it. */
function putString(v: DataView, q: number, a: string): number {
  const n = a.length;
  v.setUint32(q, n, true);
  q += 4;
  if (n < SHORT) {
    // Latin1: each char's low byte, as Buffer.write(…, 'latin1') writes it.
    let i = 0;
    for (; i + 4 <= n; i += 4, q += 4) {
      v.setInt32(q, (a.charCodeAt(i) & 0xff) | ((a.charCodeAt(i + 1) & 0xff) << 8) | ((a.charCodeAt(i + 2) & 0xff) << 16) | (a.charCodeAt(i + 3) << 24), true);
    }
    for (; i < n; i++) v.setUint8(q++, a.charCodeAt(i));
    return q;
  }
  return q + Buffer.from(v.buffer, v.byteOffset, v.byteLength).write(a, q, 'latin1');
}

/**
 * The entry's bytes, in the format above. A plain write in db 0 (the hot
 * path: a client's SET) has one shape, read with the same loads every time;
 * the rest goes through the general encoder, into the same bytes.
 */
export function encodeStateEntry(e: StateEntry): Buffer {
  return e.kind === EntryKind.Commands ? encodeCommands(e) : encodeKeys(e);
}

function encodeCommands(e: CommandEntry): Buffer {
  const cmds = e.cmds;
  const db = e.db ?? 0;
  const unblock = e.unblock;
  const user = e.user;
  let size = db !== 0 ? HEADER + 4 : HEADER;
  if (unblock !== undefined) size += 4 + unblock.length;
  if (user !== undefined) size += 4 + user.length;
  const count = cmds.length;
  for (let i = 0; i < count; i++) {
    const argv = cmds[i]!;
    const argc = argv.length;
    size += 4 + 4 * argc;
    for (let j = 0; j < argc; j++) size += argv[j]!.length;
  }
  const off = reserve(size);
  const v = slabView;
  const flags =
    (e.multi ? FLAG_MULTI : 0) |
    (e.oom === true ? FLAG_OOM : 0) |
    (e.standalone === true ? FLAG_STANDALONE : 0) |
    (e.served === true ? FLAG_SERVED : 0) |
    (db !== 0 ? FLAG_DB : 0) |
    (unblock !== undefined ? FLAG_UNBLOCK : 0) |
    (user !== undefined ? FLAG_USER : 0);
  v.setUint8(off, EntryKind.Commands);
  v.setFloat64(off + 1, e.time, true);
  v.setUint8(off + 9, flags);
  v.setUint32(off + 10, count, true);
  let q = off + HEADER;
  if (db !== 0) {
    v.setUint32(q, db, true);
    q += 4;
  }
  if (unblock !== undefined) q = putString(v, q, unblock);
  if (user !== undefined) q = putString(v, q, user);
  for (let i = 0; i < count; i++) {
    const argv = cmds[i]!;
    const argc = argv.length;
    v.setUint32(q, argc, true);
    q += 4;
    for (let j = 0; j < argc; j++) q = putString(v, q, argv[j]!);
  }
  return new EntryBytes(slab, off, size) as unknown as Buffer;
}

/** The request buffer encodePlainSet last read, and a DataView of it (made again only when the buffer changes). */
let srcBuf: Uint8Array | undefined;
let srcView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
/** Above this many bytes an argument is copied by TypedArray#set (a memcpy); below, four bytes a load and store. */
const COPY_LOOP_MAX = 64;

/** Copies n bytes at `from` of `src` to `to` of the slab `dst`. */
function copyBytes(src: DataView<ArrayBufferLike>, from: number, dst: DataView, to: number, n: number): void {
  if (n > COPY_LOOP_MAX) {
    new Uint8Array(dst.buffer, to, n).set(new Uint8Array(src.buffer, src.byteOffset + from, n));
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) dst.setInt32(to + i, src.getInt32(from + i, true), true);
  for (; i < n; i++) dst.setUint8(to + i, src.getUint8(from + i));
}

/**
 * The entry of a client's `SET key value` straight from the request's bytes
 * (the parser found it: server/request-parser.ts onPlainSet), without the
 * arguments' strings: the same bytes encodeCommands writes for
 * `{ kind: Commands, time, multi: false, cmds: [[name, key, value]], db,
 * standalone }` (entry.test.ts compares them). The name is the 3 bytes at
 * nameAt as sent (SET in any case), the key and the value the bytes at
 * [keyAt, keyEnd) and [valueAt, valueEnd) of `buf`.
 */
export function encodePlainSet(
  time: number,
  db: number,
  standalone: boolean,
  buf: Uint8Array,
  nameAt: number,
  keyAt: number,
  keyEnd: number,
  valueAt: number,
  valueEnd: number,
): Buffer {
  if (buf !== srcBuf) {
    srcBuf = buf;
    srcView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const src = srcView;
  const kl = keyEnd - keyAt;
  const vl = valueEnd - valueAt;
  const head = db !== 0 ? HEADER + 4 : HEADER;
  const size = head + 4 + (4 + 3) + (4 + kl) + (4 + vl);
  const off = reserve(size);
  const v = slabView;
  v.setUint8(off, EntryKind.Commands);
  v.setFloat64(off + 1, time, true);
  v.setUint8(off + 9, (standalone ? FLAG_STANDALONE : 0) | (db !== 0 ? FLAG_DB : 0));
  v.setUint32(off + 10, 1, true);
  let q = off + HEADER;
  if (db !== 0) {
    v.setUint32(q, db, true);
    q += 4;
  }
  v.setUint32(q, 3, true);
  v.setUint32(q + 4, 3, true);
  v.setUint16(q + 8, src.getUint16(nameAt, true), true);
  v.setUint8(q + 10, src.getUint8(nameAt + 2));
  v.setUint32(q + 11, kl, true);
  q += 15;
  copyBytes(src, keyAt, v, q, kl);
  q += kl;
  v.setUint32(q, vl, true);
  copyBytes(src, valueAt, v, q + 4, vl);
  PLAIN_MADE.view = v;
  PLAIN_MADE.at = off;
  return new EntryBytes(slab, off, size) as unknown as Buffer;
}

/**
 * Where the entry encodePlainSet made last is: its slab's DataView and its
 * offset there. Its proposer keeps them (Write.plainView, plainAt) and
 * reads it there when it applies it (plainSetAt), without plainSetOf's copy.
 */
export const PLAIN_MADE: { view: DataView<ArrayBufferLike>; at: number } = { view: slabView, at: 0 };

function encodeKeys(e: ExpireEntry | EvictEntry | CacheScriptsEntry | ScriptDecisionEntry): Buffer {
  const keys = e.keys;
  const db = e.db ?? 0;
  let size = db !== 0 ? HEADER + 4 : HEADER;
  const count = keys.length;
  for (let i = 0; i < count; i++) size += 4 + keys[i]!.length;
  const off = reserve(size);
  const v = slabView;
  v.setUint8(off, e.kind);
  v.setFloat64(off + 1, e.time, true);
  v.setUint8(off + 9, db !== 0 ? FLAG_DB : 0);
  v.setUint32(off + 10, count, true);
  let q = off + HEADER;
  if (db !== 0) {
    v.setUint32(q, db, true);
    q += 4;
  }
  for (let i = 0; i < count; i++) q = putString(v, q, keys[i]!);
  return new EntryBytes(slab, off, size) as unknown as Buffer;
}

/** The largest entry plainSetOf reads: SET, a key and a value of INLINE_MAX bytes each, in a database. */
const PLAIN_SET_MAX = HEADER + 4 + 4 + (4 + 3) + 2 * (4 + INLINE_MAX);
const SCRATCH = new ArrayBuffer(PLAIN_SET_MAX);
const SCRATCH_BYTES = new Uint8Array(SCRATCH);

/**
 * What plainSetOf read, valid until its next call: the entry's bytes copied
 * into `view` (one copy into a fixed scratch: no DataView over the entry's
 * own memory, whose `buffer` and `byteOffset` cost more to read than the
 * copy), its time and database, where the key and the value are.
 */
const SCRATCH_VIEW: DataView<ArrayBufferLike> = new DataView(SCRATCH);

export const PLAIN_SET = {
  /** The scratch (plainSetOf) or the slab of an entry its proposer made from bytes (plainSetAt); offsets below are in it. */
  view: SCRATCH_VIEW,
  time: 0,
  /** The entry's standalone flag (a group of one voter proposed it: bit 3). */
  standalone: false,
  db: 0,
  keyStart: 0,
  keyLength: 0,
  valueStart: 0,
  valueLength: 0,
};

/**
 * Whether the entry is a client's plain SET: one command, not a
 * transaction, no flag but a database and standalone (which only scripts
 * read), `SET key value` (SET in any case) with
 * a key of up to INLINE_MAX bytes and a value of 1..INLINE_MAX bytes whose
 * first byte is not '-' or a digit (so it is no integer: its size is its
 * length). If so PLAIN_SET says where everything is. Anything else,
 * damaged entries included, answers false (decodeStateEntry reads it).
 */
export function plainSetOf(b: Buffer): boolean {
  const n = b.length;
  if (n > PLAIN_SET_MAX || n < HEADER + 4 + 7 + 4 + 4 + 1 || b[0] !== EntryKind.Commands) return false;
  SCRATCH_BYTES.set(b);
  return plainSetIn(SCRATCH_VIEW, 0, n);
}

/**
 * plainSetOf for an entry encodePlainSet made (PLAIN_MADE, kept by its
 * proposer): read where it is, `n` bytes at `at` of `v`, without a copy.
 */
export function plainSetAt(v: DataView<ArrayBufferLike>, at: number, n: number): boolean {
  return n <= PLAIN_SET_MAX && plainSetIn(v, at, n);
}

/** plainSetOf's reading of the n bytes at `at` of `v` (n checked against PLAIN_SET_MAX by the caller). */
function plainSetIn(v: DataView<ArrayBufferLike>, at: number, n: number): boolean {
  if (n < HEADER + 4 + 7 + 4 + 4 + 1 || v.getUint8(at) !== EntryKind.Commands) return false;
  const flags = v.getUint8(at + 9);
  if ((flags & ~(FLAG_DB | FLAG_STANDALONE)) !== 0 || v.getUint32(at + 10, true) !== 1) return false;
  let p = at + HEADER;
  let db = 0;
  if ((flags & FLAG_DB) !== 0) {
    db = v.getUint32(p, true);
    p += 4;
  }
  // argc 3, then "set" (a byte ORed with 0x20 is 's' only for 'S' and 's').
  if (v.getUint32(p, true) !== 3 || v.getUint32(p + 4, true) !== 3) return false;
  if ((v.getUint8(p + 8) | 0x20) !== 0x73 || (v.getUint8(p + 9) | 0x20) !== 0x65 || (v.getUint8(p + 10) | 0x20) !== 0x74) return false;
  p += 11;
  const end = at + n;
  const kl = v.getUint32(p, true);
  if (kl > INLINE_MAX || p + 4 + kl + 4 >= end) return false;
  const ks = p + 4;
  p = ks + kl;
  const vl = v.getUint32(p, true);
  const vs = p + 4;
  if (vl === 0 || vl > INLINE_MAX || vs + vl !== end) return false;
  const c = v.getUint8(vs);
  if (c === 45 || (c >= 48 && c <= 57)) return false;
  PLAIN_SET.view = v;
  PLAIN_SET.time = v.getFloat64(at + 1, true);
  PLAIN_SET.standalone = (flags & FLAG_STANDALONE) !== 0;
  PLAIN_SET.db = db;
  PLAIN_SET.keyStart = ks;
  PLAIN_SET.keyLength = kl;
  PLAIN_SET.valueStart = vs;
  PLAIN_SET.valueLength = vl;
  return true;
}

export class BadEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadEntryError';
  }
}

function truncated(b: Buffer, p: number, n: number): BadEntryError {
  return new BadEntryError(`state entry truncated at byte ${p} (needs ${n} more of ${b.length})`);
}

/** Reads the u32-length-prefixed string at p (no closures: this runs once per argument applied). */
/** A length-prefixed string at p; `make` turns its bytes into the string (latin1Key for a command's key: noted in lastKey). */
function readString(b: Buffer, p: number, make: (b: Buffer, start: number, end: number) => string = latin1): string {
  if (p + 4 > b.length) throw truncated(b, p, 4);
  const len = b.readUInt32LE(p);
  if (p + 4 + len > b.length) throw truncated(b, p + 4, len);
  return make(b, p + 4, p + 4 + len);
}

export function decodeStateEntry(b: Buffer): StateEntry {
  if (b.length < HEADER) throw new BadEntryError(`state entry too short (${b.length} bytes)`);
  const kind = b[0];
  let time: number;
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 8; i++) F64_BYTES[i] = b[1 + i]!;
    time = F64[0]!;
  } else {
    time = b.readDoubleLE(1);
  }
  const flags = b[9]!;
  const count = b.readUInt32LE(10);
  let p = HEADER;
  let db = 0;
  if ((flags & FLAG_DB) !== 0) {
    if (p + 4 > b.length) throw truncated(b, p, 4);
    db = b.readUInt32LE(p);
    p += 4;
  }
  if (kind === EntryKind.Commands) {
    let unblock: string | undefined;
    if ((flags & FLAG_UNBLOCK) !== 0) {
      unblock = readString(b, p);
      p += 4 + unblock.length;
    }
    let user: string | undefined;
    if ((flags & FLAG_USER) !== 0) {
      user = readString(b, p);
      p += 4 + user.length;
    }
    const cmds: string[][] = [];
    for (let i = 0; i < count; i++) {
      if (p + 4 > b.length) throw truncated(b, p, 4);
      const argc = b.readUInt32LE(p);
      p += 4;
      const argv: string[] = [];
      for (let j = 0; j < argc; j++) {
        // The key (argv[1], as the request parser notes it): made with latin1Key, so the key table's lookup of it
        // hashes and compares the entry's bytes, not the string's chars (a follower's writes; issue 18, datamodel).
        const a = readString(b, p, j === 1 ? latin1Key : latin1);
        argv.push(a);
        p += 4 + a.length;
      }
      cmds.push(argv);
    }
    const e: CommandEntry = db === 0 ? { kind, time, multi: (flags & FLAG_MULTI) !== 0, cmds } : { kind, time, multi: (flags & FLAG_MULTI) !== 0, cmds, db };
    if ((flags & FLAG_OOM) !== 0) e.oom = true;
    if ((flags & FLAG_STANDALONE) !== 0) e.standalone = true;
    if (unblock !== undefined) e.unblock = unblock;
    if ((flags & FLAG_SERVED) !== 0) e.served = true;
    if (user !== undefined) e.user = user;
    return e;
  }
  if (kind === EntryKind.ExpireKeys || kind === EntryKind.EvictKeys || kind === EntryKind.CacheScripts || kind === EntryKind.KillScript || kind === EntryKind.ProceedScript) {
    const keys: string[] = [];
    for (let i = 0; i < count; i++) {
      const k = readString(b, p);
      keys.push(k);
      p += 4 + k.length;
    }
    return db === 0 ? { kind, time, keys } : { kind, time, keys, db };
  }
  throw new BadEntryError(`unknown state entry kind ${kind}`);
}
