/**
 * A list as Redis 7.0 holds it: a quicklist, listpack nodes split by the
 * list's fill (list-max-listpack-size when it was created) and, with a
 * compress depth (list-compress-depth), the nodes farther than that from
 * both ends LZF-compressed when it saves enough. DUMP writes the nodes as
 * they are (rdbSaveObject: a compressed node as its LZF blob) and MEMORY
 * USAGE sizes them, so both follow this model (quicklist.c 7.0.15).
 *
 * The split depends on the list's history in Redis. Reproduced exactly:
 * lists grown only at the tail (RPUSH, and pops at the tail: nodes filled
 * greedily from the head) and only at the head (LPUSH, and pops at the
 * head: greedily from the tail). Anything else (ListValue.grown Mixed) is
 * split as if grown at the tail, which loads to the same list but may not
 * be Redis's bytes.
 */
import { Grown, type ListValue } from '../types/list.js';
import { lzfCompress } from '../../util/lzf.js';
import { LP_EMPTY_SIZE, ListpackWriter, lpEntrySize } from './listpack.js';

/** _quicklistNodeAllowInsert's estimate of what an element adds. */
const SIZE_ESTIMATE_OVERHEAD = 8;
/** SIZE_SAFETY_LIMIT: a node with a count limit stays within this many bytes. */
const SIZE_SAFETY_LIMIT = 8192;
/** optimization_level: the size limits of fill -1 … -5. */
const OPTIMIZATION_LEVEL = [4096, 8192, 16384, 32768, 65536];
/** __quicklistCompressNode: nodes smaller than this are not compressed… */
const MIN_COMPRESS_BYTES = 48;
/** …nor those whose LZF form does not save more than this. */
const MIN_COMPRESS_IMPROVE = 8;

export interface QuicklistNode {
  /** The node's listpack. */
  lp: Buffer;
  /** Its LZF form when the node is compressed. */
  lzf: Uint8Array | undefined;
}

/** _quicklistNodeAllowInsert (7.0.15): whether an element of `len` bytes joins a node of `sz` bytes and `count` elements. */
function allowInsert(sz: number, count: number, len: number, fill: number): boolean {
  const newSz = sz + len + SIZE_ESTIMATE_OVERHEAD;
  if (fill < 0) {
    const limit = OPTIMIZATION_LEVEL[-fill - 1];
    if (limit !== undefined && newSz <= limit) return true;
  }
  if (newSz > SIZE_SAFETY_LIMIT) return false;
  return count < fill;
}

/** Where the list's elements split into nodes: the index of each node's first element. */
function splitPoints(l: ListValue): number[] {
  const n = l.length;
  const fromTail = l.grown === Grown.Head;
  const starts: number[] = [];
  let sz = 0;
  let count = 0;
  let open = false;
  for (let k = 0; k < n; k++) {
    const i = fromTail ? n - 1 - k : k;
    const s = l.get(i);
    if (!open || !allowInsert(sz, count, s.length, l.fill)) {
      starts.push(i);
      sz = LP_EMPTY_SIZE;
      count = 0;
      open = true;
    } else if (fromTail) {
      // Grown at the head: the node being filled starts at the element just pushed.
      starts[starts.length - 1] = i;
    }
    sz += lpEntrySize(s);
    count++;
  }
  if (fromTail) starts.reverse();
  return starts;
}

/** How many nodes the list has (MEMORY USAGE's multiplier). */
export function quicklistNodeCount(l: ListValue): number {
  return splitPoints(l).length;
}

/**
 * The list's nodes, head first, with the first `limit` of them built (all
 * when undefined); compression as __quicklistCompress leaves it: the nodes
 * farther than the depth from both ends, once there are more than twice
 * the depth.
 */
export function quicklistNodes(l: ListValue, limit?: number): { nodes: QuicklistNode[]; count: number } {
  const starts = splitPoints(l);
  const count = starts.length;
  const built = limit === undefined ? count : Math.min(limit, count);
  const nodes: QuicklistNode[] = [];
  const depth = l.compress;
  for (let k = 0; k < built; k++) {
    const end = k + 1 < count ? starts[k + 1]! : l.length;
    const w = new ListpackWriter();
    for (let i = starts[k]!; i < end; i++) w.str(l.get(i));
    const lp = w.finish();
    let lzf: Uint8Array | undefined;
    if (depth > 0 && count > 2 * depth && k >= depth && k < count - depth && lp.length >= MIN_COMPRESS_BYTES) {
      const c = lzfCompress(lp, lp.length);
      if (c !== undefined && c.length + MIN_COMPRESS_IMPROVE < lp.length) lzf = c;
    }
    nodes.push({ lp, lzf });
  }
  return { nodes, count };
}
