/**
 * A connection a peer dialed to this node. It carries the peer's Raft
 * messages to us; we answer only the handshake. Until a valid Hello arrives
 * the decoder accepts only handshake-sized frames, so an unauthenticated
 * stranger cannot make us buffer megabytes.
 */
import type net from 'node:net';
import { decodeBatch } from './codec.js';
import { FrameError } from './errors.js';
import { FIRST_SKIPPABLE_FRAME_TYPE, FrameDecoder, FrameType, SUPPORTED_VERSIONS, frameTypeName, isKnownFrameType } from './frame.js';
import {
  HANDSHAKE_MAX_FRAME_SIZE,
  RejectCode,
  checkHello,
  decodeHello,
  encodeHelloAck,
  encodeHelloReject,
  rejectCodeName,
  versionRange,
} from './handshake.js';
import type { LinkContext } from './link-context.js';

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
  private readonly closedPromise: Promise<void>;
  receivedMessages = 0;

  constructor(
    readonly socket: net.Socket,
    private readonly ctx: LinkContext,
    private readonly hooks: InboundHooks,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '?';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5000);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    this.handshakeTimer = setTimeout(() => this.fail(`no Hello within ${ctx.handshakeTimeoutMs} ms`, 'info'), ctx.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) => {
      if (!this.done && ctx.log.debugEnabled) ctx.log.debug(`${this.label}: ${err.message}`);
    });
    socket.on('close', () => {
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

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.decoder.push(chunk);
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
    const verdict = checkHello(hello, {
      clusterId: this.ctx.clusterId,
      selfId: this.ctx.selfId,
      isMember: (id) => this.ctx.isMember(id),
      versions: SUPPORTED_VERSIONS,
      // Shared-secret slot: a later version passes verifyAuth here.
    });
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    if (!verdict.ok) {
      this.reject(verdict.code, verdict.reason);
      return;
    }
    this.peerId = hello.from;
    this.decoder.maxFrameSize = this.ctx.maxFrameSize;
    this.socket.write(encodeHelloAck({ version: verdict.version, nodeId: this.ctx.selfId, auth: Buffer.alloc(0) }));
    if (this.ctx.log.debugEnabled) this.ctx.log.debug(`${this.label}: accepted, protocol version ${verdict.version}`);
    this.hooks.accepted(this);
  }

  /** Sends HelloReject, then closes once it is written (or after closeTimeoutMs). */
  reject(code: RejectCode, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.ctx.log.warn(`rejected connection from ${this.remoteAddress}:${this.remotePort} (${rejectCodeName(code)}): ${reason}`);
    const { min, max } = versionRange();
    const sock = this.socket;
    sock.end(encodeHelloReject({ code, minVersion: min, maxVersion: max, reason }));
    const t = setTimeout(() => sock.destroy(), this.ctx.closeTimeoutMs);
    sock.once('close', () => clearTimeout(t));
  }

  private fail(reason: string, level: 'info' | 'warn'): void {
    if (this.done) return;
    this.done = true;
    this.ctx.log[level](`${this.label}: ${reason}; closing`);
    this.socket.destroy();
  }
}
