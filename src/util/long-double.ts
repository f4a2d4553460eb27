/**
 * The x86 80-bit `long double`, in software, for INCRBYFLOAT.
 *
 * Redis parses INCRBYFLOAT operands with strtold, adds them as long doubles
 * and prints the sum with "%.17Lf" before trimming trailing zeros
 * (util.c string2ld / ld2string LD_STR_HUMAN). The 64-bit significand is
 * what makes `10.5 + 0.1` print as "10.6": with JS doubles it would print
 * "10.59999999999999964". It also gives a range up to ~1.19e4932 (so
 * `INCRBYFLOAT k 1e400` works) and subnormals down to ~3.6e-4951.
 *
 * So this module reproduces the arithmetic exactly with bigints: a finite
 * value is sign · m · 2^e with m < 2^64; every operation is computed exactly
 * and then rounded once to 64 significant bits, to nearest with ties to even
 * (the x87 default), which is what glibc's strtold and the FPU's addition do.
 * Formatting is glibc's: the exact binary value rounded to 17 decimals, ties
 * to even. It is only used on the INCRBYFLOAT path, where a few microseconds
 * of bigint work per call do not matter.
 *
 * The only glibc behaviour not modelled is the locale (Redis leaves
 * LC_NUMERIC as "C", so '.' is the decimal point, as here).
 */

/** A finite long double: (-1)^neg · m · 2^e, with 0 <= m < 2^64. */
export interface LDFinite {
  readonly kind: 'finite';
  readonly neg: boolean;
  readonly m: bigint;
  readonly e: number;
}
export interface LDInf {
  readonly kind: 'inf';
  readonly neg: boolean;
}
export interface LDNaN {
  readonly kind: 'nan';
}
export type LongDouble = LDFinite | LDInf | LDNaN;

const MANT_BITS = 64;
const TWO63 = 1n << 63n;
const TWO64 = 1n << 64n;
/** Exponent of the last significand bit of subnormals and of the smallest normal (2^-16382 = 2^63 · 2^-16445). */
const MIN_E = -16445;
/** Exponent of the last significand bit of the largest binade (max = (2^64-1) · 2^16320). */
const MAX_E = 16320;

/** MAX_LONG_DOUBLE_CHARS in util.h: string2ld rejects strings of this many bytes or more. */
export const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

const NAN: LDNaN = { kind: 'nan' };

function finite(neg: boolean, m: bigint, e: number): LDFinite {
  return { kind: 'finite', neg, m, e };
}

function inf(neg: boolean): LDInf {
  return { kind: 'inf', neg };
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** num/den · 2^e2 divided exactly, then rounded to 64 bits: q and whether to round up. */
function divRound(num: bigint, den: bigint, shift: number): bigint {
  // q = round_half_even(num · 2^shift / den)
  let n = num;
  let d = den;
  if (shift >= 0) n <<= BigInt(shift);
  else d <<= BigInt(-shift);
  const q = n / d;
  const r2 = (n - q * d) * 2n;
  if (r2 > d || (r2 === d && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/**
 * Rounds the exact value (-1)^neg · num/den · 2^e2 (num >= 0, den > 0) to a
 * long double. Overflow gives ±inf; a non-zero value too small even for a
 * subnormal gives ±0 (callers detect both, as strtold's ERANGE).
 */
export function roundExact(neg: boolean, num: bigint, den: bigint, e2: number): LDFinite | LDInf {
  if (num === 0n) return finite(neg, 0n, 0);
  // Pick the shift that puts the quotient in [2^63, 2^64).
  let shift = MANT_BITS - (bitLength(num) - bitLength(den));
  let n = num;
  let d = den;
  if (shift >= 0) n <<= BigInt(shift);
  else d <<= BigInt(-shift);
  let q = n / d;
  while (q >= TWO64) {
    shift--;
    q = shift >= 0 ? (num << BigInt(shift)) / den : num / (den << BigInt(-shift));
  }
  while (q < TWO63) {
    shift++;
    q = shift >= 0 ? (num << BigInt(shift)) / den : num / (den << BigInt(-shift));
  }
  let e = e2 - shift;
  if (e < MIN_E) {
    // Subnormal: fewer significant bits, fixed exponent.
    shift = e2 - MIN_E;
    e = MIN_E;
  }
  let m = divRound(num, den, shift);
  if (m >= TWO64) {
    m >>= 1n; // exactly 2^64 after rounding up: 2^63 one binade higher
    e++;
  }
  if (e > MAX_E) return inf(neg);
  return finite(neg, m, e);
}

export function isZero(x: LongDouble): boolean {
  return x.kind === 'finite' && x.m === 0n;
}

export const LD_ZERO: LDFinite = finite(false, 0n, 0);

/** An exact integer (e.g. a stored "10") as a long double (rounded if it has more than 64 bits). */
export function fromBigInt(v: bigint): LongDouble {
  const neg = v < 0n;
  return roundExact(neg, neg ? -v : v, 1n, 0);
}

// strtold's grammar in the C locale, anchored: we accept only what strtold consumes entirely.
const DEC_RE = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?)(\d+))?$/;
const HEX_RE = /^([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?)(\d+))?$/;
const INF_RE = /^([+-]?)(?:inf|infinity)$/i;

/** Parses an exponent's digits, saturating (strtold saturates too; the result then overflows or underflows). */
function expValue(sign: string, digits: string): number {
  const t = digits.replace(/^0+/, '');
  const v = t.length > 9 ? 1e9 : Number(t || '0');
  return sign === '-' ? -v : v;
}

/**
 * Redis string2ld: strtold on the whole string, rejecting a leading space,
 * anything left unparsed (including a NUL byte), NaN, and ERANGE results that are
 * ±HUGE_VAL or zero (overflow, or underflow to zero). "inf" and "infinity"
 * are accepted (INCRBYFLOAT then fails on the infinite sum). Returns null
 * for "value is not a valid float".
 */
export function string2ld(s: string): LongDouble | null {
  if (s.length === 0 || s.length >= MAX_LONG_DOUBLE_CHARS) return null;
  const c0 = s.charCodeAt(0);
  if (c0 === 32 || (c0 >= 9 && c0 <= 13)) return null;
  // strtold stops at a NUL byte; Redis checks that it consumed all slen bytes.
  if (s.indexOf('\0') >= 0) return null;
  const t = s;
  let m = DEC_RE.exec(t);
  if (m !== null) {
    const neg = m[1] === '-';
    const intDigits = m[2] ?? '';
    const fracDigits = m[3] ?? m[4] ?? '';
    const exp = m[6] !== undefined ? expValue(m[5] ?? '', m[6]) : 0;
    const all = (intDigits + fracDigits).replace(/^0+/, '');
    if (all.length === 0) return finite(neg, 0n, 0);
    const k = exp - fracDigits.length;
    // The value lies in [10^(mag-1), 10^mag).
    const mag = all.length + k;
    if (mag > 4940) return null; // overflow: ERANGE with HUGE_VAL
    if (mag < -4960) return null; // underflow to zero: ERANGE with 0
    const D = BigInt(all);
    const r = k >= 0 ? roundExact(neg, D * 10n ** BigInt(k), 1n, 0) : roundExact(neg, D, 10n ** BigInt(-k), 0);
    if (r.kind === 'inf' || r.m === 0n) return null;
    return r;
  }
  m = HEX_RE.exec(t);
  if (m !== null) {
    const neg = m[1] === '-';
    const intDigits = m[2] ?? '';
    const fracDigits = m[3] ?? m[4] ?? '';
    const exp = m[6] !== undefined ? expValue(m[5] ?? '', m[6]) : 0;
    const all = (intDigits + fracDigits).replace(/^0+/, '');
    if (all.length === 0) return finite(neg, 0n, 0);
    const e2 = exp - 4 * fracDigits.length;
    const bits = 4 * all.length + e2;
    if (bits > 16400) return null;
    if (bits < -16500) return null;
    const r = roundExact(neg, BigInt('0x' + all), 1n, e2);
    if (r.kind === 'inf' || r.m === 0n) return null;
    return r;
  }
  m = INF_RE.exec(t);
  if (m !== null) return inf(m[1] === '-');
  return null; // includes "nan", "nan(...)" (rejected by isnan) and malformed input
}

/** a + b in long double arithmetic (round to nearest even), with IEEE rules for zeros and infinities. */
export function add(a: LongDouble, b: LongDouble): LongDouble {
  if (a.kind === 'nan' || b.kind === 'nan') return NAN;
  if (a.kind === 'inf') {
    if (b.kind === 'inf' && b.neg !== a.neg) return NAN;
    return a;
  }
  if (b.kind === 'inf') return b;
  if (a.m === 0n && b.m === 0n) return finite(a.neg && b.neg, 0n, 0);
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const va = (a.neg ? -a.m : a.m) << BigInt(a.e - e);
  const vb = (b.neg ? -b.m : b.m) << BigInt(b.e - e);
  const sum = va + vb;
  if (sum === 0n) return finite(false, 0n, 0);
  return roundExact(sum < 0n, sum < 0n ? -sum : sum, 1n, e);
}

export function isFinite(x: LongDouble): x is LDFinite {
  return x.kind === 'finite';
}

/**
 * ld2string(LD_STR_HUMAN): snprintf("%.17Lf") — the exact binary value
 * rounded to 17 decimals, ties to even — then trailing zeros (and a bare
 * '.') removed, and "-0" turned into "0". Only for finite values (Redis
 * refuses to store inf/nan).
 */
export function formatHuman(x: LDFinite): string {
  const scale = 10n ** 17n;
  let r: bigint;
  if (x.e >= 0) {
    r = (x.m << BigInt(x.e)) * scale;
  } else {
    const num = x.m * scale;
    const sh = BigInt(-x.e);
    const q = num >> sh;
    const rem = num - (q << sh);
    const half = 1n << (sh - 1n);
    r = rem > half || (rem === half && (q & 1n) === 1n) ? q + 1n : q;
  }
  let digits = r.toString();
  if (digits.length < 18) digits = '0'.repeat(18 - digits.length) + digits;
  const intPart = digits.slice(0, digits.length - 17);
  const frac = digits.slice(digits.length - 17).replace(/0+$/, '');
  let out = (x.neg ? '-' : '') + intPart + (frac.length > 0 ? '.' + frac : '');
  if (out === '-0') out = '0';
  return out;
}
