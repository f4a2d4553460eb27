/**
 * The node's pub/sub registry (Redis's pubsub.c): who listens to which
 * channel and pattern, and delivery of messages to local subscribers.
 *
 * Subscriptions are connection state, never replicated. A PUBLISH is
 * delivered to this node's subscribers and sent to every connected peer
 * (frame PubSubMessage), which delivers it to its own: as in Redis Cluster,
 * a message published on any node reaches subscribers on every node, best
 * effort (a peer that is disconnected misses it). Shard channels
 * (SSUBSCRIBE, SPUBLISH) travel the same way: every raftis node is in the
 * one shard that holds all slots.
 */
import { globMatch } from '../../keyspace/glob.js';
import { FrameType } from '../../transport/frame.js';
import { decodePubSubMessage, encodePubSubMessage } from '../../transport/pubsub-frame.js';
import { createLogger } from '../../util/log.js';
import type { EngineClient as Client } from './engine.js';
import type { RespWriter } from '../../server/resp-writer.js';

const log = createLogger('pubsub');


/** What the registry needs from the node: sending a frame to every peer. */
export interface PubSubPeers {
  broadcast(type: number, body: Buffer): number;
}

export class PubSub {
  /** Channel → its subscribers. A channel without subscribers is removed. */
  readonly channels = new Map<string, Set<Client>>();
  /** Pattern → its subscribers. */
  readonly patterns = new Map<string, Set<Client>>();
  /** Shard channel → its subscribers (SSUBSCRIBE). */
  readonly shardChannels = new Map<string, Set<Client>>();

  constructor(private readonly peers: PubSubPeers) {}

  /** A PubSubMessage frame from a peer: deliver it to this node's subscribers. */
  onFrame(body: Buffer, from: number): void {
    let m;
    try {
      m = decodePubSubMessage(body);
    } catch (e) {
      log.warn(`bad pub/sub frame from node ${from}: ${(e as Error).message}`);
      return;
    }
    if (m.shard === true) this.deliverShard(m.channel, m.message);
    else this.deliver(m.channel, m.message);
  }

  /** SUBSCRIBE one channel; false if the client already was. */
  subscribe(c: Client, channel: string): boolean {
    if (c.channels.has(channel)) return false;
    c.channels.add(channel);
    addTo(this.channels, channel, c);
    return true;
  }

  unsubscribe(c: Client, channel: string): boolean {
    if (!c.channels.delete(channel)) return false;
    removeFrom(this.channels, channel, c);
    return true;
  }

  psubscribe(c: Client, pattern: string): boolean {
    if (c.patterns.has(pattern)) return false;
    c.patterns.add(pattern);
    addTo(this.patterns, pattern, c);
    return true;
  }

  punsubscribe(c: Client, pattern: string): boolean {
    if (!c.patterns.delete(pattern)) return false;
    removeFrom(this.patterns, pattern, c);
    return true;
  }

  /** SSUBSCRIBE one shard channel; false if the client already was. */
  ssubscribe(c: Client, channel: string): boolean {
    if (c.shardChannels.has(channel)) return false;
    c.shardChannels.add(channel);
    addTo(this.shardChannels, channel, c);
    return true;
  }

  sunsubscribe(c: Client, channel: string): boolean {
    if (!c.shardChannels.delete(channel)) return false;
    removeFrom(this.shardChannels, channel, c);
    return true;
  }

  /** Drops every subscription of c without notifying it (RESET, QUIT, disconnect). */
  unsubscribeAll(c: Client): void {
    for (const ch of c.channels) removeFrom(this.channels, ch, c);
    for (const p of c.patterns) removeFrom(this.patterns, p, c);
    for (const ch of c.shardChannels) removeFrom(this.shardChannels, ch, c);
    c.channels.clear();
    c.patterns.clear();
    c.shardChannels.clear();
  }

  /** SPUBLISH: as publish, to the subscribers of a shard channel. */
  spublish(channel: string, message: string): number {
    const n = this.deliverShard(channel, message);
    this.peers.broadcast(FrameType.PubSubMessage, encodePubSubMessage({ channel, message, shard: true }));
    return n;
  }

  /** Redis's pubsubPublishMessage for a shard channel: its subscribers get an `smessage`. */
  deliverShard(channel: string, message: string): number {
    const subs = this.shardChannels.get(channel);
    if (subs === undefined) return 0;
    for (const c of subs) {
      const w = c.pushWriter();
      if (w === undefined) continue;
      w.pushHeader(3);
      w.bulk('smessage');
      w.bulk(channel);
      w.bulk(message);
      checkLimit(c);
    }
    return subs.size;
  }

  /**
   * PUBLISH: delivers to this node's subscribers and sends the message to
   * every connected peer. Returns the local receivers (Redis Cluster counts
   * only the receivers of the node that got the PUBLISH).
   */
  publish(channel: string, message: string): number {
    const n = this.deliver(channel, message);
    this.peers.broadcast(FrameType.PubSubMessage, encodePubSubMessage({ channel, message }));
    return n;
  }

  /** Redis's pubsubPublishMessage: channel subscribers, then pattern subscribers. */
  deliver(channel: string, message: string): number {
    let receivers = 0;
    const subs = this.channels.get(channel);
    if (subs !== undefined) {
      for (const c of subs) {
        const w = c.pushWriter();
        if (w !== undefined) {
          w.pushHeader(3);
          w.bulk('message');
          w.bulk(channel);
          w.bulk(message);
          checkLimit(c);
        }
        receivers++;
      }
    }
    for (const [pattern, clients] of this.patterns) {
      if (!globMatch(pattern, channel)) continue;
      for (const c of clients) {
        const w = c.pushWriter();
        if (w !== undefined) {
          w.pushHeader(4);
          w.bulk('pmessage');
          w.bulk(pattern);
          w.bulk(channel);
          w.bulk(message);
          checkLimit(c);
        }
        receivers++;
      }
    }
    return receivers;
  }
}

/** The subscribe / unsubscribe confirmation Redis sends for each channel or pattern. */
export function writeSubscription(w: RespWriter, kind: string, name: string | undefined, count: number): void {
  w.pushHeader(3);
  w.bulk(kind);
  if (name === undefined) w.nil();
  else w.bulk(name);
  w.int(count);
}

function addTo(map: Map<string, Set<Client>>, name: string, c: Client): void {
  let set = map.get(name);
  if (set === undefined) map.set(name, (set = new Set()));
  set.add(c);
}

function removeFrom(map: Map<string, Set<Client>>, name: string, c: Client): void {
  const set = map.get(name);
  if (set === undefined) return;
  set.delete(c);
  if (set.size === 0) map.delete(name);
}

/**
 * client-output-buffer-limit pubsub's hard limit (32mb by default), as each
 * message is queued: a subscriber that does not read is disconnected rather
 * than buffered without bound. The soft limit, and the hard limit of what
 * the socket has not taken, are checked as replies are written (the
 * client's own check, server/output-limit.ts).
 */
function checkLimit(c: Client): void {
  const hard = c.server.limits.outputLimits[1]?.hard ?? 0;
  if (hard === 0 || c.outputBytes < hard) return;
  log.warn(`client ${c.id} ${c.addr} closed for overcoming of output buffer limits (pubsub)`);
  c.kill();
}
