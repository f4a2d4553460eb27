/**
 * The in-memory keyspace: the Raft state machine's data.
 *
 * Keys and string values are latin1 JS strings (one char per byte), which
 * are binary safe and cheaper than Buffers (no per-value ArrayBuffer); the
 * table stores the short ones packed as bytes (key-table.ts) and gives
 * strings back.
 * Expiry times live in their own map (like Redis's `expires` dict) so keys
 * without a TTL pay nothing for it.
 *
 * Time is always passed in: reads use the local clock, writes use the time
 * carried by their log entry, so every replica decides expiry the same way.
 * Reads never delete: an expired key is merely invisible. Writes delete an
 * expired key they touch (deterministic, since `now` comes from the entry).
 *
 * Every mutation goes through set/delete/flush here, so the copy-on-write
 * snapshot (a later issue) can hook them in one place.
 */
import { SnapshotEpoch } from './snapshot-epoch.js';
import { AccessClocks } from './access-clock.js';
import { KeyTable, type ByteSpan } from './key-table.js';
import { UsedMemory } from './used-memory.js';

/** lookupReadBytes's answer for a string value stored as bytes (Keyspace.inline says where). */
export const INLINE: unique symbol = Symbol('inline');
const NO_BYTES = new Uint8Array(0);
/**
 * A read's `now` not read yet (CommandDef.lazyNow): lookupReadBytes reads
 * the clock only when the key has a TTL. No real time is negative.
 */
export const NOW_UNREAD = -1;

/**
 * A collection value (hash, list, set, sorted set). Commands mutate it in
 * place, but only after `Keyspace.getMutable`, which lets a snapshot in
 * progress save a copy first (see snapshot-epoch.ts). Each type lives in
 * src/keyspace/types/ and is registered in types/index.ts.
 */
export interface Collection {
  readonly type: 'hash' | 'list' | 'set' | 'zset' | 'stream';
  /** A deep copy that shares nothing mutable with this value. */
  clone(): Collection;
  /** Flat snapshot items (see types/index.ts for each type's layout). */
  items(): Iterable<string>;
  /** The same items through a callback: the snapshot writer's fast path (no generator). */
  forEachItem(fn: (item: string) => void): void;
}

/** Strings are immutable latin1 JS strings; everything else is a Collection. */
export type Value = string | Collection;


export type ValueType = 'string' | Collection['type'] | 'none';

/** TYPE's answer for a value (undefined: no key). */
export function valueType(v: Value | undefined): ValueType {
  return v === undefined ? 'none' : typeof v === 'string' ? 'string' : v.type;
}

/**
 * What the keyspace tells about changes it makes itself (keyspace
 * notifications): a key deleted because its TTL passed, a key added
 * (both only from writes, applied entries), a read that found no key.
 */
export interface KeyspaceHooks {
  expired(key: string): void;
  added(key: string): void;
  /** A command's read lookup found no key (lookupRead; on the node that served the read). */
  missed(key: string): void;
}

export class Keyspace {
  /** Set by the engine (keyspace notifications); undefined in tools and tests that need none. */
  hooks: KeyspaceHooks | undefined;
  /** Keys → values and access clocks (key-table.ts). */
  private data = new KeyTable();
  private expires = new Map<string, number>();
  /** The snapshot being written, if any (copy-on-write; see snapshot-epoch.ts). */
  private epoch: SnapshotEpoch | undefined;
  /** What keyTable answers: a new object on every flush. */
  private tableToken: object = {};
  private randomIt: Iterator<string> | undefined;
  /** Where lookupReadBytes's INLINE value is. */
  readonly inline: ByteSpan = { bytes: NO_BYTES, view: new DataView(NO_BYTES.buffer), start: 0, end: 0 };
  /** INFO stats keyspace_hits / keyspace_misses (node-local counters, not state; CONFIG RESETSTAT clears them). */
  hits = 0;
  misses = 0;
  /** INFO stats expired_keys: keys deleted because their TTL passed (node-local, like hits). */
  expired = 0;
  /** INFO stats evicted_keys: keys deleted by eviction entries (the same on every replica). */
  evicted = 0;
  /** The dataset's size for maxmemory (used-memory.ts): deterministic, the same on every replica. */
  memory = new UsedMemory();
  /** LRU / LFU access clocks (access-clock.ts, kept in the table's slots): node-local. */
  clocks = new AccessClocks(this.data);
  private readonly getRaw = (key: string): Value | undefined => this.data.get(key);

  /** The bytes the dataset counts for maxmemory (INFO used_memory_dataset). */
  usedMemory(): number {
    return this.memory.total(this.getRaw);
  }

  /** The bytes one key counts for (0: no such key). */
  keyBytes(key: string): number {
    return this.memory.keyBytes(key, this.data.get(key));
  }

  /** RESTORE … IDLETIME / FREQ: sets the key's access clock. */
  setIdle(key: string, seconds: number): void {
    this.clocks.setIdle(key, seconds);
  }

  setFreq(key: string, freq: number): void {
    this.clocks.setFreq(key, freq);
  }

  /** Number of keys, including expired ones not yet deleted (as DBSIZE in Redis). */
  get size(): number {
    return this.data.size;
  }

  get expiresCount(): number {
    return this.expires.size;
  }

  /** The value stored under the key, expired or not (sharding ships a key as stored; never counts a hit or deletes). */
  peek(key: string): Value | undefined {
    return this.data.get(key);
  }

  isExpired(key: string, now: number): boolean {
    const at = this.expires.get(key);
    return at !== undefined && at <= now;
  }

  /** The value of a live key, for reads; never deletes. */
  get(key: string, now: number): Value | undefined {
    const v = this.data.get(key);
    if (v === undefined) return undefined;
    if (this.expires.size !== 0 && this.isExpired(key, now)) return undefined;
    return v;
  }

  /**
   * A command's read lookup (Redis's lookupKeyRead): get, counted as a hit
   * or a miss. Lookups that Redis does not count (internal ones, MEMORY
   * USAGE, SCAN's walk, write lookups) use get / getForWrite.
   */
  lookupRead(key: string, now: number): Value | undefined {
    // get + countRead with one lookup of the key (the GET path).
    const data = this.data;
    const slot = data.slotOf(key);
    if (slot === undefined || (this.expires.size !== 0 && this.isExpired(key, now))) {
      this.misses++;
      this.hooks?.missed(key);
      return undefined;
    }
    this.hits++;
    this.clocks.touch(slot);
    return data.valueAt(slot);
  }

  /**
   * lookupRead for a reply that can take bytes (GET, MGET): the same
   * lookup, counting and clock, but a string value stored as bytes in the
   * table is not made into a string: INLINE is returned and `inline` points
   * at its bytes (copy them before the keyspace next changes). Otherwise the
   * value, or undefined on a miss, as lookupRead. `now` may be NOW_UNREAD:
   * the clock is read here if the key has a TTL.
   */
  lookupReadBytes(key: string, now: number): Value | typeof INLINE | undefined {
    const data = this.data;
    const slot = data.slotOf(key);
    if (slot === undefined || (this.expires.size !== 0 && this.isExpired(key, now === NOW_UNREAD ? Date.now() : now))) {
      this.misses++;
      this.hooks?.missed(key);
      return undefined;
    }
    this.hits++;
    this.clocks.touch(slot);
    return data.valueBytes(slot, this.inline) ? INLINE : data.valueAt(slot);
  }

  /**
   * Counts a lookup a write made as a read, where Redis reads with
   * lookupKeyRead inside a write (the source keys of SINTERSTORE and COPY,
   * the old value of GETSET, SET … GET, GETDEL, GETEX).
   */
  countRead<V extends Value | undefined>(v: V, key: string): V {
    if (v !== undefined) {
      this.hits++;
      const slot = this.data.slotOf(key);
      if (slot !== undefined) this.clocks.touch(slot);
      return v;
    }
    this.misses++;
    this.hooks?.missed(key);
    return v;
  }

  /**
   * The value of a live key for a write that turns out to change nothing
   * (UnchangedCheck): its access clock is touched as a write's lookup
   * touches it (Redis's lookupKeyWrite), but nothing is deleted or counted.
   * Null for a key whose TTL has passed but which is still stored: Redis's
   * write lookup would delete it (an entry here), so the caller cannot
   * answer without one.
   */
  lookupUnchanged(key: string, now: number): Value | undefined | null {
    const slot = this.data.slotOf(key);
    if (slot === undefined) return undefined;
    if (this.expires.size !== 0 && this.isExpired(key, now)) return null;
    this.clocks.touch(slot);
    return this.data.valueAt(slot);
  }

  /** The value of a key for a write: an expired key is deleted first. */
  getForWrite(key: string, now: number): Value | undefined {
    const slot = this.data.slotOf(key);
    if (slot === undefined) return undefined;
    if (this.expires.size !== 0 && this.isExpired(key, now)) {
      this.delete(key);
      this.expired++;
      this.hooks?.expired(key);
      return undefined;
    }
    this.clocks.touch(slot);
    return this.data.valueAt(slot);
  }

  /** Active expiry: deletes the key if its TTL has passed at `now`; counted in expired_keys. */
  deleteIfExpired(key: string, now: number): boolean {
    if (!this.isExpired(key, now) || !this.delete(key)) return false;
    this.expired++;
    this.hooks?.expired(key);
    return true;
  }

  /**
   * The value of a key that the caller is about to mutate in place (a
   * collection): like getForWrite, and lets a snapshot in progress save the
   * old contents first. Every in-place change must come through here.
   */
  getMutable(key: string, now: number): Value | undefined {
    const v = this.getForWrite(key, now);
    if (v !== undefined) {
      this.beforeChange(key);
      if (typeof v !== 'string') this.memory.mutated(key);
    }
    return v;
  }

  /** The copy-on-write hook: a snapshot in progress saves the key's old value first. */
  private beforeChange(key: string): void {
    if (this.epoch !== undefined) this.epoch.save(key);
  }

  /**
   * Opens a snapshot epoch of the current state (applied index `index`).
   * Until endSnapshot, the returned epoch's step() emits exactly the keys
   * and TTLs as they are now, however the keyspace changes meanwhile.
   */
  beginSnapshot(index: number): SnapshotEpoch {
    if (this.epoch !== undefined) throw new Error('a snapshot is already being written');
    this.epoch = new SnapshotEpoch(index, this.data, this.expires);
    return this.epoch;
  }

  /** Closes the epoch (only `epoch`'s, when given: a newer one stays open). */
  endSnapshot(epoch?: SnapshotEpoch): void {
    if (epoch === undefined || this.epoch === epoch) this.epoch = undefined;
  }

  /** Bulk load (snapshot restore): the caller has flushed first. */
  load(key: string, value: Value, expireAt: number | undefined): void {
    const data = this.data;
    const slot = data.slotOf(key);
    if (slot === undefined) {
      this.memory.replaced(key, undefined, value);
      this.clocks.created(data.add(key, value));
    } else {
      this.memory.replaced(key, data.valueAt(slot), value);
      data.setAt(slot, value);
      this.clocks.created(slot);
    }
    if (expireAt !== undefined) this.expires.set(key, expireAt);
    else this.expires.delete(key);
  }

  has(key: string, now: number): boolean {
    return this.get(key, now) !== undefined;
  }

  /** Absolute expiry in ms, or undefined when the key has none (callers check liveness first). */
  expireAt(key: string): number | undefined {
    return this.expires.get(key);
  }

  /**
   * SET and MSET without options: sets the value and clears the TTL. An
   * expired key it replaces counts in expired_keys, as Redis's lookupKeyWrite
   * deletes it first.
   */
  replace(key: string, value: Value, now: number): void {
    if (this.expires.size !== 0) {
      const at = this.expires.get(key);
      if (at !== undefined && at <= now) {
        this.delete(key);
        this.expired++;
        this.hooks?.expired(key);
      }
    }
    this.set(key, value);
  }

  /**
   * Deletes a key that was just given an expiry in the past (SET … EXAT/PXAT):
   * Redis stores it and its next access deletes it as expired; the same
   * outcome, counted in expired_keys.
   */
  deleteExpiredNow(key: string): void {
    if (!this.delete(key)) return;
    this.expired++;
    this.hooks?.expired(key);
  }

  /** Sets a value; the TTL is cleared unless keepTtl. */
  set(key: string, value: Value, keepTtl = false): void {
    if (this.epoch !== undefined) this.epoch.save(key);
    const data = this.data;
    const slot = data.slotOf(key);
    if (slot === undefined) {
      this.memory.replaced(key, undefined, value);
      this.clocks.created(data.add(key, value));
      if (this.hooks !== undefined) this.hooks.added(key);
    } else {
      // A SET over a short string that is no integer needs only its length (no string made from the table's bytes).
      const oldLength = typeof value === 'string' ? data.nonIntStringLength(slot) : -1;
      if (oldLength >= 0) this.memory.replacedNonIntString(oldLength, value as string);
      else this.memory.replaced(key, data.valueAt(slot), value);
      data.setAt(slot, value);
      this.clocks.touch(slot);
    }
    if (!keepTtl && this.expires.size !== 0) this.expires.delete(key);
  }

  /**
   * replace(key, value, now) for SET applied from its entry's bytes (the
   * key's `klen` (≤ INLINE_MAX) bytes at `kstart` of `src`, the value's
   * `vlen` (1..INLINE_MAX) at `vstart`, its first byte not '-' or a digit,
   * so it is no integer): no string made. Only where nothing else
   * needs the key as a string: no key with a TTL in this database (replace
   * looks the key up in `expires`), no snapshot being written (its
   * copy-on-write saves the key), and an old value, if any, that is an
   * inline string and no integer (its size is its length). Otherwise, and
   * when the table cannot store the bytes, returns false having changed
   * nothing: the caller applies the SET from strings. The caller also makes
   * sure no keyspace event is wanted (hooks.added).
   */
  replaceFromBytes(src: DataView, kstart: number, klen: number, vstart: number, vlen: number): boolean {
    if (this.epoch !== undefined || this.expires.size !== 0) return false;
    const data = this.data;
    const slot = data.slotOfBytes(src, kstart, klen);
    if (slot < 0) {
      const s = data.addBytes(slot, src, kstart, klen, vstart, vlen);
      if (s < 0) return false;
      this.memory.addedNonIntString(klen, vlen);
      this.clocks.created(s);
      return true;
    }
    const oldLength = data.nonIntStringLength(slot);
    if (oldLength < 0 || !data.setAtBytes(slot, src, vstart, vlen)) return false;
    this.memory.replacedNonIntStrings(oldLength, vlen);
    this.clocks.touch(slot);
    return true;
  }

  /** Sets an absolute expiry on an existing key. */
  setExpire(key: string, at: number): void {
    if (this.epoch !== undefined) this.epoch.save(key);
    this.expires.set(key, at);
  }

  /** Removes the TTL; true if there was one. */
  persist(key: string): boolean {
    if (this.epoch !== undefined && this.expires.has(key)) this.epoch.save(key);
    return this.expires.delete(key);
  }

  delete(key: string): boolean {
    // Outside a snapshot (almost always) this costs one lookup, as before snapshots existed.
    if (!this.data.has(key)) return false;
    if (this.epoch !== undefined) this.epoch.save(key);
    const old = this.data.delete(key)!;
    this.memory.removed(key, old);
    if (this.expires.size !== 0) this.expires.delete(key);
    return true;
  }

  /**
   * RENAME: moves the value and TTL of `from` to `to`, replacing `to`.
   * Callers have checked that `from` is live and the two names differ.
   */
  rename(from: string, to: string): void {
    const v = this.data.get(from);
    if (v === undefined) return;
    const at = this.expires.get(from);
    this.delete(to);
    this.set(to, v);
    if (at !== undefined) this.setExpire(to, at);
    this.delete(from);
  }

  /**
   * COPY: `to` gets the value and TTL of `from`, replacing whatever it held.
   * String values are immutable JS strings, so sharing them is a copy; a
   * collection is cloned (commands mutate collections in place).
   */
  copy(from: string, to: string): void {
    const v = this.data.get(from);
    if (v === undefined) return;
    const at = this.expires.get(from);
    this.set(to, typeof v === 'string' ? v : v.clone());
    if (at !== undefined) this.setExpire(to, at);
  }

  flush(): void {
    if (this.epoch !== undefined) {
      // The snapshot goes on walking the old maps, which nothing changes now.
      this.epoch.detach();
      const indexed = this.data.slotIndexed;
      this.data = new KeyTable();
      if (indexed) this.data.indexSlots();
      this.clocks.table = this.data;
      this.expires = new Map();
    } else {
      this.data.clear();
      this.expires.clear();
    }
    this.memory.flushed();
    this.tableToken = {};
    this.randomIt = undefined;
  }

  /**
   * SWAPDB: this keyspace and `other` exchange their keys and TTLs (and a
   * snapshot epoch walking them, which keeps describing the same maps).
   * SCAN cursors and RANDOMKEY's walk start over in both.
   */
  swapWith(other: Keyspace): void {
    const data = this.data;
    const expires = this.expires;
    const epoch = this.epoch;
    const memory = this.memory;
    const clocks = this.clocks;
    this.data = other.data;
    this.expires = other.expires;
    this.epoch = other.epoch;
    this.memory = other.memory;
    this.clocks = other.clocks;
    other.data = data;
    other.expires = expires;
    other.epoch = epoch;
    other.memory = memory;
    other.clocks = clocks;
    this.tableToken = {};
    other.tableToken = {};
    this.randomIt = undefined;
    other.randomIt = undefined;
  }

  /**
   * All keys, including expired ones; callers filter with `now`. A live
   * iterator: it visits every key present for its whole life exactly once,
   * whatever is set or deleted meanwhile (SCAN walks it, src/commands/scan.ts).
   */
  keys(): IterableIterator<string> {
    return this.data.keys();
  }

  /** Keeps the per-hash-slot key index from now on (a node of a sharded cluster; key-table.ts). */
  indexSlots(): void {
    this.data.indexSlots();
  }

  /** Keys stored in a Redis Cluster hash slot, expired ones included (O(1) with the index, else a walk of every key). */
  countInSlot(hashSlot: number): number {
    return this.data.countInSlot(hashSlot);
  }

  /** Up to `limit` keys stored in a hash slot, expired ones included: newest first with the index (as Redis), else in table order. A copy. */
  keysInSlot(hashSlot: number, limit = Infinity): string[] {
    return this.data.keysInSlot(hashSlot, limit);
  }

  /**
   * Stands for the table keys() walks, as a SCAN cursor's owner: a new
   * object after every flush, so a SCAN begun before FLUSHALL starts over
   * (during a snapshot FLUSHALL swaps in new maps; an old iterator would go
   * on over keys that are gone).
   */
  get keyTable(): object {
    return this.tableToken;
  }

  /** Keys that carry a TTL, for the leader's active expiry cycle. */
  keysWithExpiry(): IterableIterator<[string, number]> {
    return this.expires.entries();
  }

  /**
   * A live key chosen at random, or undefined. Walks a persistent iterator a
   * random number of steps: O(1) amortised, not uniform (neither is Redis's).
   */
  randomKey(now: number, rand: () => number = Math.random): string | undefined {
    if (this.data.size === 0) return undefined;
    const skip = Math.floor(rand() * 16);
    for (let tries = 0; tries < 100 + skip; tries++) {
      if (this.randomIt === undefined) this.randomIt = this.data.keys();
      const r = this.randomIt.next();
      if (r.done) {
        this.randomIt = undefined;
        continue;
      }
      if (tries < skip) continue;
      if (!this.isExpired(r.value, now)) return r.value;
    }
    // Mostly expired keys: fall back to a full walk.
    for (const k of this.data.keys()) if (!this.isExpired(k, now)) return k;
    return undefined;
  }
}
