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

export class RdbFileError extends Error {}

/** Walks an RDB file's contents; throws RdbFileError on a file it cannot read. */
export function* readRdbFile(buf: Buffer): Generator<RdbItem> {
  if (buf.length < 9 || buf.toString('latin1', 0, 5) !== 'REDIS') throw new RdbFileError('not an RDB file (no REDIS signature)');
  const version = Number(buf.toString('latin1', 5, 9));
  if (!Number.isInteger(version) || version < 1 || version > 10) throw new RdbFileError(`can't handle RDB format version ${buf.toString('latin1', 5, 9)}`);
  const r = new RdbReader(buf);
  r.pos = 9;
  let db = 0;
  let expireAt: number | undefined;
  try {
    for (;;) {
      const type = r.byte();
      switch (type) {
        case OP_EXPIRETIME:
          expireAt = r.u32le() * 1000;
          continue;
        case OP_EXPIRETIME_MS:
          expireAt = r.millis();
          continue;
        case OP_FREQ:
          r.byte();
          continue;
        case OP_IDLE:
          r.len();
          continue;
        case OP_SELECTDB:
          db = r.len();
          continue;
        case OP_RESIZEDB:
          r.len();
          r.len();
          continue;
        case OP_AUX:
          yield { kind: 'aux', name: r.string(), value: r.string() };
          continue;
        case OP_MODULE_AUX:
          throw new RdbFileError('the file holds module data, which raftis cannot load');
        case OP_FUNCTION2:
          yield { kind: 'function', code: r.stringBytes() };
          continue;
        case OP_FUNCTION_PRE_GA:
          throw new RdbFileError('the file holds functions in the format of Redis 7.0 release candidates; save it again with Redis 7.0 GA');
        case OP_EOF: {
          if (version >= 5 && r.left >= 8) {
            const want = buf.readBigUInt64LE(r.pos);
            if (want !== 0n && crc64(buf, 0, r.pos) !== want) throw new RdbFileError('wrong RDB checksum: the file is damaged');
          }
          return;
        }
        default: {
          const key = r.stringBytes();
          const objStart = r.pos;
          loadObject(type, r);
          const object = Buffer.concat([Buffer.from([type]), buf.subarray(objStart, r.pos)]);
          yield { kind: 'key', db, key: Buffer.from(key), object, expireAt };
          expireAt = undefined;
        }
      }
    }
  } catch (e) {
    if (e instanceof RdbFileError) throw e;
    throw new RdbFileError(`bad RDB data at byte ${r.pos}: ${(e as Error).message}`);
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
