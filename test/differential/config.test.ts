/**
 * CONFIG GET / SET against redis-server 7.0.15, byte for byte, RESP2 and
 * RESP3: every parameter CONFIG GET * lists, read by name (one at a time:
 * a pattern's order is redis-server's hash order), set with good and bad
 * values of its type and read back; several at once (all or none) and the
 * errors of that; aliases both ways; the CONFIG SETs clients send at
 * start-up; sensitive values hidden from SLOWLOG; and ioredis's
 * redis.config(), as applications call it.
 *
 * redis-server is started configured as raftis behaves (appendonly yes,
 * appendfsync always, one database, cluster mode, no save points), so every
 * parameter can be compared but this instance's own port and dir. Values are
 * chosen not to cut the test's own connection (no small client output
 * limits, maxmemory-clients or timeout).
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tableJson from '../../src/commands/generated/redis-config.json' with { type: 'json' };
import type { ParamDef } from '../../src/commands/engine/config-values.js';
import { parseReply, replyItems, replyValue } from '../helpers/engine-diff.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const TABLE = (tableJson as unknown as { params: ParamDef[] }).params;
const ALL_NAMES = TABLE.flatMap((p) => [p.name, ...p.aliases]);
/** This instance's own: compared with what raftis was started with. */
const OWN = new Set(['port', 'dir']);

let redis: RedisServer;
let raftis: RaftisProcess;
const conns: RawClient[] = [];

beforeAll(async () => {
  [redis, raftis] = await Promise.all([
    startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always', '--cluster-enabled', 'yes', '--save', '']),
    startRaftis(),
  ]);
});
afterAll(async () => {
  for (const c of conns) c.close();
  await Promise.all([redis?.stop(), raftis?.destroy()]);
});

async function pair(proto: 2 | 3): Promise<[RawClient, RawClient]> {
  const a = await RawClient.connect(redis.port);
  const b = await RawClient.connect(raftis.port);
  conns.push(a, b);
  if (proto === 3) {
    await a.call('HELLO', '3');
    await b.call('HELLO', '3');
  }
  return [a, b];
}

/** Sends a command to both; the replies must be the same bytes. Returns raftis's. */
async function same(a: RawClient, b: RawClient, ...cmd: string[]): Promise<string> {
  const [ra, rb] = [await a.call(...cmd), await b.call(...cmd)];
  expect(rb, cmd.join(' ')).toBe(ra);
  return rb;
}

/** CONFIG GET's value for one name (the reply parsed). */
async function valueOf(c: RawClient, name: string): Promise<string> {
  const items = replyItems(parseReply(await c.call('CONFIG', 'GET', name))[0]);
  return replyValue(items[1]!);
}

/** A reply of name/value pairs as a sorted list (pattern replies come in hash order). */
function pairsOf(raw: string): string[] {
  const items = replyItems(parseReply(raw)[0]).map(replyValue);
  const out: string[] = [];
  for (let i = 0; i < items.length; i += 2) out.push(`${items[i]}=${items[i + 1]}`);
  return out.sort();
}

const LLONG_MIN = '-9223372036854775808';
const LLONG_MAX = '9223372036854775807';
const ULLONG_MAX = '18446744073709551615';
const up = (v: string): string => v.toUpperCase();

/** Good and bad values of each type (all but a few parameters, given below). */
function valuesFor(p: ParamDef): string[] {
  const junk = ['', ' ', 'x', '__probe__', 'yes\0'];
  switch (p.type) {
    case 'bool':
      return ['yes', 'no', 'YES', 'No', 'nO', 'maybe', '1', 'true', 'yes ', ' no', ...junk];
    case 'enum': {
      const v = p.values!;
      const out = [...v, ...v.map(up), 'bogus', `${v[0]} ${v[1]}`, ...junk];
      if (p.multi) {
        for (const a of v) for (const b of v) out.push(`${a} ${b}`);
        out.push(v.join(' '), [...v].reverse().join(' '), `${v[1]}  ${v[2]}`, ` ${v[1]}`, `${v[1]} `, `${up(v[3]!)} ${v[4]}`, `${v[3]} bogus`);
      }
      return out;
    }
    case 'integer':
    case 'memory': {
      const min = BigInt(p.min!);
      const max = BigInt(p.max!);
      const out = [p.min!, p.max!, String(min - 1n), String(max + 1n), String(min + 1n), String(max - 1n), '0', '-0', '1', '-1', '+1', ' 1', '1 ', '1.5', '0x10', '007', '1e3'];
      out.push(LLONG_MIN, LLONG_MAX, ULLONG_MAX, '99999999999999999999', '-99999999999999999999', '50%', '0%', '100%', '101%', '-1%', '%', '1%%', `${LLONG_MAX}%`);
      out.push('1k', '1kb', '1KB', '1Kb', '1K', '1m', '1mb', '1MB', '1g', '1gb', '1GB', '1b', '1B', 'kb', '1.5mb', '5 b', '5bb', '-5kb', '18446744073709551615kb', '17179869184gb', '64\0junk');
      out.push(...junk);
      return out;
    }
    case 'string':
      return ['probe', 'a b', '{x}', 'a/b', 'x'.repeat(300), 'x'.repeat(255), 'x'.repeat(256), '{title} x', '{port}', '{server-mode}', '{unixsocket}', '{{', '}', '{title', 'a.b-c', 'a_b', 'nul\0after', ...junk];
    case 'special':
      return SPECIAL_VALUES[p.name] ?? junk;
  }
}

const SPECIAL_VALUES: Record<string, string[]> = {
  save: ['', ' ', '  ', '3600', '3600 1 300 100', '0 1', '1 0', '1 -1', '+5 1', ' 5 1', '5  1', '1 4294967297', '1 2147483648', '99999999999999999999 1', '1 99999999999999999999', '5x 1', '1.5 1', `${LLONG_MAX} 1`, '-5 1', '\t5 1', '5 1 ', 'x', '1 2 3 4 5 6 7 8'],
  'client-output-buffer-limit': [
    '', 'normal 0 0 0', 'normal 1gb 512mb 60', 'NORMAL 1gb 1gb 0', 'slave 1 2 3', 'replica 1mb 2mb 3', 'pubsub 1 2 3', 'PUBSUB 1kb 2KB 3',
    'master 1 2 3', 'bogus 1 2 3', 'pubsub 1 2', 'pubsub 1 2 -1', 'pubsub 1 2 x', 'pubsub -1 2 3', 'pubsub 1 2 4294967297', 'pubsub 1 2 99999999999999999999',
    'pubsub 1 2 +3', 'pubsub 1 2  3', 'pubsub 1 2 3 ', 'pubsub 1 2 3 bogus 1 2 3', 'slave 0 0 0 slave 5 5 5', 'pubsub 1.5mb 1 1', 'pubsub 1 1 ""', 'x',
  ],
  'oom-score-adj-values': ['', '1 2', '1 2 3', '0 200 800', '-2001 0 0', '1 2 x', '+1 2 3', '1 2 3 4', '99999999999999999999 0 0', '2000 -2000 0', '5 4 3', ' 1 2', '1  2 3', 'x'],
  'notify-keyspace-events': [
    '', 'A', 'K', 'E', 'KEA', 'g$lshzxetdmn', 'Ag$lshzxeKEtmdn', 'n', 'm', 'KA', 'AK', 'gg', 'x', 'd', 't', 'e', 'xe', 'A n', 'p', 'Kg$', 'An', 'g$lshzxetd',
    'g$lshzxet', 'ng', 'nK', 'mE', 'Em', 'nm', 'tdn', 'dt', 'edn', 'EK', 'zhslg', 'a', ' ', 'K\0x',
  ],
  'latency-tracking-info-percentiles': [
    '', '50', '50 99.9', '1e2', '0x10', ' 50', '50  99', '100.0000001', '99.99999999', '0.0000001', 'inf', 'nan', '-0', '1.5e1', '12345678901234567890',
    '3.14159265358979', '0.0078125', '0.0234375', '0.0000005', '1e-400', '1e400', '-1', '100', '0', '50 x', 'x 50', '50 101', '0x1p3', '.5', '5.', '50 99 99.9',
  ],
  // (Others make redis-server close its listener and listen again, which another process may race for.)
  bind: [Array.from({ length: 17 }, () => '127.0.0.1').join(' ')],
  dir: ['/tmp', '', 'x'],
  replicaof: ['no one', '127.0.0.1 1', ''],
};

/** Parameters whose values here would move redis-server elsewhere or cut the connection: their safe values only. */
const SAFE_VALUES: Record<string, (own: string) => string[]> = {
  port: (own) => [own, 'x', '-1', '65536', '', LLONG_MIN, '1.5'],
  maxclients: () => ['5000', '10000', '0', '-1', '4294967296', 'x', '', LLONG_MAX],
  timeout: () => ['0', '2147483647', '2147483648', '100000', '-1', 'x', '', '1.5', '+5', '007'],
  'maxmemory-clients': () => ['0', '50%', '100%', '101%', '0%', '-1', 'x', LLONG_MAX, '1gb', ULLONG_MAX, '-1%', '', '1.5%', `${LLONG_MAX}%`],
  requirepass: () => [''],
};

/** Parameters raftis answers for itself: the SET's reply is compared, the value read back is raftis's own. */
const FIXED = new Set(TABLE.filter((p) => p.raftis === 'fixed').map((p) => p.name));

let compared = 0;

describe.each([2, 3] as const)('CONFIG GET by name (RESP%i)', (proto) => {
  let a: RawClient;
  let b: RawClient;
  beforeAll(async () => {
    [a, b] = await pair(proto);
  });

  it('lists the same names as CONFIG GET * (every one of them in the table)', async () => {
    const ra = pairsOf(await a.call('CONFIG', 'GET', '*')).map((x) => x.split('=')[0]);
    const rb = pairsOf(await b.call('CONFIG', 'GET', '*')).map((x) => x.split('=')[0]);
    expect(rb).toEqual(ra);
    expect([...rb].sort()).toEqual([...ALL_NAMES].sort());
  });

  it.each(ALL_NAMES)('%s', async (name) => {
    if (OWN.has(name)) {
      const own = name === 'port' ? String(raftis.port) : path.resolve(raftis.dir);
      const bulk = (s: string): string => `$${s.length}\r\n${s}\r\n`;
      expect(await b.call('CONFIG', 'GET', name)).toBe((proto === 3 ? '%1\r\n' : '*2\r\n') + bulk(name) + bulk(own));
      return;
    }
    await same(a, b, 'CONFIG', 'GET', name);
    await same(a, b, 'CONFIG', 'GET', name.toUpperCase());
    compared += 2;
  });
});

describe.each([2, 3] as const)('CONFIG GET patterns (RESP%i)', (proto) => {
  it('answers the same pairs', async () => {
    const [a, b] = await pair(proto);
    for (const pats of [
      ['*'], ['hash-*'], ['*max*'], ['[t]imeout'], ['TIME*'], ['*slave*'], ['nosuch*'], ['?z'], ['*-ziplist-*'],
      ['timeout', 'TIME*'], ['TIMEOUT', 'timeout'], ['timeout', 'timeout'], ['slaveof', 'replicaof'], ['nosuch', 'timeout'], ['nosuch'], ['maxmemory*', 'max*', '*policy'],
      ['hash-max-ziplist-entries', 'hash-max-listpack-entries'], ['*ziplist*', 'HASH-MAX-ZIPLIST-ENTRIES'], ['HASH-MAX-ZIPLIST-ENTRIES', '*ziplist*'],
    ]) {
      const [ra, rb] = [await a.call('CONFIG', 'GET', ...pats), await b.call('CONFIG', 'GET', ...pats)];
      const mask = (xs: string[]): string[] => xs.map((x) => x.replace(/^(port|dir)=.*/, '$1=OWN'));
      expect(mask(pairsOf(rb)), pats.join(' ')).toEqual(mask(pairsOf(ra)));
      expect(rb.slice(0, rb.indexOf('\r\n')), pats.join(' ')).toBe(ra.slice(0, ra.indexOf('\r\n')));
      compared++;
    }
    for (const cmd of [['CONFIG', 'GET'], ['CONFIG', 'HELP'], ['CONFIG'], ['CONFIG', 'NOSUCH'], ['CONFIG', 'REWRITE']]) await same(a, b, ...cmd);
  });
});

describe.each([2, 3] as const)('CONFIG SET values of every type (RESP%i)', (proto) => {
  let a: RawClient;
  let b: RawClient;
  beforeAll(async () => {
    [a, b] = await pair(proto);
  });

  it.each(TABLE.map((p) => [p.name, p] as const))('%s', async (name, p) => {
    const [origA, origB] = [await valueOf(a, name), await valueOf(b, name)];
    const values = SAFE_VALUES[name]?.(origA) ?? valuesFor(p);
    for (const v of values) {
      if (name === 'port' && v === origA) {
        expect(await a.call('CONFIG', 'SET', name, origA)).toBe('+OK\r\n');
        expect(await b.call('CONFIG', 'SET', name, origB)).toBe('+OK\r\n');
        continue;
      }
      await same(a, b, 'CONFIG', 'SET', name, v);
      compared++;
      if (FIXED.has(name)) expect(await valueOf(b, name)).toBe(origB);
      else {
        await same(a, b, 'CONFIG', 'GET', name);
        compared++;
      }
    }
    // Back to where each started (raftis's fixed values are its own; bind is not set again on redis-server).
    if (name !== 'bind') expect(await a.call('CONFIG', 'SET', name, origA)).toMatch(/^\+OK|^-ERR CONFIG SET failed .* - can't set (immutable|protected) config/);
    expect(await b.call('CONFIG', 'SET', name, origB)).toMatch(/^\+OK|^-ERR CONFIG SET failed .* - can't set (immutable|protected) config/);
    expect(await valueOf(b, name)).toBe(origB);
  });
});

describe.each([2, 3] as const)('CONFIG SET several parameters (RESP%i)', (proto) => {
  it('all or none, with redis-server errors', async () => {
    const [a, b] = await pair(proto);
    const steps: string[][] = [
      ['CONFIG', 'SET', 'timeout', '10', 'maxmemory', 'bogus'],
      ['CONFIG', 'SET', 'timeout', '10', 'nosuch', '1'],
      ['CONFIG', 'SET', 'nosuch', '1', 'daemonize', 'yes'],
      ['CONFIG', 'SET', 'daemonize', 'yes', 'nosuch', '1'],
      ['CONFIG', 'SET', 'DAEMONIZE', 'yes'],
      ['CONFIG', 'SET', 'Daemonize', 'maybe', 'timeout', 'x'],
      ['CONFIG', 'SET', 'timeout', '1', 'TIMEOUT', '2'],
      ['CONFIG', 'SET', 'timeout', 'x', 'timeout', '2'],
      ['CONFIG', 'SET', 'timeout', '5', 'timeout', '6', 'nosuch', '1'],
      ['CONFIG', 'SET', 'nosuch', '1', 'other', '2'],
      ['CONFIG', 'SET', 'dir', '/tmp', 'timeout', 'x'],
      ['CONFIG', 'SET', 'timeout', 'x', 'dir', '/tmp'],
      ['CONFIG', 'SET', 'dbfilename', 'a.rdb'],
      ['CONFIG', 'SET', 'tls-replication', 'yes', 'timeout', 'x'],
      ['CONFIG', 'SET', 'timeout', 'x', 'tls-replication', 'yes'],
      ['CONFIG', 'SET', 'tls-replication', 'yes', 'timeout', '5'],
      ['CONFIG', 'SET', 'Timeout', '5', 'tls-port', '1234', 'hz', '20'],
      ['CONFIG', 'SET', 'activedefrag', 'yes', 'timeout', '5'],
      ['CONFIG', 'SET', 'TIMEOUT', 'x'],
      ['CONFIG', 'SET', 'HASH-MAX-ZIPLIST-ENTRIES', 'x'],
      ['CONFIG', 'SET', 'hash-max-ziplist-entries', '10', 'hash-max-listpack-entries', '20'],
      ['CONFIG', 'GET', 'hash-max-ziplist-entries'],
      ['CONFIG', 'SET', 'hash-max-listpack-entries', '30', 'hash-max-ziplist-entries', '40'],
      ['CONFIG', 'GET', 'hash-max-listpack-entries'],
      ['CONFIG', 'SET', 'save', '100 1', 'save', '200 2'],
      ['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1 2 3', 'client-output-buffer-limit', 'slave 4 5 6'],
      ['CONFIG', 'GET', 'client-output-buffer-limit'],
      ['CONFIG', 'SET', 'latency-tracking-info-percentiles', '1 2', 'timeout', 'x'],
      ['CONFIG', 'GET', 'latency-tracking-info-percentiles'],
      ['CONFIG', 'SET', 'timeout', '7', 'maxmemory', '1mb', 'maxmemory-policy', 'allkeys-lru', 'hz', '1000'],
      ['CONFIG', 'GET', 'timeout'],
      ['CONFIG', 'GET', 'maxmemory'],
      ['CONFIG', 'GET', 'maxmemory-policy'],
      ['CONFIG', 'GET', 'hz'],
      ['CONFIG', 'SET', 'timeout', '8', 'maxmemory', '2mb', 'maxmemory-policy', 'bogus'],
      ['CONFIG', 'GET', 'timeout'],
      ['CONFIG', 'GET', 'maxmemory'],
      ['CONFIG', 'SET', 'timeout', '1', 'foo'],
      ['CONFIG', 'SET', 'timeout'],
      ['CONFIG', 'SET'],
      ['CONFIG', 'SET', 'requirepass', '', 'masterauth', 'secret'],
      ['CONFIG', 'SET', 'timeout', '0', 'maxmemory', '0', 'maxmemory-policy', 'noeviction', 'hz', '10', 'hash-max-listpack-entries', '512', 'save', '', 'masterauth', ''],
      ['CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60', 'latency-tracking-info-percentiles', '50 99 99.9'],
    ];
    for (const s of steps) {
      await same(a, b, ...s);
      compared++;
    }
  });
});

describe.each([2, 3] as const)('aliases (RESP%i)', (proto) => {
  const pairs = TABLE.filter((p) => p.aliases.length > 0 && !p.flags.includes('immutable')).flatMap((p) => p.aliases.map((al) => [p, al] as const));

  it.each(pairs.map(([p, al]) => [`${al} / ${p.name}`, p, al] as const))('%s', async (_label, p, al) => {
    const [a, b] = await pair(proto);
    const orig = await valueOf(a, p.name);
    const v = valuesFor(p).find((x) => x !== orig && /^[a-z0-9]+$/.test(x) && !['x', 'maybe', 'bogus', 'true', '1'].includes(x) && !x.includes('probe'))!;
    for (const [set, get] of [
      [al, p.name],
      [p.name, al],
      [al.toUpperCase(), al],
    ] as const) {
      await same(a, b, 'CONFIG', 'SET', set, v);
      // replica-read-only describes raftis (followers refuse writes): it stays yes.
      if (FIXED.has(p.name)) expect(await valueOf(b, get)).toBe(orig);
      else await same(a, b, 'CONFIG', 'GET', get);
      await same(a, b, 'CONFIG', 'SET', set, 'bad value');
      await same(a, b, 'CONFIG', 'SET', get, orig);
      await same(a, b, 'CONFIG', 'GET', set);
      compared += 5;
    }
  });

  it('replicaof / slaveof (immutable)', async () => {
    const [a, b] = await pair(proto);
    for (const name of ['replicaof', 'slaveof', 'SLAVEOF']) {
      await same(a, b, 'CONFIG', 'GET', name);
      await same(a, b, 'CONFIG', 'SET', name, 'no one');
    }
  });
});

describe.each([2, 3] as const)('the CONFIG SETs clients send at start-up (RESP%i)', (proto) => {
  const startup: [string, string][] = [
    ['hash-max-ziplist-entries', '64'],
    ['set-max-intset-entries', '64'],
    ['zset-max-ziplist-entries', '64'],
    ['list-max-ziplist-size', '-1'],
    ['notify-keyspace-events', 'KEA'],
    ['repl-ping-replica-period', '5'],
    ['save', ''],
    ['maxmemory-policy', 'allkeys-lru'],
    ['appendonly', 'yes'],
    ['maxmemory', '100mb'],
    ['hash-max-ziplist-value', '1kb'],
  ];

  it('each one, then all at once, then back', async () => {
    const [a, b] = await pair(proto);
    const orig = new Map<string, [string, string]>();
    for (const [n] of startup) orig.set(n, [await valueOf(a, n), await valueOf(b, n)]);
    for (const [n, v] of startup) {
      expect(await same(a, b, 'CONFIG', 'SET', n, v), `${n} ${v}`).toBe('+OK\r\n');
      await same(a, b, 'CONFIG', 'GET', n);
    }
    expect(await same(a, b, 'CONFIG', 'SET', ...startup.flat())).toBe('+OK\r\n');
    for (const [n, [oa, ob]] of orig) {
      expect(await a.call('CONFIG', 'SET', n, oa)).toBe('+OK\r\n');
      expect(await b.call('CONFIG', 'SET', n, ob)).toBe('+OK\r\n');
    }
  });
});

describe('sensitive values', () => {
  it('are hidden from SLOWLOG as redis-server hides them', async () => {
    const [a, b] = await pair(2);
    await same(a, b, 'CONFIG', 'SET', 'slowlog-log-slower-than', '0');
    await same(a, b, 'SLOWLOG', 'RESET');
    for (const s of [
      ['CONFIG', 'SET', 'masterauth', 'secret'],
      ['CONFIG', 'SET', 'masteruser', 'u', 'timeout', 'x', 'requirepass', ''],
      ['CONFIG', 'SET', 'nosuch', 'x', 'masterauth', 'again'],
      ['CONFIG', 'SET', 'masterauth', ''],
      ['CONFIG', 'SET', 'masteruser', ''],
    ]) {
      await same(a, b, ...s);
    }
    const logged = async (c: RawClient): Promise<string[][]> =>
      replyItems(parseReply(await c.call('SLOWLOG', 'GET', '-1'))[0]).map((e) => replyItems(replyItems(e)[3]!).map(replyValue));
    expect(await logged(b)).toEqual(await logged(a));
    await same(a, b, 'CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
  });
});

describe('raftis answers for itself', () => {
  it('appendonly, appendfsync, databases, cluster-enabled, port and dir describe raftis', async () => {
    const c = await RawClient.connect(raftis.port);
    conns.push(c);
    expect(await c.call('CONFIG', 'SET', 'appendonly', 'no', 'appendfsync', 'everysec')).toBe('+OK\r\n');
    expect(await valueOf(c, 'appendonly')).toBe('yes');
    expect(await valueOf(c, 'appendfsync')).toBe('always');
    expect(await valueOf(c, 'databases')).toBe('16');
    expect(await valueOf(c, 'cluster-enabled')).toBe('yes');
    expect(await valueOf(c, 'save')).toBe('');
    expect(await c.call('CONFIG', 'SET', 'port', String(raftis.port + 1))).toBe(
      "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n",
    );
    expect(await c.call('CONFIG', 'SET', 'bind', '0.0.0.0')).toBe("-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n");
    expect(await c.call('CONFIG', 'SET', 'bind', '127.0.0.1', 'port', String(raftis.port))).toBe('+OK\r\n');
  });
});

describe('ioredis redis.config()', () => {
  it('gets and sets as against redis-server', async () => {
    const clients = [new Redis({ port: redis.port, host: '127.0.0.1' }), new Redis({ port: raftis.port, host: '127.0.0.1' })];
    try {
      const run = async (r: Redis): Promise<unknown[]> => {
        const out: unknown[] = [];
        const call = async (...args: [string, ...string[]]): Promise<void> => {
          out.push(await (r.config as (...a: string[]) => Promise<unknown>)(...args).catch((e: Error) => `error: ${e.message}`));
        };
        await call('SET', 'hash-max-ziplist-entries', '64');
        await call('GET', 'hash-max-ziplist-entries');
        await call('GET', 'hash-max-listpack-entries');
        await call('SET', 'maxmemory-policy', 'allkeys-lru');
        await call('SET', 'notify-keyspace-events', 'Ex');
        await call('GET', 'notify-keyspace-events');
        await call('SET', 'save', '');
        await call('SET', 'maxmemory', '64mb', 'maxmemory-clients', '10%');
        await call('GET', 'maxmemory');
        await call('GET', 'maxmemory-clients');
        await call('SET', 'maxmemory', 'lots');
        await call('SET', 'nosuch', '1');
        await call('SET', 'databases', '4');
        await call('GET', 'maxmemory-policy');
        await call('SET', 'hash-max-ziplist-entries', '512', 'maxmemory-policy', 'noeviction', 'notify-keyspace-events', '', 'maxmemory', '0', 'maxmemory-clients', '0');
        return out;
      };
      const [ra, rb] = [await run(clients[0]!), await run(clients[1]!)];
      expect(rb).toEqual(ra);
      expect(ra).toContainEqual(['hash-max-listpack-entries', '64']);
      compared += ra.length;
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});

describe('count', () => {
  it('compared replies', () => {
    // Printed for the record; each comparison above is its own assertion.
    console.log(`config differential: ${compared} replies compared`);
    expect(compared).toBeGreaterThan(0);
  });
});
