/**
 * The dataset size maxmemory counts (keyspace/used-memory.ts) is always the
 * sum of the current values' sizes, however writes and reads of the total
 * interleave — so replicas agree — and the access clocks follow Redis's LFU
 * arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { Keyspace } from '../../../src/keyspace/keyspace.js';
import { keyBytes } from '../../../src/keyspace/used-memory.js';
import { RHash } from '../../../src/keyspace/types/hash.js';
import { ListValue } from '../../../src/keyspace/types/list.js';
import { AccessClocks, LFU_INIT_VAL } from '../../../src/keyspace/access-clock.js';
import { KeyTable, NO_CLOCK } from '../../../src/keyspace/key-table.js';
import { xorshiftPrng } from '../../../src/util/prng.js';

/** Strings at the edge of Redis's int encoding (a SET over a stored one takes the table's length-only path when it is no integer). */
const EDGE_STRINGS = ['', '0', '-', '-1', '01', '12a', 'a12', '-0', '9223372036854775807', '9223372036854775808', 'x'.repeat(44), 'x'.repeat(45), 'é', 'ā'];

/** Σ keyBytes over every key, from scratch. */
function recount(ks: Keyspace): number {
  let sum = 0;
  for (const k of ks.keys()) sum += keyBytes(k, ks.get(k, 0)!);
  return sum;
}

/** Random writes; `askEvery` controls how often the total is read in between (the answer must not depend on it). */
function run(seed: number, askEvery: number): Keyspace {
  const rand = xorshiftPrng(seed);
  const ks = new Keyspace();
  for (let i = 0; i < 3000; i++) {
    const key = `k${Math.floor(rand() * 60)}`;
    const op = Math.floor(rand() * 7);
    if (op === 0) ks.set(key, 'v'.repeat(Math.floor(rand() * 300)));
    else if (op === 1) ks.set(key, rand() < 0.5 ? String(Math.floor(rand() * 100000)) : EDGE_STRINGS[Math.floor(rand() * EDGE_STRINGS.length)]!);
    else if (op === 2) ks.delete(key);
    else if (op === 3) {
      const v = ks.getMutable(key, 0);
      if (v instanceof RHash) v.set(`f${Math.floor(rand() * 200)}`, 'x'.repeat(Math.floor(rand() * 80)));
      else if (v === undefined) ks.set(key, new RHash());
    } else if (op === 4) {
      const v = ks.getMutable(key, 0);
      if (v instanceof ListValue) v.pushTail('y'.repeat(Math.floor(rand() * 50)));
      else if (v === undefined) {
        const l = new ListValue();
        ks.set(key, l);
        l.pushTail('first');
      }
    } else if (op === 5) {
      const to = `k${Math.floor(rand() * 60)}`;
      if (to !== key && ks.has(key, 0)) ks.rename(key, to);
    } else if (rand() < 0.01) ks.flush();
    if (i % askEvery === 0) expect(ks.usedMemory()).toBe(recount(ks));
  }
  return ks;
}

describe('used memory', () => {
  it('is the sum of the current values whatever the order of reads of the total', () => {
    for (const seed of [1, 7, 42]) {
      const a = run(seed, 1);
      const b = run(seed, 997);
      expect(a.usedMemory()).toBe(recount(a));
      expect(b.usedMemory()).toBe(a.usedMemory());
      expect(a.keyBytes('nokey')).toBe(0);
    }
  });

  it('grows and shrinks with the data', () => {
    const ks = new Keyspace();
    expect(ks.usedMemory()).toBe(0);
    ks.set('a', 'x'.repeat(1000));
    const one = ks.usedMemory();
    expect(one).toBeGreaterThan(1000);
    ks.set('a', 'x'.repeat(10));
    expect(ks.usedMemory()).toBeLessThan(one);
    ks.delete('a');
    expect(ks.usedMemory()).toBe(0);
  });
});

describe('access clocks', () => {
  it('LRU: idle time since the last access on the coarse clock', () => {
    const table = new KeyTable();
    const c = new AccessClocks(table);
    c.now = Date.now() + 1_000_000;
    const slot = table.add('k', 'v');
    c.created(slot);
    c.now += 5000;
    expect(c.idleMs('k')).toBe(5000);
    c.touch(slot);
    expect(c.idleMs('k')).toBe(0);
    c.setIdle('k', 30);
    expect(c.idleMs('k')).toBe(30_000);
  });

  it('LFU: starts at LFU_INIT_VAL, each access counts with lfu-log-factor 0, decays by lfu-decay-time', () => {
    const table = new KeyTable();
    const c = new AccessClocks(table);
    c.now = Date.now() + 60_000 * 1000;
    c.isLfu = true;
    c.logFactor = 0;
    const slot = table.add('k', 'v');
    c.created(slot);
    expect(c.freq('k')).toBe(LFU_INIT_VAL);
    for (let i = 0; i < 10; i++) c.touch(slot);
    expect(c.freq('k')).toBe(LFU_INIT_VAL + 10);
    c.decayTime = 2;
    c.now += 60_000 * 6;
    expect(c.freq('k')).toBe(LFU_INIT_VAL + 10 - 3);
    c.decayTime = 0;
    expect(c.freq('k')).toBe(LFU_INIT_VAL + 10);
    // With the default factor, counting slows as the counter grows.
    c.logFactor = 10;
    c.setFreq('k', 100);
    for (let i = 0; i < 100; i++) c.touch(slot);
    expect(c.freq('k')).toBeLessThan(110);
  });
});

describe('key table', () => {
  it('reuses the slots of deleted keys, with a fresh clock and value', () => {
    const t = new KeyTable();
    const c = new AccessClocks(t);
    c.now = Date.now() + 1_000_000;
    const slots = Array.from({ length: 40 }, (_, i) => t.add(`k${i}`, `v${i}`));
    expect(new Set(slots).size).toBe(40);
    for (const s of slots) c.created(s);
    c.now += 3000;
    expect(t.delete('k7')).toBe('v7');
    expect(t.get('k7')).toBeUndefined();
    expect(t.size).toBe(39);
    const again = t.add('new', 'w');
    expect(again).toBe(slots[7]);
    expect(t.clocks[again]).toBe(NO_CLOCK);
    expect(t.get('new')).toBe('w');
    c.created(again);
    expect(c.idleMs('new')).toBe(0);
    expect(c.idleMs('k8')).toBe(3000);
    expect([...t.keys()]).toHaveLength(40);
  });

  it('a clock mode switch forgets every clock; a huge RESTORE IDLETIME is clamped, not wrapped', () => {
    const ks = new Keyspace();
    ks.clocks.now = Date.now() + 1_000_000;
    ks.set('a', '1');
    ks.clocks.now += 5000;
    expect(ks.clocks.idleMs('a')).toBe(5000);
    ks.clocks.isLfu = true;
    expect(ks.clocks.freq('a')).toBe(LFU_INIT_VAL);
    ks.clocks.isLfu = false;
    ks.clocks.now += 2000;
    expect(ks.clocks.idleMs('a')).toBe(2000);
    ks.setIdle('a', 1e12);
    expect(ks.clocks.idleMs('a')).toBeGreaterThan(200_000_000_000);
    ks.flush();
    ks.set('b', '2');
    expect(ks.clocks.idleMs('b')).toBe(0);
  });
});
