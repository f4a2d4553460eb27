/**
 * List commands (redis/src/t_list.c, 7.0.15), replies and errors byte for
 * byte. Writes run at apply time on every replica; reads never mutate.
 *
 * The blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) are
 * applied as their non-blocking forms, as Redis runs them inside MULTI:
 * they pop when a key has data and otherwise answer a null reply. Waiting
 * is done on the leader by blocking.ts, which proposes them again when a
 * key gets data (see docs/decisions.md).
 */
import { Notify, notify } from './notify.js';
import type { Value } from '../keyspace/keyspace.js';
import { ListValue } from '../keyspace/types/list.js';
import { LIST_ERR } from './collection-errors.js';
import { ERR, arityError } from './errors.js';
import { getLong, getMpopCount, getPositiveLong, getStrictlyPositiveLong } from './args.js';
import { isOpt } from './options.js';
import { parseTimeout } from './timeout.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

const HEAD = 0;
const TAIL = 1;
type Where = typeof HEAD | typeof TAIL;

function isList(v: Value): v is ListValue {
  return v instanceof ListValue;
}

/** The list under key for a write (in place: through getMutable), undefined when absent; null after WRONGTYPE. */
function listForWrite(ctx: Ctx, key: string): ListValue | undefined | null {
  const v = ctx.db.getMutable(key, ctx.now);
  if (v === undefined) return undefined;
  if (!isList(v)) {
    ctx.w.error(ERR.wrongtype);
    return null;
  }
  return v;
}

function listForRead(ctx: Ctx, key: string): ListValue | undefined | null {
  const v = ctx.db.lookupRead(key, ctx.now);
  if (v === undefined) return undefined;
  if (!isList(v)) {
    ctx.w.error(ERR.wrongtype);
    return null;
  }
  return v;
}

/** getListPositionFromObjectOrReply: LEFT → head, RIGHT → tail. */
function parseWhere(ctx: Ctx, arg: string): Where | undefined {
  if (isOpt(arg, 'right')) return TAIL;
  if (isOpt(arg, 'left')) return HEAD;
  ctx.w.error(ERR.syntax);
  return undefined;
}

function pop(l: ListValue, where: Where): string {
  return (where === HEAD ? l.popHead() : l.popTail())!;
}

function push(l: ListValue, where: Where, s: string): void {
  if (where === HEAD) l.pushHead(s);
  else l.pushTail(s);
}

/** Deletes the key when its list became empty (Redis never keeps empty lists). */
function dropIfEmpty(ctx: Ctx, key: string, l: ListValue): void {
  if (l.length !== 0) return;
  ctx.db.delete(key);
  notify(ctx, Notify.Generic, 'del', key);
}

const pushEvent = (where: Where): string => (where === HEAD ? 'lpush' : 'rpush');
const popEvent = (where: Where): string => (where === HEAD ? 'lpop' : 'rpop');

function pushGeneric(where: Where, xx: boolean): DataHandler {
  return (ctx, argv) => {
    const key = argv[1]!;
    let l = listForWrite(ctx, key);
    if (l === null) return;
    if (l === undefined) {
      if (xx) return ctx.w.int(0);
      l = new ListValue();
      ctx.db.set(key, l);
    }
    for (let j = 2; j < argv.length; j++) push(l, where, argv[j]!);
    notify(ctx, Notify.List, pushEvent(where), key);
    dirty(ctx, argv.length - 2);
    ctx.w.int(l.length);
  };
}

/** LPOP / RPOP key [count]. */
function popGeneric(where: Where): DataHandler {
  return (ctx, argv) => {
    const w = ctx.w;
    if (argv.length > 3) return w.error(arityError(argv[0]!.toLowerCase()));
    const hasCount = argv.length === 3;
    let count = 0;
    if (hasCount) {
      const c = getPositiveLong(ctx, argv[2]!);
      if (c === undefined) return;
      count = c;
    }
    const key = argv[1]!;
    const l = listForWrite(ctx, key);
    if (l === null) return;
    if (l === undefined) return hasCount ? w.nilArray() : w.nil();
    if (hasCount && count === 0) return w.arrayHeader(0);
    if (!hasCount) {
      w.bulk(pop(l, where));
      dirty(ctx);
    } else {
      const n = Math.min(count, l.length);
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(pop(l, where));
      w.bulkArray(out);
      dirty(ctx, n);
    }
    notify(ctx, Notify.List, popEvent(where), key);
    dropIfEmpty(ctx, key, l);
  };
}

const llen: DataHandler = (ctx, argv) => {
  const l = listForRead(ctx, argv[1]!);
  if (l === null) return;
  ctx.w.int(l === undefined ? 0 : l.length);
};

/** start/end normalisation of addListRangeReply and LTRIM; null for an empty range. */
function clampRange(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return null;
  if (end >= len) end = len - 1;
  return [start, end];
}

const lrange: DataHandler = (ctx, argv) => {
  const start = getLong(ctx, argv[2]!);
  if (start === undefined) return;
  const end = getLong(ctx, argv[3]!);
  if (end === undefined) return;
  const l = listForRead(ctx, argv[1]!);
  if (l === null) return;
  if (l === undefined) return ctx.w.arrayHeader(0);
  const r = clampRange(start, end, l.length);
  if (r === null) return ctx.w.arrayHeader(0);
  ctx.w.bulkArray(l.range(r[0], r[1]));
};

const lindex: DataHandler = (ctx, argv) => {
  const l = listForRead(ctx, argv[1]!);
  if (l === null) return;
  if (l === undefined) return ctx.w.nil();
  let index = getLong(ctx, argv[2]!);
  if (index === undefined) return;
  if (index < 0) index = l.length + index;
  if (index < 0 || index >= l.length) return ctx.w.nil();
  ctx.w.bulk(l.get(index));
};

const lset: DataHandler = (ctx, argv) => {
  const key = argv[1]!;
  const v = ctx.db.getForWrite(key, ctx.now);
  if (v === undefined) return ctx.w.error(ERR.nokey);
  if (!isList(v)) return ctx.w.error(ERR.wrongtype);
  let index = getLong(ctx, argv[2]!);
  if (index === undefined) return;
  if (index < 0) index = v.length + index;
  if (index < 0 || index >= v.length) return ctx.w.error(ERR.outofrange);
  (ctx.db.getMutable(key, ctx.now) as ListValue).set(index, argv[3]!);
  notify(ctx, Notify.List, 'lset', key);
  dirty(ctx);
  ctx.w.ok();
};

const linsert: DataHandler = (ctx, argv) => {
  let where: Where;
  if (isOpt(argv[2]!, 'after')) where = TAIL;
  else if (isOpt(argv[2]!, 'before')) where = HEAD;
  else return ctx.w.error(ERR.syntax);
  const key = argv[1]!;
  const v = ctx.db.getForWrite(key, ctx.now);
  if (v === undefined) return ctx.w.int(0);
  if (!isList(v)) return ctx.w.error(ERR.wrongtype);
  const pivot = argv[3]!;
  for (let i = 0; i < v.length; i++) {
    if (v.get(i) === pivot) {
      (ctx.db.getMutable(key, ctx.now) as ListValue).insertAt(where === TAIL ? i + 1 : i, argv[4]!);
      notify(ctx, Notify.List, 'linsert', key);
      dirty(ctx);
      return ctx.w.int(v.length);
    }
  }
  ctx.w.int(-1);
};

const lrem: DataHandler = (ctx, argv) => {
  const toremove = getLong(ctx, argv[2]!);
  if (toremove === undefined) return;
  const key = argv[1]!;
  const v = ctx.db.getForWrite(key, ctx.now);
  if (v === undefined) return ctx.w.int(0);
  if (!isList(v)) return ctx.w.error(ERR.wrongtype);
  const elem = argv[3]!;
  const n = v.length;
  // Which indexes go: the first |count| matches from the head (count > 0) or the tail (count < 0), all for 0.
  const drop = new Set<number>();
  if (toremove >= 0) {
    for (let i = 0; i < n && (toremove === 0 || drop.size < toremove); i++) if (v.get(i) === elem) drop.add(i);
  } else {
    for (let i = n - 1; i >= 0 && drop.size < -toremove; i--) if (v.get(i) === elem) drop.add(i);
  }
  if (drop.size > 0) {
    const l = ctx.db.getMutable(key, ctx.now) as ListValue;
    l.retain((_s, i) => !drop.has(i));
    notify(ctx, Notify.List, 'lrem', key);
    dirty(ctx, drop.size);
    dropIfEmpty(ctx, key, l);
  }
  ctx.w.int(drop.size);
};

const ltrim: DataHandler = (ctx, argv) => {
  const start = getLong(ctx, argv[2]!);
  if (start === undefined) return;
  const end = getLong(ctx, argv[3]!);
  if (end === undefined) return;
  const key = argv[1]!;
  const v = ctx.db.getForWrite(key, ctx.now);
  if (v === undefined) return ctx.w.ok();
  if (!isList(v)) return ctx.w.error(ERR.wrongtype);
  const len = v.length;
  const r = clampRange(start, end, len);
  const ltrimN = r === null ? len : r[0];
  const rtrimN = r === null ? 0 : len - r[1] - 1;
  // Redis emits "ltrim" whether or not anything was trimmed.
  if (ltrimN > 0 || rtrimN > 0) {
    const l = ctx.db.getMutable(key, ctx.now) as ListValue;
    l.dropHead(ltrimN);
    l.dropTail(rtrimN);
    notify(ctx, Notify.List, 'ltrim', key);
    dirty(ctx, ltrimN + rtrimN);
    dropIfEmpty(ctx, key, l);
  } else {
    notify(ctx, Notify.List, 'ltrim', key);
  }
  ctx.w.ok();
};

const lpos: DataHandler = (ctx, argv) => {
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!;
    const more = argv.length - 1 - j;
    if (isOpt(opt, 'rank') && more) {
      const r = getLong(ctx, argv[++j]!);
      if (r === undefined) return;
      if (r === 0) return ctx.w.error(LIST_ERR.lposRankZero);
      rank = r;
    } else if (isOpt(opt, 'count') && more) {
      const c = getPositiveLong(ctx, argv[++j]!, LIST_ERR.lposCountNegative);
      if (c === undefined) return;
      count = c;
    } else if (isOpt(opt, 'maxlen') && more) {
      const m = getPositiveLong(ctx, argv[++j]!, LIST_ERR.lposMaxlenNegative);
      if (m === undefined) return;
      maxlen = m;
    } else {
      return ctx.w.error(ERR.syntax);
    }
  }
  let fromTail = false;
  if (rank < 0) {
    rank = -rank;
    fromTail = true;
  }
  const l = listForRead(ctx, argv[1]!);
  if (l === null) return;
  if (l === undefined) return count !== -1 ? ctx.w.arrayHeader(0) : ctx.w.nil();
  const elem = argv[2]!;
  const n = l.length;
  const found: number[] = [];
  let matches = 0;
  let index = -1;
  for (let k = 0; k < n && (maxlen === 0 || k < maxlen); k++) {
    const i = fromTail ? n - 1 - k : k;
    if (l.get(i) !== elem) continue;
    matches++;
    if (matches >= rank) {
      if (count !== -1) {
        found.push(i);
        if (count !== 0 && matches - rank + 1 >= count) break;
      } else {
        index = i;
        break;
      }
    }
  }
  if (count !== -1) {
    ctx.w.arrayHeader(found.length);
    for (const i of found) ctx.w.int(i);
  } else if (index >= 0) ctx.w.int(index);
  else ctx.w.nil();
};

/** lmoveGenericCommand: pops from source, pushes to destination, replies the element (null when source is empty). */
function lmoveGeneric(ctx: Ctx, src: string, dst: string, from: Where, to: Where, counts = true): void {
  const sv = ctx.db.getForWrite(src, ctx.now);
  if (sv === undefined) return ctx.w.nil();
  if (!isList(sv)) return ctx.w.error(ERR.wrongtype);
  const dv = ctx.db.getForWrite(dst, ctx.now);
  if (dv !== undefined && !isList(dv)) return ctx.w.error(ERR.wrongtype);
  const sl = ctx.db.getMutable(src, ctx.now) as ListValue;
  const value = pop(sl, from);
  let dl = src === dst ? sl : (ctx.db.getMutable(dst, ctx.now) as ListValue | undefined);
  if (dl === undefined) {
    dl = new ListValue();
    ctx.db.set(dst, dl);
  }
  push(dl, to, value);
  // Redis: the push to the destination first, then the pop from the source (lmoveHandlePush).
  notify(ctx, Notify.List, pushEvent(to), dst);
  notify(ctx, Notify.List, popEvent(from), src);
  if (counts) dirty(ctx);
  dropIfEmpty(ctx, src, sl);
  ctx.w.bulk(value);
}

const lmove: DataHandler = (ctx, argv) => {
  const from = parseWhere(ctx, argv[3]!);
  if (from === undefined) return;
  const to = parseWhere(ctx, argv[4]!);
  if (to === undefined) return;
  lmoveGeneric(ctx, argv[1]!, argv[2]!, from, to);
};

const rpoplpush: DataHandler = (ctx, argv) => lmoveGeneric(ctx, argv[1]!, argv[2]!, TAIL, HEAD);

/** Replies the timeout error and returns false when the argument is not a valid timeout. */
function checkTimeout(ctx: Ctx, arg: string): boolean {
  const t = parseTimeout(arg);
  if (typeof t === 'number') return true;
  ctx.w.error(t.error);
  return false;
}

const blmove: DataHandler = (ctx, argv) => {
  const from = parseWhere(ctx, argv[3]!);
  if (from === undefined) return;
  const to = parseWhere(ctx, argv[4]!);
  if (to === undefined) return;
  if (!checkTimeout(ctx, argv[5]!)) return;
  // Served once parked (serveClientBlockedOnList): not counted, as BLPOP.
  lmoveGeneric(ctx, argv[1]!, argv[2]!, from, to, ctx.served !== true);
};

const brpoplpush: DataHandler = (ctx, argv) => {
  if (!checkTimeout(ctx, argv[3]!)) return;
  lmoveGeneric(ctx, argv[1]!, argv[2]!, TAIL, HEAD, ctx.served !== true);
};

/**
 * The pop of BLPOP/BRPOP/LMPOP/BLMPOP over keys in order: the first key with
 * a list is popped (one element as [key, elem], or up to count as [key,
 * [elems]] when count is given); a key of another type is WRONGTYPE; none
 * → null array.
 */
function popFirst(ctx: Ctx, keys: string[], where: Where, count: number | undefined, counts = true): void {
  for (const key of keys) {
    const v = ctx.db.getForWrite(key, ctx.now);
    if (v === undefined) continue;
    if (!isList(v)) return ctx.w.error(ERR.wrongtype);
    if (v.length === 0) continue;
    const l = ctx.db.getMutable(key, ctx.now) as ListValue;
    ctx.w.arrayHeader(2);
    ctx.w.bulk(key);
    if (count === undefined) {
      ctx.w.bulk(pop(l, where));
      if (counts) dirty(ctx);
    } else {
      const n = Math.min(count, l.length);
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(pop(l, where));
      ctx.w.bulkArray(out);
      dirty(ctx, n);
    }
    notify(ctx, Notify.List, popEvent(where), key);
    dropIfEmpty(ctx, key, l);
    return;
  }
  ctx.w.nilArray();
}

function bpopGeneric(where: Where): DataHandler {
  return (ctx, argv) => {
    if (!checkTimeout(ctx, argv[argv.length - 1]!)) return;
    // serveClientBlockedOnList pops for a parked BLPOP / BRPOP (and moves for BLMOVE) without counting it; BLMPOP counts.
    popFirst(ctx, argv.slice(1, -1), where, undefined, ctx.served !== true);
  };
}

/** lmpopGenericCommand: [B]LMPOP [timeout] numkeys key... LEFT|RIGHT [COUNT n]. */
function lmpopGeneric(numkeysIdx: number): DataHandler {
  return (ctx, argv) => {
    const numkeys = getStrictlyPositiveLong(ctx, argv[numkeysIdx]!, LIST_ERR.numkeysPositive);
    if (numkeys === undefined) return;
    const whereIdx = numkeysIdx + numkeys + 1;
    if (whereIdx >= argv.length) return ctx.w.error(ERR.syntax);
    const where = parseWhere(ctx, argv[whereIdx]!);
    if (where === undefined) return;
    const count = getMpopCount(ctx, argv, whereIdx + 1);
    if (count === undefined) return;
    if (numkeysIdx === 2 && !checkTimeout(ctx, argv[1]!)) return;
    popFirst(ctx, argv.slice(numkeysIdx + 1, whereIdx), where, count);
  };
}

export const listCommands: Record<string, DataHandler> = {
  lpush: pushGeneric(HEAD, false),
  rpush: pushGeneric(TAIL, false),
  lpushx: pushGeneric(HEAD, true),
  rpushx: pushGeneric(TAIL, true),
  lpop: popGeneric(HEAD),
  rpop: popGeneric(TAIL),
  llen,
  lrange,
  lindex,
  lset,
  linsert,
  lrem,
  ltrim,
  lpos,
  lmove,
  rpoplpush,
  lmpop: lmpopGeneric(1),
  blpop: bpopGeneric(HEAD),
  brpop: bpopGeneric(TAIL),
  blmove,
  brpoplpush,
  blmpop: lmpopGeneric(2),
};
