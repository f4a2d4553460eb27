/**
 * The packed key table (keyspace/key-table.ts) against a plain Map: the
 * same answers for every lookup after random adds, replacements and
 * deletes (short and long keys, keys and values with chars above 0xff,
 * empty strings, collections), and the live iterators' guarantee SCAN and
 * the snapshot walker rely on: every key present for an iterator's whole
 * life is visited exactly once, whatever changes meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { INLINE_MAX, KeyTable, NO_CLOCK } from '../../../src/keyspace/key-table.js';
import { xorshiftPrng } from '../../../src/util/prng.js';
import { lastKey, noteKeyBytes } from '../../../src/util/key-hash.js';
import { RHash } from '../../../src/keyspace/types/hash.js';
import type { Value } from '../../../src/keyspace/keyspace.js';

/** A key or value of one of the shapes the table stores differently. */
function randomString(rand: () => number, i: number): string {
  const shape = Math.floor(rand() * 6);
  if (shape === 0) return '';
  if (shape === 1) return `k${i}`;
  if (shape === 2) return 'x'.repeat(INLINE_MAX) + i; // just past inline
  if (shape === 3) return String.fromCharCode(0xff, 0, 0x80) + i; // bytes of all kinds
  if (shape === 4) return 'é€' + i; // a char above 0xff: boxed
  return 'x'.repeat(INLINE_MAX - 1 - String(i).length) + i; // exactly inline
}

function check(t: KeyTable, model: Map<string, Value>): void {
  expect(t.size).toBe(model.size);
  for (const [k, v] of model) {
    expect(t.has(k)).toBe(true);
    expect(t.get(k)).toBe(v);
    expect(t.valueAt(t.slotOf(k)!)).toBe(v);
    // valueBytes: a string stored inline is handed over as its bytes; a boxed value is not.
    const span = { bytes: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)), start: 0, end: 0 };
    const inline = typeof v === 'string' && v.length <= INLINE_MAX && ![...v].some((c) => c.charCodeAt(0) > 0xff);
    expect(t.valueBytes(t.slotOf(k)!, span)).toBe(inline);
    if (inline) {
      expect(Buffer.from(span.bytes.subarray(span.start, span.end)).toString('latin1')).toBe(v);
      // The view addresses the same bytes at the same offsets.
      for (let i = span.start; i < span.end; i++) expect(span.view.getUint8(i)).toBe(span.bytes[i]);
    }
  }
  const seen = [...t.keys()];
  expect(seen.length).toBe(model.size);
  expect(new Set(seen)).toEqual(new Set(model.keys()));
  for (const [k, s] of t.entries()) expect(t.valueAt(s)).toBe(model.get(k));
}

describe('KeyTable', () => {
  it('answers as a Map over random adds, replacements and deletes', () => {
    const rand = xorshiftPrng(19);
    const t = new KeyTable();
    const model = new Map<string, Value>();
    const pool = Array.from({ length: 300 }, (_, i) => randomString(rand, i));
    const hash = new RHash();
    for (let step = 0; step < 20_000; step++) {
      const key = pool[Math.floor(rand() * pool.length)]!;
      const r = rand();
      if (r < 0.45) {
        const value: Value = rand() < 0.1 ? hash : randomString(rand, step);
        const slot = t.slotOf(key);
        if (slot === undefined) {
          const s = t.add(key, value);
          expect(t.clocks[s]).toBe(NO_CLOCK);
        } else {
          t.setAt(slot, value);
        }
        model.set(key, value);
      } else if (r < 0.8) {
        expect(t.delete(key)).toBe(model.get(key));
        model.delete(key);
      } else {
        expect(t.get(key)).toBe(model.get(key));
        expect(t.has(key)).toBe(model.has(key));
      }
      if (step % 2000 === 0) check(t, model);
    }
    check(t, model);
  });

  it('finds a key the request parser noted (hashed from bytes, compared by words) as any other', () => {
    const rand = xorshiftPrng(23);
    const t = new KeyTable();
    const model = new Map<string, Value>();
    // Keys of every length up to past INLINE_MAX, with bytes of all kinds; some differ only in their last byte.
    const pool: string[] = [];
    for (let len = 0; len <= INLINE_MAX + 2; len++) {
      let s = '';
      for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * 256));
      pool.push(s);
      if (len > 0) pool.push(s.slice(0, -1) + String.fromCharCode((s.charCodeAt(len - 1) + 1) & 0xff));
    }
    /** A new string of `key`'s bytes, noted as the parser notes argv[1]. */
    const noted = (key: string): string => {
      const b = Buffer.from('*' + key + '\r\n', 'latin1');
      const k = b.toString('latin1', 1, 1 + key.length);
      noteKeyBytes(k, b, 1, 1 + key.length);
      return k;
    };
    for (let step = 0; step < 6000; step++) {
      const key = pool[Math.floor(rand() * pool.length)]!;
      const k = rand() < 0.7 ? noted(key) : key;
      const r = rand();
      if (r < 0.5) {
        const slot = t.slotOf(k);
        expect(slot === undefined).toBe(!model.has(key));
        if (slot === undefined) t.add(k, `v${step}`);
        else t.setAt(slot, `v${step}`);
        model.set(key, `v${step}`);
      } else if (r < 0.7) {
        expect(t.delete(k)).toBe(model.get(key));
        model.delete(key);
      } else {
        expect(t.get(k)).toBe(model.get(key));
      }
      // A lookup of another key while one is noted: hashed from its own chars.
      const other = pool[Math.floor(rand() * pool.length)]!;
      expect(t.get(other)).toBe(model.get(other));
    }
    for (const key of pool) {
      expect(t.get(noted(key))).toBe(model.get(key));
      // Noted up to INLINE_MAX bytes (longer keys are boxed, compared as strings).
      if (key.length <= INLINE_MAX) expect(lastKey.key).toBe(key);
    }
    check(t, model);
  });

  it('grows and shrinks through many keys and keeps clocks per slot', () => {
    const t = new KeyTable();
    for (let i = 0; i < 5000; i++) {
      const s = t.add(`key:${i}`, `v${i}`); // add may replace t.clocks (it grows with the slots)
      t.clocks[s] = i;
    }
    for (let i = 0; i < 5000; i++) expect(t.clocks[t.slotOf(`key:${i}`)!]).toBe(i);
    for (let i = 0; i < 5000; i += 2) t.delete(`key:${i}`);
    expect(t.size).toBe(2500);
    for (let i = 1; i < 5000; i += 2) expect(t.get(`key:${i}`)).toBe(`v${i}`);
    for (let i = 0; i < 5000; i += 2) expect(t.get(`key:${i}`)).toBeUndefined();
    // freed slots are reused: the slot arrays do not grow
    const before = t.clocks.length;
    for (let i = 0; i < 5000; i += 2) t.add(`again:${i}`, 'v');
    expect(t.clocks.length).toBe(before);
    expect(t.size).toBe(5000);
    t.forgetClocks();
    expect(t.clocks[t.slotOf('key:1')!]).toBe(NO_CLOCK);
  });

  it('an add right after a missed slotOf lands where a fresh lookup finds it, whatever changed between', () => {
    const t = new KeyTable();
    for (let i = 0; i < 2000; i++) {
      const key = `m:${i}`;
      expect(t.slotOf(key)).toBeUndefined();
      // Between the miss and the add: nothing, another add (which may grow the index), or a delete that shifts a probe run.
      if (i % 3 === 1) t.add(`other:${i}`, 'o');
      else if (i % 3 === 2 && i > 10) t.delete(`m:${i - 7}`);
      const s = t.add(key, `v${i}`);
      expect(t.slotOf(key)).toBe(s);
      expect(t.get(key)).toBe(`v${i}`);
    }
    for (let i = 0; i < 2000; i++) expect(t.get(`m:${i}`)).toBe(i + 7 >= 2000 || (i + 7) % 3 !== 2 || i + 7 <= 10 ? `v${i}` : undefined);
    // A miss of one key, then an add of another: the other key is hashed and placed on its own.
    expect(t.slotOf('x1')).toBeUndefined();
    t.add('x2', 'b');
    expect(t.get('x2')).toBe('b');
    expect(t.get('x1')).toBeUndefined();
    t.add('x1', 'a');
    expect(t.get('x1')).toBe('a');
    // After clear() the remembered miss is void.
    expect(t.slotOf('y')).toBeUndefined();
    t.clear();
    t.add('y', 'c');
    expect(t.get('y')).toBe('c');
    expect(t.size).toBe(1);
  });

  it('refuses to add a key twice', () => {
    const t = new KeyTable();
    t.add('a', '1');
    expect(() => t.add('a', '2')).toThrow();
    expect(t.get('a')).toBe('1');
  });

  it('a live iterator visits every key present for its whole life exactly once', () => {
    const rand = xorshiftPrng(7);
    for (let round = 0; round < 20; round++) {
      const t = new KeyTable();
      for (let i = 0; i < 500; i++) t.add(`k${i}`, `v${i}`);
      // keys that stay for the whole walk
      const stays = new Set<string>();
      for (let i = 0; i < 500; i++) if (rand() < 0.5) stays.add(`k${i}`);
      const visits = new Map<string, number>();
      const it = round % 2 === 0 ? t.keys() : t.entries();
      let added = 0;
      for (;;) {
        const r = it.next();
        if (r.done) break;
        const key = typeof r.value === 'string' ? r.value : r.value[0];
        visits.set(key, (visits.get(key) ?? 0) + 1);
        // churn: delete and re-add keys that do not stay, add new ones
        for (let c = 0; c < 3; c++) {
          const k = `k${Math.floor(rand() * 500)}`;
          if (stays.has(k)) continue;
          if (t.has(k)) t.delete(k);
          else t.add(k, 'again');
        }
        if (added < 300) t.add(`new${round}:${added++}`, 'n');
      }
      for (const k of stays) expect(visits.get(k)).toBe(1);
      // a done iterator stays done
      t.add('late', 'x');
      expect(it.next().done).toBe(true);
    }
  });

  it('clear() empties the table and ends its iterators', () => {
    const t = new KeyTable();
    for (let i = 0; i < 100; i++) t.add(`k${i}`, 'v');
    const it = t.keys();
    it.next();
    t.clear();
    t.add('after', 'v');
    expect(it.next().done).toBe(true);
    expect(t.size).toBe(1);
    expect([...t.keys()]).toEqual(['after']);
    expect(t.get('k1')).toBeUndefined();
  });
});
