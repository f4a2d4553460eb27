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
 * Without --group (a single-group cluster) none of this is used: every slot
 * is served, as before sharding existed.
 */
import type { Databases } from '../../keyspace/databases.js';
import { SLOT_COUNT, cloneSlotMap, decodeSlotMap, emptySlotMap, encodeSlotMap, type SlotMap, type SlotRange } from '../../util/slot-map.js';
import { keyHashSlot } from '../routing.js';

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

  constructor(
    /** This node's group, undefined in a single-group cluster. */
    readonly group: number | undefined,
    private readonly dbs: Databases,
  ) {}

  get sharded(): boolean {
    return this.group !== undefined;
  }

  /** Whether this group serves the slot at the current log position. */
  serves(slot: number): boolean {
    if (this.group === undefined) return true;
    return this.adopted.owner[slot] === this.group && this.released[slot]! <= this.adopted.epoch;
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
   * (phase 1 moves only empty slots; phase 2 migrates). All or nothing. At
   * this log position: a write to one of those slots later in the log is
   * refused when applied (Applier), so no write can land after the check.
   */
  applyRelease(epoch: number, ranges: readonly SlotRange[]): string | undefined {
    if (this.group === undefined) return 'ERR this node is not part of a sharded cluster (no --group)';
    const wanted = new Uint8Array(SLOT_COUNT);
    for (const r of ranges) wanted.fill(1, r.from, r.to + 1);
    // Every key present counts, expired or not (a deterministic, conservative rule: active expiry deletes them soon).
    for (let i = 0; i < this.dbs.count; i++) {
      for (const k of this.dbs.get(i).keys()) {
        const s = keyHashSlot(k);
        if (wanted[s] === 1 && this.serves(s)) {
          return `ERR slot ${s} holds keys in group ${this.group} (key '${k}'${i !== 0 ? ` in db ${i}` : ''}): phase 1 moves only empty slots`;
        }
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
    return Buffer.from(JSON.stringify({ map: encodeSlotMap(this.map), adopted: encodeSlotMap(this.adopted), released }), 'utf8');
  }

  /** A snapshot without sharding state (taken before any RAFT.SHARDS entry). */
  reset(): void {
    this.map = emptySlotMap();
    this.adopted = emptySlotMap();
    this.released.fill(0);
    this.onChange();
  }

  /** Restores snapshotState's bytes; a string says what was wrong (nothing is changed then). */
  restore(b: Buffer): string | undefined {
    let j: { map: string; adopted: string; released: [number, number, number][] };
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
    this.onChange();
    return undefined;
  }
}
