/**
 * INFO stats keyspace_hits / keyspace_misses count as redis-server counts
 * them (lookupKeyRead: read lookups, and the source keys some writes read;
 * not write lookups, SCAN, KEYS, MEMORY USAGE). The same commands go to both
 * servers; after each one the change of both counters must match.
 *
 * expired_keys counts keys deleted because their TTL passed. Where Redis
 * deletes an expired key on access, raftis may delete it later (a read never
 * deletes; the leader's expiry cycle proposes the delete): the counts must
 * agree once both servers have settled.
 */
import { describe, expect, it } from 'vitest';
import { useProcessDifferential } from '../helpers/process-differential.js';
import type { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

const SETUP = [
  ['SET', 's', 'hello'],
  ['SET', 'n', '10'],
  ['HSET', 'h', 'f', 'v', 'g', 'w'],
  ['RPUSH', 'l', 'a', 'b', 'c'],
  ['SADD', 'st', 'a', 'b'],
  ['SADD', 'st2', 'b', 'c'],
  ['ZADD', 'z', '1', 'a', '2', 'b'],
  ['SET', 'ttl', 'x', 'EX', '1000'],
];

// Hits and misses, existing and missing keys, wrong types, reads and writes.
const SCRIPT = [
  ['GET', 's'], ['GET', 'missing'], ['GET', 'h'], ['MGET', 's', 'missing', 'n'], ['STRLEN', 's'], ['GETRANGE', 'missing', '0', '1'],
  ['EXISTS', 's', 'missing', 'h'], ['TOUCH', 's', 'missing'], ['TYPE', 's'], ['TYPE', 'missing'],
  ['TTL', 'ttl'], ['PTTL', 'missing'], ['EXPIRETIME', 's'],
  ['HGET', 'h', 'f'], ['HGETALL', 'missing'], ['HLEN', 'h'], ['HEXISTS', 'h', 'x'], ['HRANDFIELD', 'h'],
  ['LRANGE', 'l', '0', '-1'], ['LLEN', 'missing'], ['LINDEX', 'l', '0'], ['LPOS', 'l', 'b'],
  ['SMEMBERS', 'st'], ['SISMEMBER', 'st', 'a'], ['SCARD', 'missing'], ['SINTER', 'st', 'st2'], ['SUNION', 'st', 'missing'], ['SDIFF', 'st', 'st2'],
  ['SRANDMEMBER', 'st'], ['SMISMEMBER', 'st', 'a', 'z'],
  ['ZSCORE', 'z', 'a'], ['ZRANGE', 'z', '0', '-1'], ['ZCARD', 'missing'], ['ZRANK', 'z', 'b'], ['ZCOUNT', 'z', '-inf', '+inf'], ['ZRANDMEMBER', 'z'],
  ['GETBIT', 's', '1'], ['BITCOUNT', 'missing'], ['BITPOS', 's', '1'],
  ['OBJECT', 'ENCODING', 's'], ['OBJECT', 'ENCODING', 'missing'], ['MEMORY', 'USAGE', 's'],
  ['SCAN', '0'], ['SCAN', '0', 'TYPE', 'string'], ['KEYS', '*'], ['RANDOMKEY'], ['DBSIZE'],
  ['SINTERSTORE', 'dst', 'st', 'st2'], ['SUNIONSTORE', 'dst', 'st', 'missing'], ['SDIFFSTORE', 'dst', 'st', 'st2'],
  ['ZUNIONSTORE', 'dz', '2', 'z', 'missing'], ['ZINTER', '2', 'z', 'z'], ['ZRANGESTORE', 'dz', 'z', '0', '-1'],
  ['GETSET', 's', 'v2'], ['SET', 's', 'v3', 'GET'], ['GETDEL', 'missing'], ['GETEX', 's'], ['SETNX', 's', 'x'],
  ['APPEND', 's', 'x'], ['INCR', 'n'], ['SETRANGE', 's', '1', 'y'], ['DEL', 'missing'], ['COPY', 's', 's2'], ['RENAME', 's2', 's3'],
  ['LMOVE', 'l', 'l2', 'LEFT', 'RIGHT'], ['SMOVE', 'st', 'st2', 'a'], ['HSETNX', 'h', 'f', 'x'], ['HINCRBY', 'h', 'k', '1'],
  ['ZADD', 'z', '3', 'c'], ['ZINCRBY', 'z', '1', 'a'], ['LPUSHX', 'missing', 'v'], ['EXPIRE', 's', '100'], ['PERSIST', 's'],
  ['SPOP', 'missing'], ['LPOP', 'l'], ['HDEL', 'h', 'g'], ['SREM', 'st2', 'c'], ['ZREM', 'z', 'b'],
];

// Each case: commands, with 'SLEEP ms' steps in between; then expired_keys must change alike.
const EXPIRY_CASES: string[][][] = [
  [['SET', 'e1', 'v', 'PX', '30']],
  Array.from({ length: 40 }, (_, i) => ['SET', `e2:${i}`, 'v', 'PX', '30']),
  [['SET', 'e3', 'v', 'PX', '30'], ['SLEEP', '60'], ['SET', 'e3', 'w']],
  [['SET', 'e4', 'v', 'PX', '30'], ['SLEEP', '60'], ['GET', 'e4']],
  [['SET', 'e5', 'v', 'PX', '30'], ['SLEEP', '60'], ['DEL', 'e5']],
  [['SET', 'e6', 'v', 'EX', '100'], ['PERSIST', 'e6']],
  [['SET', 'e7', 'v'], ['EXPIRE', 'e7', '0']],
  [['SET', 'e8', 'v', 'PXAT', '1']],
  [['SET', 'e9', 'v'], ['GETEX', 'e9', 'PXAT', '1']],
  [['SET', 'e10', 'v', 'PX', '30'], ['SLEEP', '60'], ['APPEND', 'e10', 'x']],
  [['HSET', 'e11', 'f', 'v'], ['PEXPIRE', 'e11', '30'], ['SLEEP', '60'], ['HSET', 'e11', 'g', 'w']],
  [['SET', 'e12', 'v', 'PX', '30'], ['SLEEP', '60'], ['RENAME', 'e12', 'e12b']],
  [['SET', 'e13', 'v', 'PX', '30'], ['SLEEP', '60'], ['EXISTS', 'e13']],
  // Overwritten well before it expires (PX 30 raced the next command on a loaded machine: expired on one server, not the other).
  [['SET', 'e14', 'v', 'PX', '10000'], ['SET', 'e14', 'w']],
  [['SET', 'e15', 'v', 'PX', '30'], ['SET', 'e15b', 'v', 'PX', '30'], ['SLEEP', '60'], ['MSET', 'e15', 'w', 'e15b', 'w', 'e15c', 'w']],
  [['SET', 'e16', 'v', 'EXAT', '1', 'GET']],
];

async function expiredKeys(c: RawClient): Promise<number> {
  const info = await c.call('INFO', 'stats');
  return Number(/^expired_keys:(\d+)/m.exec(info)?.[1] ?? 'NaN');
}

async function counters(c: RawClient): Promise<[number, number]> {
  const info = await c.call('INFO', 'stats');
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 'NaN');
  return [field('keyspace_hits'), field('keyspace_misses')];
}

describe('INFO stats keyspace_hits and keyspace_misses', () => {
  it('change as redis-server\'s do, command by command', async () => {
    const [a, b] = await env.pair();
    for (const cmd of SETUP) {
      await a.call(...cmd);
      await b.call(...cmd);
    }
    const mismatches: string[] = [];
    for (const cmd of SCRIPT) {
      const [ra, rb] = [await counters(a), await counters(b)];
      // Replies are compared elsewhere (set order and random picks differ here by design); both must answer.
      await a.call(...cmd);
      await b.call(...cmd);
      const [ra2, rb2] = [await counters(a), await counters(b)];
      const da = `${ra2[0] - ra[0]} hits, ${ra2[1] - ra[1]} misses`;
      const db = `${rb2[0] - rb[0]} hits, ${rb2[1] - rb[1]} misses`;
      if (da !== db) mismatches.push(`${cmd.join(' ')}: redis-server ${da}, raftis ${db}`);
    }
    expect(mismatches).toEqual([]);
    const [ta, tb] = [await counters(a), await counters(b)];
    expect(ta[0] + ta[1]).toBeGreaterThan(50); // the script exercised the counters
    expect(tb).toEqual(ta);
    // CONFIG RESETSTAT clears both, as redis-server's does.
    expect(await b.call('CONFIG', 'RESETSTAT')).toBe(await a.call('CONFIG', 'RESETSTAT'));
    expect(await counters(b)).toEqual(await counters(a));
    expect(await counters(b)).toEqual([0, 0]);
  });

  it('expired_keys changes as redis-server\'s does, once both have settled', async () => {
    const [a, b] = await env.pair();
    const mismatches: string[] = [];
    for (const steps of EXPIRY_CASES) {
      const [ea, eb] = [await expiredKeys(a), await expiredKeys(b)];
      for (const cmd of steps) {
        if (cmd[0] === 'SLEEP') {
          await new Promise((r) => setTimeout(r, Number(cmd[1])));
          continue;
        }
        await a.call(...cmd);
        await b.call(...cmd);
      }
      // Settled: both servers' key counts agree and stay put over two looks 150 ms apart (bounded).
      let da = -1;
      let db = -2;
      const deadline = Date.now() + 3000;
      for (let prev = ''; Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 150));
        da = (await expiredKeys(a)) - ea;
        db = (await expiredKeys(b)) - eb;
        const now = `${da} ${db} ${await a.call('DBSIZE')} ${await b.call('DBSIZE')}`;
        if (da === db && now === prev) break;
        prev = now;
      }
      if (da !== db) mismatches.push(`${steps.map((c) => c.join(' ')).join('; ')}: redis-server ${da}, raftis ${db}`);
    }
    expect(mismatches).toEqual([]);
    const total = await expiredKeys(a);
    expect(total).toBeGreaterThan(40); // the cases did expire keys
    expect(await expiredKeys(b)).toBe(total);
    expect(await b.call('CONFIG', 'RESETSTAT')).toBe(await a.call('CONFIG', 'RESETSTAT'));
    expect(await expiredKeys(b)).toBe(0);
    expect(await expiredKeys(a)).toBe(0);
  });
});
