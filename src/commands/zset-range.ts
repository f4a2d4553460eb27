/**
 * Sorted-set helpers shared by the zset commands: type checks, range
 * parsing (zslParseRange, zslParseLexRange) and score replies.
 */
import type { Value } from '../keyspace/keyspace.js';
import type { LexBound, LexRange, ScoreRange } from '../keyspace/types/skiplist.js';
import { ZSetValue } from '../keyspace/types/zset.js';
import { ERR } from './errors.js';
import type { RespWriter } from '../server/resp-writer.js';
import { formatScore, parseLooseDouble } from '../util/double.js';
import type { Ctx } from './types.js';

export function isZSet(v: Value): v is ZSetValue {
  return v instanceof ZSetValue;
}

/** The zset under key for a read: undefined when absent, null after replying WRONGTYPE. */
export function zsetForRead(ctx: Ctx, key: string): ZSetValue | undefined | null {
  const v = ctx.db.lookupRead(key, ctx.now);
  if (v === undefined) return undefined;
  if (!isZSet(v)) {
    ctx.w.error(ERR.wrongtype);
    return null;
  }
  return v;
}

/** The zset under key about to be changed in place (through getMutable). */
export function zsetForWrite(ctx: Ctx, key: string): ZSetValue | undefined | null {
  const v = ctx.db.getForWrite(key, ctx.now);
  if (v === undefined) return undefined;
  if (!isZSet(v)) {
    ctx.w.error(ERR.wrongtype);
    return null;
  }
  return ctx.db.getMutable(key, ctx.now) as ZSetValue;
}

/** addReplyDouble: RESP3 double, RESP2 bulk string, both as %.17g ("inf", "-inf"). */
export function replyScore(w: RespWriter, s: number): void {
  w.double(formatScore(s));
}

/** zslParseRange: "(" makes a bound exclusive; strtod reads the rest. Null when invalid. */
export function parseScoreRange(min: string, max: string): ScoreRange | null {
  const a = parseBound(min);
  const b = parseBound(max);
  if (a === null || b === null) return null;
  return { min: a[0], minex: a[1], max: b[0], maxex: b[1] };
}

function parseBound(s: string): [number, boolean] | null {
  const ex = s.charCodeAt(0) === 40; /* ( */
  const v = parseLooseDouble(ex ? s.slice(1) : s);
  return v === null ? null : [v, ex];
}

/** zslParseLexRange: "-", "+", "(member" or "[member". Null when invalid. */
export function parseLexRange(min: string, max: string): LexRange | null {
  const a = parseLexBound(min);
  const b = parseLexBound(max);
  if (a === null || b === null) return null;
  return { min: a, max: b };
}

function parseLexBound(s: string): LexBound | null {
  switch (s.charCodeAt(0)) {
    case 43 /* + */:
      return s.length === 1 || s.charCodeAt(1) === 0 ? { inf: 1 } : null;
    case 45 /* - */:
      return s.length === 1 || s.charCodeAt(1) === 0 ? { inf: -1 } : null;
    case 40 /* ( */:
      return { inf: 0, v: s.slice(1), ex: true };
    case 91 /* [ */:
      return { inf: 0, v: s.slice(1), ex: false };
    default:
      return null;
  }
}

/**
 * Replies a list of (member, score) results the way zrange's client handler
 * does: flat [m, s, …] in RESP2, [[m, s], …] in RESP3 when with scores;
 * members only otherwise.
 */
export function replyMembers(w: RespWriter, members: string[], scores: number[] | undefined): void {
  if (scores === undefined) return w.bulkArray(members);
  const nested = w.proto === 3;
  w.arrayHeader(nested ? members.length : members.length * 2);
  for (let i = 0; i < members.length; i++) {
    if (nested) w.arrayHeader(2);
    w.bulk(members[i]!);
    replyScore(w, scores[i]!);
  }
}
