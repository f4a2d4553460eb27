/**
 * List commands, differential against redis-server (RESP2 and RESP3, byte
 * for byte), and the ring-buffer list against a naive array model.
 */
import { describe, expect, it } from 'vitest';
import { useDifferential } from '../helpers/engine-diff.js';
import { Engine } from '../helpers/engine.js';
import { ListValue } from '../../src/keyspace/types/list.js';
import { fromItems } from '../../src/keyspace/types/index.js';
import { listScripts } from './list-scripts.js';
import { createPrng as rng } from '../../src/util/prng.js';

const env = useDifferential();

describe('list commands vs redis-server', () => {
  env.itRunsScripts(listScripts);
});

describe('blocking list commands on the engine (their non-blocking form, as inside MULTI)', () => {
  it('answer the null reply Redis gives inside MULTI when every key is empty', () => {
    for (const proto of [2, 3] as const) {
      const e = new Engine({ proto });
      const nullArray = proto === 2 ? '*-1\r\n' : '_\r\n';
      const nullBulk = proto === 2 ? '$-1\r\n' : '_\r\n';
      expect(e.call('BLPOP', 'a', 'b', '0')).toBe(nullArray);
      expect(e.call('BRPOP', 'a', '1')).toBe(nullArray);
      expect(e.call('BLMPOP', '0', '1', 'a', 'LEFT')).toBe(nullArray);
      expect(e.call('BLMOVE', 'a', 'b', 'LEFT', 'LEFT', '0')).toBe(nullBulk);
      expect(e.call('BRPOPLPUSH', 'a', 'b', '0')).toBe(nullBulk);
      expect(e.db.size).toBe(0);
    }
  });
});

describe('ListValue (ring buffer) against an array model', () => {
  it('random pushes, pops, sets, inserts and removals agree with an array', () => {
    const rand = rng(7);
    const l = new ListValue();
    const model: string[] = [];
    for (let step = 0; step < 20000; step++) {
      const op = Math.floor(rand() * 9);
      const v = 'v' + Math.floor(rand() * 50);
      if (op === 0 || op === 1) {
        l.pushHead(v);
        model.unshift(v);
      } else if (op === 2 || op === 3) {
        l.pushTail(v);
        model.push(v);
      } else if (op === 4) {
        expect(l.popHead()).toBe(model.shift());
      } else if (op === 5) {
        expect(l.popTail()).toBe(model.pop());
      } else if (op === 6 && model.length > 0) {
        const i = Math.floor(rand() * model.length);
        l.set(i, v);
        model[i] = v;
      } else if (op === 7) {
        const i = Math.floor(rand() * (model.length + 1));
        l.insertAt(i, v);
        model.splice(i, 0, v);
      } else if (op === 8 && rand() < 0.1) {
        const removed = l.retain((s) => s !== v);
        const before = model.length;
        const kept = model.filter((s) => s !== v);
        model.length = 0;
        model.push(...kept);
        expect(removed).toBe(before - kept.length);
      }
      expect(l.length).toBe(model.length);
      if (step % 500 === 0) expect([...l.items()]).toEqual(model);
    }
    expect([...l.items()]).toEqual(model);
    if (model.length > 2) expect(l.range(1, model.length - 2)).toEqual(model.slice(1, -1));
  });

  it('grows and shrinks across many wraps without losing order', () => {
    const l = new ListValue();
    for (let i = 0; i < 5000; i++) l.pushTail(String(i));
    for (let i = 0; i < 4990; i++) expect(l.popHead()).toBe(String(i));
    expect([...l.items()]).toEqual(Array.from({ length: 10 }, (_, i) => String(4990 + i)));
  });

  it('clone shares nothing with the original', () => {
    const l = new ListValue(['a', 'b', 'c']);
    const c = l.clone();
    l.pushTail('d');
    l.set(0, 'A');
    c.popHead();
    expect([...l.items()]).toEqual(['A', 'b', 'c', 'd']);
    expect([...c.items()]).toEqual(['b', 'c']);
  });

  it('items() and fromItems round-trip in order, binary elements included', () => {
    const l = new ListValue();
    for (let i = 0; i < 100; i++) l.pushHead('x\x00\xff' + i);
    for (let i = 0; i < 40; i++) l.popTail();
    const r = fromItems('list', [...l.items()]) as ListValue;
    expect(r.type).toBe('list');
    expect([...r.items()]).toEqual([...l.items()]);
    expect(r.encoding).toBe('quicklist');
  });
});
