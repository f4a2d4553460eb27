/**
 * Number parsing exactly as Redis does it (util.c string2ll, object.c
 * getLongLongFromObject, db.c parseScanCursorOrReply).
 *
 * Integers are signed 64-bit in Redis. A JS number holds them exactly only
 * up to 2^53, so parsers return a number when the value is safe and a
 * bigint beyond that; callers that do arithmetic use the number fast path
 * when both operands are numbers and fall back to bigint otherwise.
 */

export const LLONG_MAX = 9223372036854775807n;
export const LLONG_MIN = -9223372036854775808n;
export const ULONG_MAX = 18446744073709551615n;

/** A signed 64-bit integer: a number when |v| <= 2^53-1, else a bigint. */
export type Int64 = number | bigint;

/** LONG_STR_SIZE in util.h: string2ll rejects strings of 21 bytes or more. */
const LONG_STR_SIZE = 21;

/**
 * Redis string2ll: strict decimal. No spaces, no '+', no leading zeros
 * ("0" alone is fine, "-0" is not), nothing after the digits, and the value
 * must fit a signed 64-bit integer. Returns null when Redis would fail.
 */
export function string2ll(s: string): Int64 | null {
  const n = s.length;
  if (n === 0 || n >= LONG_STR_SIZE) return null;
  let i = 0;
  let c = s.charCodeAt(0);
  if (n === 1 && c === 48) return 0;
  if (c === 45 /* - */) {
    if (n === 1) return null;
    i = 1;
    c = s.charCodeAt(1);
  }
  if (c < 49 || c > 57) return null;
  for (let j = i + 1; j < n; j++) {
    c = s.charCodeAt(j);
    if (c < 48 || c > 57) return null;
  }
  // At most 15 digits is below 2^53: Number() is exact.
  if (n - i <= 15) return Number(s);
  const b = BigInt(s);
  if (b > LLONG_MAX || b < LLONG_MIN) return null;
  return int64(b);
}

/** An Int64 as a bigint. */
export function big(v: Int64): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** A bigint known to fit int64, as an Int64 (number when safe). */
export function int64(v: bigint): Int64 {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** a + b, or null when the sum leaves the signed 64-bit range (Redis's overflow check). */
export function addInt64(a: Int64, b: Int64): Int64 | null {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  const r = big(a) + big(b);
  if (r > LLONG_MAX || r < LLONG_MIN) return null;
  return int64(r);
}

/** Wraps a bigint to a signed 64-bit value the way C arithmetic on long long does. */
export function wrapInt64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** C's isspace() in the C locale. */
export function isCSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Where strtol / strtoll / strtoul (base 10) find the digits of s: after
 * C-locale spaces and one '+' or '-' sign; `neg` when the sign was '-'.
 */
export function strtoStart(s: string): { start: number; neg: boolean } {
  let i = 0;
  while (i < s.length && isCSpace(s.charCodeAt(i))) i++;
  const c = s.charCodeAt(i);
  const neg = c === 45;
  return { start: neg || c === 43 ? i + 1 : i, neg };
}

/** The C-string view of an argument: what strcasecmp, %s and strto* see (up to the first NUL). */
export function cstr(s: string): string {
  const z = s.indexOf('\0');
  return z < 0 ? s : s.slice(0, z);
}

/**
 * parseScanCursorOrReply: strtoul(s, &eptr, 10) with `isspace(s[0])`,
 * `*eptr != '\0'` and ERANGE rejected. strtoul accepts a sign ("-1" wraps to
 * 2^64-1), leading zeros, and no digits at all when the string is empty (or
 * starts with a NUL): that is cursor 0. Returns null for "invalid cursor".
 */
export function parseScanCursor(s: string): bigint | null {
  if (s.length > 0 && isCSpace(s.charCodeAt(0))) return null;
  const t = cstr(s);
  if (t.length === 0) return 0n;
  // (No leading space here: t starts as s does.)
  const { start: i, neg } = strtoStart(t);
  let j = i;
  while (j < t.length) {
    const c = t.charCodeAt(j);
    if (c < 48 || c > 57) break;
    j++;
  }
  // No digits: strtoul sets eptr to the start of the string, which is not NUL here.
  if (j === i || j !== t.length) return null;
  const v = BigInt(t.slice(i));
  if (v > ULONG_MAX) return null;
  return neg ? BigInt.asUintN(64, -v) : v;
}
