/**
 * A connection a peer dialed to this node. It carries the peer's Raft
 * messages to us; we answer only the handshake. Until a valid Hello arrives
 * the decoder accepts only handshake-sized frames, so an unauthenticated
 * stranger cannot make us buffer megabytes.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { decodeBatch } from './codec.js';
import { FrameError } from './errors.js';
import { AUTH_MIN_VERSION, FIRST_SKIPPABLE_FRAME_TYPE, FrameDecoder, FrameType, SUPPORTED_VERSIONS, frameTypeName, isKnownFrameType } from './frame.js';
import {
  HANDSHAKE_MAX_FRAME_SIZE,
  RejectCode,
  checkHello,
  decodeHello,
  decodeHelloProof,
  encodeHelloAck,
  encodeHelloReject,
  rejectCodeName,
  versionRange,
  type Hello,
} from './handshake.js';
import type { LinkContext } from './link-context.js';
import { NONCE_BYTES, TLS_EXPORTER_LABEL, newNonce, type AuthTranscript } from './peer-auth.js';

export interface InboundHooks {
  /** The handshake succeeded: the connection now speaks for `conn.peerId`. */
  accepted(conn: InboundConnection): void;
  closed(conn: InboundConnection): void;
}

export class InboundConnection {
  /** Set once the peer's Hello was accepted. */
  peerId: number | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly decoder = new FrameDecoder({ maxFrameSize: HANDSHAKE_MAX_FRAME_SIZE });
  private handshakeTimer: NodeJS.Timeout | undefined;
  private done = false;
  private warnedMisrouted = false;
  /** Between our HelloAck (with a challenge) and the dialer's HelloProof: what the proof must cover. */
  private awaitingProof: { hello: Hello; version: number; transcript: AuthTranscript } | undefined;
  private readonly closedPromise: Promise<void>;
  receivedMessages = 0;

  /**
   * `socket` reads into a buffer of its own (net.Socket's `onread`) and hands
   * each read to `read` (`userBuffer` true: transport.ts), or emits 'data'
   * (TLS, and a handle that cannot read into a user buffer).
   */
  constructor(
    readonly socket: net.Socket,
    private readonly ctx: LinkContext,
    private readonly hooks: InboundHooks,
    userBuffer = false,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '?';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5000);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    this.handshakeTimer = setTimeout(() => this.fail(`handshake not completed within ${ctx.handshakeTimeoutMs} ms`, 'info'), ctx.handshakeTimeoutMs);
    if (!userBuffer) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) => {
      if (!this.done && ctx.log.debugEnabled) ctx.log.debug(`${this.label}: ${err.message}`);
    });
    socket.on('close', () => {
      if (!this.done && this.awaitingProof !== undefined) {
        // A dialer whose secret differs finds our proof wrong and hangs up: say so on this side too.
        this.ctx.strangerLog.warn(
          `rejected connection from ${this.remoteAddress}:${this.remotePort} (Auth): node ${this.awaitingProof.hello.from} hung up instead of proving the cluster secret (another --cluster-secret-file?)`,
        );
      }
      this.done = true;
      if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
      this.handshakeTimer = undefined;
      hooks.closed(this);
    });
  }

  get label(): string {
    const who = this.peerId !== undefined ? `peer ${this.peerId}` : 'unidentified peer';
    return `inbound ${who} (${this.remoteAddress}:${this.remotePort})`;
  }

  /** Closes at once (nothing of ours is in flight on an inbound connection) and resolves when closed. */
  destroy(): Promise<void> {
    this.done = true;
    this.socket.destroy();
    return this.closedPromise;
  }

  /**
   * One read of `n` bytes into `buf`, memory the socket reuses for its next
   * read: the frames in it are handled now, and what is left (a frame's
   * beginning) is copied by the decoder.
   */
  read(buf: Buffer, n: number): void {
    if (this.done) return;
    this.decoder.lend(buf.subarray(0, n));
    try {
      this.drain();
    } finally {
      this.decoder.giveBack();
    }
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.decoder.push(chunk);
    this.drain();
  }

  /** Handles every complete frame the decoder holds. */
  private drain(): void {
    while (!this.done) {
      const f = this.decoder.next();
      if (f === undefined) return;
      if (f instanceof FrameError) {
        this.fail(`malformed frame: ${f.message}`, 'warn');
        return;
      }
      try {
        this.onFrame(f.type, f.body);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        this.fail(`malformed ${frameTypeName(f.type)}: ${e.message}`, 'warn');
        return;
      }
    }
  }

  private onFrame(type: number, body: Buffer): void {
    if (this.peerId === undefined) {
      if (this.awaitingProof !== undefined) {
        if (type !== FrameType.HelloProof) throw new FrameError('protocol', `expected HelloProof, got ${frameTypeName(type)}`);
        this.onProof(body);
        return;
      }
      if (type !== FrameType.Hello) throw new FrameError('protocol', `expected Hello, got ${frameTypeName(type)}`);
      this.onHello(body);
      return;
    }
    if (type === FrameType.RaftBatch) {
      const msgs = decodeBatch(body);
      const from = this.peerId;
      for (const m of msgs) {
        if (this.done) return;
        if (m.to !== this.ctx.selfId) {
          // A misrouted message means a configuration mix-up somewhere: say so once, drop them all.
          if (!this.warnedMisrouted) {
            this.warnedMisrouted = true;
            this.ctx.log.warn(`${this.label}: dropping messages addressed to node ${m.to}, this is node ${this.ctx.selfId}`);
          }
          continue;
        }
        this.receivedMessages++;
        this.ctx.deliver(m, from);
      }
      return;
    }
    if (
      type === FrameType.ForwardCommand ||
      type === FrameType.ForwardReply ||
      type === FrameType.SnapshotChunk ||
      type === FrameType.SnapshotChunkAck ||
      type === FrameType.StatusRequest ||
      type === FrameType.StatusReply
    ) {
      this.ctx.deliverForward(type, body, this.peerId);
      return;
    }
    if (type === FrameType.PubSubMessage) {
      this.ctx.deliverPubSub(body, this.peerId);
      return;
    }
    if (type >= FIRST_SKIPPABLE_FRAME_TYPE && !isKnownFrameType(type)) return;
    throw new FrameError('protocol', `unexpected ${frameTypeName(type)} frame after the handshake`);
  }

  private onHello(body: Buffer): void {
    const hello = decodeHello(body);
    const secret = this.ctx.secret;
    const verdict = checkHello(hello, {
      clusterId: this.ctx.clusterId,
      selfId: this.ctx.selfId,
      isMember: (id) => this.ctx.isMember(id),
      versions: SUPPORTED_VERSIONS,
      verifyAuth: (h, version) => {
        if (secret !== undefined) {
          if (version < AUTH_MIN_VERSION) return `peer speaks protocol version ${h.maxVersion} at most, which cannot prove the cluster secret this node requires`;
          if (h.auth.length !== NONCE_BYTES) return 'peer has no cluster secret, and this node requires one (--cluster-secret-file)';
        } else if (version >= AUTH_MIN_VERSION && h.auth.length > 0) {
          return 'peer uses a cluster secret and this node has none: give every node the same --cluster-secret-file';
        }
        return undefined;
      },
    });
    if (!verdict.ok) {
      this.reject(verdict.code, verdict.reason);
      return;
    }
    if (secret === undefined) {
      this.accept(hello.from, verdict.version, Buffer.alloc(0));
      return;
    }
    // Challenge the dialer and prove ourselves in the same frame; nothing but its proof is read until it checks out.
    const transcript: AuthTranscript = {
      minVersion: hello.minVersion,
      maxVersion: hello.maxVersion,
      version: verdict.version,
      clusterId: this.ctx.clusterId,
      dialerId: hello.from,
      acceptorId: this.ctx.selfId,
      dialerNonce: hello.auth,
      acceptorNonce: newNonce(),
      channelBinding: channelBinding(this.socket),
    };
    this.awaitingProof = { hello, version: verdict.version, transcript };
    this.socket.write(
      encodeHelloAck({ version: verdict.version, nodeId: this.ctx.selfId, auth: Buffer.concat([transcript.acceptorNonce, secret.mac('acceptor', transcript)]) }),
    );
  }

  private onProof(body: Buffer): void {
    const { hello, version, transcript } = this.awaitingProof!;
    const proof = decodeHelloProof(body);
    this.awaitingProof = undefined;
    if (!this.ctx.secret!.verify('dialer', transcript, proof.auth)) {
      this.reject(RejectCode.Auth, `node ${hello.from}'s proof does not match this node's cluster secret: the nodes have different --cluster-secret-file contents`);
      return;
    }
    this.accept(hello.from, version, undefined);
  }

  /** The peer passed every check: from now on it speaks for node `from`. `ackAuth` undefined: the ack was already sent. */
  private accept(from: number, version: number, ackAuth: Buffer | undefined): void {
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.peerId = from;
    this.decoder.maxFrameSize = this.ctx.maxFrameSize;
    if (ackAuth !== undefined) this.socket.write(encodeHelloAck({ version, nodeId: this.ctx.selfId, auth: ackAuth }));
    if (this.ctx.log.debugEnabled) this.ctx.log.debug(`${this.label}: accepted, protocol version ${version}${this.ctx.secret !== undefined ? ', cluster secret proven' : ''}`);
    this.hooks.accepted(this);
  }

  /** Sends HelloReject, then closes once it is written (or after closeTimeoutMs). */
  reject(code: RejectCode, reason: string): void {
    if (this.done) return;
    this.done = true;
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.ctx.strangerLog.warn(`rejected connection from ${this.remoteAddress}:${this.remotePort} (${rejectCodeName(code)}): ${reason}`);
    const { min, max } = versionRange();
    const sock = this.socket;
    sock.end(encodeHelloReject({ code, minVersion: min, maxVersion: max, reason }));
    const t = setTimeout(() => sock.destroy(), this.ctx.closeTimeoutMs);
    sock.once('close', () => clearTimeout(t));
  }

  private fail(reason: string, level: 'info' | 'warn'): void {
    if (this.done) return;
    this.done = true;
    if (this.peerId === undefined && level === 'warn') this.ctx.strangerLog.warn(`${this.label}: ${reason}; closing`);
    else this.ctx.log[level](`${this.label}: ${reason}; closing`);
    this.socket.destroy();
  }
}

/** RFC 5705 keying material of a TLS connection (the same on both ends), or empty on plain TCP. */
export function channelBinding(sock: net.Socket): Buffer {
  return sock instanceof tls.TLSSocket ? sock.exportKeyingMaterial(32, TLS_EXPORTER_LABEL, Buffer.alloc(0)) : Buffer.alloc(0);
}
