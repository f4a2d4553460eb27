/**
 * Keyspace commands, differential: scripts run on a real redis-server and on
 * the in-process engine, RESP2 and RESP3, replies compared byte for byte;
 * KEYS as sets and SCAN as the union of a full iteration (hash order
 * differs); TTL replies within a tolerance; absolute expiries (year 3000)
 * exactly.
 *
 * Engine-side gaps, noted where they occur: the keyspace holds only strings,
 * so `TYPE` of a list key and `SCAN ... TYPE list` are sent to redis-server
 * only ({ redisOnly }); WRONGTYPE paths use a non-string value on the
 * engine ({ foreign }).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Differential, type Step } from '../../helpers/engine-diff.js';
import { Engine } from '../../helpers/engine.js';
import { RawClient } from '../../helpers/raw-client.js';

let diff: Differential;

beforeAll(async () => {
  diff = await Differential.start();
});
afterAll(async () => {
  await diff?.stop();
});

const ttl = (key: string): Step => ({ cmd: ['TTL', key], cmp: { tolerance: 1 } });
const pttl = (key: string): Step => ({ cmd: ['PTTL', key], cmp: { tolerance: 1500 } });
const keys = (pattern: string): Step => ({ cmd: ['KEYS', pattern], cmp: 'set' });
const FAR = 32503680000; // year 3000, seconds

const manyKeys: Step[] = [];
for (let i = 0; i < 60; i++) manyKeys.push(['SET', `k:${i}`, String(i)]);

export const keyspaceScripts: Record<string, Step[]> = {
  del_exists_touch_type: [
    ['MSET', 'a', '1', 'b', '2', 'c', '3'],
    ['DEL', 'a', 'b', 'x'],
    ['DEL', 'a'],
    ['EXISTS', 'a', 'b', 'c'],
    ['EXISTS', 'c', 'c', 'c', 'nope'],
    ['TOUCH', 'c', 'c', 'nope'],
    ['UNLINK', 'c', 'c'],
    ['EXISTS', 'c'],
    ['SET', 'd', 'v'],
    ['DEL', 'd', 'd'],
    ['TYPE', 'missing'],
    ['SET', 's', 'v'],
    ['TYPE', 's'],
    ['SET', '', 'empty'],
    ['EXISTS', ''],
    ['TYPE', ''],
    ['DEL', ''],
    { foreign: 'l' },
    // The engine keyspace has no lists: TYPE of one is checked on redis-server only.
    { redisOnly: ['TYPE', 'l'] },
    ['EXISTS', 'l'],
    ['TOUCH', 'l'],
    ['DEL', 'l'],
    ['EXISTS', 'l'],
    ['DEL'],
    ['UNLINK'],
    ['EXISTS'],
    ['TOUCH'],
    ['TYPE'],
    ['TYPE', 'a', 'b'],
  ],
  keys: [
    ...manyKeys,
    ['MSET', 'hello', '1', 'hallo', '1', 'hxllo', '1', 'hllo', '1', 'heeeello', '1', 'h*llo', '1', 'h?llo', '1'],
    ['MSET', 'h\xffllo', '1', 'H\x80llo', '1', '[x]', '1', 'x\\y', '1', 'UPPER', '1', 'upper', '1', 'a-b', '1', '^', '1', ']', '1'],
    ['SET', '', 'empty'],
    keys('*'),
    keys('**'),
    keys(''),
    keys('h?llo'),
    keys('h*llo'),
    keys('h[ae]llo'),
    keys('h[^e]llo'),
    keys('h[a-b]llo'),
    keys('h[b-a]llo'),
    keys('h\\*llo'),
    keys('h\\?llo'),
    keys('\\[x]'),
    keys('[[]x]'),
    keys('['),
    keys('[x'),
    keys('[^'),
    keys('[^]'),
    keys('[]]'),
    keys('[\\]]'),
    keys('x\\\\y'),
    keys('*\\'),
    keys('k:?'),
    keys('k:[1-3]*'),
    keys('k:[3-1]'),
    keys('k:*0'),
    keys('K:*'),
    keys('UPP*'),
    keys('*o'),
    keys('*l*l*'),
    keys('h*\\'),
    keys('[\xff-a]*'),
    keys('[a-\xff]*'),
    keys('h[\x80-\xff]llo'),
    keys('?\x80*'),
    keys('[a-]'),
    keys('a[-]b'),
    keys('a[\\-]b'),
    keys('[^a-z]*'),
    keys('nomatch*'),
    ['KEYS'],
    ['KEYS', 'a', 'b'],
  ],
  scan: [
    ...manyKeys,
    ['MSET', 'hello', '1', 'hallo', '1', 'h\xffllo', '1', '', '1'],
    { scanAll: [] },
    { scanAll: ['COUNT', '1'] },
    { scanAll: ['COUNT', '3'] },
    { scanAll: ['COUNT', '1000'] },
    { scanAll: ['count', '9223372036854775807'] },
    { scanAll: ['MATCH', '*'] },
    { scanAll: ['MATCH', 'k:1*'] },
    { scanAll: ['MATCH', 'h?llo', 'COUNT', '2'] },
    { scanAll: ['match', 'k:[2-4]', 'match', 'k:5*'] },
    { scanAll: ['MATCH', '**'] },
    { scanAll: ['TYPE', 'string'] },
    { scanAll: ['TYPE', 'STRING', 'MATCH', 'k:2*'] },
    { scanAll: ['TYPE', 'string\x00x'] },
    { scanAll: ['TYPE', 'list'] },
    { scanAll: ['TYPE', 'none'] },
    { scanAll: ['TYPE', 'foo'] },
    { scanAll: ['COUNT', '0'] },
    { scanAll: ['COUNT', '-1'] },
    { scanAll: ['COUNT', 'abc'] },
    { scanAll: ['COUNT', '9223372036854775808'] },
    { scanAll: ['COUNT'] },
    { scanAll: ['MATCH'] },
    { scanAll: ['TYPE'] },
    { scanAll: ['FOO', 'bar'] },
    { scanAll: ['COUNT', '5', 'BAR'] },
    { scanAll: ['count\x00', '5'] },
    ['SCAN', 'abc'],
    ['SCAN', ' 0'],
    ['SCAN', '0 '],
    ['SCAN', '0x1'],
    ['SCAN', '1.5'],
    ['SCAN', '18446744073709551616'],
    ['SCAN', '99999999999999999999999'],
    ['SCAN', '-'],
    ['SCAN', '+'],
    ['SCAN', 'abc', 'COUNT', '0'],
    ['SCAN'],
    ['FLUSHALL'],
    // On an empty keyspace any valid cursor answers "0" and no keys.
    ['SCAN', '0'],
    ['SCAN', ''],
    ['SCAN', '+0'],
    ['SCAN', '000'],
    ['SCAN', '-0'],
    ['SCAN', '\x00'],
    ['SCAN', '0\x00abc'],
    ['SCAN', '0', 'COUNT', '0'],
  ],
  scan_type_with_other_types: [
    ['SET', 's1', 'v'],
    ['SET', 's2', 'v'],
    // A list exists only on redis-server: its SCAN TYPE answers are checked there alone.
    { redisOnly: ['RPUSH', 'l1', 'x'] },
    { redisOnly: ['SCAN', '0', 'TYPE', 'list'] },
    { redisOnly: ['DEL', 'l1'] },
    { scanAll: ['TYPE', 'string'] },
    { scanAll: ['TYPE', 'list'] },
  ],
  randomkey: [
    ['RANDOMKEY'],
    ['SET', 'only', 'v'],
    ['RANDOMKEY'],
    ['SET', 'gone', 'v', 'EXAT', '1'],
    ['RANDOMKEY'],
    ['DEL', 'only'],
    ['RANDOMKEY'],
    ['RANDOMKEY', 'x'],
  ],
  rename: [
    ['RENAME', 'missing', 'b'],
    ['RENAMENX', 'missing', 'b'],
    ['RENAME', 'missing', 'missing'],
    ['SET', 'a', '1'],
    ['RENAME', 'a', 'a'],
    ['RENAMENX', 'a', 'a'],
    ['RENAME', 'a', 'b'],
    ['GET', 'a'],
    ['GET', 'b'],
    ['SET', 'c', '3', 'EX', '100'],
    ['RENAME', 'c', 'b'],
    ttl('b'),
    ['GET', 'b'],
    ['RENAMENX', 'b', 'd'],
    ttl('d'),
    ['SET', 'e', '5'],
    ['RENAMENX', 'd', 'e'],
    ['GET', 'd'],
    ['SET', 't', '1', 'EX', '100'],
    ['SET', 's', '2'],
    ['RENAME', 's', 't'],
    ttl('t'),
    ['GET', 't'],
    ['SET', 'x', 'v', 'EXAT', String(FAR)],
    ['RENAME', 'x', 'y'],
    ['EXPIRETIME', 'y'],
    ['SET', '\xff\x00', 'bin'],
    ['RENAME', '\xff\x00', '\x00\xff'],
    ['GET', '\x00\xff'],
    { foreign: 'l' },
    ['RENAME', 'l', 'm'],
    ['EXISTS', 'l', 'm'],
    ['GET', 'm'],
    ['RENAMENX', 'm', 'e'],
    ['RENAME', 'e', 'm'],
    ['GET', 'm'],
    ['RENAME', 'a'],
    ['RENAMENX', 'a', 'b', 'c'],
  ],
  copy: [
    ['COPY', 'a', 'b'],
    ['SET', 'a', '1', 'EX', '100'],
    ['COPY', 'a', 'b'],
    ttl('b'),
    ['GET', 'b'],
    ['COPY', 'a', 'b'],
    ['SET', 'a', '2'],
    ['COPY', 'a', 'b', 'REPLACE'],
    ttl('b'),
    ['GET', 'b'],
    ['COPY', 'a', 'b', 'replace', 'REPLACE'],
    ['COPY', 'a', 'a'],
    ['COPY', 'a', 'a', 'REPLACE'],
    ['COPY', 'missing', 'missing'],
    ['COPY', 'missing', 'b'],
    ['COPY', 'missing', 'b', 'REPLACE'],
    ['GET', 'b'],
    ['COPY', 'a', 'b', 'FOO'],
    ['COPY', 'a', 'b', 'DB'],
    ['COPY', 'a', 'b', 'DB', 'abc'],
    ['COPY', 'a', 'b', 'DB', '0'],
    ['COPY', 'a', 'b', 'DB', '0', 'REPLACE'],
    ['COPY', 'a', 'c', 'db', '0'],
    ['COPY', 'a', 'b', 'DB', '16'],
    ['COPY', 'a', 'b', 'DB', '99'],
    ['COPY', 'a', 'b', 'DB', '-1'],
    ['COPY', 'a', 'b', 'DB', '4294967296'],
    ['COPY', 'a', 'b', 'DB', '2147483648'],
    ['COPY', 'a', 'b', 'DB', '-2147483649'],
    ['COPY', 'a', 'b', 'DB', '1.5'],
    ['COPY', 'a', 'a', 'FOO'],
    ['COPY', 'a', 'a', 'DB', 'x'],
    ['COPY', 'a', 'a', 'DB', '0'],
    ['COPY', 'a', 'b', 'REPLACE', 'FOO'],
    ['SET', 'x', 'v', 'PXAT', `${FAR}123`],
    ['COPY', 'x', 'y'],
    ['PEXPIRETIME', 'y'],
    ['SET', 'g', 'gone', 'PXAT', '1'],
    ['COPY', 'g', 'h'],
    { foreign: 'l' },
    ['COPY', 'l', 'm'],
    ['GET', 'm'],
    ['COPY', 'a', 'm'],
    ['COPY', 'a', 'm', 'REPLACE'],
    ['GET', 'm'],
    ['COPY', 'a'],
  ],
  expire_family: [
    ['EXPIRE', 'missing', '100'],
    ['SET', 'k', 'v'],
    ['EXPIRE', 'k', '100'],
    ttl('k'),
    pttl('k'),
    ['EXPIRE', 'k', '100', 'NX'],
    ['EXPIRE', 'k', '200', 'XX'],
    ttl('k'),
    ['EXPIRE', 'k', '50', 'GT'],
    ['EXPIRE', 'k', '300', 'gt'],
    ttl('k'),
    ['EXPIRE', 'k', '400', 'LT'],
    ['EXPIRE', 'k', '100', 'lt'],
    ttl('k'),
    ['EXPIRE', 'k', '90', 'XX', 'GT'],
    ['EXPIRE', 'k', '200', 'XX', 'GT'],
    ['EXPIRE', 'k', '50', 'LT', 'XX'],
    ttl('k'),
    ['PERSIST', 'k'],
    ['PERSIST', 'k'],
    ttl('k'),
    ['EXPIRE', 'k', '100', 'XX'],
    ['EXPIRE', 'k', '100', 'GT'],
    ['EXPIRE', 'k', '100', 'LT'],
    ttl('k'),
    ['PERSIST', 'k'],
    ['EXPIRE', 'k', '100', 'NX'],
    ['EXPIRE', 'k', '100', 'NX', 'NX'],
    ttl('k'),
    ['EXPIRE', 'k', '10', 'NX', 'XX'],
    ['EXPIRE', 'k', '10', 'NX', 'GT'],
    ['EXPIRE', 'k', '10', 'LT', 'NX'],
    ['EXPIRE', 'k', '10', 'GT', 'LT'],
    ['EXPIRE', 'k', '10', 'GT', 'LT', 'NX'],
    ['EXPIRE', 'k', '10', 'FOO'],
    ['EXPIRE', 'k', '10', 'NX', 'FOO', 'XX'],
    ['EXPIRE', 'k', 'abc', 'NX', 'XX'],
    ['EXPIRE', 'k', 'abc', 'FOO'],
    ['EXPIRE', 'k', 'abc'],
    ['EXPIRE', 'k', '1.5'],
    ['EXPIRE', 'k', ''],
    ['EXPIRE', 'k', '10', 'nx\x00zz'],
    ['EXPIRE', 'k', '10', 'f\r\noo'],
    ['EXPIRE', 'k', '10', 'ab\x00cd'],
    ['EXPIRE', 'k', '10', ''],
    ['EXPIRE', 'k', '9223372036854775'],
    ['EXPIRE', 'k', '9223372036854776'],
    ['EXPIRE', 'k', '-9223372036854776'],
    ['PEXPIRE', 'k', '9223372036854775807'],
    ['EXPIRE', 'k', '9223372036854775808'],
    ['EXPIREAT', 'k', '9223372036854776'],
    ['PEXPIREAT', 'k', '-9223372036854775809'],
    ttl('k'),
    ['EXPIRE', 'k', '-1', 'NX'],
    ['EXISTS', 'k'],
    ['EXPIRE', 'k', '-1'],
    ['EXISTS', 'k'],
    ['SET', 'k', 'v'],
    ['EXPIRE', 'k', '0'],
    ['EXISTS', 'k'],
    ['SET', 'k', 'v'],
    ['EXPIRE', 'k', '-9223372036854775'],
    ['EXISTS', 'k'],
    ['SET', 'k', 'v'],
    ['PEXPIRE', 'k', '-9223372036854775808'],
    ['EXISTS', 'k'],
    ['SET', 'k', 'v'],
    ['EXPIRE', 'k', '-5', 'GT'],
    ['EXISTS', 'k'],
    ['EXPIRE', 'k', '-5', 'LT'],
    ['EXISTS', 'k'],
    ['SET', 'k', 'v'],
    ['PEXPIRE', 'k', '100000'],
    pttl('k'),
    ttl('k'),
    ['PEXPIRE', 'k', '1500'],
    ttl('k'),
    ['PEXPIRE', 'k', '1', 'GT'],
    ['EXPIRE'],
    ['EXPIRE', 'k'],
    ['PEXPIRE', 'k'],
    ['EXPIREAT', 'k'],
    ['PEXPIREAT', 'k'],
  ],
  expireat_and_times: [
    ['SET', 'k', 'v'],
    ['EXPIRETIME', 'k'],
    ['PEXPIRETIME', 'k'],
    ['TTL', 'k'],
    ['PTTL', 'k'],
    ['EXPIRETIME', 'missing'],
    ['PEXPIRETIME', 'missing'],
    ['TTL', 'missing'],
    ['PTTL', 'missing'],
    ['EXPIREAT', 'k', String(FAR)],
    ['EXPIRETIME', 'k'],
    ['PEXPIRETIME', 'k'],
    ['EXPIREAT', 'k', String(FAR), 'GT'],
    ['EXPIREAT', 'k', String(FAR), 'LT'],
    ['EXPIREAT', 'k', String(FAR + 1), 'GT'],
    ['EXPIRETIME', 'k'],
    ['EXPIREAT', 'k', String(FAR + 1), 'LT'],
    ['EXPIREAT', 'k', String(FAR - 1), 'LT'],
    ['EXPIRETIME', 'k'],
    ['EXPIREAT', 'k', String(FAR - 2), 'NX'],
    ['EXPIREAT', 'k', String(FAR - 2), 'XX'],
    ['EXPIRETIME', 'k'],
    ['PEXPIREAT', 'k', `${FAR}123`],
    ['PEXPIRETIME', 'k'],
    ['EXPIRETIME', 'k'],
    ['PEXPIREAT', 'k', `${FAR}500`],
    ['EXPIRETIME', 'k'],
    ['PEXPIREAT', 'k', `${FAR}499`],
    ['EXPIRETIME', 'k'],
    ['PEXPIREAT', 'k', '9007199254740991'],
    ['PEXPIRETIME', 'k'],
    ['EXPIRETIME', 'k'],
    ['EXPIREAT', 'k', '9223372036854775'],
    ['EXPIRETIME', 'k'],
    { cmd: ['TTL', 'k'], cmp: { tolerance: 3 } },
    ['EXPIREAT', 'k', '9223372036854775', 'GT'],
    ['EXPIREAT', 'k', '1', 'GT'],
    ['EXISTS', 'k'],
    ['EXPIREAT', 'k', '1', 'LT'],
    ['EXISTS', 'k'],
    ['SET', 'k', 'v'],
    ['PEXPIREAT', 'k', '0'],
    ['EXISTS', 'k'],
    ['SET', 'k', 'v'],
    ['EXPIREAT', 'k', '-100'],
    ['EXISTS', 'k'],
    ['EXPIREAT', 'missing', '1'],
    ['PEXPIREAT', 'missing', String(FAR)],
    { foreign: 'l' },
    ['TTL', 'l'],
    ['EXPIREAT', 'l', String(FAR)],
    ['EXPIRETIME', 'l'],
    ['PERSIST', 'l'],
    ['PERSIST', 'l'],
    ['EXPIRETIME', 'l'],
    ['EXPIRE', 'l', '0'],
    ['EXISTS', 'l'],
    ['PERSIST', 'missing'],
    ['TTL'],
    ['PTTL', 'a', 'b'],
    ['EXPIRETIME'],
    ['PEXPIRETIME', 'a', 'b'],
    ['PERSIST'],
    ['PERSIST', 'a', 'b'],
  ],
  dbsize_flush: [
    ['DBSIZE'],
    ['MSET', 'a', '1', 'b', '2', 'c', '3'],
    ['DBSIZE'],
    ['FLUSHDB'],
    ['DBSIZE'],
    ['MSET', 'a', '1', 'b', '2'],
    ['FLUSHALL', 'ASYNC'],
    ['DBSIZE'],
    ['SET', 'a', '1'],
    ['FLUSHALL', 'sync'],
    ['EXISTS', 'a'],
    ['SET', 'a', '1'],
    ['FLUSHDB', 'async'],
    ['FLUSHDB', 'SYNC'],
    ['FLUSHALL', 'FOO'],
    ['FLUSHDB', 'FOO'],
    ['FLUSHALL', 'SYNC', 'ASYNC'],
    ['FLUSHDB', 'ASYNC', 'x'],
    ['FLUSHALL', 'sync\x00x'],
    ['FLUSHDB', ''],
    ['DBSIZE', 'x'],
  ],
};

describe('keyspace commands vs redis-server', () => {
  for (const [name, steps] of Object.entries(keyspaceScripts)) {
    for (const proto of [2, 3] as const) {
      it(`${name} (RESP${proto})`, async () => {
        const r = await diff.run(steps, proto);
        expect(r.mismatches).toEqual([]);
        expect(r.compared).toBeGreaterThan(0);
      });
    }
  }
});

describe('COPY ... DB against redis-server in cluster mode', () => {
  let cluster: Differential | undefined;

  beforeAll(async () => {
    cluster = await Differential.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
    const c = await RawClient.connect(cluster.redis.port);
    try {
      const r = await c.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      if (r !== '+OK\r\n') throw new Error(`CLUSTER ADDSLOTSRANGE: ${r}`);
      for (let i = 0; i < 200; i++) {
        if ((await c.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) return;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error('redis cluster did not become ok');
    } finally {
      c.close();
    }
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const steps: Step[] = [
    ['SET', '{t}a', '1'],
    ['COPY', '{t}a', '{t}b', 'DB', '1'],
    ['COPY', '{t}a', '{t}b', 'DB', '15', 'REPLACE'],
    ['COPY', '{t}missing', '{t}b', 'DB', '1'],
    ['COPY', '{t}a', '{t}a', 'DB', '1'],
    ['COPY', '{t}a', '{t}b', 'DB', '16'],
    ['COPY', '{t}a', '{t}b', 'DB', '1', 'FOO'],
    ['COPY', '{t}a', '{t}b', 'DB', '0'],
    ['GET', '{t}b'],
  ];
  for (const proto of [2, 3] as const) {
    it(`cross-database COPY is refused as in cluster mode (RESP${proto})`, async () => {
      const r = await cluster!.run(steps, proto);
      expect(r.mismatches).toEqual([]);
    });
  }
});

describe('keyspace commands on the engine alone (fixed clock)', () => {
  it('expired keys are invisible to reads, deleted by writes, counted by DBSIZE until then', () => {
    let now = 1_000_000;
    const e = new Engine({ clock: () => now });
    e.call('SET', 'a', '1', 'PX', '10');
    e.call('SET', 'b', '1', 'PX', '10');
    e.call('SET', 'c', '1');
    now += 10;
    expect(e.call('EXISTS', 'a', 'b', 'c')).toBe(':1\r\n');
    expect(e.call('TTL', 'a')).toBe(':-2\r\n');
    expect(e.call('TYPE', 'a')).toBe('+none\r\n');
    expect(e.call('KEYS', '*')).toBe('*1\r\n$1\r\nc\r\n');
    expect(e.call('SCAN', '0')).toBe('*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n');
    expect(e.call('RANDOMKEY')).toBe('$1\r\nc\r\n');
    expect(e.call('DBSIZE')).toBe(':3\r\n');
    expect(e.call('DEL', 'a')).toBe(':0\r\n');
    expect(e.call('DBSIZE')).toBe(':2\r\n');
    expect(e.call('RENAME', 'b', 'x')).toBe('-ERR no such key\r\n');
    expect(e.call('DBSIZE')).toBe(':1\r\n');
    expect(e.call('COPY', 'c', 'd')).toBe(':1\r\n');
    expect(e.call('EXPIRE', 'c', '10')).toBe(':1\r\n');
    expect(e.call('PTTL', 'c')).toBe(':10000\r\n');
    expect(e.call('EXPIRETIME', 'c')).toBe(':1010\r\n');
    expect(e.call('PEXPIRETIME', 'c')).toBe(':1010010\r\n');
  });

  it('RANDOMKEY returns one of the live keys', () => {
    let now = 1000;
    const e = new Engine({ clock: () => now });
    for (let i = 0; i < 50; i++) e.call('SET', `k${i}`, 'v');
    for (let i = 0; i < 50; i++) e.call('SET', `dead${i}`, 'v', 'PXAT', '2000');
    for (let i = 0; i < 20; i++) expect(e.call('RANDOMKEY')).toMatch(/^\$\d+\r\n(k|dead)\d+\r\n$/);
    now = 3000;
    for (let i = 0; i < 50; i++) expect(e.call('RANDOMKEY')).toMatch(/^\$\d+\r\nk\d+\r\n$/);
    expect(e.call('DBSIZE')).toBe(':100\r\n');
  });

  it('SCAN visits every key present for the whole walk exactly once, even with writes in between', () => {
    const e = new Engine({ clock: () => 1000 });
    for (let i = 0; i < 100; i++) e.call('SET', `k${i}`, 'v');
    const seen = new Map<string, number>();
    let cursor = '0';
    let round = 0;
    do {
      const r = e.call('SCAN', cursor, 'COUNT', '7');
      const parts = r.split('\r\n');
      cursor = parts[2]!;
      const n = Number(parts[3]!.slice(1));
      for (let i = 0; i < n; i++) {
        const k = parts[5 + 2 * i]!;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
      e.call('SET', `new${round}`, 'v');
      e.call('DEL', `k${99 - round}`);
      round++;
    } while (cursor !== '0' && round < 1000);
    for (let i = 0; i < 100 - round; i++) expect(seen.get(`k${i}`)).toBe(1);
  });
});
