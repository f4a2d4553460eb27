/**
 * Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH
 * SSUBSCRIBE SUNSUBSCRIBE SPUBLISH PUBSUB. Connection/server commands: they run on any node, leader or
 * follower, and never go through Raft. PUBLISH reaches subscribers on every
 * node (src/server/pubsub.ts); PUBSUB introspection is node-local, as in
 * Redis Cluster.
 */
import type { Client } from '../server/client.js';
import { globMatch } from '../keyspace/glob.js';
import { pubsubContextError, subcommandSyntaxError } from '../server/errors.js';
import { writeSubscription } from '../server/pubsub.js';
import type { RespWriter } from '../server/resp-writer.js';
import { writeHelp } from './help.js';
import type { CommandDef, ConnHandler } from './table.js';

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

function subscribe(c: Client, argv: string[], reply: RespWriter): void {
  const ps = c.server.pubsub;
  // Sent even under CLIENT REPLY OFF, as Redis sends pub/sub replies.
  const w = c.pushing(reply);
  for (let i = 1; i < argv.length; i++) {
    ps.subscribe(c, argv[i]!);
    writeSubscription(w, 'subscribe', argv[i]!, c.subscriptions);
  }
}

function unsubscribe(c: Client, argv: string[], reply: RespWriter): void {
  const ps = c.server.pubsub;
  // Sent even under CLIENT REPLY OFF, as Redis sends pub/sub replies.
  const w = c.pushing(reply);
  if (argv.length === 1) {
    if (c.channels.size === 0) return writeSubscription(w, 'unsubscribe', undefined, c.subscriptions);
    for (const ch of [...c.channels]) {
      ps.unsubscribe(c, ch);
      writeSubscription(w, 'unsubscribe', ch, c.subscriptions);
    }
    return;
  }
  for (let i = 1; i < argv.length; i++) {
    ps.unsubscribe(c, argv[i]!);
    writeSubscription(w, 'unsubscribe', argv[i]!, c.subscriptions);
  }
}

function psubscribe(c: Client, argv: string[], reply: RespWriter): void {
  const ps = c.server.pubsub;
  // Sent even under CLIENT REPLY OFF, as Redis sends pub/sub replies.
  const w = c.pushing(reply);
  for (let i = 1; i < argv.length; i++) {
    ps.psubscribe(c, argv[i]!);
    writeSubscription(w, 'psubscribe', argv[i]!, c.subscriptions);
  }
}

function punsubscribe(c: Client, argv: string[], reply: RespWriter): void {
  const ps = c.server.pubsub;
  // Sent even under CLIENT REPLY OFF, as Redis sends pub/sub replies.
  const w = c.pushing(reply);
  if (argv.length === 1) {
    if (c.patterns.size === 0) return writeSubscription(w, 'punsubscribe', undefined, c.subscriptions);
    for (const p of [...c.patterns]) {
      ps.punsubscribe(c, p);
      writeSubscription(w, 'punsubscribe', p, c.subscriptions);
    }
    return;
  }
  for (let i = 1; i < argv.length; i++) {
    ps.punsubscribe(c, argv[i]!);
    writeSubscription(w, 'punsubscribe', argv[i]!, c.subscriptions);
  }
}

function publish(c: Client, argv: string[], w: RespWriter): void {
  w.int(c.server.pubsub.publish(argv[1]!, argv[2]!));
}

/**
 * SSUBSCRIBE: shard channels, counted apart from channels and patterns.
 * Unlike SUBSCRIBE, refused inside a transaction (Redis 7.0 makes no
 * exception for MULTI there).
 */
function ssubscribe(c: Client, argv: string[], reply: RespWriter): void {
  if (c.inExec) return reply.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
  const ps = c.server.pubsub;
  // Sent even under CLIENT REPLY OFF, as Redis sends pub/sub replies.
  const w = c.pushing(reply);
  for (let i = 1; i < argv.length; i++) {
    ps.ssubscribe(c, argv[i]!);
    writeSubscription(w, 'ssubscribe', argv[i]!, c.shardChannels.size);
  }
}

function sunsubscribe(c: Client, argv: string[], reply: RespWriter): void {
  const ps = c.server.pubsub;
  const w = c.pushing(reply);
  if (argv.length === 1) {
    if (c.shardChannels.size === 0) return writeSubscription(w, 'sunsubscribe', undefined, 0);
    for (const ch of [...c.shardChannels]) {
      ps.sunsubscribe(c, ch);
      writeSubscription(w, 'sunsubscribe', ch, c.shardChannels.size);
    }
    return;
  }
  for (let i = 1; i < argv.length; i++) {
    ps.sunsubscribe(c, argv[i]!);
    writeSubscription(w, 'sunsubscribe', argv[i]!, c.shardChannels.size);
  }
}

function spublish(c: Client, argv: string[], w: RespWriter): void {
  w.int(c.server.pubsub.spublish(argv[1]!, argv[2]!));
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
  'pubsub|channels': (c, argv, w) => channelList(w, c.server.pubsub.channels.keys(), argv),
  'pubsub|numsub': (c, argv, w) => numsub(w, c.server.pubsub.channels, argv),
  'pubsub|numpat': (c, _argv, w) => w.int(c.server.pubsub.patterns.size),
  'pubsub|shardchannels': (c, argv, w) => channelList(w, c.server.pubsub.shardChannels.keys(), argv),
  'pubsub|shardnumsub': (c, argv, w) => numsub(w, c.server.pubsub.shardChannels, argv),
  'pubsub|help': (_c, _argv, w) =>
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
  subscribe,
  unsubscribe,
  psubscribe,
  punsubscribe,
  publish,
  ssubscribe,
  sunsubscribe,
  spublish,
  ...pubsubContainer,
};
