/**
 * RAFT.SHARDS: the slot map of a sharded cluster (issue 21, phase 1; see
 * docs/decisions.md "Sharding, phase 1").
 *
 *   RAFT.SHARDS ADDGROUP <gid> <id@host:port[@clusterport]> …   group 0's leader: a new group
 *   RAFT.SHARDS ASSIGN <gid> <slot|from-to> …                    group 0's leader: slots to a group
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
 */
import type { EngineClient as Client } from './engine/engine.js';
import { cloneSlotMap, decodeSlotMap, encodeSlotMap, parseGroupMember, parseSlotRange, type GroupMember, type SlotRange } from '../util/slot-map.js';
import { leaderRedirect } from './routing.js';
import { writeHelp } from './help.js';
import type { ConnCtx, ConnHandler, HandlerSet } from './table.js';

const NOT_SHARDED = 'ERR this node is not part of a sharded cluster (started without --group)';
const CHANGING = 'ERR a slot map change is in progress; retry when it has completed';

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
      if (shards.group !== 0) return w.error('ERR the slot map is changed on group 0 (the configuration group): send this to one of its nodes');
      const gid = parseGid(argv[2]!);
      if (gid === undefined) return w.error('ERR invalid group id: 0 to 16383 expected');
      const next = cloneSlotMap(shards.map);
      if (sub === 'addgroup') {
        if (next.groups.has(gid)) return w.error(`ERR group ${gid} already exists`);
        const members: GroupMember[] = [];
        for (const a of argv.slice(3)) {
          const m = parseGroupMember(a);
          if (typeof m === 'string') return w.error(m);
          if (members.some((x) => x.id === m.id)) return w.error(`ERR member id ${m.id} named twice`);
          members.push(m);
        }
        next.groups.set(gid, members);
      } else {
        if (!next.groups.has(gid)) return w.error(`ERR no group ${gid}: add it first (RAFT.SHARDS ADDGROUP)`);
        const ranges = parseRanges(argv.slice(3));
        if (typeof ranges === 'string') return w.error(ranges);
        for (const r of ranges) next.owner.fill(gid, r.from, r.to + 1);
      }
      if (!node.isLeader) return w.error(leaderRedirect(node, 0));
      if (router.changing) return w.error(CHANGING);
      router.changing = true;
      later(c, router.change(next).finally(() => (router.changing = false)));
      return;
    }
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

