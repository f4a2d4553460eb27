/**
 * Argument parsing helpers shared by the list and sorted-set commands, with
 * Redis's object.c replies: getLongFromObjectOrReply,
 * getRangeLongFromObjectOrReply, getPositiveLongFromObjectOrReply.
 * Each returns undefined after writing the error reply.
 */
import { LIST_ERR } from './collection-errors.js';
import { ERR, valueOutOfRangeError } from './errors.js';
import { string2ll } from '../util/number.js';
import { isOpt } from './options.js';
import type { Ctx } from './types.js';

/** LONG_MAX: the bound of getRangeLong/getPositiveLong (a double: comparisons only). */
export const LONG_MAX = 9223372036854775807;

/**
 * A long, as a JS number (values beyond 2^53 are rounded, which only
 * matters for clamping, where it does not change the outcome).
 */
export function getLong(ctx: Ctx, arg: string, msg?: string): number | undefined {
  const v = string2ll(arg);
  if (v === null) {
    ctx.w.error(msg !== undefined ? 'ERR ' + msg : ERR.notInteger);
    return undefined;
  }
  return Number(v);
}

/** getRangeLongFromObjectOrReply; min/max as bigint text bounds for the message. */
export function getRangeLong(ctx: Ctx, arg: string, min: bigint, max: bigint, msg?: string): number | undefined {
  const v = string2ll(arg);
  if (v === null) {
    ctx.w.error(msg !== undefined ? 'ERR ' + msg : ERR.notInteger);
    return undefined;
  }
  const b = BigInt(v);
  if (b < min || b > max) {
    ctx.w.error(msg !== undefined ? 'ERR ' + msg : valueOutOfRangeError(min, max));
    return undefined;
  }
  return Number(v);
}

const LONG_MAX_BIG = 9223372036854775807n;

/** getPositiveLongFromObjectOrReply: 0..LONG_MAX. */
export function getPositiveLong(ctx: Ctx, arg: string, msg = 'value is out of range, must be positive'): number | undefined {
  return getRangeLong(ctx, arg, 0n, LONG_MAX_BIG, msg);
}

/** getRangeLong with min 1 (numkeys, COUNT of the MPOP commands). */
export function getStrictlyPositiveLong(ctx: Ctx, arg: string, msg: string): number | undefined {
  return getRangeLong(ctx, arg, 1n, LONG_MAX_BIG, msg);
}

/**
 * The `[COUNT count]` tail of LMPOP/ZMPOP and their blocking forms, from
 * argv[from]: the count (1 when absent), or undefined once an error reply
 * (Redis's texts) has been written.
 */
export function getMpopCount(ctx: Ctx, argv: readonly string[], from: number): number | undefined {
  let count = -1;
  for (let j = from; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (count === -1 && isOpt(argv[j]!, 'count') && more) {
      const c = getRangeLong(ctx, argv[++j]!, 1n, 9223372036854775807n, LIST_ERR.countPositive);
      if (c === undefined) return undefined;
      count = c;
    } else {
      ctx.w.error(ERR.syntax);
      return undefined;
    }
  }
  return count === -1 ? 1 : count;
}
