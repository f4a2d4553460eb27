/**
 * getTimeoutFromObjectOrReply (timeout.c, 7.0.15) with UNIT_SECONDS: the
 * argument is read as a long double (string2ld), multiplied by 1000 and
 * truncated to a long long. Values whose product does not fit (inf, 1e30)
 * become LLONG_MIN on x86-64 and so are "timeout is negative", as in Redis.
 */
import { LIST_ERR } from './collection-errors.js';
import { string2ld } from '../util/long-double.js';

/** Milliseconds (0: wait forever), or the error text. */
export function parseTimeout(arg: string): number | { error: string } {
  const ld = string2ld(arg);
  if (ld === null) return { error: 'ERR ' + LIST_ERR.timeoutNotFloat };
  if (ld.kind !== 'finite') return { error: LIST_ERR.timeoutNegative };
  const v = (ld.neg ? -1 : 1) * Number(ld.m) * Math.pow(2, ld.e);
  const ms = Math.trunc(v * 1000);
  if (!Number.isFinite(ms) || Math.abs(ms) >= 9223372036854775808 || ms < 0) return { error: LIST_ERR.timeoutNegative };
  return ms === 0 ? 0 : ms; // -0 → 0
}
