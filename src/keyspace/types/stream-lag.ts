/**
 * A consumer group's read counter and lag (t_stream.c 7.0:
 * streamRangeHasTombstones, streamEstimateDistanceFromFirstEverEntry,
 * streamReplyWithCGLag), and the number of rax nodes XINFO STREAM reports.
 */
import { INVALID_ENTRIES_READ, type ConsumerGroup } from './stream-groups.js';
import { MAX_ID, ZERO_ID, type StreamId } from './stream-id.js';
import type { StreamValue } from './stream.js';

/** a - b for counters held as number or bigint. */
export function counterSub(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const r = BigInt.asIntN(64, BigInt(a) - BigInt(b));
  return r >= -9007199254740991n && r <= 9007199254740991n ? Number(r) : r;
}

/** streamRangeHasTombstones(s, start, end) (end: MAX_ID for NULL). */
export function rangeHasTombstones(s: StreamValue, start: StreamId, end: StreamId = MAX_ID): boolean {
  if (s.length === 0 || s.maxDeletedId === ZERO_ID) return false;
  if (s.firstId > s.maxDeletedId) return false;
  return start <= s.maxDeletedId && s.maxDeletedId <= end;
}

/** streamEstimateDistanceFromFirstEverEntry: the read counter of id, or INVALID_ENTRIES_READ. */
export function estimateDistance(s: StreamValue, id: StreamId): number | bigint {
  if (s.entriesAdded === 0) return 0;
  if (s.length === 0 && id <= s.lastId) return s.entriesAdded;
  if (id === s.lastId) return s.entriesAdded;
  if (id > s.lastId) return INVALID_ENTRIES_READ;
  if (s.maxDeletedId === ZERO_ID || s.maxDeletedId < s.firstId) {
    if (id < s.firstId) return counterSub(s.entriesAdded, s.length);
    if (id === s.firstId) return counterSub(counterSub(s.entriesAdded, s.length), -1);
  }
  return INVALID_ENTRIES_READ;
}

/** streamReplyWithCGLag: the lag, or null when it cannot be known. */
export function groupLag(s: StreamValue, g: ConsumerGroup): number | bigint | null {
  if (s.entriesAdded === 0) return 0;
  if (g.entriesRead !== INVALID_ENTRIES_READ && !rangeHasTombstones(s, g.lastId)) return counterSub(s.entriesAdded, g.entriesRead);
  const read = estimateDistance(s, g.lastId);
  return read === INVALID_ENTRIES_READ ? null : counterSub(s.entriesAdded, read);
}

/** What streamReplyWithRange does to a group's counter when it delivers id beyond its last ID. */
export function advanceGroup(s: StreamValue, g: ConsumerGroup, id: StreamId): void {
  if (g.entriesRead !== INVALID_ENTRIES_READ && !rangeHasTombstones(s, id)) {
    g.entriesRead = typeof g.entriesRead === 'number' ? g.entriesRead + 1 : g.entriesRead + 1n;
  } else if (s.entriesAdded !== 0) {
    g.entriesRead = estimateDistance(s, id);
  }
  g.lastId = id;
}

/**
 * rax->numnodes for a rax holding these 16-byte keys (sorted): a
 * compressed radix tree has one node per run of shared bytes, one per
 * branching point and one (empty) node per key end; an empty rax is its root.
 */
export function raxNodeCount(keys: readonly string[]): number {
  if (keys.length === 0) return 1;
  return countNodes(keys, 0, keys.length, 0);
}

function countNodes(keys: readonly string[], lo: number, hi: number, depth: number): number {
  const len = keys[lo]!.length;
  if (depth === len) return 1;
  const a = keys[lo]!;
  const b = keys[hi - 1]!;
  let l = depth;
  while (l < len && a.charCodeAt(l) === b.charCodeAt(l)) l++;
  if (l > depth) return 1 + countNodes(keys, lo, hi, l);
  let total = 1;
  let start = lo;
  while (start < hi) {
    const c = keys[start]!.charCodeAt(depth);
    let end = start + 1;
    while (end < hi && keys[end]!.charCodeAt(depth) === c) end++;
    total += countNodes(keys, start, end, depth + 1);
    start = end;
  }
  return total;
}
