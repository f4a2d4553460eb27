/**
 * Helpers of the request parser that mirror two C functions of Redis 7.0
 * byte for byte: `sdssplitargs` (sds.c), which splits an inline command line,
 * and `string2ll` (util.c), which reads the numbers of RESP headers.
 */

import { latin1 } from '../util/latin1.js';

/** Latin1 strings out of bytes (in util: the entry codec uses it too). */
export { latin1 };

/** C `isspace` in the "C" locale: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function hexVal(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/** The byte an escape `\c` inside "double quotes" stands for. */
function unescape(c: number): number {
  switch (c) {
    case 110: // n
      return 10;
    case 114: // r
      return 13;
    case 116: // t
      return 9;
    case 98: // b
      return 8;
    case 97: // a
      return 7;
    default:
      return c;
  }
}

/**
 * Splits `buf[start, end)` into arguments exactly like Redis's
 * `sdssplitargs` (used by processInlineBuffer): arguments are separated by
 * blanks; "double quotes" understand \n \r \t \b \a \xHH and backslash before
 * any other byte (that byte itself); 'single quotes' understand only \'; a
 * quoted part may follow unquoted bytes of the same argument (a"b c" is
 * `ab c`) but a closing quote must be followed by a blank or the end of the
 * line. Returns null for unbalanced quotes (Redis: "unbalanced quotes in
 * request"). Strings are latin1, one char per byte.
 *
 * The line must not contain a NUL byte: sdssplitargs works on a C string,
 * and the request parser never calls it on a line with a NUL (Redis never
 * finds the end of such a line, see RequestParser).
 */
export function splitInlineArgs(buf: Buffer, start: number, end: number): string[] | null {
  const out: string[] = [];
  let p = start;
  for (;;) {
    // Leading blanks: any isspace() byte.
    while (p < end && isSpace(buf[p]!)) p++;
    if (p >= end) return out;

    let cur = '';
    let seg = p; // start of the run of literal bytes not yet appended to cur
    let inq = false;
    let insq = false;
    for (;;) {
      const c = p < end ? buf[p]! : 0;
      if (inq) {
        if (c === 92 /* \ */ && p + 3 < end && buf[p + 1] === 120 /* x */ && isHex(buf[p + 2]!) && isHex(buf[p + 3]!)) {
          cur += latin1(buf, seg, p) + String.fromCharCode(hexVal(buf[p + 2]!) * 16 + hexVal(buf[p + 3]!));
          p += 4;
          seg = p;
        } else if (c === 92 && p + 1 < end) {
          cur += latin1(buf, seg, p) + String.fromCharCode(unescape(buf[p + 1]!));
          p += 2;
          seg = p;
        } else if (c === 34 /* " */) {
          // The closing quote must be followed by a blank or nothing at all.
          if (p + 1 < end && !isSpace(buf[p + 1]!)) return null;
          cur += latin1(buf, seg, p);
          p++;
          break;
        } else if (p >= end) {
          return null; // unterminated quotes
        } else {
          p++;
        }
      } else if (insq) {
        if (c === 92 && p + 1 < end && buf[p + 1] === 39 /* ' */) {
          cur += latin1(buf, seg, p) + "'";
          p += 2;
          seg = p;
        } else if (c === 39) {
          if (p + 1 < end && !isSpace(buf[p + 1]!)) return null;
          cur += latin1(buf, seg, p);
          p++;
          break;
        } else if (p >= end) {
          return null;
        } else {
          p++;
        }
      } else if (c === 32 || c === 10 || c === 13 || c === 9 || c === 0) {
        // Only these end an unquoted argument (not \v or \f, unlike the
        // blanks skipped between arguments). The terminator is consumed.
        cur += latin1(buf, seg, p);
        if (p < end) p++;
        break;
      } else if (c === 34) {
        cur += latin1(buf, seg, p);
        inq = true;
        p++;
        seg = p;
      } else if (c === 39) {
        cur += latin1(buf, seg, p);
        insq = true;
        p++;
        seg = p;
      } else {
        p++;
      }
    }
    out.push(cur);
  }
}

/** 9223372036854775807 (LLONG_MAX) as digits; LLONG_MIN's magnitude ends in 8. */
const LLONG_DIGITS = [9, 2, 2, 3, 3, 7, 2, 0, 3, 6, 8, 5, 4, 7, 7, 5, 8, 0, 7];

/**
 * Redis's `string2ll` on `b[s, e)`: an optional '-', then "0" alone or a
 * digit 1-9 followed by digits, fitting a signed 64-bit integer, fewer than
 * 21 bytes. Returns NaN when Redis's function fails. The value is exact up to
 * 2^53; beyond that it is approximate but keeps its sign and magnitude class
 * (every caller only compares it with limits far below 2^53 or with 0).
 */
export function parseLL(b: Uint8Array, s: number, e: number): number {
  const len = e - s;
  if (len <= 0 || len >= 21) return NaN;
  let p = s;
  let neg = false;
  if (b[p] === 45 /* - */) {
    neg = true;
    p++;
    if (p === e) return NaN;
  }
  let c = b[p]!;
  if (c === 48 /* 0 */) return len === 1 ? 0 : NaN;
  if (c < 49 || c > 57) return NaN;
  const first = p;
  let v = c - 48;
  for (p++; p < e; p++) {
    c = b[p]!;
    if (c < 48 || c > 57) return NaN;
    v = v * 10 + (c - 48);
  }
  const digits = e - first;
  if (digits > 19) return NaN;
  if (digits === 19) {
    // Compare with 9223372036854775807 (or ...808 for a negative number).
    for (let i = 0; i < 19; i++) {
      const want = i === 18 && neg ? 8 : LLONG_DIGITS[i]!;
      const got = b[first + i]! - 48;
      if (got !== want) {
        if (got > want) return NaN;
        break;
      }
    }
  }
  return neg ? -v : v;
}
