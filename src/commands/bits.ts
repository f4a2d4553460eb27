/**
 * Bit operations on string values (redis/src/bitops.c, 7.0.15): SETBIT,
 * GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
 *
 * Strings are immutable latin1 JS strings, so a write rebuilds the value
 * (O(length) per SETBIT where Redis is O(1); see docs/decisions.md). Bit 0
 * is the most significant bit of byte 0, as in Redis.
 */
import { Notify, deleteStored, notify } from './notify.js';
import { constants as bufferConstants } from 'node:buffer';
import type { Value } from '../keyspace/keyspace.js';
import { ERR } from './errors.js';
import { cstr, string2ll } from '../util/number.js';
import { isOpt } from './options.js';
import { PROTO_MAX_BULK_LEN } from './string.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

export const BIT_ERR = {
  offset: 'ERR bit offset is not an integer or out of range',
  bitValue: 'ERR bit is not an integer or out of range',
  bitposBit: 'ERR The bit argument must be 1 or 0.',
  bitopNot: 'ERR BITOP NOT must be called with a single source key.',
  fieldType: 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.',
  overflowType: 'ERR Invalid OVERFLOW type specified',
  roOnlyGet: 'ERR BITFIELD_RO only supports the GET subcommand',
} as const;

/** Bits addressable in a string: proto-max-bulk-len bytes, capped by V8's longest string. */
const MAX_BYTES = Math.min(PROTO_MAX_BULK_LEN, bufferConstants.MAX_STRING_LENGTH);

function isString(v: Value | undefined): v is string {
  return typeof v === 'string';
}

/**
 * getBitOffsetFromArgument: a bit offset ("#n" means n*bits when allowed);
 * undefined after replying the error. Offsets whose byte is beyond
 * proto-max-bulk-len are refused, as Redis does (V8's string cap lies 24
 * bytes below it: those last bytes get the same error).
 */
function bitOffset(ctx: Ctx, arg: string, hash: boolean, bits: number): number | undefined {
  const useHash = hash && bits > 0 && arg.charCodeAt(0) === 35; /* # */
  const v = string2ll(useHash ? arg.slice(1) : arg);
  if (v === null) {
    ctx.w.error(BIT_ERR.offset);
    return undefined;
  }
  let off = BigInt(v);
  if (useHash) off *= BigInt(bits);
  if (off < 0n || off >> 3n >= BigInt(MAX_BYTES)) {
    ctx.w.error(BIT_ERR.offset);
    return undefined;
  }
  return Number(off);
}

/** The string at key for a bit write, zero-padded to hold bit `maxBit`; null after WRONGTYPE. */
function stringForWrite(ctx: Ctx, key: string, maxBit: number): string | null {
  const v = ctx.db.getForWrite(key, ctx.now);
  if (v !== undefined && !isString(v)) {
    ctx.w.error(ERR.wrongtype);
    return null;
  }
  const bytes = (maxBit >> 3) + 1;
  const s = v ?? '';
  return s.length >= bytes ? s : s + '\0'.repeat(bytes - s.length);
}

/** Stores a rebuilt string, keeping the TTL (Redis changes the value in place). */
function storeBits(ctx: Ctx, key: string, bytes: Buffer): void {
  ctx.db.set(key, bytes.toString('latin1'), true);
}

/** The string at key for a read: '' when absent, null after WRONGTYPE. */
function stringForRead(ctx: Ctx, key: string): string | undefined | null {
  const v = ctx.db.lookupRead(key, ctx.now);
  if (v !== undefined && !isString(v)) {
    ctx.w.error(ERR.wrongtype);
    return null;
  }
  return v;
}

function popcount8(b: number): number {
  b = b - ((b >> 1) & 0x55);
  b = (b & 0x33) + ((b >> 2) & 0x33);
  return (b + (b >> 4)) & 0x0f;
}

/** getLongLongFromObjectOrReply as a bigint; undefined after replying. */
function llArg(ctx: Ctx, arg: string): bigint | undefined {
  const v = string2ll(arg);
  if (v === null) {
    ctx.w.error(ERR.notInteger);
    return undefined;
  }
  return BigInt(v);
}

/**
 * The start/end normalisation shared by BITCOUNT and BITPOS: bit positions
 * [from, to] inside the string (to < from: empty range).
 */
function bitRange(start: bigint, end: bigint, strlen: number, isBit: boolean): [number, number] {
  const total = BigInt(isBit ? strlen * 8 : strlen);
  if (start < 0n) start += total;
  if (end < 0n) end += total;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= total) end = total - 1n;
  if (start > end) return [1, 0];
  return isBit ? [Number(start), Number(end)] : [Number(start) * 8, Number(end) * 8 + 7];
}

function bitAt(s: string, pos: number): number {
  const byte = pos >> 3;
  if (byte >= s.length) return 0;
  return (s.charCodeAt(byte) >> (7 - (pos & 7))) & 1;
}

function countBits(s: string, from: number, to: number): number {
  let n = 0;
  let p = from;
  while (p <= to && (p & 7) !== 0) n += bitAt(s, p++);
  while (p + 7 <= to) {
    n += popcount8(s.charCodeAt(p >> 3));
    p += 8;
  }
  while (p <= to) n += bitAt(s, p++);
  return n;
}

/** The first position in [from, to] holding `bit`, or -1. */
function findBit(s: string, bit: number, from: number, to: number): number {
  let p = from;
  while (p <= to && (p & 7) !== 0) {
    if (bitAt(s, p) === bit) return p;
    p++;
  }
  const skip = bit === 1 ? 0 : 0xff;
  while (p + 7 <= to && s.charCodeAt(p >> 3) === skip) p += 8;
  for (; p <= to; p++) if (bitAt(s, p) === bit) return p;
  return -1;
}

// ---- BITFIELD ----

const OW_WRAP = 0;
const OW_SAT = 1;
const OW_FAIL = 2;

const enum Op {
  Get,
  Set,
  Incrby,
}

interface FieldOp {
  op: Op;
  offset: number;
  bits: number;
  signed: boolean;
  value: bigint;
  overflow: number;
}

/** getBitfieldTypeFromArgument: [signed, bits]; undefined after replying. */
function fieldType(ctx: Ctx, arg: string): [boolean, number] | undefined {
  const c = arg.charCodeAt(0);
  const signed = c === 105; /* i (lower case only, as Redis) */
  const unsigned = c === 117; /* u */
  const bits = signed || unsigned ? string2ll(cstr(arg.slice(1))) : null;
  if (bits === null || bits < 1 || (signed && bits > 64) || (unsigned && bits > 63)) {
    ctx.w.error(BIT_ERR.fieldType);
    return undefined;
  }
  return [signed, Number(bits)];
}

function readField(buf: Buffer, offset: number, bits: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i++) {
    const pos = offset + i;
    const byte = pos >> 3;
    const bit = byte < buf.length ? (buf[byte]! >> (7 - (pos & 7))) & 1 : 0;
    v = (v << 1n) | BigInt(bit);
  }
  return signed ? BigInt.asIntN(bits, v) : v;
}

function writeField(buf: Buffer, offset: number, bits: number, value: bigint): void {
  const u = BigInt.asUintN(bits, value);
  for (let i = 0; i < bits; i++) {
    const pos = offset + i;
    const bit = Number((u >> BigInt(bits - 1 - i)) & 1n);
    const byte = pos >> 3;
    const mask = 1 << (7 - (pos & 7));
    buf[byte] = bit ? buf[byte]! | mask : buf[byte]! & ~mask;
  }
}

const i64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow, including
 * their 64-bit wrap-around in the limits (maxincr, minincr), which decides
 * some edge cases (e.g. SET i8 with -2^63 under SAT saturates high). For
 * SET, value is the new value and incr 0; an unsigned field sees a
 * negative value as uint64, as C does. Returns the value to store, or null
 * when it overflows under FAIL.
 */
function fit(value: bigint, incr: bigint, bits: number, signed: boolean, overflow: number): bigint | null {
  let dir = 0;
  if (signed) {
    const max = bits === 64 ? INT64_MAX : (1n << BigInt(bits - 1)) - 1n;
    const min = -max - 1n;
    const maxincr = i64(u64(max) - u64(value));
    const minincr = i64(min - value);
    if (value > max || (bits !== 64 && incr > maxincr) || (value >= 0n && incr > 0n && incr > maxincr)) dir = 1;
    else if (value < min || (bits !== 64 && incr < minincr) || (value < 0n && incr < 0n && incr < minincr)) dir = -1;
    if (dir === 0) return i64(value + incr);
    if (overflow === OW_FAIL) return null;
    if (overflow === OW_SAT) return dir > 0 ? max : min;
    return BigInt.asIntN(bits, value + incr);
  }
  const max = (1n << BigInt(bits)) - 1n;
  const maxincr = i64(max - value);
  const minincr = i64(-value);
  if (value > max || (incr > 0n && incr > maxincr)) dir = 1;
  else if (incr < 0n && incr < minincr) dir = -1;
  if (dir === 0) return u64(value + incr);
  if (overflow === OW_FAIL) return null;
  if (overflow === OW_SAT) return dir > 0 ? max : 0n;
  return BigInt.asUintN(bits, value + incr);
}

function bitfieldGeneric(ctx: Ctx, argv: string[], readOnly: boolean): void {
  const ops: FieldOp[] = [];
  let overflow = OW_WRAP;
  let writes = false;
  let highest = 0;
  for (let j = 2; j < argv.length; j++) {
    const remaining = argv.length - j - 1;
    const sub = argv[j]!;
    let op: Op;
    if (isOpt(sub, 'get') && remaining >= 2) op = Op.Get;
    else if (isOpt(sub, 'set') && remaining >= 3) op = Op.Set;
    else if (isOpt(sub, 'incrby') && remaining >= 3) op = Op.Incrby;
    else if (isOpt(sub, 'overflow') && remaining >= 1) {
      const t = argv[++j]!;
      if (isOpt(t, 'wrap')) overflow = OW_WRAP;
      else if (isOpt(t, 'sat')) overflow = OW_SAT;
      else if (isOpt(t, 'fail')) overflow = OW_FAIL;
      else return ctx.w.error(BIT_ERR.overflowType);
      continue;
    } else {
      return ctx.w.error(ERR.syntax);
    }
    const type = fieldType(ctx, argv[j + 1]!);
    if (type === undefined) return;
    const [signed, bits] = type;
    const offset = bitOffset(ctx, argv[j + 2]!, true, bits);
    if (offset === undefined) return;
    let value = 0n;
    if (op !== Op.Get) {
      if (readOnly) return ctx.w.error(BIT_ERR.roOnlyGet);
      writes = true;
      highest = Math.max(highest, offset + bits - 1);
      const v = llArg(ctx, argv[j + 3]!);
      if (v === undefined) return;
      value = v;
    }
    ops.push({ op, offset, bits, signed, value, overflow });
    j += op === Op.Get ? 2 : 3;
  }

  const key = argv[1]!;
  let buf: Buffer;
  let grown = false;
  if (!writes) {
    const v = stringForRead(ctx, key);
    if (v === null) return;
    buf = Buffer.from(v ?? '', 'latin1');
  } else {
    const prev = ctx.db.get(key, ctx.now);
    const v = stringForWrite(ctx, key, highest);
    if (v === null) return;
    // lookupStringForBitCommand's dirty: the key was created or grown.
    grown = prev === undefined || (prev as string).length !== v.length;
    buf = Buffer.from(v, 'latin1');
  }
  const w = ctx.w;
  w.arrayHeader(ops.length);
  let changes = 0;
  for (const o of ops) {
    const old = readField(buf, o.offset, o.bits, o.signed);
    if (o.op === Op.Get) {
      w.int(old);
      continue;
    }
    const next =
      o.op === Op.Set
        ? fit(o.signed ? o.value : u64(o.value), 0n, o.bits, o.signed, o.overflow)
        : fit(old, o.value, o.bits, o.signed, o.overflow);
    if (next === null) {
      w.nil();
      continue;
    }
    writeField(buf, o.offset, o.bits, next);
    // Redis 7.0 counts a write that changed the value or made the string (a change, a "setbit" event).
    if (grown || next !== old) changes++;
    w.int(o.op === Op.Set ? old : next);
  }
  if (writes) storeBits(ctx, key, buf);
  if (changes > 0) {
    notify(ctx, Notify.String, 'setbit', key);
    dirty(ctx, changes);
  }
}

export const bitCommands: Record<string, DataHandler> = {
  setbit(ctx, argv) {
    const offset = bitOffset(ctx, argv[2]!, false, 0);
    if (offset === undefined) return;
    const on = string2ll(argv[3]!);
    if (on === null || (on !== 0 && on !== 1)) return ctx.w.error(BIT_ERR.bitValue);
    const key = argv[1]!;
    const prev = ctx.db.get(key, ctx.now);
    const s = stringForWrite(ctx, key, offset);
    if (s === null) return;
    const byte = offset >> 3;
    const mask = 1 << (7 - (offset & 7));
    const b = s.charCodeAt(byte);
    const nb = on ? b | mask : b & ~mask;
    ctx.db.set(key, nb === b ? s : s.slice(0, byte) + String.fromCharCode(nb) + s.slice(byte + 1), true);
    // Redis 7.0 emits "setbit" when the key was created or grown, or the bit changed.
    if (nb !== b || prev === undefined || (prev as string).length !== s.length) {
      notify(ctx, Notify.String, 'setbit', key);
      dirty(ctx);
    }
    ctx.w.int(b & mask ? 1 : 0);
  },

  getbit(ctx, argv) {
    const offset = bitOffset(ctx, argv[2]!, false, 0);
    if (offset === undefined) return;
    const s = stringForRead(ctx, argv[1]!);
    if (s === null) return;
    ctx.w.int(s === undefined ? 0 : bitAt(s, offset));
  },

  bitcount(ctx, argv) {
    const s = stringForRead(ctx, argv[1]!);
    if (s === null) return;
    if (s === undefined) return ctx.w.int(0);
    let from = 0;
    let to = s.length * 8 - 1;
    if (argv.length === 4 || argv.length === 5) {
      const start = llArg(ctx, argv[2]!);
      if (start === undefined) return;
      const end = llArg(ctx, argv[3]!);
      if (end === undefined) return;
      if (start < 0n && end < 0n && start > end) return ctx.w.int(0);
      let isBit = false;
      if (argv.length === 5) {
        if (isOpt(argv[4]!, 'bit')) isBit = true;
        else if (!isOpt(argv[4]!, 'byte')) return ctx.w.error(ERR.syntax);
      }
      [from, to] = bitRange(start, end, s.length, isBit);
    } else if (argv.length !== 2) {
      return ctx.w.error(ERR.syntax);
    }
    ctx.w.int(from > to ? 0 : countBits(s, from, to));
  },

  bitpos(ctx, argv) {
    const bit = string2ll(argv[2]!);
    if (bit === null) return ctx.w.error(ERR.notInteger);
    if (bit !== 0 && bit !== 1) return ctx.w.error(BIT_ERR.bitposBit);
    const s = stringForRead(ctx, argv[1]!);
    if (s === null) return;
    if (s === undefined) return ctx.w.int(bit ? -1 : 0);
    let from = 0;
    let to = s.length * 8 - 1;
    let endGiven = false;
    if (argv.length >= 4 && argv.length <= 6) {
      const start = llArg(ctx, argv[3]!);
      if (start === undefined) return;
      let isBit = false;
      if (argv.length === 6) {
        if (isOpt(argv[5]!, 'bit')) isBit = true;
        else if (!isOpt(argv[5]!, 'byte')) return ctx.w.error(ERR.syntax);
      }
      let end: bigint;
      if (argv.length >= 5) {
        const e = llArg(ctx, argv[4]!);
        if (e === undefined) return;
        end = e;
        endGiven = true;
      } else {
        end = BigInt(isBit ? s.length * 8 - 1 : s.length - 1);
      }
      [from, to] = bitRange(start, end, s.length, isBit);
    } else if (argv.length !== 3) {
      return ctx.w.error(ERR.syntax);
    }
    if (from > to) return ctx.w.int(-1);
    const pos = findBit(s, bit, from, to);
    if (pos >= 0 || bit === 1) return ctx.w.int(pos);
    // No clear bit in range: without an explicit end the string counts as zero-padded.
    ctx.w.int(endGiven ? -1 : to + 1);
  },

  bitop(ctx, argv) {
    const opname = argv[1]!;
    let op: 'and' | 'or' | 'xor' | 'not';
    if (isOpt(opname, 'and')) op = 'and';
    else if (isOpt(opname, 'or')) op = 'or';
    else if (isOpt(opname, 'xor')) op = 'xor';
    else if (isOpt(opname, 'not')) op = 'not';
    else return ctx.w.error(ERR.syntax);
    if (op === 'not' && argv.length !== 4) return ctx.w.error(BIT_ERR.bitopNot);
    const srcs: Buffer[] = [];
    let maxlen = 0;
    for (let j = 3; j < argv.length; j++) {
      const v = ctx.db.getForWrite(argv[j]!, ctx.now);
      if (v !== undefined && !isString(v)) return ctx.w.error(ERR.wrongtype);
      const b = Buffer.from(v ?? '', 'latin1');
      srcs.push(b);
      if (b.length > maxlen) maxlen = b.length;
    }
    const dst = argv[2]!;
    if (maxlen === 0) {
      ctx.db.getForWrite(dst, ctx.now);
      deleteStored(ctx, dst);
      return ctx.w.int(0);
    }
    const res = Buffer.alloc(maxlen);
    const first = srcs[0]!;
    for (let i = 0; i < maxlen; i++) {
      let out = i < first.length ? first[i]! : 0;
      if (op === 'not') out = ~out & 0xff;
      for (let k = 1; k < srcs.length; k++) {
        const src = srcs[k]!;
        const b = i < src.length ? src[i]! : 0;
        if (op === 'and') out &= b;
        else if (op === 'or') out |= b;
        else out ^= b;
      }
      res[i] = out;
    }
    ctx.db.set(dst, res.toString('latin1'));
    notify(ctx, Notify.String, 'set', dst);
    dirty(ctx);
    ctx.w.int(maxlen);
  },

  bitfield(ctx, argv) {
    bitfieldGeneric(ctx, argv, false);
  },

  bitfield_ro(ctx, argv) {
    bitfieldGeneric(ctx, argv, true);
  },
};
