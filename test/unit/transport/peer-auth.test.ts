/**
 * The cluster secret (protocol version 2 handshake) and mutual TLS on the
 * peer port: peers that hold the secret / a certificate of the cluster CA
 * talk; any other is refused, logged with its address, and not a single
 * frame it sends reaches the node.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, newMessage, type Message } from '../../../src/raft/messages.js';
import { FrameDecoder, FrameType, encodeFrame, encodeRaftBatch, type Frame } from '../../../src/transport/frame.js';
import {
  RejectCode,
  decodeHelloAck,
  decodeHelloReject,
  encodeHello,
  encodeHelloAck,
  encodeHelloProof,
} from '../../../src/transport/handshake.js';
import { LogLimiter } from '../../../src/transport/log-limit.js';
import { ClusterSecret, MAC_BYTES, NONCE_BYTES, newNonce, type AuthTranscript } from '../../../src/transport/peer-auth.js';
import { Transport, type PeerAddress, type TransportOptions } from '../../../src/transport/transport.js';
import { makeCerts, type CertFiles } from '../../helpers/certs.js';
import { CapturingLogger, waitFor } from './helpers.js';

const CLUSTER = 'auth-cluster';
const SECRET = new ClusterSecret(Buffer.from('correct horse battery staple 42'));
const OTHER_SECRET = new ClusterSecret(Buffer.from('another secret, equally long'));

interface Node {
  t: Transport;
  inbox: Message[];
  forwarded: number;
  pubsub: number;
  states: [number, boolean][];
  rejected: [number, number][];
  log: CapturingLogger;
}

const transports: Transport[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

function makeNode(id: number, host: string, extra: Partial<TransportOptions> = {}): Node {
  const node = { inbox: [], forwarded: 0, pubsub: 0, states: [], rejected: [], log: new CapturingLogger() } as unknown as Node;
  node.t = new Transport({
    selfId: id,
    clusterId: CLUSTER,
    bindHost: host,
    port: 0,
    peers: new Map(),
    onMessage: (m) => node.inbox.push(m),
    onForward: () => node.forwarded++,
    onPubSub: () => node.pubsub++,
    onPeerState: (pid, c) => node.states.push([pid, c]),
    onRejected: (pid, code) => node.rejected.push([pid, code]),
    logger: node.log,
    handshakeTimeoutMs: 10_000,
    backoff: { baseMs: 20, maxMs: 100 },
    ...extra,
  });
  transports.push(node.t);
  return node;
}

function addr(n: Node): PeerAddress {
  return { host: n.t.bindHost, clusterPort: n.t.port };
}

async function startPair(a: Node, b: Node): Promise<void> {
  await Promise.all([a.t.start(), b.t.start()]);
  a.t.addPeer(b.t.selfId, addr(b));
  b.t.addPeer(a.t.selfId, addr(a));
}

function hb(from: number, to: number, term = 1): Message {
  return newMessage({ type: MessageType.Heartbeat, from, to, term, commit: term * 10 });
}

interface Raw {
  sock: net.Socket;
  frames: Frame[];
  closed: Promise<void>;
}

/** A peer played by hand over plain TCP. */
async function rawClient(port: number, host = '127.0.0.2'): Promise<Raw> {
  const sock = net.connect({ host, port, localAddress: '127.0.0.1' });
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

/** Every kind of frame a peer can get processed after the handshake. */
function payloadFrames(from: number, to: number): Buffer[] {
  return [
    encodeRaftBatch([hb(from, to, 99)]),
    encodeFrame(FrameType.ForwardCommand, Buffer.from([1, 2, 3])),
    encodeFrame(FrameType.PubSubMessage, Buffer.from([0, 0])),
    encodeFrame(FrameType.SnapshotChunk, Buffer.from([1])),
  ];
}

function expectUntouched(n: Node): void {
  expect(n.inbox).toEqual([]);
  expect(n.forwarded).toBe(0);
  expect(n.pubsub).toBe(0);
  expect(n.t.status().get(1)?.inbound ?? false).toBe(false);
}

describe('cluster secret', () => {
  it('lets two nodes with the same secret talk, both ways', async () => {
    const a = makeNode(1, '127.0.0.1', { secret: SECRET });
    const b = makeNode(2, '127.0.0.2', { secret: SECRET });
    await startPair(a, b);
    await waitFor(() => a.t.status().get(2)!.connected && b.t.status().get(1)!.connected, 'connected');
    a.t.send([hb(1, 2)]);
    b.t.send([hb(2, 1)]);
    await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1, 'delivered');
    expect(b.inbox[0]).toMatchObject({ type: MessageType.Heartbeat, from: 1, to: 2 });
  });

  it('refuses a node with another secret in both directions, and nothing it sends is delivered', async () => {
    const a = makeNode(1, '127.0.0.1', { secret: OTHER_SECRET });
    const b = makeNode(2, '127.0.0.2', { secret: SECRET });
    await startPair(a, b);
    await waitFor(() => /different --cluster-secret-file/.test(a.t.status().get(2)!.lastError ?? ''), 'A refuses B');
    await waitFor(() => /different --cluster-secret-file/.test(b.t.status().get(1)!.lastError ?? ''), 'B refuses A');
    a.t.send([hb(1, 2)]);
    b.t.send([hb(2, 1)]);
    await new Promise((r) => setTimeout(r, 200));
    expect(a.states).toEqual([]);
    expect(b.states).toEqual([]);
    expect(b.inbox).toEqual([]);
    expect(a.inbox).toEqual([]);
  });

  it('refuses a node without a secret, and a node with one refuses a node without', async () => {
    const a = makeNode(1, '127.0.0.1');
    const b = makeNode(2, '127.0.0.2', { secret: SECRET });
    await startPair(a, b);
    await waitFor(() => a.rejected.some(([id, code]) => id === 2 && code === RejectCode.Auth), 'B rejects A with Auth');
    await waitFor(() => b.rejected.some(([id, code]) => id === 1 && code === RejectCode.Auth), 'A rejects B with Auth');
    expect(b.log.matching(/rejected connection from 127\.0\.0\.1:\d+ \(Auth\): peer has no cluster secret/).length).toBeGreaterThan(0);
    expect(a.log.matching(/rejected connection from 127\.0\.0\.2:\d+ \(Auth\): peer uses a cluster secret and this node has none/).length).toBeGreaterThan(0);
    a.t.send([hb(1, 2)]);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.inbox).toEqual([]);
    expect(a.states).toEqual([]);
  });

  it('processes no frame from a peer without the secret, even pipelined behind its Hello or a forged proof', async () => {
    const b = makeNode(2, '127.0.0.2', { secret: SECRET });
    await b.t.start();
    b.t.addPeer(1, { host: '127.0.0.1', clusterPort: 1 });
    // No challenge at all (a v1 node, or v2 without a secret), everything sent at once.
    const plain = await rawClient(b.t.port);
    plain.sock.write(Buffer.concat([encodeHello({ minVersion: 1, maxVersion: 2, clusterId: CLUSTER, from: 1, to: 2, auth: Buffer.alloc(0) }), ...payloadFrames(1, 2)]));
    await plain.closed;
    expect(plain.frames.map((f) => f.type)).toEqual([FrameType.HelloReject]);
    expect(decodeHelloReject(plain.frames[0]!.body).code).toBe(RejectCode.Auth);
    // A challenge, then a guessed proof with frames right behind it.
    const forger = await rawClient(b.t.port);
    forger.sock.write(encodeHello({ minVersion: 2, maxVersion: 2, clusterId: CLUSTER, from: 1, to: 2, auth: newNonce() }));
    await waitFor(() => forger.frames.length === 1, 'challenge');
    expect(forger.frames[0]!.type).toBe(FrameType.HelloAck);
    expect(decodeHelloAck(forger.frames[0]!.body).auth.length).toBe(NONCE_BYTES + MAC_BYTES);
    forger.sock.write(Buffer.concat([encodeHelloProof({ auth: Buffer.alloc(MAC_BYTES, 7) }), ...payloadFrames(1, 2)]));
    await forger.closed;
    expect(forger.frames.map((f) => f.type)).toEqual([FrameType.HelloAck, FrameType.HelloReject]);
    expect(decodeHelloReject(forger.frames[1]!.body).code).toBe(RejectCode.Auth);
    // Frames instead of the proof.
    const skipper = await rawClient(b.t.port);
    skipper.sock.write(encodeHello({ minVersion: 2, maxVersion: 2, clusterId: CLUSTER, from: 1, to: 2, auth: newNonce() }));
    await waitFor(() => skipper.frames.length === 1, 'challenge');
    skipper.sock.write(Buffer.concat(payloadFrames(1, 2)));
    await skipper.closed;
    expectUntouched(b);
    expect(b.log.matching(/127\.0\.0\.1:\d+/).length).toBeGreaterThanOrEqual(3);
  });

  it('refuses a replayed handshake: the acceptor challenges every connection with a new nonce', async () => {
    const b = makeNode(2, '127.0.0.2', { secret: SECRET });
    await b.t.start();
    b.t.addPeer(1, { host: '127.0.0.1', clusterPort: 1 });
    // A genuine node 1 (the test holds the secret) completes one handshake; its bytes are recorded.
    const nonce = newNonce();
    const hello = encodeHello({ minVersion: 2, maxVersion: 2, clusterId: CLUSTER, from: 1, to: 2, auth: nonce });
    const first = await rawClient(b.t.port);
    first.sock.write(hello);
    await waitFor(() => first.frames.length === 1, 'challenge');
    const ack = decodeHelloAck(first.frames[0]!.body);
    const t: AuthTranscript = {
      minVersion: 2,
      maxVersion: 2,
      version: ack.version,
      clusterId: CLUSTER,
      dialerId: 1,
      acceptorId: 2,
      dialerNonce: nonce,
      acceptorNonce: ack.auth.subarray(0, NONCE_BYTES),
      channelBinding: Buffer.alloc(0),
    };
    expect(SECRET.verify('acceptor', t, ack.auth.subarray(NONCE_BYTES))).toBe(true);
    // The acceptor's proof is not a valid dialer proof (no reflection).
    expect(SECRET.verify('dialer', t, ack.auth.subarray(NONCE_BYTES))).toBe(false);
    const proof = encodeHelloProof({ auth: SECRET.mac('dialer', t) });
    first.sock.write(Buffer.concat([proof, encodeRaftBatch([hb(1, 2, 5)])]));
    await waitFor(() => b.inbox.length === 1, 'genuine message delivered');
    first.sock.destroy();
    // The recorder replays both frames on a new connection, with a message behind them.
    const replay = await rawClient(b.t.port);
    replay.sock.write(hello);
    await waitFor(() => replay.frames.length === 1, 'second challenge');
    expect(decodeHelloAck(replay.frames[0]!.body).auth.subarray(0, NONCE_BYTES).equals(t.acceptorNonce)).toBe(false);
    replay.sock.write(Buffer.concat([proof, encodeRaftBatch([hb(1, 2, 6)])]));
    await replay.closed;
    expect(replay.frames.map((f) => f.type)).toEqual([FrameType.HelloAck, FrameType.HelloReject]);
    expect(decodeHelloReject(replay.frames[1]!.body).code).toBe(RejectCode.Auth);
    expect(b.inbox.map((m) => m.term)).toEqual([5]);
  });

  it('binds every field into the proof', () => {
    const t: AuthTranscript = {
      minVersion: 2,
      maxVersion: 2,
      version: 2,
      clusterId: 'c',
      dialerId: 1,
      acceptorId: 2,
      dialerNonce: Buffer.alloc(NONCE_BYTES, 1),
      acceptorNonce: Buffer.alloc(NONCE_BYTES, 2),
      channelBinding: Buffer.alloc(0),
    };
    const mac = SECRET.mac('dialer', t);
    expect(SECRET.verify('dialer', t, mac)).toBe(true);
    expect(OTHER_SECRET.verify('dialer', t, mac)).toBe(false);
    const changes: Partial<AuthTranscript>[] = [
      { minVersion: 1 },
      { version: 1 },
      { clusterId: 'd' },
      { dialerId: 3 },
      { acceptorId: 3 },
      { dialerNonce: Buffer.alloc(NONCE_BYTES, 3) },
      { acceptorNonce: Buffer.alloc(NONCE_BYTES, 3) },
      { channelBinding: Buffer.alloc(32, 1) },
    ];
    for (const c of changes) expect(SECRET.verify('dialer', { ...t, ...c }, mac)).toBe(false);
    expect(() => new ClusterSecret(Buffer.alloc(15))).toThrow(/at least 16 bytes/);
  });

  it('still talks to a version 1 peer without a secret, writing version 1 frame headers to it', async () => {
    // A v1 acceptor played by hand: it acks version 1 and records the header version of what follows.
    const versions: number[] = [];
    const server = net.createServer((sock) => {
      sockets.push(sock);
      const dec = new FrameDecoder({ versions: [1] });
      sock.on('data', (c: Buffer) => {
        const r = dec.decode(c);
        for (const f of r.frames) {
          if (f.type === FrameType.Hello) sock.write(encodeHelloAck({ version: 1, nodeId: 2, auth: Buffer.alloc(0) }));
          else versions.push(f.version);
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', () => r()));
    const a = makeNode(1, '127.0.0.1');
    try {
      await a.t.start();
      a.t.addPeer(2, { host: '127.0.0.2', clusterPort: (server.address() as net.AddressInfo).port });
      await waitFor(() => a.t.status().get(2)!.connected, 'connected to the v1 peer');
      a.t.send([hb(1, 2)]);
      await waitFor(() => versions.length === 1, 'frame received');
      expect(versions).toEqual([1]);
    } finally {
      await a.t.close();
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('LogLimiter', () => {
  it('logs at most a burst per window and then says how many lines it dropped', () => {
    const log = new CapturingLogger();
    let now = 0;
    const l = new LogLimiter(log, 3, 1000, () => now);
    for (let i = 0; i < 10; i++) l.warn(`line ${i}`);
    expect(log.lines.length).toBe(3);
    now = 1000;
    l.warn('later');
    expect(log.lines.length).toBe(4);
    expect(log.lines[3]).toMatch(/later \(7 similar line\(s\) suppressed before this one\)/);
  });
});

describe('peer TLS', () => {
  let certs: CertFiles;
  beforeAll(() => {
    certs = makeCerts();
  });
  afterAll(() => certs?.remove());

  const good = (): TransportOptions['tls'] => ({ cert: certs.read(certs.cert), key: certs.read(certs.key), ca: certs.read(certs.caCert) });

  it('connects two nodes over mutual TLS, with the secret bound to the TLS session', async () => {
    const a = makeNode(1, '127.0.0.1', { tls: good(), secret: SECRET });
    const b = makeNode(2, '127.0.0.2', { tls: good(), secret: SECRET });
    await startPair(a, b);
    await waitFor(() => a.t.status().get(2)!.connected && b.t.status().get(1)!.connected, 'connected');
    a.t.send([hb(1, 2)]);
    await waitFor(() => b.inbox.length === 1, 'delivered');
  });

  it('refuses a peer whose certificate another CA signed, and one that speaks plain TCP', async () => {
    const b = makeNode(2, '127.0.0.2', { tls: good() });
    // The impostor trusts our CA (so it would accept us) but presents a certificate of its own CA.
    const a = makeNode(1, '127.0.0.1', { tls: { cert: certs.read(certs.otherCert), key: certs.read(certs.otherKey), ca: certs.read(certs.caCert) } });
    await startPair(a, b);
    await waitFor(() => b.log.matching(/refused peer TLS connection from 127\.0\.0\.1:\d+/).length > 0, 'B logs the refusal');
    await waitFor(() => /before the handshake completed|certificate|alert|socket hang up|ECONNRESET/i.test(a.t.status().get(2)!.lastError ?? ''), 'A cannot connect');
    a.t.send([hb(1, 2)]);
    // Plain TCP to the TLS port gets no frame back and cannot deliver one.
    const raw = await rawClient(b.t.port);
    raw.sock.write(Buffer.concat([encodeHello({ minVersion: 1, maxVersion: 2, clusterId: CLUSTER, from: 1, to: 2, auth: Buffer.alloc(0) }), ...payloadFrames(1, 2)]));
    await raw.closed;
    expect(raw.frames).toEqual([]);
    expect(a.states).toEqual([]);
    expectUntouched(b);
    // A client that does not present a certificate at all is refused too.
    const noCert = tls.connect({ host: '127.0.0.2', port: b.t.port, ca: certs.read(certs.caCert) });
    sockets.push(noCert);
    const outcome = await new Promise<string>((resolve) => {
      noCert.on('error', (e) => resolve(e.message));
      noCert.on('data', () => resolve('data'));
      noCert.on('close', () => resolve('closed'));
      noCert.on('secureConnect', () => noCert.write(encodeHello({ minVersion: 1, maxVersion: 2, clusterId: CLUSTER, from: 1, to: 2, auth: Buffer.alloc(0) })));
    });
    expect(outcome).not.toBe('data');
    expectUntouched(b);
  });
});
