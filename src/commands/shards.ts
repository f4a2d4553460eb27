/**
 * RAFT.SHARDS: the slot map of a sharded cluster (issue 21, phase 1; see
 * docs/decisions.md "Sharding, phase 1").
 *
 *   RAFT.SHARDS ADDGROUP <gid> <id@host:port[@clusterport]> …   group 0's leader: a new group
 *   RAFT.SHARDS ASSIGN <gid> <slot|from-to> …                    group 0's leader: slots to a group
 *   RAFT.SHARDS MOVE <gid> <slot|from-to> …                      group 0's leader: move slots with their keys (phase 2)
 *   RAFT.SHARDS REBALANCE                                        group 0's leader: even shares for every group
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
import { NO_GROUP, cloneSlotMap, decodeSlotMap, encodeSlotMap, parseGroupMember, parseSlotRange, type GroupMember, type SlotRange } from '../util/slot-map.js';
import { leaderRedirect } from './routing.js';
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
      'REBALANCE',
      '    On group 0: spread the assigned slots evenly over every group (empty ones too), moving their keys.',
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
    case 'move': {
      if (argv.length < 4) return w.error(arity(sub));
      if (shards.group !== 0) return w.error(CONFIG_ONLY);
      const gid = parseGid(argv[2]!);
      if (gid === undefined) return w.error('ERR invalid group id: 0 to 16383 expected');
      const ranges = parseRanges(argv.slice(3));
      if (typeof ranges === 'string') return w.error(ranges);
      if (!node.isLeader) return w.error(leaderRedirect(node, 0));
      return later(c, router.move(gid, ranges));
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

export const shardsCommands: Record<string, ConnHandler> = {
  'raft.shards': raftShards,
};

