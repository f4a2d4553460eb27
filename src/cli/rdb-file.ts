/**
 * Reads an RDB file as redis-server 7.0 writes it (rdb.c rdbLoadRio): the
 * "REDIS0010" header, auxiliary fields, database selectors, expiry and
 * LRU/LFU opcodes, function libraries, keys with their objects, and the
 * EOF marker with the file's CRC64. Each key comes out with its object's
 * bytes as they are in the file (type byte included): wrapped in the DUMP
 * footer, they are a RESTORE payload, whatever encoding the file used.
 */
import { crc64 } from '../util/crc64.js';
import { loadObject } from '../keyspace/rdb/decode.js';
import { RdbReader } from '../keyspace/rdb/format.js';

const OP_FUNCTION2 = 245;
const OP_FUNCTION_PRE_GA = 246;
const OP_MODULE_AUX = 247;
const OP_IDLE = 248;
const OP_FREQ = 249;
const OP_AUX = 250;
const OP_RESIZEDB = 251;
const OP_EXPIRETIME_MS = 252;
const OP_EXPIRETIME = 253;
const OP_SELECTDB = 254;
const OP_EOF = 255;

export type RdbItem =
  | { kind: 'key'; db: number; key: Buffer; object: Buffer; expireAt: number | undefined }
  | { kind: 'function'; code: Buffer }
  | { kind: 'aux'; name: string; value: string };

/** A file raftis cannot read; the message names the byte offset of the damage. */
export class RdbFileError extends Error {}

/** A reader that remembers a read that ran past the end of the file (a truncated file, or a damaged length). */
class FileReader extends RdbReader {
  /** The offset and length of the first read past the end, when there was one. */
  pastEnd: { at: number; n: number } | undefined;

  override byte(): number {
    if (this.pos >= this.end) this.pastEnd ??= { at: this.pos, n: 1 };
    return super.byte();
  }

  override bytes(n: number): Buffer {
    if (n >= 0 && this.pos + n > this.end) this.pastEnd ??= { at: this.pos, n };
    return super.bytes(n);
  }
}

/** What the walk was reading when it failed (redis-check-rdb's "While doing"). */
interface Doing {
  /** The offset where the record (opcode or key) being read starts. */
  start: number;
  what: string;
}

/** A key's name for a message: printable, at most 60 characters. */
function keyName(key: Buffer): string {
  const s = key.toString('latin1', 0, Math.min(key.length, 60)).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `'${s}'${key.length > 60 ? '…' : ''}`;
}

/** The error for a failure at reader position `r.pos` while doing `doing`, after `keys` keys (the last one `lastKey`). */
function failure(r: FileReader, doing: Doing, e: Error, keys: number, lastKey: Buffer | undefined): RdbFileError {
  const after = lastKey === undefined ? 'no key was read before it' : `${keys} keys were read whole before it, the last ${keyName(lastKey)}`;
  if (r.pastEnd !== undefined) {
    const { at, n } = r.pastEnd;
    if (doing.what === 'the opcode' && at === r.end) {
      return new RdbFileError(`the file ends at byte ${r.end}, without the EOF marker (opcode 255) and the checksum Redis writes last: it is truncated (${after})`);
    }
    const want = n === 1 ? `byte ${at}` : `${n} bytes from byte ${at}`;
    return new RdbFileError(
      `the file ends at byte ${r.end}, inside ${doing.what} starting at byte ${doing.start}, which needs ${want}: the file is truncated, or a length there is damaged (${after})`,
    );
  }
  return new RdbFileError(`bad RDB data at byte ${r.pos} in ${doing.what} starting at byte ${doing.start}: ${e.message} (${after})`);
}

/**
 * Walks an RDB file's contents; throws RdbFileError on a file it cannot read,
 * naming the byte offset (as redis-check-rdb does) and the last key read.
 */
export function* readRdbFile(buf: Buffer): Generator<RdbItem> {
  if (buf.length < 9 || buf.toString('latin1', 0, 5) !== 'REDIS') {
    throw new RdbFileError(`not an RDB file: no REDIS signature at byte 0 (the file starts ${JSON.stringify(buf.toString('latin1', 0, Math.min(buf.length, 9)))})`);
  }
  const version = Number(buf.toString('latin1', 5, 9));
  if (!/^[0-9]{4}$/.test(buf.toString('latin1', 5, 9)) || version < 1 || version > 10) {
    throw new RdbFileError(`can't handle RDB format version ${JSON.stringify(buf.toString('latin1', 5, 9))} (bytes 5-8; raftis reads versions 1 to 10, Redis 7.0's)`);
  }
  const r = new FileReader(buf);
  r.pos = 9;
  let db = 0;
  let expireAt: number | undefined;
  const doing: Doing = { start: 9, what: 'the opcode' };
  let lastKey: Buffer | undefined;
  let keys = 0;
  try {
    for (;;) {
      doing.start = r.pos;
      doing.what = 'the opcode';
      const type = r.byte();
      switch (type) {
        case OP_EXPIRETIME:
          doing.what = 'an expiry (EXPIRETIME)';
          expireAt = r.u32le() * 1000;
          continue;
        case OP_EXPIRETIME_MS:
          doing.what = 'an expiry (EXPIRETIME_MS)';
          expireAt = r.millis();
          continue;
        case OP_FREQ:
          doing.what = 'an LFU frequency';
          r.byte();
          continue;
        case OP_IDLE:
          doing.what = 'an LRU idle time';
          r.len();
          continue;
        case OP_SELECTDB:
          doing.what = 'a database selector';
          db = r.len();
          continue;
        case OP_RESIZEDB:
          doing.what = 'a database size hint';
          r.len();
          r.len();
          continue;
        case OP_AUX:
          doing.what = 'an auxiliary field';
          yield { kind: 'aux', name: r.string(), value: r.string() };
          continue;
        case OP_MODULE_AUX:
          throw new RdbFileError(`the file holds module data (at byte ${doing.start}), which raftis cannot load`);
        case OP_FUNCTION2:
          doing.what = 'a function library';
          yield { kind: 'function', code: r.stringBytes() };
          continue;
        case OP_FUNCTION_PRE_GA:
          throw new RdbFileError(`the file holds functions in the format of Redis 7.0 release candidates (at byte ${doing.start}); save it again with Redis 7.0 GA`);
        case OP_EOF: {
          if (version < 5) return;
          doing.what = "the file's CRC64 checksum";
          const sumAt = r.pos;
          const want = r.bytes(8).readBigUInt64LE(0);
          if (want !== 0n) {
            const got = crc64(buf, 0, sumAt);
            if (got !== want) {
              throw new RdbFileError(
                `wrong RDB checksum: bytes 0-${sumAt - 1} have CRC64 ${got.toString(16).padStart(16, '0')} but the file says ${want.toString(16).padStart(16, '0')} at byte ${sumAt}: ` +
                  `the file is damaged, somewhere the checksum cannot tell (all ${keys} keys read as well-formed)`,
              );
            }
          }
          return;
        }
        default: {
          doing.what = `a key of type ${type}`;
          const key = r.stringBytes();
          doing.what = `the value of key ${keyName(key)} (type ${type}, database ${db})`;
          const objStart = r.pos;
          loadObject(type, r);
          const object = Buffer.concat([Buffer.from([type]), buf.subarray(objStart, r.pos)]);
          lastKey = key;
          keys++;
          yield { kind: 'key', db, key: Buffer.from(key), object, expireAt };
          expireAt = undefined;
        }
      }
    }
  } catch (e) {
    if (e instanceof RdbFileError) throw e;
    throw failure(r, doing, e as Error, keys, lastKey);
  }
}

/** A RESTORE payload from an object's bytes: RDB version 10 and the CRC64, as DUMP writes it. */
export function dumpPayloadOf(object: Buffer): Buffer {
  const out = Buffer.alloc(object.length + 10);
  object.copy(out, 0);
  out[object.length] = 10;
  out[object.length + 1] = 0;
  out.writeBigUInt64LE(crc64(out, 0, object.length + 2), object.length + 2);
  return out;
}
