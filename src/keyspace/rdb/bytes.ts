/**
 * A growable byte buffer for the RDB writer and listpack builder, and a
 * bounds-checked reader over one. Strings are latin1 (one char per byte),
 * as everywhere in the keyspace.
 */

/** Thrown by readers on truncated or malformed input (RESTORE: "Bad data format"). */
export class BadData extends Error {}

export function bad(what: string): never {
  throw new BadData(what);
}

export class ByteSink {
  buf: Buffer;
  len = 0;

  constructor(size = 64) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b & 0xff;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  latin1(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, s.length, 'latin1');
  }

  u32le(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }

  i64le(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(BigInt.asIntN(64, v), this.len);
    this.len += 8;
  }

  u64be(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.len);
    this.len += 8;
  }

  f64le(d: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(d, this.len);
    this.len += 8;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

export class ByteReader {
  pos = 0;
  constructor(
    readonly b: Buffer,
    readonly end = b.length,
  ) {}

  get left(): number {
    return this.end - this.pos;
  }

  byte(): number {
    if (this.pos >= this.end) bad('short read');
    return this.b[this.pos++]!;
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.end) bad('short read');
    const r = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  u16le(): number {
    return this.bytes(2).readUInt16LE(0);
  }

  u32le(): number {
    return this.bytes(4).readUInt32LE(0);
  }

  u32be(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  i64le(): bigint {
    return this.bytes(8).readBigInt64LE(0);
  }

  u64be(): bigint {
    return this.bytes(8).readBigUInt64BE(0);
  }

  f64le(): number {
    return this.bytes(8).readDoubleLE(0);
  }
}

/** A bigint as a number when it is a safe integer. */
export function narrow(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}
