/**
 * rdbLoadObjectType + rdbLoadObject: every value encoding Redis 7.0 loads
 * (including the ziplist, zipmap and plain encodings of older RDB
 * versions), rebuilt as raftis values whose OBJECT ENCODING is what
 * redis-server reports after the same load (the types' fromItems /
 * fromPairs apply the conversion thresholds).
 *
 * Checks are those of sanitize-dump-payload yes (deep): a malformed,
 * empty or duplicate-holding value is refused, so a payload can never
 * leave a replica with a value the rest of raftis does not expect.
 */
import type { Value } from '../keyspace.js';
import { RHash } from '../types/hash.js';
import { encodingLimits } from '../types/encodings.js';
import { ListValue } from '../types/list.js';
import { RSet } from '../types/set.js';
import { ZSetValue } from '../types/zset.js';
import { bad } from './bytes.js';
import { RdbReader, RdbType, parseScore, verifyDumpPayload } from './format.js';
import { readIntset, readZiplist, readZipmap } from './legacy.js';
import { lpString, readListpack } from './listpack.js';
import { loadStream } from './stream.js';

const QUICKLIST_NODE_CONTAINER_PLAIN = 1;
const QUICKLIST_NODE_CONTAINER_PACKED = 2;

function hashOf(items: string[]): RHash {
  if (items.length === 0) bad('empty hash');
  if (items.length % 2 !== 0) bad('odd number of hash elements');
  const h = new RHash();
  for (let i = 0; i < items.length; i += 2) if (!h.set(items[i]!, items[i + 1]!)) bad('duplicate hash field');
  return h;
}

function setOf(items: string[]): RSet {
  if (items.length === 0) bad('empty set');
  const s = new RSet();
  for (const m of items) if (!s.add(m)) bad('duplicate set member');
  return s;
}

function zsetOf(pairs: [string, number][]): ZSetValue {
  if (pairs.length === 0) bad('empty sorted set');
  const seen = new Set<string>();
  for (const [m, sc] of pairs) {
    if (Number.isNaN(sc)) bad('sorted set with a NaN score');
    if (seen.has(m)) bad('duplicate sorted set member');
    seen.add(m);
  }
  return ZSetValue.fromPairs(pairs);
}

function zsetOfFlat(items: string[]): ZSetValue {
  if (items.length % 2 !== 0) bad('odd number of sorted set elements');
  const pairs: [string, number][] = [];
  for (let i = 0; i < items.length; i += 2) pairs.push([items[i]!, parseScore(items[i + 1]!)]);
  return zsetOf(pairs);
}

/**
 * A hash or sorted set that was a listpack (or ziplist) in the payload stays
 * one whatever its elements' lengths: rdbLoadObject converts it only when
 * it has more entries than *-max-listpack-entries.
 */
function packedHash(items: string[]): RHash {
  const h = hashOf(items);
  h.encoding = h.size > encodingLimits.hashEntries ? 'hashtable' : 'listpack';
  return h;
}

function packedZset(items: string[]): ZSetValue {
  const z = zsetOfFlat(items);
  z.skiplistEncoded = z.size > encodingLimits.zsetEntries;
  return z;
}

function listOf(items: string[]): ListValue {
  if (items.length === 0) bad('empty list');
  return new ListValue(items);
}

/** rdbLoadObject of an object whose type byte was just read. */
export function loadObject(type: number, r: RdbReader): Value {
  switch (type) {
    case RdbType.String:
      return r.string();
    case RdbType.List: {
      const n = r.len();
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(r.string());
      return listOf(items);
    }
    case RdbType.Set: {
      const n = r.len();
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(r.string());
      return setOf(items);
    }
    case RdbType.Zset:
    case RdbType.Zset2: {
      const n = r.len();
      const pairs: [string, number][] = [];
      for (let i = 0; i < n; i++) {
        const m = r.string();
        pairs.push([m, type === RdbType.Zset ? r.oldDouble() : r.f64le()]);
      }
      return zsetOf(pairs);
    }
    case RdbType.Hash: {
      const n = r.len();
      const items: string[] = [];
      for (let i = 0; i < 2 * n; i++) items.push(r.string());
      return hashOf(items);
    }
    case RdbType.HashZipmap:
      return hashOf(readZipmap(r.stringBytes()));
    case RdbType.ListZiplist:
      return listOf(readZiplist(r.stringBytes()));
    case RdbType.SetIntset:
      return setOf(readIntset(r.stringBytes()));
    case RdbType.ZsetZiplist:
      return packedZset(readZiplist(r.stringBytes()));
    case RdbType.HashZiplist:
      return packedHash(readZiplist(r.stringBytes()));
    case RdbType.HashListpack:
      return packedHash(readListpack(r.stringBytes()).map(lpString));
    case RdbType.ZsetListpack:
      return packedZset(readListpack(r.stringBytes()).map(lpString));
    case RdbType.ListQuicklist:
    case RdbType.ListQuicklist2: {
      const n = r.len();
      const items: string[] = [];
      for (let i = 0; i < n; i++) {
        let container = QUICKLIST_NODE_CONTAINER_PACKED;
        if (type === RdbType.ListQuicklist2) {
          container = r.len();
          if (container !== QUICKLIST_NODE_CONTAINER_PACKED && container !== QUICKLIST_NODE_CONTAINER_PLAIN) bad('quicklist integrity check failed');
        }
        const blob = r.stringBytes();
        if (container === QUICKLIST_NODE_CONTAINER_PLAIN) items.push(blob.toString('latin1'));
        else if (type === RdbType.ListQuicklist) for (const s of readZiplist(blob)) items.push(s);
        else for (const v of readListpack(blob)) items.push(lpString(v));
      }
      return listOf(items);
    }
    case RdbType.StreamListpacks:
    case RdbType.StreamListpacks2:
      return loadStream(r, type);
    default:
      // Modules (6, 7) and unknown types.
      bad(`unknown RDB object type ${type}`);
  }
}

/** The outcome of reading a RESTORE payload. */
export type PayloadResult = { ok: true; value: Value } | { ok: false; error: 'checksum' | 'format' };

/** RESTORE's reading of a payload: verifyDumpPayload, then one object that must use the whole body. */
export function loadDumpPayload(p: Buffer): PayloadResult {
  if (!verifyDumpPayload(p)) return { ok: false, error: 'checksum' };
  const r = new RdbReader(p, p.length - 10);
  try {
    const value = loadObject(r.byte(), r);
    return { ok: true, value };
  } catch {
    // Whatever a payload makes the decoder throw (BadData, a RangeError from
    // a Buffer read…) is bad data: an exception escaping here would stop
    // every replica applying the entry alike.
    return { ok: false, error: 'format' };
  }
}
