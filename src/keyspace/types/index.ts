/**
 * The collection value types and how a snapshot rebuilds them.
 *
 * A snapshot stores a collection as its type tag plus the flat list of
 * strings its `items()` yields, in iteration order (so a restored value
 * iterates exactly as the original did, which keeps replicas deterministic):
 *   hash: field, value, field, value, …
 *   list: elements, head to tail
 *   set:  members
 *   zset: member, score, member, score, …  (score as String(number); "inf"/"-inf")
 *   stream: see stream-items.ts
 * `fromItems` is the inverse.
 */
import type { Collection } from '../keyspace.js';
import { RHash } from './hash.js';
import { RSet } from './set.js';
import { ListValue } from './list.js';
import { ZSetValue, itemToScore } from './zset.js';
import { streamFromItems } from './stream-items.js';

export type CollectionType = Collection['type'];

/** Rebuilds a collection from its snapshot items; throws on malformed input. */
export function fromItems(type: CollectionType, items: string[]): Collection {
  switch (type) {
    case 'hash':
      return RHash.fromItems(items);
    case 'set':
      return RSet.fromItems(items);
    case 'list':
      return new ListValue(items);
    case 'zset':
      return zsetFromItems(items);
    case 'stream':
      return streamFromItems(items);
  }
  throw new Error(`snapshot holds a ${type} value, which this build does not support (${items.length} items)`);
}

function zsetFromItems(items: string[]): Collection {
  if (items.length % 2 !== 0) throw new Error(`zset snapshot has an odd number of items (${items.length})`);
  const pairs: [string, number][] = [];
  for (let i = 0; i < items.length; i += 2) pairs.push([items[i]!, itemToScore(items[i + 1]!)]);
  // Scores exactly as saved (a -0 kept by a skiplist-encoded set stays -0 on every replica).
  return ZSetValue.fromPairs(pairs, false);
}
