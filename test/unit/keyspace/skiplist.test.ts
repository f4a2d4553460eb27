import { describe, expect, it } from 'vitest';
import { SkipList } from '../../../src/keyspace/types/skiplist.js';
import { createPrng } from '../../../src/util/prng.js';

/** (score, member) pairs in skip-list order. */
function model(entries: Map<string, number>): [number, string][] {
  return [...entries].map(([m, s]): [number, string] => [s, m]).sort((a, b) => (a[0] !== b[0] ? a[0] - b[0] : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
}

/** The list's order, ranks, n-th nodes, backward links and spans against the model. */
function check(sl: SkipList, want: [number, string][]): void {
  const got: [number, string][] = [];
  let prev = null;
  for (let x = sl.first; x !== null; x = x.next[0]!) {
    expect(x.backward).toBe(prev);
    got.push([x.score, x.member]);
    prev = x;
  }
  expect(sl.tail).toBe(prev);
  expect(got).toEqual(want);
  expect(sl.length).toBe(want.length);
  for (let r = 0; r < want.length; r += 1 + (r >> 3)) {
    const [s, m] = want[r]!;
    expect(sl.getRank(s, m)).toBe(r + 1);
    const n = sl.byRank(r + 1)!;
    expect([n.score, n.member]).toEqual([s, m]);
  }
  // Every link's span is the rank distance it jumps.
  const rankOf = new Map<unknown, number>([[sl.header, 0]]);
  let r = 0;
  for (let x = sl.first; x !== null; x = x.next[0]!) rankOf.set(x, ++r);
  for (let i = 0; i < sl.level; i++) {
    for (let x = sl.header; x.next[i] !== null; x = x.next[i]!) expect(x.span[i]).toBe(rankOf.get(x.next[i]!)! - rankOf.get(x)!);
  }
}

describe('SkipList (issue 18: insert without Array#fill, rank carried down the levels)', () => {
  it('keeps order, ranks and spans through random inserts, updates and deletes, equal scores included', () => {
    const rand = createPrng(1818);
    const sl = new SkipList();
    const entries = new Map<string, number>();
    for (let step = 0; step < 4000; step++) {
      const member = `m${String(Math.floor(rand() * 600)).padStart(4, '0')}`;
      const score = rand() < 0.6 ? 5 : Math.floor(rand() * 20) - 10;
      const cur = entries.get(member);
      const op = rand();
      if (cur === undefined) {
        sl.insert(score, member);
        entries.set(member, score);
      } else if (op < 0.5) {
        sl.updateScore(cur, member, score);
        entries.set(member, score);
      } else {
        expect(sl.delete(cur, member)).toBe(true);
        entries.delete(member);
      }
      if (step % 400 === 399) {
        check(sl, model(entries));
        check(sl.clone(), model(entries));
      }
    }
  });
});
