/**
 * The peer mesh of one node (docs/peer-protocol.md).
 *
 * Every node dials every peer and sends its Raft messages on the connection
 * it dialed (OutboundLink); what peers send arrives on the connections they
 * dialed to us (InboundConnection). So each pair of nodes holds two TCP
 * connections, each carrying traffic one way: no tie-breaking between
 * simultaneous dials, and a link's state says exactly whether *we* can
 * reach the peer.
 *
 * The listener and the outgoing connections both use the node's bind
 * address, so nodes on 127.0.0.1/2/3 can be partitioned by address.
 *
 * Nothing a peer sends can throw out of a socket handler: malformed input
 * closes that connection with one log line.
 */
import net from 'node:net';
import tls from 'node:tls';
import { isLocalMessage, MessageType, type Entry, type Message } from '../raft/messages.js';
import { createLogger, type Logger } from '../util/log.js';
import { noteWireRun } from '../util/wire-entries.js';
import type { BackoffOptions } from './backoff.js';
import { messageHeaderSize, messageSize, writeEntriesSection, writeMessage, writeMessageHeader } from './codec.js';
import { TransportError } from './errors.js';
import { DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_BYTES, FrameType, allocFrame, encodeFrame, frameTypeName, type AppFrameType } from './frame.js';
import { clusterIdBytes } from './handshake.js';
import { InboundConnection } from './inbound-connection.js';
import type { LinkContext, PeerTlsOptions } from './link-context.js';
import { LogLimiter } from './log-limit.js';
import type { ClusterSecret } from './peer-auth.js';
import { OutboundLink, type OutboundStatus } from './outbound-link.js';
import { varintSize, writeVarint } from './varint.js';
import { userBufferSocket } from '../util/socket-read.js';

export interface PeerAddress {
  host: string;
  clusterPort: number;
}

export interface TransportOptions {
  selfId: number;
  /** 1 to 255 bytes of UTF-8; nodes with different ids refuse each other. */
  clusterId: string;
  /** Address to listen on and to dial from. */
  bindHost: string;
  /** Port to listen on; 0 lets the OS choose (see `port` after start()). */
  port: number;
  /** Other members by id (an entry for selfId is ignored). Copied; change later with addPeer/removePeer. */
  peers: ReadonlyMap<number, PeerAddress>;
  /** A message from a peer for this node. Exceptions thrown here are not caught. */
  onMessage: (msg: Message) => void;
  /** A forwarded client command or its reply (frame body as sent by forward()); absent: such frames are dropped. */
  onForward?: (type: AppFrameType, body: Buffer, from: number) => void;
  /** A PubSubMessage frame body from a peer (pub/sub fan-out); absent: such frames are dropped. */
  onPubSub?: (body: Buffer, from: number) => void;
  /** Our outgoing connection to `id` completed its handshake (true) or was lost (false). */
  onPeerState?: (id: number, connected: boolean) => void;
  /** A peer refused our handshake (RejectCode); e.g. UnknownNode from the members means this node was removed. */
  onRejected?: (id: number, code: number) => void;
  /**
   * Messages to `id` were (or may have been) lost: queue overflow, a lost
   * connection, an unknown peer. Call raft.reportUnreachable(id), and if
   * `droppedSnapshot`, raft.reportSnapshot(id, failure).
   */
  onUnreachable?: (id: number, droppedSnapshot: boolean) => void;
  /** Whether to accept a handshake from `id`. Default: `id` is in the peer map. */
  isMember?: (id: number) => boolean;
  logger?: Logger;
  /** Largest frame accepted and sent (length field). Default 64 MiB. */
  maxFrameSize?: number;
  /** Per-peer bound on queued plus socket-buffered bytes before dropping the oldest frames. Default 32 MiB. */
  maxQueueBytes?: number;
  /** Frames move from the queue to the socket while its buffer holds less than this. Default 1 MiB. */
  writeHighWaterBytes?: number;
  /** Time for a dial plus handshake, and for a Hello to arrive on an accepted connection. Default 5 s. */
  handshakeTimeoutMs?: number;
  /** How long close() lets written data drain before destroying a socket. Default 1 s. */
  closeTimeoutMs?: number;
  /** Reconnect delays. Default 50 ms doubling to 2 s, with jitter. */
  backoff?: BackoffOptions;
  /** Accepted connections still in their handshake beyond this are refused. Default 64. */
  maxPendingHandshakes?: number;
  /**
   * The cluster secret (--cluster-secret-file): every handshake, both ways,
   * must prove it (protocol version 2). Undefined: no secret, as before.
   */
  secret?: ClusterSecret;
  /** Mutual TLS on the peer port, for the listener and every dial. Undefined: plain TCP. */
  tls?: PeerTlsOptions;
}

/** A peer's cluster address, its outgoing link's status, and what came in from it. */
export interface PeerStatus extends OutboundStatus {
  id: number;
  host: string;
  port: number;
  /** The peer has a connection to us (past the handshake). */
  inbound: boolean;
  /** Source address of that inbound connection (the peer's bind address). */
  inboundAddress: string | undefined;
  receivedMessages: number;
}

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '::0']);

/** An append carries at least this many entries for its encoded entries to be kept for the next follower's (see Transport.send). */
const SHARE_MIN_ENTRIES = 2;

/**
 * The encoded entries section (count and entries) of the last append with
 * entries written in this send() call: bytes [start, end) of `buf`. An append
 * to another follower with the same entries (the same Entry objects: the
 * leader hands every follower slices of one log) copies those bytes instead
 * of encoding each entry again.
 */
interface SharedEntries {
  first: Entry;
  last: Entry;
  count: number;
  buf: Buffer;
  start: number;
  end: number;
}

export class Transport {
  readonly selfId: number;
  readonly clusterId: string;
  readonly bindHost: string;
  private readonly log: Logger;
  private readonly ctx: LinkContext;
  private readonly links = new Map<number, OutboundLink>();
  private readonly inbound = new Set<InboundConnection>();
  /** The one accepted connection per peer; a newer one replaces (and closes) an older one. */
  private readonly inboundByPeer = new Map<number, InboundConnection>();
  private readonly received = new Map<number, number>();
  /** Closes started outside close() (removed peers, replaced connections). */
  private readonly pendingCloses = new Set<Promise<void>>();
  private server: net.Server | undefined;
  private listenPort: number;
  private started = false;
  private closing: Promise<void> | undefined;
  private readonly maxFrameSize: number;
  private readonly maxPendingHandshakes: number;

  constructor(opts: TransportOptions) {
    if (!Number.isSafeInteger(opts.selfId) || opts.selfId < 1) throw new RangeError(`selfId must be a positive integer, got ${opts.selfId}`);
    clusterIdBytes(opts.clusterId);
    this.selfId = opts.selfId;
    this.clusterId = opts.clusterId;
    this.bindHost = opts.bindHost;
    this.listenPort = opts.port;
    this.log = opts.logger ?? createLogger('transport');
    this.maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.maxPendingHandshakes = opts.maxPendingHandshakes ?? 64;
    const localAddress = net.isIP(opts.bindHost) !== 0 && !WILDCARD_HOSTS.has(opts.bindHost) ? opts.bindHost : undefined;
    if (localAddress === undefined && !WILDCARD_HOSTS.has(opts.bindHost)) {
      this.log.warn(`bind host '${opts.bindHost}' is not an IP address: outgoing peer connections use the OS's choice of source address`);
    }
    const isMember = opts.isMember ?? ((id: number) => this.links.has(id));
    this.ctx = {
      selfId: opts.selfId,
      clusterId: opts.clusterId,
      localAddress,
      maxFrameSize: this.maxFrameSize,
      maxQueueBytes: opts.maxQueueBytes ?? 32 * 1024 * 1024,
      writeHighWaterBytes: opts.writeHighWaterBytes ?? 1024 * 1024,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 5000,
      closeTimeoutMs: opts.closeTimeoutMs ?? 1000,
      backoff: opts.backoff ?? {},
      log: this.log,
      strangerLog: new LogLimiter(this.log),
      secret: opts.secret,
      tls: opts.tls,
      isMember,
      deliver: (msg, from) => {
        this.received.set(from, (this.received.get(from) ?? 0) + 1);
        opts.onMessage(msg);
      },
      deliverForward: (type, body, from) => {
        if (opts.onForward) opts.onForward(type as AppFrameType, body, from);
        else this.log.warn(`dropping a ${frameTypeName(type)} frame from node ${from}: this node does not take them`);
      },
      deliverPubSub: (body, from) => opts.onPubSub?.(body, from),
      peerStateChanged: (id, connected) => opts.onPeerState?.(id, connected),
      rejectedBy: (id, code) => opts.onRejected?.(id, code),
      unreachable: (id, snap) => opts.onUnreachable?.(id, snap),
    };
    for (const [id, addr] of opts.peers) if (id !== this.selfId) this.createLink(id, addr);
  }

  /** The listening port (the OS's choice when the options said 0), valid after start(). */
  get port(): number {
    return this.listenPort;
  }

  /** Listens on bindHost:port and starts dialing every peer. Rejects if the port cannot be bound. */
  async start(): Promise<void> {
    if (this.started) throw new TransportError('transport already started');
    if (this.closing !== undefined) throw new TransportError('transport is closed');
    this.started = true;
    const peerTls = this.ctx.tls;
    let server: net.Server;
    if (peerTls !== undefined) {
      // Mutual TLS: a peer without a certificate from the cluster CA never reaches the handshake.
      server = tls.createServer(
        {
          cert: peerTls.cert,
          key: peerTls.key,
          ca: peerTls.ca,
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
          handshakeTimeout: this.ctx.handshakeTimeoutMs,
          noDelay: true,
        },
        (sock) => this.onConnection(sock),
      );
      // A failed TLS socket is already destroyed when tlsClientError fires and no longer knows its
      // address; reading it from the TCP socket on 'connection' caches it there (net.Socket keeps
      // its peer name once asked), where the TLS socket's _parent still finds it.
      server.on('connection', (raw: net.Socket) => void raw.remoteAddress);
      server.on('tlsClientError', (err, sock) => {
        const raw = (sock as unknown as { _parent?: net.Socket })._parent;
        const who = `${sock.remoteAddress ?? raw?.remoteAddress ?? '?'}:${sock.remotePort ?? raw?.remotePort ?? 0}`;
        this.ctx.strangerLog.warn(`refused peer TLS connection from ${who}: ${err.message} (a certificate not signed by --peer-tls-ca-file, none, or not TLS)`);
      });
    } else {
      // Paused: the connection's handle is read through a user buffer (userBufferSocket).
      server = net.createServer({ noDelay: true, pauseOnConnect: true }, (sock) => this.onConnection(sock));
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ host: this.bindHost, port: this.listenPort }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error(`peer listener: ${err.message}`));
    const addr = server.address();
    if (addr !== null && typeof addr === 'object') this.listenPort = addr.port;
    const how = [peerTls !== undefined ? 'mutual TLS' : '', this.ctx.secret !== undefined ? 'cluster secret' : ''].filter(Boolean).join(', ');
    this.log.info(`node ${this.selfId} listening for peers on ${this.bindHost}:${this.listenPort}${how !== '' ? ` (${how})` : ''}`);
    if (this.closing !== undefined) return;
    for (const link of this.links.values()) link.start();
  }

  /**
   * Sends one application frame (forwarded command or reply, snapshot chunk
   * or acknowledgement) to peer `to`. Returns false
   * when there is no link to that peer. Like Raft messages, a queued frame
   * may be dropped if the connection fails: callers time out and never resend
   * (a forwarded write must not be applied twice).
   */
  forward(to: number, type: AppFrameType, body: Buffer): boolean {
    const link = this.links.get(to);
    if (link === undefined || this.closing !== undefined) return false;
    link.enqueue({ buf: encodeFrame(type, body), messages: 0, snapshot: false });
    return true;
  }

  /**
   * Sends one frame to every peer whose link is up (pub/sub fan-out). Best
   * effort, like Redis Cluster's bus: a peer that is not connected now
   * misses it, and nothing is queued for later. Returns how many peers it
   * was queued for.
   */
  broadcast(type: FrameType.PubSubMessage, body: Buffer): number {
    if (this.closing !== undefined) return 0;
    if (2 + body.length > this.maxFrameSize) {
      // The receiver would close the connection on it: this message stays local.
      this.log.warn(`not sending a ${body.length}-byte ${FrameType[type]} frame: over the ${this.maxFrameSize}-byte frame limit`);
      return 0;
    }
    let frame: Buffer | undefined;
    let n = 0;
    for (const link of this.links.values()) {
      if (!link.isConnected) continue;
      frame ??= encodeFrame(type, body);
      link.enqueue({ buf: frame, messages: 0, snapshot: false });
      n++;
    }
    return n;
  }

  /**
   * Sends messages, grouped by destination: one frame per peer per call
   * (split only if a group would exceed the maximum frame size). Never
   * blocks; messages that cannot be delivered are dropped and reported
   * through onUnreachable.
   */
  send(msgs: readonly Message[]): void {
    if (this.closing !== undefined || msgs.length === 0) return;
    if (msgs.length === 1) {
      const m = msgs[0]!;
      this.sendGroup(m.to, [m]);
      this.shared = undefined;
      return;
    }
    const groups = new Map<number, Message[]>();
    for (const m of msgs) {
      const g = groups.get(m.to);
      if (g === undefined) groups.set(m.to, [m]);
      else g.push(m);
    }
    try {
      for (const [to, group] of groups) this.sendGroup(to, group);
    } finally {
      // Not kept past this call: the frame it points into belongs to a link's queue.
      this.shared = undefined;
    }
  }

  private shared: SharedEntries | undefined;

  /** The encoded entries of an earlier append in this send() that `m` carries too, if any. */
  private sharedFor(m: Message): SharedEntries | undefined {
    const sh = this.shared;
    if (sh === undefined || m.type !== MessageType.App) return undefined;
    const es = m.entries;
    const n = es.length;
    return n === sh.count && es[0] === sh.first && es[n - 1] === sh.last ? sh : undefined;
  }

  /** Adds a member, or moves an existing one to a new address. */
  addPeer(id: number, addr: PeerAddress): void {
    if (!Number.isSafeInteger(id) || id < 1) throw new RangeError(`peer id must be a positive integer, got ${id}`);
    if (id === this.selfId || this.closing !== undefined) return;
    const link = this.links.get(id);
    if (link !== undefined) {
      link.setAddress(addr.host, addr.clusterPort);
      return;
    }
    const created = this.createLink(id, addr);
    if (this.started) created.start();
  }

  /** Forgets a member: its outgoing link and any connection it made to us are closed. */
  removePeer(id: number): void {
    const link = this.links.get(id);
    if (link === undefined) return;
    this.links.delete(id);
    // close() must still wait for these sockets.
    this.track(link.close());
    const conn = this.inboundByPeer.get(id);
    if (conn !== undefined) this.track(conn.destroy());
    this.received.delete(id);
  }

  hasPeer(id: number): boolean {
    return this.links.has(id);
  }

  status(): Map<number, PeerStatus> {
    const out = new Map<number, PeerStatus>();
    for (const [id, link] of this.links) {
      const s = link.status();
      const conn = this.inboundByPeer.get(id);
      out.set(id, {
        id,
        ...link.address,
        ...s,
        inbound: conn !== undefined,
        inboundAddress: conn?.remoteAddress,
        receivedMessages: this.received.get(id) ?? 0,
      });
    }
    return out;
  }

  /** Stops listening, closes every connection and resolves once all sockets are closed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const waits: Promise<void>[] = [];
    const server = this.server;
    if (server !== undefined && server.listening) {
      waits.push(new Promise<void>((resolve) => server.close(() => resolve())));
    }
    for (const link of this.links.values()) waits.push(link.close());
    for (const conn of this.inbound) waits.push(conn.destroy());
    waits.push(...this.pendingCloses);
    await Promise.all(waits);
  }

  private track(p: Promise<void>): void {
    this.pendingCloses.add(p);
    void p.then(() => this.pendingCloses.delete(p));
  }

  private createLink(id: number, addr: PeerAddress): OutboundLink {
    const link = new OutboundLink(id, addr.host, addr.clusterPort, this.ctx);
    this.links.set(id, link);
    return link;
  }

  private onConnection(sock: net.Socket): void {
    if (this.closing !== undefined) {
      sock.destroy();
      return;
    }
    let pending = 0;
    for (const c of this.inbound) if (c.peerId === undefined) pending++;
    if (pending >= this.maxPendingHandshakes) {
      this.log.warn(`refusing peer connection from ${sock.remoteAddress ?? '?'}: ${pending} handshakes already pending`);
      sock.on('error', () => {});
      sock.destroy();
      return;
    }
    let conn: InboundConnection | undefined;
    const moved = sock instanceof tls.TLSSocket ? undefined : userBufferSocket(sock, READ_BUFFER, (n, buf) => conn!.read(buf, n));
    conn = new InboundConnection(moved ?? sock, this.ctx, {
      accepted: (c) => {
        const id = c.peerId!;
        const old = this.inboundByPeer.get(id);
        this.inboundByPeer.set(id, c);
        if (old !== undefined && old !== c) {
          // The peer redialed: the old connection is dead or half-open.
          if (this.log.debugEnabled) this.log.debug(`${old.label}: replaced by a new connection`);
          this.track(old.destroy());
        }
      },
      closed: (c) => {
        this.inbound.delete(c);
        if (c.peerId !== undefined && this.inboundByPeer.get(c.peerId) === c) this.inboundByPeer.delete(c.peerId);
      },
    }, moved !== undefined);
    if (moved === undefined && sock.isPaused()) sock.resume();
    this.inbound.add(conn);
  }

  private sendGroup(to: number, msgs: Message[]): void {
    const link = this.links.get(to);
    if (link === undefined || to === this.selfId) {
      const why = to === this.selfId ? 'addressed to this node itself' : 'to an unknown peer';
      this.log.warn(`dropping ${msgs.length} message(s) ${why} (node ${to})`);
      if (to !== this.selfId) this.ctx.unreachable(to, msgs.some((m) => m.snapshot !== undefined));
      return;
    }
    if (msgs.some((m) => isLocalMessage(m.type))) {
      // Peers ignore local messages anyway; sending one is a driver bug worth a loud line, not a crash.
      this.log.error(`not sending local message(s) to node ${to}: ${msgs.filter((m) => isLocalMessage(m.type)).map((m) => m.type).join(',')}`);
      msgs = msgs.filter((m) => !isLocalMessage(m.type));
      if (msgs.length === 0) return;
    }
    const sizes: number[] = [];
    for (const m of msgs) {
      const sh = this.sharedFor(m);
      sizes.push(sh !== undefined ? messageHeaderSize(m) + sh.end - sh.start : messageSize(m));
    }
    // Split only when one frame would exceed the limit the receiver enforces.
    let start = 0;
    while (start < msgs.length) {
      let end = start;
      let body = 0;
      while (end < msgs.length) {
        const next = body + sizes[end]!;
        if (end > start && 2 + varintSize(end + 1 - start) + next > this.maxFrameSize) break;
        body = next;
        end++;
      }
      const count = end - start;
      const frameLength = 2 + varintSize(count) + body;
      if (frameLength > this.maxFrameSize) {
        const m = msgs[start]!;
        this.log.error(`dropping a ${frameLength}-byte message to node ${to}: above the maximum frame size ${this.maxFrameSize}`);
        this.ctx.unreachable(to, m.snapshot !== undefined);
        start = end;
        continue;
      }
      const buf = allocFrame(FrameType.RaftBatch, varintSize(count) + body);
      let off = writeVarint(buf, FRAME_HEADER_BYTES, count);
      let snapshot = false;
      for (let i = start; i < end; i++) {
        const m = msgs[i]!;
        const sh = this.sharedFor(m);
        if (sh !== undefined) {
          off = writeMessageHeader(buf, off, m);
          off += sh.buf.copy(buf, off, sh.start, sh.end);
        } else if (m.type === MessageType.App && m.entries.length >= SHARE_MIN_ENTRIES && m.snapshot === undefined) {
          off = writeMessageHeader(buf, off, m);
          const at = off;
          off = writeEntriesSection(buf, off, m.entries);
          this.shared = { first: m.entries[0]!, last: m.entries[m.entries.length - 1]!, count: m.entries.length, buf, start: at, end: off };
          // The leader's own log write takes these bytes too, when it writes exactly these
          // entries (its new ones, sent before its write): util/wire-entries.ts.
          noteWireRun({ entries: m.entries, buf, start: at + varintSize(m.entries.length), end: off });
        } else {
          off = writeMessage(buf, off, m);
        }
        snapshot ||= m.snapshot !== undefined;
      }
      if (off !== buf.length) throw new Error(`codec: wrote ${off} bytes, computed ${buf.length}`);
      link.enqueue({ buf, messages: count, snapshot });
      start = end;
    }
  }
}

/**
 * The buffer every plain-TCP inbound peer connection reads into: a read is
 * handed to its InboundConnection at once and consumed there (its frames
 * copied out, as FrameDecoder does anyway, and a frame's beginning kept), so
 * one buffer serves all of them.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

