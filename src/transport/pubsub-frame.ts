/**
 * Body of the frame that carries a PUBLISH to the other nodes (pub/sub
 * fan-out, as Redis Cluster does over its bus). See docs/peer-protocol.md.
 *
 *   PubSubMessage: u8 flags · varint length, channel bytes ·
 *                  varint length, message bytes
 *
 * Flags: bit 0 set for a shard channel (SPUBLISH), clear for PUBLISH; the
 * other bits are reserved and a receiver rejects them rather than deliver
 * a message wrongly.
 */
import { FrameError } from './errors.js';
import { BodyReader } from './reader.js';
import { varintSize, writeVarint } from './varint.js';

export interface PubSubMessage {
  /** latin1 strings: one char per byte, as everywhere in the keyspace. */
  channel: string;
  message: string;
  /** SPUBLISH to a shard channel (flag bit 0). */
  shard?: boolean;
}

const FLAG_SHARD = 0x01;

export function pubSubMessageSize(m: PubSubMessage): number {
  return 1 + varintSize(m.channel.length) + m.channel.length + varintSize(m.message.length) + m.message.length;
}

/** Writes the body at `off` of `buf` (sized with pubSubMessageSize) and returns the end offset. */
export function writePubSubMessage(buf: Buffer, off: number, m: PubSubMessage): number {
  buf[off++] = m.shard === true ? FLAG_SHARD : 0;
  off = writeVarint(buf, off, m.channel.length);
  off += buf.write(m.channel, off, 'latin1');
  off = writeVarint(buf, off, m.message.length);
  off += buf.write(m.message, off, 'latin1');
  return off;
}

export function encodePubSubMessage(m: PubSubMessage): Buffer {
  const b = Buffer.allocUnsafe(pubSubMessageSize(m));
  writePubSubMessage(b, 0, m);
  return b;
}

export function decodePubSubMessage(body: Buffer): PubSubMessage {
  const r = new BodyReader(body);
  const flags = r.u8('pubsub flags');
  if ((flags & ~FLAG_SHARD) !== 0) throw new FrameError('value', `pubsub flags ${flags}: only bit 0 (shard channel) is defined`);
  const channel = r.lengthPrefixed('pubsub channel').toString('latin1');
  const message = r.lengthPrefixed('pubsub message').toString('latin1');
  r.expectEnd('PubSubMessage');
  return flags === FLAG_SHARD ? { channel, message, shard: true } : { channel, message };
}
