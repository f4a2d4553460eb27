/**
 * Error texts of the HyperLogLog and geo commands, byte for byte as
 * redis-server 7.0.15 sends them (hyperloglog.c, geo.c). Kept apart from
 * errors.ts as collection-errors.ts is; same rules: no leading '-',
 * handlers never inline a text.
 */
export const HLL_ERR = {
  notHll: 'WRONGTYPE Key is not a valid HyperLogLog string value.',
  invalid: 'INVALIDOBJ Corrupted HLL object detected',
  noKey: 'ERR The specified key does not exist',
  notSparse: 'ERR HLL encoding is not sparse',
  selftestSparse: 'TESTFAILED sparse encoding not used',
  selftestDisagree: 'TESTFAILED dense/sparse disagree',
} as const;

/** PFSELFTEST's register check failure. */
export function pfselftestRegister(i: number, want: number, got: number): string {
  return `TESTFAILED Register ${i} should be ${want} but is ${got}`;
}

/** PFSELFTEST's approximation check failure. */
export function pfselftestError(card: number, abserr: number): string {
  return `TESTFAILED Too big error. card:${card} abserr:${abserr}`;
}

/** `ERR Unknown PFDEBUG subcommand 'x'` (%s: cut at a NUL byte). */
export function pfdebugUnknown(sub: string): string {
  const nul = sub.indexOf('\0');
  return `ERR Unknown PFDEBUG subcommand '${nul < 0 ? sub : sub.slice(0, nul)}'`;
}
