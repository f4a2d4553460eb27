/**
 * SORT and SORT_RO (redis/src/sort.c, 7.0.15): the elements of a list, set
 * or sorted set, sorted numerically or (ALPHA) as strings, by themselves or
 * by the values of other keys (BY pattern, `*` replaced by the element,
 * `->field` for a hash field), with LIMIT, ASC/DESC, GET patterns, and STORE
 * into a list. SORT is a write (it may STORE), so it runs at apply time on
 * every replica, where it is deterministic: the same elements in the same
 * order give the same result. Differences from redis-server, where its
 * result is not determined by the data:
 * - ALPHA compares bytes, as Redis does in the C locale (Redis uses strcoll,
 *   which follows the server's LC_COLLATE);
 * - elements whose BY values are equal under ALPHA keep the order they were
 *   read in, which for a set or sorted set is raftis's iteration order, not
 *   redis-server's hash-table order (numeric ties are ordered by the
 *   elements, as in Redis, so those never differ).
 * raftis answers cluster-mode clients but has one Raft group for all slots,
 * so BY and GET patterns are allowed (a Redis Cluster node refuses them).
 */
import { Notify, deleteStored, notify } from './notify.js';
import type { Value } from '../keyspace/keyspace.js';
import { RHash } from '../keyspace/types/hash.js';
import { ListValue } from '../keyspace/types/list.js';
import type { RSet } from '../keyspace/types/set.js';
import type { ZSetValue } from '../keyspace/types/zset.js';
import { ERR } from './errors.js';
import { strtod } from '../util/double.js';
import { cstr } from '../util/number.js';
import { getLong } from './args.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

interface Item {
  obj: string;
  /** Numeric sort: the element's (or its BY value's) score. */
  score: number;
  /** ALPHA with BY: the BY value; undefined when the BY key is missing. */
  cmp: string | undefined;
}

/**
 * Redis's lookupKeyByPattern: `#` is the element itself; otherwise the first
 * `*` of the pattern is replaced by it and the key read (a string), or with
 * `->field` after the `*`, that field of the hash. Undefined when the key
 * or field is missing or of another type, or the pattern has no `*`.
 */
function lookupByPattern(ctx: Ctx, pattern: string, subst: string): string | undefined {
  if (pattern === '#') return subst;
  const star = pattern.indexOf('*');
  if (star < 0) return undefined;
  const arrow = pattern.indexOf('->', star + 1);
  const hasField = arrow >= 0 && arrow + 2 < pattern.length;
  const key = pattern.slice(0, star) + subst + pattern.slice(star + 1, hasField ? arrow : pattern.length);
  const v: Value | undefined = ctx.db.lookupRead(key, ctx.now);
  if (v === undefined) return undefined;
  if (hasField) return v instanceof RHash ? v.get(pattern.slice(arrow + 2)) : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** compareStringObjects: bytes, then length. */
function binaryCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** C's strcmp, which stops at a NUL byte: strcoll in the C locale. */
function cstrcmp(a: string, b: string): number {
  return binaryCompare(cstr(a), cstr(b));
}

/** The numeric value SORT sorts by: strtod over the C string, refused on trailing bytes, ERANGE or NaN. */
function sortScore(s: string): number | undefined {
  const c = cstr(s);
  const r = strtod(c);
  if (r.end !== c.length || r.erange || Number.isNaN(r.value)) return undefined;
  return r.value;
}

function sortGeneric(ctx: Ctx, argv: string[], readonly: boolean): void {
  let desc = false;
  let alpha = false;
  let limitStart = 0;
  let limitCount = -1;
  let dontsort = false;
  let sortby: string | undefined;
  let storekey: string | undefined;
  const gets: string[] = [];
  for (let j = 2; j < argv.length; j++) {
    const opt = argv[j]!.toLowerCase();
    const left = argv.length - j - 1;
    if (opt === 'asc') desc = false;
    else if (opt === 'desc') desc = true;
    else if (opt === 'alpha') alpha = true;
    else if (opt === 'limit' && left >= 2) {
      const start = getLong(ctx, argv[j + 1]!);
      if (start === undefined) return;
      const count = getLong(ctx, argv[j + 2]!);
      if (count === undefined) return;
      limitStart = start;
      limitCount = count;
      j += 2;
    } else if (!readonly && opt === 'store' && left >= 1) {
      storekey = argv[++j]!;
    } else if (opt === 'by' && left >= 1) {
      sortby = argv[++j]!;
      // A BY pattern without '*' is a constant: nothing to sort by.
      if (!sortby.includes('*')) dontsort = true;
    } else if (opt === 'get' && left >= 1) {
      gets.push(argv[++j]!);
    } else {
      return ctx.w.error(ERR.syntax);
    }
  }

  const found = ctx.db.lookupRead(argv[1]!, ctx.now);
  if (found !== undefined && (typeof found === 'string' || (found.type !== 'list' && found.type !== 'set' && found.type !== 'zset'))) {
    return ctx.w.error(ERR.wrongtype);
  }
  const val = found as ListValue | RSet | ZSetValue | undefined;

  // An unsorted set would come out in its internal order: STORE sorts it (ALPHA) so replicas agree, as Redis does.
  if (dontsort && val?.type === 'set' && storekey !== undefined) {
    dontsort = false;
    alpha = true;
    sortby = undefined;
  }
  // Redis converts a sorted set to its skiplist encoding to sort it.
  if (val?.type === 'zset') val.skiplistEncoded = true;

  let vectorlen = val === undefined ? 0 : val.type === 'list' ? val.length : val.size;
  let start = Math.min(Math.max(limitStart, 0), vectorlen);
  const count = Math.min(Math.max(limitCount, -1), vectorlen);
  let end = count < 0 ? vectorlen - 1 : start + count - 1;
  if (start >= vectorlen) {
    start = vectorlen - 1;
    end = vectorlen - 2;
  }
  if (end >= vectorlen) end = vectorlen - 1;

  let vector: Item[] = [];
  const item = (obj: string): Item => ({ obj, score: 0, cmp: undefined });
  if (val === undefined) {
    // Nothing to sort: an empty list.
  } else if (val.type === 'list' && dontsort) {
    // The list's own order (reversed for DESC), just the LIMIT range.
    if (end >= start) {
      const n = end - start + 1;
      const len = val.length;
      for (let k = 0; k < n; k++) vector.push(item(val.get(desc ? len - start - 1 - k : start + k)));
      end -= start;
      start = 0;
    }
    vectorlen = vector.length;
  } else if (val.type === 'list') {
    for (const s of val.items()) vector.push(item(s));
  } else if (val.type === 'set') {
    for (const s of val.ordered()) vector.push(item(s));
  } else if (dontsort) {
    // The sorted set's own order (from the top for DESC), just the LIMIT range.
    const n = Math.max(0, end - start + 1);
    let node = desc ? val.at(vectorlen - 1 - start) : val.at(start);
    for (let k = 0; k < n && node !== null; k++) {
      vector.push(item(node.member));
      node = desc ? node.backward : node.next[0]!;
    }
    end -= start;
    start = 0;
    vectorlen = vector.length;
  } else {
    for (const m of val.dict.keys()) vector.push(item(m));
  }

  let conversionError = false;
  if (!dontsort) {
    for (const it of vector) {
      let byval: string | undefined;
      if (sortby !== undefined) {
        byval = lookupByPattern(ctx, sortby, it.obj);
        if (byval === undefined) continue;
      } else {
        byval = it.obj;
      }
      if (alpha) {
        if (sortby !== undefined) it.cmp = byval;
      } else {
        const score = sortScore(byval);
        if (score === undefined) conversionError = true;
        else it.score = score;
      }
    }
    const sign = desc ? -1 : 1;
    let compare: (a: Item, b: Item) => number;
    if (!alpha) {
      compare = (a, b) => sign * (a.score > b.score ? 1 : a.score < b.score ? -1 : binaryCompare(a.obj, b.obj));
    } else if (sortby !== undefined) {
      const cmpStrings = storekey !== undefined ? binaryCompare : cstrcmp;
      compare = (a, b) => {
        if (a.cmp === undefined || b.cmp === undefined) return sign * (a.cmp === b.cmp ? 0 : a.cmp === undefined ? -1 : 1);
        return sign * cmpStrings(a.cmp, b.cmp);
      };
    } else {
      const cmpStrings = storekey !== undefined ? binaryCompare : cstrcmp;
      compare = (a, b) => sign * cmpStrings(a.obj, b.obj);
    }
    vector = vector.sort(compare);
  }

  const outputlen = gets.length > 0 ? gets.length * (end - start + 1) : end - start + 1;
  if (conversionError) return ctx.w.error("ERR One or more scores can't be converted into double");
  const w = ctx.w;
  if (storekey === undefined) {
    w.arrayHeader(outputlen);
    for (let j = start; j <= end; j++) {
      const obj = vector[j]!.obj;
      if (gets.length === 0) w.bulk(obj);
      for (const pattern of gets) {
        const v = lookupByPattern(ctx, pattern, obj);
        if (v === undefined) w.nil();
        else w.bulk(v);
      }
    }
    return;
  }
  const out = new ListValue();
  for (let j = start; j <= end; j++) {
    const obj = vector[j]!.obj;
    if (gets.length === 0) out.pushTail(obj);
    for (const pattern of gets) out.pushTail(lookupByPattern(ctx, pattern, obj) ?? '');
  }
  if (outputlen > 0) {
    ctx.db.set(storekey, out);
    notify(ctx, Notify.List, 'sortstore', storekey);
    dirty(ctx, outputlen);
  } else {
    deleteStored(ctx, storekey);
  }
  w.int(outputlen);
}

export const sortCommands: Record<string, DataHandler> = {
  sort: (ctx, argv) => sortGeneric(ctx, argv, false),
  sort_ro: (ctx, argv) => sortGeneric(ctx, argv, true),
};
