/**
 * Random differential runs: seeded sequences of hash, set and bit commands
 * over a few keys, sent to redis-server and to the engine in both
 * protocols. Small hashes and integer sets iterate in Redis's own order
 * (listpack insertion order, intset ascending), so their full replies are
 * compared byte for byte; sets with other members as sets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrng } from '../../src/util/prng.js';
import { Differential, type Step } from '../helpers/engine-diff.js';

let diff: Differential;
beforeAll(async () => {
  diff = await Differential.start();
});
afterAll(async () => {
  await diff?.stop();
});

function script(seed: number, length: number): Step[] {
  const rand = createPrng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (lo: number, hi: number): string => String(lo + Math.floor(rand() * (hi - lo + 1)));
  const hashes = ['h1', 'h2', 's1'];
  const fields = ['a', 'b', 'c', 'd', 'e', 'f', '1', '22', '\x00x'];
  const values = ['', 'v', '10', '-3', '1.5', '99999999999999999999', 'abc'];
  const intSets = ['i1', 'i2', 'i3'];
  const mixSets = ['m1', 'm2', 'm3'];
  const ints = ['0', '1', '-1', '7', '100', '-40000', '70000', '5000000000', '9223372036854775807'];
  const words = ['a', 'b', 'c', '10', 'zz', '\xff'];
  const bitKeys = ['b1', 'b2', 'b3'];
  const gens: (() => Step)[] = [
    () => ['HSET', pick(hashes), pick(fields), pick(values), ...(rand() < 0.3 ? [pick(fields), pick(values)] : [])],
    () => ['HSETNX', pick(hashes), pick(fields), pick(values)],
    () => ['HDEL', pick(hashes), pick(fields), pick(fields)],
    () => ['HINCRBY', pick(hashes), pick(fields), int(-5, 5)],
    () => ['HINCRBYFLOAT', pick(hashes), pick(fields), pick(['0.5', '-1.25', '3', '1e2'])],
    () => ['HGET', pick(hashes), pick(fields)],
    () => ['HMGET', pick(hashes), pick(fields), pick(fields)],
    () => ['HGETALL', pick(hashes)],
    () => ['HKEYS', pick(hashes)],
    () => ['HVALS', pick(hashes)],
    () => ['HLEN', pick(hashes)],
    () => ['HSTRLEN', pick(hashes), pick(fields)],
    () => ['HEXISTS', pick(hashes), pick(fields)],
    () => ['HSCAN', pick(hashes), '0'],
    // Not of bitmaps: Redis remembers that SETBIT made a string "raw" (docs/decisions.md).
    () => ['OBJECT', 'ENCODING', pick([...hashes, ...intSets, ...mixSets])],
    () => ['SADD', pick(intSets), pick(ints), pick(ints)],
    () => ['SREM', pick(intSets), pick(ints)],
    () => ['SMEMBERS', pick(intSets)],
    () => ['SSCAN', pick(intSets), '0'],
    () => ['SINTER', pick(intSets), pick(intSets)],
    () => ['SUNION', pick(intSets), pick(intSets)],
    () => ['SDIFF', pick(intSets), pick(intSets)],
    () => [pick(['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), pick(intSets), pick(intSets), pick(intSets)],
    () => ['SMOVE', pick(intSets), pick(intSets), pick(ints)],
    () => ['SADD', pick(mixSets), pick(words), pick(ints)],
    () => ['SREM', pick(mixSets), pick(words)],
    () => ({ cmd: ['SMEMBERS', pick(mixSets)], cmp: 'set' }),
    () => ({ cmd: ['SUNION', pick(mixSets), pick(intSets)], cmp: 'set' }),
    () => ({ cmd: ['SINTER', pick(mixSets), pick(mixSets)], cmp: 'set' }),
    () => ['SINTERCARD', '2', pick(mixSets), pick(intSets), 'LIMIT', int(0, 3)],
    () => ['SMISMEMBER', pick(mixSets), pick(words), pick(ints)],
    () => ['SCARD', pick([...intSets, ...mixSets])],
    () => ['SISMEMBER', pick([...intSets, ...mixSets]), pick(words)],
    () => ['SETBIT', pick(bitKeys), int(0, 80), int(0, 1)],
    () => ['GETBIT', pick(bitKeys), int(0, 90)],
    () => ['BITCOUNT', pick(bitKeys), int(-12, 12), int(-12, 12), pick(['BYTE', 'BIT'])],
    () => ['BITPOS', pick(bitKeys), int(0, 1), int(-12, 12), ...(rand() < 0.5 ? [int(-90, 90), pick(['BYTE', 'BIT'])] : [])],
    () => ['BITOP', pick(['AND', 'OR', 'XOR']), pick(bitKeys), pick(bitKeys), pick(bitKeys)],
    () => ['BITOP', 'NOT', pick(bitKeys), pick(bitKeys)],
    () => ['BITFIELD', pick(bitKeys), 'OVERFLOW', pick(['WRAP', 'SAT', 'FAIL']), pick(['INCRBY', 'SET']), pick(['i5', 'u7', 'i16', 'u1']), int(0, 70), int(-200, 200), 'GET', 'u8', int(0, 64)],
    () => ['GET', pick(bitKeys)],
    () => ['TYPE', pick([...hashes, ...intSets, ...mixSets, ...bitKeys])],
    () => ['COPY', pick([...hashes, ...intSets]), pick([...hashes, ...intSets]), 'REPLACE'],
    () => ['DEL', pick([...hashes, ...intSets, ...mixSets, ...bitKeys])],
  ];
  const steps: Step[] = [];
  for (let i = 0; i < length; i++) steps.push(pick(gens)());
  return steps;
}

describe('random hash/set/bit scripts vs redis-server', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const proto = seed % 2 === 0 ? 3 : 2;
    it(`seed ${seed} (RESP${proto})`, async () => {
      const r = await diff.run(script(seed, 400), proto);
      expect(r.mismatches.slice(0, 3)).toEqual([]);
      // The runs must reach real data, not just errors on empty keys.
      expect(r.replies.filter((x) => x.startsWith('*') || x.startsWith('%') || x.startsWith('~')).length).toBeGreaterThan(20);
    });
  }
});
