/**
 * Error texts of the HyperLogLog and geo commands, byte for byte as
 * redis-server 7.0.15 sends them (hyperloglog.c, geo.c). Kept apart from
 * errors.ts as collection-errors.ts is; same rules: no leading '-',
 * handlers never inline a text.
 */
import { cstr } from '../util/number.js';

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
  return `ERR Unknown PFDEBUG subcommand '${cstr(sub)}'`;
}

export const GEO_ERR = {
  unit: 'ERR unsupported unit provided. please use M, KM, FT, MI',
  needRadius: 'ERR need numeric radius',
  radiusNegative: 'ERR radius cannot be negative',
  needWidth: 'ERR need numeric width',
  needHeight: 'ERR need numeric height',
  boxNegative: 'ERR height or width cannot be negative',
  badMember: 'ERR could not decode requested zset member',
  countPositive: 'ERR COUNT must be > 0',
  anyNeedsCount: 'ERR the ANY argument requires COUNT argument',
} as const;

/** `ERR invalid longitude,latitude pair %f,%f` (the numbers already printed as %f). */
export function geoInvalidPair(lon: string, lat: string): string {
  return `ERR invalid longitude,latitude pair ${lon},${lat}`;
}

/** `ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options` (or "STORE option in GEORADIUS"). */
export function geoStoreIncompatible(what: string): string {
  return `ERR ${what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`;
}

/** `ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for <command as sent>` (%s: cut at a NUL byte). */
export function geoNeedsFrom(cmd: string): string {
  return `ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ${cstr(cmd)}`;
}

/** `ERR exactly one of BYRADIUS and BYBOX can be specified for <command as sent>`. */
export function geoNeedsBy(cmd: string): string {
  return `ERR exactly one of BYRADIUS and BYBOX can be specified for ${cstr(cmd)}`;
}
