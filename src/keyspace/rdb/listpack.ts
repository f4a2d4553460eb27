/**
 * Redis 7.0's listpack (listpack.c): the byte layout of small hashes,
 * sorted sets, quicklist nodes and stream nodes inside RDB payloads.
 *
 *   <total bytes u32 LE> <count u16 LE, 65535 when unknown> entries… 0xFF
 *   entry: <encoding + data> <backlen: the size of encoding + data, 1–5 bytes>
 *
 * Strings that are canonical integers (lpStringToInt64, the same rule as
 * string2ll) are stored as integers, in the smallest integer encoding.
 */
import { string2ll } from '../../util/number.js';
import { ByteReader, ByteSink, bad, narrow } from './bytes.js';

const LP_HDR_SIZE = 6;
const LP_EOF = 0xff;

/** Bytes an empty listpack takes (header and end byte). */
export const LP_EMPTY_SIZE = LP_HDR_SIZE + 1;

function backlenSize(l: number): number {
  return l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
}

function writeBacklen(out: ByteSink, l: number): void {
  if (l <= 127) out.byte(l);
  else if (l < 16383) {
    out.byte(l >>> 7);
    out.byte((l & 127) | 128);
  } else if (l < 2097151) {
    out.byte(l >>> 14);
    out.byte(((l >>> 7) & 127) | 128);
    out.byte((l & 127) | 128);
  } else if (l < 268435455) {
    out.byte(l >>> 21);
    out.byte(((l >>> 14) & 127) | 128);
    out.byte(((l >>> 7) & 127) | 128);
    out.byte((l & 127) | 128);
  } else {
    out.byte(Math.floor(l / 2 ** 28));
    out.byte(((l >>> 21) & 127) | 128);
    out.byte(((l >>> 14) & 127) | 128);
    out.byte(((l >>> 7) & 127) | 128);
    out.byte((l & 127) | 128);
  }
}

/** Builds one listpack. */
export class ListpackWriter {
  private readonly out = new ByteSink(256);
  count = 0;

  constructor() {
    this.out.len = LP_HDR_SIZE;
  }

  /** Bytes the finished listpack would take. */
  get bytes(): number {
    return this.out.len + 1;
  }

  int(v: number | bigint): void {
    const out = this.out;
    const start = out.len;
    if (typeof v === 'bigint') {
      if (v >= -9007199254740991n && v <= 9007199254740991n) return this.int(Number(v));
      out.byte(0xf4);
      out.i64le(v);
    } else if (v >= 0 && v <= 127) {
      out.byte(v);
    } else if (v >= -4096 && v <= 4095) {
      const u = v < 0 ? (1 << 13) + v : v;
      out.byte((u >> 8) | 0xc0);
      out.byte(u & 0xff);
    } else if (v >= -32768 && v <= 32767) {
      const u = v < 0 ? (1 << 16) + v : v;
      out.byte(0xf1);
      out.byte(u & 0xff);
      out.byte(u >> 8);
    } else if (v >= -8388608 && v <= 8388607) {
      const u = v < 0 ? (1 << 24) + v : v;
      out.byte(0xf2);
      out.byte(u & 0xff);
      out.byte((u >> 8) & 0xff);
      out.byte(u >> 16);
    } else if (v >= -2147483648 && v <= 2147483647) {
      out.byte(0xf3);
      out.u32le(v >>> 0);
    } else {
      out.byte(0xf4);
      out.i64le(BigInt(v));
    }
    writeBacklen(out, out.len - start);
    this.count++;
  }

  /** lpAppend of a string: an integer when it is one. */
  str(s: string): void {
    if (s.length <= 20) {
      const v = string2ll(s);
      if (v !== null) return this.int(v);
    }
    const out = this.out;
    const n = s.length;
    if (n < 64) out.byte(0x80 | n);
    else if (n < 4096) {
      out.byte(0xe0 | (n >> 8));
      out.byte(n & 0xff);
    } else {
      out.byte(0xf0);
      out.u32le(n);
    }
    out.latin1(s);
    const enc = (n < 64 ? 1 : n < 4096 ? 2 : 5) + n;
    writeBacklen(out, enc);
    this.count++;
  }

  finish(): Buffer {
    const out = this.out;
    out.byte(LP_EOF);
    out.buf.writeUInt32LE(out.len, 0);
    out.buf.writeUInt16LE(this.count < 65535 ? this.count : 65535, 4);
    return out.result();
  }
}

/** The bytes lpAppend would add for the string s (entry and backlen), for quicklist node sizing. */
export function lpEntrySize(s: string): number {
  if (s.length <= 20) {
    const v = string2ll(s);
    if (v !== null) {
      const n = typeof v === 'bigint' ? 9 : v >= 0 && v <= 127 ? 1 : v >= -4096 && v <= 4095 ? 2 : v >= -32768 && v <= 32767 ? 3 : v >= -8388608 && v <= 8388607 ? 4 : v >= -2147483648 && v <= 2147483647 ? 5 : 9;
      return n + 1;
    }
  }
  const n = s.length;
  const enc = (n < 64 ? 1 : n < 4096 ? 2 : 5) + n;
  return enc + backlenSize(enc);
}

/** One listpack element as read: a string or an integer. */
export type LpValue = string | number | bigint;

/** Reads a listpack's elements, checking its structure (lpValidateIntegrity, deep). */
export function readListpack(b: Buffer): LpValue[] {
  if (b.length < LP_EMPTY_SIZE) bad('listpack too short');
  const total = b.readUInt32LE(0);
  if (total !== b.length) bad('listpack size mismatch');
  if (b[b.length - 1] !== LP_EOF) bad('listpack without end byte');
  const declared = b.readUInt16LE(4);
  const r = new ByteReader(b, b.length - 1);
  r.pos = LP_HDR_SIZE;
  const out: LpValue[] = [];
  while (r.left > 0) {
    const start = r.pos;
    const c = r.byte();
    let v: LpValue;
    if (c < 0x80) v = c;
    else if ((c & 0xc0) === 0x80) v = r.bytes(c & 0x3f).toString('latin1');
    else if ((c & 0xe0) === 0xc0) {
      const u = ((c & 0x1f) << 8) | r.byte();
      v = u >= 1 << 12 ? u - (1 << 13) : u;
    } else if ((c & 0xf0) === 0xe0) v = r.bytes(((c & 0x0f) << 8) | r.byte()).toString('latin1');
    else if (c === 0xf0) v = r.bytes(r.u32le()).toString('latin1');
    else if (c === 0xf1) v = r.bytes(2).readInt16LE(0);
    else if (c === 0xf2) v = r.bytes(3).readIntLE(0, 3);
    else if (c === 0xf3) v = r.bytes(4).readInt32LE(0);
    else if (c === 0xf4) v = narrow(r.i64le());
    else bad('bad listpack encoding');
    const enc = r.pos - start;
    const bl = backlenSize(enc);
    const back = r.bytes(bl);
    // The backlen, read from its last byte backwards.
    let l = 0;
    for (let k = 0; k < bl; k++) {
      const x = back[k]!;
      if ((k === 0) !== ((x & 128) === 0)) bad('bad listpack backlen');
      l = l * 128 + (x & 127);
    }
    if (l !== enc) bad('bad listpack backlen');
    out.push(v);
  }
  if (declared !== 65535 && declared !== out.length) bad('listpack count mismatch');
  return out;
}

/** An element as a string (integers in decimal). */
export function lpString(v: LpValue): string {
  return typeof v === 'string' ? v : String(v);
}

/** An element that must be an integer (stream listpacks); strings are parsed as lpGetInteger does. */
export function lpInt(v: LpValue): number | bigint {
  if (typeof v !== 'string') return v;
  const n = string2ll(v);
  if (n === null) bad('listpack element is not an integer');
  return n;
}
