/**
 * RDB primitives as Redis 7.0 writes and reads them (rdb.c): lengths,
 * strings (integer-encoded, LZF-compressed or plain), doubles, times, the
 * object type numbers, and the DUMP payload's footer (RDB version 10 and
 * CRC64).
 */
import { crc64 } from '../../util/crc64.js';
import { lzfCompress, lzfDecompress } from '../../util/lzf.js';
import { string2ll } from '../../util/number.js';
import { ByteReader, ByteSink, bad, narrow } from './bytes.js';

export const RDB_VERSION = 10;

export const enum RdbType {
  String = 0,
  List = 1,
  Set = 2,
  Zset = 3,
  Hash = 4,
  Zset2 = 5,
  Module = 6,
  Module2 = 7,
  HashZipmap = 9,
  ListZiplist = 10,
  SetIntset = 11,
  ZsetZiplist = 12,
  HashZiplist = 13,
  ListQuicklist = 14,
  StreamListpacks = 15,
  HashListpack = 16,
  ZsetListpack = 17,
  ListQuicklist2 = 18,
  StreamListpacks2 = 19,
}

/** rdbSaveLen. */
export function saveLen(out: ByteSink, len: number | bigint): void {
  if (typeof len === 'number' && len >= 0) {
    if (len < 64) return out.byte(len);
    if (len < 16384) {
      out.byte(0x40 | (len >> 8));
      return out.byte(len & 0xff);
    }
    if (len <= 0xffffffff) {
      out.byte(0x80);
      out.byte(len >>> 24);
      out.byte(len >>> 16);
      out.byte(len >>> 8);
      return out.byte(len);
    }
  }
  out.byte(0x81);
  out.u64be(BigInt(len));
}

/** rdbEncodeInteger: the integer encodings of a string, or false when it does not fit 32 bits. */
function saveIntString(out: ByteSink, v: number): boolean {
  if (v >= -128 && v <= 127) {
    out.byte(0xc0);
    out.byte(v & 0xff);
  } else if (v >= -32768 && v <= 32767) {
    out.byte(0xc1);
    out.byte(v & 0xff);
    out.byte((v >> 8) & 0xff);
  } else if (v >= -2147483648 && v <= 2147483647) {
    out.byte(0xc2);
    out.u32le(v >>> 0);
  } else return false;
  return true;
}

/** rdbSaveRawString of a latin1 string (rdbcompression yes). */
export function saveString(out: ByteSink, s: string): void {
  const n = s.length;
  if (n <= 11) {
    const v = string2ll(s);
    if (typeof v === 'number' && saveIntString(out, v)) return;
  }
  if (n > 20) return saveBlob(out, Buffer.from(s, 'latin1'));
  saveLen(out, n);
  out.latin1(s);
}

/** rdbSaveRawString of bytes known not to be a short number (a listpack, an intset, or a long string). */
export function saveBlob(out: ByteSink, b: Uint8Array): void {
  const n = b.length;
  if (n > 20) {
    // rdbSaveLzfStringObject: only when it saves at least four bytes.
    const c = lzfCompress(b, n - 4);
    if (c !== undefined) {
      out.byte(0xc3);
      saveLen(out, c.length);
      saveLen(out, n);
      out.bytes(c);
      return;
    }
  }
  saveLen(out, n);
  out.bytes(b);
}

/** rdbSaveMillisecondTime. */
export function saveMillis(out: ByteSink, ms: number): void {
  out.i64le(BigInt(ms));
}

/** The DUMP payload of an object already written as type + value: appends the version and the CRC64. */
export function dumpFooter(out: ByteSink): Buffer {
  out.byte(RDB_VERSION & 0xff);
  out.byte(RDB_VERSION >> 8);
  const crc = crc64(out.buf, 0, out.len);
  out.ensure(8);
  out.buf.writeBigUInt64LE(crc, out.len);
  out.len += 8;
  return out.result();
}

/** verifyDumpPayload: a known RDB version and a matching checksum. */
export function verifyDumpPayload(p: Buffer): boolean {
  if (p.length < 10) return false;
  const ver = p[p.length - 10]! | (p[p.length - 9]! << 8);
  if (ver > RDB_VERSION) return false;
  return crc64(p, 0, p.length - 8) === p.readBigUInt64LE(p.length - 8);
}

/** Reads RDB primitives from a buffer. */
export class RdbReader extends ByteReader {
  /** rdbLoadLenByRef: a length, or the encoding number of a special string when `encoded`. */
  lenOrEnc(): { len: number; encoded: boolean } {
    const b0 = this.byte();
    const type = b0 >> 6;
    if (type === 3) return { len: b0 & 0x3f, encoded: true };
    if (type === 0) return { len: b0 & 0x3f, encoded: false };
    if (type === 1) return { len: ((b0 & 0x3f) << 8) | this.byte(), encoded: false };
    if (b0 === 0x80) return { len: this.u32be(), encoded: false };
    if (b0 === 0x81) {
      const v = this.u64be();
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad('length too large');
      return { len: Number(v), encoded: false };
    }
    bad('bad length encoding');
  }

  len(): number {
    const r = this.lenOrEnc();
    if (r.encoded) bad('unexpected encoded length');
    return r.len;
  }

  /** A 64-bit length (stream IDs and counters): the full uint64 range. */
  len64(): number | bigint {
    const b0 = this.b[this.pos];
    if (b0 === 0x81) {
      this.pos++;
      return narrow(this.u64be());
    }
    return this.len();
  }

  /** rdbGenericLoadStringObject as raw bytes. */
  stringBytes(): Buffer {
    const { len, encoded } = this.lenOrEnc();
    if (!encoded) return this.bytes(len);
    switch (len) {
      case 0:
        return Buffer.from(String(this.bytes(1).readInt8(0)));
      case 1:
        return Buffer.from(String(this.bytes(2).readInt16LE(0)));
      case 2:
        return Buffer.from(String(this.bytes(4).readInt32LE(0)));
      case 3: {
        const clen = this.len();
        const ulen = this.len();
        // An LZF back-reference of 2-3 bytes expands to at most 264: a longer claim is not LZF data (and must not allocate).
        if (ulen > clen * 132 + 32) bad('LZF length out of range');
        const out = lzfDecompress(this.bytes(clen), ulen);
        if (out === undefined) bad('bad LZF data');
        return out;
      }
      default:
        bad('unknown string encoding');
    }
  }

  string(): string {
    return this.stringBytes().toString('latin1');
  }

  /** rdbLoadDoubleValue (RDB_TYPE_ZSET). */
  oldDouble(): number {
    const n = this.byte();
    if (n === 253) return NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    return parseScore(this.bytes(n).toString('latin1'));
  }

  millis(): number {
    return Number(this.i64le());
  }
}

/** A score as a ziplist, listpack or old RDB zset holds it (strtod). */
export function parseScore(s: string): number {
  const t = s.toLowerCase();
  if (t === 'inf' || t === '+inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === 'nan' || t === '-nan') return NaN;
  const v = Number(s);
  if (s.length === 0 || s.trim() !== s || Number.isNaN(v)) bad('bad score');
  return v;
}
