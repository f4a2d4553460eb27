/**
 * The compact encodings older RDB files (and DUMP payloads of Redis < 7)
 * hold, which Redis 7.0 still loads: ziplist (ziplist.c), zipmap (zipmap.c,
 * Redis < 2.6 hashes) and intset (intset.c, also written by 7.0).
 */
import { ByteReader, ByteSink, bad, narrow } from './bytes.js';

/** A ziplist's elements as strings (integers in decimal). */
export function readZiplist(b: Buffer): string[] {
  if (b.length < 11) bad('ziplist too short');
  if (b.readUInt32LE(0) !== b.length) bad('ziplist size mismatch');
  const tail = b.readUInt32LE(4);
  const declared = b.readUInt16LE(8);
  if (b[b.length - 1] !== 0xff) bad('ziplist without end byte');
  const r = new ByteReader(b, b.length - 1);
  r.pos = 10;
  const out: string[] = [];
  let prevStart = -1;
  let prevLen = 0;
  while (r.left > 0) {
    const start = r.pos;
    let prevlen = r.byte();
    if (prevlen === 0xfe) prevlen = r.u32le();
    else if (prevlen === 0xff) bad('bad ziplist prevlen');
    if (prevlen !== prevLen) bad('ziplist prevlen mismatch');
    const c = r.byte();
    let v: string;
    switch (c >> 6) {
      case 0:
        v = r.bytes(c & 0x3f).toString('latin1');
        break;
      case 1:
        v = r.bytes(((c & 0x3f) << 8) | r.byte()).toString('latin1');
        break;
      case 2:
        if (c !== 0x80) bad('bad ziplist encoding');
        v = r.bytes(r.u32be()).toString('latin1');
        break;
      default:
        if (c === 0xc0) v = String(r.bytes(2).readInt16LE(0));
        else if (c === 0xd0) v = String(r.bytes(4).readInt32LE(0));
        else if (c === 0xe0) v = String(narrow(r.i64le()));
        else if (c === 0xf0) v = String(r.bytes(3).readIntLE(0, 3));
        else if (c === 0xfe) v = String(r.bytes(1).readInt8(0));
        else if (c >= 0xf1 && c <= 0xfd) v = String((c & 0x0f) - 1);
        else bad('bad ziplist encoding');
    }
    prevStart = start;
    prevLen = r.pos - start;
    out.push(v);
  }
  if (out.length > 0 ? tail !== prevStart : tail !== 10) bad('ziplist tail mismatch');
  if (declared !== 65535 && declared !== out.length) bad('ziplist count mismatch');
  return out;
}

/** A zipmap's fields and values, alternating. */
export function readZipmap(b: Buffer): string[] {
  const r = new ByteReader(b);
  r.byte(); // zmlen: a count up to 253, not trusted
  const len = (): number => {
    const l = r.byte();
    if (l < 254) return l;
    if (l === 254) return r.u32le();
    return -1; // the end
  };
  const out: string[] = [];
  for (;;) {
    const kl = len();
    if (kl < 0) break;
    out.push(r.bytes(kl).toString('latin1'));
    const vl = len();
    if (vl < 0) bad('zipmap ends after a key');
    const free = r.byte();
    out.push(r.bytes(vl).toString('latin1'));
    r.bytes(free);
  }
  if (r.left !== 0) bad('zipmap has bytes after its end');
  return out;
}

/** An intset's members, ascending (checked strictly ascending, as intsetValidateIntegrity). */
export function readIntset(b: Buffer): string[] {
  if (b.length < 8) bad('intset too short');
  const enc = b.readUInt32LE(0);
  const n = b.readUInt32LE(4);
  if (enc !== 2 && enc !== 4 && enc !== 8) bad('bad intset encoding');
  if (b.length !== 8 + enc * n) bad('intset size mismatch');
  if (n === 0) bad('empty intset');
  const out: string[] = [];
  let prev: bigint | undefined;
  for (let i = 0; i < n; i++) {
    const p = 8 + i * enc;
    const v = enc === 2 ? BigInt(b.readInt16LE(p)) : enc === 4 ? BigInt(b.readInt32LE(p)) : b.readBigInt64LE(p);
    if (prev !== undefined && v <= prev) bad('intset not ascending');
    prev = v;
    out.push(v.toString());
  }
  return out;
}

/** An intset of canonical int64 decimal strings, in the smallest encoding that holds them all. */
export function writeIntset(members: readonly string[]): Buffer {
  const vals = members.map((m) => BigInt(m)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let enc = 2;
  for (const v of vals) {
    if (v < -2147483648n || v > 2147483647n) enc = 8;
    else if ((v < -32768n || v > 32767n) && enc < 4) enc = 4;
  }
  const out = new ByteSink(8 + enc * vals.length);
  out.u32le(enc);
  out.u32le(vals.length);
  const b = Buffer.alloc(enc * vals.length);
  vals.forEach((v, i) => {
    if (enc === 2) b.writeInt16LE(Number(v), i * 2);
    else if (enc === 4) b.writeInt32LE(Number(v), i * 4);
    else b.writeBigInt64LE(v, i * 8);
  });
  out.bytes(b);
  return out.result();
}
