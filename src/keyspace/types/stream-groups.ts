/**
 * Consumer groups of a stream (t_stream.c streamCG, streamConsumer,
 * streamNACK): a group's last delivered ID and read counter, its pending
 * entries list (PEL: ID → NACK, ordered by ID), and its consumers, each
 * with its own ordered PEL sharing the group's NACK objects.
 *
 * Times (delivery time, seen time) are the log entry's time (ctx.now) of
 * the command that set them, so every replica holds the same PEL and makes
 * the same min-idle decisions (docs/decisions.md).
 */
import { SkipList, type ZNode } from './skiplist.js';
import type { StreamId } from './stream-id.js';

/**
 * An ordered set of IDs: a skip list (all scores 0, IDs as members, whose
 * code-unit order is ID order) for O(log n) insert, delete and seek, and
 * ordered walks from any point.
 */
export class IdSet {
  readonly sl = new SkipList();

  get size(): number {
    return this.sl.length;
  }

  add(id: StreamId): void {
    this.sl.insert(0, id);
  }

  delete(id: StreamId): boolean {
    return this.sl.delete(0, id);
  }

  first(): ZNode | null {
    return this.sl.first;
  }

  last(): ZNode | null {
    return this.sl.tail;
  }

  /** The first ID >= id (raxSeek ">="). */
  seek(id: StreamId): ZNode | null {
    const sl = this.sl;
    let x = sl.header;
    for (let i = sl.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.next[i]!) !== null && f.member < id) x = f;
    }
    return x.next[0]!;
  }

  *[Symbol.iterator](): IterableIterator<StreamId> {
    for (let x = this.sl.first; x !== null; x = x.next[0]!) yield x.member;
  }
}

export class Consumer {
  readonly pel = new IdSet();
  constructor(
    readonly name: string,
    /** Last time it read or claimed (ctx.now), for XINFO CONSUMERS idle. */
    public seenTime: number,
  ) {}
}

export class Nack {
  constructor(
    public consumer: Consumer | null,
    /** Last delivery (ctx.now of the delivering command, or XCLAIM's IDLE/TIME). */
    public deliveryTime: number,
    /** A uint64 in Redis: a bigint only when RETRYCOUNT set it beyond 2^53. */
    public deliveryCount: number | bigint,
  ) {}

  bumpCount(): void {
    this.deliveryCount = typeof this.deliveryCount === 'number' ? this.deliveryCount + 1 : BigInt.asUintN(64, this.deliveryCount + 1n);
  }
}

/** SCG_INVALID_ENTRIES_READ. */
export const INVALID_ENTRIES_READ = -1;

export class ConsumerGroup {
  /** The group PEL: ID → NACK, with `order` for ordered walks. */
  readonly pel = new Map<StreamId, Nack>();
  readonly pelOrder = new IdSet();
  readonly consumers = new Map<string, Consumer>();

  constructor(
    public lastId: StreamId,
    /** Logical read counter, INVALID_ENTRIES_READ when unknown (a bigint beyond 2^53). */
    public entriesRead: number | bigint,
  ) {}

  /** Consumers in rax order (bytewise by name). */
  sortedConsumers(): Consumer[] {
    return [...this.consumers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Adds a NACK for an ID that has none. */
  addNack(id: StreamId, nack: Nack): void {
    this.pel.set(id, nack);
    this.pelOrder.add(id);
    nack.consumer?.pel.add(id);
  }

  /** Drops the NACK of id from the group and its consumer; false when there is none. */
  dropNack(id: StreamId): boolean {
    const nack = this.pel.get(id);
    if (nack === undefined) return false;
    this.pel.delete(id);
    this.pelOrder.delete(id);
    nack.consumer?.pel.delete(id);
    return true;
  }

  /** Moves a NACK to another consumer (its PEL follows). */
  reassign(id: StreamId, nack: Nack, to: Consumer): void {
    if (nack.consumer === to) return;
    nack.consumer?.pel.delete(id);
    nack.consumer = to;
    to.pel.add(id);
  }

  /** streamDelConsumer: its pending entries leave the group PEL too. */
  deleteConsumer(c: Consumer): void {
    for (const id of c.pel) {
      this.pel.delete(id);
      this.pelOrder.delete(id);
    }
    this.consumers.delete(c.name);
  }

  clone(): ConsumerGroup {
    const g = new ConsumerGroup(this.lastId, this.entriesRead);
    const map = new Map<Consumer, Consumer>();
    for (const c of this.consumers.values()) {
      const n = new Consumer(c.name, c.seenTime);
      map.set(c, n);
      g.consumers.set(n.name, n);
    }
    for (const id of this.pelOrder) {
      const nack = this.pel.get(id)!;
      g.addNack(id, new Nack(nack.consumer === null ? null : map.get(nack.consumer)!, nack.deliveryTime, nack.deliveryCount));
    }
    return g;
  }
}

/** Groups in rax order (bytewise by name). */
export function sortedGroups(groups: Map<string, ConsumerGroup> | undefined): [string, ConsumerGroup][] {
  if (groups === undefined) return [];
  return [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
