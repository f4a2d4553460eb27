/**
 * util/cr-math.ts rounds sin, cos and asin correctly: checked against an
 * exact oracle (Taylor series in BigInt fixed point, 2^-300) on seeded
 * random arguments over the geo commands' ranges and on edge cases. A
 * result y is correctly rounded when the exact value lies within half an
 * ulp of y; for asin, when sin of y's neighbouring midpoints brackets x.
 */
import { describe, expect, it } from 'vitest';
import { crAsin, crCos, crSin } from '../../../src/util/cr-math.js';
import { createPrng } from '../../../src/util/prng.js';

const BITS = 300n;
const ONE = 1n << BITS;

/** A double's exact value scaled by 2^BITS (doubles here are > 2^-250). */
function fixed(d: number): bigint {
  if (d === 0) return 0n;
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, d);
  const hi = dv.getUint32(0);
  const exp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(dv.getUint32(4));
  m |= 1n << 52n;
  const sh = BigInt(exp - 1075) + BITS;
  const v = sh >= 0n ? m << sh : m >> -sh;
  return hi >>> 31 === 1 ? -v : v;
}

/** sin (odd) or cos of the fixed-point x, by Taylor series. */
function taylor(x: bigint, odd: boolean): bigint {
  const x2 = (x * x) >> BITS;
  let term = odd ? x : ONE;
  let sum = term;
  for (let n = odd ? 1n : 0n; ; n += 2n) {
    term = -((term * x2) >> BITS) / ((n + 1n) * (n + 2n));
    if (term === 0n) break;
    sum += term;
  }
  return sum;
}

/** The midpoints between y and its neighbours, as doubles' fixed-point values (exact). */
function midpoints(y: number): [bigint, bigint] {
  const f = new Float64Array([y]);
  const i = new BigInt64Array(f.buffer);
  const v = i[0]!;
  i[0] = v - 1n;
  const below = f[0]!;
  i[0] = v + 1n;
  const above = f[0]!;
  // (For a negative y the next bit pattern up is the next double down.)
  const a = (fixed(below) + fixed(y)) / 2n;
  const b = (fixed(y) + fixed(above)) / 2n;
  return a < b ? [a, b] : [b, a];
}

function assertRounded(exact: bigint, y: number, what: string): void {
  const [lo, hi] = midpoints(y);
  expect(exact >= lo && exact <= hi, `${what} = ${y}`).toBe(true);
}

describe('correctly rounded sin, cos, asin', () => {
  it('sin and cos over [-3.2, 3.2], near multiples of pi/2, and tiny arguments', () => {
    const rand = createPrng(77);
    const xs: number[] = [];
    for (let i = 0; i < 3000; i++) xs.push((rand() - 0.5) * 6.4);
    for (const k of [-2, -1, 1, 2]) for (const d of [-2, -1, 0, 1, 2]) xs.push(k * (Math.PI / 2) + d * 2 ** -51);
    xs.push(1e-8, -3e-5, 2 ** -30, 0.7853981633974483, 1.4844222297453324);
    for (const x of xs) {
      assertRounded(taylor(fixed(x), true), crSin(x), `sin(${x})`);
      assertRounded(taylor(fixed(x), false), crCos(x), `cos(${x})`);
    }
    expect(crSin(0)).toBe(0);
    expect(Object.is(crSin(-0), -0)).toBe(true);
    expect(crCos(0)).toBe(1);
  });

  it('asin over [0, 1], near 1, and at the ends', () => {
    const rand = createPrng(78);
    const xs: number[] = [];
    for (let i = 0; i < 1500; i++) xs.push(rand());
    for (let i = 1; i <= 30; i++) xs.push(1 - i * 2 ** -53, 1 - 2 ** -i);
    xs.push(1, 1e-9, 0.5, Math.sqrt(0.5));
    for (const x of xs) {
      const y = crAsin(x);
      // sin is increasing on [0, pi/2]: y is asin(x) rounded when sin(lo) <= x <= sin(hi).
      const [lo, hi] = midpoints(y);
      const fx = fixed(x);
      const sinLo = taylor(lo, true);
      const sinHi = taylor(hi, true);
      expect(sinLo <= fx && (fx <= sinHi || y >= Math.PI / 2), `asin(${x}) = ${y}`).toBe(true);
    }
    expect(crAsin(0)).toBe(0);
    expect(crAsin(-0.5)).toBe(-crAsin(0.5));
    expect(crAsin(1)).toBe(Math.PI / 2);
    expect(Number.isNaN(crAsin(1.5))).toBe(true);
  });
});
