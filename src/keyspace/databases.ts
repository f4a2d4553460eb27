/**
 * Redis's numbered databases: `count` keyspaces, db 0 … count-1, fixed at
 * start (the `databases` option). Each is a Keyspace of its own; a client
 * holds a reference to the one it SELECTed, so a command in db 0 costs no
 * more than before databases existed.
 *
 * SWAPDB swaps the contents of two Keyspace objects (Keyspace.swapWith),
 * not the objects: references clients hold stay valid and now see the
 * other data, as Redis's clients see `db->dict` swapped under them.
 */
import { Keyspace } from './keyspace.js';
import type { SnapshotEpoch } from './snapshot-epoch.js';

/** Redis's default for the `databases` option. */
export const DEFAULT_DATABASES = 16;

export class Databases {
  readonly dbs: readonly Keyspace[];

  /** `make` builds each database's keyspace (tests pass subclasses that watch it). */
  constructor(
    readonly count: number = DEFAULT_DATABASES,
    make: (i: number) => Keyspace = () => new Keyspace(),
  ) {
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`databases must be a positive integer, not ${count}`);
    const dbs: Keyspace[] = [];
    for (let i = 0; i < count; i++) dbs.push(make(i));
    this.dbs = dbs;
  }

  /** Database `i` (callers have checked 0 <= i < count). */
  get(i: number): Keyspace {
    return this.dbs[i]!;
  }

  /** Keys in every database (expired ones not yet deleted included). */
  get size(): number {
    let n = 0;
    for (const db of this.dbs) n += db.size;
    return n;
  }

  /** INFO stats counters, summed over the databases. */
  get hits(): number {
    let n = 0;
    for (const db of this.dbs) n += db.hits;
    return n;
  }

  get misses(): number {
    let n = 0;
    for (const db of this.dbs) n += db.misses;
    return n;
  }

  get evicted(): number {
    let n = 0;
    for (const db of this.dbs) n += db.evicted;
    return n;
  }

  /** The dataset size maxmemory counts (used-memory.ts), summed over the databases. */
  usedMemory(): number {
    let n = 0;
    for (const db of this.dbs) n += db.usedMemory();
    return n;
  }

  get expired(): number {
    let n = 0;
    for (const db of this.dbs) n += db.expired;
    return n;
  }

  /** CONFIG RESETSTAT. */
  resetStats(): void {
    for (const db of this.dbs) {
      db.hits = 0;
      db.misses = 0;
      db.expired = 0;
      db.evicted = 0;
    }
  }

  /** Every database keeps the per-hash-slot key index from now on (a node of a sharded cluster). */
  indexSlots(): void {
    for (const db of this.dbs) db.indexSlots();
  }

  /** FLUSHALL, and before loading a snapshot. */
  flush(): void {
    for (const db of this.dbs) db.flush();
  }

  /** SWAPDB a b. */
  swap(a: number, b: number): void {
    if (a !== b) this.dbs[a]!.swapWith(this.dbs[b]!);
  }

  /**
   * Opens a copy-on-write epoch on every database at applied index `index`
   * (see snapshot-epoch.ts); epochs[i] walks database i as it is now.
   */
  beginSnapshot(index: number): SnapshotEpoch[] {
    const epochs: SnapshotEpoch[] = [];
    try {
      for (const db of this.dbs) epochs.push(db.beginSnapshot(index));
    } catch (e) {
      this.endSnapshot(epochs);
      throw e;
    }
    return epochs;
  }

  /** Closes the epochs beginSnapshot opened (wherever SWAPDB has moved them since). */
  endSnapshot(epochs: readonly SnapshotEpoch[]): void {
    for (const db of this.dbs) for (const e of epochs) db.endSnapshot(e);
  }
}
