/**
 * Sorted-set commands (redis/src/t_zset.c, 7.0.15), replies and errors
 * byte for byte; scores are printed as addReplyDouble does (%.17g, RESP3
 * doubles). ZUNION/ZINTER/ZDIFF and their STORE forms live in zset-ops.ts.
 *
 * BZPOPMIN, BZPOPMAX and BZMPOP are applied as their non-blocking forms
 * (as inside MULTI): blocking.ts makes the client wait on the leader.
 */
import { Notify, deleteStored, notify } from './notify.js';
import { lexGteMin, lexLteMax, scoreGteMin, scoreLteMax, type ZNode } from '../keyspace/types/skiplist.js';
import { ZSetValue } from '../keyspace/types/zset.js';
import { LIST_ERR, ZSET_ERR } from './collection-errors.js';
import { ERR } from './errors.js';
import { formatScore, parseDouble } from '../util/double.js';
import { getLong, getMpopCount, getPositiveLong, getRangeLong, getStrictlyPositiveLong } from './args.js';
import { isOpt } from './options.js';
import { scanValue } from './scan.js';
import { parseTimeout } from './timeout.js';
import type { Ctx, DataHandler } from './types.js';
import { readRandom } from './random.js';
import { parseLexRange, parseScoreRange, replyMembers, replyScore, zsetForRead, zsetForWrite } from './zset-range.js';
import { dirty } from './dirty.js';
import { ZADD_CH, ZADD_GT, ZADD_INCR, ZADD_LT, ZADD_NX, ZADD_XX, zaddScores } from './zset-add.js';

/** zaddGenericCommand, for ZADD and ZINCRBY (which is ZADD with INCR): its options and scores, then zaddScores. */
function zaddGeneric(ctx: Ctx, argv: string[], flags: number): void {
  const w = ctx.w;
  let idx = 2;
  for (; idx < argv.length; idx++) {
    const o = argv[idx]!;
    if (isOpt(o, 'nx')) flags |= ZADD_NX;
    else if (isOpt(o, 'xx')) flags |= ZADD_XX;
    else if (isOpt(o, 'ch')) flags |= ZADD_CH;
    else if (isOpt(o, 'incr')) flags |= ZADD_INCR;
    else if (isOpt(o, 'gt')) flags |= ZADD_GT;
    else if (isOpt(o, 'lt')) flags |= ZADD_LT;
    else break;
  }
  const incr = (flags & ZADD_INCR) !== 0;
  const nx = (flags & ZADD_NX) !== 0;
  const xx = (flags & ZADD_XX) !== 0;
  const gt = (flags & ZADD_GT) !== 0;
  const lt = (flags & ZADD_LT) !== 0;
  const rest = argv.length - idx;
  if (rest % 2 !== 0 || rest === 0) return w.error(ERR.syntax);
  const elements = rest / 2;
  if (nx && xx) return w.error(ZSET_ERR.xxAndNx);
  if ((gt && nx) || (lt && nx) || (gt && lt)) return w.error(ZSET_ERR.gtLtNx);
  if (incr && elements > 1) return w.error(ZSET_ERR.incrPair);
  const scores: number[] = [];
  for (let j = 0; j < elements; j++) {
    const s = parseDouble(argv[idx + j * 2]!);
    if (s === null) return w.error(ERR.notFloat);
    scores.push(s);
  }
  zaddScores(ctx, argv, flags, scores, idx + 1, 2, elements);
}

const zadd: DataHandler = (ctx, argv) => zaddGeneric(ctx, argv, 0);
const zincrby: DataHandler = (ctx, argv) => zaddGeneric(ctx, argv, ZADD_INCR);

const zrem: DataHandler = (ctx, argv) => {
  const key = argv[1]!;
  const z = zsetForWrite(ctx, key);
  if (z === null) return;
  if (z === undefined) return ctx.w.int(0);
  let n = 0;
  let emptied = false;
  for (let j = 2; j < argv.length; j++) {
    if (z.remove(argv[j]!)) n++;
    if (z.size === 0) {
      ctx.db.delete(key);
      emptied = true;
      break;
    }
  }
  if (n > 0) {
    notify(ctx, Notify.Zset, 'zrem', key);
    dirty(ctx, n);
  }
  if (emptied) notify(ctx, Notify.Generic, 'del', key);
  ctx.w.int(n);
};

const zscore: DataHandler = (ctx, argv) => {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  const s = z?.score(argv[2]!);
  if (s === undefined) return ctx.w.nil();
  replyScore(ctx.w, s);
};

const zmscore: DataHandler = (ctx, argv) => {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  ctx.w.arrayHeader(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const s = z?.score(argv[j]!);
    if (s === undefined) ctx.w.nil();
    else replyScore(ctx.w, s);
  }
};

const zcard: DataHandler = (ctx, argv) => {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  ctx.w.int(z === undefined ? 0 : z.size);
};

/** Number of nodes from first to last inclusive (both in the set). */
function span(z: ZSetValue, first: ZNode | null, last: ZNode | null): number {
  if (first === null || last === null) return 0;
  return z.sl.getRank(last.score, last.member) - z.sl.getRank(first.score, first.member) + 1;
}

const zcount: DataHandler = (ctx, argv) => {
  const r = parseScoreRange(argv[2]!, argv[3]!);
  if (r === null) return ctx.w.error(ZSET_ERR.minMaxNotFloat);
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  if (z === undefined) return ctx.w.int(0);
  ctx.w.int(span(z, z.sl.firstInScoreRange(r), z.sl.lastInScoreRange(r)));
};

const zlexcount: DataHandler = (ctx, argv) => {
  const r = parseLexRange(argv[2]!, argv[3]!);
  if (r === null) return ctx.w.error(ZSET_ERR.minMaxNotLex);
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  if (z === undefined) return ctx.w.int(0);
  ctx.w.int(z.lexCount(r));
};

const RANK = 0;
const SCORE = 1;
const LEX = 2;
type RangeType = typeof RANK | typeof SCORE | typeof LEX;

interface RangeResult {
  members: string[];
  scores: number[];
}

/** genericZrangebyrankCommand's selection. */
function rangeByRank(z: ZSetValue, start: number, end: number, rev: boolean): RangeResult {
  const out: RangeResult = { members: [], scores: [] };
  const len = z.size;
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return out;
  if (end >= len) end = len - 1;
  let n = end - start + 1;
  let x = rev ? z.at(len - 1 - start) : z.at(start);
  while (x !== null && n-- > 0) {
    out.members.push(x.member);
    out.scores.push(x.score);
    x = rev ? x.backward : x.next[0]!;
  }
  return out;
}

/**
 * The walk of genericZrangebyscore/lexCommand: from the first node in range
 * (the last one when reversed), skip `offset` nodes (a negative offset
 * skips everything), then take up to `limit` (negative: no limit) while in range.
 */
function rangeWalk(
  z: ZSetValue,
  start: ZNode | null,
  inRange: (x: ZNode) => boolean,
  offset: number,
  limit: number,
  rev: boolean,
): RangeResult {
  const out: RangeResult = { members: [], scores: [] };
  if (offset > 0 && offset >= z.size) return out;
  let x = start;
  if (offset < 0) return out;
  while (x !== null && offset-- > 0) x = rev ? x.backward : x.next[0]!;
  while (x !== null && limit-- !== 0) {
    if (!inRange(x)) break;
    out.members.push(x.member);
    out.scores.push(x.score);
    x = rev ? x.backward : x.next[0]!;
  }
  return out;
}

/**
 * zrangeGenericCommand: the ZRANGE family and ZRANGESTORE. `first` is the
 * index of the source key; `store` is the destination key for ZRANGESTORE.
 */
function zrangeGeneric(ctx: Ctx, argv: string[], first: number, store: string | undefined, type: RangeType | undefined, rev: boolean | undefined): void {
  const w = ctx.w;
  let withscores = false;
  let offset = 0;
  let limit = -1;
  for (let j = first + 3; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const a = argv[j]!;
    if (store === undefined && isOpt(a, 'withscores')) {
      withscores = true;
    } else if (isOpt(a, 'limit') && left >= 2) {
      const o = getLong(ctx, argv[j + 1]!);
      if (o === undefined) return;
      const l = getLong(ctx, argv[j + 2]!);
      if (l === undefined) return;
      offset = o;
      limit = l;
      j += 2;
    } else if (rev === undefined && isOpt(a, 'rev')) {
      rev = true;
    } else if (type === undefined && isOpt(a, 'bylex')) {
      type = LEX;
    } else if (type === undefined && isOpt(a, 'byscore')) {
      type = SCORE;
    } else {
      return w.error(ERR.syntax);
    }
  }
  rev ??= false;
  type ??= RANK;
  if (limit !== -1 && type === RANK) return w.error(ZSET_ERR.limitNeedsBy);
  if (withscores && type === LEX) return w.error(ZSET_ERR.withscoresByLex);
  let minArg = argv[first + 1]!;
  let maxArg = argv[first + 2]!;
  if (rev && type !== RANK) [minArg, maxArg] = [maxArg, minArg];
  let start = 0;
  let end = 0;
  let sr = null;
  let lr = null;
  if (type === RANK) {
    const a = getLong(ctx, minArg);
    if (a === undefined) return;
    const b = getLong(ctx, maxArg);
    if (b === undefined) return;
    start = a;
    end = b;
  } else if (type === SCORE) {
    sr = parseScoreRange(minArg, maxArg);
    if (sr === null) return w.error(ZSET_ERR.minMaxNotFloat);
  } else {
    lr = parseLexRange(minArg, maxArg);
    if (lr === null) return w.error(ZSET_ERR.minMaxNotLex);
  }
  const src = argv[first]!;
  // ZRANGESTORE reads its source like a read command; the destination is written afterwards.
  const v = ctx.db.lookupRead(src, ctx.now);
  if (v !== undefined && !(v instanceof ZSetValue)) return w.error(ERR.wrongtype);
  let res: RangeResult = { members: [], scores: [] };
  if (v !== undefined) {
    if (type === RANK) res = rangeByRank(v, start, end, rev);
    else if (sr !== null) {
      const r = sr;
      const from = rev ? v.sl.lastInScoreRange(r) : v.sl.firstInScoreRange(r);
      res = rangeWalk(v, from, (x) => (rev ? scoreGteMin(x.score, r) : scoreLteMax(x.score, r)), offset, limit, rev);
    } else if (lr !== null) {
      const r = lr;
      const from = rev ? v.lastInLex(r) : v.firstInLex(r);
      res = rangeWalk(v, from, (x) => (rev ? lexGteMin(x.member, r) : lexLteMax(x.member, r)), offset, limit, rev);
    }
  }
  if (store === undefined) return replyMembers(w, res.members, withscores ? res.scores : undefined);
  if (res.members.length === 0) {
    ctx.db.getForWrite(store, ctx.now);
    deleteStored(ctx, store);
    return w.int(0);
  }
  const dst = new ZSetValue(); // listpack until it outgrows it, whatever the range type (as redis 7.0)
  for (let i = 0; i < res.members.length; i++) dst.insert(res.members[i]!, res.scores[i]!);
  ctx.db.set(store, dst);
  notify(ctx, Notify.Zset, 'zrangestore', store);
  dirty(ctx);
  w.int(res.members.length);
}

const zrank = (rev: boolean): DataHandler => (ctx, argv) => {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  const r = z?.rank(argv[2]!);
  if (r === undefined) return ctx.w.nil();
  ctx.w.int(rev ? z!.size - 1 - r : r);
};

const MIN = 0;
const MAX = 1;
type MinMax = typeof MIN | typeof MAX;

/**
 * genericZpopCommand: pops from the first existing key among keys. `emitKey`
 * prefixes the key (BZPOP*, ZMPOP); `nested` emits [[m, s], …].
 */
function zpopGeneric(ctx: Ctx, keys: string[], where: MinMax, emitKey: boolean, count: number, nested: boolean, nilWhenEmpty: boolean): void {
  const w = ctx.w;
  let key: string | undefined;
  let z: ZSetValue | undefined;
  for (const k of keys) {
    const v = ctx.db.getForWrite(k, ctx.now);
    if (v === undefined) continue;
    if (!(v instanceof ZSetValue)) return w.error(ERR.wrongtype);
    key = k;
    z = ctx.db.getMutable(k, ctx.now) as ZSetValue;
    break;
  }
  if (z === undefined || key === undefined) return nilWhenEmpty ? w.nilArray() : w.arrayHeader(0);
  if (count === 0) return w.arrayHeader(0);
  if (count === -1) count = 1;
  let n = Math.min(count, z.size);
  const result = n;
  if (!nested && !emitKey) w.arrayHeader(n * 2);
  else if (nested && !emitKey) w.arrayHeader(n);
  else if (!nested && emitKey) {
    w.arrayHeader(n * 2 + 1);
    w.bulk(key);
  } else {
    w.arrayHeader(2);
    w.bulk(key);
    w.arrayHeader(n);
  }
  while (n-- > 0) {
    const x = where === MIN ? z.sl.first! : z.sl.tail!;
    const member = x.member;
    const score = x.score;
    z.remove(member);
    if (nested) w.arrayHeader(2);
    w.bulk(member);
    replyScore(w, score);
  }
  notify(ctx, Notify.Zset, where === MIN ? 'zpopmin' : 'zpopmax', key);
  dirty(ctx, result);
  if (z.size === 0) {
    ctx.db.delete(key);
    notify(ctx, Notify.Generic, 'del', key);
  }
}

const zpopMinMax = (where: MinMax): DataHandler => (ctx, argv) => {
  if (argv.length > 3) return ctx.w.error(ERR.syntax);
  let count = -1;
  if (argv.length === 3) {
    const c = getPositiveLong(ctx, argv[2]!);
    if (c === undefined) return;
    count = c;
  }
  zpopGeneric(ctx, [argv[1]!], where, false, count, ctx.w.proto > 2 && count !== -1, false);
};

const bzpop = (where: MinMax): DataHandler => (ctx, argv) => {
  const t = parseTimeout(argv[argv.length - 1]!);
  if (typeof t !== 'number') return ctx.w.error(t.error);
  const keys = argv.slice(1, -1);
  for (const k of keys) {
    const v = ctx.db.getForWrite(k, ctx.now);
    if (v === undefined) continue;
    if (!(v instanceof ZSetValue)) return ctx.w.error(ERR.wrongtype);
    return zpopGeneric(ctx, [k], where, true, -1, false, false);
  }
  ctx.w.nilArray();
};

/** zmpopGenericCommand: [B]ZMPOP [timeout] numkeys key… MIN|MAX [COUNT n]. */
const zmpopGeneric = (numkeysIdx: number): DataHandler => (ctx, argv) => {
  const w = ctx.w;
  const numkeys = getStrictlyPositiveLong(ctx, argv[numkeysIdx]!, LIST_ERR.numkeysPositive);
  if (numkeys === undefined) return;
  const whereIdx = numkeysIdx + numkeys + 1;
  if (whereIdx >= argv.length) return w.error(ERR.syntax);
  let where: MinMax;
  if (isOpt(argv[whereIdx]!, 'min')) where = MIN;
  else if (isOpt(argv[whereIdx]!, 'max')) where = MAX;
  else return w.error(ERR.syntax);
  const count = getMpopCount(ctx, argv, whereIdx + 1);
  if (count === undefined) return;
  const keys = argv.slice(numkeysIdx + 1, whereIdx);
  if (numkeysIdx === 2) {
    const t = parseTimeout(argv[1]!);
    if (typeof t !== 'number') return w.error(t.error);
  }
  zpopGeneric(ctx, keys, where, true, count, true, true);
};

/** zremrangeGenericCommand. */
const zremrange = (type: RangeType): DataHandler => (ctx, argv) => {
  const w = ctx.w;
  let start = 0;
  let end = 0;
  let sr = null;
  let lr = null;
  if (type === RANK) {
    const a = getLong(ctx, argv[2]!);
    if (a === undefined) return;
    const b = getLong(ctx, argv[3]!);
    if (b === undefined) return;
    start = a;
    end = b;
  } else if (type === SCORE) {
    sr = parseScoreRange(argv[2]!, argv[3]!);
    if (sr === null) return w.error(ZSET_ERR.minMaxNotFloat);
  } else {
    lr = parseLexRange(argv[2]!, argv[3]!);
    if (lr === null) return w.error(ZSET_ERR.minMaxNotLex);
  }
  const key = argv[1]!;
  const v = ctx.db.getForWrite(key, ctx.now);
  if (v === undefined) return w.int(0);
  if (!(v instanceof ZSetValue)) return w.error(ERR.wrongtype);
  let victims: string[] = [];
  if (type === RANK) {
    victims = rangeByRank(v, start, end, false).members;
  } else if (sr !== null) {
    const r = sr;
    victims = rangeWalk(v, v.sl.firstInScoreRange(r), (x) => scoreLteMax(x.score, r), 0, -1, false).members;
  } else if (lr !== null) {
    const r = lr;
    victims = rangeWalk(v, v.firstInLex(r), (x) => lexLteMax(x.member, r), 0, -1, false).members;
  }
  if (victims.length > 0) {
    const z = ctx.db.getMutable(key, ctx.now) as ZSetValue;
    for (const m of victims) z.remove(m);
    notify(ctx, Notify.Zset, type === RANK ? 'zremrangebyrank' : type === SCORE ? 'zremrangebyscore' : 'zremrangebylex', key);
    dirty(ctx, victims.length);
    if (z.size === 0) {
      ctx.db.delete(key);
      notify(ctx, Notify.Generic, 'del', key);
    }
  }
  w.int(victims.length);
};

/**
 * ZRANDMEMBER key [count [WITHSCORES]]. A read: Math.random is allowed here
 * (nothing is replicated). Distinct members come from a partial shuffle of
 * the ranks.
 */
const zrandmember: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  if (argv.length >= 3) {
    const l = getRangeLong(ctx, argv[2]!, -9223372036854775807n, 9223372036854775807n);
    if (l === undefined) return;
    let withscores = false;
    if (argv.length > 4 || (argv.length === 4 && !isOpt(argv[3]!, 'withscores'))) return w.error(ERR.syntax);
    if (argv.length === 4) {
      withscores = true;
      if (l < -4611686018427387903 || l > 4611686018427387903) return w.error(ZSET_ERR.randCountRange);
    }
    const z = zsetForRead(ctx, argv[1]!);
    if (z === null) return;
    if (z === undefined || l === 0) return w.arrayHeader(0);
    const size = z.size;
    const picked: ZNode[] = [];
    if (l < 0 || l === 1) {
      const count = Math.abs(l);
      if (count > 100_000_000) return w.error(ZSET_ERR.randCountRange);
      for (let i = 0; i < count; i++) picked.push(z.at(Math.floor(readRandom(ctx)() * size))!);
    } else if (l >= size) {
      for (let x = z.sl.first; x !== null; x = x.next[0]!) picked.push(x);
    } else {
      const ranks = Array.from({ length: size }, (_, i) => i);
      for (let i = 0; i < l; i++) {
        const j = i + Math.floor(readRandom(ctx)() * (size - i));
        [ranks[i], ranks[j]] = [ranks[j]!, ranks[i]!];
        picked.push(z.at(ranks[i]!)!);
      }
    }
    return replyMembers(
      w,
      picked.map((x) => x.member),
      withscores ? picked.map((x) => x.score) : undefined,
    );
  }
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  if (z === undefined) return w.nil();
  w.bulk(z.at(Math.floor(readRandom(ctx)() * z.size))!.member);
};

/**
 * ZSCAN key cursor [MATCH pattern] [COUNT count]: a set Redis keeps as a
 * listpack whole, in (score, member) order, as Redis does; a larger one
 * walked over its member → score Map, as Redis walks the zset's dict
 * (scan.ts).
 */
const zscan: DataHandler = (ctx, argv) => {
  scanValue(ctx, argv, (key) => zsetForRead(ctx, key), (z) => ({
    owner: z,
    names: () => z.dict.keys(),
    whole: z.skiplistEncoded ? undefined : membersInOrder(z),
    emit(m, out) {
      const score = z.dict.get(m);
      if (score !== undefined) out.push(m, formatScore(score));
    },
  }));
};

function* membersInOrder(z: ZSetValue): Generator<string> {
  for (let x = z.sl.first; x !== null; x = x.next[0]!) yield x.member;
}

export const zsetCommands: Record<string, DataHandler> = {
  zadd,
  zincrby,
  zrem,
  zscore,
  zmscore,
  zcard,
  zcount,
  zlexcount,
  zrange: (ctx, argv) => zrangeGeneric(ctx, argv, 1, undefined, undefined, undefined),
  zrangestore: (ctx, argv) => zrangeGeneric(ctx, argv, 2, argv[1]!, undefined, undefined),
  zrevrange: (ctx, argv) => zrangeGeneric(ctx, argv, 1, undefined, RANK, true),
  zrangebyscore: (ctx, argv) => zrangeGeneric(ctx, argv, 1, undefined, SCORE, false),
  zrevrangebyscore: (ctx, argv) => zrangeGeneric(ctx, argv, 1, undefined, SCORE, true),
  zrangebylex: (ctx, argv) => zrangeGeneric(ctx, argv, 1, undefined, LEX, false),
  zrevrangebylex: (ctx, argv) => zrangeGeneric(ctx, argv, 1, undefined, LEX, true),
  zrank: zrank(false),
  zrevrank: zrank(true),
  zpopmin: zpopMinMax(MIN),
  zpopmax: zpopMinMax(MAX),
  zmpop: zmpopGeneric(1),
  bzpopmin: bzpop(MIN),
  bzpopmax: bzpop(MAX),
  bzmpop: zmpopGeneric(2),
  zremrangebyscore: zremrange(SCORE),
  zremrangebyrank: zremrange(RANK),
  zremrangebylex: zremrange(LEX),
  zrandmember,
  zscan,
};
