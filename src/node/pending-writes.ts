/**
 * The leader's writes in flight: proposed, not yet applied. Indexes only
 * grow, and entries are applied in index order, so this is a queue (an
 * array with a moving head), not a Map: no hashing and no table rehashing
 * per write, which in a SET -P 16 profile showed as tables promoted to the
 * old generation.
 */
import type { Proposal } from './state-machine.js';

/** Dropped slots are compacted away once there are this many and they are half the array. */
const COMPACT_AT = 1024;

export class PendingWrites<P extends Proposal> {
  private items: (P | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  /**
   * Adds a write proposed at p.index. Writes already queued at that index or
   * later were proposed in an earlier term at indexes this leader's log no
   * longer holds (it appends after its last entry). Their fate is not known:
   * another node may still hold such an entry and, as a later leader, commit
   * it. They are handed to `displaced`.
   */
  add(p: P, displaced: (p: P) => void): void {
    const items = this.items;
    while (items.length > this.head && items[items.length - 1]!.index >= p.index) displaced(items.pop()!);
    items.push(p);
  }

  /**
   * Removes and returns the write at `index`, or undefined. Writes at lower
   * indexes were skipped by the apply (a snapshot replaced those entries):
   * they are handed to `skipped`.
   */
  take(index: number, skipped: (p: P) => void): P | undefined {
    const items = this.items;
    while (this.head < items.length) {
      const p = items[this.head]!;
      if (p.index > index) return undefined;
      items[this.head++] = undefined;
      this.compact();
      if (p.index === index) return p;
      skipped(p);
    }
    return undefined;
  }

  /** Removes the writes from the oldest on for as long as `pred` holds, handing each to `fn`. */
  drainWhile(pred: (p: P) => boolean, fn: (p: P) => void): void {
    const items = this.items;
    while (this.head < items.length && pred(items[this.head]!)) {
      const p = items[this.head]!;
      items[this.head++] = undefined;
      fn(p);
    }
    this.compact();
  }

  /** Removes every write, oldest first. */
  drain(fn: (p: P) => void): void {
    const items = this.items;
    this.items = [];
    for (let i = this.head; i < items.length; i++) fn(items[i]!);
    this.head = 0;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
