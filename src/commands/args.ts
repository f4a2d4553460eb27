/**
 * Argument parsing helpers shared by the list and sorted-set commands, with
 * Redis's object.c replies: getLongFromObjectOrReply,
 * getRangeLongFromObjectOrReply, getPositiveLongFromObjectOrReply.
 * Each returns undefined after writing the error reply.
 */
import { ERR, valueOutOfRangeError } from '../server/errors.js';
import { string2ll } from '../util/number.js';
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
