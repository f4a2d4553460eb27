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

function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** Σ keyBytes over every key, from scratch. */
function recount(ks: Keyspace): number {
  let sum = 0;
  for (const k of ks.keys()) sum += keyBytes(k, ks.get(k, 0)!);
  return sum;
}

/** Random writes; `askEvery` controls how often the total is read in between (the answer must not depend on it). */
function run(seed: number, askEvery: number): Keyspace {
  const rand = seeded(seed);
  const ks = new Keyspace();
  for (let i = 0; i < 3000; i++) {
    const key = `k${Math.floor(rand() * 60)}`;
    const op = Math.floor(rand() * 7);
    if (op === 0) ks.set(key, 'v'.repeat(Math.floor(rand() * 300)));
    else if (op === 1) ks.set(key, String(Math.floor(rand() * 100000)));
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
    const c = new AccessClocks();
    c.now = Date.now() + 1_000_000;
    c.created('k');
    c.now += 5000;
    expect(c.idleMs('k')).toBe(5000);
    c.touch('k');
    expect(c.idleMs('k')).toBe(0);
    c.setIdle('k', 30);
    expect(c.idleMs('k')).toBe(30_000);
  });

  it('LFU: starts at LFU_INIT_VAL, each access counts with lfu-log-factor 0, decays by lfu-decay-time', () => {
    const c = new AccessClocks();
    c.now = Date.now() + 60_000 * 1000;
    c.isLfu = true;
    c.logFactor = 0;
    c.created('k');
    expect(c.freq('k')).toBe(LFU_INIT_VAL);
    for (let i = 0; i < 10; i++) c.touch('k');
    expect(c.freq('k')).toBe(LFU_INIT_VAL + 10);
    c.decayTime = 2;
    c.now += 60_000 * 6;
    expect(c.freq('k')).toBe(LFU_INIT_VAL + 10 - 3);
    c.decayTime = 0;
    expect(c.freq('k')).toBe(LFU_INIT_VAL + 10);
    // With the default factor, counting slows as the counter grows.
    c.logFactor = 10;
    c.setFreq('k', 100);
    for (let i = 0; i < 100; i++) c.touch('k');
    expect(c.freq('k')).toBeLessThan(110);
  });
});
