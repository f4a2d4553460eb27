/**
 * A database number argument (SELECT, MOVE, SWAPDB, COPY … DB), parsed as
 * redis-server 7.0 parses it: getIntFromObjectOrReply, then selectDb's
 * range check against the `databases` option.
 */
import { ERR, valueOutOfRangeError } from './errors.js';
import { string2ll } from '../util/number.js';

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/**
 * The database number in `s`, or the error reply's text: not an integer,
 * outside C's int (`invalid`, when given, replaces both texts: SWAPDB's
 * "invalid first DB index"), or not below `count`.
 */
export function parseDbIndex(s: string, count: number, invalid?: string): number | string {
  const n = string2ll(s);
  if (n === null) return invalid ?? ERR.notInteger;
  if (n < INT_MIN || n > INT_MAX) return invalid ?? valueOutOfRangeError(INT_MIN, INT_MAX);
  if (n < 0n || n >= BigInt(count)) return ERR.selectDbOutOfRange;
  return Number(n);
}
