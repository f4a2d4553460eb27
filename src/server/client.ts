/**
 * One client connection: socket I/O, the request parser, the per-client
 * state Redis keeps (name, protocol, MULTI queue, WATCH), and the ordered
 * reply queue.
 *
 * Replies must leave in request order, but a write's reply is only known
 * once its log entry is applied, while a PING after it is known at once.
 * So replies go into slots: a deferred slot is filled later; immediate
 * replies append to the newest open slot. Done slots at the head of the
 * queue are written out, coalesced into one socket write per turn.
 */
import type net from 'node:net';
import type { Keyspace } from '../keyspace/keyspace.js';
import { RespWriter, type Proto } from './resp-writer.js';
import { RequestParser } from './request-parser.js';
import { OutputLimitWatch, type OutputLimit } from './output-limit.js';
import { CLIENT_BASE_MEMORY, type ClientEviction, type MeasuredClient } from './client-eviction.js';
import { createLogger } from '../util/log.js';
import { writeDirect } from '../util/socket-write.js';

const log = createLogger('server');

/** Stop reading from a client whose unsent replies exceed this (client-output-buffer-limit style backpressure). */
const OUTPUT_HIGH_WATER = 4 * 1024 * 1024;

/**
 * What a client needs from the server it is connected to: Redis's server
 * state and command execution, implemented above this layer
 * (src/commands/engine/engine.ts). The client itself only moves bytes:
 * requests in, replies out, in order.
 */
export interface ClientHost {
  /** The id of a new connection (CLIENT ID). */
  nextClientId(): number;
  /** Redis's admission control, before a connection becomes a client: the error line to send and close with, or undefined to accept. */
  refuseConnection(remoteAddress?: string): string | undefined;
  /** The database a new connection starts in (db 0). */
  readonly firstDb: Keyspace;
  /** A connection was accepted / closed. */
  addClient(c: Client): void;
  removeClient(c: Client): void;
  /** Runs one parsed request. */
  onCommand(c: Client, argv: string[]): void;
  /**
   * Runs a plain `SET key value` from its bytes in `buf` (the name, SET in
   * any case, at nameAt, 3 bytes; the key at [keyAt, keyEnd); the value at
   * [valueAt, valueEnd)), valid only during the call, if it can do so
   * without the arguments' strings; false: nothing was done, and the
   * request comes to onCommand as argv.
   */
  plainSet(c: Client, buf: Uint8Array, nameAt: number, keyAt: number, keyEnd: number, valueAt: number, valueEnd: number): boolean;
  /** Whether a client that has not authenticated must AUTH before anything else (the default user has a password). */
  authRequired(): boolean;
  /**
   * Whether argv may run now rather than wait in the client's inbox: `held`
   * says a read awaiting its confirmation holds the client's pipeline.
   */
  mayRunNow(c: Client, argv: string[], held: boolean): boolean;
  /** Told of every error reply written (INFO errorstats). */
  readonly errorReply: (text: string) => void;
  /** INFO's network counters. */
  readonly io: IoCounters;
  /** Limits on what a client sends; the same object for every connection, read at each use. */
  readonly limits: ClientLimits;
  /** maxmemory-clients: the node's client eviction (client-eviction.ts). */
  readonly clientEviction: ClientEviction;
}

/**
 * Redis's limits on a client's input, read at each use so that CONFIG SET
 * changes them for every connection at once, as in Redis.
 */
export interface ClientLimits {
  /** proto-max-bulk-len: the longest bulk argument accepted (longer: "invalid bulk length"). */
  maxBulkLen: number;
  /**
   * client-query-buffer-limit: a client whose query buffer, as Redis counts
   * it (Client.queryBufferBytes), would pass this with the bytes just read
   * is closed without a reply, those bytes unparsed.
   */
  queryBufferLimit: number;
  /**
   * client-output-buffer-limit for the normal class (0) and the pubsub class
   * (1, a client subscribed to anything): a client whose replies waiting for
   * the socket reach `hard` bytes, or stay at or above `soft` bytes for more
   * than `seconds`, is closed (0: no such limit).
   */
  outputLimits: readonly OutputLimit[];
  /** Some output limit is set: only then is a client's output measured after a write. */
  outputLimited: boolean;
  /** tcp-keepalive: seconds of idleness before TCP keepalive probes on a new connection (0: none), as Redis's anetKeepAlive at accept. */
  keepAliveSeconds: number;
}

export interface IoCounters {
  netInputBytes: number;
  netOutputBytes: number;
  readsProcessed: number;
  writesProcessed: number;
}

/**
 * Clients collected during a tick and each handed to `flush` once, from one
 * deferred call (`defer`: setImmediate or process.nextTick) for all of them;
 * the two lists are swapped so that no array is made per run.
 */
class ClientBatch {
  private list: Client[] = [];
  private spare: Client[] = [];
  private queued = false;
  private readonly run = (): void => {
    this.queued = false;
    const list = this.list;
    this.list = this.spare;
    for (let i = 0; i < list.length; i++) this.flush(list[i]!);
    list.length = 0;
    this.spare = list;
  };

  constructor(
    private readonly defer: (fn: () => void) => void,
    private readonly flush: (c: Client) => void,
  ) {}

  add(c: Client): void {
    this.list.push(c);
    if (this.queued) return;
    this.queued = true;
    this.defer(this.run);
  }
}

/**
 * Writes clients' replies after every socket that is readable this turn has
 * been read, as Redis writes in beforeSleep (handleClientsWithPendingWrites):
 * reading all requests first and then writing all replies.
 */
export class ReplyScheduler {
  private readonly afterReads = new ClientBatch(setImmediate, (c) => c.flushScheduled());
  private readonly endOfTick = new ClientBatch(process.nextTick, (c) => c.flushSoon());

  schedule(c: Client): void {
    this.afterReads.add(c);
  }

  /**
   * Writes c's ready replies at the end of this tick (replies completed by
   * the applies of a turn, pub/sub pushes): one process.nextTick for every
   * client of the turn, not one per client.
   */
  soon(c: Client): void {
    this.endOfTick.add(c);
  }
}

/** A place in the reply queue: filled now (ready) or later (a deferred reply). */
export class Slot extends RespWriter {
  constructor(
    proto: Proto,
    public ready: boolean,
    readonly client: Client,
  ) {
    super(proto);
    this.onError = client.errorReply;
  }

  /** The reply is complete: it may leave once every reply before it has. */
  done(): void {
    this.client.complete(this);
  }
}

/**
 * The ACL user a client is authenticated as: the engine's User
 * (src/commands/engine/acl.ts); this layer only carries it.
 */
export interface ClientUser {
  readonly name: string;
  /** May run everything: no permission check per command. */
  readonly allowsAll: boolean;
}

export interface WatchedKey {
  key: string;
  /** The database it was WATCHed in. */
  db: number;
  /** The key was already expired when WATCHed (Redis: expiry then does not count as a change). */
  expiredAtWatch: boolean;
}

const NO_USER: ClientUser = { name: 'default', allowsAll: true };

export class Client<H extends ClientHost = ClientHost> implements MeasuredClient {
  readonly id: number;
  /** CLIENT NO-EVICT on: never evicted by maxmemory-clients (CLIENT LIST flag e). */
  noEvict = false;
  /** The memory maxmemory-clients counts for it now (client-eviction.ts). */
  memCounted = 0;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  name = '';
  libName = '';
  libVer = '';
  proto: Proto = 2;
  readonly addr: string;
  readonly laddr: string;
  lastCommand = 'NULL';
  /** The ACL user this client acts as (set by the host when the client is added: the default user). */
  user: ClientUser = NO_USER;
  /** AUTH succeeded, or the default user needed no password when the client connected (Redis's c->authenticated). */
  authenticated = true;

  /** MULTI state: queued argvs, or undefined when not in MULTI. */
  multi: string[][] | undefined;
  /** A command was rejected while queuing: EXEC must abort. */
  multiError = false;
  /**
   * The SELECTed database and its number: the keyspace every command of
   * this client acts on (held here, so a command costs no lookup).
   */
  db: Keyspace;
  dbIndex = 0;

  /** WATCHed keys, by `${db} ${key}`; `watchDirty` is set when one of them is written. */
  readonly watched = new Map<string, WatchedKey>();
  watchDirty = false;
  /** READONLY mode (cluster): may read a follower's local state. */
  readonly = false;
  /** ASKING (sharded cluster): the next command may use a slot moving into this group. */
  asking = false;

  /** Pub/sub channels and patterns this client is subscribed to (insertion order, as Redis 7.0's pattern list). */
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  /** Shard channels (SSUBSCRIBE). */
  readonly shardChannels = new Set<string>();

  /** A connection command queued in MULTI is running as part of EXEC (Redis: CLIENT_MULTI still set). */
  inExec = false;

  /** Index of this client's last proposed write; reads wait until it is applied. */
  lastWriteIndex = 0;

  /**
   * CLIENT REPLY: 'off' drops every reply, 'skip' the next command's (set by
   * CLIENT REPLY SKIP for the command after it). Pub/sub confirmations and
   * messages are sent regardless, as redis-server 7 sends them.
   */
  private replyMode: 'on' | 'off' | 'skip' = 'on';
  /** The command running now answers nothing (its writers discard). */
  private muted = false;
  private readonly mutedWriter = new RespWriter(2, true);

  private readonly direct: RespWriter = new RespWriter(2, false, true);
  private readonly queue: Slot[] = [];
  private readonly parser: RequestParser;
  /** Requests parsed while they could not run (output backed up, a read or a blocked pop holding the pipeline, CLIENT PAUSE), run in order later. */
  private readonly inbox: string[][] = [];
  /** Their size as RESP requests: still part of the query buffer for client-query-buffer-limit, as Redis has not run them yet. */
  private inboxBytes = 0;
  /**
   * What arrived while the inbox was not empty, kept as it came and parsed
   * once the inbox has drained, as Redis leaves a blocked client's input in
   * its query buffer. (Parsed, a flood of tiny requests would cost many
   * times its size in arrays and strings.)
   */
  private readonly heldInput: Buffer[] = [];
  private heldInputBytes = 0;
  /** Inside parser.feed(): it must not be called again from there. */
  private feeding = false;
  private readonly runInbox: () => void;
  /**
   * A read whose answer must come before anything the client sent after it
   * (it waits for a ReadIndex round, during which later writes could apply).
   * Later reads may join it (they share its ReadIndex round and complete in
   * order); anything else waits in the inbox until it completes. Writes never
   * hold the pipeline: the log orders them, and reads after them wait for their index.
   */
  private heldBy: RespWriter | undefined;
  private closing = false;
  private ended = false;
  private paused = false;
  private flushQueued = false;
  private writeScheduled = false;
  /** Bytes of a reply written straight to the socket's handle that the kernel has not taken yet (see flush). */
  private directPending = 0;
  /** A direct write's completion: as the socket's 'drain' for what the Writable holds. */
  private readonly directDone = (err?: Error): void => {
    this.directPending = 0;
    if (err !== undefined || this.closed) return;
    if (this.eviction.enabled) this.eviction.update(this);
    if (this.paused && !this.closing && this.socketBytes < OUTPUT_HIGH_WATER) this.resumeOutput();
  };
  /** client-output-buffer-limit's soft-limit clock, once a limit was checked. */
  private obuf: OutputLimitWatch | undefined;
  closed = false;
  /** The host's objects read per request (the same for every connection; their fields are read at each use). */
  private readonly io: IoCounters;
  private readonly limits: ClientLimits;
  private readonly eviction: ClientEviction;
  /** The host's errorReply (INFO errorstats), given to every reply slot. */
  readonly errorReply: (text: string) => void;

  constructor(
    readonly sock: net.Socket,
    /** The server this client is connected to (Redis's server state, above this layer). */
    readonly server: H,
    private readonly replies: ReplyScheduler,
    /** The Unix socket's path for a client connected through unixsocket (CLIENT LIST: addr and laddr `<path>:0`, flag U). */
    readonly unixPath?: string,
    /** The socket reads into a buffer shared by every connection and hands each read to read() (server.ts). */
    userBuffer = false,
  ) {
    this.id = server.nextClientId();
    this.db = server.firstDb;
    this.io = server.io;
    this.limits = server.limits;
    this.eviction = server.clientEviction;
    this.errorReply = server.errorReply;
    this.addr = unixPath !== undefined ? `${unixPath}:0` : `${sock.remoteAddress}:${sock.remotePort}`;
    this.laddr = unixPath !== undefined ? `${unixPath}:0` : `${sock.localAddress}:${sock.localPort}`;
    sock.setNoDelay(true);
    if (server.limits.keepAliveSeconds > 0) sock.setKeepAlive(true, server.limits.keepAliveSeconds * 1000);
    this.direct.onError = this.errorReply;
    // Errors nobody reads still count in INFO errorstats, as in Redis.
    this.mutedWriter.onError = this.errorReply;
    this.parser = new RequestParser(
      {
        onCommand: (argv) => {
          if (this.closing) return;
          if (this.paused || this.inbox.length > 0 || !this.server.mayRunNow(this, argv, this.heldBy !== undefined)) {
            // Output is backed up, a read must run before anything after it, or
            // CLIENT PAUSE holds it: keep the parsed request for later
            // (bounded by client-query-buffer-limit).
            this.inbox.push(argv);
            this.inboxBytes += requestSize(argv);
            return;
          }
          this.runCommand(argv);
          this.checkOutput();
        },
        // A plain SET from its bytes, when it can run now (else argv, through onCommand above).
        onPlainSet: (buf, nameAt, keyAt, keyEnd, valueAt, valueEnd) => {
          if (this.closing) return true;
          if (this.paused || this.inbox.length > 0 || this.heldBy !== undefined || this.replyMode !== 'on') return false;
          if (!this.server.plainSet(this, buf, nameAt, keyAt, keyEnd, valueAt, valueEnd)) return false;
          this.checkOutput();
          return true;
        },
        onProtocolError: (text) => {
          log.debug(`client ${this.id} ${this.addr}: protocol error: ${text}`);
          (this.replyMode === 'on' ? this.out() : this.mutedWriter).error(text);
          this.closeAfterReply();
        },
        // Redis's smaller limits on what a client that must still AUTH may send.
        authRequired: () => !this.authenticated && this.server.authRequired(),
      },
      server.limits,
    );
    // A socket made with a user buffer (server.ts) calls read() itself; others (TLS) emit 'data'.
    if (!userBuffer) sock.on('data', (chunk: Buffer) => this.input(chunk, chunk.length, false));
    this.runInbox = () => {
      for (;;) {
        while (this.inbox.length > 0 && !this.paused && !this.closing && this.server.mayRunNow(this, this.inbox[0]!, this.heldBy !== undefined)) {
          const argv = this.inbox.shift()!;
          this.inboxBytes -= requestSize(argv);
          this.runCommand(argv);
          this.checkOutput();
        }
        if (this.inbox.length > 0 || this.heldInput.length === 0 || this.paused || this.closing) break;
        if (this.feeding) {
          // Called from a command (CLIENT UNPAUSE): parse the rest after it.
          queueMicrotask(this.runInbox);
          break;
        }
        const chunk = this.heldInput.shift()!;
        this.heldInputBytes -= chunk.length;
        this.feed(chunk);
      }
      this.flush();
    };
    sock.on('drain', () => {
      if (this.eviction.enabled) this.eviction.update(this);
      if (!this.paused || this.closing) return;
      this.resumeOutput();
    });
    sock.on('error', (err) => log.debug(`client ${this.id} ${this.addr}: ${err.message}`));
    sock.on('close', () => {
      this.closed = true;
      this.obuf?.stop();
      server.removeClient(this);
    });
  }

  /**
   * A read into the connections' shared buffer (server.ts): `buf[0, n)`,
   * valid only during this call (what is kept is copied).
   */
  read(buf: Buffer, n: number): void {
    this.input(buf, n, true);
  }

  /** Bytes read from the socket: `chunk[0, n)`; `shared`: `chunk`'s memory is reused after this call. */
  private input(chunk: Buffer, n: number, shared: boolean): void {
    // Per read, as Redis's readQueryFromClient sets c->lastinteraction.
    this.lastInteraction = Date.now();
    const io = this.io;
    io.netInputBytes += n;
    io.readsProcessed++;
    // Closing: nothing more is run.
    if (this.closing) return;
    if (this.queryBufferBytes + n > this.limits.queryBufferLimit) return this.queryBufferLimitReached(chunk, n);
    if (this.requestsWaiting) {
      // Requests are waiting their turn: these bytes wait unparsed behind them.
      this.heldInput.push(shared || n < chunk.length ? Buffer.from(chunk.subarray(0, n)) : chunk);
      this.heldInputBytes += n;
      if (this.eviction.enabled) this.eviction.update(this);
      return;
    }
    this.feed(chunk, n);
    if (this.eviction.enabled) {
      this.eviction.update(this);
      // Evicted: nothing more is written.
      if (this.sock.destroyed) return;
    }
    // Replies known now leave once every readable client has been read
    // (replies to writes leave when their entries apply).
    if (!this.writeScheduled && (this.direct.size > 0 || this.queue[0]?.ready === true)) {
      this.writeScheduled = true;
      this.replies.schedule(this);
    }
  }

  private feed(chunk: Buffer, n = chunk.length): void {
    this.feeding = true;
    try {
      this.parser.feed(chunk, n);
    } finally {
      this.feeding = false;
    }
  }

  /**
   * The query buffer as Redis would count it for client-query-buffer-limit:
   * the element being parsed, the requests parsed but not run yet, the
   * bytes not parsed yet.
   */
  get queryBufferBytes(): number {
    return this.parser.queryBufferBytes + this.inboxBytes + this.heldInputBytes;
  }

  /** Runs one request with its replies muted if CLIENT REPLY says so. */
  private runCommand(argv: string[]): void {
    const mode = this.replyMode;
    if (mode === 'on') return this.server.onCommand(this, argv);
    // Redis's resetClient: SKIP lasts for one command.
    if (mode === 'skip') this.replyMode = 'on';
    this.muted = true;
    try {
      this.server.onCommand(this, argv);
    } finally {
      this.muted = false;
    }
  }

  /**
   * CLIENT REPLY ON / OFF / SKIP (SKIP while OFF changes nothing). ON
   * answers the command that turned replies back on.
   */
  setReplyMode(mode: 'on' | 'off' | 'skip'): void {
    if (mode === 'skip' && this.replyMode === 'off') return;
    this.replyMode = mode;
    if (mode === 'on') this.muted = false;
  }

  /**
   * The writer for a reply sent whatever CLIENT REPLY says (pub/sub
   * confirmations): `w` itself unless it is the muted writer.
   */
  pushing(w: RespWriter): RespWriter {
    return w === this.mutedWriter ? this.unmutedOut() : w;
  }

  setProto(p: Proto): void {
    this.proto = p;
    this.direct.proto = p;
  }

  /** CLIENT PAUSE ended: run what was held back. */
  resume(): void {
    if (this.requestsWaiting && !this.closed) this.runInbox();
  }

  /** The writer for a reply known now (keeps order behind deferred replies). */
  out(): RespWriter {
    return this.muted ? this.mutedWriter : this.unmutedOut();
  }

  private unmutedOut(): RespWriter {
    if (this.queue.length === 0) return this.direct;
    const tail = this.queue[this.queue.length - 1]!;
    // A muted reply's slot (CLIENT REPLY) takes nothing after it.
    if (tail.ready && !tail.discard) return tail;
    const s = new Slot(this.proto, true, this);
    this.queue.push(s);
    return s;
  }

  /** A reply slot filled later; call complete(slot) (or slot.done()) when written. */
  defer(): Slot {
    const s = new Slot(this.proto, false, this);
    s.discard = this.muted;
    this.queue.push(s);
    return s;
  }

  /**
   * A reply slot filled later, which may be `w`, a slot of this client's
   * made by defer() and not complete yet: `w` itself when it is still the
   * last reply queued and this reply would be muted as its are (replies
   * written into one slot leave in the order written); else a new one.
   */
  deferAfter(w: Slot | undefined): Slot {
    if (w !== undefined && !w.ready && w.discard === this.muted && this.queue[this.queue.length - 1] === w) return w;
    return this.defer();
  }

  /**
   * The writer to fill slot `w` (made by defer(), empty) with, just before
   * its replies are written and complete(w) is called: this client's own
   * writer when `w` is first in the queue (everything before it is in that
   * writer or has left), `w` taken out of the queue; else `w`.
   */
  writerFor(w: Slot): RespWriter {
    if (this.queue[0] !== w || w.discard || w.size !== 0) return w;
    this.queue.shift();
    return this.direct;
  }

  /** Holds this client's later requests until slot w completes. */
  hold(w: RespWriter): void {
    this.heldBy = w;
  }

  complete(w: RespWriter): void {
    (w as Slot).ready = true;
    if (w === this.heldBy) {
      this.heldBy = undefined;
      if (this.requestsWaiting) queueMicrotask(this.runInbox);
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.replies.soon(this);
    }
  }

  /** Redis's clientSubscriptionsCount: channels plus patterns (what SUBSCRIBE's replies count). */
  get subscriptions(): number {
    return this.channels.size + this.patterns.size;
  }

  /** Subscribed to anything, shard channels included: Redis's CLIENT_PUBSUB flag. */
  get inPubSub(): boolean {
    return this.channels.size + this.patterns.size + this.shardChannels.size > 0;
  }

  /**
   * The writer for a pub/sub message pushed to this client outside its own
   * requests (behind any reply already queued, as Redis appends to the
   * output buffer), flushed at the end of this turn; undefined once the
   * connection is closing.
   */
  pushWriter(): RespWriter | undefined {
    if (this.closing || this.closed) return undefined;
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.replies.soon(this);
    }
    return this.unmutedOut();
  }

  /** complete's and pushWriter's end-of-tick flush (ReplyScheduler.soon). */
  flushSoon(): void {
    this.flushQueued = false;
    this.flush();
  }

  /** Bytes of replies not yet taken by the socket plus what the socket still buffers. */
  get outputBytes(): number {
    return this.direct.size + this.socketBytes;
  }

  /** What the socket holds that the kernel has not taken: its Writable's bytes and a direct write's rest. */
  get socketBytes(): number {
    return this.directPending + this.sock.writableLength;
  }

  /** The socket took enough of the replies: this client's requests run and its socket reads again. */
  private resumeOutput(): void {
    this.paused = false;
    this.runInbox();
    if (!this.paused) this.sock.resume();
  }

  get pendingReplies(): number {
    return this.queue.length;
  }

  /** Requests of this client waiting their turn behind a held one (parsed in the inbox, or bytes not parsed yet). */
  get requestsWaiting(): boolean {
    return this.inbox.length > 0 || this.heldInput.length > 0;
  }

  /**
   * Backpressure: once the replies waiting for the socket pass the high-water
   * mark, write them out and stop reading (and running) this client's
   * requests until the socket drains.
   */
  private checkOutput(): void {
    if (this.direct.size + this.socketBytes < OUTPUT_HIGH_WATER) return;
    this.flush();
    if (this.socketBytes >= OUTPUT_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.sock.pause();
    }
  }

  /** The server's end-of-turn write (scheduleWrite). */
  flushScheduled(): void {
    this.writeScheduled = false;
    this.flush();
  }

  /**
   * Writes every reply that is ready, in order, in one socket write: with
   * nothing else pending on the socket, straight to its handle
   * (util/socket-write.ts: the Writable's per-write request, bookkeeping and
   * next-tick callback cost more than the rest of a small reply's way out);
   * what the kernel did not take counts as buffered (socketBytes) until it
   * has left, and later replies queue behind it in the Writable.
   */
  flush(): void {
    if (this.closed) return;
    let s = this.direct.take();
    while (this.queue.length > 0 && this.queue[0]!.ready) s += this.queue.shift()!.take();
    if (s.length > 0) {
      const io = this.io;
      io.netOutputBytes += s.length;
      io.writesProcessed++;
      const done = this.directPending === 0 && !this.ended ? writeDirect(this.sock, s, this.directDone) : undefined;
      if (done === undefined) this.sock.write(s, 'latin1');
      else if (done === 'async') this.directPending = s.length;
      if (this.limits.outputLimited && (this.socketBytes !== 0 || this.obuf !== undefined) && this.outputLimitReached()) return;
      if (this.eviction.enabled) {
        this.eviction.update(this);
        if (this.closed || this.sock.destroyed) return;
      }
      if (!this.paused && this.socketBytes >= OUTPUT_HIGH_WATER) {
        this.paused = true;
        this.sock.pause();
      }
    }
    if (this.closing && this.queue.length === 0) this.endSocket();
  }

  /**
   * Ends the connection once what was written has left, then closes the
   * socket for good, as Redis close()s a CLIENT_CLOSE_AFTER_REPLY client
   * once its reply is written. Left half-closed, the socket would wait for
   * the peer's FIN, which a client that keeps sending never delivers (its
   * bytes fill a window nobody reads any more): the connection would stay
   * open for good.
   */
  private endSocket(): void {
    if (this.ended) return;
    this.ended = true;
    this.sock.end(() => this.sock.destroy());
  }

  /** QUIT, protocol errors: stop reading, close once every reply is written. */
  closeAfterReply(): void {
    this.closing = true;
    this.sock.pause();
    this.flush();
  }

  kill(): void {
    this.sock.destroy();
  }

  /**
   * What maxmemory-clients counts for this client (CLIENT LIST tot-mem): the
   * fixed part, the query buffer, the replies not taken by the socket yet.
   */
  memoryUsage(): number {
    let queued = 0;
    for (const s of this.queue) queued += s.size;
    return CLIENT_BASE_MEMORY + this.queryBufferBytes + this.outputBytes + queued;
  }

  /** maxmemory-clients chose this client: closed now, what it has not read or sent dropped (Redis's freeClient). */
  evict(): void {
    this.closing = true;
    this.parser.stop();
    this.sock.destroy();
  }

  describe(): string {
    return `id=${this.id} addr=${this.addr} laddr=${this.laddr} name=${this.name} tot-mem=${this.memCounted} cmd=${this.lastCommand}`;
  }

  /** client-output-buffer-limit (output-limit.ts): closes the client when its unsent replies are over its class's limit. */
  private outputLimitReached(): boolean {
    if (this.closed) return true;
    this.obuf ??= new OutputLimitWatch(() => !this.closed && this.server.limits.outputLimited && this.outputLimitReached());
    const used = this.socketBytes;
    if (!this.obuf.over(used, this.server.limits.outputLimits[this.inPubSub ? 1 : 0]!)) return false;
    log.warn(
      `Client id=${this.id} addr=${this.addr} laddr=${this.laddr} name=${this.name} omem=${used} cmd=${this.lastCommand} ` +
        `closed for overcoming of output buffer limits.`,
    );
    this.closing = true;
    this.sock.destroy();
    return true;
  }

  /**
   * client-query-buffer-limit passed: as Redis's readQueryFromClient, log
   * and close the connection without a reply, running nothing of what is
   * buffered or just arrived (requests waiting in the inbox included). The
   * replies already due leave first (Redis wrote those before this read);
   * a reply still pending (a write in flight, a blocked pop) is dropped with
   * the connection, which is destroyed once the rest is written.
   */
  private queryBufferLimitReached(chunk: Buffer, n: number): void {
    const qbuf = this.queryBufferBytes + n;
    log.warn(
      `Closing client that reached max query buffer length: id=${this.id} addr=${this.addr} laddr=${this.laddr} name=${this.name} qbuf=${qbuf} ` +
        `(client-query-buffer-limit ${this.server.limits.queryBufferLimit}; last read begins with: ${JSON.stringify(chunk.toString('latin1', 0, Math.min(n, 64)))})`,
    );
    this.closing = true;
    this.parser.stop();
    this.inbox.length = 0;
    this.inboxBytes = 0;
    this.heldInput.length = 0;
    this.heldInputBytes = 0;
    this.sock.pause();
    // The replies that are ready leave; the others are dropped, and with them the wait.
    let ready = 0;
    while (ready < this.queue.length && this.queue[ready]!.ready) ready++;
    this.queue.length = ready;
    this.flush();
  }
}

/** The bytes of argv as a RESP request (`*N` and a `$len` line per argument). */
function requestSize(argv: readonly string[]): number {
  let n = 3 + String(argv.length).length;
  for (const a of argv) n += a.length + 5 + String(a.length).length;
  return n;
}
