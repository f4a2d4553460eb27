/**
 * DUMP / RESTORE against redis-server 7.0: for every type and encoding,
 * DUMP's bytes (identical where raftis's encoding lays the value out as
 * Redis does), redis-server's payloads restored into raftis and raftis's
 * into redis-server (values, encodings and stream groups compared), older
 * RDB encodings Redis 7 still loads, RESTORE's options and every error text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc64 } from '../../src/util/crc64.js';
import { ByteSink } from '../../src/keyspace/rdb/bytes.js';
import { RdbReader, saveBlob, saveLen } from '../../src/keyspace/rdb/format.js';
import { ListpackWriter } from '../../src/keyspace/rdb/listpack.js';
import { parseReply } from '../helpers/engine-diff.js';
import { bulk, fingerprint, plain } from '../helpers/value-fingerprint.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { DUMP_CASES } from './dump-restore-cases.js';

let redis: RedisServer | undefined;
let raftis: RaftisProcess | undefined;
let r: RawClient;
let f: RawClient;

beforeAll(async () => {
  const [a, b] = await Promise.allSettled([startRedisServer(), startRaftis()]);
  if (a.status === 'fulfilled') redis = a.value;
  if (b.status === 'fulfilled') raftis = b.value;
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  r = await RawClient.connect(redis!.port);
  f = await RawClient.connect(raftis!.port);
});
afterAll(async () => {
  r?.close();
  f?.close();
  await Promise.all([redis?.stop(), raftis?.destroy()]);
});

async function both(...cmd: string[]): Promise<void> {
  await Promise.all([r.call(...cmd), f.call(...cmd)]);
}

describe('DUMP and RESTORE of every type and encoding', () => {
  for (const c of DUMP_CASES) {
    it(c.name, async () => {
      await both('FLUSHALL');
      for (const cmd of c.setup) expect(await f.call(...cmd)).toBe(await r.call(...cmd));
      const want = await fingerprint(r, 'k');
      expect(await fingerprint(f, 'k')).toEqual(want);
      const dr = (await bulk(r, 'DUMP', 'k'))!;
      const df = (await bulk(f, 'DUMP', 'k'))!;
      if (c.exact) expect(Buffer.from(df, 'latin1').toString('hex')).toBe(Buffer.from(dr, 'latin1').toString('hex'));
      // What redis-server holds after restoring its own payload (a load may change the encoding:
      // a shrunk hashtable comes back a listpack) is what every cross restore must give.
      expect(await r.call('RESTORE', 'own', '0', dr)).toBe('+OK\r\n');
      const restored = await fingerprint(r, 'own');
      // redis-server's payload into raftis, raftis's into redis-server, and raftis's into raftis.
      expect(await f.call('RESTORE', 'x', '0', dr)).toBe('+OK\r\n');
      expect(await r.call('RESTORE', 'x', '0', df)).toBe('+OK\r\n');
      expect(await f.call('RESTORE', 'y', '0', df)).toBe('+OK\r\n');
      expect(await fingerprint(f, 'x')).toEqual(restored);
      expect(await fingerprint(r, 'x')).toEqual(restored);
      expect(await fingerprint(f, 'y')).toEqual(restored);
    });
  }
});

/** A payload around an object's bytes: RDB version 10 and the CRC64, as createDumpPayload. */
function payload(body: Buffer, version = 10): string {
  const b = Buffer.concat([body, Buffer.from([version & 0xff, version >> 8])]);
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(b));
  return Buffer.concat([b, crc]).toString('latin1');
}
const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);

/** A ziplist of short strings and small integers (ziplist.c layout). */
function ziplist(items: (string | number)[]): Buffer {
  const entries: Buffer[] = [];
  let prev = 0;
  for (const it of items) {
    let enc: Buffer;
    if (typeof it === 'number') {
      if (it >= 0 && it <= 12) enc = Buffer.from([0xf1 + it]);
      else {
        enc = Buffer.alloc(3);
        enc[0] = 0xc0;
        enc.writeInt16LE(it, 1);
      }
    } else {
      const head = it.length < 64 ? Buffer.from([it.length]) : Buffer.from([0x40 | (it.length >> 8), it.length & 0xff]);
      enc = Buffer.concat([head, Buffer.from(it, 'latin1')]);
    }
    const e = Buffer.concat([Buffer.from([prev]), enc]);
    entries.push(e);
    prev = e.length;
  }
  const body = Buffer.concat(entries);
  const head = Buffer.alloc(10);
  head.writeUInt32LE(10 + body.length + 1, 0);
  head.writeUInt32LE(10 + body.length - prev, 4);
  head.writeUInt16LE(items.length, 8);
  return Buffer.concat([head, body, Buffer.from([0xff])]);
}
const blob = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0x40 | (b.length >> 8), b.length & 0xff]), b]);

function listpackObject(type: number, items: string[]): Buffer {
  const lp = new ListpackWriter();
  for (const s of items) lp.str(s);
  const out = new ByteSink();
  out.byte(type);
  saveBlob(out, lp.finish());
  return Buffer.from(out.result());
}

const LEGACY: [string, Buffer][] = [
  ['RDB_TYPE_HASH_LISTPACK with a value longer than hash-max-listpack-value', listpackObject(16, ['f', 'v'.repeat(100), 'g', '1'])],
  ['RDB_TYPE_ZSET_LISTPACK with a member longer than zset-max-listpack-value', listpackObject(17, ['m'.repeat(100), '1', 'b', '2.5'])],
  ['RDB_TYPE_HASH_ZIPLIST with a long value', Buffer.concat([Buffer.from([13]), blob(ziplist(['f', 'v'.repeat(100)]))])],
  [
    'RDB_TYPE_HASH_ZIPMAP with a long value',
    Buffer.concat([Buffer.from([9]), blob(Buffer.concat([Buffer.from([1]), str('f'), Buffer.from([100, 0]), Buffer.from('w'.repeat(100)), Buffer.from([0xff])]))]),
  ],
  ['RDB_TYPE_ZSET_ZIPLIST with a long member', Buffer.concat([Buffer.from([12]), blob(ziplist(['m'.repeat(100), 1]))])],
  ['RDB_TYPE_LIST', Buffer.concat([Buffer.from([1, 3]), str('a'), str('bb'), str('12')])],
  ['RDB_TYPE_SET', Buffer.concat([Buffer.from([2, 3]), str('a'), str('7'), str('zz')])],
  ['RDB_TYPE_SET of integers', Buffer.concat([Buffer.from([2, 2]), str('9'), str('-1')])],
  ['RDB_TYPE_ZSET', Buffer.concat([Buffer.from([3, 3]), str('a'), str('1.5'), str('b'), Buffer.from([254]), str('c'), str('-3')])],
  ['RDB_TYPE_HASH', Buffer.concat([Buffer.from([4, 2]), str('f'), str('v'), str('g'), str('12')])],
  ['RDB_TYPE_LIST_ZIPLIST', Buffer.concat([Buffer.from([10]), blob(ziplist(['a', 5, 'ccc', -300]))])],
  ['RDB_TYPE_ZSET_ZIPLIST', Buffer.concat([Buffer.from([12]), blob(ziplist(['a', 1, 'b', '2.5']))])],
  ['RDB_TYPE_HASH_ZIPLIST', Buffer.concat([Buffer.from([13]), blob(ziplist(['f', 'v', 'n', 3]))])],
  ['RDB_TYPE_LIST_QUICKLIST', Buffer.concat([Buffer.from([14, 2]), blob(ziplist(['a', 1])), blob(ziplist(['b', 'c']))])],
  [
    'RDB_TYPE_HASH_ZIPMAP',
    Buffer.concat([Buffer.from([9]), blob(Buffer.concat([Buffer.from([2]), str('f'), Buffer.from([1, 0]), Buffer.from('v'), str('gg'), Buffer.from([2, 1]), Buffer.from('ww?'), Buffer.from([0xff])]))]),
  ],
];

describe('RESTORE of older RDB encodings Redis 7.0 loads', () => {
  for (const [name, body] of LEGACY) {
    it(name, async () => {
      await both('FLUSHALL');
      const p = payload(body);
      const want = await r.call('RESTORE', 'k', '0', p);
      expect(await f.call('RESTORE', 'k', '0', p)).toBe(want);
      expect(want).toBe('+OK\r\n');
      expect(await fingerprint(f, 'k')).toEqual(await fingerprint(r, 'k'));
    });
  }
});

/**
 * A STREAM_LISTPACKS_2 payload rewritten as RDB_TYPE_STREAM_LISTPACKS (15,
 * Redis 5 and 6): without first ID, max deleted ID, entries added and the
 * groups' entries-read.
 */
function streamV1(p: string): Buffer {
  const r = new RdbReader(Buffer.from(p, 'latin1'));
  const out = new ByteSink();
  expect(r.byte()).toBe(19);
  out.byte(15);
  const copyString = (): void => {
    const start = r.pos;
    r.stringBytes();
    out.bytes(r.b.subarray(start, r.pos));
  };
  const len = (keep: boolean): number => {
    const v = r.len64();
    if (keep) saveLen(out, v);
    return Number(v);
  };
  const nodes = len(true);
  for (let i = 0; i < nodes; i++) {
    copyString();
    copyString();
  }
  len(true); // length
  len(true); // last id
  len(true);
  for (let i = 0; i < 5; i++) len(false); // first id, max deleted id, entries added
  const groups = len(true);
  for (let g = 0; g < groups; g++) {
    copyString();
    len(true);
    len(true);
    len(false); // entries read
    const pel = len(true);
    for (let k = 0; k < pel; k++) {
      out.bytes(r.bytes(16 + 8));
      len(true);
    }
    const consumers = len(true);
    for (let c = 0; c < consumers; c++) {
      copyString();
      out.bytes(r.bytes(8));
      const n = len(true);
      for (let k = 0; k < n; k++) out.bytes(r.bytes(16));
    }
  }
  return Buffer.from(out.result());
}

describe('RESTORE of a stream in the RDB_TYPE_STREAM_LISTPACKS (Redis 5/6) encoding', () => {
  it('loads as redis-server loads it', async () => {
    await both('FLUSHALL');
    for (const cmd of [
      ['XADD', 's', '1-1', 'a', '1'],
      ['XADD', 's', '2-1', 'a', '2', 'b', '3'],
      ['XADD', 's', '3-1', 'a', '4'],
      ['XDEL', 's', '2-1'],
      ['XGROUP', 'CREATE', 's', 'g', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', 's', '>'],
    ]) await r.call(...cmd);
    const p = payload(streamV1((await bulk(r, 'DUMP', 's'))!));
    const want = await r.call('RESTORE', 'k', '0', p);
    expect(want).toBe('+OK\r\n');
    expect(await f.call('RESTORE', 'k', '0', p)).toBe(want);
    expect(await fingerprint(f, 'k')).toEqual(await fingerprint(r, 'k'));
  });
});

describe('RESTORE options and errors', () => {
  it('error texts and option handling are redis-server’s', async () => {
    await both('FLUSHALL');
    await both('SET', 'src', 'value');
    await both('SET', 'busy', 'x');
    const p = (await bulk(r, 'DUMP', 'src'))!;
    const bad = Buffer.from(p, 'latin1');
    bad[3] = bad[3]! ^ 1;
    const cases: string[][] = [
      ['DUMP', 'nosuchkey'],
      ['RESTORE', 'busy', '0', p],
      ['RESTORE', 'busy', 'abc', p],
      ['RESTORE', 'new', 'abc', p],
      ['RESTORE', 'new', '-1', p],
      ['RESTORE', 'new', '0', 'garbage'],
      ['RESTORE', 'new', '0', ''],
      ['RESTORE', 'new', '0', bad.toString('latin1')],
      ['RESTORE', 'new', '0', payload(Buffer.from([0, 5, 104, 101, 108, 108, 111]), 11)],
      ['RESTORE', 'new', '0', payload(Buffer.from([0, 5, 104, 101, 108, 108, 111]), 9)],
      ['RESTORE', 'new', '0', payload(Buffer.from([7, 1, 2, 3]))],
      ['RESTORE', 'new', '0', payload(Buffer.from([0, 20, 1]))],
      ['RESTORE', 'new', '0', payload(Buffer.from([11, 8, 2, 0, 0, 0, 0, 0, 0, 0]))],
      ['RESTORE', 'new', '0', payload(Buffer.concat([Buffer.from([2, 2]), str('a'), str('a')]))],
      ['RESTORE', 'new', '0', payload(Buffer.from([4, 0]))],
      ['RESTORE', 'new', '0', p, 'IDLETIME', '-1'],
      ['RESTORE', 'new', '0', p, 'IDLETIME', 'x'],
      ['RESTORE', 'new', '0', p, 'FREQ', '256'],
      ['RESTORE', 'new', '0', p, 'FREQ', '-1'],
      ['RESTORE', 'new', '0', p, 'IDLETIME', '1', 'FREQ', '1'],
      ['RESTORE', 'new', '0', p, 'FREQ', '1', 'IDLETIME', '1'],
      ['RESTORE', 'new', '0', p, 'IDLETIME'],
      ['RESTORE', 'new', '0', p, 'BOGUS'],
      ['RESTORE', 'busy', '0', p, 'FREQ', '300'],
      ['RESTORE', 'busy', '0', p, 'REPLACE', 'IDLETIME', '10', 'ABSTTL'],
      ['GET', 'busy'],
      ['RESTORE', 'f1', '0', p, 'freq', '5'],
      ['RESTORE', 'past', '1', p, 'ABSTTL'],
      ['EXISTS', 'past'],
      ['RESTORE', 'busy', '1000', p, 'REPLACE', 'ABSTTL'],
      ['EXISTS', 'busy'],
      ['RESTORE', 'fut', '4102444800000', p, 'ABSTTL'],
      ['PEXPIRETIME', 'fut'],
      ['RESTORE', 'huge', '9223372036854775807', p],
      ['EXISTS', 'huge'],
      ['RESTORE', 'rel', '100000', p],
      ['TTL', 'rel'],
      ['GET', 'rel'],
      ['RESTORE', 'rel', '0', p],
      ['RESTORE', 'rel', '0', p, 'REPLACE'],
      ['TTL', 'rel'],
      ['RESTORE'],
      ['RESTORE', 'a', '0'],
      ['DUMP'],
    ];
    for (const cmd of cases) {
      const want = await r.call(...cmd);
      expect(await f.call(...cmd), cmd.map((a) => (a.length > 30 ? '<payload>' : a)).join(' ')).toBe(want);
    }
  });

  it('RESTORE emits the restore keyspace event', async () => {
    await both('FLUSHALL');
    await both('CONFIG', 'SET', 'notify-keyspace-events', 'Kg');
    try {
      const sub = await RawClient.connect(raftis!.port);
      try {
        await sub.call('SUBSCRIBE', '__keyspace@0__:ev');
        await f.call('SET', 'src', 'v');
        const p = (await bulk(f, 'DUMP', 'src'))!;
        await f.call('RESTORE', 'ev', '0', p);
        const msg = plain(parseReply(await sub.next())[0]) as string[];
        expect(msg).toEqual(['message', '__keyspace@0__:ev', 'restore']);
      } finally {
        sub.close();
      }
    } finally {
      await both('CONFIG', 'SET', 'notify-keyspace-events', '');
    }
  });
});
