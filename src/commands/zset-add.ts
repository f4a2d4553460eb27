/**
 * ZADD's steps once its arguments are checked (zaddGenericCommand's loop
 * and reply, t_zset.c 7.0.15), shared by ZADD, ZINCRBY and GEOADD, which
 * runs ZADD with the members' geohashes as scores.
 */
import { Notify, notify } from './notify.js';
import { ZSetValue, fitsListpack } from '../keyspace/types/zset.js';
import { ZSET_ERR } from './collection-errors.js';
import type { Ctx } from './types.js';
import { replyScore, zsetForWrite } from './zset-range.js';
import { dirty } from './dirty.js';

export const ZADD_NX = 1;
export const ZADD_XX = 2;
export const ZADD_INCR = 4;
export const ZADD_GT = 8;
export const ZADD_LT = 16;
/** Reply with added + updated instead of added (CH). */
export const ZADD_CH = 32;

/**
 * Adds or updates `elements` members with `scores[j]`: the members are
 * argv[first + j * stride] (ZADD: score member pairs, stride 2; GEOADD:
 * longitude latitude member, stride 3). The flags' combinations are
 * already checked. Replies as ZADD does (ZINCRBY/INCR: the new score or
 * nil; otherwise the count), notifies "zadd" or "zincr" and counts dirty
 * once anything changed.
 */
export function zaddScores(ctx: Ctx, argv: string[], flags: number, scores: number[], first: number, stride: number, elements: number): void {
  const w = ctx.w;
  const incr = (flags & ZADD_INCR) !== 0;
  const nx = (flags & ZADD_NX) !== 0;
  const xx = (flags & ZADD_XX) !== 0;
  const gt = (flags & ZADD_GT) !== 0;
  const lt = (flags & ZADD_LT) !== 0;
  const key = argv[1]!;
  let z = zsetForWrite(ctx, key);
  if (z === null) return;
  let added = 0;
  let updated = 0;
  let processed = 0;
  let score = 0;
  if (z === undefined) {
    if (xx) return incr ? w.nil() : w.int(0);
    z = new ZSetValue(!fitsListpack(elements, argv[first]!.length));
    ctx.db.set(key, z);
  }
  for (let j = 0; j < elements; j++) {
    const member = argv[first + j * stride]!;
    let s = scores[j]!;
    const cur = z.score(member);
    if (cur !== undefined) {
      if (nx) continue;
      if (incr) {
        s += cur;
        if (Number.isNaN(s)) {
          if (z.size === 0) ctx.db.delete(key);
          return w.error(ZSET_ERR.nan);
        }
      }
      if ((lt && s >= cur) || (gt && s <= cur)) continue;
      if (s !== cur) {
        z.update(member, s);
        updated++;
      }
    } else if (!xx) {
      z.insert(member, s);
      added++;
    } else {
      continue;
    }
    processed++;
    score = s;
  }
  if (added + updated > 0) {
    notify(ctx, Notify.Zset, incr ? 'zincr' : 'zadd', key);
    dirty(ctx, added + updated);
  }
  if (z.size === 0) ctx.db.delete(key);
  if (incr) {
    if (processed) replyScore(w, score);
    else w.nil();
  } else {
    w.int(flags & ZADD_CH ? added + updated : added);
  }
}
