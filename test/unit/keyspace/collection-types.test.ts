/**
 * The hash and set value types: O(1) operations by position, clone
 * independence, the snapshot round trip (items() → fromItems) keeping the
 * internal order, and SPOP's determinism across replicas.
 */
import { describe, expect, it } from 'vitest';
import { setCommands } from '../../../src/commands/set.js';
import { entrySeed } from '../../../src/commands/random.js';
import type { Ctx } from '../../../src/commands/types.js';
import { Databases } from '../../../src/keyspace/databases.js';
import { Keyspace } from '../../../src/keyspace/keyspace.js';
import { RHash } from '../../../src/keyspace/types/hash.js';
import { fromItems } from '../../../src/keyspace/types/index.js';
import { RSet, compareIntStrings } from '../../../src/keyspace/types/set.js';
import { RespWriter } from '../../../src/server/resp-writer.js';
import { Engine } from '../../helpers/engine.js';

function setOf(...ms: string[]): RSet {
  const s = new RSet();
  for (const m of ms) s.add(m);
  return s;
}

describe('RSet', () => {
  it('adds, deletes by swapping with the last member, and picks by position', () => {
    const s = setOf('a', 'b', 'c', 'd');
    expect(s.add('a')).toBe(false);
    expect(s.size).toBe(4);
    expect(s.delete('b')).toBe(true);
    expect(s.delete('b')).toBe(false);
    expect([...s.items()]).toEqual(['a', 'd', 'c']);
    expect(s.at(1)).toBe('d');
    expect(s.removeAt(0)).toBe('a');
    expect([...s.items()]).toEqual(['c', 'd']);
    expect(s.has('c') && s.has('d') && !s.has('a')).toBe(true);
    // The SSCAN iterator keeps insertion order and survives deletes.
    const it = s.iterator();
    expect(it.next().value).toBe('c');
    s.delete('d');
    expect(it.next().done).toBe(true);
  });

  it('is an intset while every member is an integer and there are at most 512, then a hashtable for good', () => {
    const s = new RSet();
    for (let i = 0; i < 512; i++) s.add(String(i - 100));
    expect(s.encoding).toBe('intset');
    s.add('1000');
    expect(s.encoding).toBe('hashtable');
    s.delete('1000');
    expect(s.encoding).toBe('hashtable');
    const t = setOf('1', '-0');
    expect(t.encoding).toBe('hashtable');
    expect(RSet.forFirst('x').encoding).toBe('hashtable');
    expect(RSet.forFirst('7').encoding).toBe('intset');
  });

  it('lists an intset in ascending numeric order, like Redis', () => {
    const s = setOf('10', '-3', '9223372036854775807', '-9223372036854775808', '2', '0');
    expect(s.ordered()).toEqual(['-9223372036854775808', '-3', '0', '2', '10', '9223372036854775807']);
    expect(['5', '-50', '40', '-4'].sort(compareIntStrings)).toEqual(['-50', '-4', '5', '40']);
  });

  it('clones share nothing', () => {
    const s = setOf('a', 'b');
    const c = s.clone();
    c.add('z');
    c.delete('a');
    expect([...s.items()]).toEqual(['a', 'b']);
    expect([...c.items()]).toEqual(['z', 'b']);
    expect(c.encoding).toBe(s.encoding);
  });

  it('round-trips through snapshot items in the same order', () => {
    const s = setOf('q', 'w', 'e', 'r', 't', 'y');
    s.delete('w');
    s.removeAt(0);
    const back = fromItems('set', [...s.items()]) as RSet;
    expect(back).toBeInstanceOf(RSet);
    expect([...back.items()]).toEqual([...s.items()]);
    for (let i = 0; i < s.size; i++) expect(back.at(i)).toBe(s.at(i));
    expect((fromItems('set', ['1', '2']) as RSet).encoding).toBe('intset');
    expect(() => fromItems('set', ['a', 'a'])).toThrow(/duplicate/);
    expect(() => fromItems('set', [])).toThrow(/empty/);
  });
});

describe('RHash', () => {
  it('sets, gets and deletes fields; iterates in insertion order like a listpack', () => {
    const h = new RHash();
    expect(h.set('a', '1')).toBe(true);
    expect(h.set('b', '2')).toBe(true);
    expect(h.set('c', '3')).toBe(true);
    expect(h.set('a', '4')).toBe(false);
    expect(h.delete('a')).toBe(true);
    expect(h.delete('a')).toBe(false);
    h.set('a', '5');
    expect([...h.entries()]).toEqual([
      ['b', '2'],
      ['c', '3'],
      ['a', '5'],
    ]);
    expect(h.get('c')).toBe('3');
    expect(h.get('zz')).toBeUndefined();
    for (let i = 0; i < h.size; i++) expect(h.get(h.fieldAt(i))).toBe(h.valueAt(i));
  });

  it('is a listpack up to 512 fields of at most 64 bytes, then a hashtable for good', () => {
    const h = new RHash();
    h.set('f', 'x'.repeat(64));
    expect(h.encoding).toBe('listpack');
    h.set('g', 'x'.repeat(65));
    expect(h.encoding).toBe('hashtable');
    h.delete('g');
    expect(h.encoding).toBe('hashtable');
    const big = new RHash();
    for (let i = 0; i < 512; i++) big.set(`f${i}`, 'v');
    expect(big.encoding).toBe('listpack');
    big.set('one-more', 'v');
    expect(big.encoding).toBe('hashtable');
  });

  it('clones share nothing', () => {
    const h = new RHash();
    h.set('a', '1');
    const c = h.clone();
    c.set('a', '2');
    c.set('b', '3');
    expect([...h.items()]).toEqual(['a', '1']);
    expect([...c.items()]).toEqual(['a', '2', 'b', '3']);
  });

  it('round-trips through snapshot items in the same order, encoding recomputed', () => {
    const h = new RHash();
    for (const f of ['z', 'y', 'x', 'w']) h.set(f, f + f);
    h.delete('y');
    const back = fromItems('hash', [...h.items()]) as RHash;
    expect([...back.entries()]).toEqual([...h.entries()]);
    expect(back.encoding).toBe('listpack');
    expect((fromItems('hash', ['f', 'x'.repeat(65)]) as RHash).encoding).toBe('hashtable');
    expect(() => fromItems('hash', ['f'])).toThrow();
    expect(() => fromItems('hash', ['f', '1', 'f', '2'])).toThrow(/duplicate/);
  });
});

describe('Keyspace.copy', () => {
  it('clones a collection so the copy changes independently', () => {
    const db = new Keyspace();
    db.set('s', setOf('a'));
    db.copy('s', 't');
    (db.getMutable('t', 0) as RSet).add('b');
    expect((db.get('s', 0) as RSet).size).toBe(1);
    expect((db.get('t', 0) as RSet).size).toBe(2);
  });
});

describe('SPOP determinism', () => {
  /** Applies SPOP on a keyspace as a replica would, at log index `index` with leader time `now`. */
  function apply(db: Keyspace, index: number, now: number, argv: string[]): string {
    const w = new RespWriter(2);
    const ctx: Ctx = { db, dbIndex: 0, dbs: new Databases(1, () => db), now, index, w };
    setCommands[argv[0]!.toLowerCase()]!(ctx, argv);
    return w.take();
  }
  function replica(): Keyspace {
    const db = new Keyspace();
    const s = new RSet();
    for (let i = 0; i < 200; i++) s.add(`m${i}`);
    db.set('s', s);
    return db;
  }

  it('pops the same members on every replica given the same entries', () => {
    const a = replica();
    const b = replica();
    const popsA: string[] = [];
    const popsB: string[] = [];
    for (let i = 1; i <= 50; i++) {
      popsA.push(apply(a, i, 1_700_000_000_000 + i, i % 2 ? ['SPOP', 's'] : ['SPOP', 's', '3']));
      popsB.push(apply(b, i, 1_700_000_000_000 + i, i % 2 ? ['SPOP', 's'] : ['SPOP', 's', '3']));
    }
    expect(popsA).toEqual(popsB);
    expect([...(a.get('s', 0) as RSet).items()]).toEqual([...(b.get('s', 0) as RSet).items()]);
    expect((a.get('s', 0) as RSet).size).toBe(200 - 25 - 75);
  });

  it('a replica restored from a snapshot of the set pops what the original pops', () => {
    const a = replica();
    for (let i = 1; i <= 10; i++) apply(a, i, 5000, ['SPOP', 's']);
    const b = new Keyspace();
    b.set('s', fromItems('set', [...(a.get('s', 0) as RSet).items()]));
    for (let i = 11; i <= 30; i++) expect(apply(b, i, 6000, ['SPOP', 's', '2'])).toBe(apply(a, i, 6000, ['SPOP', 's', '2']));
  });

  it('different entries draw differently, and commands of one entry draw in turn', () => {
    const first = new Set<string>();
    for (let i = 1; i <= 20; i++) first.add(apply(replica(), i, 1000, ['SPOP', 's']));
    expect(first.size).toBeGreaterThan(10);
    expect(entrySeed(1, 1000)).not.toBe(entrySeed(2, 1000));
    expect(entrySeed(1, 1000)).not.toBe(entrySeed(1, 1001));
    expect(entrySeed(1, 1000 + 2 ** 32)).not.toBe(entrySeed(1, 1000));
    // One MULTI entry: the same ctx for both SPOPs, the second continues the first's sequence.
    const db = replica();
    const w = new RespWriter(2);
    const ctx: Ctx = { db, dbIndex: 0, dbs: new Databases(1, () => db), now: 1000, index: 7, w };
    setCommands.spop!(ctx, ['SPOP', 's', '5']);
    setCommands.spop!(ctx, ['SPOP', 's', '5']);
    const replies = w.take();
    const again = replica();
    const w2 = new RespWriter(2);
    const ctx2: Ctx = { db: again, dbIndex: 0, dbs: new Databases(1, () => again), now: 1000, index: 7, w: w2 };
    setCommands.spop!(ctx2, ['SPOP', 's', '5']);
    setCommands.spop!(ctx2, ['SPOP', 's', '5']);
    expect(w2.take()).toBe(replies);
    expect((db.get('s', 0) as RSet).size).toBe(190);
  });

  it('the engine gives each write its own index, so repeated SPOPs differ', () => {
    const e = new Engine({ clock: () => 1000 });
    const args: string[] = [];
    for (let i = 0; i < 100; i++) args.push(`m${i}`);
    e.call('SADD', 's', ...args);
    const pops = new Set<string>();
    for (let i = 0; i < 20; i++) pops.add(e.call('SPOP', 's'));
    expect(pops.size).toBe(20);
  });
});
