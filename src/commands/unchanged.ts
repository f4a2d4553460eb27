/**
 * Writes that often change nothing, and the checks that tell (UnchangedCheck):
 * PFADD of elements already counted, SADD of members already there, GEOADD
 * of members already at those places. Redis runs such a call without
 * propagating it (its dirty counter does not move: no AOF record, no fsync,
 * nothing for replicas); raftis answers it as a read of the applied state
 * instead of a log entry (Dispatcher.answeredUnchanged). Each check only
 * reads, and answers false whenever the write would change something or
 * reply anything but the integer 0: a missing key (it would be created),
 * an expired one still stored (Redis's write lookup deletes it), another
 * type, a bad argument.
 */
import { isOfType } from './collection.js';
import { geoScore, parseCoordinate, GEO_LAT_MAX, GEO_LAT_MIN, GEO_LONG_MAX, GEO_LONG_MIN } from './geohash.js';
import { isValidHll, wouldRaise } from './hll.js';
import { isOpt } from './options.js';
import type { UnchangedCheck } from './types.js';
import { isZSet } from './zset-range.js';
import type { RHash } from '../keyspace/types/hash.js';
import type { RSet } from '../keyspace/types/set.js';
import type { ZSetValue } from '../keyspace/types/zset.js';

/** PFADD key [element …]: an HLL already there, no element raising its register (hllAdd's 0 for each). */
const pfadd: UnchangedCheck = (ctx, argv) => {
  const v = ctx.db.lookupUnchanged(argv[1]!, ctx.now);
  if (typeof v !== 'string' || !isValidHll(v)) return false;
  for (let j = 2; j < argv.length; j++) if (wouldRaise(v, argv[j]!) !== false) return false;
  return true;
};

/** SADD key member …: a set already holding every member. */
const sadd: UnchangedCheck = (ctx, argv) => {
  const v = ctx.db.lookupUnchanged(argv[1]!, ctx.now);
  if (v === undefined || v === null || !isOfType(v, 'set')) return false;
  const s = v as RSet;
  for (let j = 2; j < argv.length; j++) if (!s.has(argv[j]!)) return false;
  return true;
};

/**
 * GEOADD key [NX|XX] [CH] longitude latitude member …: every member already
 * at the score these coordinates give, or skipped by its flag (NX: an
 * existing member, at whatever score; XX: a missing member, also when the
 * key is missing). Nothing is added, updated or counted as changed then.
 */
const geoadd: UnchangedCheck = (ctx, argv) => {
  let i = 2;
  let nx = false;
  let xx = false;
  for (; i < argv.length; i++) {
    const o = argv[i]!;
    if (isOpt(o, 'nx')) nx = true;
    else if (isOpt(o, 'xx')) xx = true;
    else if (!isOpt(o, 'ch')) break;
  }
  if (i === argv.length || (argv.length - i) % 3 !== 0 || (nx && xx)) return false;
  const v = ctx.db.lookupUnchanged(argv[1]!, ctx.now);
  if (v === null || (v === undefined ? !xx : !isZSet(v))) return false;
  for (; i < argv.length; i += 3) {
    const x = parseCoordinate(argv[i]!);
    const y = parseCoordinate(argv[i + 1]!);
    if (x === null || y === null || x < GEO_LONG_MIN || x > GEO_LONG_MAX || y < GEO_LAT_MIN || y > GEO_LAT_MAX) return false;
    if (v === undefined) continue;
    const score = (v as ZSetValue).score(argv[i + 2]!);
    if (score === undefined ? !xx : !nx && score !== geoScore(x, y)) return false;
  }
  return true;
};

/** DEL and UNLINK key …: none of the keys there (an expired one still stored is deleted by Redis's lookup: an entry). */
const del: UnchangedCheck = (ctx, argv) => {
  for (let j = 1; j < argv.length; j++) if (ctx.db.lookupUnchanged(argv[j]!, ctx.now) !== undefined) return false;
  return true;
};

/**
 * SREM, ZREM, HDEL key member …: the key missing (Redis's
 * lookupKeyWriteOrReply answers 0), or of the type and holding none of
 * the members.
 */
function removesNone(type: 'set' | 'zset' | 'hash'): UnchangedCheck {
  return (ctx, argv) => {
    const v = ctx.db.lookupUnchanged(argv[1]!, ctx.now);
    if (v === undefined) return true;
    if (v === null || !isOfType(v, type)) return false;
    for (let j = 2; j < argv.length; j++) {
      const m = argv[j]!;
      if (type === 'zset' ? (v as ZSetValue).score(m) !== undefined : (v as RSet | RHash).has(m)) return false;
    }
    return true;
  };
}

export const unchangedChecks: Record<string, UnchangedCheck> = {
  pfadd,
  sadd,
  geoadd,
  del,
  unlink: del,
  srem: removesNone('set'),
  zrem: removesNone('zset'),
  hdel: removesNone('hash'),
};
