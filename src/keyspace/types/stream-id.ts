/**
 * Stream IDs (t_stream.c streamID): two unsigned 64-bit integers, ms and seq.
 *
 * An ID is held as a 16-character latin1 string, the 128-bit big-endian
 * encoding Redis uses as its rax key (streamEncodeID). JS compares such
 * strings by code unit, which for latin1 is byte order, so `a < b` orders
 * IDs exactly as streamCompareID does, IDs work as Map keys, and no value
 * up to 2^64-1 is ever rounded (a double would lose the low bits of
 * 18446744073709551615). Text conversion happens only at the edges.
 */
import { cstr, string2ll, strtoStart } from '../../util/number.js';

export type StreamId = string;

/**
 * Whether redis-server's errno would be EDOM now, as far as stream commands
 * move it: an XADD whose ID is not above the top sets it, a strtoull in ID
 * parsing clears it. Only one error text depends on it (XADD `<ms>-*` past
 * the last seq, where Redis reads a stale errno); never the data.
 */
export const streamErrno = { edom: false };

const U32 = 4294967296;
const U64_MAX = 18446744073709551615n;

function u32At(id: StreamId, at: number): number {
  return ((id.charCodeAt(at) << 24) | (id.charCodeAt(at + 1) << 16) | (id.charCodeAt(at + 2) << 8) | id.charCodeAt(at + 3)) >>> 0;
}

/**
 * An ID from its four 32-bit words: one flat 16-character string (XADD
 * keeps one per entry; four 4-character pieces concatenated would be kept
 * as a rope of five objects until first compared).
 */
export function idOfWords(msHi: number, msLo: number, seqHi: number, seqLo: number): StreamId {
  return String.fromCharCode(
    (msHi >>> 24) & 255,
    (msHi >>> 16) & 255,
    (msHi >>> 8) & 255,
    msHi & 255,
    (msLo >>> 24) & 255,
    (msLo >>> 16) & 255,
    (msLo >>> 8) & 255,
    msLo & 255,
    (seqHi >>> 24) & 255,
    (seqHi >>> 16) & 255,
    (seqHi >>> 8) & 255,
    seqHi & 255,
    (seqLo >>> 24) & 255,
    (seqLo >>> 16) & 255,
    (seqLo >>> 8) & 255,
    seqLo & 255,
  );
}

/** An ID from ms and seq given as safe integers (>= 0). */
export function idOf(ms: number, seq: number): StreamId {
  return idOfWords(Math.floor(ms / U32), ms % U32, Math.floor(seq / U32), seq % U32);
}

/** An ID from ms and seq as bigints in 0..2^64-1. */
export function idOfBig(ms: bigint, seq: bigint): StreamId {
  return idOfWords(Number(ms >> 32n), Number(ms & 0xffffffffn), Number(seq >> 32n), Number(seq & 0xffffffffn));
}

export const ZERO_ID: StreamId = idOf(0, 0);
export const MAX_ID: StreamId = idOfWords(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff);

/** The 64-bit half at offset 0 (ms) or 8 (seq), as a number when it is safe, else a bigint. */
function half(id: StreamId, at: number): number | bigint {
  const hi = u32At(id, at);
  const lo = u32At(id, at + 4);
  if (hi < 0x200000) return hi * U32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

export function idMs(id: StreamId): number | bigint {
  return half(id, 0);
}

export function idSeq(id: StreamId): number | bigint {
  return half(id, 8);
}

/** "<ms>-<seq>", as createStreamIDString. */
export function idText(id: StreamId): string {
  return `${half(id, 0)}-${half(id, 8)}`;
}

/**
 * The ID XADD `*` takes (streamNextID with the current time): `now` with
 * seq 0 when it is past the last ID's ms, else the last ID with seq + 1;
 * undefined past 2^64-1-2^64-1.
 */
export function idNextAuto(last: StreamId, now: number): StreamId | undefined {
  const msHi = u32At(last, 0);
  const seqLo = u32At(last, 12);
  if (msHi < 0x200000) {
    const msLo = u32At(last, 4);
    if (now > msHi * U32 + msLo) return idOf(now, 0);
    if (seqLo !== 0xffffffff) return idOfWords(msHi, msLo, u32At(last, 8), seqLo + 1);
  }
  return idIncr(last);
}

/**
 * The ms and seq of the last ID idNextAutoParts answered, as numbers (both
 * below 2^53), or -1 in [0] when it had to answer otherwise: XADD's reply
 * text and listpack deltas then come from the numbers, without reading the
 * 16-character ID back. A Float64Array: storing a double boxes nothing.
 */
export const AUTO_ID = new Float64Array(2);

/**
 * The ID idNextAutoParts last answered with safe halves, and those halves
 * (ms, seq): the next `*` on that stream has it as its last ID (the same
 * string), so its halves are known without reading its 16 characters back
 * (charCodeAt costs ~25 instructions a character). Only content matters:
 * an equal string has the same halves, so the entry is never stale.
 */
let autoLast: StreamId = '';
const AUTO_LAST = new Float64Array(2);

/** idNextAuto, also leaving the answer's ms and seq in AUTO_ID (or -1 there when they are not both safe). */
export function idNextAutoParts(last: StreamId, now: number): StreamId | undefined {
  if (last === autoLast) {
    const ms = AUTO_LAST[0]!;
    const seq = AUTO_LAST[1]!;
    if (now > ms) return autoAnswer(now, 0);
    if (seq < 9007199254740991) return autoAnswer(ms, seq + 1);
  }
  const msHi = u32At(last, 0);
  if (msHi < 0x200000) {
    const ms = msHi * U32 + u32At(last, 4);
    if (now > ms) return autoAnswer(now, 0);
    const seqHi = u32At(last, 8);
    const seqLo = u32At(last, 12);
    if (seqHi < 0x1fffff || (seqHi === 0x1fffff && seqLo !== 0xffffffff)) return autoAnswer(ms, seqHi * U32 + seqLo + 1);
  }
  AUTO_ID[0] = -1;
  return idIncr(last);
}

/** The ID ms-seq (safe integers) as idNextAutoParts answers it: in AUTO_ID and remembered as autoLast. */
function autoAnswer(ms: number, seq: number): StreamId {
  AUTO_ID[0] = ms;
  AUTO_ID[1] = seq;
  AUTO_LAST[0] = ms;
  AUTO_LAST[1] = seq;
  const id = idOf(ms, seq);
  autoLast = id;
  return id;
}

/** The ms (at 0) or seq (at 8) half as a number when below 2^53, else -1. */
export function safeHalf(id: StreamId, at: 0 | 8): number {
  const hi = u32At(id, at);
  return hi < 0x200000 ? hi * U32 + u32At(id, at + 4) : -1;
}

/** streamIncrID: the next ID, or undefined past 2^64-1-2^64-1 (Redis wraps to 0-0 and fails). */
export function idIncr(id: StreamId): StreamId | undefined {
  const w = [u32At(id, 0), u32At(id, 4), u32At(id, 8), u32At(id, 12)];
  for (let i = 3; i >= 0; i--) {
    if (w[i] !== 0xffffffff) {
      w[i]!++;
      for (let j = i + 1; j < 4; j++) w[j] = 0;
      return idOfWords(w[0]!, w[1]!, w[2]!, w[3]!);
    }
  }
  return undefined;
}

/** streamDecrID: the previous ID, or undefined before 0-0. */
export function idDecr(id: StreamId): StreamId | undefined {
  const w = [u32At(id, 0), u32At(id, 4), u32At(id, 8), u32At(id, 12)];
  for (let i = 3; i >= 0; i--) {
    if (w[i] !== 0) {
      w[i]!--;
      for (let j = i + 1; j < 4; j++) w[j] = 0xffffffff;
      return idOfWords(w[0]!, w[1]!, w[2]!, w[3]!);
    }
  }
  return undefined;
}

/** The ms half equals 2^64-1 and so does seq (the last possible ID). */
export function isMaxId(id: StreamId): boolean {
  return id === MAX_ID;
}

/** Same ms half. */
export function sameMs(a: StreamId, b: StreamId): boolean {
  return a.slice(0, 8) === b.slice(0, 8);
}

/** The seq half is 2^64-1. */
export function seqIsMax(id: StreamId): boolean {
  return id.endsWith('\xff\xff\xff\xff\xff\xff\xff\xff');
}

/** The ID with the same ms and seq 0 / seq+1 kept by callers: ms with a given seq. */
export function withSeq(id: StreamId, seq: number): StreamId {
  return id.slice(0, 8) + idOf(0, seq).slice(8);
}

/**
 * util.c string2ull: string2ll when it succeeds (negative: invalid), else
 * strtoull(s, &end, 10) that must consume everything: leading spaces, a '+'
 * or '-' sign (which wraps), no overflow. Returns null when invalid.
 */
export function string2ull(s: string): bigint | null {
  const ll = string2ll(s);
  if (ll !== null) return ll < 0 ? null : BigInt(ll);
  // Redis sets errno = 0 before strtoull (ERANGE after it on overflow): not EDOM either way.
  streamErrno.edom = false;
  const { start, neg } = strtoStart(s);
  const digits = s.slice(start);
  if (digits.length === 0 || !/^[0-9]+$/.test(digits)) return null;
  const v = BigInt(digits);
  if (v > U64_MAX) return null;
  return neg ? (v === 0n ? 0n : (1n << 64n) - v) : v;
}

/** A plain decimal without sign or leading zero and at most 15 digits: exactly a safe number. */
function quickU(s: string): number | undefined {
  const n = s.length;
  if (n === 0 || n > 15) return undefined;
  const c0 = s.charCodeAt(0);
  if (c0 === 48) return n === 1 ? 0 : undefined;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(s);
}

function parseU64(s: string): number | bigint | null {
  const q = quickU(s);
  return q !== undefined ? q : string2ull(s);
}

export interface ParsedId {
  id: StreamId;
  /** False for the `<ms>-*` form (only when allowed). */
  seqGiven: boolean;
}

/**
 * streamGenericParseIDOrReply: "<ms>-<seq>", "<ms>" (seq = missingSeq),
 * "-" and "+" unless strict, "<ms>-*" when `seqStar`. Returns null for
 * "Invalid stream ID specified as stream command argument".
 */
export function parseStreamId(arg: string, missingSeqMax: boolean, strict: boolean, seqStar = false): ParsedId | null {
  if (arg.length > 127) return null;
  const s = cstr(arg);
  if (s === '-' || s === '+') {
    if (strict) return null;
    return { id: s === '-' ? ZERO_ID : MAX_ID, seqGiven: true };
  }
  const dash = s.indexOf('-');
  const msPart = dash < 0 ? s : s.slice(0, dash);
  const ms = parseU64(msPart);
  if (ms === null) return null;
  let seq: number | bigint;
  let seqGiven = true;
  if (dash < 0) {
    seq = missingSeqMax ? U64_MAX : 0;
  } else {
    const rest = s.slice(dash + 1);
    if (seqStar && rest === '*') {
      seq = 0;
      seqGiven = false;
    } else {
      const v = parseU64(rest);
      if (v === null) return null;
      seq = v;
    }
  }
  const id = typeof ms === 'number' && typeof seq === 'number' ? idOf(ms, seq) : idOfBig(BigInt(ms), BigInt(seq));
  return { id, seqGiven };
}

/** The difference a - b of two 64-bit halves as a signed 64-bit value (the listpack delta of an entry). */
export function halfDelta(a: StreamId, b: StreamId, at: 0 | 8): number | bigint {
  const ah = u32At(a, at);
  const bh = u32At(b, at);
  // Both halves below 2^53: the difference of safe integers, exact.
  if (ah < 0x200000 && bh < 0x200000) return (ah - bh) * U32 + (u32At(a, at + 4) - u32At(b, at + 4));
  const x = half(a, at);
  const y = half(b, at);
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  return BigInt.asIntN(64, BigInt(x) - BigInt(y));
}
