/**
 * Number parsing and formatting, differential: INCR/INCRBY/DECRBY over
 * tricky and random integer strings (string2ll and int64 overflow), and
 * INCRBYFLOAT over tricky and random float strings (strtold, long double
 * addition, "%.17Lf" formatting), on a real redis-server and on the engine.
 * Plus direct unit checks of the parsers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { add, formatHuman, string2ld, type LDFinite } from '../../src/util/long-double.js';
import { addInt64, parseScanCursor, string2ll } from '../../src/util/number.js';
import { Differential, type Step } from '../helpers/engine-diff.js';
import { createPrng } from '../../src/util/prng.js';

let diff: Differential;

beforeAll(async () => {
  diff = await Differential.start();
});
afterAll(async () => {
  await diff?.stop();
});


function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function digits(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
}

const trickyInts = [
  '0',
  '-0',
  '00',
  '01',
  '-01',
  '1',
  '-1',
  '+1',
  ' 1',
  '1 ',
  '',
  '-',
  '1a',
  '0x1',
  '1e3',
  '1.0',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '-9223372036854775809',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999',
  '-99999999999999999999',
  '100000000000000000000',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '-9007199254740993',
  '999999999999999',
  '1000000000000000',
  '1\x00',
  '\x001',
];

function randomInt(r: () => number): string {
  switch (Math.floor(r() * 6)) {
    case 0:
      return digits(r, 1 + Math.floor(r() * 20));
    case 1:
      return '-' + digits(r, 1 + Math.floor(r() * 20));
    case 2: {
      // Near the int64 limits.
      const base = pick(r, [9223372036854775807n, -9223372036854775808n, 9007199254740992n, -9007199254740992n, 0n]);
      return String(base - BigInt(Math.floor(r() * 2000) - 1000));
    }
    case 3:
      return String(Math.floor((r() - 0.5) * 2e15));
    case 4:
      return String(BigInt(Math.floor(r() * 2 ** 31)) * BigInt(Math.floor(r() * 2 ** 31)) * (r() < 0.5 ? -1n : 1n));
    default:
      return pick(r, trickyInts);
  }
}

const trickyFloats = [
  '0',
  '-0',
  '0.0',
  '1',
  '10.5',
  '0.1',
  '.1',
  '1.',
  '1e10',
  '1E-10',
  '1e+10',
  '-1.5e-7',
  '123456789012345678901234567890',
  '0.000000000000000001',
  '0.0000000000000000005',
  '0.00000000000000000499999999',
  '0.00000000000000000500000001',
  '1.00000000000000000049',
  '1.00000000000000000051',
  '1e308',
  '1e309',
  '1e4931',
  '1e4933',
  '1e-4940',
  '1e-4952',
  '0x1p-16445',
  '0x1p-16446',
  '0x1p16383',
  '0x1p16384',
  '0x1.fffffffffffffffep16383',
  '0x1.ffffffffffffffffp16383',
  '0xA.Bp-3',
  '0xffffffffffffffffff',
  'inf',
  '-Infinity',
  'nan',
  'NaN',
  '1e',
  '1e-',
  '++1',
  '--1',
  '1..2',
  '0.1.2',
  '1e1.5',
  '\x000',
];

function randomFloat(r: () => number): string {
  switch (Math.floor(r() * 7)) {
    case 0:
      return (r() < 0.3 ? '-' : '') + digits(r, Math.floor(r() * 8)) + '.' + digits(r, 1 + Math.floor(r() * 25));
    case 1:
      return (r() < 0.3 ? '-' : '') + digits(r, 1 + Math.floor(r() * 20)) + 'e' + String(Math.floor((r() - 0.5) * 60));
    case 2:
      return (r() < 0.5 ? '-' : '') + '0.' + digits(r, 1 + Math.floor(r() * 3)) + 'e' + String(Math.floor((r() - 0.5) * 9900));
    case 3:
      return String((r() - 0.5) * Math.pow(10, Math.floor(r() * 40) - 20));
    case 4:
      return (r() < 0.3 ? '-' : '') + '0x' + Math.floor(r() * 2 ** 31).toString(16) + '.' + Math.floor(r() * 2 ** 31).toString(16) + 'p' + String(Math.floor((r() - 0.5) * 200));
    case 5:
      return String(Math.floor(r() * 1e6)) + '.' + pick(r, ['5', '25', '125', '0625', '03125', '015625', '0078125']);
    default:
      return pick(r, trickyFloats);
  }
}

describe('integers vs redis-server', () => {
  for (const proto of [2, 3] as const) {
    it(`INCR / INCRBY / DECRBY on tricky and random values (RESP${proto})`, async () => {
      const r = createPrng(12345);
      const values = [...trickyInts];
      for (let i = 0; i < 300; i++) values.push(randomInt(r));
      const steps: Step[] = [];
      for (const v of values) {
        steps.push(['SET', 'k', v], ['INCR', 'k'], ['DECR', 'k'], ['GET', 'k']);
        steps.push(['SET', 'a', randomInt(r)], ['INCRBY', 'a', v], ['DECRBY', 'a', v], ['GET', 'a']);
        steps.push(['GETRANGE', 'k', v, '-1'], ['EXPIRE', 'nokey', v], ['SETRANGE', 'nokey', v, '']);
      }
      const res = await diff.run(steps, proto);
      expect(res.mismatches).toEqual([]);
    });
  }
});

describe('floats vs redis-server', () => {
  for (const proto of [2, 3] as const) {
    it(`INCRBYFLOAT on tricky values (RESP${proto})`, async () => {
      const steps: Step[] = [];
      for (const a of trickyFloats) {
        steps.push(['SET', 'f', '0'], ['INCRBYFLOAT', 'f', a]);
        for (const b of ['1', '-0.5', '1e-18', '3.3333333333333333333']) steps.push(['SET', 'f', a], ['INCRBYFLOAT', 'f', b]);
      }
      const res = await diff.run(steps, proto);
      expect(res.mismatches).toEqual([]);
    });
  }

  for (const seed of [7, 8]) {
    it(`INCRBYFLOAT on random pairs (seed ${seed})`, async () => {
      const r = createPrng(seed);
      const steps: Step[] = [];
      for (let i = 0; i < 600; i++) steps.push(['SET', 'f', randomFloat(r)], ['INCRBYFLOAT', 'f', randomFloat(r)]);
      const res = await diff.run(steps, 2);
      expect(res.mismatches).toEqual([]);
      // Most pairs must be valid sums, not just matching error replies.
      const sums = res.replies.filter((x, i) => i % 2 === 1 && x.startsWith('$'));
      expect(sums.length).toBeGreaterThan(400);
    });
  }
});

describe('number parsing units', () => {
  it('string2ll follows Redis', () => {
    expect(string2ll('0')).toBe(0);
    expect(string2ll('-0')).toBeNull();
    expect(string2ll('007')).toBeNull();
    expect(string2ll('+7')).toBeNull();
    expect(string2ll('123456789012345')).toBe(123456789012345);
    expect(string2ll('9007199254740993')).toBe(9007199254740993n);
    expect(string2ll('9007199254740991')).toBe(9007199254740991);
    expect(string2ll('-9223372036854775808')).toBe(-9223372036854775808n);
    expect(string2ll('9223372036854775808')).toBeNull();
    expect(string2ll('')).toBeNull();
    expect(string2ll('1'.repeat(21))).toBeNull();
  });

  it('addInt64 is exact across the 2^53 boundary and stops at int64', () => {
    expect(addInt64(9007199254740991, 1)).toBe(9007199254740992n);
    expect(addInt64(9007199254740992n, -1)).toBe(9007199254740991);
    expect(addInt64(9223372036854775807n, 1)).toBeNull();
    expect(addInt64(-9223372036854775808n, -1)).toBeNull();
  });

  it('parseScanCursor is strtoul with Redis checks', () => {
    expect(parseScanCursor('0')).toBe(0n);
    expect(parseScanCursor('')).toBe(0n);
    expect(parseScanCursor('-1')).toBe(18446744073709551615n);
    expect(parseScanCursor('+5')).toBe(5n);
    expect(parseScanCursor(' 5')).toBeNull();
    expect(parseScanCursor('5 ')).toBeNull();
    expect(parseScanCursor('18446744073709551616')).toBeNull();
    expect(parseScanCursor('5\x00x')).toBe(5n);
  });

  it('long double: 10.5 + 0.1 prints 10.6, 0.1 + 0.2 prints 0.3, ties go to even', () => {
    const sum = (a: string, b: string): string => formatHuman(add(string2ld(a)!, string2ld(b)!) as LDFinite);
    expect(sum('10.5', '0.1')).toBe('10.6');
    expect(sum('0.1', '0.2')).toBe('0.3');
    expect(sum('3.0e3', '0')).toBe('3000');
    expect(sum('0', '0.000003814697265625')).toBe('0.00000381469726562');
    expect(sum('0', '0.000011444091796875')).toBe('0.00001144409179688');
    expect(sum('-1e-18', '0')).toBe('0');
    expect(string2ld('1e5000')).toBeNull();
    expect(string2ld('1e-5000')).toBeNull();
    expect(string2ld('nan')).toBeNull();
    expect(string2ld('inf')?.kind).toBe('inf');
  });
});
