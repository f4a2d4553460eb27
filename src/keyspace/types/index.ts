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
 * `fromItems` is the inverse.
 */
import type { Collection } from '../keyspace.js';
import { RHash } from './hash.js';
import { RSet } from './set.js';

export type CollectionType = Collection['type'];

/** Rebuilds a collection from its snapshot items; throws on malformed input. */
export function fromItems(type: CollectionType, items: string[]): Collection {
  switch (type) {
    case 'hash':
      return RHash.fromItems(items);
    case 'set':
      return RSet.fromItems(items);
  }
  throw new Error(`snapshot holds a ${type} value, which this build does not support (${items.length} items)`);
}
