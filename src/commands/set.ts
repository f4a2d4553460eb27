/**
 * Set commands (redis/src/t_set.c, 7.0.15), replies and errors byte for
 * byte; reply order is the set's (ascending for an intset, as Redis).
 *
 * SPOP is a write: it runs on every replica when its entry is applied, so
 * it draws from entryRandom(ctx) (seeded by the entry's index and the
 * leader's time) and picks by position in the set's deterministic internal
 * order, which every replica shares (docs/decisions.md). SRANDMEMBER is a
 * read and uses Math.random.
 */
import { Notify, deleteStored, notify } from './notify.js';
import type { Value } from '../keyspace/keyspace.js';
import { RSet } from '../keyspace/types/set.js';
import { ERR, valueOutOfRangeError } from './errors.js';
import { string2ll, type Int64 } from '../util/number.js';
import { isOfType, readTyped, writeTyped } from './collection.js';
import { isOpt } from './options.js';
import { entryRandom, readRandom } from './random.js';
import { distinctPositions, repeatedPositions } from './random-pick.js';
import { scanValue } from './scan.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

export const SET_ERR = {
  mustBePositive: 'ERR value is out of range, must be positive',
  numkeys: 'ERR numkeys should be greater than 0',
  tooManyKeys: "ERR Number of keys can't be greater than number of args",
  limitNegative: "ERR LIMIT can't be negative",
} as const;

const LONG_MAX = 9223372036854775807n;

/** getRangeLongFromObjectOrReply(min, LONG_MAX) with Redis's message rules; undefined after replying. */
function rangeLong(ctx: Ctx, arg: string, min: bigint, msg: string | undefined): Int64 | undefined {
  const v = string2ll(arg);
  if (v === null) {
    ctx.w.error(msg ?? ERR.notInteger);
    return undefined;
  }
  if (BigInt(v) < min || BigInt(v) > LONG_MAX) {
    ctx.w.error(msg ?? valueOutOfRangeError(min, LONG_MAX));
    return undefined;
  }
  return v;
}

function replyMembers(ctx: Ctx, members: readonly string[], asSet: boolean): void {
  if (asSet) ctx.w.setHeader(members.length);
  else ctx.w.arrayHeader(members.length);
  for (const m of members) ctx.w.bulk(m);
}

/**
 * The sets named by keys for a multi-key command: null entries for absent
 * keys; undefined after replying WRONGTYPE (every key is checked first).
 */
function lookupSets(ctx: Ctx, keys: readonly string[], forWrite: boolean): (RSet | null)[] | undefined {
  const out: (RSet | null)[] = [];
  for (const k of keys) {
    const v: Value | undefined = forWrite ? ctx.db.countRead(ctx.db.getForWrite(k, ctx.now), k) : ctx.db.lookupRead(k, ctx.now);
    if (v === undefined) {
      out.push(null);
    } else if (!isOfType(v, 'set')) {
      ctx.w.error(ERR.wrongtype);
      return undefined;
    } else {
      out.push(v as RSet);
    }
  }
  return out;
}

/** The intersection, in the iteration order of the smallest set; stops at `limit` members (0: none). */
function intersect(sets: readonly RSet[], limit = 0): string[] {
  const sorted = [...sets].sort((a, b) => a.size - b.size);
  const [first, ...rest] = sorted;
  const out: string[] = [];
  for (const m of first!.ordered()) {
    if (rest.every((s) => s.has(m))) {
      out.push(m);
      if (limit > 0 && out.length >= limit) break;
    }
  }
  return out;
}

/** The intersection size, stopping at limit (0: none), without materializing the smallest set's order. */
function intersectCard(sets: readonly RSet[], limit: number): number {
  const sorted = [...sets].sort((a, b) => a.size - b.size);
  const [first, ...rest] = sorted;
  let n = 0;
  for (const m of first!.m.members) {
    if (rest.every((s) => s.has(m)) && ++n === limit) break;
  }
  return n;
}

/** A new set holding members, starting as an intset (createIntsetObject + setTypeAdd). */
function buildSet(members: Iterable<string>): RSet {
  const s = new RSet('intset');
  for (const m of members) s.add(m);
  return s;
}

/** Stores a computed set at dst (replacing anything, TTL cleared) or deletes dst when empty; replies the size. */
function storeResult(ctx: Ctx, dst: string, result: RSet, event: string): void {
  if (result.size > 0) {
    ctx.db.set(dst, result);
    notify(ctx, Notify.Set, event, dst);
    dirty(ctx);
  } else {
    deleteStored(ctx, dst);
  }
  ctx.w.int(result.size);
}

function sinterGeneric(ctx: Ctx, keys: readonly string[], dst: string | undefined): void {
  const sets = lookupSets(ctx, keys, dst !== undefined);
  if (sets === undefined) return;
  if (sets.some((s) => s === null)) {
    if (dst !== undefined) {
      deleteStored(ctx, dst);
      return ctx.w.int(0);
    }
    return ctx.w.setHeader(0);
  }
  const members = intersect(sets as RSet[]);
  if (dst !== undefined) return storeResult(ctx, dst, buildSet(members), 'sinterstore');
  replyMembers(ctx, members, true);
}

function sunionDiffGeneric(ctx: Ctx, keys: readonly string[], dst: string | undefined, diff: boolean): void {
  const sets = lookupSets(ctx, keys, dst !== undefined);
  if (sets === undefined) return;
  let result: RSet;
  if (!diff) {
    result = new RSet('intset');
    for (const s of sets) if (s !== null) for (const m of s.m.members) result.add(m);
  } else {
    const [first, ...rest] = sets;
    const others = rest.filter((s): s is RSet => s !== null);
    result = buildSet(first === null || first === undefined ? [] : first.m.members.filter((m) => !others.some((o) => o.has(m))));
  }
  if (dst !== undefined) return storeResult(ctx, dst, result, diff ? 'sdiffstore' : 'sunionstore');
  replyMembers(ctx, result.ordered(), true);
}

/** SPOP key count. */
function spopWithCount(ctx: Ctx, argv: string[]): void {
  const l = rangeLong(ctx, argv[2]!, 0n, SET_ERR.mustBePositive);
  if (l === undefined) return;
  const key = argv[1]!;
  const s = writeTyped<RSet>(ctx, key, 'set');
  if (s === null) return;
  if (s === undefined || l === 0) return ctx.w.setHeader(0);
  if (l >= s.size) {
    dirty(ctx, s.size);
    replyMembers(ctx, s.ordered(), true);
    ctx.db.delete(key);
    notify(ctx, Notify.Set, 'spop', key);
    notify(ctx, Notify.Generic, 'del', key);
    return;
  }
  const count = Number(l);
  const rand = entryRandom(ctx);
  ctx.w.setHeader(count);
  for (let n = 0; n < count; n++) ctx.w.bulk(s.removeAt(Math.floor(rand() * s.size)));
  notify(ctx, Notify.Set, 'spop', key);
  dirty(ctx, count);
}

/** SRANDMEMBER key count. */
function srandmemberWithCount(ctx: Ctx, argv: string[]): void {
  const l = rangeLong(ctx, argv[2]!, -LONG_MAX, undefined);
  if (l === undefined) return;
  const s = readTyped<RSet>(ctx, argv[1]!, 'set');
  if (s === null) return;
  const w = ctx.w;
  if (s === undefined || l === 0) return w.arrayHeader(0);
  const size = s.size;
  if (l < 0 || l === 1) {
    // Repetitions allowed, as long as the reply fits (MAX_RANDOM_REPLY_BYTES).
    const count = Math.abs(Number(l));
    const each = repeatedPositions(size, count, (i) => s.at(i).length + 8, readRandom(ctx));
    if (each === null) return w.error(ERR.stringTooLong);
    w.arrayHeader(count);
    each((i) => w.bulk(s.at(i)));
    return;
  }
  if (l >= size) return replyMembers(ctx, s.ordered(), false);
  const count = Number(l);
  w.arrayHeader(count);
  for (const i of distinctPositions(size, count, readRandom(ctx))) w.bulk(s.at(i));
}

export const setCommands: Record<string, DataHandler> = {
  sadd(ctx, argv) {
    const key = argv[1]!;
    let s = writeTyped<RSet>(ctx, key, 'set');
    if (s === null) return;
    if (s === undefined) {
      s = RSet.forFirst(argv[2]!);
      ctx.db.set(key, s);
    }
    let n = 0;
    for (let j = 2; j < argv.length; j++) if (s.add(argv[j]!)) n++;
    if (n > 0) {
      notify(ctx, Notify.Set, 'sadd', key);
      dirty(ctx, n);
    }
    ctx.w.int(n);
  },

  srem(ctx, argv) {
    const key = argv[1]!;
    const s = writeTyped<RSet>(ctx, key, 'set');
    if (s === null) return;
    if (s === undefined) return ctx.w.int(0);
    let n = 0;
    let emptied = false;
    for (let j = 2; j < argv.length; j++) {
      if (s.delete(argv[j]!)) {
        n++;
        if (s.size === 0) {
          ctx.db.delete(key);
          emptied = true;
          break;
        }
      }
    }
    if (n > 0) {
      notify(ctx, Notify.Set, 'srem', key);
      dirty(ctx, n);
      if (emptied) notify(ctx, Notify.Generic, 'del', key);
    }
    ctx.w.int(n);
  },

  smove(ctx, argv) {
    const [, src, dst, member] = argv as [string, string, string, string];
    const { db, now, w } = ctx;
    const from = db.getForWrite(src, now);
    const to = db.getForWrite(dst, now);
    if (from === undefined) return w.int(0);
    if (!isOfType(from, 'set') || (to !== undefined && !isOfType(to, 'set'))) return w.error(ERR.wrongtype);
    if (from === to) return w.int((from as RSet).has(member) ? 1 : 0);
    const source = db.getMutable(src, now) as RSet;
    if (!source.delete(member)) return w.int(0);
    notify(ctx, Notify.Set, 'srem', src);
    dirty(ctx);
    if (source.size === 0) {
      db.delete(src);
      notify(ctx, Notify.Generic, 'del', src);
    }
    let target = to === undefined ? undefined : (db.getMutable(dst, now) as RSet);
    if (target === undefined) {
      target = RSet.forFirst(member);
      db.set(dst, target);
    }
    if (target.add(member)) {
      notify(ctx, Notify.Set, 'sadd', dst);
      dirty(ctx);
    }
    w.int(1);
  },

  sismember(ctx, argv) {
    const s = readTyped<RSet>(ctx, argv[1]!, 'set');
    if (s === null) return;
    ctx.w.int(s?.has(argv[2]!) ? 1 : 0);
  },

  smismember(ctx, argv) {
    const s = readTyped<RSet>(ctx, argv[1]!, 'set');
    if (s === null) return;
    ctx.w.arrayHeader(argv.length - 2);
    for (let j = 2; j < argv.length; j++) ctx.w.int(s?.has(argv[j]!) ? 1 : 0);
  },

  scard(ctx, argv) {
    const s = readTyped<RSet>(ctx, argv[1]!, 'set');
    if (s === null) return;
    ctx.w.int(s?.size ?? 0);
  },

  smembers(ctx, argv) {
    const s = readTyped<RSet>(ctx, argv[1]!, 'set');
    if (s === null) return;
    replyMembers(ctx, s?.ordered() ?? [], true);
  },

  spop(ctx, argv) {
    if (argv.length === 3) return spopWithCount(ctx, argv);
    if (argv.length > 3) return ctx.w.error(ERR.syntax);
    const key = argv[1]!;
    const s = writeTyped<RSet>(ctx, key, 'set');
    if (s === null) return;
    if (s === undefined) return ctx.w.nil();
    const member = s.removeAt(Math.floor(entryRandom(ctx)() * s.size));
    notify(ctx, Notify.Set, 'spop', key);
    dirty(ctx);
    if (s.size === 0) {
      ctx.db.delete(key);
      notify(ctx, Notify.Generic, 'del', key);
    }
    ctx.w.bulk(member);
  },

  srandmember(ctx, argv) {
    if (argv.length === 3) return srandmemberWithCount(ctx, argv);
    if (argv.length > 3) return ctx.w.error(ERR.syntax);
    const s = readTyped<RSet>(ctx, argv[1]!, 'set');
    if (s === null) return;
    if (s === undefined) return ctx.w.nil();
    ctx.w.bulk(s.at(Math.floor(readRandom(ctx)() * s.size)));
  },

  sinter(ctx, argv) {
    sinterGeneric(ctx, argv.slice(1), undefined);
  },

  sinterstore(ctx, argv) {
    sinterGeneric(ctx, argv.slice(2), argv[1]!);
  },

  sintercard(ctx, argv) {
    const numkeys = rangeLong(ctx, argv[1]!, 1n, SET_ERR.numkeys);
    if (numkeys === undefined) return;
    if (numkeys > argv.length - 2) return ctx.w.error(SET_ERR.tooManyKeys);
    const nk = Number(numkeys);
    let limit = 0;
    for (let i = 2 + nk; i < argv.length; i++) {
      const more = argv.length - 1 - i;
      if (isOpt(argv[i]!, 'limit') && more > 0) {
        const l = rangeLong(ctx, argv[++i]!, 0n, SET_ERR.limitNegative);
        if (l === undefined) return;
        limit = Number(l);
      } else {
        return ctx.w.error(ERR.syntax);
      }
    }
    const sets = lookupSets(ctx, argv.slice(2, 2 + nk), false);
    if (sets === undefined) return;
    if (sets.some((s) => s === null)) return ctx.w.int(0);
    ctx.w.int(intersectCard(sets as RSet[], limit));
  },

  sunion(ctx, argv) {
    sunionDiffGeneric(ctx, argv.slice(1), undefined, false);
  },
  sunionstore(ctx, argv) {
    sunionDiffGeneric(ctx, argv.slice(2), argv[1]!, false);
  },
  sdiff(ctx, argv) {
    sunionDiffGeneric(ctx, argv.slice(1), undefined, true);
  },
  sdiffstore(ctx, argv) {
    sunionDiffGeneric(ctx, argv.slice(2), argv[1]!, true);
  },

  /** SSCAN: an intset whole, ascending; a larger set walked (scan.ts). */
  sscan(ctx, argv) {
    scanValue(ctx, argv, (key) => readTyped<RSet>(ctx, key, 'set'), (s) => ({
      owner: s,
      names: () => s.iterator(),
      whole: s.encoding === 'intset' ? s.ordered() : undefined,
      emit(m, out) {
        if (s.has(m)) out.push(m);
      },
    }));
  },
};
