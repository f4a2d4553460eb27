/**
 * Doubles the way Redis 7.0 reads and prints them: C's strtod (util.c,
 * object.c getDoubleFromObject, t_zset.c zslParseRange) and the `%.17g`
 * that networking.c addReplyDouble uses for scores.
 */
import { cstr, isCSpace } from './number.js';

export interface StrtodResult {
  value: number;
  /** Characters consumed from the start of the string (0: no conversion). */
  end: number;
  /** ERANGE: overflow to ±HUGE_VAL or underflow to zero. */
  erange: boolean;
}

const INF_RE = /^([+-]?)(infinity|inf)/i;
const NAN_RE = /^[+-]?nan(\([0-9A-Za-z_]*\))?/i;
const HEX_RE = /^([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?/;
const DEC_RE = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?/;

/**
 * C strtod on the C string view of `s` (it stops at a NUL byte): leading
 * white space, a sign, decimal or hexadecimal digits, "inf", "infinity",
 * "nan". Consumes the longest valid prefix, as glibc does.
 */
export function strtod(s: string): StrtodResult {
  let i = 0;
  while (i < s.length && isCSpace(s.charCodeAt(i))) i++;
  const t = s.slice(i);
  let m = INF_RE.exec(t);
  if (m !== null) return { value: m[1] === '-' ? -Infinity : Infinity, end: i + m[0].length, erange: false };
  m = NAN_RE.exec(t);
  if (m !== null) return { value: NaN, end: i + m[0].length, erange: false };
  m = HEX_RE.exec(t);
  if (m !== null) {
    const intDigits = m[2] ?? '';
    const frac = m[3] ?? m[4] ?? '';
    const exp = m[5] !== undefined ? Number(m[5]) : 0;
    const all = (intDigits + frac).replace(/^0+/, '');
    let v = 0;
    if (all.length > 0) {
      const mant = Number(BigInt('0x' + all));
      v = mant * Math.pow(2, exp - 4 * frac.length);
      if (!Number.isFinite(v) && Number.isFinite(mant) && exp - 4 * frac.length < 0) v = 0;
    }
    if (m[1] === '-') v = -v;
    return { value: v, end: i + m[0].length, erange: !Number.isFinite(v) || (v === 0 && all.length > 0) };
  }
  m = DEC_RE.exec(t);
  if (m !== null) {
    const v = Number(m[0]);
    const nonzero = /[1-9]/.test((m[2] ?? '') + (m[3] ?? '') + (m[4] ?? ''));
    return { value: v, end: i + m[0].length, erange: !Number.isFinite(v) || (v === 0 && nonzero) };
  }
  return { value: 0, end: 0, erange: false };
}

/**
 * getDoubleFromObject: the whole argument must be a double; empty strings,
 * leading space, trailing bytes (a NUL included), NaN, overflow and
 * underflow to zero are refused (null: "value is not a valid float").
 */
export function parseDouble(s: string): number | null {
  if (s.length === 0 || isCSpace(s.charCodeAt(0))) return null;
  const r = strtod(s);
  if (r.end !== s.length || Number.isNaN(r.value)) return null;
  if (r.erange && (!Number.isFinite(r.value) || r.value === 0)) return null;
  return r.value;
}

/**
 * zslParseRange's reading of a bound: strtod with only "nothing left before
 * the C string's end" and "not NaN" checked (so "", " 1", "1e999" and
 * "1\0junk" pass). Null when invalid.
 */
export function parseLooseDouble(s: string): number | null {
  const c = cstr(s);
  const r = strtod(c);
  if (r.end !== c.length || Number.isNaN(r.value)) return null;
  return r.value;
}

/** printf("%.17g", d) as glibc prints it. */
export function formatG17(d: number): string {
  if (Number.isNaN(d)) return d < 0 ? '-nan' : 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const e = d.toExponential(16); // d.dddddddddddddddde±x: 17 significant digits
  const neg = e.charCodeAt(0) === 45;
  const body = neg ? e.slice(1) : e;
  const ePos = body.indexOf('e');
  let digits = body[0]! + body.slice(2, ePos);
  const x = Number(body.slice(ePos + 1));
  digits = halfEven(Math.abs(d), digits, x);
  let out: string;
  if (x < -4 || x >= 17) {
    let mant = digits[0]! + '.' + digits.slice(1);
    mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const ax = Math.abs(x);
    out = mant + 'e' + (x < 0 ? '-' : '+') + (ax < 10 ? '0' + ax : String(ax));
  } else if (x >= 0) {
    const intPart = digits.slice(0, x + 1);
    const frac = digits.slice(x + 1).replace(/0+$/, '');
    out = frac.length > 0 ? intPart + '.' + frac : intPart;
  } else {
    const frac = ('0'.repeat(-x - 1) + digits).replace(/0+$/, '');
    out = '0.' + frac;
  }
  return neg ? '-' + out : out;
}

/**
 * toExponential rounds an exact tie up; glibc's printf rounds it to even.
 * A tie at 17 digits means the exact binary value ends in a 5 at the 18th
 * significant digit: checked cheaply on a longer expansion, then exactly.
 */
function halfEven(a: number, digits: string, x: number): string {
  if ((digits.charCodeAt(16) & 1) === 0) return digits; // already even: both roundings agree
  const long = a.toExponential(40);
  const ep = long.indexOf('e');
  const tail = long.slice(2, ep).slice(15); // digits 17.. of the longer expansion
  if (!/^\d50*$/.test(tail)) return digits;
  // Exact check: 2 * a * 10^(16-x) must be an odd integer.
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, a);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (bexp === 0) e2 = -1074;
  else {
    m |= 1n << 52n;
    e2 = bexp - 1075;
  }
  const k = 16 - x;
  let num = 2n * m;
  let den = 1n;
  if (k >= 0) num *= 10n ** BigInt(k);
  else den *= 10n ** BigInt(-k);
  if (e2 >= 0) num <<= BigInt(e2);
  else den <<= BigInt(-e2);
  if (num % den !== 0n) return digits;
  const q = num / den;
  if ((q & 1n) === 0n) return digits;
  // A tie between (q-1)/2 and (q+1)/2: toExponential took the upper, odd one; take the lower.
  return ((q - 1n) / 2n).toString();
}

/** addReplyDouble's text (RESP2 bulk / RESP3 double): "inf", "-inf" or %.17g. */
export const formatScore = formatG17;
