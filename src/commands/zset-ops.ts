/**
 * ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD
 * (t_zset.c zunionInterDiffGenericCommand, 7.0.15). Inputs may be sorted
 * sets or sets (members with score 1). Inputs are ordered by size (a stable
 * sort, as glibc's qsort is for these sizes) before a union or an
 * intersection, so sums add up in the same order as in Redis.
 */
import { Notify, deleteStored, notify } from './notify.js';
import type { Collection, Value } from '../keyspace/keyspace.js';
import { ZSetValue } from '../keyspace/types/zset.js';
import { zsetNeedsInputKey, ZSET_ERR } from './collection-errors.js';
import { ERR } from './errors.js';
import { parseDouble } from '../util/double.js';
import { getLong, getPositiveLong } from './args.js';
import { isOpt } from './options.js';
import type { Ctx, DataHandler } from './types.js';
import { replyMembers } from './zset-range.js';
import { dirty } from './dirty.js';

const UNION = 0;
const INTER = 1;
const DIFF = 2;
type Op = typeof UNION | typeof INTER | typeof DIFF;

const SUM = 0;
const MIN = 1;
const MAX = 2;

interface Source {
  /** member → score; undefined for a missing key. */
  get(member: string): number | undefined;
  size: number;
  entries(): Iterable<[string, number]>;
  weight: number;
  /** The value itself, to spot the same key given twice. */
  subject: Value | undefined;
}

function sourceOf(v: Value | undefined): Source {
  if (v === undefined) return { get: () => undefined, size: 0, entries: () => [], weight: 1, subject: undefined };
  if (v instanceof ZSetValue) {
    return {
      get: (m) => v.score(m),
      size: v.size,
      *entries() {
        for (let x = v.sl.first; x !== null; x = x.next[0]!) yield [x.member, x.score] as [string, number];
      },
      weight: 1,
      subject: v,
    };
  }
  // A set (t_set.c): every member scores 1. Only its snapshot items are needed.
  const members = new Set((v as Collection).items());
  return {
    get: (m) => (members.has(m) ? 1 : undefined),
    size: members.size,
    *entries() {
      for (const m of members) yield [m, 1] as [string, number];
    },
    weight: 1,
    subject: v,
  };
}

function aggregate(target: number, val: number, agg: number): number {
  if (agg === SUM) {
    const r = target + val;
    return Number.isNaN(r) ? 0 : r;
  }
  if (agg === MIN) return val < target ? val : target;
  return val > target ? val : target;
}

function generic(ctx: Ctx, argv: string[], dstkey: string | undefined, numkeysIdx: number, op: Op, cardOnly: boolean): void {
  const w = ctx.w;
  const setnum = getLong(ctx, argv[numkeysIdx]!);
  if (setnum === undefined) return;
  if (setnum < 1) return w.error(zsetNeedsInputKey(argv[0]!.toLowerCase()));
  if (setnum > argv.length - (numkeysIdx + 1)) return w.error(ERR.syntax);
  const src: Source[] = [];
  let j = numkeysIdx + 1;
  for (let i = 0; i < setnum; i++, j++) {
    const v = ctx.db.lookupRead(argv[j]!, ctx.now);
    if (v !== undefined && (typeof v === 'string' || (v.type !== 'zset' && v.type !== 'set'))) return w.error(ERR.wrongtype);
    src.push(sourceOf(v));
  }
  let agg = SUM;
  let withscores = false;
  let limit = 0;
  let remaining = argv.length - j;
  while (remaining > 0) {
    const a = argv[j]!;
    if (op !== DIFF && !cardOnly && remaining >= setnum + 1 && isOpt(a, 'weights')) {
      j++;
      remaining--;
      for (let i = 0; i < setnum; i++, j++, remaining--) {
        const wt = parseDouble(argv[j]!);
        if (wt === null) return w.error(ZSET_ERR.weightNotFloat);
        src[i]!.weight = wt;
      }
    } else if (op !== DIFF && !cardOnly && remaining >= 2 && isOpt(a, 'aggregate')) {
      j++;
      remaining--;
      const t = argv[j]!;
      if (isOpt(t, 'sum')) agg = SUM;
      else if (isOpt(t, 'min')) agg = MIN;
      else if (isOpt(t, 'max')) agg = MAX;
      else return w.error(ERR.syntax);
      j++;
      remaining--;
    } else if (remaining >= 1 && dstkey === undefined && !cardOnly && isOpt(a, 'withscores')) {
      j++;
      remaining--;
      withscores = true;
    } else if (cardOnly && remaining >= 2 && isOpt(a, 'limit')) {
      j++;
      remaining--;
      const l = getPositiveLong(ctx, argv[j]!, "LIMIT can't be negative");
      if (l === undefined) return;
      limit = l;
      j++;
      remaining--;
    } else {
      return w.error(ERR.syntax);
    }
  }
  if (op !== DIFF) src.sort((a, b) => a.size - b.size);

  const result = new Map<string, number>();
  let cardinality = 0;
  if (op === INTER) {
    const s0 = src[0]!;
    if (s0.size > 0) {
      for (const [m, sc] of s0.entries()) {
        let score = s0.weight * sc;
        if (Number.isNaN(score)) score = 0;
        let k = 1;
        for (; k < setnum; k++) {
          const s = src[k]!;
          const val = s.subject === s0.subject ? sc : s.get(m);
          if (val === undefined) break;
          score = aggregate(score, val * s.weight, agg);
        }
        if (k !== setnum) continue;
        if (cardOnly) {
          cardinality++;
          if (limit && cardinality >= limit) break;
        } else {
          result.set(m, score);
        }
      }
    }
  } else if (op === UNION) {
    for (const s of src) {
      if (s.size === 0) continue;
      for (const [m, sc] of s.entries()) {
        let score = s.weight * sc;
        if (Number.isNaN(score)) score = 0;
        const cur = result.get(m);
        result.set(m, cur === undefined ? score : aggregate(cur, score, agg));
      }
    }
  } else {
    const s0 = src[0]!;
    for (const [m, sc] of s0.entries()) {
      let found = false;
      for (let k = 1; k < setnum && !found; k++) found = src[k]!.get(m) !== undefined;
      if (!found) result.set(m, sc);
    }
  }

  if (cardOnly) return w.int(cardinality);
  const z = ZSetValue.fromPairs(result, dstkey !== undefined);
  if (dstkey !== undefined) {
    if (z.size > 0) {
      ctx.db.set(dstkey, z);
      notify(ctx, Notify.Zset, op === UNION ? 'zunionstore' : op === INTER ? 'zinterstore' : 'zdiffstore', dstkey);
      dirty(ctx);
      return w.int(z.size);
    }
    ctx.db.getForWrite(dstkey, ctx.now);
    deleteStored(ctx, dstkey);
    return w.int(0);
  }
  const members: string[] = [];
  const scores: number[] = [];
  for (let x = z.sl.first; x !== null; x = x.next[0]!) {
    members.push(x.member);
    scores.push(x.score);
  }
  replyMembers(w, members, withscores ? scores : undefined);
}

export const zsetOpCommands: Record<string, DataHandler> = {
  zunion: (ctx, argv) => generic(ctx, argv, undefined, 1, UNION, false),
  zinter: (ctx, argv) => generic(ctx, argv, undefined, 1, INTER, false),
  zdiff: (ctx, argv) => generic(ctx, argv, undefined, 1, DIFF, false),
  zunionstore: (ctx, argv) => generic(ctx, argv, argv[1]!, 2, UNION, false),
  zinterstore: (ctx, argv) => generic(ctx, argv, argv[1]!, 2, INTER, false),
  zdiffstore: (ctx, argv) => generic(ctx, argv, argv[1]!, 2, DIFF, false),
  zintercard: (ctx, argv) => generic(ctx, argv, undefined, 1, INTER, true),
};
