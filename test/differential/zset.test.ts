/**
 * Sorted-set commands, differential against redis-server (RESP2 and RESP3,
 * byte for byte), and the skip list / ZSetValue against a naive model.
 */
import { describe, expect, it } from 'vitest';
import { useDifferential } from '../helpers/engine-diff.js';
import { ZSetValue } from '../../src/keyspace/types/zset.js';
import { fromItems } from '../../src/keyspace/types/index.js';
import { formatG17, parseDouble } from '../../src/util/double.js';
import { zsetScripts } from './zset-scripts.js';
import { createPrng as rng } from '../../src/util/prng.js';

const env = useDifferential();

describe('sorted-set commands vs redis-server', () => {
  env.itRunsScripts(zsetScripts);

  it('ZUNION/ZINTER/ZDIFF/ZINTERCARD read a set as members scoring 1', async () => {
    const steps = [
      ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'],
      ['SADD', 's', 'a', 'x'],
      ['ZUNION', '2', 'z', 's', 'WITHSCORES'],
      ['ZINTER', '2', 'z', 's', 'WITHSCORES', 'WEIGHTS', '2', '3'],
      ['ZDIFF', '2', 's', 'z', 'WITHSCORES'],
      ['ZINTERCARD', '2', 's', 'z'],
      ['ZUNIONSTORE', 'd', '2', 's', 's'],
      ['ZRANGE', 'd', '0', '-1', 'WITHSCORES'],
    ];
    for (const proto of [2, 3] as const) {
      const r = await env.diff.run(steps, proto);
      expect(r.mismatches).toEqual([]);
      expect(r.compared).toBe(steps.length);
    }
  });

  it('scores print like %.17g for random doubles (ZADD then ZSCORE)', async () => {
    const steps = [];
    let x = 12345;
    for (let i = 0; i < 300; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const mag = (x % 40) - 20;
      const v = ((x / 2147483648) * 2 - 1) * Math.pow(10, mag);
      steps.push(['ZADD', 'z', String(v), 'm' + i], ['ZSCORE', 'z', 'm' + i], ['ZINCRBY', 'z', '0.1', 'm' + i]);
    }
    const r = await env.diff.run(steps, 2);
    expect(r.mismatches).toEqual([]);
    const r3 = await env.diff.run(steps, 3);
    expect(r3.mismatches).toEqual([]);
  });
});

function sorted(model: Map<string, number>): [string, number][] {
  return [...model].sort((a, b) => (a[1] !== b[1] ? a[1] - b[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe('ZSetValue (skip list with spans) against a sorted-array model', () => {
  it('random inserts, updates and removals keep order, ranks and ranges right', () => {
    const rand = rng(11);
    const z = new ZSetValue();
    const model = new Map<string, number>();
    for (let step = 0; step < 6000; step++) {
      const m = 'm' + Math.floor(rand() * 400);
      const score = Math.floor(rand() * 50) / 2;
      const op = rand();
      if (op < 0.5) {
        if (model.has(m)) z.update(m, score);
        else z.insert(m, score);
        model.set(m, score);
      } else if (op < 0.75) {
        expect(z.remove(m)).toBe(model.delete(m));
      } else if (step % 10 === 0) {
        const order = sorted(model);
        expect(z.size).toBe(order.length);
        const i = Math.floor(rand() * (order.length + 1));
        const at = z.at(i);
        if (i < order.length) expect([at!.member, at!.score]).toEqual(order[i]);
        else expect(at).toBeNull();
        if (model.has(m)) expect(z.rank(m)).toBe(order.findIndex(([k]) => k === m));
        const lo = Math.floor(rand() * 25);
        const range = { min: lo, max: lo + 5, minex: rand() < 0.5, maxex: rand() < 0.5 };
        const inRange = order.filter(([, s]) => (range.minex ? s > lo : s >= lo) && (range.maxex ? s < lo + 5 : s <= lo + 5));
        const first = z.sl.firstInScoreRange(range);
        const last = z.sl.lastInScoreRange(range);
        if (inRange.length === 0) {
          expect(first).toBeNull();
          expect(last).toBeNull();
        } else {
          expect([first!.member, first!.score]).toEqual(inRange[0]);
          expect([last!.member, last!.score]).toEqual(inRange[inRange.length - 1]);
        }
      }
    }
    // A clone has the same shape and stays correct when both sides change afterwards.
    const copy = z.clone();
    const copyModel = new Map(model);
    for (let i = 0; i < 300; i++) {
      const m = 'm' + Math.floor(rand() * 400);
      const score = Math.floor(rand() * 50) / 2;
      if (copyModel.has(m)) copy.update(m, score);
      else copy.insert(m, score);
      copyModel.set(m, score);
      if (i % 3 === 0) {
        const r = 'm' + Math.floor(rand() * 400);
        expect(copy.remove(r)).toBe(copyModel.delete(r));
      }
    }
    const copyOrder = sorted(copyModel);
    copyOrder.forEach(([m], i) => expect(copy.rank(m)).toBe(i));
    expect(copy.size).toBe(copyOrder.length);
    const order = sorted(model);
    const walked: [string, number][] = [];
    for (let x = z.sl.first; x !== null; x = x.next[0]!) walked.push([x.member, x.score]);
    expect(walked).toEqual(order);
    const back: [string, number][] = [];
    for (let x = z.sl.tail; x !== null; x = x.backward) back.push([x.member, x.score]);
    expect(back.reverse()).toEqual(order);
  });

  it('clone is independent, items()/fromItems round-trip in order with special scores', () => {
    const z = new ZSetValue();
    z.insert('a', 1.1);
    z.insert('b\x00\xff', -Infinity);
    z.insert('c', Infinity);
    z.insert('d', -0);
    z.insert('e', 1e-310);
    const c = z.clone();
    z.update('a', 100);
    z.remove('c');
    expect(c.score('a')).toBe(1.1);
    expect(c.score('c')).toBe(Infinity);
    const r = fromItems('zset', [...c.items()]) as ZSetValue;
    expect([...r.items()]).toEqual([...c.items()]);
    expect(r.score('d')).toBe(0);
    expect(r.score('e')).toBe(1e-310);
    expect(r.encoding).toBe('listpack');
  });

  it('lex range search by rank agrees with the skip list descent when all scores are equal', () => {
    const rand = rng(5);
    const z = new ZSetValue(true);
    for (let i = 0; i < 2000; i++) {
      const m = 'k' + Math.floor(rand() * 5000);
      if (z.score(m) === undefined) z.insert(m, 0);
    }
    const bound = (): import('../../src/keyspace/types/skiplist.js').LexBound => {
      const t = rand();
      if (t < 0.1) return { inf: -1 };
      if (t < 0.2) return { inf: 1 };
      return { inf: 0, v: 'k' + Math.floor(rand() * 5000), ex: rand() < 0.5 };
    };
    for (let i = 0; i < 500; i++) {
      const r = { min: bound(), max: bound() };
      expect(z.firstInLex(r)).toBe(z.sl.firstInLexRange(r));
      expect(z.lastInLex(r)).toBe(z.sl.lastInLexRange(r));
    }
  });

  it('reports listpack/skiplist like redis 7.0 (128 entries, 64-byte members, no conversion back)', () => {
    const z = new ZSetValue();
    for (let i = 0; i < 128; i++) z.insert('m' + i, i);
    expect(z.encoding).toBe('listpack');
    z.insert('one-more', 0);
    expect(z.encoding).toBe('skiplist');
    z.remove('one-more');
    expect(z.encoding).toBe('skiplist');
    const y = new ZSetValue();
    y.insert('x'.repeat(64), 1);
    expect(y.encoding).toBe('listpack');
    y.insert('x'.repeat(65), 1);
    expect(y.encoding).toBe('skiplist');
  });
});

describe('double parsing and printing', () => {
  it('formatG17 matches printf %.17g on known values', () => {
    expect(formatG17(1.1)).toBe('1.1000000000000001');
    expect(formatG17(1e20)).toBe('1e+20');
    expect(formatG17(1e-5)).toBe('1.0000000000000001e-05');
    expect(formatG17(0.1)).toBe('0.10000000000000001');
    expect(formatG17(123456789012345678)).toBe('1.2345678901234568e+17');
    expect(formatG17(-0)).toBe('-0');
    expect(formatG17(3)).toBe('3');
    expect(formatG17(1e16)).toBe('10000000000000000');
    expect(formatG17(1e17)).toBe('1e+17');
    expect(formatG17(0.0001)).toBe('0.0001');
    expect(formatG17(5e-324)).toBe('4.9406564584124654e-324');
    expect(formatG17(2541.54205322265625)).toBe('2541.5420532226562');
    expect(formatG17(0.5)).toBe('0.5');
  });
  it('parseDouble refuses what getDoubleFromObject refuses', () => {
    for (const bad of ['', ' 1', '1 ', 'nan', '1e400', '-1e400', '1e-400', 'abc', '1\x00']) expect(parseDouble(bad)).toBeNull();
    expect(parseDouble('inf')).toBe(Infinity);
    expect(parseDouble('-Infinity')).toBe(-Infinity);
    expect(parseDouble('0x10')).toBe(16);
    expect(parseDouble('.5')).toBe(0.5);
    expect(parseDouble('5.')).toBe(5);
  });
});

describe('ZSCAN on a skiplist-encoded set (engine)', () => {
  it('returns every member present for the whole walk exactly once, while others come and go', async () => {
    const { Engine } = await import('../helpers/engine.js');
    const { parseReply } = await import('../helpers/engine-diff.js');
    const e = new Engine();
    const args: string[] = [];
    for (let i = 0; i < 1000; i++) args.push(String(i % 97), 'stable' + i);
    e.call('ZADD', 'z', ...args);
    const seen = new Map<string, number>();
    let cursor = '0';
    let calls = 0;
    do {
      const [r] = parseReply(e.call('ZSCAN', 'z', cursor, 'COUNT', '37'));
      if (!('items' in r)) throw new Error('bad reply');
      const [c, list] = r.items as unknown as [{ v: string }, { items: { v: string }[] }];
      for (let i = 0; i < list.items.length; i += 2) {
        const m = list.items[i]!.v;
        seen.set(m, (seen.get(m) ?? 0) + 1);
      }
      cursor = c.v;
      // Churn: add and remove other members around the cursor.
      e.call('ZADD', 'z', String(calls % 97), 'churn' + calls);
      if (calls > 3) e.call('ZREM', 'z', 'churn' + (calls - 3));
      calls++;
    } while (cursor !== '0' && calls < 1000);
    expect(cursor).toBe('0');
    for (let i = 0; i < 1000; i++) expect(seen.get('stable' + i)).toBe(1);
  });
});
