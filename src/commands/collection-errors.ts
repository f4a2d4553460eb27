/**
 * Error texts of the list and sorted-set commands, byte for byte as
 * redis-server 7.0.15 sends them (t_list.c, t_zset.c, timeout.c). Kept
 * apart from errors.ts so that parallel work on other types does not
 * collide; same rules: no leading '-', handlers never inline a text.
 */
export const LIST_ERR = {
  lposRankZero:
    'ERR RANK can\'t be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list',
  lposCountNegative: "COUNT can't be negative",
  lposMaxlenNegative: "MAXLEN can't be negative",
  numkeysPositive: 'numkeys should be greater than 0',
  countPositive: 'count should be greater than 0',
  timeoutNotFloat: 'timeout is not a float or out of range',
  timeoutNegative: 'ERR timeout is negative',
} as const;

export const ZSET_ERR = {
  nan: 'ERR resulting score is not a number (NaN)',
  xxAndNx: 'ERR XX and NX options at the same time are not compatible',
  gtLtNx: 'ERR GT, LT, and/or NX options at the same time are not compatible',
  incrPair: 'ERR INCR option supports a single increment-element pair',
  minMaxNotFloat: 'ERR min or max is not a float',
  minMaxNotLex: 'ERR min or max not valid string range item',
  weightNotFloat: 'ERR weight value is not a float',
  limitNeedsBy: 'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX',
  withscoresByLex: 'ERR syntax error, WITHSCORES not supported in combination with BYLEX',
  randCountRange: 'ERR value is out of range',
} as const;

/** `ERR at least 1 input key is needed for 'zunionstore' command` */
export function zsetNeedsInputKey(cmd: string): string {
  return `ERR at least 1 input key is needed for '${cmd}' command`;
}
