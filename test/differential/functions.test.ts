/**
 * Redis 7.0 functions against a standalone redis-server 7.0 (what a raftis
 * of one voter is for scripts; a cluster's slot rules and no-cluster flag are
 * compared in scripting-slots.test.ts): FUNCTION LOAD and the
 * load-time environment, FCALL / FCALL_RO and function flags, FUNCTION
 * DELETE / FLUSH / LIST / STATS / HELP, and FUNCTION DUMP / RESTORE with
 * payloads crossing between the two servers in both directions — replies
 * compared byte for byte in RESP2 and RESP3.
 *
 * FUNCTION LIST's order is redis-server's hash-table order, which changes
 * from one process to the next (raftis lists by name): LIST replies are
 * compared with libraries and functions sorted, everything else exactly.
 */
import { describe, expect, it } from 'vitest';
import { crc64, dumpFunctions } from '../../src/commands/function-payload.js';
import { parseReply, type Reply } from '../helpers/engine-diff.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import type { RawClient } from '../helpers/raw-client.js';
import { ADMIN, FCALLS, LIB_KV, LIB_MISC, LOAD_ERRORS, lib } from './functions-scripts.js';

const env = useProcessDifferential();
const pair = (proto: 2 | 3): Promise<[RawClient, RawClient]> => env.pair(proto);

/** A reply with every array made only of aggregates sorted (libraries, functions); maps, flag sets and scalars keep their order. */
function canonical(r: Reply): string {
  if (!('items' in r)) return r.t + JSON.stringify(r.v);
  const parts = r.items.map(canonical);
  if (r.t === '*' && r.items.length > 0 && r.items.every((x) => 'items' in x)) parts.sort();
  return r.t + '[' + parts.join(',') + ']';
}

function same(cmd: readonly string[], a: string, b: string): boolean {
  if (a === b) return true;
  const isList = cmd[0]?.toUpperCase() === 'FUNCTION' && cmd[1]?.toUpperCase() === 'LIST';
  return isList && canonical(parseReply(a)[0]) === canonical(parseReply(b)[0]);
}

async function compare(a: RawClient, b: RawClient, cmds: readonly string[][]): Promise<{ cmd: string; redis: string; raftis: string }[]> {
  const out: { cmd: string; redis: string; raftis: string }[] = [];
  for (const cmd of cmds) {
    const [ra, rb] = [await a.call(...cmd), await b.call(...cmd)];
    if (!same(cmd, ra, rb)) out.push({ cmd: JSON.stringify(cmd).slice(0, 300), redis: ra, raftis: rb });
  }
  return out;
}

async function reset(a: RawClient, b: RawClient): Promise<void> {
  await Promise.all([a.call('FLUSHALL'), b.call('FLUSHALL'), a.call('FUNCTION', 'FLUSH'), b.call('FUNCTION', 'FLUSH')]);
}

/** A FUNCTION RESTORE payload: `body`, RDB version `ver`, and a right (or given) CRC64. */
function payload(body: Buffer, ver = 10, crc?: bigint): string {
  const head = Buffer.concat([body, Buffer.from([ver & 0xff, ver >> 8])]);
  const c = Buffer.alloc(8);
  c.writeBigUInt64LE(crc ?? crc64(head));
  return Buffer.concat([head, c]).toString('latin1');
}

/** An RDB string (length-prefixed, uncompressed). */
function rdbString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  if (b.length >= 16384) throw new Error('test helper: strings under 16 KiB only');
  const len = b.length < 64 ? Buffer.from([b.length]) : Buffer.from([0x40 | (b.length >> 8), b.length & 0xff]);
  return Buffer.concat([len, b]);
}

const ONE = lib('one', "redis.register_function('one', function() return 1 end)");

describe('FUNCTION / FCALL vs redis-server (cluster mode)', () => {
  for (const proto of [2, 3] as const) {
    it(`FUNCTION LOAD: errors, the load-time environment, REPLACE (RESP${proto})`, async () => {
      const [a, b] = await pair(proto);
      await reset(a, b);
      expect(await compare(a, b, LOAD_ERRORS)).toEqual([]);
    });

    it(`FCALL / FCALL_RO: arguments, flags, errors, conversions, MULTI (RESP${proto})`, async () => {
      const [a, b] = await pair(proto);
      await reset(a, b);
      expect(await compare(a, b, [['FUNCTION', 'LOAD', LIB_KV], ['FUNCTION', 'LOAD', LIB_MISC], ...FCALLS])).toEqual([]);
    });

    it(`FUNCTION LIST / DELETE / FLUSH / STATS / HELP / KILL (RESP${proto})`, async () => {
      const [a, b] = await pair(proto);
      await reset(a, b);
      expect(await compare(a, b, [['FUNCTION', 'LOAD', LIB_KV], ['FUNCTION', 'LOAD', LIB_MISC], ...ADMIN])).toEqual([]);
    });

    it(`pipelined: FCALL right behind its FUNCTION LOAD and behind a FUNCTION DELETE (RESP${proto})`, async () => {
      const [a, b] = await pair(proto);
      await reset(a, b);
      const batch = [
        ['FUNCTION', 'LOAD', LIB_KV],
        ['FCALL', 'kincr', '1', '{p}n'],
        ['FCALL_RO', 'kget', '1', '{p}n'],
        ['FCALL', 'kget', '1', '{p}n'],
        ['FUNCTION', 'DELETE', 'kv'],
        ['FCALL', 'kincr', '1', '{p}n'],
        ['FCALL_RO', 'kget', '1', '{p}n'],
        ['FUNCTION', 'LOAD', LIB_KV],
        ['FCALL', 'kincr', '1', '{p}n'],
        ['FUNCTION', 'FLUSH'],
        ['FCALL', 'kincr', '1', '{p}n'],
        ['GET', '{p}n'],
      ];
      const [ra, rb] = await Promise.all([Promise.all(batch.map((c) => a.call(...c))), Promise.all(batch.map((c) => b.call(...c)))]);
      expect(rb).toEqual(ra);
    });
  }
});

describe('FUNCTION DUMP / RESTORE across servers', () => {
  it('a payload dumped by redis-server restores into raftis, and one dumped by raftis into redis-server', async () => {
    const [a, b] = await pair(3);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      await reset(a, b);
      await from.call('FUNCTION', 'LOAD', LIB_KV);
      await from.call('FUNCTION', 'LOAD', LIB_MISC);
      await from.call('FUNCTION', 'LOAD', ONE);
      const dump = parseReply(await from.call('FUNCTION', 'DUMP'))[0];
      expect(dump.t).toBe('$');
      const bytes = 'v' in dump ? dump.v : '';
      expect(await to.call('FUNCTION', 'RESTORE', bytes)).toBe('+OK\r\n');
      const checks = [
        ['FUNCTION', 'LIST', 'WITHCODE'],
        ['FUNCTION', 'STATS'],
        ['FCALL', 'kincr', '1', 'n'],
        ['FCALL', 'types', '0'],
        ['FCALL', 'one', '0'],
        ['FUNCTION', 'RESTORE', bytes, 'REPLACE'],
        ['FUNCTION', 'RESTORE', bytes, 'FLUSH'],
        ['FUNCTION', 'LIST', 'WITHCODE'],
      ];
      // The source still has its libraries; the restored server answers the same.
      await to.call('SET', 'n', '5');
      await from.call('SET', 'n', '5');
      expect(await compare(from, to, checks)).toEqual([]);
      // Restored again every library collides; which one is named first is redis-server's hash order.
      for (const c of [from, to]) expect(await c.call('FUNCTION', 'RESTORE', bytes)).toMatch(/^-ERR Library (kv|misc|one) already exists\r\n$/);
    }
  });

  it('a single library dumps to the same bytes on both (LZF-compressed as Redis does)', async () => {
    const [a, b] = await pair(2);
    const libs = [
      ONE,
      LIB_KV,
      LIB_MISC,
      lib('rep', `-- ${'abcabcabc'.repeat(50)}\nredis.register_function('rep', function() return ${'1 + '.repeat(100)}1 end)`),
      lib('tiny', "redis.register_function('t',function()end)"),
    ];
    for (const code of libs) {
      await reset(a, b);
      await Promise.all([a.call('FUNCTION', 'LOAD', code), b.call('FUNCTION', 'LOAD', code)]);
      const [da, db] = [await a.call('FUNCTION', 'DUMP'), await b.call('FUNCTION', 'DUMP')];
      expect(db).toBe(da);
    }
    // Several libraries: the same bytes as raftis's order, dumped by raftis's encoder.
    await reset(a, b);
    expect(parseReply(await b.call('FUNCTION', 'DUMP'))[0]).toEqual({ t: '$', v: dumpFunctions([]) });
  });

  it('FUNCTION RESTORE: policies, collisions and bad payloads', async () => {
    const [a, b] = await pair(2);
    await reset(a, b);
    const kvFn = (name: string, fn: string): string => lib(name, `redis.register_function('${fn}', function() return '${name}' end)`);
    const p = (...codes: string[]): string => payload(Buffer.concat(codes.flatMap((c) => [Buffer.from([245]), rdbString(c)])));
    const good = payload(Buffer.concat([Buffer.from([245]), rdbString(kvFn('r1', 'f1'))]));
    const cmds: string[][] = [
      ['FUNCTION', 'RESTORE', good, 'BAD'],
      ['FUNCTION', 'RESTORE', good],
      ['FCALL', 'f1', '0'],
      ['FUNCTION', 'RESTORE', good],
      ['FUNCTION', 'RESTORE', good, 'append'],
      ['FUNCTION', 'RESTORE', p(kvFn('r2', 'f1'))],
      ['FUNCTION', 'RESTORE', p(kvFn('r1', 'f2'))],
      ['FUNCTION', 'RESTORE', p(kvFn('r1', 'f2')), 'REPLACE'],
      ['FCALL', 'f1', '0'],
      ['FCALL', 'f2', '0'],
      ['FUNCTION', 'RESTORE', p(kvFn('r1', 'f3'), kvFn('r9', 'f2')), 'REPLACE'],
      ['FCALL', 'f2', '0'],
      ['FUNCTION', 'RESTORE', p(kvFn('r3', 'f3'), kvFn('r3', 'f4'))],
      ['FUNCTION', 'RESTORE', p(kvFn('r3', 'f3'), kvFn('r4', 'f3'))],
      ['FUNCTION', 'RESTORE', p(kvFn('r3', 'f3'), lib('r4', 'return 1'))],
      ['FUNCTION', 'RESTORE', p(kvFn('r3', 'f3'), 'not a library')],
      ['FCALL', 'f3', '0'],
      ['FUNCTION', 'RESTORE', p(kvFn('r5', 'f5'), kvFn('r6', 'f6')), 'FLUSH'],
      ['FCALL', 'f2', '0'],
      ['FCALL', 'f6', '0'],
      ['FUNCTION', 'STATS'],
      ['FUNCTION', 'RESTORE', p(), 'FLUSH'],
      ['FUNCTION', 'STATS'],
      ['FUNCTION', 'RESTORE', good, 'FLUSH'],
      // Bad payloads.
      ['FUNCTION', 'RESTORE', ''],
      ['FUNCTION', 'RESTORE', 'short'],
      ['FUNCTION', 'RESTORE', payload(Buffer.alloc(0), 11)],
      ['FUNCTION', 'RESTORE', payload(Buffer.alloc(0), 9)],
      ['FUNCTION', 'RESTORE', payload(Buffer.alloc(0), 10, 12345n)],
      ['FUNCTION', 'RESTORE', payload(Buffer.from([246]))],
      ['FUNCTION', 'RESTORE', payload(Buffer.concat([Buffer.from([246]), rdbString('old')]))],
      ['FUNCTION', 'RESTORE', payload(Buffer.concat([Buffer.from([246]), rdbString('old'), rdbString('LUA')]))],
      ['FUNCTION', 'RESTORE', payload(Buffer.concat([Buffer.from([246]), rdbString('old'), rdbString('LUA'), Buffer.from([1])]))],
      ['FUNCTION', 'RESTORE', payload(Buffer.concat([Buffer.from([246]), rdbString('old'), rdbString('LUA'), Buffer.from([0])]))],
      [
        'FUNCTION',
        'RESTORE',
        payload(Buffer.concat([Buffer.from([246]), rdbString('old'), rdbString('LUA'), Buffer.from([1]), rdbString('desc'), rdbString("redis.register_function('oldf', function() return 'old' end)")])),
      ],
      ['FCALL', 'oldf', '0'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME', 'old', 'WITHCODE'],
      ['FUNCTION', 'RESTORE', payload(Buffer.from([0, 1, 2]))],
      ['FUNCTION', 'RESTORE', payload(Buffer.from([245, 60, 35, 33]))],
      ['FUNCTION', 'RESTORE', payload(Buffer.from([245, 0xc0, 7]))],
      ['FUNCTION', 'RESTORE', payload(Buffer.from([245, 0xc3, 2, 10, 1, 0]))],
      ['FUNCTION', 'RESTORE', payload(Buffer.from([245, 0xc5]))],
      ['FUNCTION', 'RESTORE', payload(Buffer.concat([Buffer.from([245]), rdbString(kvFn('r7', 'f7')), Buffer.from([245])]))],
      ['FUNCTION', 'LIST'],
    ];
    expect(await compare(a, b, cmds)).toEqual([]);
  });
});
