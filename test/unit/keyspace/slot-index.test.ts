/**
 * The per-hash-slot key index (keyspace/key-table.ts, on in a sharded
 * cluster): against a model of Redis's slots_to_keys (a list per hash slot,
 * a new key first), after random adds, replacements and deletes that reuse
 * table slots, through growth and rehashes, with boxed keys (long ones,
 * chars above 0xff), when turned on over a table that already holds keys,
 * through clear(), a flush during a snapshot, SWAPDB, and after a snapshot
 * is loaded into fresh databases. Without the index, the same sets come
 * from a walk of every key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INLINE_MAX, KeyTable } from '../../../src/keyspace/key-table.js';
import { Databases } from '../../../src/keyspace/databases.js';
import { Keyspace } from '../../../src/keyspace/keyspace.js';
import { readSnapshotFile } from '../../../src/keyspace/snapshot-records.js';
import { Snapshotter } from '../../../src/node/snapshotter.js';
import { keyHashSlot } from '../../../src/util/hash-slot.js';
import { xorshiftPrng } from '../../../src/util/prng.js';
import { RHash } from '../../../src/keyspace/types/hash.js';

/** Keys of every shape the table stores differently, spread over a few hash slots (tags) and many (no tag). */
function randomKey(rand: () => number, i: number): string {
  const tag = ['{a}', '{b}', '{c}', ''][Math.floor(rand() * 4)]!;
  const shape = Math.floor(rand() * 5);
  if (shape === 0) return `${tag}k${i}`;
  if (shape === 1) return tag + 'x'.repeat(INLINE_MAX) + i; // boxed: too long
  if (shape === 2) return `${tag}é€${i}`; // boxed: a char above 0xff
  if (shape === 3) return `${tag}` + String.fromCharCode(0xff, 0, 0x80) + i;
  return `${tag}`; // the tag alone (or the empty key)
}

/** Redis's slots_to_keys as plain arrays: per hash slot, its keys newest first. */
class Model {
  readonly bySlot = new Map<number, string[]>();

  add(k: string): void {
    const s = keyHashSlot(k);
    const l = this.bySlot.get(s) ?? [];
    l.unshift(k);
    this.bySlot.set(s, l);
  }

  delete(k: string): void {
    const l = this.bySlot.get(keyHashSlot(k))!;
    l.splice(l.indexOf(k), 1);
  }
}

function checkIndexed(t: KeyTable, model: Model): void {
  let total = 0;
  for (const [s, keys] of model.bySlot) {
    expect(t.countInSlot(s)).toBe(keys.length);
    expect(t.keysInSlot(s)).toEqual(keys);
    expect(t.keysInSlot(s, 2)).toEqual(keys.slice(0, 2));
    total += keys.length;
  }
  expect(total).toBe(t.size);
}

describe('the per-slot key index', () => {
  it('answers as slots_to_keys (newest first) over random adds, replacements and deletes that reuse table slots', () => {
    const rand = xorshiftPrng(21);
    const t = new KeyTable();
    t.indexSlots();
    const model = new Model();
    const pool = Array.from({ length: 400 }, (_, i) => randomKey(rand, i));
    const hash = new RHash();
    for (let step = 0; step < 20_000; step++) {
      const key = pool[Math.floor(rand() * pool.length)]!;
      const r = rand();
      if (r < 0.5) {
        const slot = t.slotOf(key);
        const value = rand() < 0.1 ? hash : `v${step}`;
        if (slot === undefined) {
          t.add(key, value);
          model.add(key);
        } else {
          t.setAt(slot, value); // a replacement keeps the key's place in its list
        }
      } else if (t.delete(key) !== undefined) {
        model.delete(key);
      }
      if (step % 2000 === 0) checkIndexed(t, model);
    }
    checkIndexed(t, model);
    // Every slot the model never saw is empty.
    for (let s = 0; s < 16384; s += 97) if (!model.bySlot.has(s)) expect(t.countInSlot(s)).toBe(0);
  });

  it('keeps every key through growth of the table slots and rehashes of its lookup index', () => {
    const t = new KeyTable();
    t.indexSlots();
    const model = new Model();
    for (let i = 0; i < 5000; i++) {
      const k = i % 3 === 0 ? `{tag}${i}` : `key:${i}`;
      t.add(k, 'v');
      model.add(k);
    }
    checkIndexed(t, model);
    expect(t.countInSlot(keyHashSlot('{tag}'))).toBe(1667);
    // Delete every other one, then add new keys into the freed table slots.
    for (let i = 0; i < 5000; i += 2) {
      const k = i % 3 === 0 ? `{tag}${i}` : `key:${i}`;
      t.delete(k);
      model.delete(k);
    }
    for (let i = 0; i < 1000; i++) {
      t.add(`new:${i}`, 'w');
      model.add(`new:${i}`);
    }
    checkIndexed(t, model);
  });

  it('turned on over a table that holds keys, it indexes them; it stays on through clear()', () => {
    const t = new KeyTable();
    expect(t.slotIndexed).toBe(false);
    for (let i = 0; i < 300; i++) t.add(`{x}${i}`, 'v');
    t.delete('{x}7');
    const slot = keyHashSlot('{x}');
    // Off: the walk of every key, in table order.
    const walked = t.keysInSlot(slot);
    expect(walked).toHaveLength(299);
    expect(t.countInSlot(slot)).toBe(299);
    expect(t.keysInSlot(slot, 3)).toEqual(['{x}0', '{x}1', '{x}2']);
    t.indexSlots();
    expect(t.slotIndexed).toBe(true);
    expect(t.countInSlot(slot)).toBe(299);
    // Indexed in table order, each first in its list: the last table slot comes first.
    expect(t.keysInSlot(slot)).toEqual([...walked].reverse());
    t.clear();
    expect(t.slotIndexed).toBe(true);
    expect(t.countInSlot(slot)).toBe(0);
    expect(t.keysInSlot(slot)).toEqual([]);
    t.add('{x}new', 'v');
    t.add('other', 'v');
    expect(t.keysInSlot(slot)).toEqual(['{x}new']);
    expect(t.countInSlot(keyHashSlot('other'))).toBe(1);
  });

  it('without the index, counts and walks give the same sets as with it', () => {
    const rand = xorshiftPrng(7);
    const on = new KeyTable();
    on.indexSlots();
    const off = new KeyTable();
    const pool = Array.from({ length: 200 }, (_, i) => randomKey(rand, i));
    for (let step = 0; step < 3000; step++) {
      const key = pool[Math.floor(rand() * pool.length)]!;
      if (rand() < 0.6) {
        if (on.slotOf(key) === undefined) {
          on.add(key, 'v');
          off.add(key, 'v');
        }
      } else {
        on.delete(key);
        off.delete(key);
      }
    }
    const slots = new Set(pool.map(keyHashSlot));
    for (const s of slots) {
      expect(off.countInSlot(s)).toBe(on.countInSlot(s));
      expect(new Set(off.keysInSlot(s))).toEqual(new Set(on.keysInSlot(s)));
    }
  });

  it('a keyspace keeps it through a flush during a snapshot (a new table) and SWAPDB', () => {
    const dbs = new Databases(2);
    dbs.indexSlots();
    const a = dbs.get(0);
    const b = dbs.get(1);
    a.set('{s}1', 'v');
    a.set('{s}2', 'v');
    b.set('{s}3', 'v');
    const slot = keyHashSlot('{s}');
    const epochs = dbs.beginSnapshot(1);
    a.flush(); // during a snapshot: a fresh table for the live data
    a.set('{s}4', 'v');
    expect(a.keysInSlot(slot)).toEqual(['{s}4']);
    expect(a.countInSlot(slot)).toBe(1);
    dbs.endSnapshot(epochs);
    dbs.swap(0, 1);
    expect(a.keysInSlot(slot)).toEqual(['{s}3']);
    expect(b.keysInSlot(slot)).toEqual(['{s}4']);
    // Expired keys are counted until deleted, as Redis's countKeysInSlot.
    a.setExpire('{s}3', 5);
    expect(a.countInSlot(slot)).toBe(1);
    expect(a.deleteIfExpired('{s}3', 10)).toBe(true);
    expect(a.countInSlot(slot)).toBe(0);
    const plain = new Keyspace();
    plain.set('{s}9', 'v');
    expect(plain.countInSlot(slot)).toBe(1);
  });

  describe('after a snapshot is loaded', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-slotidx-'));
    });
    afterEach(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('the loaded databases index every key of the snapshot, in every database', async () => {
      const rand = xorshiftPrng(5);
      const dbs = new Databases(3);
      dbs.indexSlots();
      for (let i = 0; i < 3000; i++) {
        const ks = dbs.get(i % 3);
        const k = randomKey(rand, i).replace('€', '\xa4'); // keys are latin1 in snapshots (one byte a char)
        ks.set(k, `v${i}`);
        if (i % 5 === 0) ks.delete(k);
      }
      const meta = await new Snapshotter(dir, dbs).start(10, 1, { voters: [1], learners: [] }, [], undefined);
      expect(meta?.index).toBe(10);
      const loaded = new Databases(3);
      loaded.indexSlots();
      loaded.get(1).set('{a}stale', 'v'); // restore flushes first: a key not in the snapshot goes
      loaded.flush();
      const file = path.join(dir, 'snapshots', fs.readdirSync(path.join(dir, 'snapshots')).find((f) => f.includes('000000000000000a'))!);
      readSnapshotFile(file, (k, v, at, db) => loaded.get(db).load(k, v, at));
      for (let db = 0; db < 3; db++) {
        const want = new Map<number, Set<string>>();
        for (const k of dbs.get(db).keys()) {
          const s = keyHashSlot(k);
          if (!want.has(s)) want.set(s, new Set());
          want.get(s)!.add(k);
        }
        let total = 0;
        for (const [s, keys] of want) {
          expect(loaded.get(db).countInSlot(s)).toBe(keys.size);
          expect(new Set(loaded.get(db).keysInSlot(s))).toEqual(keys);
          total += keys.size;
        }
        expect(total).toBe(loaded.get(db).size);
      }
    });
  });
});
