/**
 * String commands (redis/src/t_string.c, 7.0.15), replies and errors byte
 * for byte.
 *
 * Writes run when their log entry is applied, on every replica, with
 * ctx.now the leader's timestamp: relative TTLs become absolute from
 * ctx.now and a key that has expired by then is deleted (getForWrite)
 * before the command sees it, so every replica ends in the same state.
 * Reads use db.get and never mutate.
 *
 * Values are latin1 strings (one char per byte). Handlers test
 * `typeof v === 'string'` so that WRONGTYPE works once other value types
 * exist in the keyspace.
 */
import { Notify, notify } from './notify.js';
import { constants as bufferConstants } from 'node:buffer';
import { INLINE, type Value } from '../keyspace/keyspace.js';
import { ERR, KEYSPACE_ERR, arityError, invalidExpireError } from './errors.js';
import { LD_ZERO, add, formatHuman, string2ld } from '../util/long-double.js';
import { LLONG_MAX, addInt64, big, int64, string2ll, type Int64 } from '../util/number.js';
import { isOpt } from './options.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

/**
 * proto-max-bulk-len's default: the largest string APPEND and SETRANGE may
 * build. V8 caps strings at 2^29-24 bytes, 24 below it; beyond that the
 * same error is returned (a documented difference: Redis would accept
 * those last 24 bytes).
 */
export const PROTO_MAX_BULK_LEN = 512 * 1024 * 1024;
const MAX_STRING = Math.min(PROTO_MAX_BULK_LEN, bufferConstants.MAX_STRING_LENGTH);

function isString(v: Value): v is string {
  return typeof v === 'string';
}

/** checkStringLength: replies the error and returns false when the result would be too long. */
function checkStringLength(ctx: Ctx, total: number | bigint): boolean {
  if (total > MAX_STRING) {
    ctx.w.error(ERR.stringTooLong);
    return false;
  }
  return true;
}

// Flags of parseExtendedStringArgumentsOrReply.
const NX = 1 << 0;
const XX = 1 << 1;
const EX = 1 << 2;
const PX = 1 << 3;
const KEEPTTL = 1 << 4;
const GET = 1 << 5;
const EXAT = 1 << 6;
const PXAT = 1 << 7;
const PERSIST = 1 << 8;
const ANY_EXPIRE = EX | PX | EXAT | PXAT;

interface ExtendedArgs {
  flags: number;
  /** The EX/PX/EXAT/PXAT argument, as sent. */
  expire: string | undefined;
}

/**
 * parseExtendedStringArgumentsOrReply for SET (from argv[3]) and GETEX (from
 * argv[2]). A repeated option is allowed (the last value wins); conflicting
 * ones and anything unknown are a syntax error. Returns undefined after
 * replying the error.
 */
function parseExtended(ctx: Ctx, argv: string[], isSet: boolean): ExtendedArgs | undefined {
  let flags = 0;
  let expire: string | undefined;
  for (let j = isSet ? 3 : 2; j < argv.length; j++) {
    const opt = argv[j]!;
    const hasNext = j < argv.length - 1;
    if (isSet && isOpt(opt, 'nx') && !(flags & XX)) {
      flags |= NX;
    } else if (isSet && isOpt(opt, 'xx') && !(flags & NX)) {
      flags |= XX;
    } else if (isSet && isOpt(opt, 'get')) {
      flags |= GET;
    } else if (isSet && isOpt(opt, 'keepttl') && !(flags & (PERSIST | ANY_EXPIRE))) {
      flags |= KEEPTTL;
    } else if (!isSet && isOpt(opt, 'persist') && !(flags & (ANY_EXPIRE | KEEPTTL))) {
      flags |= PERSIST;
    } else if (isOpt(opt, 'ex') && !(flags & (KEEPTTL | PERSIST | EXAT | PX | PXAT)) && hasNext) {
      flags |= EX;
      expire = argv[++j];
    } else if (isOpt(opt, 'px') && !(flags & (KEEPTTL | PERSIST | EX | EXAT | PXAT)) && hasNext) {
      flags |= PX;
      expire = argv[++j];
    } else if (isOpt(opt, 'exat') && !(flags & (KEEPTTL | PERSIST | EX | PX | PXAT)) && hasNext) {
      flags |= EXAT;
      expire = argv[++j];
    } else if (isOpt(opt, 'pxat') && !(flags & (KEEPTTL | PERSIST | EX | EXAT | PX)) && hasNext) {
      flags |= PXAT;
      expire = argv[++j];
    } else {
      ctx.w.error(ERR.syntax);
      return undefined;
    }
  }
  return { flags, expire };
}

const LLONG_MAX_DIV_1000 = LLONG_MAX / 1000n;

/**
 * getExpireMillisecondsOrReply: the absolute expiry in ms for an EX/PX/EXAT/
 * PXAT argument, relative ones counted from ctx.now. Non-positive values
 * and int64 overflow are "invalid expire time in '<cmd>' command".
 * Returns undefined after replying the error.
 *
 * Absolute times are kept as JS numbers in the keyspace, exact up to 2^53 ms
 * (year 287396); larger ones are rounded to the nearest double.
 */
export function expireMilliseconds(ctx: Ctx, arg: string, flags: number, cmd: string): number | undefined {
  const v = string2ll(arg);
  if (v === null) {
    ctx.w.error(ERR.notInteger);
    return undefined;
  }
  const seconds = (flags & (EX | EXAT)) !== 0;
  const relative = (flags & (EX | PX)) !== 0;
  if (typeof v === 'number') {
    if (v <= 0) {
      ctx.w.error(invalidExpireError(cmd));
      return undefined;
    }
    const ms = (seconds ? v * 1000 : v) + (relative ? ctx.now : 0);
    if (Number.isSafeInteger(ms)) return ms;
  }
  let ms = big(v);
  if (ms <= 0n || (seconds && ms > LLONG_MAX_DIV_1000)) {
    ctx.w.error(invalidExpireError(cmd));
    return undefined;
  }
  if (seconds) ms *= 1000n;
  if (relative) ms += BigInt(ctx.now);
  // In C the addition wraps to a negative number, which Redis then rejects.
  if (ms > LLONG_MAX) {
    ctx.w.error(invalidExpireError(cmd));
    return undefined;
  }
  return Number(ms);
}

/** getGenericCommand for a write (SET ... GET, GETSET): replies the value; false after WRONGTYPE. */
function replyOldValue(ctx: Ctx, v: Value | undefined): boolean {
  if (v === undefined) {
    ctx.w.nil();
    return true;
  }
  if (!isString(v)) {
    ctx.w.error(ERR.wrongtype);
    return false;
  }
  ctx.w.bulk(v);
  return true;
}

/**
 * setGenericCommand. `okReply`/`abortReply` are what SETNX answers instead
 * of +OK / nil. An absolute expiry already in the past (EXAT/PXAT) deletes
 * the key at once instead of storing a dead key: the same observable result
 * as Redis, whose next access deletes it (and counts it in expired_keys).
 */
function setGeneric(
  ctx: Ctx,
  key: string,
  value: string,
  flags: number,
  expire: string | undefined,
  cmd: string,
  okReply?: () => void,
  abortReply?: () => void,
): void {
  let at: number | undefined;
  if (expire !== undefined) {
    at = expireMilliseconds(ctx, expire, flags, cmd);
    if (at === undefined) return;
  }
  const { db, now, w } = ctx;
  const old = db.getForWrite(key, now);
  if (flags & GET && !replyOldValue(ctx, db.countRead(old, key))) return;
  const found = old !== undefined;
  if ((flags & NX && found) || (flags & XX && !found)) {
    if (!(flags & GET)) {
      if (abortReply) abortReply();
      else w.nil();
    }
    return;
  }
  db.set(key, value, (flags & KEEPTTL) !== 0);
  notify(ctx, Notify.String, 'set', key);
  dirty(ctx);
  if (at !== undefined) {
    // Redis 7.0 stores the expiry and emits "expire"; a time already past deletes the key ("expired").
    if (at > now) db.setExpire(key, at);
    notify(ctx, Notify.Generic, 'expire', key);
    if (at <= now) db.deleteExpiredNow(key);
  }
  if (!(flags & GET)) {
    if (okReply) okReply();
    else w.ok();
  }
}

/** GET / SUBSTR-free read of a string key: replies nil or WRONGTYPE and returns undefined when it is not one. */
function readString(ctx: Ctx, key: string, missing: (ctx: Ctx) => void): string | undefined {
  const v = ctx.db.lookupRead(key, ctx.now);
  if (v === undefined) {
    missing(ctx);
    return undefined;
  }
  if (!isString(v)) {
    ctx.w.error(ERR.wrongtype);
    return undefined;
  }
  return v;
}

const replyNil = (ctx: Ctx): void => ctx.w.nil();
const replyZero = (ctx: Ctx): void => ctx.w.int(0);
const replyEmpty = (ctx: Ctx): void => ctx.w.bulk('');

/**
 * The write-side lookup: undefined when absent; replies WRONGTYPE and
 * returns null for another type. `countRead`: Redis reads this key with
 * lookupKeyRead (GETDEL, GETEX), which INFO counts as a hit or miss.
 */
function writeString(ctx: Ctx, key: string, countRead = false): string | undefined | null {
  const v = countRead ? ctx.db.countRead(ctx.db.getForWrite(key, ctx.now), key) : ctx.db.getForWrite(key, ctx.now);
  if (v !== undefined && !isString(v)) {
    ctx.w.error(ERR.wrongtype);
    return null;
  }
  return v;
}

/** incrDecrCommand. */
function incrDecr(ctx: Ctx, key: string, incr: Int64): void {
  const v = writeString(ctx, key);
  if (v === null) return;
  const cur = v === undefined ? 0 : string2ll(v);
  if (cur === null) return ctx.w.error(ERR.notInteger);
  const r = addInt64(cur, incr);
  if (r === null) return ctx.w.error(ERR.overflow);
  ctx.db.set(key, String(r), true);
  notify(ctx, Notify.String, 'incrby', key);
  dirty(ctx);
  ctx.w.int(r);
}

/** getLongLongFromObjectOrReply on an argument. */
function intArg(ctx: Ctx, arg: string): Int64 | undefined {
  const v = string2ll(arg);
  if (v === null) {
    ctx.w.error(ERR.notInteger);
    return undefined;
  }
  return v;
}

/** GETRANGE / SUBSTR. */
const getrange: DataHandler = (ctx, argv) => {
  const a = intArg(ctx, argv[2]!);
  if (a === undefined) return;
  const b = intArg(ctx, argv[3]!);
  if (b === undefined) return;
  const v = readString(ctx, argv[1]!, replyEmpty);
  if (v === undefined) return;
  const len = BigInt(v.length);
  let start = big(a);
  let end = big(b);
  if (start < 0n && end < 0n && start > end) return ctx.w.bulk('');
  if (start < 0n) start += len;
  if (end < 0n) end += len;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= len) end = len - 1n;
  if (start > end || len === 0n) return ctx.w.bulk('');
  ctx.w.bulk(v.slice(Number(start), Number(end) + 1));
};

export const stringCommands: Record<string, DataHandler> = {
  get(ctx, argv) {
    // readString's answers, but a value stored as bytes goes to the reply as bytes (no string made).
    const db = ctx.db;
    const v = db.lookupReadBytes(argv[1]!, ctx.now);
    if (v === INLINE) return ctx.w.bulkBytes(db.inline);
    if (v === undefined) return ctx.w.nil();
    if (!isString(v)) return ctx.w.error(ERR.wrongtype);
    ctx.w.bulk(v);
  },

  set(ctx, argv) {
    if (argv.length === 3) {
      // The common case, no options: nothing to parse or check (set clears any TTL).
      ctx.db.replace(argv[1]!, argv[2]!, ctx.now);
      notify(ctx, Notify.String, 'set', argv[1]!);
      dirty(ctx);
      return ctx.w.ok();
    }
    const opts = parseExtended(ctx, argv, true);
    if (opts === undefined) return;
    setGeneric(ctx, argv[1]!, argv[2]!, opts.flags, opts.expire, 'set');
  },

  setnx(ctx, argv) {
    setGeneric(
      ctx,
      argv[1]!,
      argv[2]!,
      NX,
      undefined,
      'setnx',
      () => ctx.w.int(1),
      () => ctx.w.int(0),
    );
  },

  setex(ctx, argv) {
    setGeneric(ctx, argv[1]!, argv[3]!, EX, argv[2]!, 'setex');
  },

  psetex(ctx, argv) {
    setGeneric(ctx, argv[1]!, argv[3]!, PX, argv[2]!, 'psetex');
  },

  getset(ctx, argv) {
    const key = argv[1]!;
    if (!replyOldValue(ctx, ctx.db.countRead(ctx.db.getForWrite(key, ctx.now), key))) return;
    ctx.db.set(key, argv[2]!);
    notify(ctx, Notify.String, 'set', key);
    dirty(ctx);
  },

  getdel(ctx, argv) {
    const key = argv[1]!;
    const v = writeString(ctx, key, true);
    if (v === null) return;
    if (v === undefined) return ctx.w.nil();
    ctx.w.bulk(v);
    ctx.db.delete(key);
    notify(ctx, Notify.Generic, 'del', key);
    dirty(ctx);
  },

  getex(ctx, argv) {
    const opts = parseExtended(ctx, argv, false);
    if (opts === undefined) return;
    const key = argv[1]!;
    const v = writeString(ctx, key, true);
    if (v === null) return;
    if (v === undefined) return ctx.w.nil();
    let at: number | undefined;
    if (opts.expire !== undefined) {
      at = expireMilliseconds(ctx, opts.expire, opts.flags, 'getex');
      if (at === undefined) return;
    }
    ctx.w.bulk(v);
    if (at !== undefined) {
      if (opts.flags & (EXAT | PXAT) && at <= ctx.now) {
        ctx.db.delete(key);
        notify(ctx, Notify.Generic, 'del', key);
        dirty(ctx);
      } else {
        ctx.db.setExpire(key, at);
        notify(ctx, Notify.Generic, 'expire', key);
        dirty(ctx);
      }
    } else if (opts.flags & PERSIST) {
      if (ctx.db.persist(key)) {
        notify(ctx, Notify.Generic, 'persist', key);
        dirty(ctx);
      }
    }
  },

  mget(ctx, argv) {
    const { db, now, w } = ctx;
    w.arrayHeader(argv.length - 1);
    for (let j = 1; j < argv.length; j++) {
      const v = db.lookupReadBytes(argv[j]!, now);
      if (v === INLINE) w.bulkBytes(db.inline);
      else if (v !== undefined && isString(v)) w.bulk(v);
      else w.nil();
    }
  },

  mset(ctx, argv) {
    if (argv.length % 2 === 0) return ctx.w.error(arityError('mset'));
    for (let j = 1; j < argv.length; j += 2) {
      ctx.db.replace(argv[j]!, argv[j + 1]!, ctx.now);
      notify(ctx, Notify.String, 'set', argv[j]!);
      dirty(ctx);
    }
    ctx.w.ok();
  },

  msetnx(ctx, argv) {
    if (argv.length % 2 === 0) return ctx.w.error(arityError('msetnx'));
    const { db, now } = ctx;
    // Redis stops at the first live key (expired ones met before it are deleted).
    for (let j = 1; j < argv.length; j += 2) if (db.getForWrite(argv[j]!, now) !== undefined) return ctx.w.int(0);
    for (let j = 1; j < argv.length; j += 2) {
      db.set(argv[j]!, argv[j + 1]!);
      notify(ctx, Notify.String, 'set', argv[j]!);
      dirty(ctx);
    }
    ctx.w.int(1);
  },

  append(ctx, argv) {
    const key = argv[1]!;
    const tail = argv[2]!;
    const v = writeString(ctx, key);
    if (v === null) return;
    if (v === undefined) {
      ctx.db.set(key, tail);
      notify(ctx, Notify.String, 'append', key);
      dirty(ctx);
      return ctx.w.int(tail.length);
    }
    const total = v.length + tail.length;
    if (!checkStringLength(ctx, total)) return;
    ctx.db.set(key, v + tail, true);
    notify(ctx, Notify.String, 'append', key);
    dirty(ctx);
    ctx.w.int(total);
  },

  strlen(ctx, argv) {
    const v = readString(ctx, argv[1]!, replyZero);
    if (v !== undefined) ctx.w.int(v.length);
  },

  getrange,
  substr: getrange,

  setrange(ctx, argv) {
    const key = argv[1]!;
    const value = argv[3]!;
    const off = intArg(ctx, argv[2]!);
    if (off === undefined) return;
    if (off < 0) return ctx.w.error(ERR.offsetOutOfRange);
    const v = writeString(ctx, key);
    if (v === null) return;
    if (v === undefined) {
      if (value.length === 0) return ctx.w.int(0);
    } else if (value.length === 0) {
      return ctx.w.int(v.length);
    }
    if (!checkStringLength(ctx, big(off) + BigInt(value.length))) return;
    const offset = Number(off);
    const old = v ?? '';
    const updated =
      offset > old.length
        ? old + '\0'.repeat(offset - old.length) + value
        : old.slice(0, offset) + value + old.slice(offset + value.length);
    ctx.db.set(key, updated, true);
    notify(ctx, Notify.String, 'setrange', key);
    dirty(ctx);
    ctx.w.int(updated.length);
  },

  incr(ctx, argv) {
    incrDecr(ctx, argv[1]!, 1);
  },

  decr(ctx, argv) {
    incrDecr(ctx, argv[1]!, -1);
  },

  incrby(ctx, argv) {
    const incr = intArg(ctx, argv[2]!);
    if (incr !== undefined) incrDecr(ctx, argv[1]!, incr);
  },

  decrby(ctx, argv) {
    const incr = intArg(ctx, argv[2]!);
    if (incr === undefined) return;
    // -LLONG_MIN does not exist.
    if (typeof incr === 'bigint' && incr === -9223372036854775808n) return ctx.w.error(KEYSPACE_ERR.decrementOverflow);
    incrDecr(ctx, argv[1]!, typeof incr === 'number' ? -incr : int64(-incr));
  },

  incrbyfloat(ctx, argv) {
    const key = argv[1]!;
    const v = writeString(ctx, key);
    if (v === null) return;
    const value = v === undefined ? LD_ZERO : string2ld(v);
    const incr = value === null ? null : string2ld(argv[2]!);
    if (value === null || incr === null) return ctx.w.error(ERR.notFloat);
    const sum = add(value, incr);
    if (sum.kind !== 'finite') return ctx.w.error(ERR.incrFloatNaN);
    const s = formatHuman(sum);
    ctx.db.set(key, s, true);
    notify(ctx, Notify.String, 'incrbyfloat', key);
    dirty(ctx);
    ctx.w.bulk(s);
  },
};
