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
  cloneSlotMap,
  decodeSlotMap,
  emptySlotMap,
  encodeSlotMap,
  type GroupMember,
  type SlotMap,
  type SlotRange,
} from '../../util/slot-map.js';
import { movedError } from '../errors.js';
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
  route(def: CommandDef, argv: readonly string[]): string | undefined {
    // Shard channels are routed as keys, as Redis Cluster does (their key specs say not_key).
    const keys = def.name === 'spublish' ? [argv[1]!] : def.name === 'ssubscribe' || def.name === 'sunsubscribe' ? argv.slice(1) : commandKeys(def.meta, argv);
    if (keys.length === 0) return undefined;
    const slot = keyHashSlot(keys[0]!);
    for (let i = 1; i < keys.length; i++) if (keyHashSlot(keys[i]!) !== slot) return CROSSSLOT_ERROR;
    return this.state.serves(slot) ? undefined : this.redirect(slot);
  }

  /** The same for a whole transaction at EXEC: one slot for every key of every queued command. */
  routeTransaction(cmds: readonly string[][]): string | undefined {
    let slot = -1;
    for (const argv of cmds) {
      const def = this.e.table.lookup(argv);
      if (def?.data === undefined) continue;
      for (const k of commandKeys(def.meta, argv)) {
        const s = keyHashSlot(k);
        if (slot === -1) slot = s;
        else if (s !== slot) return CROSSSLOT_ERROR;
      }
    }
    return slot === -1 || this.state.serves(slot) ? undefined : this.redirect(slot);
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
  async callLeader(gid: number, argv: string[]): Promise<RespReply> {
    const v = this.view(gid);
    const order = [...v.members].sort((a, b) => (a.id === v.leader ? -1 : b.id === v.leader ? 1 : 0));
    let last: RespReply | Error = new Error(`group ${gid} has no known member`);
    for (const m of order) {
      let host = m.host;
      let port = m.port;
      for (let hop = 0; hop < 3; hop++) {
        try {
          const r = await respCall(host, port, argv, CALL_TIMEOUT_MS, this.password());
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
  async change(next: SlotMap): Promise<string | undefined> {
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

  /** The groups, for RAFT.SHARDS STATUS and ./cluster.sh status. */
  statusText(): string {
    const map = this.latest();
    const lines = [
      '# Shards',
      `group:${this.group}`,
      `configuration:${map.epoch}`,
      `adopted_configuration:${this.state.adopted.epoch}`,
      `pending_released_slots:${this.state.pendingReleases()}`,
    ];
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
