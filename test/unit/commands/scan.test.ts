/**
 * The one cursor scheme of SCAN, HSCAN, SSCAN and ZSCAN (src/commands/scan.ts):
 * what the differential scripts cannot pin down, because Redis's cursors
 * and hash order differ from raftis's.
 */
import { describe, expect, it } from 'vitest';
import { parseReply, replyItems, replyValue } from '../../helpers/engine-diff.js';
import { Engine } from '../../helpers/engine.js';

/** One call: [next cursor, the reply's items]. */
function call(e: Engine, argv: string[]): [string, string[]] {
  const [r] = parseReply(e.call(...argv));
  const [c, list] = replyItems(r);
  return [replyValue(c!), replyItems(list!).map(replyValue)];
}

/** Calls `argv(cursor)` until cursor 0, running `between` after each call; returns the names seen (every `step`-th item) and the calls made. */
function walk(e: Engine, argv: (cursor: string) => string[], step: number, between: (n: number) => void = () => {}): { seen: string[]; calls: number } {
  const seen: string[] = [];
  let cursor = '0';
  for (let calls = 1; calls < 100_000; calls++) {
    const [next, items] = call(e, argv(cursor));
    for (let i = 0; i < items.length; i += step) seen.push(items[i]!);
    if (next === '0') return { seen, calls };
    cursor = next;
    between(calls);
  }
  throw new Error('scan did not finish');
}

describe('one cursor scheme for SCAN, HSCAN, SSCAN and ZSCAN', () => {
  it('ZSCAN returns a member whose score moves during the walk (it walks the member map, not the score order)', () => {
    const e = new Engine();
    const args: string[] = [];
    for (let i = 0; i < 500; i++) args.push(String(i), `m${i}`);
    e.call('ZADD', 'z', ...args);
    // After each call, the highest-ranked members move below every other.
    const { seen } = walk(e, (c) => ['ZSCAN', 'z', c, 'COUNT', '10'], 2, (n) => {
      e.call('ZADD', 'z', String(-n), `m${500 - n}`);
    });
    const set = new Set(seen);
    expect(set.size).toBe(seen.length);
    for (let i = 0; i < 500; i++) expect(set.has(`m${i}`)).toBe(true);
  });

  it('answers cursor 0 as soon as nothing is left, also when the last call takes exactly COUNT names', () => {
    const e = new Engine();
    for (let i = 0; i < 20; i++) e.call('SET', `k${i}`, 'v');
    expect(walk(e, (c) => ['SCAN', c, 'COUNT', '5'], 1).calls).toBe(4);
    const fields: string[] = [];
    for (let i = 0; i < 600; i++) fields.push(`f${i}`, 'v');
    e.call('HSET', 'h', ...fields);
    const members: string[] = [];
    for (let i = 0; i < 600; i++) members.push(`m${i}`);
    e.call('SADD', 's', ...members);
    const zargs: string[] = [];
    for (let i = 0; i < 600; i++) zargs.push('1', `m${i}`);
    e.call('ZADD', 'z', ...zargs);
    expect(walk(e, (c) => ['HSCAN', 'h', c, 'COUNT', '100'], 2).calls).toBe(6);
    expect(walk(e, (c) => ['SSCAN', 's', c, 'COUNT', '200'], 1).calls).toBe(3);
    expect(walk(e, (c) => ['ZSCAN', 'z', c, 'COUNT', '600'], 2).calls).toBe(1);
  });

  it('skips the name read ahead when it is deleted before the next call, and never returns a deleted one', () => {
    const e = new Engine();
    for (let i = 0; i < 30; i++) e.call('SET', `k${i}`, 'v');
    const [c1, first] = call(e, ['SCAN', '0', 'COUNT', '10']);
    expect(first).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    e.call('DEL', 'k10', 'k11');
    const [, second] = call(e, ['SCAN', c1, 'COUNT', '10']);
    // k10, read ahead, counts towards COUNT but is not returned; k11 is never reached.
    expect(second).toEqual(Array.from({ length: 9 }, (_, i) => `k${i + 12}`));
  });

  it('a cursor continues only the walk it was handed out for: another value, or the same key made again, starts over', () => {
    const e = new Engine();
    const members: string[] = [];
    for (let i = 0; i < 600; i++) members.push(`m${i}`);
    e.call('SADD', 'a', ...members);
    e.call('SADD', 'b', ...members);
    const [ca, firstA] = call(e, ['SSCAN', 'a', '0', 'COUNT', '10']);
    // a's cursor on b: b's walk from the start; a's walk is still open.
    const [, firstB] = call(e, ['SSCAN', 'b', ca, 'COUNT', '10']);
    expect(firstB).toEqual(firstA);
    const [ca2, nextA] = call(e, ['SSCAN', 'a', ca, 'COUNT', '10']);
    expect(nextA).toEqual(members.slice(10, 20));
    e.call('DEL', 'a');
    e.call('SADD', 'a', ...members);
    expect(call(e, ['SSCAN', 'a', ca2, 'COUNT', '10'])[1]).toEqual(members.slice(0, 10));
  });

  it('FLUSHALL ends every SCAN walk: an old cursor starts over on the new keys', () => {
    const e = new Engine();
    for (let i = 0; i < 30; i++) e.call('SET', `old${i}`, 'v');
    const [c] = call(e, ['SCAN', '0', 'COUNT', '10']);
    e.call('FLUSHALL');
    for (let i = 0; i < 30; i++) e.call('SET', `new${i}`, 'v');
    expect(call(e, ['SCAN', c, 'COUNT', '10'])[1]).toEqual(Array.from({ length: 10 }, (_, i) => `new${i}`));
  });

  it('an unknown cursor starts over, as do cursors never handed out (above 2^53)', () => {
    const e = new Engine();
    for (let i = 0; i < 30; i++) e.call('SET', `k${i}`, 'v');
    const start = call(e, ['SCAN', '0', 'COUNT', '10'])[1];
    expect(call(e, ['SCAN', '123456', 'COUNT', '10'])[1]).toEqual(start);
    expect(call(e, ['SCAN', '18446744073709551615', 'COUNT', '10'])[1]).toEqual(start);
  });
});
