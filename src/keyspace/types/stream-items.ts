/**
 * A stream as snapshot items (the flat strings a collection record holds,
 * see types/index.ts), and back. Numbers are decimal text, IDs their
 * 16-byte binary form. Layout:
 *
 *   "stream1", lastId, firstId, maxDeletedId, entriesAdded, length, nodeCount
 *   per node: master, bytes, masterFieldCount, fields…, entryCount,
 *             per entry: id, "0" live / "1" deleted, valCount, field, value, …
 *   groupCount
 *   per group: name, lastId, entriesRead, consumerCount,
 *              per consumer: name, seenTime
 *              pelCount, per pending entry: id, consumer name, deliveryTime, deliveryCount
 *
 * Node boundaries and listpack sizes are kept as they are (they show in
 * XINFO STREAM and decide `~` trimming), so a restored stream behaves
 * exactly like the original on every replica.
 */
import { Consumer, ConsumerGroup, Nack, sortedGroups } from './stream-groups.js';
import type { StreamId } from './stream-id.js';
import { StreamNode, StreamValue } from './stream.js';

const MAGIC = 'stream1';

/** A uint64 / int64 counter as text, and back (number when safe). */
function num(s: string): number | bigint {
  if (!/^-?[0-9]+$/.test(s)) throw new Error(`bad number ${JSON.stringify(s)} in a stream snapshot`);
  const b = BigInt(s);
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

function safe(s: string): number {
  const v = num(s);
  if (typeof v !== 'number') throw new Error(`count ${s} out of range in a stream snapshot`);
  return v;
}

function isId(s: string): StreamId {
  if (s.length !== 16) throw new Error(`bad stream ID (${s.length} bytes) in a snapshot`);
  return s;
}

export function streamForEachItem(s: StreamValue, fn: (item: string) => void): void {
  fn(MAGIC);
  fn(s.lastId);
  fn(s.firstId);
  fn(s.maxDeletedId);
  fn(String(s.entriesAdded));
  fn(String(s.length));
  fn(String(s.nodeCount));
  for (let n = s.head; n < s.nodes.length; n++) {
    const node = s.nodes[n]!;
    fn(node.master);
    fn(String(node.bytes));
    fn(String(node.masterFields.length));
    for (const f of node.masterFields) fn(f);
    fn(String(node.ids.length));
    for (let e = 0; e < node.ids.length; e++) {
      fn(node.ids[e]!);
      fn(node.dead[e] ? '1' : '0');
      const vals = node.entry(e);
      fn(String(vals.length));
      for (const v of vals) fn(v);
    }
  }
  const groups = sortedGroups(s.groups);
  fn(String(groups.length));
  for (const [name, g] of groups) {
    fn(name);
    fn(g.lastId);
    fn(String(g.entriesRead));
    const consumers = g.sortedConsumers();
    fn(String(consumers.length));
    for (const c of consumers) {
      fn(c.name);
      fn(String(c.seenTime));
    }
    fn(String(g.pel.size));
    for (const id of g.pelOrder) {
      const nack = g.pel.get(id)!;
      fn(id);
      fn(nack.consumer?.name ?? '');
      fn(String(nack.deliveryTime));
      fn(String(nack.deliveryCount));
    }
  }
}

/** Rebuilds a stream from its snapshot items; throws on malformed input. */
export function streamFromItems(items: string[]): StreamValue {
  let i = 0;
  const next = (): string => {
    if (i >= items.length) throw new Error('stream snapshot items end early');
    return items[i++]!;
  };
  if (next() !== MAGIC) throw new Error('not a stream snapshot (bad magic)');
  const s = new StreamValue();
  s.lastId = isId(next());
  s.firstId = isId(next());
  s.maxDeletedId = isId(next());
  s.entriesAdded = num(next());
  const length = safe(next());
  const nodeCount = safe(next());
  let live = 0;
  for (let n = 0; n < nodeCount; n++) {
    const master = isId(next());
    const bytes = safe(next());
    const nf = safe(next());
    const fields: string[] = [];
    for (let k = 0; k < nf; k++) fields.push(next());
    const node = new StreamNode(master, fields);
    node.bytes = bytes;
    const ne = safe(next());
    for (let e = 0; e < ne; e++) {
      node.ids.push(isId(next()));
      const dead = next() === '1';
      node.dead.push(dead);
      if (dead) node.deleted++;
      else node.live++;
      const nv = safe(next());
      const vals: string[] = [];
      for (let k = 0; k < nv; k++) vals.push(next());
      node.vals.push(vals);
    }
    live += node.live;
    s.nodes.push(node);
  }
  if (live !== length) throw new Error(`stream snapshot says ${length} entries but holds ${live}`);
  s.length = length;
  const ng = safe(next());
  if (ng > 0) s.groups = new Map();
  for (let k = 0; k < ng; k++) {
    const name = next();
    const g = new ConsumerGroup(isId(next()), num(next()));
    const nc = safe(next());
    for (let c = 0; c < nc; c++) {
      const cname = next();
      g.consumers.set(cname, new Consumer(cname, safe(next())));
    }
    const np = safe(next());
    for (let p = 0; p < np; p++) {
      const id = isId(next());
      const cname = next();
      const owner = g.consumers.get(cname);
      if (owner === undefined) throw new Error(`pending entry of unknown consumer ${JSON.stringify(cname)} in a stream snapshot`);
      g.addNack(id, new Nack(owner, safe(next()), num(next())));
    }
    s.groups!.set(name, g);
  }
  if (i !== items.length) throw new Error(`stream snapshot has ${items.length - i} items too many`);
  return s;
}
