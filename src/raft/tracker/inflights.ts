/**
 * The MsgApps sent to one follower and not yet acknowledged, as a ring of
 * (last index, bytes), bounded both by count and by total bytes. The ring
 * grows on demand up to `size` so idle followers cost little.
 */
import { invariant } from '../errors.js';

export class Inflights {
  private start = 0;
  private n = 0;
  private totalBytes = 0;
  private indexes: number[] = [];
  private sizes: number[] = [];

  constructor(
    /** Most messages in flight. */
    readonly size: number,
    /** Most bytes in flight; 0 means no byte limit. */
    readonly maxBytes: number,
  ) {
    invariant(size > 0, 'inflights size must be positive');
  }

  /** Records a MsgApp whose last entry is `index`. Indexes must be added in increasing order. */
  add(index: number, bytes: number): void {
    invariant(!this.full(), 'cannot add into a Full inflights');
    if (this.n === this.indexes.length) this.grow();
    let next = this.start + this.n;
    if (next >= this.indexes.length) next -= this.indexes.length;
    this.indexes[next] = index;
    this.sizes[next] = bytes;
    this.n++;
    this.totalBytes += bytes;
  }

  /** Frees every message whose last index is <= to (they were acknowledged). */
  freeLE(to: number): void {
    if (this.n === 0 || to < (this.indexes[this.start] as number)) return;
    let idx = this.start;
    let i = 0;
    let bytes = 0;
    for (; i < this.n; i++) {
      if (to < (this.indexes[idx] as number)) break;
      bytes += this.sizes[idx] as number;
      idx++;
      if (idx >= this.indexes.length) idx = 0;
    }
    this.n -= i;
    this.totalBytes -= bytes;
    this.start = idx;
    // Nothing in flight: start over at 0 so the ring stays compact.
    if (this.n === 0) this.start = 0;
  }

  full(): boolean {
    return this.n === this.size || (this.maxBytes !== 0 && this.totalBytes >= this.maxBytes);
  }

  count(): number {
    return this.n;
  }

  bytes(): number {
    return this.totalBytes;
  }

  reset(): void {
    this.start = 0;
    this.n = 0;
    this.totalBytes = 0;
  }

  private grow(): void {
    const newSize = Math.min(Math.max(this.indexes.length * 2, 1), this.size);
    // Unroll the ring so it can be extended linearly.
    const idx: number[] = [];
    const sz: number[] = [];
    for (let i = 0, j = this.start; i < this.n; i++) {
      idx.push(this.indexes[j] as number);
      sz.push(this.sizes[j] as number);
      j++;
      if (j >= this.indexes.length) j = 0;
    }
    while (idx.length < newSize) {
      idx.push(0);
      sz.push(0);
    }
    this.indexes = idx;
    this.sizes = sz;
    this.start = 0;
  }
}
