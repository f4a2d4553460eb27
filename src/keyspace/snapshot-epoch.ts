/**
 * Copy-on-write at key level, for snapshots that never stop the world.
 *
 * When a snapshot of applied index i begins, the keyspace opens an epoch: the
 * walker then visits the live Map a chunk at a time, between other work.
 * Before any key changes (set, delete, TTL change, in-place change of a
 * collection through Keyspace.getMutable) the keyspace calls save(key): the
 * first time in the epoch, the key's value and TTL as of index i (or its
 * absence) go into the overlay, a collection deep-copied. The walker takes a
 * key's value from the overlay when it has one, and at the end emits the
 * saved keys it never reached (deleted before the walk got there).
 *
 * What the walker emitted from the live map is unchanged since i, so a key
 * saved after its visit is emitted once more with the same value (the
 * loader's last-wins makes that harmless). A collection about to change in
 * place is not copied when the epoch has a sink: it is written to the
 * snapshot right then (its contents are still those at i) and marked done;
 * collections the walk already emitted are remembered and left alone. FLUSHALL during an epoch
 * detaches it: the keyspace swaps in fresh maps and the walker finishes the
 * old ones, which nothing changes any more.
 *
 * Memory overhead: one overlay entry per key changed during the walk, plus
 * copies of the collections changed before the walk reached them.
 */
import type { Collection, Value } from './keyspace.js';
import type { KeyTable } from './key-table.js';

/** A key as of the snapshot's index. */
export interface SavedKey {
  value: Value;
  /** Absolute expiry in ms, or undefined. */
  expireAt: number | undefined;
}

/** The key did not exist at the snapshot's index. */
const ABSENT = 0;
/** The key's snapshot value has been emitted already. */
const EMITTED = 1;

/** A string saved without a TTL is held as itself (no wrapper object per write). */
type OverlayEntry = string | SavedKey | typeof ABSENT | typeof EMITTED;

export type EmitRecord = (key: string, value: Value, expireAt: number | undefined) => void;

export class SnapshotEpoch {
  private readonly overlay = new Map<string, OverlayEntry>();
  private readonly emittedCollections = new Set<Collection>();
  private readonly it: Iterator<[string, number]>;
  private rest: Iterator<[string, OverlayEntry]> | undefined;
  private detached = false;
  private walkDone = false;
  /** Records emitted so far (duplicates included). */
  emitted = 0;

  constructor(
    readonly index: number,
    private readonly data: KeyTable,
    private readonly expires: Map<string, number>,
  ) {
    this.it = data.entries();
  }

  /**
   * Where a collection about to change is written at once (the snapshot
   * writer's record function); without one it is cloned into the overlay.
   */
  sink: EmitRecord | undefined;

  /** Keys whose old value is held (for INFO and the memory bound tests). */
  get overlaySize(): number {
    return this.overlay.size;
  }

  /** Called by the keyspace before `key` changes. */
  save(key: string): void {
    // Once the walk is over every key is emitted or held: nothing more to save.
    if (this.detached || this.walkDone || this.overlay.has(key)) return;
    const v = this.data.get(key);
    if (v === undefined) {
      this.overlay.set(key, ABSENT);
    } else if (typeof v === 'string') {
      const at = this.expires.size === 0 ? undefined : this.expires.get(key);
      this.overlay.set(key, at === undefined ? v : { value: v, expireAt: at });
    } else if (this.emittedCollections.has(v)) {
      this.overlay.set(key, EMITTED);
    } else if (this.sink !== undefined) {
      // Written out now, as it is, instead of copied: encoding a big
      // collection costs far less than cloning it, and holds no second copy.
      this.overlay.set(key, EMITTED);
      this.sink(key, v, this.expires.get(key));
      this.emitted++;
    } else {
      this.overlay.set(key, { value: v.clone(), expireAt: this.expires.get(key) });
    }
  }

  /** FLUSHALL: the keyspace now uses new maps; these stay as they were. */
  detach(): void {
    this.detached = true;
  }

  /**
   * Emits up to `max` records; returns true once every key of the snapshot
   * has been emitted. A collection value must be serialised by `emit` before
   * it returns (it may change in place afterwards).
   */
  step(max: number, emit: EmitRecord): boolean {
    let n = 0;
    if (!this.walkDone) {
      const overlay = this.overlay;
      const expires = this.expires;
      while (n < max) {
        const r = this.it.next();
        if (r.done) {
          this.walkDone = true;
          break;
        }
        const [key, slot] = r.value;
        const live = this.data.valueAt(slot);
        const o = overlay.size === 0 ? undefined : overlay.get(key);
        if (o === undefined) {
          if (typeof live !== 'string') this.emittedCollections.add(live);
          emit(key, live, expires.size === 0 ? undefined : expires.get(key));
        } else if (o === ABSENT || o === EMITTED) {
          continue;
        } else {
          overlay.set(key, EMITTED);
          if (typeof o === 'string') emit(key, o, undefined);
          else emit(key, o.value, o.expireAt);
        }
        n++;
        this.emitted++;
      }
      if (!this.walkDone) return false;
    }
    // Keys saved but never reached by the walk (deleted before it got there),
    // and keys saved after their visit (emitted again, same value). The
    // overlay no longer grows (save() stops once the walk is done).
    this.rest ??= this.overlay.entries();
    while (n < max) {
      const r = this.rest.next();
      if (r.done) {
        this.overlay.clear();
        this.emittedCollections.clear();
        return true;
      }
      const [key, o] = r.value;
      if (o === ABSENT || o === EMITTED) continue;
      if (typeof o === 'string') emit(key, o, undefined);
      else emit(key, o.value, o.expireAt);
      n++;
      this.emitted++;
    }
    return false;
  }
}
