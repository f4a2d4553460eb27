/**
 * Geo commands (redis/src/geo.c, 7.0.15) on sorted sets whose scores are
 * 52-bit geohashes (geohash.ts): GEOADD, GEODIST, GEOHASH, GEOPOS,
 * GEORADIUS, GEORADIUSBYMEMBER and their _RO forms, GEOSEARCH and
 * GEOSEARCHSTORE. Candidates are collected cell by cell in Redis's order
 * (center, N, S, E, W, NE, NW, SE, SW; scores ascending in each) and sorted
 * stably by distance, as glibc's qsort (a merge sort) does; distances print
 * as %.4f, coordinates as %.17Lf trimmed, as Redis.
 *
 * GEORADIUS and GEORADIUSBYMEMBER are writes in Redis's table (STORE), so
 * they go through the log even without STORE; the _RO forms and GEOSEARCH
 * are reads.
 */
import { Notify, deleteStored, notify } from './notify.js';
import type { ZNode } from '../keyspace/types/skiplist.js';
import { ZSetValue, fitsListpack } from '../keyspace/types/zset.js';
import { string2ll } from '../util/number.js';
import { parseDouble } from '../util/double.js';
import { ERR } from './errors.js';
import { GEO_ERR, geoInvalidPair, geoNeedsFrom, geoNeedsBy, geoStoreIncompatible } from './hll-geo-errors.js';
import {
  GEO_LAT_MAX,
  GEO_LAT_MIN,
  GEO_LONG_MAX,
  GEO_LONG_MIN,
  cellScores,
  decodeScore,
  distance,
  distanceExact,
  formatFixed,
  formatHumanDouble,
  geoScore,
  isZeroHash,
  quickDouble,
  searchAreas,
  standardGeohash,
  withinShape,
  type Shape,
} from './geohash.js';
import { isOpt } from './options.js';
import { pqsort } from './pqsort.js';
import type { Ctx, DataHandler } from './types.js';
import { zsetForRead } from './zset-range.js';
import { dirty } from './dirty.js';
import { ZADD_CH, ZADD_NX, ZADD_XX, zaddScores } from './zset-add.js';

/** getDoubleFromObjectOrReply: the value, or undefined after replying `msg` (or the generic float error). */
function getDouble(ctx: Ctx, arg: string, msg?: string): number | undefined {
  const d = parseDouble(arg);
  if (d === null) {
    ctx.w.error(msg ?? ERR.notFloat);
    return undefined;
  }
  return d;
}

/** extractLongLatOrReply. */
function longLat(ctx: Ctx, argv: string[], at: number): [number, number] | undefined {
  const x = getDouble(ctx, argv[at]!);
  if (x === undefined) return undefined;
  const y = getDouble(ctx, argv[at + 1]!);
  if (y === undefined) return undefined;
  if (x < GEO_LONG_MIN || x > GEO_LONG_MAX || y < GEO_LAT_MIN || y > GEO_LAT_MAX) {
    ctx.w.error(geoInvalidPair(formatFixed(x, 6), formatFixed(y, 6)));
    return undefined;
  }
  return [x, y];
}

/** extractUnitOrReply: meters per unit, or undefined after replying. */
function unit(ctx: Ctx, u: string): number | undefined {
  if (isOpt(u, 'm')) return 1;
  if (isOpt(u, 'km')) return 1000;
  if (isOpt(u, 'ft')) return 0.3048;
  if (isOpt(u, 'mi')) return 1609.34;
  ctx.w.error(GEO_ERR.unit);
  return undefined;
}

/** A member's position, or undefined when it is not in the set. */
function memberPos(z: ZSetValue, member: string): [number, number] | undefined {
  const s = z.score(member);
  return s === undefined ? undefined : decodeScore(s);
}

/** addReplyDoubleDistance. */
function replyDistance(ctx: Ctx, d: number): void {
  ctx.w.bulk(formatFixed(d, 4));
}

/** getDouble for GEOADD's coordinates: quickDouble, else parseDouble (and its error). */
function coordinate(ctx: Ctx, arg: string): number | undefined {
  const q = quickDouble(arg);
  return q !== undefined ? q : getDouble(ctx, arg);
}

export { quickDouble };

/** GEOADD's scores (the members' geohashes), reused from call to call. */
const addScores: number[] = [];

/**
 * GEOADD key [NX|XX] [CH] longitude latitude member [...]: Redis checks
 * every position, then runs ZADD with the 52-bit geohashes as scores. The
 * scores go to ZADD's steps (zset-add.ts) here as numbers (Redis's ZADD
 * parses the integers it was given back into the same doubles), with the
 * options GEOADD passes (NX, XX, CH).
 */
const geoadd: DataHandler = (ctx, argv) => {
  let flags = 0;
  let longidx = 2;
  for (; longidx < argv.length; longidx++) {
    const o = argv[longidx]!;
    if (isOpt(o, 'nx')) flags |= ZADD_NX;
    else if (isOpt(o, 'xx')) flags |= ZADD_XX;
    else if (isOpt(o, 'ch')) flags |= ZADD_CH;
    else break;
  }
  if ((argv.length - longidx) % 3 !== 0 || (flags & (ZADD_NX | ZADD_XX)) === (ZADD_NX | ZADD_XX)) return ctx.w.error(ERR.syntax);
  const elements = (argv.length - longidx) / 3;
  for (let j = 0; j < elements; j++) {
    const i = longidx + 3 * j;
    const x = coordinate(ctx, argv[i]!);
    if (x === undefined) return;
    const y = coordinate(ctx, argv[i + 1]!);
    if (y === undefined) return;
    if (x < GEO_LONG_MIN || x > GEO_LONG_MAX || y < GEO_LAT_MIN || y > GEO_LAT_MAX) return ctx.w.error(geoInvalidPair(formatFixed(x, 6), formatFixed(y, 6)));
    addScores[j] = geoScore(x, y);
  }
  // ZADD's own checks: no pair (GEOADD key CH CH CH) is its syntax error.
  if (elements === 0) return ctx.w.error(ERR.syntax);
  zaddScores(ctx, argv, flags, addScores, longidx + 2, 3, elements);
};

const geodist: DataHandler = (ctx, argv) => {
  let toMeter = 1;
  if (argv.length === 5) {
    const u = unit(ctx, argv[4]!);
    if (u === undefined) return;
    toMeter = u;
  } else if (argv.length > 5) {
    return ctx.w.error(ERR.syntax);
  }
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  if (z === undefined) return ctx.w.nil();
  const a = memberPos(z, argv[2]!);
  const b = a === undefined ? undefined : memberPos(z, argv[3]!);
  if (a === undefined || b === undefined) return ctx.w.nil();
  replyDistance(ctx, distance(a[0], a[1], b[0], b[1]) / toMeter);
};

const geohash: DataHandler = (ctx, argv) => {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  ctx.w.arrayHeader(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const p = z === undefined ? undefined : memberPos(z, argv[j]!);
    if (p === undefined) ctx.w.nil();
    else ctx.w.bulk(standardGeohash(p[0], p[1]));
  }
};

const geopos: DataHandler = (ctx, argv) => {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === null) return;
  ctx.w.arrayHeader(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const p = z === undefined ? undefined : memberPos(z, argv[j]!);
    if (p === undefined) ctx.w.nilArray();
    else {
      ctx.w.arrayHeader(2);
      ctx.w.double(formatHumanDouble(p[0]));
      ctx.w.double(formatHumanDouble(p[1]));
    }
  }
};

const RADIUS_COORDS = 1;
const RADIUS_MEMBER = 2;
const RADIUS_NOSTORE = 4;
const GEOSEARCH = 8;
const GEOSEARCHSTORE = 16;

const SORT_NONE = 0;
const SORT_ASC = 1;
const SORT_DESC = 2;

interface GeoPoint {
  lon: number;
  lat: number;
  dist: number;
  score: number;
  member: string;
}

/** sort_gp_asc. */
const sortAsc = (a: GeoPoint, b: GeoPoint): number => (a.dist > b.dist ? 1 : a.dist === b.dist ? 0 : -1);
/** sort_gp_desc. */
const sortDesc = (a: GeoPoint, b: GeoPoint): number => (a.dist > b.dist ? -1 : a.dist === b.dist ? 0 : 1);

/** membersOfAllNeighbors: the points inside the shape, cell by cell, stopping at `limit` (ANY) when not 0. */
function pointsInShape(z: ZSetValue, shape: Shape, limit: number): GeoPoint[] {
  const out: GeoPoint[] = [];
  const cells = searchAreas(shape);
  let last = -1;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    if (isZeroHash(c)) continue;
    if (last >= 0 && c.bits === cells[last]!.bits && c.step === cells[last]!.step) continue;
    if (out.length && limit && out.length >= limit) break;
    const [min, max] = cellScores(c);
    let x: ZNode | null = z.sl.firstInScoreRange({ min, max, minex: false, maxex: true });
    while (x !== null) {
      if (!(x.score < max)) break;
      const [lon, lat] = decodeScore(x.score);
      const d = withinShape(shape, lon, lat);
      if (d !== undefined) out.push({ lon, lat, dist: d, score: x.score, member: x.member });
      if (out.length && limit && out.length >= limit) break;
      x = x.next[0]!;
    }
    last = i;
  }
  return out;
}

/** georadiusGeneric. */
function georadiusGeneric(ctx: Ctx, argv: string[], srcKeyIndex: number, flags: number): void {
  const w = ctx.w;
  let storekey: string | undefined;
  let storedist = false;
  const z = zsetForRead(ctx, argv[srcKeyIndex]!);
  if (z === null) return;
  let baseArgs: number;
  let xy: [number, number] = [0, 0];
  let conversion = 0;
  let radius = 0;
  let width = 0;
  let height = 0;
  let type: 'circle' | 'box' = 'circle';
  if (flags & RADIUS_COORDS) {
    baseArgs = 6;
    const p = longLat(ctx, argv, 2);
    if (p === undefined) return;
    xy = p;
    const d = extractDistance(ctx, argv, baseArgs - 2);
    if (d === undefined) return;
    [radius, conversion] = d;
  } else if (flags & RADIUS_MEMBER && z === undefined) {
    baseArgs = 5;
  } else if (flags & RADIUS_MEMBER) {
    baseArgs = 5;
    const p = memberPos(z!, argv[2]!);
    if (p === undefined) return w.error(GEO_ERR.badMember);
    xy = p;
    const d = extractDistance(ctx, argv, baseArgs - 2);
    if (d === undefined) return;
    [radius, conversion] = d;
  } else {
    baseArgs = 2;
    if (flags & GEOSEARCHSTORE) {
      baseArgs = 3;
      storekey = argv[1]!;
    }
  }
  let withdist = false;
  let withhash = false;
  let withcoords = false;
  let frommember = false;
  let fromloc = false;
  let byradius = false;
  let bybox = false;
  let sort = SORT_NONE;
  let any = false;
  let count = 0;
  const remaining = argv.length - baseArgs;
  for (let i = 0; i < remaining; i++) {
    const arg = argv[baseArgs + i]!;
    if (isOpt(arg, 'withdist')) withdist = true;
    else if (isOpt(arg, 'withhash')) withhash = true;
    else if (isOpt(arg, 'withcoord')) withcoords = true;
    else if (isOpt(arg, 'any')) any = true;
    else if (isOpt(arg, 'asc')) sort = SORT_ASC;
    else if (isOpt(arg, 'desc')) sort = SORT_DESC;
    else if (isOpt(arg, 'count') && i + 1 < remaining) {
      const n = string2ll(argv[baseArgs + i + 1]!);
      if (n === null) return w.error(ERR.notInteger);
      if (n <= 0) return w.error(GEO_ERR.countPositive);
      count = Number(n);
      i++;
    } else if (isOpt(arg, 'store') && i + 1 < remaining && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
      storekey = argv[baseArgs + i + 1]!;
      storedist = false;
      i++;
    } else if (isOpt(arg, 'storedist') && i + 1 < remaining && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
      storekey = argv[baseArgs + i + 1]!;
      storedist = true;
      i++;
    } else if (isOpt(arg, 'storedist') && flags & GEOSEARCH && flags & GEOSEARCHSTORE) {
      storedist = true;
    } else if (isOpt(arg, 'frommember') && i + 1 < remaining && flags & GEOSEARCH && !fromloc) {
      if (z === undefined) {
        frommember = true;
        i++;
        continue;
      }
      const p = memberPos(z, argv[baseArgs + i + 1]!);
      if (p === undefined) return w.error(GEO_ERR.badMember);
      xy = p;
      frommember = true;
      i++;
    } else if (isOpt(arg, 'fromlonlat') && i + 2 < remaining && flags & GEOSEARCH && !frommember) {
      const p = longLat(ctx, argv, baseArgs + i + 1);
      if (p === undefined) return;
      xy = p;
      fromloc = true;
      i += 2;
    } else if (isOpt(arg, 'byradius') && i + 2 < remaining && flags & GEOSEARCH && !bybox) {
      const d = extractDistance(ctx, argv, baseArgs + i + 1);
      if (d === undefined) return;
      [radius, conversion] = d;
      type = 'circle';
      byradius = true;
      i += 2;
    } else if (isOpt(arg, 'bybox') && i + 3 < remaining && flags & GEOSEARCH && !byradius) {
      const wv = getDouble(ctx, argv[baseArgs + i + 1]!, GEO_ERR.needWidth);
      if (wv === undefined) return;
      const hv = getDouble(ctx, argv[baseArgs + i + 2]!, GEO_ERR.needHeight);
      if (hv === undefined) return;
      if (hv < 0 || wv < 0) return w.error(GEO_ERR.boxNegative);
      const u = unit(ctx, argv[baseArgs + i + 3]!);
      if (u === undefined) return;
      width = wv;
      height = hv;
      conversion = u;
      type = 'box';
      bybox = true;
      i += 3;
    } else {
      return w.error(ERR.syntax);
    }
  }
  if (storekey !== undefined && (withdist || withhash || withcoords)) {
    return w.error(geoStoreIncompatible(flags & GEOSEARCHSTORE ? 'GEOSEARCHSTORE' : 'STORE option in GEORADIUS'));
  }
  if (flags & GEOSEARCH && !(frommember || fromloc)) return w.error(geoNeedsFrom(argv[0]!));
  if (flags & GEOSEARCH && !(byradius || bybox)) return w.error(geoNeedsBy(argv[0]!));
  if (any && !count) return w.error(GEO_ERR.anyNeedsCount);
  if (z === undefined) {
    if (storekey !== undefined) {
      ctx.db.getForWrite(storekey, ctx.now);
      deleteStored(ctx, storekey);
      return w.int(0);
    }
    return w.arrayHeader(0);
  }
  if (count !== 0 && sort === SORT_NONE && !any) sort = SORT_ASC;
  const shape: Shape = type === 'circle' ? { type, xy, conversion, radius } : { type, xy, conversion, width, height };
  const ga = pointsInShape(z, shape, any ? count : 0);
  if (ga.length === 0 && storekey === undefined) return w.arrayHeader(0);
  const returned = count === 0 || ga.length < count ? ga.length : count;
  // A full sort is glibc's qsort, a merge sort (stable, as Array.prototype.sort);
  // when COUNT cuts the result Redis sorts partially with pqsort, which is not
  // stable: the same algorithm (pqsort.ts) puts equal distances in its order.
  if (sort !== SORT_NONE) {
    const cmp = sort === SORT_ASC ? sortAsc : sortDesc;
    if (returned === ga.length) ga.sort(cmp);
    else pqsort(ga, cmp, 0, returned - 1);
  }
  if (storekey === undefined) {
    const optionLength = (withdist ? 1 : 0) + (withcoords ? 1 : 0) + (withhash ? 1 : 0);
    w.arrayHeader(returned);
    for (let i = 0; i < returned; i++) {
      const gp = ga[i]!;
      const dist = gp.dist / shape.conversion;
      if (optionLength) w.arrayHeader(optionLength + 1);
      w.bulk(gp.member);
      if (withdist) w.bulk(formatFixed(dist, 4));
      // addReplyLongLong of the score: C's (long long) truncates a fractional one (ZADD can write any).
      if (withhash) w.int(Math.trunc(gp.score));
      if (withcoords) {
        w.arrayHeader(2);
        w.double(formatHumanDouble(gp.lon));
        w.double(formatHumanDouble(gp.lat));
      }
    }
    return;
  }
  if (returned > 0) {
    let maxlen = 0;
    for (let i = 0; i < returned; i++) maxlen = Math.max(maxlen, ga[i]!.member.length);
    const out = new ZSetValue(true);
    for (let i = 0; i < returned; i++) {
      const gp = ga[i]!;
      // STOREDIST's scores show every bit: the distance again with correctly rounded trigonometry.
      out.insert(gp.member, storedist ? distanceExact(shape.xy[0], shape.xy[1], gp.lon, gp.lat) / shape.conversion : gp.score);
    }
    out.skiplistEncoded = !fitsListpack(returned, maxlen);
    ctx.db.getForWrite(storekey, ctx.now);
    ctx.db.set(storekey, out);
    notify(ctx, Notify.Zset, flags & GEOSEARCHSTORE ? 'geosearchstore' : 'georadiusstore', storekey);
    dirty(ctx, returned);
  } else {
    ctx.db.getForWrite(storekey, ctx.now);
    deleteStored(ctx, storekey);
  }
  w.int(returned);
}

/** extractDistanceOrReply: [radius, meters per unit], or undefined after replying. */
function extractDistance(ctx: Ctx, argv: string[], at: number): [number, number] | undefined {
  const d = getDouble(ctx, argv[at]!, GEO_ERR.needRadius);
  if (d === undefined) return undefined;
  if (d < 0) {
    ctx.w.error(GEO_ERR.radiusNegative);
    return undefined;
  }
  const u = unit(ctx, argv[at + 1]!);
  if (u === undefined) return undefined;
  return [d, u];
}

export const geoCommands: Record<string, DataHandler> = {
  geoadd,
  geodist,
  geohash,
  geopos,
  georadius: (ctx, argv) => georadiusGeneric(ctx, argv, 1, RADIUS_COORDS),
  georadiusbymember: (ctx, argv) => georadiusGeneric(ctx, argv, 1, RADIUS_MEMBER),
  georadius_ro: (ctx, argv) => georadiusGeneric(ctx, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE),
  georadiusbymember_ro: (ctx, argv) => georadiusGeneric(ctx, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE),
  geosearch: (ctx, argv) => georadiusGeneric(ctx, argv, 1, GEOSEARCH),
  geosearchstore: (ctx, argv) => georadiusGeneric(ctx, argv, 2, GEOSEARCH | GEOSEARCHSTORE),
};
