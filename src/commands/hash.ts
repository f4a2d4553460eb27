/**
 * Hash commands (redis/src/t_hash.c, 7.0.15), replies and errors byte for
 * byte. Writes go through writeTyped (getMutable: the copy-on-write hook)
 * and delete a hash they empty, as Redis never keeps an empty key.
 * HRANDFIELD is a read and draws with Math.random.
 */
import { Notify, notify } from './notify.js';
import { RHash } from '../keyspace/types/hash.js';
import { ERR, arityError, valueOutOfRangeError } from './errors.js';
import { LD_ZERO, add, formatHuman, string2ld } from '../util/long-double.js';
import { addInt64, string2ll } from '../util/number.js';
import { readTyped, writeTyped } from './collection.js';
import { isOpt } from './options.js';
import { distinctPositions, repeatedPositions } from './random-pick.js';
import { scanValue } from './scan.js';
import type { Ctx, DataHandler } from './types.js';
import { readRandom } from './random.js';
import { dirty } from './dirty.js';

export const HASH_ERR = {
  notInteger: 'ERR hash value is not an integer',
  notFloat: 'ERR hash value is not a float',
  incrNaN: 'ERR value is NaN or Infinity',
  outOfRange: 'ERR value is out of range',
} as const;

const LONG_MAX = 9223372036854775807n;
const LONG_MAX_HALF = LONG_MAX / 2n;

/** hashTypeLookupWriteOrCreate: the hash (created and stored when absent), or null after WRONGTYPE. */
function hashForWrite(ctx: Ctx, key: string): RHash | null {
  const h = writeTyped<RHash>(ctx, key, 'hash');
  if (h !== undefined) return h;
  const created = new RHash();
  ctx.db.set(key, created);
  return created;
}

/** HSET and HMSET: field/value pairs from argv[2]. */
function hsetGeneric(ctx: Ctx, argv: string[], name: string): number | undefined {
  if (argv.length % 2 === 1) {
    ctx.w.error(arityError(name));
    return undefined;
  }
  const h = hashForWrite(ctx, argv[1]!);
  if (h === null) return undefined;
  let created = 0;
  for (let j = 2; j < argv.length; j += 2) if (h.set(argv[j]!, argv[j + 1]!)) created++;
  notify(ctx, Notify.Hash, 'hset', argv[1]!);
  dirty(ctx, (argv.length - 2) / 2);
  return created;
}

/** HGETALL / HKEYS / HVALS. */
function getAllGeneric(ctx: Ctx, key: string, keys: boolean, values: boolean): void {
  const h = readTyped<RHash>(ctx, key, 'hash');
  if (h === null) return;
  const w = ctx.w;
  const both = keys && values;
  if (h === undefined) return both ? w.mapHeader(0) : w.arrayHeader(0);
  if (both) w.mapHeader(h.size);
  else w.arrayHeader(h.size);
  for (const [f, v] of h.entries()) {
    if (keys) w.bulk(f);
    if (values) w.bulk(v);
  }
}

/** HRANDFIELD key count [WITHVALUES] (hrandfieldWithCountCommand). */
function hrandfieldWithCount(ctx: Ctx, key: string, l: number, withValues: boolean): void {
  const h = readTyped<RHash>(ctx, key, 'hash');
  if (h === null) return;
  const w = ctx.w;
  if (h === undefined || l === 0) return w.arrayHeader(0);
  const resp3Pairs = withValues && w.proto === 3;
  const header = (n: number): void => w.arrayHeader(withValues && w.proto === 2 ? n * 2 : n);
  const pair = (i: number): void => {
    if (resp3Pairs) w.arrayHeader(2);
    w.bulk(h.fieldAt(i));
    if (withValues) w.bulk(h.valueAt(i));
  };
  const size = h.size;
  // Negative count: repetitions allowed (also the path for a count of 1).
  if (l < 0 || l === 1) {
    const count = Math.abs(l);
    const bytesAt = (i: number): number => h.fieldAt(i).length + (withValues ? h.valueAt(i).length + 16 : 8);
    const each = repeatedPositions(size, count, bytesAt, readRandom(ctx));
    if (each === null) return w.error(ERR.stringTooLong);
    header(count);
    each(pair);
    return;
  }
  if (l >= size) {
    header(size);
    for (const [f, v] of h.entries()) {
      if (resp3Pairs) w.arrayHeader(2);
      w.bulk(f);
      if (withValues) w.bulk(v);
    }
    return;
  }
  header(l);
  for (const i of distinctPositions(size, l, readRandom(ctx))) pair(i);
}

export const hashCommands: Record<string, DataHandler> = {
  hset(ctx, argv) {
    const n = hsetGeneric(ctx, argv, 'hset');
    if (n !== undefined) ctx.w.int(n);
  },

  hmset(ctx, argv) {
    if (hsetGeneric(ctx, argv, 'hmset') !== undefined) ctx.w.ok();
  },

  hsetnx(ctx, argv) {
    const h = hashForWrite(ctx, argv[1]!);
    if (h === null) return;
    if (h.has(argv[2]!)) return ctx.w.int(0);
    h.set(argv[2]!, argv[3]!);
    notify(ctx, Notify.Hash, 'hset', argv[1]!);
    dirty(ctx);
    ctx.w.int(1);
  },

  hget(ctx, argv) {
    const h = readTyped<RHash>(ctx, argv[1]!, 'hash');
    if (h === null) return;
    ctx.w.bulkOrNil(h?.get(argv[2]!));
  },

  hmget(ctx, argv) {
    const h = readTyped<RHash>(ctx, argv[1]!, 'hash');
    if (h === null) return;
    ctx.w.arrayHeader(argv.length - 2);
    for (let j = 2; j < argv.length; j++) ctx.w.bulkOrNil(h?.get(argv[j]!));
  },

  hgetall(ctx, argv) {
    getAllGeneric(ctx, argv[1]!, true, true);
  },
  hkeys(ctx, argv) {
    getAllGeneric(ctx, argv[1]!, true, false);
  },
  hvals(ctx, argv) {
    getAllGeneric(ctx, argv[1]!, false, true);
  },

  hdel(ctx, argv) {
    const key = argv[1]!;
    const h = writeTyped<RHash>(ctx, key, 'hash');
    if (h === null) return;
    if (h === undefined) return ctx.w.int(0);
    let n = 0;
    let emptied = false;
    for (let j = 2; j < argv.length; j++) {
      if (h.delete(argv[j]!)) {
        n++;
        if (h.size === 0) {
          ctx.db.delete(key);
          emptied = true;
          break;
        }
      }
    }
    if (n > 0) {
      notify(ctx, Notify.Hash, 'hdel', key);
      dirty(ctx, n);
      if (emptied) notify(ctx, Notify.Generic, 'del', key);
    }
    ctx.w.int(n);
  },

  hexists(ctx, argv) {
    const h = readTyped<RHash>(ctx, argv[1]!, 'hash');
    if (h === null) return;
    ctx.w.int(h?.has(argv[2]!) ? 1 : 0);
  },

  hlen(ctx, argv) {
    const h = readTyped<RHash>(ctx, argv[1]!, 'hash');
    if (h === null) return;
    ctx.w.int(h?.size ?? 0);
  },

  hstrlen(ctx, argv) {
    const h = readTyped<RHash>(ctx, argv[1]!, 'hash');
    if (h === null) return;
    ctx.w.int(h?.get(argv[2]!)?.length ?? 0);
  },

  hincrby(ctx, argv) {
    const incr = string2ll(argv[3]!);
    if (incr === null) return ctx.w.error(ERR.notInteger);
    const h = hashForWrite(ctx, argv[1]!);
    if (h === null) return;
    const field = argv[2]!;
    const old = h.get(field);
    const cur = old === undefined ? 0 : string2ll(old);
    if (cur === null) return ctx.w.error(HASH_ERR.notInteger);
    const r = addInt64(cur, incr);
    if (r === null) return ctx.w.error(ERR.overflow);
    h.set(field, String(r));
    notify(ctx, Notify.Hash, 'hincrby', argv[1]!);
    dirty(ctx);
    ctx.w.int(r);
  },

  hincrbyfloat(ctx, argv) {
    const incr = string2ld(argv[3]!);
    if (incr === null) return ctx.w.error(ERR.notFloat);
    if (incr.kind !== 'finite') return ctx.w.error(HASH_ERR.incrNaN);
    const h = hashForWrite(ctx, argv[1]!);
    if (h === null) return;
    const field = argv[2]!;
    const old = h.get(field);
    const cur = old === undefined ? LD_ZERO : string2ld(old);
    if (cur === null) return ctx.w.error(HASH_ERR.notFloat);
    const sum = add(cur, incr);
    if (sum.kind !== 'finite') return ctx.w.error(ERR.incrFloatNaN);
    const s = formatHuman(sum);
    h.set(field, s);
    notify(ctx, Notify.Hash, 'hincrbyfloat', argv[1]!);
    dirty(ctx);
    ctx.w.bulk(s);
  },

  hrandfield(ctx, argv) {
    if (argv.length >= 3) {
      const l = string2ll(argv[2]!);
      if (l === null) return ctx.w.error(ERR.notInteger);
      if (typeof l === 'bigint' && (l > LONG_MAX || l < -LONG_MAX)) return ctx.w.error(valueOutOfRangeError(-LONG_MAX, LONG_MAX));
      if (argv.length > 4 || (argv.length === 4 && !isOpt(argv[3]!, 'withvalues'))) return ctx.w.error(ERR.syntax);
      const withValues = argv.length === 4;
      if (withValues && typeof l === 'bigint' && (l < -LONG_MAX_HALF || l > LONG_MAX_HALF)) return ctx.w.error(HASH_ERR.outOfRange);
      // Beyond 2^53 the count is only a bound: every path caps it by the hash size, except
      // negative counts, which Redis would try to reply (and run out of memory) anyway.
      return hrandfieldWithCount(ctx, argv[1]!, Number(l), withValues);
    }
    const h = readTyped<RHash>(ctx, argv[1]!, 'hash');
    if (h === null) return;
    if (h === undefined) return ctx.w.nil();
    ctx.w.bulk(h.fieldAt(Math.floor(readRandom(ctx)() * h.size)));
  },

  /** HSCAN: a listpack hash whole, in its order; a larger one walked (scan.ts). */
  hscan(ctx, argv) {
    scanValue(ctx, argv, (key) => readTyped<RHash>(ctx, key, 'hash'), (h) => ({
      owner: h,
      names: () => h.fields(),
      whole: h.encoding === 'listpack' ? h.fields() : undefined,
      emit(f, out) {
        const v = h.get(f);
        if (v !== undefined) out.push(f, v);
      },
    }));
  },
};
