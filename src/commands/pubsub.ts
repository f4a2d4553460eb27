/**
 * Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH
 * SSUBSCRIBE SUNSUBSCRIBE SPUBLISH PUBSUB. Connection/server commands: they run on any node, leader or
 * follower, and never go through Raft. PUBLISH reaches subscribers on every
 * node (src/server/pubsub.ts); PUBSUB introspection is node-local, as in
 * Redis Cluster.
 */
import type { EngineClient as Client } from './engine/engine.js';
import { globMatch } from '../keyspace/glob.js';
import { pubsubContextError, subcommandSyntaxError } from './errors.js';
import { type PubSub, writeSubscription } from './engine/pubsub.js';
import type { RespWriter } from '../server/resp-writer.js';
import { writeHelp } from './help.js';
import { CLUSTERDOWN_NO_LEADER } from './routing.js';
import type { CommandDef, ConnHandler, ConnCtx } from './table.js';

/** What a RESP2 client may run while subscribed (server.c processCommand). */
const ALLOWED_WHEN_SUBSCRIBED = new Set(['ping', 'subscribe', 'ssubscribe', 'unsubscribe', 'sunsubscribe', 'psubscribe', 'punsubscribe', 'quit', 'reset']);

/**
 * Redis's subscribed-context rule: a RESP2 connection with subscriptions
 * may only run the commands above; RESP3 connections may run anything (the
 * messages come as push frames). Returns the error to reply, if any.
 */
export function subscribedContextError(c: Client, def: CommandDef): string | undefined {
  if (c.proto !== 2 || !c.inPubSub) return undefined;
  const top = def.name.includes('|') ? def.name.slice(0, def.name.indexOf('|')) : def.name;
  return ALLOWED_WHEN_SUBSCRIBED.has(top) ? undefined : pubsubContextError(def.meta.name);
}

/**
 * One kind of subscription (Redis's pubsubtype): channels, patterns or
 * shard channels, each with its reply names, the client's own set, the
 * registry's add and remove, and the count its replies carry.
 */
interface SubscriptionKind {
  subscribe: string;
  unsubscribe: string;
  mine(c: Client): ReadonlySet<string>;
  add(ps: PubSub, c: Client, name: string): void;
  remove(ps: PubSub, c: Client, name: string): void;
  count(c: Client): number;
}

const CHANNELS: SubscriptionKind = {
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  mine: (c) => c.channels,
  add: (ps, c, name) => ps.subscribe(c, name),
  remove: (ps, c, name) => ps.unsubscribe(c, name),
  count: (c) => c.subscriptions,
};

const PATTERNS: SubscriptionKind = {
  subscribe: 'psubscribe',
  unsubscribe: 'punsubscribe',
  mine: (c) => c.patterns,
  add: (ps, c, name) => ps.psubscribe(c, name),
  remove: (ps, c, name) => ps.punsubscribe(c, name),
  count: (c) => c.subscriptions,
};

/** Shard channels are counted apart from channels and patterns. */
const SHARD_CHANNELS: SubscriptionKind = {
  subscribe: 'ssubscribe',
  unsubscribe: 'sunsubscribe',
  mine: (c) => c.shardChannels,
  add: (ps, c, name) => ps.ssubscribe(c, name),
  remove: (ps, c, name) => ps.sunsubscribe(c, name),
  count: (c) => c.shardChannels.size,
};

/** (P|S)SUBSCRIBE: one confirmation per name, sent even under CLIENT REPLY OFF, as Redis sends pub/sub replies. */
function subscribeTo(kind: SubscriptionKind): ConnHandler {
  return ({ c, w: reply }, argv) => {
    const ps = c.server.pubsub;
    const w = c.pushing(reply);
    for (let i = 1; i < argv.length; i++) {
      kind.add(ps, c, argv[i]!);
      writeSubscription(w, kind.subscribe, argv[i]!, kind.count(c));
    }
  };
}

/** (P|S)UNSUBSCRIBE: the names given, or all of the client's (a nil name when it has none). */
function unsubscribeFrom(kind: SubscriptionKind): ConnHandler {
  return ({ c, w: reply }, argv) => {
    const ps = c.server.pubsub;
    const w = c.pushing(reply);
    const names = argv.length > 1 ? argv.slice(1) : [...kind.mine(c)];
    if (names.length === 0) return writeSubscription(w, kind.unsubscribe, undefined, kind.count(c));
    for (const name of names) {
      kind.remove(ps, c, name);
      writeSubscription(w, kind.unsubscribe, name, kind.count(c));
    }
  };
}

function publish({ c, w }: ConnCtx, argv: string[]): void {
  w.int(c.server.pubsub.publish(argv[1]!, argv[2]!));
}

/** SSUBSCRIBE: unlike SUBSCRIBE, refused inside a transaction (Redis 7.0 makes no exception for MULTI there). */
const subscribeShard = subscribeTo(SHARD_CHANNELS);
function ssubscribe(ctx: ConnCtx, argv: string[]): void {
  if (shardDown(ctx)) return;
  if (ctx.c.inExec) return ctx.w.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
  subscribeShard(ctx, argv);
}

function spublish(ctx: ConnCtx, argv: string[]): void {
  if (shardDown(ctx)) return;
  const { c, w } = ctx;
  w.int(c.server.pubsub.spublish(argv[1]!, argv[2]!));
}

/**
 * cluster-allow-pubsubshard-when-down no: SSUBSCRIBE, SUNSUBSCRIBE with channels and SPUBLISH are refused while no
 * leader is known (raftis's cluster down), as Redis's getNodeByQuery refuses shard pub/sub on a cluster not OK.
 * `yes` (the default): shard channels work on every node whatever the cluster's state.
 */
function shardDown({ engine, w }: ConnCtx): boolean {
  if (engine.node.leader !== 0 || engine.config.get('cluster-allow-pubsubshard-when-down') === 'yes') return false;
  w.error(CLUSTERDOWN_NO_LEADER);
  return true;
}

const sunsubscribeShard = unsubscribeFrom(SHARD_CHANNELS);
function sunsubscribe(ctx: ConnCtx, argv: string[]): void {
  if (argv.length > 1 && shardDown(ctx)) return;
  sunsubscribeShard(ctx, argv);
}

/** PUBSUB CHANNELS / SHARDCHANNELS: active channels, matching a glob if given. */
function channelList(w: RespWriter, channels: Iterable<string>, argv: string[]): void {
  if (argv.length > 3) return w.error(subcommandSyntaxError(argv[1]!, 'pubsub'));
  const pat = argv[2];
  const out: string[] = [];
  for (const ch of channels) if (pat === undefined || globMatch(pat, ch)) out.push(ch);
  w.bulkArray(out);
}

/** PUBSUB NUMSUB / SHARDNUMSUB: channel, subscriber count pairs. */
function numsub(w: RespWriter, channels: ReadonlyMap<string, ReadonlySet<Client>>, argv: string[]): void {
  w.arrayHeader((argv.length - 2) * 2);
  for (let i = 2; i < argv.length; i++) {
    w.bulk(argv[i]!);
    w.int(channels.get(argv[i]!)?.size ?? 0);
  }
}

const pubsubContainer: Record<string, ConnHandler> = {
  'pubsub|channels': ({ c, w }, argv) => channelList(w, c.server.pubsub.channels.keys(), argv),
  'pubsub|numsub': ({ c, w }, argv) => numsub(w, c.server.pubsub.channels, argv),
  'pubsub|numpat': ({ c, w }, _argv) => w.int(c.server.pubsub.patterns.size),
  'pubsub|shardchannels': ({ c, w }, argv) => channelList(w, c.server.pubsub.shardChannels.keys(), argv),
  'pubsub|shardnumsub': ({ c, w }, argv) => numsub(w, c.server.pubsub.shardChannels, argv),
  'pubsub|help': ({ w }, _argv) =>
    writeHelp(w, 'pubsub', [
      'CHANNELS [<pattern>]',
      "    Return the currently active channels matching a <pattern> (default: '*').",
      'NUMPAT',
      '    Return number of subscriptions to patterns.',
      'NUMSUB [<channel> ...]',
      '    Return the number of subscribers for the specified channels, excluding',
      '    pattern subscriptions(default: no channels).',
      'SHARDCHANNELS [<pattern>]',
      "    Return the currently active shard level channels matching a <pattern> (default: '*').",
      'SHARDNUMSUB [<shardchannel> ...]',
      '    Return the number of subscribers for the specified shard level channel(s)',
    ]),
};

export const pubsubCommands: Record<string, ConnHandler> = {
  subscribe: subscribeTo(CHANNELS),
  unsubscribe: unsubscribeFrom(CHANNELS),
  psubscribe: subscribeTo(PATTERNS),
  punsubscribe: unsubscribeFrom(PATTERNS),
  publish,
  ssubscribe,
  sunsubscribe,
  spublish,
  ...pubsubContainer,
};
