/**
 * FUNCTION DUMP / RESTORE payloads in Redis 7.0's format (functions.c
 * functionDumpCommand, rdb.c rdbSaveFunctions / rdbFunctionLoad,
 * cluster.c verifyDumpPayload): for each library the RDB opcode
 * RDB_OPCODE_FUNCTION2 (245) and the library's code as an RDB string, then
 * the RDB version (10, two bytes little-endian) and the CRC64 (Jones,
 * reflected, as redis's crc64.c) of everything before it, eight bytes
 * little-endian. So a payload dumped by redis-server restores here and one
 * dumped here restores into redis-server.
 *
 * Redis writes code longer than 20 bytes LZF-compressed when that makes it
 * shorter (rdbcompression yes); raftis writes it the same way (lzf.ts), and
 * reads every RDB string encoding. Strings are latin1, one char per byte.
 */
import { crc64 } from '../util/crc64.js';
import { lzfCompress, lzfDecompress } from '../util/lzf.js';

export { crc64 };

export const RDB_VERSION = 10;
/** RDB_OPCODE_FUNCTION: libraries as 7.0 rc1 and rc2 wrote them (read, never written). */
const RDB_OPCODE_FUNCTION_PRE_GA = 246;
const RDB_OPCODE_FUNCTION2 = 245;

/** rdbSaveLen. */
function saveLen(out: number[], len: number): void {
  if (len < 64) out.push(len);
  else if (len < 16384) out.push(0x40 | (len >> 8), len & 0xff);
  else if (len <= 0xffffffff) out.push(0x80, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  else throw new Error('payload too large');
}

/** rdbSaveRawString for a library's code (never an integer: it starts with "#!"). */
function saveString(out: number[], s: Buffer): void {
  if (s.length > 20) {
    // rdbSaveLzfStringObject: only when compression saves more than 4 bytes.
    const c = lzfCompress(s, s.length - 4);
    if (c !== undefined) {
      out.push(0xc3);
      saveLen(out, c.length);
      saveLen(out, s.length);
      for (const x of c) out.push(x);
      return;
    }
  }
  saveLen(out, s.length);
  for (const x of s) out.push(x);
}

/** FUNCTION DUMP: the libraries' codes (whole payloads) in order. */
export function dumpFunctions(codes: readonly string[]): string {
  const out: number[] = [];
  for (const code of codes) {
    out.push(RDB_OPCODE_FUNCTION2);
    saveString(out, Buffer.from(code, 'latin1'));
  }
  out.push(RDB_VERSION & 0xff, (RDB_VERSION >> 8) & 0xff);
  const body = Buffer.from(out);
  const crc = Buffer.allocUnsafe(8);
  crc.writeBigUInt64LE(crc64(body));
  return Buffer.concat([body, crc]).toString('latin1');
}

/** verifyDumpPayload: the RDB version is known and the checksum matches. */
export function verifyPayload(p: Buffer): boolean {
  if (p.length < 10) return false;
  const ver = p[p.length - 10]! | (p[p.length - 9]! << 8);
  if (ver > RDB_VERSION) return false;
  return crc64(p, 0, p.length - 8) === p.readBigUInt64LE(p.length - 8);
}

class Reader {
  pos = 0;
  constructor(readonly b: Buffer) {}

  byte(): number {
    if (this.pos >= this.b.length) throw new ShortRead();
    return this.b[this.pos++]!;
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.b.length) throw new ShortRead();
    const r = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** rdbLoadLenByRef: the length, or the encoding of a special string. */
  len(): { len: number; encoded: boolean } {
    const b0 = this.byte();
    const type = (b0 & 0xc0) >> 6;
    if (type === 3) return { len: b0 & 0x3f, encoded: true };
    if (type === 0) return { len: b0 & 0x3f, encoded: false };
    if (type === 1) return { len: ((b0 & 0x3f) << 8) | this.byte(), encoded: false };
    if (b0 === 0x80) return { len: this.bytes(4).readUInt32BE(0), encoded: false };
    if (b0 === 0x81) {
      const v = this.bytes(8).readBigUInt64BE(0);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ShortRead();
      return { len: Number(v), encoded: false };
    }
    throw new ShortRead();
  }

  /** rdbGenericLoadStringObject. */
  string(): Buffer {
    const { len, encoded } = this.len();
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
        if (clen.encoded || ulen.encoded) throw new ShortRead();
        const out = lzfDecompress(this.bytes(clen.len), ulen.len);
        if (out === undefined) throw new ShortRead();
        return out;
      }
      default:
        throw new ShortRead();
    }
  }
}

class ShortRead extends Error {}

/**
 * FUNCTION RESTORE's reading of a verified payload (functionRestoreCommand,
 * rdbFunctionLoad): each library's code is handed to `create` as soon as it
 * is read, as Redis creates each library before reading the next. Returns
 * Redis's error text (without "ERR "), or undefined.
 */
export function readFunctions(p: Buffer, create: (code: string) => string | undefined): string | undefined {
  const r = new Reader(p);
  // Read until only the version and checksum are left.
  while (p.length - r.pos > 10) {
    const type = r.byte();
    if (type !== RDB_OPCODE_FUNCTION2 && type !== RDB_OPCODE_FUNCTION_PRE_GA) return 'given type is not a function';
    let code: string;
    let step = 'library payload';
    try {
      if (type === RDB_OPCODE_FUNCTION2) {
        code = r.string().toString('latin1');
      } else {
        // The format of 7.0 rc1 and rc2: name, engine, description (optional) and code, made a payload with a shebang.
        step = 'library name';
        const name = r.string().toString('latin1');
        step = 'engine name';
        const engine = r.string().toString('latin1');
        step = 'library description indicator';
        const hasDesc = r.len().len !== 0;
        step = 'library description';
        if (hasDesc) r.string();
        step = 'library blob';
        const blob = r.string().toString('latin1');
        code = `#!${engine} name=${name}\n${blob}`;
      }
    } catch (e) {
      if (e instanceof ShortRead) return `Failed loading ${step}`;
      throw e;
    }
    const err = create(code);
    if (err !== undefined) return err;
  }
  return undefined;
}
