/**
 * Generic keyspace commands (redis/src/db.c and expire.c, 7.0.15): DEL,
 * EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, the EXPIRE family,
 * TTL family, PERSIST, TOUCH. (COPY, MOVE, SWAPDB, DBSIZE, FLUSHDB and
 * FLUSHALL, which concern databases, are in databases.ts.)
 *
 * Writes use getForWrite (an expired key is deleted deterministically, with
 * ctx.now from the log entry); reads use get and never mutate. Every
 * command acts on ctx.db, the client's SELECTed database.
 */
import { globMatch } from '../keyspace/glob.js';
import { valueType } from '../keyspace/keyspace.js';
import {
  ERR,
  invalidExpireError,
  unsupportedOptionError,
} from './errors.js';
import { LLONG_MAX, LLONG_MIN, big, string2ll, wrapInt64 } from '../util/number.js';
import { Notify, notify } from './notify.js';
import { isOpt } from './options.js';
import { scan, scanCursor, scanOptions } from './scan.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';


/** DEL and UNLINK: keys deleted, expired ones not counted. */
const del: DataHandler = (ctx, argv) => {
  const { db, now } = ctx;
  let n = 0;
  for (let j = 1; j < argv.length; j++) {
    const key = argv[j]!;
    if (db.getForWrite(key, now) !== undefined && db.delete(key)) {
      n++;
      notify(ctx, Notify.Generic, 'del', key);
      dirty(ctx);
    }
  }
  ctx.w.int(n);
};

/** EXISTS and TOUCH: live keys, counted once per argument. */
const exists: DataHandler = (ctx, argv) => {
  const { db, now } = ctx;
  let n = 0;
  for (let j = 1; j < argv.length; j++) if (db.lookupRead(argv[j]!, now) !== undefined) n++;
  ctx.w.int(n);
};

function renameGeneric(ctx: Ctx, argv: string[], nx: boolean): void {
  const { db, now, w } = ctx;
  const src = argv[1]!;
  const dst = argv[2]!;
  if (db.getForWrite(src, now) === undefined) return w.error(ERR.nokey);
  if (src === dst) return nx ? w.int(0) : w.ok();
  if (db.getForWrite(dst, now) !== undefined && nx) return w.int(0);
  db.rename(src, dst);
  notify(ctx, Notify.Generic, 'rename_from', src);
  notify(ctx, Notify.Generic, 'rename_to', dst);
  dirty(ctx);
  if (nx) w.int(1);
  else w.ok();
}

// expire.c flags.
const E_NX = 1;
const E_XX = 2;
const E_GT = 4;
const E_LT = 8;

const LLONG_MAX_DIV_1000 = LLONG_MAX / 1000n;
const LLONG_MIN_DIV_1000 = LLONG_MIN / 1000n; // truncates toward zero, as C does

/**
 * expireGenericCommand. `basetime` is ctx.now for EXPIRE/PEXPIRE and 0 for
 * the *AT forms. Options are parsed before the time, as in Redis. A time
 * already past deletes the key (and answers 1).
 */
function expireGeneric(ctx: Ctx, argv: string[], relative: boolean, seconds: boolean, cmd: string): void {
  const { db, now, w } = ctx;
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!;
    if (isOpt(opt, 'nx')) flags |= E_NX;
    else if (isOpt(opt, 'xx')) flags |= E_XX;
    else if (isOpt(opt, 'gt')) flags |= E_GT;
    else if (isOpt(opt, 'lt')) flags |= E_LT;
    else return w.error(unsupportedOptionError(opt));
  }
  if (flags & E_NX && flags & (E_XX | E_GT | E_LT)) return w.error(ERR.expireOptionsNXandOthers);
  if (flags & E_GT && flags & E_LT) return w.error(ERR.expireOptionsGTandLT);

  const v = string2ll(argv[2]!);
  if (v === null) return w.error(ERR.notInteger);
  let when: number;
  if (typeof v === 'number' && Number.isSafeInteger((seconds ? v * 1000 : v) + (relative ? now : 0))) {
    when = (seconds ? v * 1000 : v) + (relative ? now : 0);
  } else {
    let b = big(v);
    if (seconds) {
      if (b > LLONG_MAX_DIV_1000 || b < LLONG_MIN_DIV_1000) return w.error(invalidExpireError(cmd));
      b *= 1000n;
    }
    const base = relative ? BigInt(now) : 0n;
    if (b > LLONG_MAX - base) return w.error(invalidExpireError(cmd));
    // Kept as a double: exact up to 2^53 ms, rounded beyond (see expireMilliseconds in string.ts).
    when = Number(b + base);
  }

  const key = argv[1]!;
  if (db.getForWrite(key, now) === undefined) return w.int(0);
  if (flags) {
    const cur = db.expireAt(key);
    if (flags & E_NX && cur !== undefined) return w.int(0);
    if (flags & E_XX && cur === undefined) return w.int(0);
    // No TTL counts as an infinite one: never "greater than" it, always "less than".
    if (flags & E_GT && (cur === undefined || when <= cur)) return w.int(0);
    if (flags & E_LT && cur !== undefined && when >= cur) return w.int(0);
  }
  if (when <= now) {
    db.delete(key);
    notify(ctx, Notify.Generic, 'del', key);
    dirty(ctx);
  } else {
    db.setExpire(key, when);
    notify(ctx, Notify.Generic, 'expire', key);
    dirty(ctx);
  }
  w.int(1);
}

/** ttlGenericCommand: -2 no key, -1 no TTL, else the TTL (or absolute time), seconds rounded to nearest. */
function ttlGeneric(ctx: Ctx, key: string, ms: boolean, abs: boolean): void {
  const { db, now, w } = ctx;
  if (db.lookupRead(key, now) === undefined) return w.int(-2);
  const at = db.expireAt(key);
  if (at === undefined) return w.int(-1);
  let ttl = abs ? at : at - now;
  if (ttl < 0) ttl = 0;
  if (ms) return w.int(Number.isSafeInteger(ttl) ? ttl : BigInt(ttl));
  if (Number.isSafeInteger(ttl + 500)) return w.int(Math.trunc((ttl + 500) / 1000));
  // (ttl+500)/1000 in long long: wraps past LLONG_MAX, then divides truncating toward zero.
  w.int(wrapInt64(BigInt(ttl) + 500n) / 1000n);
}

export const keyspaceCommands: Record<string, DataHandler> = {
  del,
  unlink: del,
  exists,
  touch: exists,

  type(ctx, argv) {
    ctx.w.simple(valueType(ctx.db.lookupRead(argv[1]!, ctx.now)));
  },

  keys(ctx, argv) {
    const { db, now } = ctx;
    const pattern = argv[1]!;
    const all = pattern === '*';
    const out: string[] = [];
    for (const key of db.keys()) {
      if ((all || globMatch(pattern, key)) && !db.isExpired(key, now)) out.push(key);
    }
    ctx.w.bulkArray(out);
  },

  /** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: a walk over the key table (scan.ts). */
  scan(ctx, argv) {
    const cursor = scanCursor(ctx, argv[1]!);
    if (cursor === undefined) return;
    const opts = scanOptions(ctx, argv, 2, true);
    if (opts === undefined) return;
    const { db, now } = ctx;
    const typeName = opts.typeName;
    scan(ctx, cursor, opts, {
      owner: db.keyTable,
      names: () => db.keys(),
      emit(key, out) {
        // Gone since the walk read it ahead, or expired (get counts no hit or miss).
        if (db.get(key, now) === undefined) return;
        // Redis reads each key's type with lookupKeyRead: INFO counts it.
        if (typeName !== undefined && !isOpt(typeName, valueType(db.lookupRead(key, now)))) return;
        out.push(key);
      },
    });
  },

  randomkey(ctx) {
    const k = ctx.db.randomKey(ctx.now);
    if (k === undefined) ctx.w.nil();
    else ctx.w.bulk(k);
  },

  rename(ctx, argv) {
    renameGeneric(ctx, argv, false);
  },

  renamenx(ctx, argv) {
    renameGeneric(ctx, argv, true);
  },

  expire(ctx, argv) {
    expireGeneric(ctx, argv, true, true, 'expire');
  },
  pexpire(ctx, argv) {
    expireGeneric(ctx, argv, true, false, 'pexpire');
  },
  expireat(ctx, argv) {
    expireGeneric(ctx, argv, false, true, 'expireat');
  },
  pexpireat(ctx, argv) {
    expireGeneric(ctx, argv, false, false, 'pexpireat');
  },

  ttl(ctx, argv) {
    ttlGeneric(ctx, argv[1]!, false, false);
  },
  pttl(ctx, argv) {
    ttlGeneric(ctx, argv[1]!, true, false);
  },
  expiretime(ctx, argv) {
    ttlGeneric(ctx, argv[1]!, false, true);
  },
  pexpiretime(ctx, argv) {
    ttlGeneric(ctx, argv[1]!, true, true);
  },

  persist(ctx, argv) {
    const key = argv[1]!;
    if (ctx.db.getForWrite(key, ctx.now) === undefined) return ctx.w.int(0);
    if (!ctx.db.persist(key)) return ctx.w.int(0);
    notify(ctx, Notify.Generic, 'persist', key);
    dirty(ctx);
    ctx.w.int(1);
  },
};
