/**
 * MEMORY USAGE of a stream, in redis-server 7.0's terms (object.c
 * objectComputeSize, OBJ_STREAM branch): the robj and stream structs, the
 * rax estimate (streamRadixTreeMemoryUsage), the listpacks' allocations
 * (the first `samples` nodes averaged over all but the tail, plus the tail,
 * which Redis allocates 4096 bytes ahead), and the groups' PELs and consumers.
 */
import { raxNodeCount } from './types/stream-lag.js';
import type { StreamValue } from './types/stream.js';

const ROBJ = 16;
const STREAM_STRUCT = 80;
const STREAM_CG = 40;
const STREAM_NACK = 24;
const STREAM_CONSUMER = 24;
const LISTPACK_PREALLOC = 4096;

/** streamRadixTreeMemoryUsage (whose first line Redis overwrites: sizeof(rax) is not counted). */
function raxUsage(keys: readonly string[]): number {
  const nodes = raxNodeCount(keys);
  return keys.length * 16 + nodes * 4 + nodes * 8 * 30;
}

export function streamSize(s: StreamValue, samples: number, jemallocSize: (n: number) => number): number {
  const masters: string[] = [];
  for (let i = s.head; i < s.nodes.length; i++) masters.push(s.nodes[i]!.master);
  let size = ROBJ + STREAM_STRUCT + raxUsage(masters);
  const n = masters.length;
  const alloc = (i: number): number => {
    const b = jemallocSize(s.nodes[i]!.bytes);
    return i === s.nodes.length - 1 ? Math.max(LISTPACK_PREALLOC, b) : b;
  };
  let lpsize = 0;
  let taken = 0;
  for (let i = s.head; taken < samples && i < s.nodes.length; i++, taken++) lpsize += alloc(i);
  if (n <= taken) size += lpsize;
  else {
    if (taken > 0) lpsize = Math.floor(lpsize / taken);
    size += lpsize * (n - 1) + alloc(s.nodes.length - 1);
  }
  for (const g of s.groups?.values() ?? []) {
    size += STREAM_CG + raxUsage([...g.pelOrder]) + STREAM_NACK * g.pel.size;
    for (const c of g.consumers.values()) size += STREAM_CONSUMER + c.name.length + raxUsage([...c.pel]);
  }
  return size;
}
