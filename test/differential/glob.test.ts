/**
 * Redis's glob (stringmatchlen), differential: KEYS on a real redis-server
 * and on the engine over the same keys, for hand-picked and seeded random
 * patterns (brackets, ranges, escapes, bytes >= 0x80, NUL, unterminated
 * classes); the nocase flag through COMMAND LIST FILTERBY PATTERN, which
 * Redis matches case-insensitively.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globMatch } from '../../src/keyspace/glob.js';
import { Differential, parseReply, type Step } from '../helpers/engine-diff.js';
import { createPrng } from '../../src/util/prng.js';

let diff: Differential;

beforeAll(async () => {
  diff = await Differential.start();
});
afterAll(async () => {
  await diff?.stop();
});


// Stars and question marks are repeated so that many random patterns select some keys.
const ALPHABET = ['a', 'b', 'A', '-', '^', ']', '[', '[', '\\', '*', '*', '*', '?', '?', '\xff', '\x80', '\x00'];
const KEY_ALPHABET = ['a', 'b', 'A', '-', '^', ']', '[', '\\', '*', '\xff', '\x80', '\x00'];

function randomString(r: () => number, alphabet: string[], maxLen: number): string {
  const n = Math.floor(r() * (maxLen + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)]!;
  return s;
}

const fixedKeys = [
  '',
  'a',
  'b',
  'ab',
  'abc',
  'aXc',
  'hello',
  'hallo',
  'hxllo',
  'h\xffllo',
  '[',
  ']',
  '[a]',
  '\\',
  'a\\b',
  '*',
  '?',
  '-',
  '^',
  'A',
  'Z',
  '\x00',
  'a\x00b',
  '\x80',
  '\xff',
  'aaaaaaaaaaaaaaaaaaaaaaaab',
];

const fixedPatterns = [
  '',
  '*',
  '**',
  '***',
  '?',
  '??',
  '*?',
  '?*',
  'a*',
  '*b',
  'a*b',
  'a*c',
  '*a*',
  'a**b',
  '[',
  '[a',
  '[a-',
  '[a-c',
  '[^',
  '[^a',
  '[]',
  '[]]',
  '[^]]',
  '[\\',
  '[\\]',
  '[\\]]',
  '[a\\',
  '\\',
  '\\\\',
  '\\*',
  '\\?',
  '\\[',
  'a\\',
  '*\\',
  '[a-c]',
  '[c-a]',
  '[A-z]',
  '[z-A]',
  '[^a-c]',
  '[a-]',
  '[-a]',
  '[a-\\]',
  '[\xff-a]',
  '[a-\xff]',
  '[\x80-\xff]',
  '[\x00-a]',
  '[^\x00]',
  'a[\x00]b',
  'a?b',
  'h[a-e]llo',
  'h[^e]llo',
  'h?llo',
  'h*llo',
  '*a*a*a*a*a*a*b',
  '*a*a*a*a*a*a*c',
  'a*a*a*a*a*a*a*a*a*a*a*b',
  '[[]',
  '[[]*',
  '*[',
  '*[a',
  '[*]',
  '[?]',
  '[abc',
  '[a-b-c]',
  '[\\-]',
  '[a\\-c]',
  'A',
  '[a]',
  '\\a',
  '[-]',
  '[^-]',
];

function keysSteps(patterns: readonly string[], keys: readonly string[]): Step[] {
  const steps: Step[] = keys.map((k) => ['SET', k, 'v']);
  for (const p of patterns) steps.push({ cmd: ['KEYS', p], cmp: 'set' });
  return steps;
}

describe('glob: KEYS patterns vs redis-server', () => {
  for (const proto of [2, 3] as const) {
    it(`hand-picked patterns over tricky keys (RESP${proto})`, async () => {
      const r = await diff.run(keysSteps(fixedPatterns, fixedKeys), proto);
      expect(r.mismatches).toEqual([]);
      expect(r.compared).toBe(fixedKeys.length + fixedPatterns.length);
    });
  }

  for (const seed of [1, 2, 3]) {
    it(`random patterns over random keys (seed ${seed})`, async () => {
      const r = createPrng(seed * 7919);
      const keys = new Set<string>(fixedKeys);
      for (let i = 0; i < 80; i++) keys.add(randomString(r, KEY_ALPHABET, 4));
      const patterns: string[] = [];
      for (let i = 0; i < 500; i++) patterns.push(randomString(r, ALPHABET, 6));
      const res = await diff.run(keysSteps(patterns, [...keys]), 2);
      expect(res.mismatches).toEqual([]);
      // The fuzz is only worth something if many patterns select keys.
      const selecting = patterns.filter((p) => [...keys].some((k) => k !== '' && globMatch(p, k))).length;
      expect(selecting).toBeGreaterThan(150);
    });
  }

  it('long patterns with many stars stay fast (no exponential backtracking)', async () => {
    const key = 'a'.repeat(60);
    const patterns = ['*a'.repeat(30) + 'b', 'a*'.repeat(40) + 'b', '*'.repeat(1000) + 'b', '*a'.repeat(5000)];
    const res = await diff.run(keysSteps(patterns, [key, key + 'b']), 2);
    expect(res.mismatches).toEqual([]);
  });
});

describe('glob: nocase vs COMMAND LIST FILTERBY PATTERN', () => {
  it('matches the same command names as redis-server', async () => {
    const c = diff.client;
    const [all] = parseReply(await c.call('COMMAND', 'LIST'));
    const names = 'items' in all ? all.items.map((x) => ('v' in x ? x.v : '')) : [];
    expect(names.length).toBeGreaterThan(100);
    const patterns = ['*GET*', 'g?t', 'CONFIG|*', 'config|[G]ET', '[A-C]*', '[c-a]*', '[^a-x]*', '*|[S]ET', 'X*', '[XY]*', '\\G*', '*[\\E]X', 'getex', 'GETEX', '[a-Z]*'];
    const r = createPrng(99);
    const alpha = ['g', 'G', 'e', 'T', '*', '?', '[', ']', '^', '-', 'x', 'S', 'a', '|', '\\'];
    for (let i = 0; i < 150; i++) patterns.push(randomString(r, alpha, 5));
    const bad: string[] = [];
    for (const p of patterns) {
      const [got] = parseReply(await c.call('COMMAND', 'LIST', 'FILTERBY', 'PATTERN', p));
      const theirs = 'items' in got ? got.items.map((x) => ('v' in x ? x.v : '')).sort() : [];
      const ours = names.filter((n) => globMatch(p, n, true)).sort();
      if (JSON.stringify(theirs) !== JSON.stringify(ours)) bad.push(`${JSON.stringify(p)}: redis ${theirs.length} raftis ${ours.length}`);
    }
    expect(bad).toEqual([]);
  });
});

describe('glob: unit cases', () => {
  const cases: [string, string, boolean, boolean?][] = [
    ['*', '', false],
    ['', '', true],
    ['a*', 'a', true],
    ['a**', 'a', true],
    ['[^', 'x', true],
    ['[abc', 'b', true],
    ['[a-\xff]', '\x80', false],
    ['[a-\xff]', '\xff', true],
    ['[a-\xff]', 'A', true],
    ['[\\A]', 'a', false, true],
    ['[A]', 'a', true, true],
    ['[A-C]', 'b', true, true],
    ['HELLO', 'hello', true, true],
    ['h\\ELLO', 'heLLo', true, true],
  ];
  for (const [p, s, want, nocase] of cases) {
    it(`${JSON.stringify(p)} ${nocase ? '~' : '='} ${JSON.stringify(s)} → ${want}`, () => {
      expect(globMatch(p, s, nocase ?? false)).toBe(want);
    });
  }
});
