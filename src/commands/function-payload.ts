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
 * shorter (rdbcompression yes); raftis writes and reads it with the same RDB
 * primitives as DUMP / RESTORE (keyspace/rdb/format.ts). Strings are latin1,
 * one char per byte.
 */
import { crc64 } from '../util/crc64.js';
import { BadData, ByteSink } from '../keyspace/rdb/bytes.js';
import { RdbReader, dumpFooter, saveBlob, verifyDumpPayload } from '../keyspace/rdb/format.js';

export { crc64 };

/** RDB_OPCODE_FUNCTION: libraries as 7.0 rc1 and rc2 wrote them (read, never written). */
const RDB_OPCODE_FUNCTION_PRE_GA = 246;
const RDB_OPCODE_FUNCTION2 = 245;

/** FUNCTION DUMP: the libraries' codes (whole payloads) in order, each an RDB string (never an integer: it starts with "#!"). */
export function dumpFunctions(codes: readonly string[]): string {
  const out = new ByteSink();
  for (const code of codes) {
    out.byte(RDB_OPCODE_FUNCTION2);
    saveBlob(out, Buffer.from(code, 'latin1'));
  }
  return dumpFooter(out).toString('latin1');
}

/** verifyDumpPayload: the RDB version is known and the checksum matches. */
export const verifyPayload: (p: Buffer) => boolean = verifyDumpPayload;

/**
 * FUNCTION RESTORE's reading of a verified payload (functionRestoreCommand,
 * rdbFunctionLoad): each library's code is handed to `create` as soon as it
 * is read, as Redis creates each library before reading the next. Returns
 * Redis's error text (without "ERR "), or undefined.
 */
export function readFunctions(p: Buffer, create: (code: string) => string | undefined): string | undefined {
  const r = new RdbReader(p);
  // Read until only the version and checksum are left.
  while (p.length - r.pos > 10) {
    const type = r.byte();
    if (type !== RDB_OPCODE_FUNCTION2 && type !== RDB_OPCODE_FUNCTION_PRE_GA) return 'given type is not a function';
    let code: string;
    let step = 'library payload';
    try {
      if (type === RDB_OPCODE_FUNCTION2) {
        code = r.string();
      } else {
        // The format of 7.0 rc1 and rc2: name, engine, description (optional) and code, made a payload with a shebang.
        step = 'library name';
        const name = r.string();
        step = 'engine name';
        const engine = r.string();
        step = 'library description indicator';
        const hasDesc = r.lenOrEnc().len !== 0;
        step = 'library description';
        if (hasDesc) r.stringBytes();
        step = 'library blob';
        const blob = r.string();
        code = `#!${engine} name=${name}\n${blob}`;
      }
    } catch (e) {
      if (e instanceof BadData) return `Failed loading ${step}`;
      throw e;
    }
    const err = create(code);
    if (err !== undefined) return err;
  }
  return undefined;
}
