/**
 * Sharding's replicated state (issue 21, phase 1; docs/decisions.md
 * "Sharding, phase 1"). Changed only by applied RAFT.SHARDS entries, so it
 * is the same on every replica of a group at every log position, and kept
 * in snapshots (section 'shards'):
 *
 *   map       group 0 only: the cluster's slot map (the configuration log)
 *   adopted   every group: the map this group adopted in its own log; it
 *             serves a slot only if the adopted map gives it to this group
 *   released  slot → epoch: this group gave the slot up for the map of that
 *             epoch (RELEASE, before group 0 commits the map), and does not
 *             serve it under any map older than that
 *
 *   frozen    phase 2: keys of slots moving away that the group's leader
 *             is shipping to the new owner (FREEZE … SHIPPED): reads are
 *             served, writes get TRYAGAIN, SHIPPED deletes them
 *   fences    phase 2, on the receiving group: per slot, the source group
 *             and the highest source leader term whose IMPORT was applied;
 *             an IMPORT of an older term (a deposed leader's late call) is
 *             refused, so a shipped key cannot come back over a newer write
 *
 * Without --group (a single-group cluster) none of this is used: every slot
 * is served, as before sharding existed. See docs/decisions.md "Sharding,
 * phase 2" for the moving rules.
 */
import type { Databases } from '../../keyspace/databases.js';
import { loadDumpPayload } from '../../keyspace/rdb/decode.js';
import type { Value } from '../../keyspace/keyspace.js';
import { NO_GROUP, SLOT_COUNT, cloneSlotMap, decodeSlotMap, emptySlotMap, encodeSlotMap, type SlotMap, type SlotRange } from '../../util/slot-map.js';
import { keyHashSlot } from '../routing.js';

/** Redis's text for a multi-key request on a slot being migrated whose keys are partly here (cluster.c getNodeByQuery). */
export const TRYAGAIN_MULTI = 'TRYAGAIN Multiple keys request during rehashing of slot';
/** A write to a key being shipped to the slot's new group (raftis's own text: Redis blocks the whole server during MIGRATE instead). */
export const TRYAGAIN_FROZEN = 'TRYAGAIN key is being moved to the slot\'s new group; retry shortly';

export class ShardState {
  /** Group 0's committed slot map (empty elsewhere). */
  map: SlotMap = emptySlotMap();
  /** The map this group adopted at a position of its own log. */
  adopted: SlotMap = emptySlotMap();
  /** released[slot]: the epoch the slot was released for (0: never). */
  readonly released = new Float64Array(SLOT_COUNT);
  /** Told after the map or the adopted map changed (the engine's routing view). */
  onChange: () => void = () => {};
  /** The error a write to a slot this group does not serve gets when applied (set by the engine: MOVED to the owner). */
  redirect: (slot: number) => string = (slot) => `TRYAGAIN slot ${slot} is not served by this group at this point of its log; retry`;

  /** frozen.get(db): keys being shipped to their slot's new group (phase 2). */
  readonly frozen = new Map<number, Set<string>>();
  /** fenceSrc[slot], fenceTerm[slot]: the source group and highest source leader term of an IMPORT applied here. */
  readonly fenceSrc = new Int16Array(SLOT_COUNT).fill(NO_GROUP);
  readonly fenceTerm = new Float64Array(SLOT_COUNT);
  /** The time of the entry being applied (set by the applier): IMPORT's expiry decision. */
  now = 0;
  /** The ASK error for a slot moving to `target` (set by the engine: ASK to its leader). */
  ask: (slot: number, target: number) => string = (slot) => `ASK ${slot} unknown:0`;
  /** Told of keys an applied step deleted or created (WATCH; set by the applier). */
  touched: (db: number, keys: string[]) => void = () => {};

  constructor(
    /** This node's group, undefined in a single-group cluster. */
    readonly group: number | undefined,
    private readonly dbs: Databases,
  ) {}

  get databases(): number {
    return this.dbs.count;
  }

  get sharded(): boolean {
    return this.group !== undefined;
  }

  /** Whether this group serves the slot at the current log position. */
  serves(slot: number): boolean {
    if (this.group === undefined) return true;
    return this.adopted.owner[slot] === this.group && this.released[slot]! <= this.adopted.epoch;
  }

  /** The group the slot is moving to when this group serves it and it is moving away (NO_GROUP otherwise). */
  movingTo(slot: number): number {
    if (this.group === undefined || !this.serves(slot)) return NO_GROUP;
    return this.adopted.target[slot]!;
  }

  /** Whether the slot is moving into this group (served to ASKING clients and IMPORT only). */
  importing(slot: number): boolean {
    return this.group !== undefined && this.adopted.target[slot] === this.group && this.adopted.owner[slot] !== this.group;
  }

  /** Whether a write to the slot may apply here: a slot this group serves, or one moving into it. */
  accepts(slot: number): boolean {
    return this.serves(slot) || this.importing(slot);
  }

  /**
   * Redis's rule for a slot this group serves while it moves away (MIGRATING),
   * for the keys of one request (writes[i]: keys[i] is written): all present
   * → served here (undefined), unless a written key is frozen (TRYAGAIN);
   * none present → ASK to the new group; some → TRYAGAIN. "Present" is
   * stored, expired or not: the same answer on every replica at one log
   * position. A slot moving away never gets a new key here, so a key absent
   * now stays absent: the new group is where it is created.
   */
  movingCheck(db: number, keys: readonly string[], writes: readonly boolean[] | boolean): string | undefined {
    if (keys.length === 0) return undefined;
    const slot = keyHashSlot(keys[0]!);
    const target = this.movingTo(slot);
    if (target === NO_GROUP) return undefined;
    const ks = this.dbs.get(db);
    const frozen = this.frozen.get(db);
    let present = 0;
    for (let i = 0; i < keys.length; i++) {
      if (ks.peek(keys[i]!) === undefined) continue;
      present++;
      if ((writes === true || (writes !== false && writes[i] === true)) && frozen !== undefined && frozen.has(keys[i]!)) return TRYAGAIN_FROZEN;
    }
    if (present === keys.length) return undefined;
    return present === 0 ? this.ask(slot, target) : TRYAGAIN_MULTI;
  }

  /** FREEZE <db> <key>…: the keys present in slots moving away are frozen (the leader ships them next). Returns how many. */
  applyFreeze(db: number, keys: readonly string[]): number {
    const ks = this.dbs.get(db);
    let set = this.frozen.get(db);
    let n = 0;
    for (const k of keys) {
      if (this.movingTo(keyHashSlot(k)) === NO_GROUP || ks.peek(k) === undefined) continue;
      if (set === undefined) this.frozen.set(db, (set = new Set()));
      if (!set.has(k)) n++;
      set.add(k);
    }
    return n;
  }

  /** SHIPPED <db> <key>…: frozen keys the new group has committed are deleted here (a missing key then gets ASK). Returns how many. */
  applyShipped(db: number, keys: readonly string[]): number {
    const set = this.frozen.get(db);
    if (set === undefined) return 0;
    const ks = this.dbs.get(db);
    const deleted: string[] = [];
    for (const k of keys) {
      if (!set.delete(k)) continue;
      if (ks.delete(k)) deleted.push(k);
    }
    if (set.size === 0) this.frozen.delete(db);
    if (deleted.length > 0) this.touched(db, deleted);
    return deleted.length;
  }

  /** Every frozen key, by database (the leader ships these first: after a leader change they are what the old one left). */
  frozenKeys(): [number, string[]][] {
    return [...this.frozen].map(([db, set]) => [db, [...set]]);
  }

  /**
   * IMPORT <source gid> <source term> <db> <key> <absttl ms> <payload> …:
   * keys shipped from the slot's owner, on the group it moves to. All or
   * nothing: every key's slot must be moving from `src` to this group in the
   * map this group adopted, the term must not be older than one already
   * imported for the slot (fence), every payload must decode. A key already
   * here is kept (it was imported before, or written by an ASKING client after
   * the source deleted it): an import never replaces. A key whose absolute
   * TTL has passed at the entry's time is not created. Returns how many keys
   * were created, or the error text.
   */
  applyImport(src: number, term: number, db: number, items: readonly string[]): number | string {
    if (items.length % 3 !== 0) return 'ERR RAFT.SHARDS IMPORT: key, absttl and payload expected';
    if (db < 0 || db >= this.dbs.count) return 'ERR DB index is out of range';
    const values: (Value | undefined)[] = [];
    for (let i = 0; i < items.length; i += 3) {
      const slot = keyHashSlot(items[i]!);
      if (!this.importing(slot) || this.adopted.owner[slot] !== src) {
        return `TRYAGAIN slot ${slot} is not moving from group ${src} to group ${this.group} in the configuration this group adopted (${this.adopted.epoch})`;
      }
      if (this.fenceSrc[slot] === src && term < this.fenceTerm[slot]!) {
        return `ERR IMPORT from group ${src}'s term ${term} refused: slot ${slot} already imported from term ${this.fenceTerm[slot]}`;
      }
      const ttl = Number(items[i + 1]);
      if (!Number.isSafeInteger(ttl) || ttl < 0) return 'ERR Invalid TTL value, must be >= 0';
      const loaded = loadDumpPayload(Buffer.from(items[i + 2]!, 'latin1'));
      if (!loaded.ok) return 'ERR Bad data format';
      values.push(loaded.value);
    }
    const ks = this.dbs.get(db);
    const created: string[] = [];
    for (let i = 0, j = 0; i < items.length; i += 3, j++) {
      const k = items[i]!;
      const slot = keyHashSlot(k);
      this.fenceSrc[slot] = src;
      if (term > this.fenceTerm[slot]!) this.fenceTerm[slot] = term;
      if (ks.peek(k) !== undefined) continue;
      const ttl = Number(items[i + 1]);
      if (ttl !== 0 && ttl <= this.now) continue;
      ks.set(k, values[j]!);
      if (ttl !== 0) ks.setExpire(k, ttl);
      created.push(k);
    }
    if (created.length > 0) this.touched(db, created);
    return created.length;
  }

  /** SETMAP <expected epoch> <json>: group 0 commits a new map (compare-and-set on the epoch) and adopts it at the same position. */
  applySetMap(expected: number, json: string): string | undefined {
    if (this.group !== 0) return 'ERR RAFT.SHARDS SETMAP runs only in group 0 (the configuration group)';
    const m = decodeSlotMap(json);
    if (typeof m === 'string') return `ERR ${m}`;
    if (this.map.epoch !== expected || m.epoch !== expected + 1) {
      return `ERR the slot map changed meanwhile (configuration ${this.map.epoch}, expected ${expected}); retry`;
    }
    this.map = m;
    if (m.epoch > this.adopted.epoch) this.adopted = cloneSlotMap(m);
    this.onChange();
    return undefined;
  }

  /** ADOPT <json>: this group adopts a newer map (an older or equal one changes nothing). */
  applyAdopt(json: string): string | undefined {
    const m = decodeSlotMap(json);
    if (typeof m === 'string') return `ERR ${m}`;
    if (m.epoch > this.adopted.epoch) {
      this.adopted = m;
      this.onChange();
    }
    return undefined;
  }

  /**
   * RELEASE <epoch> <ranges>: this group stops serving the slots it serves
   * in the ranges, for maps older than `epoch`, if none of them holds a key
   * (a slot with keys moves with RAFT.SHARDS MOVE, which ships them first). All or nothing. At
   * this log position: a write to one of those slots later in the log is
   * refused when applied (Applier), so no write can land after the check.
   */
  applyRelease(epoch: number, ranges: readonly SlotRange[]): string | undefined {
    if (this.group === undefined) return 'ERR this node is not part of a sharded cluster (no --group)';
    const wanted = new Uint8Array(SLOT_COUNT);
    for (const r of ranges) wanted.fill(1, r.from, r.to + 1);
    // Every key present counts, expired or not (a deterministic, conservative rule: active expiry deletes them soon).
    // The per-slot key index answers per slot (O(slots + dbs), not a walk of every key).
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (wanted[s] !== 1 || !this.serves(s)) continue;
      for (let i = 0; i < this.dbs.count; i++) {
        const ks = this.dbs.get(i);
        if (ks.size === 0 || ks.countInSlot(s) === 0) continue;
        const k = ks.keysInSlot(s, 1)[0]!;
        return `ERR slot ${s} holds keys in group ${this.group} (key '${k}'${i !== 0 ? ` in db ${i}` : ''}): move it with RAFT.SHARDS MOVE`;
      }
    }
    for (let s = 0; s < SLOT_COUNT; s++) if (wanted[s] === 1 && this.released[s]! < epoch) this.released[s] = epoch;
    this.onChange();
    return undefined;
  }

  /** Slots this group stopped serving for a map it has not adopted yet. */
  pendingReleases(): number {
    let n = 0;
    for (let s = 0; s < SLOT_COUNT; s++) if (this.released[s]! > this.adopted.epoch) n++;
    return n;
  }

  snapshotState(): Buffer {
    const released: [number, number, number][] = [];
    let start = 0;
    for (let s = 1; s <= SLOT_COUNT; s++) {
      if (s === SLOT_COUNT || this.released[s] !== this.released[start]) {
        if (this.released[start] !== 0) released.push([start, s - 1, this.released[start]!]);
        start = s;
      }
    }
    const frozen = this.frozen.size > 0 ? this.frozenKeys().map(([db, keys]) => [db, keys.map((k) => Buffer.from(k, 'latin1').toString('base64'))]) : undefined;
    const fences: [number, number, number][] = [];
    for (let s = 0; s < SLOT_COUNT; s++) if (this.fenceSrc[s] !== NO_GROUP) fences.push([s, this.fenceSrc[s]!, this.fenceTerm[s]!]);
    return Buffer.from(
      JSON.stringify({ map: encodeSlotMap(this.map), adopted: encodeSlotMap(this.adopted), released, ...(frozen !== undefined ? { frozen } : {}), ...(fences.length > 0 ? { fences } : {}) }),
      'utf8',
    );
  }

  /** A snapshot without sharding state (taken before any RAFT.SHARDS entry). */
  reset(): void {
    this.map = emptySlotMap();
    this.adopted = emptySlotMap();
    this.released.fill(0);
    this.frozen.clear();
    this.fenceSrc.fill(NO_GROUP);
    this.fenceTerm.fill(0);
    this.onChange();
  }

  /** Restores snapshotState's bytes; a string says what was wrong (nothing is changed then). */
  restore(b: Buffer): string | undefined {
    let j: { map: string; adopted: string; released: [number, number, number][]; frozen?: [number, string[]][]; fences?: [number, number, number][] };
    try {
      j = JSON.parse(b.toString('utf8')) as typeof j;
    } catch (e) {
      return `not JSON (${(e as Error).message})`;
    }
    const map = decodeSlotMap(j.map);
    const adopted = decodeSlotMap(j.adopted);
    if (typeof map === 'string') return map;
    if (typeof adopted === 'string') return adopted;
    this.map = map;
    this.adopted = adopted;
    this.released.fill(0);
    for (const [from, to, epoch] of Array.isArray(j.released) ? j.released : []) this.released.fill(epoch, from, to + 1);
    this.frozen.clear();
    for (const [db, keys] of Array.isArray(j.frozen) ? j.frozen : []) this.frozen.set(db, new Set(keys.map((k) => Buffer.from(k, 'base64').toString('latin1'))));
    this.fenceSrc.fill(NO_GROUP);
    this.fenceTerm.fill(0);
    for (const [slot, src, term] of Array.isArray(j.fences) ? j.fences : []) {
      this.fenceSrc[slot] = src;
      this.fenceTerm[slot] = term;
    }
    this.onChange();
    return undefined;
  }
}
