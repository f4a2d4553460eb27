/**
 * Lua scripting against a standalone redis-server 7.0 (what a raftis of one
 * voter is for scripts: no slot rule; the rules of a cluster of several are
 * compared in scripting-slots.test.ts): the VM evaluation's 94 probes,
 * EVAL / EVALSHA / SCRIPT errors and routing rules, and a seeded generator
 * of scripts over the Lua↔RESP conversion rules, in RESP2 and RESP3, replies
 * compared byte for byte. math.random is reseeded per script by raftis (the
 * probes that depend on it are checked for shape only; the rule itself is
 * tested in test/integration/scripting-cluster.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { createPrng, randomInt } from '../../src/util/prng.js';
import { sha1hex } from '../../src/util/lua/vm.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import type { RawClient } from '../helpers/raw-client.js';
import { probes } from './scripting-probes.js';

const env = useProcessDifferential();
/** A connection to each server in `proto`. */
const pair = (proto: 2 | 3): Promise<[RawClient, RawClient]> => env.pair(proto);

/** Runs each command on both; the mismatching replies. */
async function compare(a: RawClient, b: RawClient, cmds: readonly string[][]): Promise<{ cmd: string; redis: string; raftis: string }[]> {
  const out: { cmd: string; redis: string; raftis: string }[] = [];
  for (const cmd of cmds) {
    const [ra, rb] = [await a.call(...cmd), await b.call(...cmd)];
    if (ra !== rb) out.push({ cmd: JSON.stringify(cmd), redis: ra, raftis: rb });
  }
  return out;
}

const SHA42 = sha1hex('return 42');
const Z40 = '0'.repeat(40);

/** Errors and rules of EVAL, EVALSHA and SCRIPT, run in order on one connection. */
const COMMANDS: string[][] = [
  ['EVAL'],
  ['EVAL', 'return 1'],
  ['EVAL', 'return 1', 'x'],
  ['EVAL', 'return 1', '-1'],
  ['EVAL', 'return 1', '2', 'a'],
  ['EVAL', 'return 1', '99999999999999999999'],
  ['EVALSHA', 'abc', '0'],
  ['EVALSHA', Z40, '0'],
  ['EVALSHA_RO', Z40, '0'],
  ['EVAL', 'return +', '0'],
  ['SCRIPT', 'LOAD', 'return +'],
  ['SCRIPT', 'LOAD', 'return 42'],
  ['EVALSHA', SHA42.toUpperCase(), '0'],
  ['EVALSHA_RO', SHA42, '0'],
  ['SCRIPT', 'EXISTS', SHA42, SHA42.toUpperCase(), 'nope'],
  ['SCRIPT', 'FLUSH', 'x'],
  ['SCRIPT', 'FLUSH', 'SYNC', 'x'],
  ['SCRIPT', 'FLUSH', 'ASYNC'],
  ['EVALSHA', SHA42, '0'],
  ['SCRIPT', 'EXISTS', SHA42],
  ['SCRIPT', 'LOAD', 'return 42'],
  ['SCRIPT', 'FLUSH'],
  ['SCRIPT', 'EXISTS', SHA42],
  ['SCRIPT', 'KILL'],
  ['SCRIPT', 'HELP'],
  ['SCRIPT'],
  ['SCRIPT', 'NOPE'],
  ['SCRIPT', 'LOAD'],
  ['EVAL', '#!lua\nreturn 1', '0'],
  ['EVAL', '#!lua flags=no-writes\nreturn 1', '0'],
  ['EVAL', '#!lua flags=no-writes,allow-oom,allow-stale\nreturn 1', '0'],
  ['EVAL', '#!lua flags=\nreturn 1', '0'],
  ['EVAL', '#!lua flags=bogus\nreturn 1', '0'],
  ['EVAL', '#!python\nreturn 1', '0'],
  ['EVAL', '#!lua foo=bar\nreturn 1', '0'],
  ['EVAL', '#!lua', '0'],
  ['EVAL', '#!lua flags=no-cluster\nreturn 1', '0'],
  ['EVAL', '#!lua\nreturn x +', '0'],
  ['EVAL_RO', '#!lua\nreturn 1', '0'],
  ['EVAL_RO', '#!lua flags=no-writes\nreturn redis.call(\'get\', KEYS[1])', '1', 'k'],
  ['EVAL_RO', "return redis.call('set', KEYS[1], 'v')", '1', 'k'],
  ['EVAL', "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'v')", '1', 'k'],
  ['EVAL_RO', "return redis.pcall('publish', 'ch', 'm')", '0'],
  ['EVAL', "return redis.call('eval', 'return 1', '0')", '0'],
  ['EVAL', "return redis.call('script', 'load', 'return 1')", '0'],
  ['EVAL', "return redis.call('script', 'nope')", '0'],
  ['EVAL', "return redis.call('script')", '0'],
  ['EVAL', 'return 1', '2', 'a', 'b'],
  ['EVALSHA', Z40, '2', 'a', 'b'],
  ['EVAL', 'return 1', '2', '{a}1', '{a}2'],
  ['EVAL', "#!lua\nredis.call('set', 'a', '1') return redis.call('set', 'b', '1')", '0'],
  ['EVAL', "#!lua\nreturn redis.call('get', 'b')", '1', 'a'],
  ['EVAL', "#!lua flags=allow-cross-slot-keys\nreturn redis.call('get', 'b')", '1', 'a'],
  ['EVAL', "redis.call('set', 'a', '1') return redis.call('set', 'b', '1')", '0'],
  ['EVAL', "return redis.call('mset', 'a', '1', 'b', '2')", '0'],
  ['EVAL', "return redis.call('mset', '{a}1', '1', '{a}2', '2')", '0'],
  ['EVAL', "return redis.pcall('mget', 'a', 'b')", '0'],
  ['EVAL', "return {redis.call('ping'), redis.call('ping', 'x'), redis.call('echo', 'e')}", '0'],
  ['EVAL', "return redis.call('blpop', 'nolist', 0)", '1', 'nolist'],
  ['EVAL', "redis.call('rpush', 'l', 'x') return redis.call('blpop', 'l', 0)", '1', 'l'],
  // Blocking commands inside scripts: Redis 7.0 flags BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BZPOPMIN/MAX noscript
  // (refused); BLMPOP and BZMPOP run as their non-blocking forms, whatever the timeout.
  ['EVAL', "return redis.call('brpoplpush', KEYS[1], KEYS[2], 0)", '2', '{q}wait', '{q}active'],
  ['EVAL', "redis.call('lpush', KEYS[1], 'j1', 'j2') return {redis.call('brpoplpush', KEYS[1], KEYS[2], 5), redis.call('lrange', KEYS[2], 0, -1)}", '2', '{q}wait', '{q}active'],
  ['EVAL', "return {redis.call('blmove', KEYS[1], KEYS[2], 'RIGHT', 'LEFT', 0.5), redis.call('blmove', KEYS[1], KEYS[2], 'LEFT', 'RIGHT', 0)}", '2', '{q}wait', '{q}active'],
  ['EVAL', "return redis.call('blmpop', 0, 2, KEYS[1], KEYS[2], 'LEFT', 'COUNT', 5)", '2', '{q}wait', '{q}active'],
  ['EVAL', "return redis.call('blmpop', 0, 1, KEYS[1], 'LEFT')", '1', '{q}wait'],
  ['EVAL', "redis.call('zadd', KEYS[1], 1, 'a') return {redis.call('bzpopmin', KEYS[1], 0), redis.call('bzpopmax', KEYS[1], 1)}", '1', '{q}z'],
  ['EVAL', "return redis.call('bzmpop', 0, 1, KEYS[1], 'MIN')", '1', '{q}z'],
  ['EVAL', "return redis.pcall('brpoplpush', KEYS[1], KEYS[2], -1)", '2', '{q}wait', '{q}active'],
  ['EVAL', "return redis.pcall('blpop', KEYS[1], 'x')", '1', '{q}wait'],
  // A shard channel is a key for Redis Cluster's slot checks inside scripts.
  ['EVAL', "#!lua\nreturn redis.call('spublish', 'a', 'x')", '1', 'b'],
  ['EVAL', "#!lua\nreturn redis.call('spublish', '{b}a', 'x')", '1', 'b'],
  ['EVAL', "return redis.call('spublish', 'a', 'x')", '1', 'b'],
  ['EVAL', "return redis.call('publish', 'a', 'x')", '0'],
  ['EVAL', "return redis.call('get')", '0'],
  ['EVAL', "return redis.pcall('nope')", '0'],
  ['EVAL', "return redis.call('get', 'k', 'extra')", '0'],
  ['EVAL', "redis.call('set', 'k', 'v') error('after a write')", '1', 'k'],
  ['GET', 'k'],
  ['EVAL', "redis.call('del', 'k') return redis.call('incr', 'k')", '1', 'k'],
  ['EVAL', "return redis.call('lpush', 'k', 'x')", '1', 'k'],
  ['EVAL', "redis.call('set', 'e', 'v', 'px', 100000) return redis.call('pttl', 'e') > 99000", '1', 'e'],
  ['MULTI'],
  ['EVAL', "return redis.call('incr', KEYS[1])", '1', 'c'],
  ['EVALSHA', Z40, '0'],
  ['EVAL_RO', "return redis.call('get', KEYS[1])", '1', 'c'],
  ['EXEC'],
  ['MULTI'],
  ['EVAL', 'return 1', '2', 'a', 'b'],
  ['EXEC'],
];

describe('EVAL / EVALSHA / SCRIPT on one node vs a standalone redis-server', () => {
  for (const proto of [2, 3] as const) {
    it(`the 94 probe scripts (RESP${proto})`, async () => {
      const [a, b] = await pair(proto);
      const mismatches: unknown[] = [];
      let compared = 0;
      for (const p of probes) {
        await Promise.all([a.call('FLUSHALL'), b.call('FLUSHALL')]);
        for (const s of p.setup ?? []) await Promise.all([a.call(...s), b.call(...s)]);
        const keys = p.keys ?? [];
        const cmd = ['EVAL', p.script, String(keys.length), ...keys, ...(p.args ?? [])];
        const [ra, rb] = [await a.call(...cmd), await b.call(...cmd)];
        if (p.random) {
          // raftis reseeds math.random per script: only the reply's shape is Redis's.
          expect(rb[0], p.name).toBe(ra[0]);
          continue;
        }
        compared++;
        if (ra !== rb) mismatches.push({ probe: p.name, redis: ra, raftis: rb });
      }
      expect(mismatches).toEqual([]);
      expect(compared).toBe(probes.length - 2);
    });

    it(`command errors and rules (RESP${proto})`, async () => {
      const [a, b] = await pair(proto);
      await Promise.all([a.call('FLUSHALL'), b.call('FLUSHALL'), a.call('SCRIPT', 'FLUSH'), b.call('SCRIPT', 'FLUSH')]);
      expect(await compare(a, b, COMMANDS)).toEqual([]);
    });

    it(`what the read path remembers between scripts: the script named last, the command called last, KEYS/ARGV passed on (RESP${proto})`, async () => {
      const [a, b] = await pair(proto);
      await Promise.all([a.call('FLUSHALL'), b.call('FLUSHALL'), a.call('SCRIPT', 'FLUSH'), b.call('SCRIPT', 'FLUSH')]);
      const get = "return redis.call('get', KEYS[1])";
      // The same command in both cases and after another, a key changed by the script, an ARGV equal to a KEY or of a key's length.
      const mixed =
        "return {redis.call('GET', KEYS[1]), redis.call('get', KEYS[1] .. 'x'), redis.call('strlen', ARGV[1]), redis.call('get', ARGV[1]), redis.call('exists', KEYS[1], KEYS[2])}";
      // RESP headers of every sign and size (integers, bulk lengths 0 to 3 digits, arrays).
      const numbers = 'return {-1, 0, 9, 10, -10, 123456789012, -123456789012, 2^53, -(2^53), #ARGV[1], ARGV[1], {}}';
      const steps: string[][] = [
        ['SET', '{c}k', 'v1'],
        ['SET', '{c}kx', 'v2'],
        ['SET', '{c}aaaa', 'v3'],
        ['SCRIPT', 'LOAD', get],
        ['SCRIPT', 'LOAD', mixed],
        ['EVALSHA', sha1hex(get), '1', '{c}k'],
        ['EVALSHA', sha1hex(get).toUpperCase(), '1', '{c}k'],
        ['EVALSHA', sha1hex(mixed), '2', '{c}k', '{c}kx', '{c}aaaa'],
        ['EVALSHA', sha1hex(mixed), '2', '{c}k', '{c}kk', '{c}k'],
        ['EVALSHA', sha1hex(mixed), '2', '{c}kx', '{c}k', '{c}kk'],
        ['EVALSHA', sha1hex(get), '1', '{c}kx'],
        ['EVALSHA_RO', sha1hex(get), '1', '{c}none'],
        ['EVAL', numbers, '0', 'x'.repeat(100)],
        ['EVAL', numbers, '0', ''],
        ['SCRIPT', 'FLUSH'],
        ['EVALSHA', sha1hex(get), '1', '{c}k'],
        ['EVAL', get, '1', '{c}k'],
        ['EVALSHA', sha1hex(get), '1', '{c}k'],
        ['EVALSHA', sha1hex(mixed), '2', '{c}k', '{c}kx', 'a'],
      ];
      expect(await compare(a, b, steps)).toEqual([]);
    });

    it(`pipelined: EVALSHA right behind its SCRIPT LOAD, and behind a SCRIPT FLUSH (RESP${proto})`, async () => {
      const [a, b] = await pair(proto);
      await Promise.all([a.call('SCRIPT', 'FLUSH'), b.call('SCRIPT', 'FLUSH')]);
      const body = "return redis.call('incr', KEYS[1])";
      const sha = sha1hex(body);
      const batch = [
        ['SET', '{p}x', '1'],
        ['SCRIPT', 'LOAD', body],
        ['EVALSHA', sha, '1', '{p}n'],
        ['EVALSHA_RO', sha, '1', '{p}n'],
        ['SCRIPT', 'FLUSH'],
        ['EVALSHA', sha, '1', '{p}n'],
        ['EVAL', body, '1', '{p}n'],
        ['EVALSHA', sha, '1', '{p}n'],
        ['GET', '{p}n'],
      ];
      // Sent without waiting for replies: one pipeline on each server.
      const [ra, rb] = await Promise.all([Promise.all(batch.map((c) => a.call(...c))), Promise.all(batch.map((c) => b.call(...c)))]);
      expect(rb).toEqual(ra);
    });

    it(`seeded random scripts over the Lua↔RESP conversions (RESP${proto})`, async () => {
      const [a, b] = await pair(proto);
      const setup = [
        ['FLUSHALL'],
        ['HSET', '{g}h', 'f1', 'v1', 'f2', '2'],
        ['SET', '{g}k', '10'],
        ['ZADD', '{g}z', '1.5', 'a', '2', 'b'],
        ['RPUSH', '{g}l', 'a', 'b'],
        ['SADD', '{g}s', 'x'],
      ];
      await compare(a, b, setup);
      const rng = createPrng(proto === 2 ? 20261206 : 777);
      const scripts: string[][] = [];
      for (let i = 0; i < 150; i++) {
        const resp3 = randomInt(rng, 2) === 0;
        scripts.push(['EVAL', `${resp3 ? 'redis.setresp(3) ' : ''}return ${genValue(rng, 0)}`, '1', '{g}k']);
      }
      expect(await compare(a, b, scripts)).toEqual([]);
    });
  }
});

const CALLS = [
  "redis.call('get', '{g}k')",
  "redis.call('get', '{g}nokey')",
  "redis.call('hgetall', '{g}h')",
  "redis.call('zrange', '{g}z', 0, -1, 'withscores')",
  "redis.call('zscore', '{g}z', 'a')",
  "redis.call('lrange', '{g}l', 0, -1)",
  "redis.call('smembers', '{g}s')",
  "redis.call('exists', '{g}k')",
  "redis.call('type', '{g}k')",
  "redis.call('set', '{g}t', 'v')",
  "redis.pcall('incr', '{g}h')",
  "redis.call('hget', '{g}h', 'nofield')",
];

const SCALARS = [
  '0', '1', '-7', '3.99', '-3.5', '1e20', '2^53+1', '1/0', '0/0', '0.1',
  "'str'", "''", "'a\\r\\nb'", 'true', 'false', 'nil',
  "{ok='fine'}", "{err='MYERR custom'}", "{err='no code'}", "redis.error_reply('E1 bad')", "redis.status_reply('ST')",
  '{double=1.5}', '{double=0/0}', "{big_number='123456789012345678901234567890'}",
];

/** A random Lua expression over the value shapes the conversions distinguish. */
function genValue(rng: () => number, depth: number): string {
  const r = randomInt(rng, depth >= 3 ? 2 : 5);
  if (r === 0) return SCALARS[randomInt(rng, SCALARS.length)]!;
  if (r === 1) return CALLS[randomInt(rng, CALLS.length)]!;
  const n = randomInt(rng, 5);
  const items: string[] = [];
  for (let i = 0; i < n; i++) items.push(genValue(rng, depth + 1));
  if (r === 2) return `{${items.join(', ')}}`;
  if (r === 3) return `{map={${items.map((v, i) => `k${i}=${v}`).join(', ')}}}`;
  return `{set={${items.map((_, i) => `m${i}=true`).join(', ')}}}`;
}
