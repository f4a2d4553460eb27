/**
 * The slot map of a sharded cluster (issue 21): which data group owns which
 * of Redis Cluster's 16384 slots, each group's members as the operator
 * named them, and the configuration number (epoch) that orders maps. Group
 * 0 keeps the map in its log (RAFT.SHARDS, src/commands/shards.ts); every
 * group adopts a map in its own log. A leaf module: commands/ and anything
 * below may use it. See docs/decisions.md, "Sharding, phase 1".
 */

export const SLOT_COUNT = 16384;
/** An unassigned slot's owner. */
export const NO_GROUP = -1;

export interface GroupMember {
  id: number;
  host: string;
  port: number;
  clusterPort: number;
}

export interface SlotMap {
  /** The configuration number: every change makes it one higher. 0: no map yet. */
  epoch: number;
  /** Every group by id, with its members (as ADDGROUP named them). */
  groups: Map<number, GroupMember[]>;
  /** owner[slot]: the group that owns it, NO_GROUP when none. */
  owner: Int16Array;
  /**
   * target[slot]: the group the slot is moving to (phase 2: its keys are
   * shipped from the owner), NO_GROUP when it is not moving.
   */
  target: Int16Array;
}

export interface SlotRange {
  from: number;
  to: number;
}

export function emptySlotMap(): SlotMap {
  return { epoch: 0, groups: new Map(), owner: new Int16Array(SLOT_COUNT).fill(NO_GROUP), target: new Int16Array(SLOT_COUNT).fill(NO_GROUP) };
}

export function cloneSlotMap(m: SlotMap): SlotMap {
  return { epoch: m.epoch, groups: new Map([...m.groups].map(([g, ms]) => [g, ms.map((x) => ({ ...x }))])), owner: m.owner.slice(), target: m.target.slice() };
}

/** The ranges of consecutive slots owned by one group, in slot order: [from, to, group]. */
export function ownedRanges(m: SlotMap): [number, number, number][] {
  const out: [number, number, number][] = [];
  let start = 0;
  for (let s = 1; s <= SLOT_COUNT; s++) {
    if (s === SLOT_COUNT || m.owner[s] !== m.owner[start]) {
      if (m.owner[start] !== NO_GROUP) out.push([start, s - 1, m.owner[start]!]);
      start = s;
    }
  }
  return out;
}

/** The ranges of consecutive slots moving to one group, in slot order: [from, to, target group]. */
export function movingRanges(m: SlotMap): [number, number, number][] {
  const out: [number, number, number][] = [];
  let start = 0;
  for (let s = 1; s <= SLOT_COUNT; s++) {
    if (s === SLOT_COUNT || m.target[s] !== m.target[start] || m.owner[s] !== m.owner[start]) {
      if (m.target[start] !== NO_GROUP) out.push([start, s - 1, m.target[start]!]);
      start = s;
    }
  }
  return out;
}

/** Whether any slot is moving. */
export function anyMoving(m: SlotMap): boolean {
  for (let s = 0; s < SLOT_COUNT; s++) if (m.target[s] !== NO_GROUP) return true;
  return false;
}

/** `FROM-TO`, or `SLOT` when FROM = TO. */
export function rangeText(from: number, to: number): string {
  return from === to ? `${from}` : `${from}-${to}`;
}

/** The slot ranges of one group, in slot order. */
export function groupRanges(m: SlotMap, gid: number): SlotRange[] {
  return ownedRanges(m)
    .filter(([, , g]) => g === gid)
    .map(([from, to]) => ({ from, to }));
}

export function assignedSlots(m: SlotMap): number {
  let n = 0;
  for (let s = 0; s < SLOT_COUNT; s++) if (m.owner[s] !== NO_GROUP) n++;
  return n;
}

interface SlotMapJson {
  epoch: number;
  groups: { gid: number; members: GroupMember[] }[];
  slots: [number, number, number][];
  /** Phase 2: slots moving, [from, to, target group]; absent when none moves (phase 1's JSON unchanged). */
  moving?: [number, number, number][];
}

/** The map as JSON (what RAFT.SHARDS MAP answers and log entries carry). */
export function encodeSlotMap(m: SlotMap): string {
  const json: SlotMapJson = {
    epoch: m.epoch,
    groups: [...m.groups].sort((a, b) => a[0] - b[0]).map(([gid, members]) => ({ gid, members })),
    slots: ownedRanges(m),
  };
  const moving = movingRanges(m);
  if (moving.length > 0) json.moving = moving;
  return JSON.stringify(json);
}

const isInt = (x: unknown, lo: number, hi: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= lo && x <= hi;

/** Parses encodeSlotMap's JSON; a string is what is wrong with it. */
export function decodeSlotMap(text: string): SlotMap | string {
  let j: SlotMapJson;
  try {
    j = JSON.parse(text) as SlotMapJson;
  } catch (e) {
    return `slot map: not JSON (${(e as Error).message})`;
  }
  if (typeof j !== 'object' || j === null || !isInt(j.epoch, 0, Number.MAX_SAFE_INTEGER) || !Array.isArray(j.groups) || !Array.isArray(j.slots)) {
    return 'slot map: epoch, groups and slots expected';
  }
  const m = emptySlotMap();
  m.epoch = j.epoch;
  for (const g of j.groups) {
    if (!isInt(g?.gid, 0, 16383) || !Array.isArray(g.members)) return 'slot map: a group needs gid and members';
    const members: GroupMember[] = [];
    for (const x of g.members) {
      if (!isInt(x?.id, 1, Number.MAX_SAFE_INTEGER) || typeof x.host !== 'string' || !isInt(x.port, 1, 65535) || !isInt(x.clusterPort, 1, 65535)) {
        return `slot map: bad member in group ${g.gid}`;
      }
      members.push({ id: x.id, host: x.host, port: x.port, clusterPort: x.clusterPort });
    }
    m.groups.set(g.gid, members);
  }
  for (const r of j.slots) {
    if (!Array.isArray(r) || !isInt(r[0], 0, SLOT_COUNT - 1) || !isInt(r[1], r[0], SLOT_COUNT - 1) || !m.groups.has(r[2])) return 'slot map: bad slot range';
    m.owner.fill(r[2], r[0], r[1] + 1);
  }
  if (j.moving !== undefined) {
    if (!Array.isArray(j.moving)) return 'slot map: bad moving ranges';
    for (const r of j.moving) {
      if (!Array.isArray(r) || !isInt(r[0], 0, SLOT_COUNT - 1) || !isInt(r[1], r[0], SLOT_COUNT - 1) || !m.groups.has(r[2])) return 'slot map: bad moving range';
      m.target.fill(r[2], r[0], r[1] + 1);
    }
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (m.target[s] !== NO_GROUP && (m.owner[s] === NO_GROUP || m.owner[s] === m.target[s])) return `slot map: slot ${s} moves but has no other owner`;
    }
  }
  return m;
}

/** `FROM-TO` or `SLOT`; a string is the error text. */
export function parseSlotRange(s: string): SlotRange | string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (m === null) return `ERR Invalid slot range '${s}': expected SLOT or FROM-TO`;
  const from = Number(m[1]);
  const to = m[2] !== undefined ? Number(m[2]) : from;
  if (from >= SLOT_COUNT || to >= SLOT_COUNT || to < from) return `ERR Invalid slot range '${s}': slots are 0 to 16383, FROM <= TO`;
  return { from, to };
}

/** `ID@HOST:PORT` or `ID@HOST:PORT@CLUSTERPORT` (default cluster port: port + 10000); a string is the error text. */
export function parseGroupMember(s: string): GroupMember | string {
  const m = /^(\d+)@([^:@\s]+|\[[^\]]+\]):(\d+)(?:@(\d+))?$/.exec(s);
  if (m === null) return `ERR Invalid member '${s}': expected ID@HOST:PORT[@CLUSTERPORT]`;
  const id = Number(m[1]);
  const port = Number(m[3]);
  const clusterPort = m[4] !== undefined ? Number(m[4]) : port + 10000;
  if (id < 1 || !Number.isSafeInteger(id) || port < 1 || port > 65535 || clusterPort < 1 || clusterPort > 65535) return `ERR Invalid member '${s}'`;
  return { id, host: m[2]!.replace(/^\[|\]$/g, ''), port, clusterPort };
}
