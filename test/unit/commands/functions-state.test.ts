/**
 * The scripting state in snapshots (Scripts.snapshotState / restore): the
 * version-2 encoding carries the script cache and the function libraries,
 * and a version-1 state (the script cache alone, as older snapshots hold
 * it) still loads. A restored node runs FCALL and EVALSHA as the node the
 * snapshot was taken on. Also the instruction budget on FUNCTION LOAD and
 * FCALL, and the payload codec's checksum and LZF against known values.
 */
import { describe, expect, it } from 'vitest';
import { connCommands, dataCommands } from '../../../src/commands/handlers.js';
import { CommandTable } from '../../../src/commands/table.js';
import { Scripts } from '../../../src/commands/engine/scripts.js';
import { Stats } from '../../../src/commands/engine/stats.js';
import { crc64, dumpFunctions, readFunctions, verifyPayload } from '../../../src/commands/function-payload.js';
import { lzfCompress, lzfDecompress } from '../../../src/util/lzf.js';
import { Databases } from '../../../src/keyspace/databases.js';
import { RespWriter } from '../../../src/server/resp-writer.js';
import { sha1hex } from '../../../src/util/lua/vm.js';
import type { Ctx } from '../../../src/commands/types.js';

const table = new CommandTable({ data: dataCommands, conn: connCommands });
const noTouch = { wanted: () => false, touched: () => {}, flushing: () => {}, modified: () => {}, ready: () => {}, entryApplied: () => {} };

function node(budget?: number, memoryBudget?: number): { scripts: Scripts; run: (...argv: string[]) => string } {
  const scripts = new Scripts(table, new Stats(), noTouch, { ...(budget === undefined ? {} : { budget }), ...(memoryBudget === undefined ? {} : { memoryBudget }) });
  const dbs = new Databases(1);
  const db = dbs.get(0);
  let index = 1;
  const run = (...argv: string[]): string => {
    const def = table.lookup(argv)!;
    const w = new RespWriter(2);
    const ctx: Ctx = { db, dbIndex: 0, dbs, now: 1_700_000_000_000, index: def.isWrite || def.mayReplicate ? index++ : 0, w, scripts };
    def.data!(ctx, argv);
    return w.take();
  };
  return { scripts, run };
}

const LIB = "#!lua name=lib\nredis.register_function('inc', function(keys) return redis.call('incr', keys[1]) end)";
const BODY = "return redis.call('get', KEYS[1])";

describe('scripting state in snapshots', () => {
  it('version 2 keeps the script cache and the libraries; a restored node runs EVALSHA and FCALL', () => {
    const a = node();
    expect(a.run('SCRIPT', 'LOAD', BODY)).toBe(`$40\r\n${sha1hex(BODY)}\r\n`);
    expect(a.run('FUNCTION', 'LOAD', LIB)).toBe('$3\r\nlib\r\n');
    expect(a.run('FCALL', 'inc', '1', 'n')).toBe(':1\r\n');
    const state = a.scripts.snapshotState();
    expect(state.readUInt32LE(0)).toBe(0xffffffff);
    expect(state.readUInt32LE(4)).toBe(2);

    const b = node();
    b.run('FUNCTION', 'LOAD', "#!lua name=other\nredis.register_function('gone', function() return 1 end)");
    b.scripts.restore(state);
    expect(b.run('FCALL', 'gone', '0')).toBe('-ERR Function not found\r\n');
    expect(b.run('FCALL', 'inc', '1', 'n')).toBe(':1\r\n');
    expect(b.run('EVALSHA', sha1hex(BODY), '1', 'n')).toBe('$1\r\n1\r\n');
    expect(b.run('FUNCTION', 'LIST', 'WITHCODE')).toBe(a.run('FUNCTION', 'LIST', 'WITHCODE'));
    // The same bytes again: the encoding is deterministic.
    expect(b.scripts.snapshotState().equals(state)).toBe(true);
  });

  it('a version-1 state (script bodies only) still loads, with no library', () => {
    const body = Buffer.from(BODY, 'latin1');
    const v1 = Buffer.alloc(8 + body.length);
    v1.writeUInt32LE(1, 0);
    v1.writeUInt32LE(body.length, 4);
    body.copy(v1, 8);
    const b = node();
    b.run('FUNCTION', 'LOAD', LIB);
    b.scripts.restore(v1);
    expect(b.scripts.has(sha1hex(BODY))).toBe(true);
    expect(b.run('FCALL', 'inc', '1', 'n')).toBe('-ERR Function not found\r\n');
    expect(b.run('FUNCTION', 'STATS')).toContain('libraries_count\r\n:0\r\n');
    // An empty state (a fresh snapshot of nothing) clears both.
    b.run('FUNCTION', 'LOAD', LIB);
    b.scripts.restore(Buffer.alloc(0));
    expect(b.run('FCALL', 'inc', '1', 'n')).toBe('-ERR Function not found\r\n');
  });

  it('FUNCTION LOAD and FCALL stop at the instruction budget, the same way every time', () => {
    const a = node(200_000);
    expect(a.run('FUNCTION', 'LOAD', '#!lua name=slow\nwhile true do end')).toBe('-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n');
    expect(a.run('FUNCTION', 'LOAD', "#!lua name=spin\nredis.register_function('spin', function() while true do end end)")).toBe('$4\r\nspin\r\n');
    for (let i = 0; i < 2; i++) {
      expect(a.run('FCALL', 'spin', '0')).toBe('-ERR Script exceeded its instruction budget script: spin, on @user_function:2.\r\n');
    }
    // The VM is still usable after both.
    expect(a.run('FUNCTION', 'LOAD', LIB)).toBe('$3\r\nlib\r\n');
    expect(a.run('FCALL', 'inc', '1', 'k')).toBe(':1\r\n');
  });
});

describe('the memory budget on functions', () => {
  it('stops FUNCTION LOAD and FCALL that allocate past it, and the VM keeps working', () => {
    const a = node(undefined, 500_000);
    const FILL = "local t = {} for i = 1, 1e6 do t[i] = 'k' .. i end";
    expect(a.run('FUNCTION', 'LOAD', `#!lua name=big\n${FILL}`)).toBe('-ERR Error registering functions: ERR Script exceeded its memory budget\r\n');
    expect(a.run('FUNCTION', 'LOAD', `#!lua name=fill\nredis.register_function('fill', function(keys) redis.call('set', keys[1], 'before') ${FILL} end)`)).toBe('$4\r\nfill\r\n');
    expect(a.run('FCALL', 'fill', '1', 'k')).toBe('-ERR Script exceeded its memory budget script: fill, on @user_function:2.\r\n');
    expect(a.run('GET', 'k')).toBe('$6\r\nbefore\r\n');
    expect(a.run('FUNCTION', 'LOAD', LIB)).toBe('$3\r\nlib\r\n');
    expect(a.run('FCALL', 'inc', '1', 'n')).toBe(':1\r\n');
  });
});

describe('the functions VM replaced (as after a wasm trap)', () => {
  it('loads the libraries again from their code: FCALL, DELETE and REPLACE keep working', () => {
    const a = node();
    expect(a.run('FUNCTION', 'LOAD', LIB)).toBe('$3\r\nlib\r\n');
    expect(a.run('FUNCTION', 'LOAD', "#!lua name=two\nredis.register_function('two', function() return 2 end)")).toBe('$3\r\ntwo\r\n');
    a.scripts.functions.vm.reset();
    expect(a.run('FCALL', 'inc', '1', 'n')).toBe(':1\r\n');
    expect(a.run('FCALL', 'two', '0')).toBe(':2\r\n');
    a.scripts.functions.vm.reset();
    expect(a.run('FUNCTION', 'LOAD', 'REPLACE', "#!lua name=two\nredis.register_function('two', function() return 22 end)")).toBe('$3\r\ntwo\r\n');
    expect(a.run('FUNCTION', 'DELETE', 'lib')).toBe('+OK\r\n');
    expect(a.run('FCALL', 'inc', '1', 'n')).toBe('-ERR Function not found\r\n');
    expect(a.run('FCALL', 'two', '0')).toBe(':22\r\n');
  });
});

describe('FUNCTION DUMP payload codec', () => {
  it("crc64 is Redis's (Jones, reflected): crc64('123456789') = 0xe9c6d914c4b8d9ca", () => {
    expect(crc64(Buffer.from('123456789'))).toBe(0xe9c6d914c4b8d9can);
  });

  it('LZF round-trips, and refuses what does not fit', () => {
    const inputs = ['abcabcabcabcabcabcabcabcabcabc', 'x'.repeat(1000), LIB.repeat(20), 'no repeats here: 0123456789'];
    for (const s of inputs) {
      const b = Buffer.from(s, 'latin1');
      const c = lzfCompress(b, b.length + 64);
      expect(c).toBeDefined();
      expect(lzfDecompress(c!, b.length)?.toString('latin1')).toBe(s);
    }
    expect(lzfCompress(Buffer.from('no repeats here: 0123456789'), 10)).toBeUndefined();
    expect(lzfDecompress(Buffer.from([0x20, 0]), 5)).toBeUndefined();
  });

  it('a dump verifies and reads back to the same libraries', () => {
    const codes = [LIB, '#!lua name=b\n' + '-- padding '.repeat(30) + "\nredis.register_function('b', function() end)"];
    const p = Buffer.from(dumpFunctions(codes), 'latin1');
    expect(verifyPayload(p)).toBe(true);
    const got: string[] = [];
    expect(readFunctions(p, (c) => void got.push(c))).toBeUndefined();
    expect(got).toEqual(codes);
    p[3] = p[3]! ^ 1;
    expect(verifyPayload(p)).toBe(false);
  });
});
