/**
 * The copy-on-write snapshot epoch: whatever happens to the keyspace while
 * the walker runs (writes, deletes, re-creations, TTL changes, in-place
 * collection changes, FLUSHALL), the records it emits are exactly the
 * keyspace as it was when the epoch began.
 */
import { describe, expect, it } from 'vitest';
import { Keyspace, type Collection, type Value } from '../../../src/keyspace/keyspace.js';
import { createPrng } from '../../../src/util/prng.js';

/** A minimal mutable collection for the tests (the real types live in src/keyspace/types). */
class TestList implements Collection {
  readonly type = 'list' as const;
  constructor(public elems: string[]) {}
  clone(): TestList {
    return new TestList([...this.elems]);
  }
  items(): Iterable<string> {
    return this.elems;
  }
  forEachItem(fn: (item: string) => void): void {
    for (const e of this.elems) fn(e);
  }
}

type Flat = Map<string, { v: string; at: number | undefined }>;

/** The state as plain data (collections as their items joined). */
function flatten(key: string, v: Value, at: number | undefined, out: Flat): void {
  out.set(key, { v: typeof v === 'string' ? 's:' + v : 'l:' + [...v.items()].join(','), at });
}

function stateOf(ks: Keyspace): Flat {
  const out: Flat = new Map();
  for (const k of ks.keys()) flatten(k, ks.get(k, 0)!, ks.expireAt(k), out);
  return out;
}

function runEpochScenario(seed: number, keys: number, ops: number, chunk: number): { expected: Flat; got: Flat; dups: number } {
  const rnd = createPrng(seed);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const ks = new Keyspace();
  const name = (i: number): string => `k${i}`;
  for (let i = 0; i < keys; i++) {
    if (rnd() < 0.3) ks.set(name(i), new TestList([`a${i}`, `b${i}`]) as unknown as Value);
    else ks.set(name(i), `v${i}`);
    if (rnd() < 0.2) ks.setExpire(name(i), 1_000_000 + i);
  }
  const expected = stateOf(ks);
  const epoch = ks.beginSnapshot(7);
  const got: Flat = new Map();
  let records = 0;
  const emit = (k: string, v: Value, at: number | undefined): void => {
    const prev = got.get(k);
    const before = new Map<string, { v: string; at: number | undefined }>();
    flatten(k, v, at, before);
    // A key emitted twice must carry the same value both times.
    if (prev !== undefined) expect(before.get(k)).toEqual(prev);
    got.set(k, before.get(k)!);
    records++;
  };
  // Half the runs write collections out on their first change instead of cloning them.
  if (seed % 2 === 0) epoch.sink = emit;
  let done = false;
  let op = 0;
  while (!done) {
    const burst = pick(4);
    for (let b = 0; b < burst && op < ops; b++, op++) {
      const k = name(pick(keys + keys / 2));
      const r = rnd();
      if (r < 0.25) ks.set(k, `new${op}`);
      else if (r < 0.45) ks.delete(k);
      else if (r < 0.55) ks.setExpire(k, 2_000_000 + op);
      else if (r < 0.6) ks.persist(k);
      else if (r < 0.8) {
        const v = ks.getMutable(k, 0);
        if (v !== undefined && typeof v !== 'string') (v as unknown as TestList).elems.push(`m${op}`);
        else if (v === undefined) ks.set(k, new TestList([`c${op}`]) as unknown as Value);
      } else if (r < 0.85) ks.rename(k, name(pick(keys)));
      else if (r < 0.9) ks.copy(k, name(pick(keys)));
      else if (r < 0.9005) ks.flush();
      else ks.delete(k);
    }
    done = epoch.step(chunk, emit);
  }
  ks.endSnapshot();
  return { expected, got, dups: records - got.size };
}

describe('snapshot epoch (copy-on-write)', () => {
  it('emits exactly the state at the epoch start, for 300 random interleavings', () => {
    let dupsSeen = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { expected, got, dups } = runEpochScenario(seed, 50 + (seed % 7) * 30, 400, 1 + (seed % 9));
      expect(got, `seed ${seed}`).toEqual(expected);
      dupsSeen += dups;
    }
    // The scenarios do exercise keys changed after their visit.
    expect(dupsSeen).toBeGreaterThan(0);
  });

  it('a key deleted before the walk reaches it, then re-created, is emitted with its old value', () => {
    const ks = new Keyspace();
    ks.set('a', '1');
    ks.set('b', '2');
    const epoch = ks.beginSnapshot(1);
    const out: [string, Value][] = [];
    expect(epoch.step(1, (k, v) => out.push([k, v]))).toBe(false);
    ks.delete('b');
    ks.set('b', 'new');
    ks.set('c', 'created');
    while (!epoch.step(1, (k, v) => out.push([k, v])));
    ks.endSnapshot();
    expect(new Map(out)).toEqual(new Map([['a', '1'], ['b', '2']]));
  });

  it('copies a collection at most once, and not at all once the walk has emitted it', () => {
    const ks = new Keyspace();
    const big = new TestList(['x']);
    let clones = 0;
    big.clone = function () {
      clones++;
      return new TestList([...this.elems]);
    };
    ks.set('big', big as unknown as Value);
    ks.set('z', 'last');
    const epoch = ks.beginSnapshot(1);
    const seen: string[] = [];
    epoch.step(1, (k, v) => seen.push(k + '=' + (typeof v === 'string' ? v : [...v.items()].join(','))));
    expect(seen).toEqual(['big=x']);
    (ks.getMutable('big', 0) as unknown as TestList).elems.push('y');
    (ks.getMutable('big', 0) as unknown as TestList).elems.push('z');
    expect(clones).toBe(0);
    while (!epoch.step(10, (k) => seen.push(k)));
    ks.endSnapshot();
    expect(seen).toEqual(['big=x', 'z']);
  });

  it('with a sink, a collection about to change is written out as it was, never cloned', () => {
    const ks = new Keyspace();
    ks.set('a', 'first');
    const big = new TestList(['x', 'y']);
    let clones = 0;
    big.clone = function () {
      clones++;
      return new TestList([...this.elems]);
    };
    ks.set('big', big as unknown as Value);
    const epoch = ks.beginSnapshot(1);
    const out: string[] = [];
    const emit = (k: string, v: Value): void => void out.push(k + '=' + (typeof v === 'string' ? v : [...v.items()].join(',')));
    epoch.sink = emit;
    (ks.getMutable('big', 0) as unknown as TestList).elems.push('z');
    expect(out).toEqual(['big=x,y']);
    while (!epoch.step(10, emit));
    ks.endSnapshot();
    expect(out).toEqual(['big=x,y', 'a=first']);
    expect(clones).toBe(0);
  });

  it('overlay holds only keys changed during the epoch', () => {
    const ks = new Keyspace();
    for (let i = 0; i < 10_000; i++) ks.set(`k${i}`, 'v');
    const epoch = ks.beginSnapshot(1);
    for (let i = 0; i < 10; i++) ks.set(`k${i * 7}`, 'w');
    expect(epoch.overlaySize).toBe(10);
    ks.endSnapshot();
  });

  it('FLUSHALL during the epoch: the snapshot still has every old key, the keyspace is empty', () => {
    const ks = new Keyspace();
    for (let i = 0; i < 100; i++) ks.set(`k${i}`, `v${i}`);
    const epoch = ks.beginSnapshot(1);
    const got = new Map<string, Value>();
    epoch.step(10, (k, v) => got.set(k, v));
    ks.flush();
    ks.set('k5', 'after');
    while (!epoch.step(10, (k, v) => got.set(k, v)));
    ks.endSnapshot();
    expect(got.size).toBe(100);
    expect(got.get('k5')).toBe('v5');
    expect(ks.size).toBe(1);
  });
});
