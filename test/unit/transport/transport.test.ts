import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, newEntry, newMessage, type Message } from '../../../src/raft/messages.js';
import { decodeBatch, entriesSectionSize } from '../../../src/transport/codec.js';
import { varintSize } from '../../../src/transport/varint.js';
import { takeWireRun } from '../../../src/util/wire-entries.js';
import { FrameError } from '../../../src/transport/errors.js';
import { FrameDecoder, FrameType, encodeFrame, encodeRaftBatch, type Frame } from '../../../src/transport/frame.js';
import { PROTOCOL_VERSION } from '../../../src/transport/frame.js';
import { RejectCode, decodeHello, decodeHelloReject, encodeHello, encodeHelloAck, type Hello } from '../../../src/transport/handshake.js';
import { Transport, type PeerAddress, type TransportOptions } from '../../../src/transport/transport.js';
import { CapturingLogger, plain, prng, randBytes, waitFor } from './helpers.js';

const CLUSTER = 'test-cluster';

interface Node {
  t: Transport;
  inbox: Message[];
  states: [number, boolean][];
  unreachable: [number, boolean][];
  log: CapturingLogger;
}

const transports: Transport[] = [];
const sockets: net.Socket[] = [];
const servers: net.Server[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

function makeNode(id: number, host: string, extra: Partial<TransportOptions> = {}): Node {
  const node: Node = { inbox: [], states: [], unreachable: [], log: new CapturingLogger() } as unknown as Node;
  node.t = new Transport({
    selfId: id,
    clusterId: CLUSTER,
    bindHost: host,
    port: 0,
    peers: new Map(),
    onMessage: (m) => node.inbox.push(m),
    onPeerState: (pid, c) => node.states.push([pid, c]),
    onUnreachable: (pid, snap) => node.unreachable.push([pid, snap]),
    logger: node.log,
    handshakeTimeoutMs: 10_000,
    ...extra,
  });
  transports.push(node.t);
  return node;
}

function addr(n: Node): PeerAddress {
  return { host: n.t.bindHost, clusterPort: n.t.port };
}

/** Starts every node, then tells each about all the others (ports are only known after start). */
async function mesh(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.t.start()));
  for (const a of nodes) for (const b of nodes) if (a !== b) a.t.addPeer(b.t.selfId, addr(b));
  await waitFor(() => nodes.every((a) => nodes.every((b) => a === b || a.t.status().get(b.t.selfId)?.connected === true)), 'full mesh connected');
}

function hb(from: number, to: number, term = 1): Message {
  return newMessage({ type: MessageType.Heartbeat, from, to, term, commit: term * 10, context: Buffer.from([from, to]) });
}

function app(from: number, to: number, n: number): Message {
  const entries = Array.from({ length: n }, (_, i) => newEntry(100 + i, 2, Buffer.from(`SET key${i} value${i}`)));
  return newMessage({ type: MessageType.App, from, to, term: 2, logTerm: 2, index: 99, commit: 98, entries });
}

/** A raw TCP client speaking the protocol by hand, to play a misbehaving peer. */
async function rawClient(host: string, port: number, localAddress = '127.0.0.1'): Promise<{ sock: net.Socket; frames: Frame[]; closed: Promise<void> }> {
  const sock = net.connect({ host, port, localAddress });
  sockets.push(sock);
  const dec = new FrameDecoder();
  const frames: Frame[] = [];
  sock.on('data', (c: Buffer) => frames.push(...dec.decode(c).frames));
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  return { sock, frames, closed };
}

function helloFrame(over: Partial<Hello> = {}): Buffer {
  return encodeHello({ minVersion: 1, maxVersion: 1, clusterId: CLUSTER, from: 1, to: 2, auth: Buffer.alloc(0), ...over });
}

describe('Transport', () => {
  it('exchanges messages both ways between two nodes', async () => {
    const a = makeNode(1, '127.0.0.1');
    const b = makeNode(2, '127.0.0.1');
    await mesh([a, b]);
    const toB = [app(1, 2, 3), hb(1, 2)];
    const toA = [newMessage({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 102, reject: true, rejectHint: 7 })];
    a.t.send(toB);
    b.t.send(toA);
    await waitFor(() => b.inbox.length === 2 && a.inbox.length === 1, 'messages delivered');
    expect(plain(b.inbox)).toStrictEqual(plain(toB));
    expect(plain(a.inbox)).toStrictEqual(plain(toA));
    expect(a.states).toEqual([[2, true]]);
    expect(b.states).toEqual([[1, true]]);
    const s = a.t.status().get(2)!;
    // b got the frame, so nothing of it is left in the link's queue or the socket's buffer.
    expect(s).toMatchObject({ connected: true, inbound: true, sentFrames: 1, sentMessages: 2, receivedMessages: 1, droppedMessages: 0, queuedFrames: 0, queuedBytes: 0 });
  });

  it('writes a lone frame without corking the socket', async () => {
    const a = makeNode(1, '127.0.0.1');
    const b = makeNode(2, '127.0.0.1');
    await mesh([a, b]);
    const link = (a.t as unknown as { links: Map<number, { socket: net.Socket }> }).links.get(2)!;
    let corks = 0;
    const sock = link.socket;
    const cork = sock.cork.bind(sock);
    sock.cork = () => {
      corks++;
      cork();
    };
    a.t.send([hb(1, 2, 1)]);
    a.t.send([hb(1, 2, 2)]);
    await waitFor(() => b.inbox.length === 2, 'two lone frames');
    expect(corks).toBe(0);
  });

  it('connects three nodes and groups each send() into one frame per peer', async () => {
    const nodes = [makeNode(1, '127.0.0.1'), makeNode(2, '127.0.0.2'), makeNode(3, '127.0.0.3')];
    await mesh(nodes);
    for (const n of nodes) {
      const others = nodes.filter((o) => o !== n).map((o) => o.t.selfId);
      // Interleaved destinations: each peer still receives its messages in order.
      n.t.send(others.flatMap((to) => [hb(n.t.selfId, to, 1), hb(n.t.selfId, to, 2)]).sort((x, y) => x.term - y.term));
    }
    await waitFor(() => nodes.every((n) => n.inbox.length === 4), 'every node got 4 messages');
    for (const n of nodes) {
      for (const o of nodes) {
        if (o === n) continue;
        expect(n.inbox.filter((m) => m.from === o.t.selfId).map((m) => m.term)).toEqual([1, 2]);
        expect(o.t.status().get(n.t.selfId)).toMatchObject({ sentFrames: 1, sentMessages: 2 });
      }
    }
  });

  it('sends appends with the same entries to several peers, encoding them once, and each peer gets exactly its own', async () => {
    const nodes = [makeNode(1, '127.0.0.1'), makeNode(2, '127.0.0.2'), makeNode(3, '127.0.0.3'), makeNode(4, '127.0.0.4')];
    await mesh(nodes);
    const rng = prng(7);
    // One log: each follower gets a slice of the same Entry objects, as the leader's core hands them out.
    const log = Array.from({ length: 40 }, (_, i) => newEntry(100 + i, 2, randBytes(rng, i % 5 === 0 ? 200 : i)));
    const toPeer = (to: number, from: number, n: number, commit: number): Message =>
      newMessage({ type: MessageType.App, from: 1, to, term: 2, logTerm: 2, index: 99 + from, commit, entries: log.slice(from, from + n) });
    const sent = [
      toPeer(2, 0, 40, 98),
      hb(1, 3),
      // Same entries as node 2's (the encoding is shared), another commit index.
      toPeer(3, 0, 40, 120),
      // Same first entry and count, but not the same range (another last entry): encoded anew.
      toPeer(4, 0, 39, 98),
      toPeer(4, 39, 1, 98),
      // Ending at the same entry as node 2's but starting later: encoded anew.
      toPeer(3, 10, 30, 121),
    ];
    nodes[0]!.t.send(sent);
    await waitFor(() => nodes[1]!.inbox.length === 1 && nodes[2]!.inbox.length === 3 && nodes[3]!.inbox.length === 2, 'appends delivered');
    for (const n of nodes.slice(1)) expect(plain(n.inbox)).toStrictEqual(plain(sent.filter((m) => m.to === n.t.selfId)));
  });

  it("notes the encoded entries of an append it sends, for the leader's own log write (util/wire-entries)", async () => {
    const nodes = [makeNode(1, '127.0.0.1'), makeNode(2, '127.0.0.2'), makeNode(3, '127.0.0.3')];
    await mesh(nodes);
    const log = Array.from({ length: 20 }, (_, i) => newEntry(100 + i, 2, Buffer.from(`SET key${i} value${i}`)));
    const toPeer = (to: number, from: number, n: number): Message =>
      newMessage({ type: MessageType.App, from: 1, to, term: 2, logTerm: 2, index: 99 + from, commit: 98, entries: log.slice(from, from + n) });
    // A broadcast of new entries (one slice for both followers), then a lagging follower's own range.
    const sent = [toPeer(2, 10, 10), toPeer(3, 10, 10)];
    sent[1] = { ...sent[1]!, entries: sent[0]!.entries };
    const behind = toPeer(3, 0, 5);
    nodes[0]!.t.send([...sent, behind]);
    // Taken synchronously, before any frame arrives (a receiver notes its own runs).
    const run = takeWireRun(log[10]!)!;
    expect(run).toBeDefined();
    expect(run.entries).toBe(sent[0]!.entries);
    // The bytes are exactly the entries as the peer protocol lays them out (an append's last field).
    const frame = encodeRaftBatch([sent[0]!]);
    const n = run.end - run.start;
    expect(n).toBe(entriesSectionSize(sent[0]!.entries) - varintSize(10));
    expect(run.buf.subarray(run.start, run.end)).toEqual(frame.subarray(frame.length - n));
    const other = takeWireRun(log[0]!)!;
    expect(other.entries).toBe(behind.entries);
    const framed = encodeRaftBatch([behind]);
    expect(other.buf.subarray(other.start, other.end)).toEqual(framed.subarray(framed.length - (other.end - other.start)));
    // A heartbeat and a single-entry append note nothing.
    nodes[0]!.t.send([hb(1, 2), toPeer(2, 19, 1)]);
    expect(takeWireRun(log[19]!)).toBeUndefined();
    await waitFor(() => nodes[1]!.inbox.length === 3 && nodes[2]!.inbox.length === 2, 'appends delivered');
    expect(plain(nodes[2]!.inbox)).toStrictEqual(plain([sent[1], behind]));
  });

  it('binds outgoing connections to its bind address', async () => {
    // A plain server on 127.0.0.2 records who connects and what Hello says.
    const seen: { remote: string | undefined; hello: Hello }[] = [];
    const server = net.createServer((sock) => {
      sockets.push(sock);
      const dec = new FrameDecoder();
      sock.on('data', (c: Buffer) => {
        for (const f of dec.decode(c).frames) if (f.type === FrameType.Hello) seen.push({ remote: sock.remoteAddress, hello: decodeHello(f.body) });
      });
      sock.on('error', () => {});
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const a = makeNode(1, '127.0.0.1', { peers: new Map([[2, { host: '127.0.0.2', clusterPort: port }]]) });
    await a.t.start();
    await waitFor(() => seen.length > 0, 'raw server saw a Hello');
    expect(seen[0]!.remote).toBe('127.0.0.1');
    expect(seen[0]!.hello).toMatchObject({ clusterId: CLUSTER, from: 1, to: 2, minVersion: 1, maxVersion: 2 });

    // And between two transports, each sees the other's bind address as the source.
    const x = makeNode(3, '127.0.0.1');
    const y = makeNode(4, '127.0.0.2');
    await mesh([x, y]);
    await waitFor(() => x.t.status().get(4)!.inbound && y.t.status().get(3)!.inbound, 'inbound connections');
    expect(y.t.status().get(3)!.inboundAddress).toBe('127.0.0.1');
    expect(x.t.status().get(4)!.inboundAddress).toBe('127.0.0.2');
  });

  it('is rejected by a node of another cluster, and logs why on both sides', async () => {
    const a = makeNode(1, '127.0.0.1');
    const b = makeNode(2, '127.0.0.2', { clusterId: 'another-cluster' });
    await Promise.all([a.t.start(), b.t.start()]);
    b.t.addPeer(1, addr(a));
    a.t.addPeer(2, addr(b));
    await waitFor(() => /rejected by peer \(ClusterId\)/.test(a.t.status().get(2)!.lastError ?? ''), 'A sees the rejection');
    await waitFor(() => /rejected by peer \(ClusterId\)/.test(b.t.status().get(1)!.lastError ?? ''), 'B sees the rejection');
    expect(a.t.status().get(2)!.connected).toBe(false);
    expect(a.states).toEqual([]);
    expect(b.log.matching(/rejected connection from 127\.0\.0\.1.*ClusterId/).length).toBeGreaterThan(0);
    a.t.send([hb(1, 2)]);
    expect(b.inbox).toEqual([]);
  });

  it('rejects an unknown node id, a wrong target id and an unsupported version', async () => {
    const b = makeNode(2, '127.0.0.2');
    await b.t.start();
    b.t.addPeer(1, { host: '127.0.0.1', clusterPort: 1 }); // a member that never dials

    // A transport whose id B does not know.
    const stranger = makeNode(9, '127.0.0.1');
    await stranger.t.start();
    stranger.t.addPeer(2, addr(b));
    await waitFor(() => /UnknownNode/.test(stranger.t.status().get(2)!.lastError ?? ''), 'stranger rejected');

    const cases: [Partial<Hello>, RejectCode][] = [
      [{ from: 5 }, RejectCode.UnknownNode],
      [{ to: 3 }, RejectCode.WrongNode],
      [{ minVersion: 3, maxVersion: 4 }, RejectCode.Version],
      [{ clusterId: 'x' }, RejectCode.ClusterId],
    ];
    for (const [over, code] of cases) {
      const c = await rawClient('127.0.0.2', b.t.port);
      c.sock.write(helloFrame(over));
      await c.closed;
      expect(c.frames).toHaveLength(1);
      expect(c.frames[0]!.type).toBe(FrameType.HelloReject);
      expect(decodeHelloReject(c.frames[0]!.body).code).toBe(code);
    }
    // A member that is not yet dialing is accepted.
    const ok = await rawClient('127.0.0.2', b.t.port);
    ok.sock.write(helloFrame());
    await waitFor(() => ok.frames.length === 1, 'ack');
    expect(ok.frames[0]!.type).toBe(FrameType.HelloAck);
    expect(b.inbox).toEqual([]);
  });

  it('reconnects after the peer is closed and restarted on the same port', async () => {
    const a = makeNode(1, '127.0.0.1', { backoff: { baseMs: 10, maxMs: 100 } });
    const b = makeNode(2, '127.0.0.2');
    await mesh([a, b]);
    const port = b.t.port;
    a.t.send([hb(1, 2)]);
    await waitFor(() => b.inbox.length === 1, 'first message');

    await b.t.close();
    await waitFor(() => a.states.some(([id, c]) => id === 2 && !c), 'A notices B is gone');
    expect(a.t.status().get(2)!.connected).toBe(false);
    expect(a.unreachable.some(([id]) => id === 2)).toBe(true);

    const b2 = makeNode(2, '127.0.0.2', { port, peers: new Map([[1, addr(a)]]) });
    await b2.t.start();
    await waitFor(() => a.t.status().get(2)!.connected && b2.t.status().get(1)!.connected, 'both directions back');
    expect(a.states).toEqual([
      [2, true],
      [2, false],
      [2, true],
    ]);
    a.t.send([hb(1, 2, 7)]);
    b2.t.send([hb(2, 1, 7)]);
    await waitFor(() => b2.inbox.length === 1 && a.inbox.length === 1, 'messages after restart');
    expect(b2.inbox[0]!.term).toBe(7);
    expect(a.inbox[0]!.term).toBe(7);
  });

  it('disconnects a peer that sends garbage, with one log line, and keeps working', async () => {
    const a = makeNode(1, '127.0.0.1');
    const b = makeNode(2, '127.0.0.2');
    await mesh([a, b]);
    b.t.addPeer(7, { host: '127.0.0.1', clusterPort: 1 });

    // Garbage before any handshake.
    const g = await rawClient('127.0.0.2', b.t.port);
    g.sock.write(randBytes(prng(11), 4096));
    await g.closed;
    expect(b.log.matching(/inbound unidentified peer \(127\.0\.0\.1:\d+\): malformed frame/)).toHaveLength(1);

    // A good handshake, then a RaftBatch frame whose body is garbage.
    const h = await rawClient('127.0.0.2', b.t.port);
    h.sock.write(helloFrame({ from: 7 }));
    await waitFor(() => h.frames.length === 1, 'ack');
    h.sock.write(encodeFrame(FrameType.RaftBatch, randBytes(prng(12), 300)));
    await h.closed;
    expect(b.log.matching(/inbound peer 7 .*malformed RaftBatch/)).toHaveLength(1);

    // A good handshake, then a frame type a v1 peer never sends (unknown, below the skippable range).
    const k = await rawClient('127.0.0.2', b.t.port);
    k.sock.write(helloFrame({ from: 7 }));
    await waitFor(() => k.frames.length === 1, 'ack');
    k.sock.write(encodeFrame(0x5a, Buffer.from('x')));
    await k.closed;
    expect(b.log.matching(/inbound peer 7 .*unknown frame type 0x5a/)).toHaveLength(1);

    a.t.send([hb(1, 2, 3)]);
    await waitFor(() => b.inbox.length === 1, 'A still reaches B');
    expect(b.inbox[0]!.term).toBe(3);
    expect(b.t.status().get(1)!.connected).toBe(true);
  });

  it('delivers valid frames from a hand-written peer and drops misaddressed messages', async () => {
    const b = makeNode(2, '127.0.0.2');
    await b.t.start();
    b.t.addPeer(7, { host: '127.0.0.1', clusterPort: 1 });
    const c = await rawClient('127.0.0.2', b.t.port);
    const frames = Buffer.concat([helloFrame({ from: 7 }), encodeRaftBatch([hb(7, 2, 1), hb(7, 3, 2), hb(7, 2, 3)])]);
    // Dialers must wait for the ack; write the Hello first.
    c.sock.write(frames.subarray(0, helloFrame({ from: 7 }).length));
    await waitFor(() => c.frames.length === 1, 'ack');
    const rest = frames.subarray(helloFrame({ from: 7 }).length);
    for (let i = 0; i < rest.length; i++) c.sock.write(rest.subarray(i, i + 1)); // one byte per write
    await waitFor(() => b.inbox.length === 2, 'two messages');
    expect(b.inbox.map((m) => m.term)).toEqual([1, 3]);
    expect(b.log.matching(/dropping messages addressed to node 3/)).toHaveLength(1);
  });

  it('reads plain-TCP peers through one reused buffer (onread): entries received stay intact after later reads', async () => {
    const b = makeNode(2, '127.0.0.2');
    await b.t.start();
    b.t.addPeer(7, { host: '127.0.0.1', clusterPort: 1 });
    const c = await rawClient('127.0.0.2', b.t.port);
    c.sock.write(helloFrame({ from: 7 }));
    await waitFor(() => c.frames.length === 1, 'ack');
    // The accepted connection reads with net.Socket's onread: no 'data' listener, no Buffer per read.
    const conns = [...(b.t as unknown as { inbound: Set<{ socket: net.Socket }> }).inbound];
    expect(conns).toHaveLength(1);
    expect(conns[0]!.socket.listenerCount('data')).toBe(0);
    // A frame larger than the 64 KiB read buffer (several reads), then small ones cut anywhere: every
    // entry's bytes must be the frame's own, not a view of the buffer the next read overwrites.
    const r = prng(11);
    const big = newMessage({ type: MessageType.App, from: 7, to: 2, term: 2, logTerm: 2, index: 9, commit: 9, entries: [newEntry(10, 2, randBytes(r, 200_000))] });
    const small = [app(7, 2, 5), app(7, 2, 1), hb(7, 2, 5)];
    const stream = Buffer.concat([encodeRaftBatch([big]), ...small.map((m) => encodeRaftBatch([m]))]);
    for (let off = 0; off < stream.length; ) {
      const n = off < 250_000 ? 70_000 : 1 + (off % 7);
      c.sock.write(stream.subarray(off, off + n));
      off += n;
      await new Promise((res) => setImmediate(res));
    }
    await waitFor(() => b.inbox.length === 4, 'four messages');
    expect(plain(b.inbox)).toStrictEqual(plain([big, ...small]));
  });

  it('keeps one inbound connection per peer: a redial replaces the older (maybe half-open) one', async () => {
    const b = makeNode(2, '127.0.0.2');
    await b.t.start();
    b.t.addPeer(7, { host: '127.0.0.1', clusterPort: 1 });
    const first = await rawClient('127.0.0.2', b.t.port);
    first.sock.write(helloFrame({ from: 7 }));
    await waitFor(() => first.frames.length === 1, 'first ack');
    const second = await rawClient('127.0.0.2', b.t.port);
    second.sock.write(helloFrame({ from: 7 }));
    await first.closed;
    expect(second.frames.map((f) => f.type)).toEqual([FrameType.HelloAck]);
    second.sock.write(encodeRaftBatch([hb(7, 2, 4)]));
    await waitFor(() => b.inbox.length === 1, 'message on the new connection');
    expect(b.t.status().get(7)!.inbound).toBe(true);
  });

  it('counts a frame the kernel has not taken yet as queued, and sends later frames after it, in order', async () => {
    // A hand-written acceptor: answers the Hello, then reads nothing until told to.
    let peer: net.Socket | undefined;
    const server = net.createServer((sock) => {
      sockets.push(sock);
      peer = sock;
      sock.on('error', () => {});
      sock.once('data', () => {
        sock.pause();
        sock.write(encodeHelloAck({ version: PROTOCOL_VERSION, nodeId: 2, auth: Buffer.alloc(0) }));
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const a = makeNode(1, '127.0.0.1', { maxFrameSize: 64 << 20, maxQueueBytes: 256 << 20, peers: new Map([[2, { host: '127.0.0.2', clusterPort: port }]]) });
    await a.t.start();
    await waitFor(() => a.t.status().get(2)?.connected === true, 'connected');
    // One frame far larger than the socket buffers: the kernel takes part of it.
    const big = newMessage({ type: MessageType.App, from: 1, to: 2, term: 2, logTerm: 2, index: 99, commit: 98, entries: [newEntry(100, 2, Buffer.alloc(32 << 20, 1))] });
    a.t.send([big]);
    const s = a.t.status().get(2)!;
    expect(s.queuedFrames).toBe(0);
    expect(s.queuedBytes).toBeGreaterThan(1 << 20);
    a.t.send([hb(1, 2, 7)]);
    expect(a.t.status().get(2)!.queuedFrames).toBe(1);
    // The peer reads it all: the big frame, then the heartbeat.
    const dec = new FrameDecoder({ maxFrameSize: 64 << 20 });
    const frames: Frame[] = [];
    peer!.on('data', (c: Buffer) => frames.push(...dec.decode(c).frames));
    peer!.resume();
    await waitFor(() => frames.length === 2, 'the big frame and the heartbeat', 3000);
    const msgs = frames.flatMap((f) => decodeBatch(f.body));
    expect(msgs.map((m) => m.type)).toEqual([MessageType.App, MessageType.Heartbeat]);
    expect(msgs[0]!.entries[0]!.data.length).toBe(32 << 20);
    expect(msgs[1]!.term).toBe(7);
    await waitFor(() => a.t.status().get(2)!.queuedBytes === 0, 'nothing queued');
  });

  it('bounds the send queue, drops the oldest frames and reports the peer unreachable', async () => {
    // A server that accepts but never answers the Hello: the link stays in its handshake.
    const server = net.createServer((sock) => {
      sockets.push(sock);
      sock.on('error', () => {});
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const a = makeNode(1, '127.0.0.1', { maxQueueBytes: 2000, peers: new Map([[2, { host: '127.0.0.2', clusterPort: port }]]) });
    await a.t.start();
    for (let i = 0; i < 50; i++) a.t.send([app(1, 2, 2)]);
    const s = a.t.status().get(2)!;
    expect(s.connected).toBe(false);
    expect(s.queuedBytes).toBeLessThanOrEqual(2000);
    expect(s.queuedFrames).toBeGreaterThan(0);
    expect(s.droppedMessages).toBe(50 - s.queuedFrames);
    expect(a.unreachable.length).toBeGreaterThan(0);
    expect(a.unreachable.every(([id, snap]) => id === 2 && !snap)).toBe(true);
    expect(a.log.matching(/send queue over 2000 bytes/)).toHaveLength(1);

    // A snapshot dropped from the queue is reported as such.
    a.t.send([newMessage({ type: MessageType.Snap, from: 1, to: 2, snapshot: { metadata: { index: 5, term: 1, confState: { voters: [1, 2], learners: [] } }, data: Buffer.alloc(1950) } })]);
    a.t.send([app(1, 2, 2)]);
    expect(a.unreachable.at(-1)).toEqual([2, true]);
  });

  it('reports messages to unknown peers and splits sends above the maximum frame size', async () => {
    const a = makeNode(1, '127.0.0.1', { maxFrameSize: 3000 });
    const b = makeNode(2, '127.0.0.2', { maxFrameSize: 3000 });
    await mesh([a, b]);
    a.t.send([hb(1, 9)]);
    expect(a.unreachable).toEqual([[9, false]]);

    const big = (i: number): Message =>
      newMessage({ type: MessageType.App, from: 1, to: 2, term: 1, index: i, entries: [newEntry(i + 1, 1, Buffer.alloc(1000, i))] });
    const msgs = [big(1), big(2), big(3), big(4), big(5)];
    const tooBig = newMessage({ type: MessageType.App, from: 1, to: 2, term: 1, entries: [newEntry(1, 1, Buffer.alloc(4000))] });
    a.t.send([...msgs.slice(0, 2), tooBig, ...msgs.slice(2)]);
    await waitFor(() => b.inbox.length === 5, 'five messages');
    expect(plain(b.inbox)).toStrictEqual(plain(msgs));
    expect(a.t.status().get(2)!.sentFrames).toBeGreaterThan(1);
    expect(a.unreachable.at(-1)).toEqual([2, false]);
    expect(a.log.matching(/above the maximum frame size/)).toHaveLength(1);
  });

  it('removePeer closes both directions and refuses the removed node afterwards', async () => {
    const a = makeNode(1, '127.0.0.1', { backoff: { baseMs: 10, maxMs: 50 } });
    const b = makeNode(2, '127.0.0.2');
    await mesh([a, b]);
    b.t.removePeer(1);
    expect(b.t.status().has(1)).toBe(false);
    await waitFor(() => /UnknownNode/.test(a.t.status().get(2)!.lastError ?? ''), 'A refused by B');
    expect(a.t.status().get(2)!.connected).toBe(false);
    b.t.addPeer(1, addr(a));
    await waitFor(() => a.t.status().get(2)!.connected && b.t.status().get(1)!.connected, 're-added');
  });

  it('closes cleanly while dialing an unreachable peer, and close() is idempotent', async () => {
    const a = makeNode(1, '127.0.0.1', { peers: new Map([[2, { host: '127.0.0.2', clusterPort: 1 }]]) });
    await a.t.start();
    a.t.send([hb(1, 2)]);
    await waitFor(() => a.t.status().get(2)!.lastError !== undefined, 'a dial failure');
    expect(a.t.status().get(2)!.lastError).toMatch(/ECONNREFUSED/);
    const p1 = a.t.close();
    const p2 = a.t.close();
    expect(p1).toBe(p2);
    await p1;
    a.t.send([hb(1, 2)]); // ignored after close
  });

  it('rejects a start on a port that is taken', async () => {
    const a = makeNode(1, '127.0.0.1');
    await a.t.start();
    const b = makeNode(2, '127.0.0.1', { port: a.t.port });
    await expect(b.t.start()).rejects.toThrow(/EADDRINUSE/);
  });

  it('survives a frame decoder error on the dialing side (peer answers garbage)', async () => {
    const server = net.createServer((sock) => {
      sockets.push(sock);
      sock.on('error', () => {});
      // What a Redis server would answer to bytes it does not understand.
      sock.once('data', () => sock.write(Buffer.from("-ERR unknown command '\\x00', with args beginning with:\r\n")));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const a = makeNode(1, '127.0.0.1', { peers: new Map([[2, { host: '127.0.0.2', clusterPort: port }]]) });
    await a.t.start();
    await waitFor(() => /malformed frame from peer/.test(a.t.status().get(2)!.lastError ?? ''), 'garbage answer noticed');
    expect(a.t.status().get(2)!.connected).toBe(false);
  });
});

describe('FrameError is the only thing peer input produces', () => {
  it('decodeBatch of a hand-built frame body', () => {
    expect(() => decodeBatch(Buffer.from([1, 8]))).toThrow(FrameError);
  });
});
