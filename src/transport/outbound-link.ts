/**
 * The connection this node dials to one peer and sends its Raft messages on.
 *
 * Lifecycle: dial → Hello → HelloAck (connected; queued frames flow) → …
 * → close → wait (exponential backoff with jitter) → dial again. Frames
 * wait in a bounded queue while the link is not writable; when the queue
 * exceeds its cap the oldest frames are dropped, and when a connection fails
 * whatever is still queued is dropped: Raft retransmits, and stale
 * heartbeats or appends replayed after an outage are only noise. Every drop is
 * reported so the driver can tell Raft the peer is unreachable.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Backoff } from './backoff.js';
import { FrameError } from './errors.js';
import { AUTH_MIN_VERSION, FIRST_SKIPPABLE_FRAME_TYPE, FrameDecoder, FrameType, PROTOCOL_VERSION, SUPPORTED_VERSIONS, frameTypeName, isKnownFrameType } from './frame.js';
import { HANDSHAKE_MAX_FRAME_SIZE, decodeHelloAck, decodeHelloReject, encodeHello, encodeHelloProof, rejectCodeName, versionRange } from './handshake.js';
import { channelBinding } from './inbound-connection.js';
import type { LinkContext } from './link-context.js';
import { MAC_BYTES, NONCE_BYTES, newNonce } from './peer-auth.js';
import { writeDirect } from '../util/socket-write.js';

export interface QueuedFrame {
  buf: Buffer;
  messages: number;
  snapshot: boolean;
}

export interface OutboundStatus {
  /** Our outgoing connection is up and past the handshake. */
  connected: boolean;
  lastError: string | undefined;
  /** Bytes waiting in the link's queue plus bytes buffered in the socket. */
  queuedBytes: number;
  queuedFrames: number;
  droppedMessages: number;
  sentFrames: number;
  sentMessages: number;
}

export class OutboundLink {
  private socket: net.Socket | undefined;
  private decoder = new FrameDecoder({ maxFrameSize: HANDSHAKE_MAX_FRAME_SIZE });
  private connected = false;
  private closed = false;
  private dialTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private queue: (QueuedFrame | undefined)[] = [];
  private head = 0;
  private queueBytes = 0;
  private lastError: string | undefined;
  /** The last failure that was logged at info level, so a peer that stays down logs once. */
  private loggedError: string | undefined;
  private droppedMessages = 0;
  private sentFrames = 0;
  private sentMessages = 0;
  /** Bytes of a frame written straight to the socket's handle that the kernel has not taken yet (see flush). */
  private inFlight = 0;
  /** The socket that direct write was made on. */
  private directSocket: net.Socket | undefined;
  /** A direct write's completion: what waited behind it goes (as the socket's 'drain' does for the Writable). */
  private readonly directDone = (err?: Error): void => {
    const sock = this.directSocket;
    this.directSocket = undefined;
    this.inFlight = 0;
    if (err === undefined && sock !== undefined && sock === this.socket) this.flush();
  };
  private closeWaiters: (() => void)[] = [];
  /** Whether the current connection's failure has been recorded (so 'close' does not record it again). */
  private failureNoted = false;
  /** Overflow is logged once per connection, not once per dropped frame. */
  private overflowLogged = false;
  /** What the current connection's Hello offered (the proofs cover it). */
  private offered: { min: number; max: number; nonce: Buffer } = { min: 1, max: 1, nonce: Buffer.alloc(0) };
  /** The version negotiated on the current connection: frame headers carry it. */
  private version = PROTOCOL_VERSION;

  constructor(
    readonly id: number,
    private host: string,
    private port: number,
    private readonly ctx: LinkContext,
  ) {
    this.backoff = new Backoff(ctx.backoff);
  }

  get address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  get isConnected(): boolean {
    return this.connected;
  }

  private get label(): string {
    return `peer ${this.id} (${this.host}:${this.port})`;
  }

  start(): void {
    if (!this.closed && this.socket === undefined && this.dialTimer === undefined) this.dial();
  }

  /** Moves the link to a new address: the current connection (if any) is dropped and redialed at once. */
  setAddress(host: string, port: number): void {
    if (host === this.host && port === this.port) return;
    this.host = host;
    this.port = port;
    this.backoff.reset();
    if (this.dialTimer !== undefined) {
      clearTimeout(this.dialTimer);
      this.dialTimer = undefined;
      this.dial();
    } else if (this.socket !== undefined) {
      this.socket.destroy();
    }
  }

  enqueue(frame: QueuedFrame): void {
    if (this.closed) return;
    this.queue.push(frame);
    this.queueBytes += frame.buf.length;
    this.trim();
    this.flush();
  }

  status(): OutboundStatus {
    return {
      connected: this.connected,
      lastError: this.lastError,
      queuedBytes: this.queueBytes + this.socketBytes(),
      queuedFrames: this.queue.length - this.head,
      droppedMessages: this.droppedMessages,
      sentFrames: this.sentFrames,
      sentMessages: this.sentMessages,
    };
  }

  /** Stops redialing and closes the connection, letting written frames drain for up to closeTimeoutMs. */
  close(): Promise<void> {
    this.closed = true;
    if (this.dialTimer !== undefined) clearTimeout(this.dialTimer);
    this.dialTimer = undefined;
    this.clearQueue();
    const sock = this.socket;
    if (sock === undefined) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    if (this.connected && this.socketBytes() > 0) {
      sock.end();
      const t = setTimeout(() => sock.destroy(), this.ctx.closeTimeoutMs);
      sock.once('close', () => clearTimeout(t));
    } else {
      sock.destroy();
    }
    return done;
  }

  private dial(): void {
    this.dialTimer = undefined;
    if (this.closed) return;
    this.decoder = new FrameDecoder({ maxFrameSize: HANDSHAKE_MAX_FRAME_SIZE });
    this.connected = false;
    this.failureNoted = false;
    this.overflowLogged = false;
    let sock: net.Socket;
    const peerTls = this.ctx.tls;
    try {
      const common = {
        host: this.host,
        port: this.port,
        // Outgoing connections leave from this node's own address so that
        // tests can partition nodes on 127.0.0.x from each other by address.
        ...(this.ctx.localAddress !== undefined ? { localAddress: this.ctx.localAddress } : {}),
      };
      if (peerTls !== undefined) {
        // Mutual TLS: we present our certificate and check the peer's against the cluster CA and its address.
        sock = tls.connect({
          ...common,
          cert: peerTls.cert,
          key: peerTls.key,
          ca: peerTls.ca,
          minVersion: 'TLSv1.2',
          ...(net.isIP(this.host) === 0 ? { servername: this.host } : {}),
        });
        sock.setNoDelay(true);
        sock.setKeepAlive(true, 5000);
      } else {
        sock = net.connect({ ...common, noDelay: true, keepAlive: true, keepAliveInitialDelay: 5000 });
      }
    } catch (e) {
      this.noteFailure(`cannot dial: ${(e as Error).message}`);
      this.dropQueue(false);
      this.scheduleDial();
      return;
    }
    this.socket = sock;
    this.handshakeTimer = setTimeout(() => {
      this.failConnection(sock, `no handshake answer within ${this.ctx.handshakeTimeoutMs} ms`);
    }, this.ctx.handshakeTimeoutMs);
    sock.on(peerTls !== undefined ? 'secureConnect' : 'connect', () => {
      const { min, max } = versionRange();
      // A node with a secret speaks only versions that can prove it: an older peer refuses us with a clear reason.
      const withSecret = this.ctx.secret !== undefined;
      this.offered = { min: withSecret ? Math.max(min, AUTH_MIN_VERSION) : min, max, nonce: withSecret ? newNonce() : Buffer.alloc(0) };
      sock.write(
        encodeHello({ minVersion: this.offered.min, maxVersion: max, clusterId: this.ctx.clusterId, from: this.ctx.selfId, to: this.id, auth: this.offered.nonce }),
      );
    });
    sock.on('data', (chunk: Buffer) => this.onData(sock, chunk));
    sock.on('drain', () => {
      if (sock === this.socket) this.flush();
    });
    sock.on('error', (err: Error) => {
      if (sock === this.socket) this.noteFailure(err.message);
    });
    sock.on('close', () => this.onClose(sock));
  }

  private onData(sock: net.Socket, chunk: Buffer): void {
    if (sock !== this.socket) return;
    this.decoder.push(chunk);
    for (;;) {
      if (sock !== this.socket || sock.destroyed) return;
      const f = this.decoder.next();
      if (f === undefined) return;
      if (f instanceof FrameError) {
        this.failConnection(sock, `malformed frame from peer: ${f.message}`, 'warn');
        return;
      }
      try {
        this.onFrame(sock, f.type, f.body);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        this.failConnection(sock, `malformed ${frameTypeName(f.type)} from peer: ${e.message}`, 'warn');
        return;
      }
    }
  }

  private onFrame(sock: net.Socket, type: number, body: Buffer): void {
    if (this.connected) {
      // Acceptors send nothing after the ack, except a refusal of our HelloProof; skippable extensions are ignored.
      if (type === FrameType.HelloReject) {
        const j = decodeHelloReject(body);
        this.ctx.rejectedBy(this.id, j.code);
        this.failConnection(sock, `rejected by peer (${rejectCodeName(j.code)}): ${j.reason}`, 'warn');
        return;
      }
      if (type >= FIRST_SKIPPABLE_FRAME_TYPE && !isKnownFrameType(type)) return;
      throw new FrameError('protocol', `unexpected ${frameTypeName(type)} frame on an outgoing connection`);
    }
    if (type === FrameType.HelloReject) {
      const j = decodeHelloReject(body);
      this.ctx.rejectedBy(this.id, j.code);
      this.failConnection(sock, `rejected by peer (${rejectCodeName(j.code)}): ${j.reason}`, 'warn');
      return;
    }
    if (type !== FrameType.HelloAck) throw new FrameError('protocol', `expected HelloAck, got ${frameTypeName(type)}`);
    const ack = decodeHelloAck(body);
    const { min, max } = this.offered;
    if (!SUPPORTED_VERSIONS.includes(ack.version) || ack.version < min || ack.version > max) {
      throw new FrameError('version', `peer chose protocol version ${ack.version}, not offered`);
    }
    if (ack.nodeId !== this.id) throw new FrameError('protocol', `expected node ${this.id}, answered by node ${ack.nodeId}`);
    const secret = this.ctx.secret;
    if (secret !== undefined) {
      if (ack.auth.length !== NONCE_BYTES + MAC_BYTES) {
        this.failConnection(sock, 'peer did not prove it holds the cluster secret (it has none): refusing to talk to it; give every node the same --cluster-secret-file', 'warn');
        return;
      }
      const transcript = {
        minVersion: min,
        maxVersion: max,
        version: ack.version,
        clusterId: this.ctx.clusterId,
        dialerId: this.ctx.selfId,
        acceptorId: this.id,
        dialerNonce: this.offered.nonce,
        acceptorNonce: ack.auth.subarray(0, NONCE_BYTES),
        channelBinding: channelBinding(sock),
      };
      if (!secret.verify('acceptor', transcript, ack.auth.subarray(NONCE_BYTES))) {
        this.failConnection(sock, "peer's proof does not match this node's cluster secret: the nodes have different --cluster-secret-file contents", 'warn');
        return;
      }
      // Frames queued behind the proof are read by the peer only once the proof checks out.
      sock.write(encodeHelloProof({ auth: secret.mac('dialer', transcript) }));
    }
    this.version = ack.version;
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.decoder.maxFrameSize = this.ctx.maxFrameSize;
    this.connected = true;
    this.backoff.reset();
    this.loggedError = undefined;
    this.ctx.log.info(`connected to ${this.label} from ${sock.localAddress ?? '?'}`);
    this.ctx.peerStateChanged(this.id, true);
    this.flush();
  }

  private onClose(sock: net.Socket): void {
    if (sock !== this.socket) return;
    this.socket = undefined;
    this.inFlight = 0;
    this.directSocket = undefined;
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    const wasConnected = this.connected;
    this.connected = false;
    if (this.closed) {
      const waiters = this.closeWaiters;
      this.closeWaiters = [];
      for (const w of waiters) w();
      return;
    }
    if (!wasConnected && !this.failureNoted) {
      // With TLS 1.3 a peer that refuses our certificate does so after our side finished its handshake.
      const hint = this.ctx.tls !== undefined ? ' (does the peer trust the CA that signed this node\'s --peer-tls-cert-file?)' : '';
      this.noteFailure(`connection closed by peer before the handshake completed${hint}`);
    }
    if (wasConnected) {
      if (!this.failureNoted) this.noteFailure('connection closed by peer');
      this.ctx.peerStateChanged(this.id, false);
    }
    // Frames already handed to the socket may be lost too: tell Raft even if the queue was empty.
    this.dropQueue(wasConnected);
    this.scheduleDial();
  }

  private scheduleDial(): void {
    if (this.closed || this.dialTimer !== undefined) return;
    const delay = this.backoff.next();
    this.dialTimer = setTimeout(() => this.dial(), delay);
  }

  /** Records why the link is down; logs a failure once until the link comes back up. */
  private noteFailure(reason: string, level: 'info' | 'warn' = 'info'): void {
    this.lastError = reason;
    this.failureNoted = true;
    if (reason !== this.loggedError) {
      this.loggedError = reason;
      this.ctx.log[level](`${this.label}: ${reason}`);
    } else if (this.ctx.log.debugEnabled) {
      this.ctx.log.debug(`${this.label}: ${reason} (again)`);
    }
  }

  private failConnection(sock: net.Socket, reason: string, level: 'info' | 'warn' = 'info'): void {
    if (sock !== this.socket) return;
    this.noteFailure(reason, level);
    sock.destroy();
  }

  /** What the current socket holds that the kernel has not taken: its Writable's bytes and a direct write's rest. */
  private socketBytes(): number {
    return this.inFlight + (this.socket?.writableLength ?? 0);
  }

  /**
   * Hands queued frames to the socket while it holds less than
   * writeHighWaterBytes. One frame with nothing else pending (the usual
   * case: a Ready's messages to a peer are one frame) is written straight
   * to the socket's handle (util/socket-write.ts), without the Writable's
   * cork, buffering and callbacks; a rest the kernel did not take is
   * counted in inFlight until it has left, and later frames queue behind it.
   */
  private flush(): void {
    const sock = this.socket;
    if (!this.connected || sock === undefined || this.head === this.queue.length) return;
    if (this.inFlight === 0 && this.head === this.queue.length - 1) {
      const buf = this.versioned(this.queue[this.head]!.buf);
      const done = writeDirect(sock, buf, this.directDone);
      if (done !== undefined) {
        this.sent();
        if (done === 'async') {
          this.inFlight = buf.length;
          this.directSocket = sock;
        }
        this.compact();
        return;
      }
    }
    // One frame the direct write declined (TLS, a write pending): written as is, without
    // cork/uncork's buffering of it (Writable's buffered list and clearBuffer).
    const single = this.head === this.queue.length - 1;
    if (!single) sock.cork();
    while (this.head < this.queue.length && this.socketBytes() < this.ctx.writeHighWaterBytes) {
      sock.write(this.versioned(this.sent().buf));
    }
    if (!single) sock.uncork();
    this.compact();
  }

  /** Takes the frame at the head of the queue as handed to the socket, counted as sent. */
  private sent(): QueuedFrame {
    const f = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    this.queueBytes -= f.buf.length;
    this.sentFrames++;
    this.sentMessages += f.messages;
    return f;
  }

  /** The frame with this connection's version in its header. */
  private versioned(buf: Buffer): Buffer {
    if (buf[4] === this.version) return buf;
    // A peer of an older version (a rolling upgrade): same layouts, its version in the header. Frames may be shared between links, so copy.
    const copy = Buffer.from(buf);
    copy[4] = this.version;
    return copy;
  }

  /** Drops the oldest frames while over the cap; the newest frame always stays, however large. */
  private trim(): void {
    const buffered = this.socketBytes();
    let dropped = 0;
    let snapshot = false;
    while (this.queueBytes + buffered > this.ctx.maxQueueBytes && this.queue.length - this.head > 1) {
      const f = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      this.queueBytes -= f.buf.length;
      dropped += f.messages;
      snapshot ||= f.snapshot;
    }
    this.compact();
    if (dropped > 0) {
      this.droppedMessages += dropped;
      this.lastError = `send queue over ${this.ctx.maxQueueBytes} bytes, dropped oldest messages`;
      if (!this.overflowLogged) {
        this.overflowLogged = true;
        this.ctx.log.warn(`${this.label}: ${this.lastError}`);
      }
      this.ctx.unreachable(this.id, snapshot);
    }
  }

  private dropQueue(reportEvenIfEmpty: boolean): void {
    let dropped = 0;
    let snapshot = false;
    for (let i = this.head; i < this.queue.length; i++) {
      const f = this.queue[i]!;
      dropped += f.messages;
      snapshot ||= f.snapshot;
    }
    this.clearQueue();
    this.droppedMessages += dropped;
    if (dropped > 0 || reportEvenIfEmpty) this.ctx.unreachable(this.id, snapshot);
  }

  private clearQueue(): void {
    this.queue = [];
    this.head = 0;
    this.queueBytes = 0;
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
