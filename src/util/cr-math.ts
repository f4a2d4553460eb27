/**
 * sin, cos and asin rounded correctly (to the double nearest the exact
 * value), for the geo commands' stored distances. V8's Math.sin / cos /
 * asin (fdlibm) are within one ulp but miss the nearest double for a few
 * per cent of arguments; glibc 2.36's (what redis-server calls) round
 * correctly in all but very rare cases, so a correctly rounded result is
 * what redis-server computes (test/unit/util/cr-math.test.ts compares
 * with glibc's values).
 *
 * The value is computed in double-double arithmetic (about 106 bits):
 * argument reduction by pi/2 held in three doubles, then Taylor series;
 * asin by Newton's method on sin from Math.asin's estimate. The leading
 * double of the normalized double-double is the correctly rounded result
 * unless the exact value lies within about 2^-100 of a midpoint between
 * two doubles. Meant for |x| up to a few units (angles in radians); for
 * larger arguments it falls back to Math.*. Some hundred times slower
 * than Math.sin (a haversine distance: about 6 µs instead of 0.04 µs): use
 * it where the last bit is visible.
 */

// ---------------------------------------------------------------- double-double primitives

/** The low part of the last operation (the high part is its return value). */
let lo = 0;

function twoSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  lo = a - (s - bb) + (b - bb);
  return s;
}

function quickTwoSum(a: number, b: number): number {
  const s = a + b;
  lo = b - (s - a);
  return s;
}

const SPLITTER = 134217729; // 2^27 + 1

function twoProd(a: number, b: number): number {
  const p = a * b;
  let t = SPLITTER * a;
  const ahi = t - (t - a);
  const alo = a - ahi;
  t = SPLITTER * b;
  const bhi = t - (t - b);
  const blo = b - bhi;
  lo = ahi * bhi - p + ahi * blo + alo * bhi + alo * blo;
  return p;
}

/** (ah, al) + (bh, bl), IEEE-style (accurate also under cancellation). */
function ddAdd(ah: number, al: number, bh: number, bl: number): number {
  let s = twoSum(ah, bh);
  let e = lo;
  const t = twoSum(al, bl);
  const f = lo;
  e += t;
  s = quickTwoSum(s, e);
  e = lo + f;
  return quickTwoSum(s, e);
}

function ddMul(ah: number, al: number, bh: number, bl: number): number {
  const p = twoProd(ah, bh);
  const e = lo + (ah * bl + al * bh);
  return quickTwoSum(p, e);
}

function ddDiv(ah: number, al: number, bh: number, bl: number): number {
  // q1 = a / b; r = a - q1 * b; q2 = r / b; r -= q2 * b; q3 = r / b.
  const q1 = ah / bh;
  let ph = ddMul(bh, bl, q1, 0);
  let rh = ddAdd(ah, al, -ph, -lo);
  let rl = lo;
  const q2 = rh / bh;
  ph = ddMul(bh, bl, q2, 0);
  rh = ddAdd(rh, rl, -ph, -lo);
  rl = lo;
  const q3 = rh / bh;
  const qh = quickTwoSum(q1, q2);
  return ddAdd(qh, lo, q3, 0);
}

// ---------------------------------------------------------------- constants

/** pi to 100 decimals. */
const PI_DIGITS = '31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679';
const PI_SCALE = 10n ** BigInt(PI_DIGITS.length - 1);

/** Fixed-point scale of the constants' computation. */
const SCALE = 400n;

/** A rational num/den as three doubles, each the nearest double to what the previous ones leave. */
function triple(num: bigint, den: bigint): [number, number, number] {
  let rest = (num << SCALE) / den;
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    const d = Number(rest) / 2 ** Number(SCALE);
    out.push(d);
    rest -= scaled(d);
  }
  return [out[0]!, out[1]!, out[2]!];
}

/** d * 2^SCALE as a BigInt, exactly (d a double with d * 2^SCALE an integer). */
function scaled(d: number): bigint {
  if (d === 0) return 0n;
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, d);
  const hi = dv.getUint32(0);
  const low = dv.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(low);
  let e = exp - 1075;
  if (exp === 0) e = -1074;
  else m |= 1n << 52n;
  const sh = BigInt(e) + SCALE;
  const v = sh >= 0n ? m << sh : m >> -sh;
  return hi >>> 31 === 1 ? -v : v;
}

const [PIO2_1, PIO2_2, PIO2_3] = triple(BigInt(PI_DIGITS), 2n * PI_SCALE);
const TWO_OVER_PI = 2 / Math.PI;

/** 1/n! as double-doubles, n = 0..MAX_TERM. */
const MAX_TERM = 30;
const INV_FACT_HI: number[] = [];
const INV_FACT_LO: number[] = [];
{
  let f = 1n;
  for (let n = 0; n <= MAX_TERM; n++) {
    if (n > 0) f *= BigInt(n);
    const [a, b] = triple(1n, f);
    INV_FACT_HI.push(a);
    INV_FACT_LO.push(b);
  }
}

// ---------------------------------------------------------------- kernels

/**
 * sin or cos (odd: sin) of the double-double r, |r| <= pi/4, by Taylor
 * series; result in (return, lo). Terms are summed in double-double while
 * they matter to 2^-45 of the sum; the rest, whose rounding errors fall
 * below 2^-100 of it, in plain doubles.
 */
function kernel(rh: number, rl: number, odd: boolean): number {
  const r2h = ddMul(rh, rl, rh, rl);
  const r2l = lo;
  // term = r^n / n!, n = 1 or 0 first, then times r^2 / ((n+1)(n+2)) each step.
  let th = odd ? rh : 1;
  let tl = odd ? rl : 0;
  let sh = 0;
  let sl = 0;
  let n = odd ? 1 : 0;
  let sign = 1;
  for (; n <= MAX_TERM; n += 2, sign = -sign) {
    const ch = ddMul(th, tl, INV_FACT_HI[n]!, INV_FACT_LO[n]!);
    const cl = lo;
    sh = ddAdd(sh, sl, sign * ch, sign * cl);
    sl = lo;
    if (Math.abs(ch) < Math.abs(sh) * 2 ** -45) break;
    th = ddMul(th, tl, r2h, r2l);
    tl = lo;
  }
  // The tail in doubles, from the term after the last one added.
  let t = sign * th * INV_FACT_HI[n]!;
  let tail = 0;
  for (n += 2; n <= MAX_TERM; n += 2) {
    t *= -r2h / ((n - 1) * n);
    tail += t;
    if (Math.abs(t) < Math.abs(sh) * 2 ** -110) break;
  }
  return ddAdd(sh, sl, tail, 0);
}

/** sin (which 0) or cos (which 1) of x as a double-double in (return, lo). */
function sinCosDD(x: number, which: 0 | 1): number {
  const k = Math.round(x * TWO_OVER_PI);
  // r = x - k * pi/2, with pi/2 in three parts; k * PIO2_1 and k * PIO2_2 exactly.
  let rh = twoProd(k, PIO2_1);
  let rl = lo;
  rh = ddAdd(x, 0, -rh, -rl);
  rl = lo;
  let p = twoProd(k, PIO2_2);
  rh = ddAdd(rh, rl, -p, -lo);
  rl = lo;
  p = k * PIO2_3;
  rh = ddAdd(rh, rl, -p, 0);
  rl = lo;
  // sin(r + k pi/2) / cos(r + k pi/2) by k mod 4.
  const q = (((k % 4) + 4) % 4 + which) % 4;
  const v = kernel(rh, rl, q % 2 === 0);
  const vl = lo;
  if (q >= 2) {
    lo = -vl;
    return -v;
  }
  lo = vl;
  return v;
}

const LIMIT = 1e5;

/** sin(x), correctly rounded (|x| < 1e5; Math.sin beyond). */
export function crSin(x: number): number {
  if (!(Math.abs(x) < LIMIT)) return Math.sin(x);
  if (x === 0) return x;
  const h = sinCosDD(x, 0);
  return h + lo;
}

/** cos(x), correctly rounded (|x| < 1e5; Math.cos beyond). */
export function crCos(x: number): number {
  if (!(Math.abs(x) < LIMIT)) return Math.cos(x);
  const h = sinCosDD(x, 1);
  return h + lo;
}

/** asin(x), correctly rounded, for x in [-1, 1] (NaN otherwise, as Math.asin). */
export function crAsin(x: number): number {
  let y = Math.asin(x);
  if (!Number.isFinite(y) || x === 0) return y;
  let yl = 0;
  // Newton's method on sin(y) = x: y += (x - sin y) / cos y, in double-double.
  // From Math.asin's estimate (within an ulp) one step leaves an error near
  // ulp^2 * tan(y), below 2^-100 for |x| <= 0.9; nearer 1 the derivative
  // vanishes and convergence slows, so take more steps there.
  const rounds = Math.abs(x) <= 0.9 ? 1 : Math.abs(x) < 1 - 2 ** -20 ? 2 : 4;
  for (let i = 0; i < rounds; i++) {
    const sh = sinCosDD(y, 0);
    const sl = lo;
    // sin and cos of the double-double y: y's low part moves them by yl * cos / -yl * sin.
    const ch = sinCosDD(y, 1);
    const cl = lo;
    let sinh = ddAdd(sh, sl, yl * ch, 0);
    const sinl = lo;
    if (ch === 0) break;
    const dh = ddAdd(x, 0, -sinh, -sinl);
    const dl = lo;
    sinh = ddDiv(dh, dl, ch - yl * sh, cl);
    const stepl = lo;
    y = ddAdd(y, yl, sinh, stepl);
    yl = lo;
  }
  return y + yl;
}
