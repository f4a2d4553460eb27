/**
 * A sharded cluster's routing view on one node (issue 21, phase 1; see
 * docs/decisions.md "Sharding, phase 1"):
 *
 *  - the newest slot map it knows: group 0's own (its log), or the one it
 *    last fetched from group 0's nodes (RAFT.SHARDS MAP), polled every
 *    POLL_MS;
 *  - every other group's leader and members, polled the same way (RAFT.INFO),
 *    for MOVED and the CLUSTER views;
 *  - on its group's leader: proposes ADOPT when group 0 has a newer map than
 *    the one its group adopted;
 *  - on group 0's leader: RAFT.SHARDS ADDGROUP / ASSIGN, which have every
 *    group losing slots RELEASE them first (in its own log), then commit the
 *    new map (SETMAP) in group 0's log.
 *
 * Cross-group calls are RESP requests to the other nodes' client ports
 * (util/resp-call.ts), not peer frames: see the decision record for why.
 */
import type { Outcome } from '../../node/node.js';
import { RespWriter } from '../../server/resp-writer.js';
import { createLogger } from '../../util/log.js';
import { RespError, respCall, type RespReply } from '../../util/resp-call.js';
import {
  NO_GROUP,
  SLOT_COUNT,
  anyMoving,
  cloneSlotMap,
  decodeSlotMap,
  emptySlotMap,
  encodeSlotMap,
  movingRanges,
  rangeText,
  type GroupMember,
  type SlotMap,
  type SlotRange,
} from '../../util/slot-map.js';
import { createDumpPayload } from '../../keyspace/rdb/encode.js';
import type { EngineClient } from './engine.js';

/** What routing looks at of a client: its database (frozen keys, keys present during a move). */
export type RoutedClient = Pick<EngineClient, 'db' | 'dbIndex'>;
import { TRYAGAIN_MULTI } from './shard-state.js';
import { movedError } from '../errors.js';
import { clusterNodeId } from '../cluster.js';
import { commandKeys } from '../keys.js';
import { CLUSTERDOWN_NO_LEADER, keyHashSlot, preferredEndpoint } from '../routing.js';
import type { CommandDef } from '../table.js';
import type { Engine } from './engine.js';
import { EntryKind, type CommandEntry } from './entry.js';
import type { ShardState } from './shard-state.js';
import { Write } from './write.js';

const log = createLogger('shards');

/** How often a node asks group 0 for the map and the other groups for their leader. */
export const POLL_MS = 1000;
const CALL_TIMEOUT_MS = 2000;
/** A DRAIN call (the source ships for up to DRAIN_BUDGET_MS, then answers how many keys are left) and an IMPORT call. */
const DRAIN_TIMEOUT_MS = 20_000;
const DRAIN_BUDGET_MS = 1000;
const IMPORT_TIMEOUT_MS = 10_000;
/** Keys per FREEZE / IMPORT / SHIPPED step. */
const SHIP_BATCH = 100;
/**
 * After each batch the drain waits as long as the batch took (at most 20 ms): a move uses at most
 * about half of the time of the processes it runs on, so the slots that do not move keep their
 * latency (bench/shard-move.mjs: without the pause, groups of one node on two shared cores saw the
 * other slots' p99 at 1.51–1.54× of a run without a move; docs/decisions.md "Pacing a move").
 */
const DRAIN_PACE_MAX_MS = 20;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const CROSSSLOT_ERROR = "CROSSSLOT Keys in request don't hash to the same slot";
/** Connection commands routed by slot too: WATCH's keys, the shard channels. */
export const SLOT_ROUTED_CONN: ReadonlySet<string> = new Set(['watch', 'ssubscribe', 'sunsubscribe', 'spublish']);
export const CLUSTERDOWN_UNBOUND = 'CLUSTERDOWN Hash slot not served';
const TRYAGAIN_ADOPTING = 'TRYAGAIN this group is adopting a new slot configuration; retry shortly';

export interface GroupView {
  /** The leader's raft id as last heard, 0 when unknown. */
  leader: number;
  members: GroupMember[];
  /** The term the answering member was in (0: unknown). */
  term?: number;
}

export interface Address {
  host: string;
  port: number;
}

/** A proposal nobody waits on as a client: its reply text is handed to `done`. */
class ShardWrite extends Write<CommandEntry> {
  constructor(
    entry: CommandEntry,
    private readonly done: (reply: string, outcome: Outcome) => void,
  ) {
    super(entry, new RespWriter());
  }

  settle(outcome: Outcome): void {
    this.done(this.w.take(), outcome);
  }
}

/** RAFT.INFO's text → the group's leader and members. */
export function parseRaftInfo(text: string): GroupView {
  let leader = 0;
  let term = 0;
  const members: GroupMember[] = [];
  for (const line of text.split(/\r?\n/)) {
    const l = /^leader:(\d+)$/.exec(line);
    if (l !== null) leader = Number(l[1]);
    const t = /^term:(\d+)$/.exec(line);
    if (t !== null) term = Number(t[1]);
    const m = /^member_(\d+):role=(\w+),addr=(.+):(\d+),cluster_addr=(.+):(\d+)$/.exec(line);
    if (m !== null && m[2] !== 'joining') members.push({ id: Number(m[1]), host: m[3]!, port: Number(m[4]), clusterPort: Number(m[6]) });
  }
  return { leader, members, term };
}

export class ShardRouter {
  /** The newest map fetched from group 0 (on group 0's nodes, their own map is used instead). */
  private fetched: SlotMap = emptySlotMap();
  private readonly views = new Map<number, GroupView>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  /** The map epoch an ADOPT is in flight for. */
  private adopting = 0;
  /** A RAFT.SHARDS ADDGROUP / ASSIGN runs (group 0's leader does one at a time). */
  changing = false;
  /** Map changes on group 0's leader, one after the other (ASSIGN, MOVE, the end of a move). */
  private changeChain: Promise<unknown> = Promise.resolve();
  /** Group 0's leader drives the moves in its map (phase 2). */
  private driving = false;
  /** A source group's leader: the DRAIN round running. */
  private draining: Promise<number | string> | undefined;

  constructor(
    private readonly e: Engine,
    /** Client addresses of group 0's nodes (--shard-seeds), for the first map. */
    private readonly seeds: readonly Address[],
  ) {}

  /**
   * The default user's password as this node knows it (--requirepass, or a CONFIG SET requirepass
   * sent to it), sent with AUTH before each call to another node: every node of a sharded cluster
   * is expected to have the same one.
   */
  private password(): string | undefined {
    const v = this.e.config.param('requirepass').value;
    return typeof v === 'string' && v !== '' ? v : undefined;
  }

  private get state(): ShardState {
    return this.e.shards;
  }

  get group(): number {
    return this.state.group!;
  }

  /** The newest map this node knows: group 0's own; elsewhere the one fetched or the one its group adopted (known at once after a restart). */
  latest(): SlotMap {
    if (this.group === 0) return this.state.map;
    return this.fetched.epoch >= this.state.adopted.epoch ? this.fetched : this.state.adopted;
  }

  start(): void {
    if (!this.state.sharded || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
    setImmediate(() => void this.poll());
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The group's leader and members: this node's own group from its node, the others as last polled (else the map's). */
  view(gid: number): GroupView {
    if (gid === this.group) {
      const node = this.e.node;
      const members = [...node.members.values()]
        .filter((m) => node.voters.length === 0 || node.voters.includes(m.id) || node.learners.includes(m.id) || m.id === node.id)
        .sort((a, b) => a.id - b.id)
        .map((m) => ({ id: m.id, host: m.host, port: m.port, clusterPort: m.clusterPort }));
      return { leader: node.leader || node.lastKnownLeader, members };
    }
    const v = this.views.get(gid);
    if (v !== undefined && v.members.length > 0) return v;
    return { leader: 0, members: this.latest().groups.get(gid) ?? [] };
  }

  /** Where clients of a group go: its leader as last known, else its first member. */
  masterOf(gid: number): GroupMember | undefined {
    const v = this.view(gid);
    return v.members.find((m) => m.id === v.leader) ?? v.members[0];
  }

  /** The error for a slot this group does not serve: MOVED to its owner's leader, TRYAGAIN, or CLUSTERDOWN. */
  redirect(slot: number): string {
    const owner = this.latest().owner[slot]!;
    if (owner === NO_GROUP) return CLUSTERDOWN_UNBOUND;
    if (owner === this.group) {
      const node = this.e.node;
      if (node.isLeader) return TRYAGAIN_ADOPTING;
      const leader = node.members.get(node.leader);
      return leader !== undefined ? movedError(slot, preferredEndpoint(this.e.config.get('cluster-preferred-endpoint-type'), leader.host, '') ?? '', leader.port) : CLUSTERDOWN_NO_LEADER;
    }
    const m = this.masterOf(owner);
    return m !== undefined ? movedError(slot, preferredEndpoint(this.e.config.get('cluster-preferred-endpoint-type'), m.host, '') ?? '', m.port) : CLUSTERDOWN_UNBOUND;
  }

  /**
   * Redis Cluster's getNodeByQuery for a sharded cluster: CROSSSLOT when the
   * keys hash to different slots, a redirect when this group does not serve
   * the slot; undefined when the command is this group's (the caller then
   * routes within the group: leader, READONLY follower).
   */
  route(def: CommandDef, argv: readonly string[], c: RoutedClient, asking: boolean): string | undefined {
    // Shard channels are routed as keys, as Redis Cluster does (their key specs say not_key).
    const keys = def.name === 'spublish' ? [argv[1]!] : def.name === 'ssubscribe' || def.name === 'sunsubscribe' ? argv.slice(1) : commandKeys(def.meta, argv);
    if (keys.length === 0) return undefined;
    const slot = keyHashSlot(keys[0]!);
    for (let i = 1; i < keys.length; i++) if (keyHashSlot(keys[i]!) !== slot) return CROSSSLOT_ERROR;
    return this.routeSlot(slot, keys, def.logged, c, asking);
  }

  /** The decision for keys of one slot: served (undefined), or the error (MOVED, ASK, TRYAGAIN, CLUSTERDOWN). `writes`: per key, or one flag for all. */
  private routeSlot(slot: number, keys: readonly string[], writes: readonly boolean[] | boolean, c: RoutedClient, asking: boolean): string | undefined {
    const st = this.state;
    if (st.serves(slot)) return st.adopted.target[slot] === NO_GROUP ? undefined : st.movingCheck(c.dbIndex, keys, writes);
    if (st.importing(slot) && asking) {
      // Redis's IMPORTING rule: an ASKING client is served; a multi-key request whose keys are partly here gets TRYAGAIN.
      if (keys.length > 1) {
        let present = 0;
        for (const k of keys) if (c.db.peek(k) !== undefined) present++;
        if (present !== keys.length) return TRYAGAIN_MULTI;
      }
      return undefined;
    }
    return this.redirect(slot);
  }

  /** The same for a whole transaction at EXEC: one slot for every key of every queued command. */
  routeTransaction(cmds: readonly string[][], c: RoutedClient, asking: boolean): string | undefined {
    let slot = -1;
    const keys: string[] = [];
    const writes: boolean[] = [];
    for (const argv of cmds) {
      const def = this.e.table.lookup(argv);
      if (def?.data === undefined) continue;
      for (const k of commandKeys(def.meta, argv)) {
        const s = keyHashSlot(k);
        if (slot === -1) slot = s;
        else if (s !== slot) return CROSSSLOT_ERROR;
        keys.push(k);
        writes.push(def.logged);
      }
    }
    return slot === -1 ? undefined : this.routeSlot(slot, keys, writes, c, asking);
  }

  /** `-ASK <slot> <host:port>` of the group a slot is moving to (its leader as last known). */
  askError(slot: number, target: number): string {
    const m = this.masterOf(target);
    return m !== undefined ? `ASK ${slot} ${m.host}:${m.port}` : CLUSTERDOWN_UNBOUND;
  }

  /** One round: the map from group 0, the other groups' leaders, and an ADOPT when the map is newer than the adopted one. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if (this.group !== 0) await this.fetchMap();
      const map = this.latest();
      await Promise.all([...map.groups.keys()].filter((g) => g !== this.group).map((g) => this.pollGroup(g)));
      this.maybeAdopt();
      this.kick();
    } catch (e) {
      log.debug(`shard poll: ${(e as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  private async fetchMap(): Promise<void> {
    const addrs: Address[] = [...(this.views.get(0)?.members ?? []), ...(this.fetched.groups.get(0) ?? []), ...this.seeds];
    const v = this.views.get(0);
    const lead = v?.members.find((m) => m.id === v.leader);
    if (lead !== undefined) addrs.unshift(lead);
    const seen = new Set<string>();
    for (const a of addrs) {
      const key = `${a.host}:${a.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      try {
        const r = await respCall(a.host, a.port, ['RAFT.SHARDS', 'MAP'], CALL_TIMEOUT_MS, this.password());
        if (typeof r !== 'string') continue;
        this.learnMap(r);
        return;
      } catch {
        // try the next one
      }
    }
  }

  /** A map heard of (fetched, or pushed by group 0's leader): kept when newer. */
  learnMap(json: string): boolean {
    const m = decodeSlotMap(json);
    if (typeof m === 'string' || m.epoch <= this.fetched.epoch) return false;
    this.fetched = m;
    return true;
  }

  /**
   * Asks every member of the group for RAFT.INFO at once and keeps the
   * answer of the highest term that names a leader: an old leader cut off
   * from its group still calls itself leader, in an older term.
   */
  private async pollGroup(gid: number): Promise<void> {
    const cur = this.view(gid);
    const answers = await Promise.all(
      cur.members.map((m) =>
        respCall(m.host, m.port, ['RAFT.INFO'], CALL_TIMEOUT_MS, this.password()).then(
          (r) => (typeof r === 'string' ? parseRaftInfo(r) : undefined),
          () => undefined,
        ),
      ),
    );
    let best: GroupView | undefined;
    for (const v of answers) {
      if (v === undefined || v.members.length === 0) continue;
      if (best === undefined || (v.leader !== 0 && (best.leader === 0 || (v.term ?? 0) > (best.term ?? 0)))) best = v;
    }
    if (best === undefined) return;
    // No answering member knows a leader right now: keep the last known one.
    if (best.leader === 0) best.leader = cur.leader;
    this.views.set(gid, best);
  }

  /** On this group's leader: adopt group 0's newer map in this group's log. */
  maybeAdopt(): void {
    const map = this.latest();
    const node = this.e.node;
    if (this.group === 0 || !node.isLeader || map.epoch <= this.state.adopted.epoch || this.adopting >= map.epoch) return;
    this.adopting = map.epoch;
    this.proposeInternal(['RAFT.SHARDS', 'ADOPT', encodeSlotMap(map)]).then(
      (reply) => {
        if (reply.startsWith('-')) log.warn(`adopting slot configuration ${map.epoch}: ${reply.slice(1).trim()}`);
        this.adopting = 0;
      },
      () => (this.adopting = 0),
    );
  }

  /** Proposes a RAFT.SHARDS entry on this node (its group's leader); resolves with the reply's RESP text. */
  proposeInternal(argv: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const entry: CommandEntry = { kind: EntryKind.Commands, time: this.e.applier.entryTime(), multi: false, cmds: [argv] };
      const p = new ShardWrite(entry, (reply, outcome) => {
        if (outcome === 'applied') resolve(reply);
        else reject(new Error(outcome === 'not-leader' ? 'not the leader' : `the entry was ${outcome}`));
      });
      this.e.node.propose(p);
    });
  }

  /** Sends argv to a group's leader (following MOVED within the group); resolves with the reply. */
  async callLeader(gid: number, argv: string[], timeoutMs = CALL_TIMEOUT_MS): Promise<RespReply> {
    const v = this.view(gid);
    const order = [...v.members].sort((a, b) => (a.id === v.leader ? -1 : b.id === v.leader ? 1 : 0));
    let last: RespReply | Error = new Error(`group ${gid} has no known member`);
    for (const m of order) {
      let host = m.host;
      let port = m.port;
      for (let hop = 0; hop < 3; hop++) {
        try {
          const r = await respCall(host, port, argv, timeoutMs, this.password());
          const moved = r instanceof RespError ? /^MOVED \d+ (.+):(\d+)$/.exec(r.message) : null;
          if (moved !== null) {
            host = moved[1]!;
            port = Number(moved[2]);
            continue;
          }
          if (r instanceof RespError && /^(CLUSTERDOWN|TRYAGAIN)/.test(r.message)) {
            last = r;
            break;
          }
          return r;
        } catch (e) {
          last = e as Error;
          break;
        }
      }
    }
    if (last instanceof Error) throw last;
    return last;
  }

  /**
   * RAFT.SHARDS ADDGROUP / ASSIGN on group 0's leader: the new map is `next`
   * (epoch one higher). Every group that loses slots releases them first in
   * its own log (refused if one holds keys); then group 0 commits the map.
   * If a release is refused, the map is committed unchanged with the higher
   * epoch instead, which ends the releases the other groups made.
   */
  /**
   * A map change on group 0's leader, after the ones before it: `make` builds
   * the next map from the current one (or says why there is none; undefined:
   * nothing to change). ASSIGN, MOVE, REBALANCE and the end of a move go
   * through here, so they never race each other's compare-and-set.
   */
  changeWith(make: (cur: SlotMap) => SlotMap | string | undefined): Promise<string | undefined> {
    const run = async (): Promise<string | undefined> => {
      if (!this.e.node.isLeader) return "ERR this node is no longer group 0's leader";
      const next = make(this.state.map);
      if (next === undefined) return undefined;
      if (typeof next === 'string') return next;
      return this.change(next);
    };
    const p = this.changeChain.then(run, run);
    this.changeChain = p.catch(() => {});
    return p;
  }

  private async change(next: SlotMap): Promise<string | undefined> {
    const cur = this.state.map;
    next.epoch = cur.epoch + 1;
    const losing = new Map<number, SlotRange[]>();
    for (let s = 0; s < SLOT_COUNT; s++) {
      const from = cur.owner[s]!;
      if (from === NO_GROUP || from === next.owner[s]) continue;
      let rs = losing.get(from);
      if (rs === undefined) losing.set(from, (rs = []));
      const last = rs[rs.length - 1];
      if (last !== undefined && last.to === s - 1) last.to = s;
      else rs.push({ from: s, to: s });
    }
    let refused: string | undefined;
    for (const [gid, ranges] of losing) {
      const argv = ['RAFT.SHARDS', 'RELEASE', String(next.epoch), ...ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`))];
      try {
        const r = gid === this.group ? await this.proposeRelease(argv) : await this.callLeader(gid, argv);
        if (r instanceof RespError) refused = r.message;
        else if (r !== 'OK') refused = `ERR group ${gid} answered ${JSON.stringify(r)} to RELEASE`;
      } catch (e) {
        refused = `ERR group ${gid} could not release its slots: ${(e as Error).message}`;
      }
      if (refused !== undefined) break;
    }
    const commit = refused === undefined ? next : Object.assign(cloneSlotMap(cur), { epoch: next.epoch });
    const reply = await this.proposeInternal(['RAFT.SHARDS', 'SETMAP', String(cur.epoch), encodeSlotMap(commit)]);
    if (reply.startsWith('-')) return reply.slice(1).trim();
    this.pushMap();
    return refused;
  }

  private async proposeRelease(argv: string[]): Promise<RespReply> {
    const reply = await this.proposeInternal(argv);
    return reply.startsWith('-') ? new RespError(reply.slice(1).trim()) : reply.slice(1).trim();
  }

  /** After a change: tell every other group's leader at once (polling would find it within POLL_MS). */
  private pushMap(): void {
    const json = encodeSlotMap(this.state.map);
    for (const gid of this.state.map.groups.keys()) {
      if (gid === this.group) continue;
      this.callLeader(gid, ['RAFT.SHARDS', 'ADOPT', json]).catch(() => {});
    }
  }

  // ---- Phase 2: moving slots that hold keys (docs/decisions.md "Sharding, phase 2") ----

  /**
   * RAFT.SHARDS MOVE on group 0's leader: every slot of the ranges not owned
   * by `gid` starts moving to it (one map change: the slot is `moving` from
   * its owner to gid), an unassigned one is simply assigned; then the driver
   * ships the keys and ends the move. Resolves when every slot is gid's.
   */
  async move(gid: number, ranges: readonly SlotRange[]): Promise<string | undefined> {
    const err = await this.beginMove(gid, ranges);
    if (err !== undefined) return err;
    return this.waitMoved((m) => ranges.every((r) => allOwned(m, r, gid)));
  }

  /** MOVE without waiting (RAFT.SHARDS BEGINMOVE, sent by CLUSTER SETSLOT … IMPORTING / MIGRATING / NODE): the slots are moving once it resolves. */
  async beginMove(gid: number, ranges: readonly SlotRange[]): Promise<string | undefined> {
    const err = await this.changeWith((cur) => {
      if (!cur.groups.has(gid)) return `ERR no group ${gid}: add it first (RAFT.SHARDS ADDGROUP)`;
      const next = cloneSlotMap(cur);
      let changed = false;
      for (const r of ranges) {
        for (let s = r.from; s <= r.to; s++) {
          const owner = cur.owner[s]!;
          const target = cur.target[s]!;
          if (target !== NO_GROUP) {
            if (target !== gid) return `ERR slot ${s} is moving from group ${owner} to group ${target}: a move only goes forward; wait for it to end (RAFT.SHARDS STATUS)`;
            continue;
          }
          if (owner === gid) continue;
          if (owner === NO_GROUP) next.owner[s] = gid;
          else next.target[s] = gid;
          changed = true;
        }
      }
      return changed ? next : undefined;
    });
    if (err !== undefined) return err;
    this.kick();
    return undefined;
  }

  /**
   * RAFT.SHARDS REBALANCE on group 0's leader: every group of the map gets
   * an even share of the assigned slots (16384 / groups, the first groups by
   * id one more), moving the highest slots of the groups above their share to
   * the groups below it, in one map change; resolves when the moves ended.
   */
  async rebalance(): Promise<string | undefined> {
    let moved = 0;
    const err = await this.changeWith((cur) => {
      if (anyMoving(cur)) return 'ERR slots are moving; wait for the moves to end (RAFT.SHARDS STATUS)';
      const gids = [...cur.groups.keys()].sort((a, b) => a - b);
      if (gids.length === 0) return 'ERR the slot map has no group';
      const have = new Map(gids.map((g) => [g, 0]));
      let assigned = 0;
      for (let s = 0; s < SLOT_COUNT; s++) {
        const o = cur.owner[s]!;
        if (o === NO_GROUP) continue;
        have.set(o, have.get(o)! + 1);
        assigned++;
      }
      const want = new Map(gids.map((g, i) => [g, Math.floor(assigned / gids.length) + (i < assigned % gids.length ? 1 : 0)]));
      const next = cloneSlotMap(cur);
      const takers = gids.filter((g) => have.get(g)! < want.get(g)!);
      let t = 0;
      for (let s = SLOT_COUNT - 1; s >= 0 && t < takers.length; s--) {
        const o = cur.owner[s]!;
        if (o === NO_GROUP || have.get(o)! <= want.get(o)!) continue;
        const to = takers[t]!;
        next.target[s] = to;
        have.set(o, have.get(o)! - 1);
        have.set(to, have.get(to)! + 1);
        moved++;
        if (have.get(to)! >= want.get(to)!) t++;
      }
      return moved > 0 ? next : undefined;
    });
    if (err !== undefined) return err;
    this.kick();
    return this.waitMoved((m) => !anyMoving(m));
  }

  /** Waits (polling the map) until `done` holds for it; an error when this node stops being group 0's leader. */
  private async waitMoved(done: (m: SlotMap) => boolean): Promise<string | undefined> {
    for (;;) {
      if (done(this.state.map)) return undefined;
      if (!this.e.node.isLeader) return "ERR this node is no longer group 0's leader; the move goes on, driven by the new one (RAFT.SHARDS STATUS on group 0 says where it is)";
      await sleep(50);
    }
  }

  /** On group 0's leader: drives the map's moves, if any, until none is left (started by MOVE, REBALANCE and every poll, so a new leader resumes them). */
  kick(): void {
    if (this.group !== 0 || this.driving || !this.e.node.isLeader || !anyMoving(this.state.map)) return;
    this.driving = true;
    void this.drive().finally(() => (this.driving = false));
  }

  private async drive(): Promise<void> {
    let idle = 0;
    while (this.e.node.isLeader && anyMoving(this.state.map)) {
      let progressed = false;
      try {
        progressed = await this.driveRound();
      } catch (e) {
        log.debug(`driving the moves: ${(e as Error).message}`);
      }
      if (progressed) idle = 0;
      else await sleep(Math.min(1000, 50 * ++idle));
    }
  }

  /**
   * One round: each source group's leader ships for a while (DRAIN); a
   * source with no key left in its moving slots has them released and the
   * map gives them to their target (the phase 1 path: RELEASE checks at its
   * log position that no key is there, else nothing changes).
   */
  private async driveRound(): Promise<boolean> {
    const map = this.state.map;
    const sources = new Set<number>();
    for (let s = 0; s < SLOT_COUNT; s++) if (map.target[s] !== NO_GROUP) sources.add(map.owner[s]!);
    let progressed = false;
    const empty = new Set<number>();
    await Promise.all(
      [...sources].map(async (src) => {
        try {
          const r = await this.callLeader(src, ['RAFT.SHARDS', 'DRAIN', String(map.epoch)], DRAIN_TIMEOUT_MS);
          if (r === 0) empty.add(src);
          else if (typeof r === 'number') progressed = true;
          else log.debug(`group ${src} DRAIN: ${r instanceof RespError ? r.message : JSON.stringify(r)}`);
        } catch (e) {
          log.debug(`group ${src} DRAIN: ${(e as Error).message}`);
        }
      }),
    );
    if (empty.size === 0) return progressed;
    const err = await this.changeWith((cur) => {
      const next = cloneSlotMap(cur);
      let changed = false;
      for (let s = 0; s < SLOT_COUNT; s++) {
        if (cur.target[s] === NO_GROUP || !empty.has(cur.owner[s]!)) continue;
        next.owner[s] = cur.target[s]!;
        next.target[s] = NO_GROUP;
        changed = true;
      }
      return changed ? next : undefined;
    });
    if (err !== undefined) log.info(`ending a move: ${err}`);
    return err === undefined || progressed;
  }

  /**
   * RAFT.SHARDS DRAIN <epoch> on a source group's leader: ships keys of its
   * slots moving away for up to DRAIN_BUDGET_MS and answers how many are
   * left (0: none; group 0 then ends the move). One round at a time; a
   * second call waits for the running one.
   */
  drain(epoch: number): Promise<number | string> {
    if (this.state.adopted.epoch < epoch) {
      void this.poll();
      return Promise.resolve(`TRYAGAIN group ${this.group} has not adopted slot configuration ${epoch} yet`);
    }
    this.draining ??= this.drainRound().finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async drainRound(): Promise<number> {
    const deadline = Date.now() + DRAIN_BUDGET_MS;
    // Keys frozen before (by an earlier round, or a leader before this one) are shipped first.
    for (const [db, keys] of this.state.frozenKeys()) {
      for (let i = 0; i < keys.length; i += SHIP_BATCH) await this.ship(db, keys.slice(i, i + SHIP_BATCH));
    }
    // A slot moving away never gets a new key, so the keys of its slots counted now are every key left to ship.
    // The per-slot key index (a sharded node's keyspace keeps one) gives them slot by slot: O(moving slots +
    // their keys) per round, not a walk of the group's whole keyspace.
    const moving: number[] = [];
    for (let s = 0; s < SLOT_COUNT; s++) if (this.state.movingTo(s) !== NO_GROUP) moving.push(s);
    let total = 0;
    for (let db = 0; db < this.e.dbs.count; db++) {
      const ks = this.e.dbs.get(db);
      if (ks.size !== 0) for (const s of moving) total += ks.countInSlot(s);
    }
    for (let db = 0; db < this.e.dbs.count && total > 0; db++) {
      const ks = this.e.dbs.get(db);
      if (ks.size === 0) continue;
      // Slots' keys are copied into the batch (shipping deletes them from the lists), shipped SHIP_BATCH at a time.
      let batch: string[] = [];
      for (let j = 0; j <= moving.length; j++) {
        const last = j === moving.length;
        if (!last && ks.countInSlot(moving[j]!) > 0) for (const k of ks.keysInSlot(moving[j]!)) batch.push(k);
        let at = 0;
        while (batch.length - at >= SHIP_BATCH || (last && batch.length > at)) {
          if (Date.now() > deadline) return Math.max(0, total);
          const part = batch.slice(at, at + SHIP_BATCH);
          at += part.length;
          const started = Date.now();
          const r = await this.proposeInternal(['RAFT.SHARDS', 'FREEZE', String(db), ...part]);
          if (r.startsWith('-')) throw new Error(`FREEZE: ${r.slice(1).trim()}`);
          await this.ship(db, part);
          total -= part.length;
          await sleep(Math.min(DRAIN_PACE_MAX_MS, Date.now() - started));
        }
        if (at > 0) batch = batch.slice(at);
      }
    }
    return Math.max(0, total);
  }

  /** Dumps frozen keys from the applied state, has their slot's new group commit them (IMPORT), then deletes them here (SHIPPED). */
  private async ship(db: number, keys: readonly string[]): Promise<void> {
    const ks = this.e.dbs.get(db);
    const byTarget = new Map<number, string[]>();
    const frozen = this.state.frozen.get(db);
    for (const k of keys) {
      // Only frozen keys: a key not frozen may still be written here, so a copy elsewhere would be a second one.
      const v = frozen?.has(k) === true ? ks.peek(k) : undefined;
      const target = this.state.adopted.target[keyHashSlot(k)]!;
      if (v === undefined || target === NO_GROUP) continue;
      let items = byTarget.get(target);
      if (items === undefined) byTarget.set(target, (items = []));
      items.push(k, String(ks.expireAt(k) ?? 0), createDumpPayload(v).toString('latin1'));
    }
    for (const [target, items] of byTarget) {
      const r = await this.callLeader(target, ['RAFT.SHARDS', 'IMPORT', String(this.group), String(this.e.node.term), String(db), ...items], IMPORT_TIMEOUT_MS);
      if (typeof r !== 'number') throw new Error(`group ${target} IMPORT: ${r instanceof RespError ? r.message : JSON.stringify(r)}`);
    }
    const r = await this.proposeInternal(['RAFT.SHARDS', 'SHIPPED', String(db), ...keys]);
    if (r.startsWith('-')) throw new Error(`SHIPPED: ${r.slice(1).trim()}`);
  }

  // ---- Redis Cluster's resharding commands mapped onto the moves (redis-cli --cluster reshard / rebalance) ----

  /** The group of a node named by its CLUSTER NODES id, from the newest map. */
  groupOfNode(nodeId: string): number | undefined {
    for (const [gid, members] of this.latest().groups) {
      for (const m of members) if (clusterNodeId(this.e.info.clusterId, m.id, gid) === nodeId) return gid;
    }
    return undefined;
  }

  /** The group one of whose members has this client address. */
  groupOfAddress(host: string, port: number): number | undefined {
    for (const [gid, members] of this.latest().groups) {
      if (members.some((m) => m.port === port && (m.host === host || (isLoopback(m.host) && isLoopback(host))))) return gid;
    }
    for (const [gid, v] of this.views) if (v.members.some((m) => m.port === port && m.host === host)) return gid;
    return undefined;
  }

  /**
   * CLUSTER SETSLOT s IMPORTING / MIGRATING / NODE: has group 0 start moving
   * the slot to `target` (nothing if it already moves there, or is there),
   * then waits until `ready` holds for this node's state (its group adopted
   * the move, or the move ended); a string is the error.
   */
  async setSlot(slot: number, target: number, ready: () => boolean, timeoutMs: number): Promise<string | undefined> {
    const r = await this.callLeader(0, ['RAFT.SHARDS', 'BEGINMOVE', String(target), String(slot)]);
    if (r instanceof RespError) return r.message;
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) return `TRYAGAIN slot ${slot} is moving to group ${target}; this node has not seen it yet, retry`;
      void this.poll();
      await sleep(50);
    }
    return undefined;
  }

  /**
   * MIGRATE to a node of another group of this cluster, on this group's
   * leader: the keys' slots must be moving to that group (SETSLOT MIGRATING
   * or MOVE); they are frozen, shipped and deleted here as a DRAIN round
   * does. NOKEY when none of them is here (already shipped, or never was).
   */
  async migrate(db: number, target: number, keys: readonly string[]): Promise<string> {
    // Group 0's leader ships a moving slot's keys too: between redis-cli's GETKEYSINSLOT and its MIGRATE the
    // move may have ended (every key shipped, the slot released, the map adopted with `target` owning it).
    // Such keys are no longer here: nothing to ship, as for a key that does not exist (NOKEY).
    const moving: string[] = [];
    for (const k of keys) {
      const slot = keyHashSlot(k);
      if (this.state.movingTo(slot) === target) moving.push(k);
      else if (this.state.adopted.owner[slot] !== target || this.state.adopted.target[slot] !== NO_GROUP) {
        return `-ERR slot ${slot} is not moving from this group to group ${target}: CLUSTER SETSLOT ${slot} MIGRATING (or RAFT.SHARDS MOVE) first`;
      }
    }
    if (moving.length === 0) return '+NOKEY';
    keys = moving;
    const r = await this.proposeInternal(['RAFT.SHARDS', 'FREEZE', String(db), ...keys]);
    if (r.startsWith('-')) return r.trim();
    const frozen = this.state.frozen.get(db);
    if (!keys.some((k) => frozen?.has(k) === true)) return '+NOKEY';
    await this.ship(db, keys);
    return '+OK';
  }

  /** The groups, for RAFT.SHARDS STATUS and ./cluster.sh status. */
  statusText(): string {
    const map = this.latest();
    const lines = [
      '# Shards',
      `group:${this.group}`,
      `configuration:${map.epoch}`,
      `adopted_configuration:${this.state.adopted.epoch}`,
      `pending_released_slots:${this.state.pendingReleases()}`,
      `frozen_keys:${this.state.frozenKeys().reduce((n, [, ks]) => n + ks.length, 0)}`,
    ];
    const moving = movingRanges(map);
    lines.push(`moving_slots:${moving.reduce((n, [from, to]) => n + to - from + 1, 0)}`);
    moving.forEach(([from, to, target], i) => lines.push(`moving_${i}:slots=${rangeText(from, to)},from=${map.owner[from]},to=${target}`));
    for (const gid of [...map.groups.keys()].sort((a, b) => a - b)) {
      const v = this.view(gid);
      const ranges = [];
      for (let s = 0, start = -1; s <= SLOT_COUNT; s++) {
        const mine = s < SLOT_COUNT && map.owner[s] === gid;
        if (mine && start < 0) start = s;
        if (!mine && start >= 0) {
          ranges.push(start === s - 1 ? `${start}` : `${start}-${s - 1}`);
          start = -1;
        }
      }
      const leader = v.members.find((m) => m.id === v.leader);
      lines.push(
        `group_${gid}:leader=${leader !== undefined ? `${leader.id}@${leader.host}:${leader.port}` : '-'},members=${v.members.map((m) => `${m.id}@${m.host}:${m.port}`).join(';')},slots=${ranges.join(';') || '-'}`,
      );
    }
    return lines.join('\r\n') + '\r\n';
  }
}

const isLoopback = (h: string): boolean => h === 'localhost' || h === '::1' || h.startsWith('127.');

/** Whether every slot of the range is owned by gid and not moving. */
function allOwned(m: SlotMap, r: SlotRange, gid: number): boolean {
  for (let s = r.from; s <= r.to; s++) if (m.owner[s] !== gid || m.target[s] !== NO_GROUP) return false;
  return true;
}
