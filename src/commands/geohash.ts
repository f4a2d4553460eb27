/**
 * Redis's geohash arithmetic (redis/src/geohash.c, geohash_helper.c,
 * 7.0.15): 52-bit interleaved scores, neighbours, the search areas of a
 * radius or box query, the haversine distance with Redis's Earth radius,
 * and printf's %.Nf for replies. Pure functions; nothing here touches the
 * keyspace.
 */
import { formatHuman, type LDFinite } from '../util/long-double.js';
import { crAsin, crCos, crSin } from '../util/cr-math.js';
import { parseDouble } from '../util/double.js';

export const GEO_STEP_MAX = 26;
export const GEO_LAT_MIN = -85.05112878;
export const GEO_LAT_MAX = 85.05112878;
export const GEO_LONG_MIN = -180;
export const GEO_LONG_MAX = 180;

/** 10^k for k ≤ 22: exactly representable doubles (quickDouble's divisors). */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * parseDouble's value of a plain decimal ("-13.361389": an optional sign,
 * one or more digits, optionally a point and digits; at most 15 digits in
 * all), without strtod's regular expressions: the digits as an integer m
 * (exact: below 2^53) divided by 10^k (exact: k ≤ 22) is the correctly
 * rounded value (Clinger's fast path), as strtod's and Number's. Undefined
 * for any other form: parseDouble decides then.
 */
export function quickDouble(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  let c = n > 0 ? s.charCodeAt(0) : 0;
  const neg = c === 45; /* - */
  if (neg || c === 43 /* + */) i++;
  let m = 0;
  let digits = 0;
  for (; i < n; i++) {
    c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    m = m * 10 + (c - 48);
    digits++;
  }
  if (digits === 0) return undefined;
  let k = 0;
  if (i < n) {
    if (c !== 46 /* . */) return undefined;
    for (i++; i < n; i++) {
      c = s.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      m = m * 10 + (c - 48);
      k++;
    }
  }
  if (digits + k > 15) return undefined;
  const v = m / POW10[k]!;
  return neg ? -v : v;
}

/** parseDouble of a coordinate: quickDouble's value of a plain decimal, else parseDouble's (null when invalid). */
export function parseCoordinate(s: string): number | null {
  const q = quickDouble(s);
  return q !== undefined ? q : parseDouble(s);
}


const D_R = Math.PI / 180.0;
const EARTH_RADIUS_IN_METERS = 6372797.560856;
const MERCATOR_MAX = 20037726.37;

const degRad = (ang: number): number => ang * D_R;
const radDeg = (ang: number): number => ang / D_R;

/** A geohash of `step` bits per coordinate (bits: latitude in the even bits, longitude in the odd ones). */
export interface HashBits {
  bits: bigint;
  step: number;
}

interface Range {
  min: number;
  max: number;
}

export interface Area {
  lon: Range;
  lat: Range;
}

const LONG_RANGE: Range = { min: GEO_LONG_MIN, max: GEO_LONG_MAX };
const LAT_RANGE: Range = { min: GEO_LAT_MIN, max: GEO_LAT_MAX };

const B1 = [0x5555555555555555n, 0x3333333333333333n, 0x0f0f0f0f0f0f0f0fn, 0x00ff00ff00ff00ffn, 0x0000ffff0000ffffn];
const S = [1n, 2n, 4n, 8n, 16n];
const M64 = 0xffffffffffffffffn;

/** interleave64: x's bits in the even positions, y's in the odd ones (both uint32). */
function interleave64(xlo: number, ylo: number): bigint {
  let x = BigInt(xlo >>> 0);
  let y = BigInt(ylo >>> 0);
  for (let i = 4; i >= 0; i--) {
    x = (x | (x << S[i]!)) & B1[i]!;
    y = (y | (y << S[i]!)) & B1[i]!;
  }
  return x | (y << 1n);
}

/** deinterleave64: even bits in the low 32 bits of the result, odd bits in the high ones. */
function deinterleave64(v: bigint): bigint {
  let x = v;
  let y = v >> 1n;
  const B = [0x5555555555555555n, 0x3333333333333333n, 0x0f0f0f0f0f0f0f0fn, 0x00ff00ff00ff00ffn, 0x0000ffff0000ffffn, 0x00000000ffffffffn];
  x &= B[0]!;
  y &= B[0]!;
  for (let i = 0; i < 5; i++) {
    x = (x | (x >> S[i]!)) & B[i + 1]!;
    y = (y | (y >> S[i]!)) & B[i + 1]!;
  }
  return x | (y << 32n);
}

/** C's (uint32_t) of a non-negative double below 2^32 (the offsets geohashEncode converts). */
const toU32 = (d: number): number => Math.trunc(d) >>> 0;

/** geohashEncode: undefined when out of range. */
export function encode(lonRange: Range, latRange: Range, longitude: number, latitude: number, step: number): HashBits | undefined {
  if (longitude > GEO_LONG_MAX || longitude < GEO_LONG_MIN || latitude > GEO_LAT_MAX || latitude < GEO_LAT_MIN) return undefined;
  if (latitude < latRange.min || latitude > latRange.max || longitude < lonRange.min || longitude > lonRange.max) return undefined;
  let latOffset = (latitude - latRange.min) / (latRange.max - latRange.min);
  let longOffset = (longitude - lonRange.min) / (lonRange.max - lonRange.min);
  latOffset *= 2 ** step;
  longOffset *= 2 ** step;
  return { bits: interleave64(toU32(latOffset), toU32(longOffset)), step };
}

export function encodeWGS84(longitude: number, latitude: number, step: number): HashBits | undefined {
  return encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step);
}

/** geohashAlign52Bits. */
export function align52(h: HashBits): bigint {
  return (h.bits << BigInt(52 - h.step * 2)) & M64;
}

/** x's low 16 bits in the even bit positions of a uint32 (one half of interleave64, in int32 arithmetic). */
function spread16(x: number): number {
  x = (x | (x << 8)) & 0x00ff00ff;
  x = (x | (x << 4)) & 0x0f0f0f0f;
  x = (x | (x << 2)) & 0x33333333;
  return (x | (x << 1)) & 0x55555555;
}

/** 2^GEO_STEP_MAX, and the ranges' spans, as number literals: TurboFan calls ieee754::pow for a module constant's `2 **` on every call. */
const STEP_CELLS = 67108864;
const LAT_SPAN = GEO_LAT_MAX - GEO_LAT_MIN;
const LONG_SPAN = GEO_LONG_MAX - GEO_LONG_MIN;

/**
 * The score GEOADD stores for a position (already checked to be in range):
 * Number(align52(encodeWGS84(longitude, latitude, 26))) — the same offsets
 * computed the same way, interleaved as two 32-bit halves (the low and high
 * 16 bits of each offset) in int32 arithmetic rather than in BigInts (GEOADD
 * runs this per member, on every replica). hi * 2^32 + lo rounds as
 * Number(bigint) does (to nearest, ties to even) in the one case past 2^53
 * (latitude exactly GEO_LAT_MAX: an offset of 2^26).
 */
export function geoScore(longitude: number, latitude: number): number {
  const lat = toU32(((latitude - GEO_LAT_MIN) / LAT_SPAN) * STEP_CELLS);
  const lon = toU32(((longitude - GEO_LONG_MIN) / LONG_SPAN) * STEP_CELLS);
  const lo = (spread16(lat & 0xffff) | (spread16(lon & 0xffff) << 1)) >>> 0;
  const hi = (spread16(lat >>> 16) | (spread16(lon >>> 16) << 1)) >>> 0;
  return hi * 4294967296 + lo;
}

/** geoScore as it was computed through BigInts (encodeWGS84, align52): the reference the tests compare geoScore with. */
export function geoScoreBig(longitude: number, latitude: number): number {
  return Number(align52(encodeWGS84(longitude, latitude, GEO_STEP_MAX)!));
}

const isZeroHash = (h: HashBits): boolean => h.bits === 0n && h.step === 0;

/** geohashDecode: the cell of a hash, undefined for the zero hash. */
export function decode(lonRange: Range, latRange: Range, h: HashBits): Area | undefined {
  if (isZeroHash(h)) return undefined;
  const sep = deinterleave64(h.bits);
  const latScale = latRange.max - latRange.min;
  const longScale = lonRange.max - lonRange.min;
  const ilato = Number(sep & 0xffffffffn);
  const ilono = Number((sep >> 32n) & 0xffffffffn);
  const div = 2 ** h.step;
  return {
    lat: { min: latRange.min + (ilato * 1.0 / div) * latScale, max: latRange.min + (((ilato + 1) >>> 0) * 1.0 / div) * latScale },
    lon: { min: lonRange.min + (ilono * 1.0 / div) * longScale, max: lonRange.min + (((ilono + 1) >>> 0) * 1.0 / div) * longScale },
  };
}

const TWO63 = 2 ** 63;

/**
 * C's (uint64_t) of a score as gcc compiles it for x86-64 (redis-server's
 * build): below 2^63 cvttsd2si, which gives 2^63 for what int64 cannot
 * hold (below -2^63, -inf); from 2^63 on, cvttsd2si of x - 2^63 with bit
 * 63 flipped, which is 0 from 2^64 on (+inf included).
 */
function scoreBits(score: number): bigint {
  if (score >= TWO63) {
    const d = score - TWO63;
    return d < TWO63 ? BigInt(d) | (1n << 63n) : 0n;
  }
  if (!(score >= -TWO63)) return 1n << 63n;
  return BigInt.asUintN(64, BigInt(Math.trunc(score)));
}

/** decodeGeohash: a member's [longitude, latitude] from its score. */
export function decodeScore(score: number): [number, number] {
  const area = decode(LONG_RANGE, LAT_RANGE, { bits: scoreBits(score), step: GEO_STEP_MAX })!;
  let x = (area.lon.min + area.lon.max) / 2;
  if (x > GEO_LONG_MAX) x = GEO_LONG_MAX;
  if (x < GEO_LONG_MIN) x = GEO_LONG_MIN;
  let y = (area.lat.min + area.lat.max) / 2;
  if (y > GEO_LAT_MAX) y = GEO_LAT_MAX;
  if (y < GEO_LAT_MIN) y = GEO_LAT_MIN;
  return [x, y];
}

/** GEOHASH's 11-character standard geohash of a position. */
export function standardGeohash(longitude: number, latitude: number): string {
  const alphabet = '0123456789bcdefghjkmnpqrstuvwxyz';
  const h = encode({ min: -180, max: 180 }, { min: -90, max: 90 }, longitude, latitude, 26)!;
  let out = '';
  for (let i = 0; i < 11; i++) {
    const idx = i === 10 ? 0 : Number((h.bits >> BigInt(52 - (i + 1) * 5)) & 0x1fn);
    out += alphabet[idx];
  }
  return out;
}

function moveX(h: HashBits, d: number): HashBits {
  if (d === 0) return h;
  let x = h.bits & 0xaaaaaaaaaaaaaaaan;
  const y = h.bits & 0x5555555555555555n;
  const zz = 0x5555555555555555n >> BigInt(64 - h.step * 2);
  if (d > 0) x = (x + (zz + 1n)) & M64;
  else {
    x = x | zz;
    x = BigInt.asUintN(64, x - (zz + 1n));
  }
  x &= 0xaaaaaaaaaaaaaaaan >> BigInt(64 - h.step * 2);
  return { bits: x | y, step: h.step };
}

function moveY(h: HashBits, d: number): HashBits {
  if (d === 0) return h;
  const x = h.bits & 0xaaaaaaaaaaaaaaaan;
  let y = h.bits & 0x5555555555555555n;
  const zz = 0xaaaaaaaaaaaaaaaan >> BigInt(64 - h.step * 2);
  if (d > 0) y = (y + (zz + 1n)) & M64;
  else {
    y = y | zz;
    y = BigInt.asUintN(64, y - (zz + 1n));
  }
  y &= 0x5555555555555555n >> BigInt(64 - h.step * 2);
  return { bits: x | y, step: h.step };
}

interface Neighbors {
  north: HashBits;
  south: HashBits;
  east: HashBits;
  west: HashBits;
  north_east: HashBits;
  north_west: HashBits;
  south_east: HashBits;
  south_west: HashBits;
}

function neighbors(h: HashBits): Neighbors {
  return {
    east: moveX(h, 1),
    west: moveX(h, -1),
    south: moveY(h, -1),
    north: moveY(h, 1),
    north_west: moveY(moveX(h, -1), 1),
    south_west: moveY(moveX(h, -1), -1),
    north_east: moveY(moveX(h, 1), 1),
    south_east: moveY(moveX(h, 1), -1),
  };
}

/** A search shape: a circle (radius) or an axis-aligned box (width, height), in `conversion` units, around xy. */
export type Shape =
  | { type: 'circle'; xy: [number, number]; conversion: number; radius: number }
  | { type: 'box'; xy: [number, number]; conversion: number; width: number; height: number };

function estimateSteps(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return 26;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > 26) step = 26;
  return step;
}

function boundingBox(shape: Shape): [number, number, number, number] {
  const height = shape.type === 'circle' ? shape.conversion * shape.radius : (shape.conversion * shape.height) / 2;
  const width = shape.type === 'circle' ? shape.conversion * shape.radius : (shape.conversion * shape.width) / 2;
  const [longitude, latitude] = shape.xy;
  const latDelta = radDeg(height / EARTH_RADIUS_IN_METERS);
  const longDeltaTop = radDeg(width / EARTH_RADIUS_IN_METERS / Math.cos(degRad(latitude + latDelta)));
  const longDeltaBottom = radDeg(width / EARTH_RADIUS_IN_METERS / Math.cos(degRad(latitude - latDelta)));
  const southern = latitude < 0;
  return [
    southern ? longitude - longDeltaBottom : longitude - longDeltaTop,
    latitude - latDelta,
    southern ? longitude + longDeltaBottom : longitude + longDeltaTop,
    latitude + latDelta,
  ];
}

const ZERO: HashBits = { bits: 0n, step: 0 };

/**
 * geohashCalculateAreasByShapeWGS84 + membersOfAllNeighbors' order: the
 * nine cells to search (center, N, S, E, W, NE, NW, SE, SW), the useless
 * ones as the zero hash.
 */
export function searchAreas(shape: Shape): HashBits[] {
  const [minLon, minLat, maxLon, maxLat] = boundingBox(shape);
  const [longitude, latitude] = shape.xy;
  let radiusMeters = shape.type === 'circle' ? shape.radius : Math.sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2));
  radiusMeters *= shape.conversion;
  let steps = estimateSteps(radiusMeters, latitude);
  let hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps)!;
  let nb = neighbors(hash);
  let area = decode(LONG_RANGE, LAT_RANGE, hash)!;
  let decreaseStep = false;
  {
    const north = decode(LONG_RANGE, LAT_RANGE, nb.north);
    const south = decode(LONG_RANGE, LAT_RANGE, nb.south);
    const east = decode(LONG_RANGE, LAT_RANGE, nb.east);
    const west = decode(LONG_RANGE, LAT_RANGE, nb.west);
    if (north !== undefined && north.lat.max < maxLat) decreaseStep = true;
    if (south !== undefined && south.lat.min > minLat) decreaseStep = true;
    if (east !== undefined && east.lon.max < maxLon) decreaseStep = true;
    if (west !== undefined && west.lon.min > minLon) decreaseStep = true;
  }
  if (steps > 1 && decreaseStep) {
    steps--;
    hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps)!;
    nb = neighbors(hash);
    area = decode(LONG_RANGE, LAT_RANGE, hash)!;
  }
  if (steps >= 2) {
    if (area.lat.min < minLat) nb.south = nb.south_west = nb.south_east = ZERO;
    if (area.lat.max > maxLat) nb.north = nb.north_east = nb.north_west = ZERO;
    if (area.lon.min < minLon) nb.west = nb.south_west = nb.north_west = ZERO;
    if (area.lon.max > maxLon) nb.east = nb.south_east = nb.north_east = ZERO;
  }
  return [hash, nb.north, nb.south, nb.east, nb.west, nb.north_east, nb.north_west, nb.south_east, nb.south_west];
}

/** scoresOfGeoHashBox: [min, max) of the scores inside a cell. */
export function cellScores(h: HashBits): [number, number] {
  const min = align52(h);
  const max = align52({ bits: h.bits + 1n, step: h.step });
  return [Number(min), Number(max)];
}

export { isZeroHash };

function latDistance(lat1d: number, lat2d: number): number {
  return EARTH_RADIUS_IN_METERS * Math.abs(degRad(lat2d) - degRad(lat1d));
}

/** geohashGetDistance: haversine, in meters, with the given sin, cos and asin. */
function haversine(lon1d: number, lat1d: number, lon2d: number, lat2d: number, sin: (x: number) => number, cos: (x: number) => number, asin: (x: number) => number): number {
  const lon1r = degRad(lon1d);
  const lon2r = degRad(lon2d);
  const v = sin((lon2r - lon1r) / 2);
  if (v === 0.0) return latDistance(lat1d, lat2d);
  const lat1r = degRad(lat1d);
  const lat2r = degRad(lat2d);
  const u = sin((lat2r - lat1r) / 2);
  const a = u * u + cos(lat1r) * cos(lat2r) * v * v;
  return 2.0 * EARTH_RADIUS_IN_METERS * asin(Math.sqrt(a));
}

/** geohashGetDistance: haversine, in meters (V8's sin, cos and asin: the last bit may differ from glibc's). */
export function distance(lon1d: number, lat1d: number, lon2d: number, lat2d: number): number {
  return haversine(lon1d, lat1d, lon2d, lat2d, Math.sin, Math.cos, Math.asin);
}

/**
 * geohashGetDistance with correctly rounded sin, cos and asin
 * (util/cr-math.ts), which agree with glibc's far more often than V8's:
 * for distances shown to the last bit (STOREDIST's scores). Over a
 * hundred times the cost of distance().
 */
export function distanceExact(lon1d: number, lat1d: number, lon2d: number, lat2d: number): number {
  return haversine(lon1d, lat1d, lon2d, lat2d, crSin, crCos, crAsin);
}

/** geoWithinShape: the distance from the shape's center when [x, y] is inside, else undefined. */
export function withinShape(shape: Shape, x: number, y: number): number | undefined {
  const [x1, y1] = shape.xy;
  if (shape.type === 'circle') {
    const d = distance(x1, y1, x, y);
    return d > shape.radius * shape.conversion ? undefined : d;
  }
  const widthM = shape.width * shape.conversion;
  const heightM = shape.height * shape.conversion;
  if (latDistance(y, y1) > heightM / 2) return undefined;
  if (distance(x, y, x1, y) > widthM / 2) return undefined;
  return distance(x1, y1, x, y);
}

/** A finite double's exact value as sign, integer mantissa and power of two. */
function exactParts(d: number): { neg: boolean; m: bigint; e: number } {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, d);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const neg = hi >>> 31 === 1;
  const exp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (exp === 0) e = -1074;
  else {
    m |= 1n << 52n;
    e = exp - 1075;
  }
  return { neg, m, e };
}

/** printf("%.Nf") of a finite double: the exact value rounded to N decimals, ties to even. */
export function formatFixed(d: number, decimals: number): string {
  const { neg, m, e } = exactParts(d);
  const scale = 10n ** BigInt(decimals);
  let r: bigint;
  if (e >= 0) r = (m << BigInt(e)) * scale;
  else {
    const num = m * scale;
    const sh = BigInt(-e);
    const q = num >> sh;
    const rem = num - (q << sh);
    const half = 1n << (sh - 1n);
    r = rem > half || (rem === half && (q & 1n) === 1n) ? q + 1n : q;
  }
  let digits = r.toString();
  if (digits.length < decimals + 1) digits = '0'.repeat(decimals + 1 - digits.length) + digits;
  const intPart = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals);
  return (neg ? '-' : '') + intPart + (decimals > 0 ? '.' + frac : '');
}

/** addReplyHumanLongDouble's text of a double (%.17Lf, trailing zeros trimmed). */
export function formatHumanDouble(d: number): string {
  const { neg, m, e } = exactParts(d);
  const x: LDFinite = { kind: 'finite', neg, m, e };
  return formatHuman(x);
}
