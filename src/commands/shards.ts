/**
 * RAFT.SHARDS: the slot map of a sharded cluster (issue 21, phase 1; see
 * docs/decisions.md "Sharding, phase 1").
 *
 *   RAFT.SHARDS ADDGROUP <gid> <id@host:port[@clusterport]> …   group 0's leader: a new group
 *   RAFT.SHARDS ASSIGN <gid> <slot|from-to> …                    group 0's leader: slots to a group
 *   RAFT.SHARDS MOVE <gid> <slot|from-to> …                      group 0's leader: move slots with their keys (phase 2)
 *   RAFT.SHARDS REBALANCE                                        group 0's leader: even shares for every group
 *   RAFT.SHARDS REMOVEGROUP <gid>                                group 0's leader: a group that owns no slot leaves the map
 *   RAFT.SHARDS MAP                                              the newest map this node knows (JSON)
 *   RAFT.SHARDS STATUS                                           groups, leaders, slot ranges (text)
 *
 * and the replicated steps nodes send each other (each a log entry of the
 * group it is sent to, applied by shardsApplied on every replica):
 *
 *   RAFT.SHARDS RELEASE <epoch> <slot|from-to> …   stop serving empty slots for the map of that epoch
 *   RAFT.SHARDS ADOPT <json>                        adopt group 0's map (proposed by a group's leader
 *                                                   itself; from a client only a hint to fetch the map now)
 *   RAFT.SHARDS SETMAP <expected epoch> <json>      group 0 only, proposed by its leader itself
 *   RAFT.SHARDS FREEZE <db> <key> …                 a source group's leader itself: keys it ships next
 *   RAFT.SHARDS SHIPPED <db> <key> …                the same, once the target committed them: delete here
 *   RAFT.SHARDS IMPORT <gid> <term> <db> <key> <absttl> <payload> …
 *                                                   source leader → target leader: shipped keys
 *
 * and RAFT.SHARDS DRAIN <epoch> (group 0's leader → a source group's leader:
 * ship for a while, answer the number of keys left), not a log entry.
 */
import type { EngineClient as Client } from './engine/engine.js';
import { NO_GROUP, SLOT_COUNT, cloneSlotMap, decodeSlotMap, encodeSlotMap, parseGroupMember, parseSlotRange, type GroupMember, type SlotRange } from '../util/slot-map.js';
import { keyHashSlot, leaderRedirect } from './routing.js';
import { ERR } from './errors.js';
import { writeHelp } from './help.js';
import type { ConnCtx, ConnHandler, HandlerSet } from './table.js';

const NOT_SHARDED = 'ERR this node is not part of a sharded cluster (started without --group)';
const CHANGING = 'ERR a slot map change is in progress; retry when it has completed';
const CONFIG_ONLY = 'ERR the slot map is changed on group 0 (the configuration group): send this to one of its nodes';

function arity(sub: string): string {
  return `ERR wrong number of arguments for 'raft.shards|${sub}' command`;
}

function parseRanges(args: readonly string[]): SlotRange[] | string {
  const out: SlotRange[] = [];
  for (const a of args) {
    const r = parseSlotRange(a);
    if (typeof r === 'string') return r;
    out.push(r);
  }
  return out;
}

function parseEpoch(s: string): number | undefined {
  return /^\d{1,15}$/.test(s) ? Number(s) : undefined;
}

function parseGid(s: string): number | undefined {
  return /^\d{1,5}$/.test(s) && Number(s) <= 16383 ? Number(s) : undefined;
}

/** Answers later, in order, with OK or the error text (never inside MULTI: RAFT.SHARDS is no_multi). */
function later(c: Client, p: Promise<string | undefined>): void {
  const slot = c.defer();
  p.then(
    (err) => (err === undefined ? slot.ok() : slot.error(err)),
    (e: Error) => slot.error(`ERR ${e.message}`),
  ).finally(() => c.complete(slot));
}

function raftShards({ c, w, engine }: ConnCtx, argv: string[]): void {
  const sub = argv[1]!.toLowerCase();
  const shards = engine.shards;
  const router = engine.shardRouter;
  const node = engine.node;
  if (sub === 'help' && argv.length === 2) {
    return writeHelp(w, 'raft.shards', [
      'ADDGROUP <gid> <id@host:port[@clusterport]> [...]',
      "    On group 0 (the configuration group): add a data group and its members to the slot map.",
      'ASSIGN <gid> <slot|from-to> [...]',
      '    On group 0: give slots to a group. A slot another group owns moves only if it holds no key.',
      'MOVE <gid> <slot|from-to> [...]',
      '    On group 0: move slots, with their keys, to a group; answers when they are its. Resumed by any later leader of group 0.',
      'BEGINMOVE <gid> <slot|from-to> [...]',
      '    On group 0: start moving slots to a group and answer at once (what CLUSTER SETSLOT sends).',
      'REBALANCE',
      '    On group 0: spread the assigned slots evenly over every group (empty ones too), moving their keys.',
      'REMOVEGROUP <gid>',
      '    On group 0: remove a group that owns no slot from the map (its nodes then serve nothing; stop them).',
      'MAP',
      '    The newest slot map this node knows, as JSON.',
      'STATUS',
      "    This node's group, the configuration it knows and the one its group adopted, each group's leader, members and slots.",
    ]);
  }
  if (!shards.sharded) return w.error(NOT_SHARDED);
  switch (sub) {
    case 'map':
      if (argv.length !== 2) return w.error(arity(sub));
      return w.bulk(encodeSlotMap(router.latest()));
    case 'status':
      if (argv.length !== 2) return w.error(arity(sub));
      return w.verbatim(router.statusText());
    case 'release': {
      if (argv.length < 4) return w.error(arity(sub));
      if (parseEpoch(argv[2]!) === undefined) return w.error('ERR invalid configuration number');
      const ranges = parseRanges(argv.slice(3));
      if (typeof ranges === 'string') return w.error(ranges);
      if (!node.isLeader) return w.error(leaderRedirect(node, 0));
      return engine.dispatcher.propose(c, [argv], false);
    }
    case 'adopt': {
      // From a client (group 0's leader after a change): only a hint that a newer map exists. The node
      // fetches it from group 0 itself, so no map a client sends is ever adopted.
      if (argv.length !== 3) return w.error(arity(sub));
      const m = decodeSlotMap(argv[2]!);
      if (typeof m === 'string') return w.error(`ERR ${m}`);
      if (shards.group !== 0 && m.epoch > router.latest().epoch) void router.poll();
      return w.ok();
    }
    case 'setmap':
      return w.error("ERR RAFT.SHARDS SETMAP is proposed by group 0's leader itself; use ADDGROUP or ASSIGN");
    case 'addgroup':
    case 'assign': {
      if (argv.length < 4) return w.error(arity(sub));
      if (shards.group !== 0) return w.error(CONFIG_ONLY);
      const gid = parseGid(argv[2]!);
      if (gid === undefined) return w.error('ERR invalid group id: 0 to 16383 expected');
      let members: GroupMember[] | undefined;
      let ranges: SlotRange[] | undefined;
      if (sub === 'addgroup') {
        members = [];
        for (const a of argv.slice(3)) {
          const m = parseGroupMember(a);
          if (typeof m === 'string') return w.error(m);
          if (members.some((x) => x.id === m.id)) return w.error(`ERR member id ${m.id} named twice`);
          members.push(m);
        }
      } else {
        const r = parseRanges(argv.slice(3));
        if (typeof r === 'string') return w.error(r);
        ranges = r;
      }
      if (!node.isLeader) return w.error(leaderRedirect(node, 0));
      if (router.changing) return w.error(CHANGING);
      router.changing = true;
      const change = router.changeWith((cur) => {
        const next = cloneSlotMap(cur);
        if (members !== undefined) {
          if (next.groups.has(gid)) return `ERR group ${gid} already exists`;
          next.groups.set(gid, members);
          return next;
        }
        if (!next.groups.has(gid)) return `ERR no group ${gid}: add it first (RAFT.SHARDS ADDGROUP)`;
        for (const r of ranges!) {
          for (let s = r.from; s <= r.to; s++) {
            if (next.target[s] !== NO_GROUP) return `ERR slot ${s} is moving from group ${next.owner[s]} to group ${next.target[s]}: wait for the move to end`;
          }
          next.owner.fill(gid, r.from, r.to + 1);
        }
        return next;
      });
      later(c, change.finally(() => (router.changing = false)));
      return;
    }
    case 'move':
    case 'beginmove': {
      // BEGINMOVE (CLUSTER SETSLOT on a group's leader → group 0's leader) starts moving and does not wait; MOVE waits for the end.
      if (argv.length < 4) return w.error(arity(sub));
      if (shards.group !== 0) return w.error(CONFIG_ONLY);
      const gid = parseGid(argv[2]!);
      if (gid === undefined) return w.error('ERR invalid group id: 0 to 16383 expected');
      const ranges = parseRanges(argv.slice(3));
      if (typeof ranges === 'string') return w.error(ranges);
      if (!node.isLeader) return w.error(leaderRedirect(node, 0));
      return later(c, sub === 'move' ? router.move(gid, ranges) : router.beginMove(gid, ranges));
    }
    case 'removegroup': {
      if (argv.length !== 3) return w.error(arity(sub));
      if (shards.group !== 0) return w.error(CONFIG_ONLY);
      const gid = parseGid(argv[2]!);
      if (gid === undefined) return w.error('ERR invalid group id: 0 to 16383 expected');
      if (gid === 0) return w.error('ERR group 0 keeps the slot map: it cannot be removed');
      if (!node.isLeader) return w.error(leaderRedirect(node, 0));
      return later(
        c,
        router.changeWith((cur) => {
          if (!cur.groups.has(gid)) return `ERR no group ${gid}`;
          let owned = 0;
          for (let s = 0; s < SLOT_COUNT; s++) if (cur.owner[s] === gid || cur.target[s] === gid) owned++;
          if (owned > 0) return `ERR group ${gid} still owns or receives ${owned} slots: move them to other groups first (RAFT.SHARDS MOVE)`;
          const next = cloneSlotMap(cur);
          next.groups.delete(gid);
          return next;
        }),
      );
    }
    case 'rebalance': {
      if (argv.length !== 2) return w.error(arity(sub));
      if (shards.group !== 0) return w.error(CONFIG_ONLY);
      if (!node.isLeader) return w.error(leaderRedirect(node, 0));
      return later(c, router.rebalance());
    }
    case 'drain': {
      // Group 0's leader → a source group's leader: ship keys of the slots moving away for a while.
      if (argv.length !== 3) return w.error(arity(sub));
      const epoch = parseEpoch(argv[2]!);
      if (epoch === undefined) return w.error('ERR invalid configuration number');
      if (!node.isLeader) return w.error(leaderRedirect(node, 0));
      const slot = c.defer();
      router.drain(epoch).then(
        (r) => (typeof r === 'number' ? slot.int(r) : slot.error(r)),
        (e: Error) => slot.error(`ERR ${e.message}`),
      ).finally(() => c.complete(slot));
      return;
    }
    case 'import': {
      // A source group's leader → this group's leader: keys to commit in this group's log (applied below).
      if (argv.length < 8 || (argv.length - 5) % 3 !== 0) return w.error(arity(sub));
      if (parseGid(argv[2]!) === undefined || parseEpoch(argv[3]!) === undefined || parseEpoch(argv[4]!) === undefined) return w.error('ERR RAFT.SHARDS IMPORT <source gid> <source term> <db> <key> <absttl> <payload> ...');
      if (!node.isLeader) return w.error(leaderRedirect(node, 0));
      return engine.dispatcher.propose(c, [argv], false);
    }
    case 'freeze':
    case 'shipped':
      return w.error(`ERR RAFT.SHARDS ${sub.toUpperCase()} is proposed by a group's leader itself while it ships keys`);
    default:
      return w.error(`ERR unknown subcommand '${argv[1]!}'. Try RAFT.SHARDS HELP.`);
  }
}

/** The replicated steps, applied on every replica of the group whose log holds them. */
export const shardsApplied: NonNullable<HandlerSet['applied']> = {
  'raft.shards': {
    // Never logged as part of a client's transaction (RAFT.SHARDS is no_multi): only the conn
    // handler (RELEASE) and the router (ADOPT, SETMAP) propose these entries.
    when: () => false,
    apply: ({ shards }, argv, w) => {
      const sub = argv[1]!.toLowerCase();
      let err: string | undefined;
      if (sub === 'release') {
        const ranges = parseRanges(argv.slice(3));
        err = typeof ranges === 'string' ? ranges : shards.applyRelease(Number(argv[2]), ranges);
      } else if (sub === 'adopt') {
        err = shards.applyAdopt(argv[2]!);
      } else if (sub === 'setmap') {
        err = shards.applySetMap(Number(argv[2]), argv[3]!);
      } else if (sub === 'freeze' || sub === 'shipped') {
        const db = Number(argv[2]);
        if (!Number.isInteger(db) || db < 0 || db >= shards.databases) return w.error('ERR DB index is out of range');
        return w.int(sub === 'freeze' ? shards.applyFreeze(db, argv.slice(3)) : shards.applyShipped(db, argv.slice(3)));
      } else if (sub === 'import') {
        const r = shards.applyImport(Number(argv[2]), Number(argv[3]), Number(argv[4]), argv.slice(5));
        return typeof r === 'number' ? w.int(r) : w.error(r);
      } else {
        err = `ERR RAFT.SHARDS ${argv[1]} is not a replicated step`;
      }
      if (err !== undefined) w.error(err);
      else w.ok();
    },
  },
};

/**
 * CLUSTER SETSLOT <slot> IMPORTING|MIGRATING <node id> | NODE <node id> | STABLE,
 * as redis-cli --cluster reshard / rebalance send them to the masters (group
 * leaders), mapped onto RAFT.SHARDS moves: IMPORTING and MIGRATING start the
 * move in group 0's map (the same move; whichever comes first starts it) and
 * answer once this node's group adopted it; NODE answers once the move ended
 * (group 0's leader ships whatever MIGRATE has not); STABLE is refused while
 * the slot moves (a move only goes forward).
 */
function clusterSetslot({ c, w, engine }: ConnCtx, argv: string[]): void {
  const shards = engine.shards;
  const router = engine.shardRouter;
  if (!shards.sharded) return w.error('ERR CLUSTER SETSLOT needs a sharded cluster (nodes started with --group): a single group owns every slot');
  if (!/^\d+$/.test(argv[2]!) || Number(argv[2]) >= SLOT_COUNT) return w.error('ERR Invalid or out of range slot');
  const slot = Number(argv[2]);
  if (!engine.node.isLeader) return w.error('ERR Please use SETSLOT only with masters.');
  const action = argv[3]!.toLowerCase();
  const map = router.latest();
  const mine = shards.group!;
  const answer = (p: Promise<string | undefined>): void => later(c, p);
  if ((action === 'migrating' || action === 'importing' || action === 'node') && argv.length === 5) {
    const other = router.groupOfNode(argv[4]!);
    if (other === undefined) return w.error(action === 'node' ? `ERR Unknown node ${argv[4]}` : `ERR I don't know about node ${argv[4]}`);
    if (action === 'migrating') {
      if (other === mine) return w.error("ERR Can't MIGRATE to myself");
      // The move IMPORTING started may already have ended (group 0's leader drives it: an empty slot ends at once).
      if (map.owner[slot] !== mine && map.owner[slot] !== other) return w.error(`ERR I'm not the owner of hash slot ${slot}`);
      return answer(router.setSlot(slot, other, () => shards.movingTo(slot) === other || shards.adopted.owner[slot] === other, 15_000));
    }
    if (action === 'importing') {
      if (map.owner[slot] === mine) return w.error(`ERR I'm already the owner of hash slot ${slot}`);
      if (other === mine) return w.error("ERR Can't IMPORT from myself");
      if (map.owner[slot] !== other) return w.error(`ERR slot ${slot} is owned by group ${map.owner[slot]}, not by that node's group ${other}`);
      return answer(router.setSlot(slot, mine, () => shards.importing(slot) || shards.serves(slot), 15_000));
    }
    // NODE: the move to that node's group ends (or is done already).
    return answer(
      router.setSlot(
        slot,
        other,
        () => {
          const m = router.latest();
          return m.owner[slot] === other && m.target[slot] === NO_GROUP;
        },
        120_000,
      ),
    );
  }
  if (action === 'stable' && argv.length === 4) {
    if (map.target[slot] !== NO_GROUP) return w.error(`ERR slot ${slot} is moving from group ${map.owner[slot]} to group ${map.target[slot]}: a move only goes forward (RAFT.SHARDS STATUS)`);
    return w.ok();
  }
  return w.error('ERR Invalid CLUSTER SETSLOT action or number of arguments');
}

/**
 * MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH pw]
 * [AUTH2 user pw] [KEYS key …] to a node of another group of this cluster
 * (its leader ships: RAFT.SHARDS IMPORT there). Only raftis groups of the same
 * cluster are targets; the key keeps its database; COPY is refused (a key
 * lives in one group).
 */
function migrate({ c, w, engine }: ConnCtx, argv: string[]): void {
  if (!engine.shards.sharded) return w.error('ERR MIGRATE moves keys between the groups of a sharded raftis cluster (nodes started with --group)');
  let keys: string[] = [];
  let copy = false;
  for (let j = 6; j < argv.length; j++) {
    const o = argv[j]!.toLowerCase();
    const more = argv.length - j - 1;
    if (o === 'copy') copy = true;
    else if (o === 'replace') continue;
    else if (o === 'auth' && more >= 1) j++;
    else if (o === 'auth2' && more >= 2) j += 2;
    else if (o === 'keys') {
      if (argv[3] !== '') return w.error('ERR When using MIGRATE KEYS option, the key argument must be set to the empty string');
      keys = argv.slice(j + 1);
      break;
    } else return w.error(ERR.syntax);
  }
  if (argv[3] !== '') keys = [argv[3]!];
  if (!/^\d+$/.test(argv[5]!) || !/^-?\d+$/.test(argv[4]!)) return w.error(ERR.notInteger);
  if (keys.length === 0) return w.simple('NOKEY');
  if (copy) return w.error('ERR MIGRATE COPY is not supported between raftis groups: a key lives in exactly one group');
  if (Number(argv[4]) !== c.dbIndex) return w.error("ERR MIGRATE between raftis groups keeps a key's database: destination-db must be the client's own");
  const target = engine.shardRouter.groupOfAddress(argv[1]!, Number(argv[2]));
  if (target === undefined || target === engine.shards.group) {
    return w.error(`ERR MIGRATE target ${argv[1]}:${argv[2]} is not a node of another group of this raftis cluster: only raftis groups are MIGRATE targets`);
  }
  if (!engine.node.isLeader) return w.error(leaderRedirect(engine.node, keyHashSlot(keys[0]!)));
  const slot = c.defer();
  engine.shardRouter.migrate(c.dbIndex, target, keys).then(
    (r) => (r.startsWith('+') ? slot.simple(r.slice(1)) : slot.error(r.slice(1))),
    (e: Error) => slot.error(`IOERR ${e.message}`),
  ).finally(() => c.complete(slot));
}

export const shardsCommands: Record<string, ConnHandler> = {
  'raft.shards': raftShards,
  'cluster|setslot': clusterSetslot,
  migrate,
};

