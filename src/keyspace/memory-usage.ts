/**
 * MEMORY USAGE estimates in redis-server 7.0's terms (object.c
 * objectComputeSize + the key's sds + its dictEntry), with jemalloc's size
 * classes, so the numbers are of the same order as Redis's for the same
 * data (not raftis's own heap use, which V8 does not expose per key).
 */
import type { Value } from './keyspace.js';
import { RHash } from './types/hash.js';
import { RSet } from './types/set.js';
import { StreamValue } from './types/stream.js';
import { streamSize } from './stream-memory.js';
import { ListValue } from './types/list.js';
import { quicklistNodes } from './rdb/quicklist.js';
import { string2ll } from '../util/number.js';

const ROBJ = 16;
const DICT = 56;
const DICT_ENTRY = 24;
const PTR = 8;

/** jemalloc's usable size for a request of n bytes (4 classes per doubling). */
export function jemallocSize(n: number): number {
  if (n <= 8) return 8;
  if (n <= 128) return Math.ceil(n / 16) * 16;
  const step = 2 ** Math.floor(Math.log2(n - 1)) / 4;
  return Math.ceil(n / step) * step;
}

function sdsHeader(len: number): number {
  return len < 32 ? 1 : len < 256 ? 3 : len < 65536 ? 5 : len < 4294967296 ? 9 : 17;
}

/** sdsZmallocSize of an sds holding exactly len bytes. */
export function sdsSize(len: number): number {
  return jemallocSize(sdsHeader(len) + len + 1);
}

/** OBJECT ENCODING of a string value (tryObjectEncoding's choice for a value as SET stores it). */
export function stringEncoding(s: string): 'int' | 'embstr' | 'raw' {
  if (s.length <= 20 && string2ll(s) !== null) return 'int';
  return s.length <= 44 ? 'embstr' : 'raw';
}

function dictSlots(n: number): number {
  let slots = 4;
  while (slots < n) slots *= 2;
  return slots;
}

/** Bytes one listpack entry takes for this string (integers are stored as integers). */
function listpackEntry(s: string): number {
  let enc: number;
  const v = s.length <= 20 ? string2ll(s) : null;
  if (v !== null) {
    const n = BigInt(v);
    enc = n >= 0n && n <= 127n ? 1 : n >= -4096n && n <= 4095n ? 2 : n >= -32768n && n <= 32767n ? 3 : n >= -8388608n && n <= 8388607n ? 4 : n >= -2147483648n && n <= 2147483647n ? 5 : 9;
  } else {
    enc = (s.length <= 63 ? 1 : s.length <= 4095 ? 2 : 5) + s.length;
  }
  const back = enc <= 127 ? 1 : enc < 16383 ? 2 : enc < 2097151 ? 3 : enc < 268435455 ? 4 : 5;
  return enc + back;
}

/** The average of `size(item)` over the first `samples` items, times count (Redis's sampling). */
function sampled<T>(items: Iterable<T>, count: number, samples: number, size: (t: T) => number): number {
  let total = 0;
  let n = 0;
  for (const it of items) {
    if (n >= samples) break;
    total += size(it);
    n++;
  }
  return n === 0 ? 0 : Math.floor((total / n) * count);
}

function intsetSize(s: RSet): number {
  let width = 2;
  for (const m of s.m.members) {
    const v = BigInt(string2ll(m) ?? 0);
    if (v < -2147483648n || v > 2147483647n) {
      width = 8;
      break;
    }
    if (v < -32768n || v > 32767n) width = 4;
  }
  return jemallocSize(8 + width * s.size);
}

/** valueSize of a string of `n` bytes that is not an integer (embstr up to 44 bytes, else raw). */
export function nonIntStringSize(n: number): number {
  return n <= 44 ? jemallocSize(ROBJ + 3 + n + 1) : sdsSize(n) + ROBJ;
}

/** memoryUsage(key, v) of a key of `keyLength` bytes holding a string of `length` bytes that is no integer. */
export function nonIntStringKeySize(keyLength: number, length: number): number {
  return nonIntStringSize(length) + sdsSize(keyLength) + DICT_ENTRY;
}

/** objectComputeSize. */
export function valueSize(v: Value, samples: number): number {
  if (typeof v === 'string') {
    const enc = stringEncoding(v);
    if (enc === 'int') return ROBJ;
    return nonIntStringSize(v.length);
  }
  if (v instanceof RSet) {
    if (v.encoding === 'intset') return ROBJ + intsetSize(v);
    return ROBJ + DICT + PTR * dictSlots(v.size) + sampled(v.m.members, v.size, samples, (m) => DICT_ENTRY + sdsSize(m.length));
  }
  if (v instanceof RHash) {
    if (v.encoding === 'listpack') {
      let bytes = 6 + 1;
      for (const [f, val] of v.entries()) bytes += listpackEntry(f) + listpackEntry(val);
      return ROBJ + jemallocSize(bytes);
    }
    return ROBJ + DICT + PTR * dictSlots(v.size) + sampled(v.entries(), v.size, samples, ([f, val]) => DICT_ENTRY + sdsSize(f.length) + sdsSize(val.length));
  }
  if (v instanceof StreamValue) return streamSize(v, samples, jemallocSize);
  if (v instanceof ListValue) return quicklistSize(v, samples);
  // Types without an estimate of their own yet: count the snapshot items as dict entries.
  let n = 0;
  let bytes = 0;
  for (const it of v.items()) {
    n++;
    bytes += DICT_ENTRY + sdsSize(it.length);
  }
  return ROBJ + DICT + PTR * dictSlots(n) + bytes;
}

/** sizeof(quicklist) and sizeof(quicklistNode) in redis-server 7.0 (64-bit). */
const QUICKLIST = 40;
const QUICKLIST_NODE = 40;
/** sizeof(quicklistLZF) in 7.0 (size_t sz): the compressed node's header. */
const QUICKLIST_LZF = 8;

/**
 * objectComputeSize for a quicklist: the object and the quicklist, and the
 * first `samples` nodes' average (node struct and its allocation: the
 * listpack, or the LZF form of a compressed node) times the node count.
 */
function quicklistSize(l: ListValue, samples: number): number {
  const { nodes, count } = quicklistNodes(l, Math.max(1, samples));
  let ele = 0;
  for (const n of nodes) ele += QUICKLIST_NODE + jemallocSize(n.lzf !== undefined ? QUICKLIST_LZF + n.lzf.length : n.lp.length);
  return Math.floor(ROBJ + QUICKLIST + (nodes.length === 0 ? 0 : (ele / nodes.length) * count));
}

/** MEMORY USAGE of a key holding v. */
export function memoryUsage(key: string, v: Value, samples: number): number {
  return valueSize(v, samples) + sdsSize(key.length) + DICT_ENTRY;
}
