/**
 * The PubSubMessage frame (0x30): body codec, malformed input, and the
 * Transport's best-effort broadcast to connected peers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FrameError } from '../../../src/transport/errors.js';
import { FrameDecoder, FrameType, encodeFrame } from '../../../src/transport/frame.js';
import { decodePubSubMessage, encodePubSubMessage, pubSubMessageSize, type PubSubMessage } from '../../../src/transport/pubsub-frame.js';
import { Transport, type TransportOptions } from '../../../src/transport/transport.js';
import { CapturingLogger, prng, randBytes, randInt, waitFor } from './helpers.js';

const latin1 = (b: Buffer): string => b.toString('latin1');

describe('PubSubMessage body', () => {
  it('round-trips empty, binary and large channels and messages', () => {
    const all = latin1(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
    const cases: PubSubMessage[] = [
      { channel: '', message: '' },
      { channel: 'news', message: 'hello' },
      { channel: all, message: all + all },
      { channel: 'c'.repeat(200), message: 'm'.repeat(70_000) },
      { channel: 'shard', message: 'sharded', shard: true },
      { channel: '', message: '', shard: true },
    ];
    const rng = prng(7);
    for (let i = 0; i < 200; i++) cases.push({ channel: latin1(randBytes(rng, randInt(rng, 300))), message: latin1(randBytes(rng, randInt(rng, 3000))) });
    for (const m of cases) {
      const body = encodePubSubMessage(m);
      expect(body.length).toBe(pubSubMessageSize(m));
      expect(decodePubSubMessage(body)).toEqual(m);
    }
  });

  it('is laid out as flags, channel, message', () => {
    expect(encodePubSubMessage({ channel: 'ab', message: 'xyz' })).toEqual(Buffer.from([0, 2, 0x61, 0x62, 3, 0x78, 0x79, 0x7a]));
    // SPUBLISH: flag bit 0.
    expect(encodePubSubMessage({ channel: 'ab', message: 'xyz', shard: true })).toEqual(Buffer.from([1, 2, 0x61, 0x62, 3, 0x78, 0x79, 0x7a]));
  });

  it('rejects truncation at every byte, trailing bytes and unknown flags with FrameError', () => {
    const body = encodePubSubMessage({ channel: 'chan', message: 'message' });
    for (let n = 0; n < body.length; n++) expect(() => decodePubSubMessage(body.subarray(0, n))).toThrow(FrameError);
    expect(() => decodePubSubMessage(Buffer.concat([body, Buffer.from([0])]))).toThrow(FrameError);
    for (const flags of [2, 3, 0x80, 0xff]) {
      const flagged = Buffer.from(body);
      flagged[0] = flags;
      expect(() => decodePubSubMessage(flagged)).toThrow(/flags/);
    }
  });

  it('throws nothing but FrameError on random input (seeded)', () => {
    const rng = prng(99);
    for (let i = 0; i < 2000; i++) {
      const b = randBytes(rng, randInt(rng, 40));
      if (rng() < 0.5 && b.length > 0) b[0] = 0;
      try {
        decodePubSubMessage(b);
      } catch (e) {
        expect(e).toBeInstanceOf(FrameError);
      }
    }
  });

  it('travels as frame type 0x30 through the frame decoder split at every byte', () => {
    const frame = encodeFrame(FrameType.PubSubMessage, encodePubSubMessage({ channel: 'c', message: 'm\r\n' }));
    expect(frame[5]).toBe(0x30);
    for (let cut = 0; cut <= frame.length; cut++) {
      const dec = new FrameDecoder();
      const frames = [...dec.decode(frame.subarray(0, cut)).frames, ...dec.decode(frame.subarray(cut)).frames];
      expect(frames).toHaveLength(1);
      expect(decodePubSubMessage(frames[0]!.body)).toEqual({ channel: 'c', message: 'm\r\n' });
    }
  });
});

interface Node {
  t: Transport;
  got: [number, PubSubMessage][];
  log: CapturingLogger;
}

const transports: Transport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

function makeNode(id: number, host: string, extra: Partial<TransportOptions> = {}): Node {
  const node = { got: [], log: new CapturingLogger() } as unknown as Node;
  node.t = new Transport({
    selfId: id,
    clusterId: 'pubsub-test',
    bindHost: host,
    port: 0,
    peers: new Map(),
    onMessage: () => {},
    onPubSub: (body, from) => node.got.push([from, decodePubSubMessage(body)]),
    logger: node.log,
    ...extra,
  });
  transports.push(node.t);
  return node;
}

async function mesh(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.t.start()));
  for (const a of nodes) for (const b of nodes) if (a !== b) a.t.addPeer(b.t.selfId, { host: b.t.bindHost, clusterPort: b.t.port });
  await waitFor(() => nodes.every((a) => nodes.every((b) => a === b || a.t.status().get(b.t.selfId)?.connected === true)), 'full mesh');
}

describe('Transport.broadcast', () => {
  it('sends one PubSubMessage to every connected peer, in order', async () => {
    const nodes = [makeNode(1, '127.0.0.1'), makeNode(2, '127.0.0.2'), makeNode(3, '127.0.0.3')];
    await mesh(nodes);
    for (let i = 0; i < 5; i++) expect(nodes[1]!.t.broadcast(FrameType.PubSubMessage, encodePubSubMessage({ channel: 'ch', message: `m${i}` }))).toBe(2);
    await waitFor(() => nodes[0]!.got.length === 5 && nodes[2]!.got.length === 5, 'both peers got all');
    for (const n of [nodes[0]!, nodes[2]!]) expect(n.got).toEqual([0, 1, 2, 3, 4].map((i) => [2, { channel: 'ch', message: `m${i}` }]));
    expect(nodes[1]!.got).toEqual([]);
    // Pub/sub frames are not Raft messages: nothing counts them as such.
    expect(nodes[1]!.t.status().get(1)).toMatchObject({ sentMessages: 0, droppedMessages: 0 });
  });

  it('skips a peer that is not connected instead of queueing for it', async () => {
    const a = makeNode(1, '127.0.0.1');
    const b = makeNode(2, '127.0.0.2');
    await mesh([a, b]);
    a.t.addPeer(3, { host: '127.0.0.3', clusterPort: 1 });
    expect(a.t.broadcast(FrameType.PubSubMessage, encodePubSubMessage({ channel: 'x', message: 'y' }))).toBe(1);
    await waitFor(() => b.got.length === 1, 'b got it');
    expect(a.t.status().get(3)).toMatchObject({ connected: false, queuedFrames: 0 });
  });

  it('keeps a message over the frame limit local instead of breaking the link', async () => {
    const a = makeNode(1, '127.0.0.1', { maxFrameSize: 1000 });
    const b = makeNode(2, '127.0.0.2', { maxFrameSize: 1000 });
    await mesh([a, b]);
    expect(a.t.broadcast(FrameType.PubSubMessage, encodePubSubMessage({ channel: 'x', message: 'y'.repeat(2000) }))).toBe(0);
    expect(a.log.matching(/over the 1000-byte frame limit/)).toHaveLength(1);
    expect(a.t.broadcast(FrameType.PubSubMessage, encodePubSubMessage({ channel: 'x', message: 'small' }))).toBe(1);
    await waitFor(() => b.got.length === 1, 'small one arrives');
    expect(b.got[0]![1].message).toBe('small');
    expect(a.t.status().get(2)!.connected).toBe(true);
  });

  it('drops PubSubMessage frames when the node takes none, keeping the link', async () => {
    const states: [number, boolean][] = [];
    const a = makeNode(1, '127.0.0.1', { onPeerState: (id, up) => states.push([id, up]) });
    const b = makeNode(2, '127.0.0.2', { onPubSub: undefined });
    await mesh([a, b]);
    expect(a.t.broadcast(FrameType.PubSubMessage, encodePubSubMessage({ channel: 'x', message: 'y' }))).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(states).toEqual([[2, true]]);
    expect(b.log.lines.filter((l) => !l.startsWith('info'))).toEqual([]);
  });
});
