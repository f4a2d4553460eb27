/**
 * Redis's processCommand for raftis: lookup, arity, cluster routing, MULTI
 * queuing, then routing by the command's flags — connection commands run
 * at once, reads run against the keyspace once they are proven fresh,
 * writes become log entries answered when applied.
 */
import type { Slot } from '../../server/client.js';
import type { Outcome } from '../../node/node.js';
import type { Engine, EngineClient as Client } from './engine.js';
import type { RespWriter } from '../../server/resp-writer.js';
import { EntryKind, PLAIN_MADE, encodePlainSet, type CommandEntry } from './entry.js';
import { callConn, callData, feedMonitors } from './call.js';
import { OUTCOME_UNKNOWN, TRYAGAIN_LOST, Write } from './write.js';
import { commandKeys } from '../keys.js';
import { subscribedContextError } from '../pubsub.js';
import { CLUSTERDOWN_NO_LEADER, CLUSTERDOWN_READ_ONLY, redirectError } from '../routing.js';
import { SLOT_ROUTED_CONN, type RoutedClient } from './shard-router.js';
import type { CommandDef, ConnCtx } from '../table.js';
import type { Ctx, DataHandler } from '../types.js';
import type { Databases } from '../../keyspace/databases.js';
import { NOW_UNREAD, type Keyspace } from '../../keyspace/keyspace.js';
import { Blocking } from './blocking.js';
import { waitsForData } from './stream-blocking.js';
import { BUSY_EVAL, BUSY_FUNCTION, CROSSSLOT, FUNCTION_NOT_FOUND, NOSCRIPT } from './scripts.js';
import { keyHashSlot } from '../routing.js';
import { EXECABORT_OOM, OOM, deniesOom, isDenyoom } from './evict.js';
import { ScriptCaching } from './script-cache.js';
import { Denied, nopermError, type User } from './acl.js';
import { clientInfoLine } from '../connection.js';
import { hashPasswords } from '../acl.js';
import { DeferredReads, TRYAGAIN_LOST_READ } from './read-batch.js';

const NOAUTH = 'NOAUTH Authentication required.';

/** Commands that run even inside MULTI instead of being queued (server.c processCommand). */
const NOT_QUEUED = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

const TRYAGAIN_TRANSFER = 'TRYAGAIN leadership is being transferred; retry shortly';

export class Dispatcher {
  /** Clients parked by blocking pops (leader-local). */
  readonly blocking: Blocking;
  /** Caches, through the log, the scripts read-path EVALs ran (script-cache.ts): call afterRead after a read's handler. */
  readonly scriptCaching: ScriptCaching;
  /** Clients whose EVALSHA / FCALL waits for their writes in flight before it is routed (runScript). */
  private readonly deciding = new WeakSet<Client>();
  /** Clients in `deciding` (mayPassHold skips the set while none is). */
  private decidingCount = 0;

  private decide(c: Client): void {
    if (this.deciding.has(c)) return;
    this.deciding.add(c);
    this.decidingCount++;
  }

  /** The decision a hold waited for is made (holdDeciding; a write proposed into its slot keeps the client's later requests behind it). */
  decided(c: Client): void {
    if (this.deciding.delete(c)) this.decidingCount--;
  }

  constructor(private readonly server: Engine) {
    this.blocking = new Blocking(server);
    this.scriptCaching = new ScriptCaching(server);
    this.deferred = new DeferredReads(
      server,
      () => this.readsWhenDown(),
      (c) => this.scriptCaching.afterRead(c),
    );
  }

  /** Entry point for every parsed request. */
  readonly onCommand = (c: Client, argv: string[]): void => {
    let def = this.passedDef;
    if (def !== undefined && c.id === this.passedBy) {
      // mayPassHold resolved this request just before (resolving is a function of argv alone).
      this.passedDef = undefined;
    } else def = this.resolve(c, argv);
    const tracking = this.server.tracking;
    if (tracking.wanted) tracking.beforeCommand(c, def);
    if (def === undefined) return;
    c.lastCommand = def.name;
    // authRequired: a client that has not authenticated while the default user has a password runs only AUTH, HELLO…
    if (!c.authenticated && !def.noAuth && this.server.acl.authRequired) return void this.reject(c, NOAUTH, def);
    // Before ACL and cluster checks, as in Redis 7's processCommand.
    if (def.noMulti && c.multi !== undefined) return void this.reject(c, 'ERR Command not allowed inside a transaction', def);
    // The hot path: a user that may run everything (the default user as it starts) costs this one read.
    if (!c.user.allowsAll && !this.permitted(c, def, argv)) return;
    // Redis Cluster's getNodeByQuery refuses keys in different slots before it routes.
    // A group of one voter is a standalone redis-server: no slot rule (Scripts.standaloneNow).
    if (def.isScriptCall && !this.server.scripts.standaloneNow() && crossSlot(def, argv)) return void this.reject(c, CROSSSLOT, def);
    // A sharded cluster (several groups): CROSSSLOT, or the group that owns the slot (shard-router.ts);
    // at EXEC, every queued key must be in one slot this group serves (getNodeByQuery on the transaction).
    let asking = false;
    if (this.server.shards.sharded) {
      // ASKING lasts one command (or, inside MULTI, until EXEC), as Redis's resetClient clears CLIENT_ASKING.
      asking = c.asking;
      if (asking && def.name !== 'asking' && def.name !== 'multi' && (c.multi === undefined || def.name === 'exec' || def.name === 'discard')) c.asking = false;
      if (def.conn === undefined || SLOT_ROUTED_CONN.has(def.name)) {
        const refused = this.server.shardRouter.route(def, argv, c, asking);
        if (refused !== undefined) return void this.reject(c, refused, def);
      } else if (def.name === 'exec' && c.multi !== undefined) {
        const refused = this.server.shardRouter.routeTransaction(c.multi, c, asking);
        if (refused !== undefined) return this.abortExec(c, def, refused);
      }
    }
    // Cluster routing comes before queuing, as in Redis Cluster: a redirect flags the transaction.
    if (def.conn === undefined && !this.servesHere(c, def)) {
      const proxy = this.server.proxy;
      if (proxy !== undefined) {
        const denied = subscribedContextError(c, def);
        if (denied !== undefined) return void this.reject(c, denied, def);
        // Proxy mode: transactions are queued here and forwarded whole at EXEC.
        if (c.multi !== undefined) {
          c.multi.push(argv);
          c.out().simple('QUEUED');
          return;
        }
        this.server.stats.totalCommands++;
        // Client-side caching: a read forwarded to the leader is tracked here, where this client is told of applied writes.
        if (!def.logged && this.server.tracking.wanted) this.server.tracking.read(c, def, argv);
        // A blocking pop can only wait on the leader: it gets the redirect below.
        if (!(def.isBlocking && waitsForData(def.name, argv)) && proxy.forward(c, [argv], false, def.logged)) return;
      }
      const down = this.server.node.leader === 0 && def.isWrite && this.readsWhenDown();
      this.reject(c, down ? CLUSTERDOWN_READ_ONLY : redirectError(this.server.node, def, argv, this.server.config.get('cluster-preferred-endpoint-type')), def);
      return;
    }
    // After cluster routing and before queuing, as in Redis's processCommand.
    const denied = subscribedContextError(c, def);
    if (denied !== undefined) return void this.reject(c, denied, def);
    // A script paused past busy-reply-threshold: only allow_busy commands run (no eviction meanwhile, as Redis).
    const busy = this.server.scripts.busy;
    if (busy !== undefined && !def.meta.flags.has('allow_busy')) return void this.rejectBusy(c, def, busy.isFunction ? BUSY_FUNCTION : BUSY_EVAL);
    if (this.server.evictor.maxmemory !== 0 && this.outOfMemory(c, def, argv)) return;
    if (c.multi !== undefined && !NOT_QUEUED.has(def.name)) {
      // The transaction's entry carries password hashes, never the passwords (acl.ts).
      c.multi.push(def.name === 'acl|setuser' ? hashPasswords(argv) : argv);
      c.out().simple('QUEUED');
      return;
    }
    this.server.stats.totalCommands++;
    this.askingNow = asking;
    this.run(c, def, argv);
    this.askingNow = false;
  };

  /** SET's definition, looked up once (the table does not change after it is built). */
  private setDef: CommandDef | undefined;

  /**
   * A plain `SET key value` the request parser found in a client's read
   * buffer (server/request-parser.ts onPlainSet): `buf[nameAt, nameAt + 3)`
   * is SET in any case, the key and the value are at [keyAt, keyEnd) and
   * [valueAt, valueEnd). When nothing on the way needs the arguments as
   * strings, does what onCommand(c, [name, key, value]) would do — a
   * proposal whose entry is copied from those bytes (entry.ts
   * encodePlainSet), no argv — and answers true. Otherwise answers false
   * having done nothing, and the parser makes argv for onCommand: tracking,
   * authentication to do, MULTI, an ACL user that may not run everything,
   * sharding, not the leader, a RESP2 subscriber, a script running past
   * busy-reply-threshold, maxmemory, CLIENT PAUSE (Engine checks that), and
   * everything applyPlainSet falls back for happens at apply, which decodes
   * the entry when it needs the strings (Write.entry).
   */
  plainSet(c: Client, buf: Uint8Array, nameAt: number, keyAt: number, keyEnd: number, valueAt: number, valueEnd: number): boolean {
    const server = this.server;
    const node = server.node;
    if (
      server.tracking.wanted ||
      !c.authenticated ||
      c.multi !== undefined ||
      !c.user.allowsAll ||
      c.inPubSub ||
      !node.isLeader ||
      server.shards.sharded ||
      server.scripts.busy !== undefined ||
      server.evictor.maxmemory !== 0
    ) {
      return false;
    }
    let def = this.setDef;
    if (def === undefined) {
      def = this.setDef = server.table.get('set');
      if (def === undefined) return false;
    }
    c.lastCommand = def.name;
    server.stats.totalCommands++;
    const w = c.defer();
    const data = encodePlainSet(server.applier.entryTime(), c.dbIndex, server.scripts.standaloneNow(), buf, nameAt, keyAt, keyEnd, valueAt, valueEnd);
    const p = new ClientWrite(this, undefined, c, w, data);
    p.plainView = PLAIN_MADE.view;
    p.plainAt = PLAIN_MADE.at;
    if (node.propose(p)) c.lastWriteIndex = p.index;
    return true;
  }

  /** Whether the command run() is running now came after ASKING (readData routes a read again when it runs). */
  private askingNow = false;

  /**
   * ACLCheckAllPerm in processCommand: checked when the command is sent,
   * so a command queued in MULTI is checked at queue time (as Redis 7.0);
   * a refusal is logged in ACL LOG and answered with Redis's NOPERM text.
   */
  private permitted(c: Client, def: CommandDef, argv: string[]): boolean {
    const acl = this.server.acl;
    const user = c.user as User;
    const r = acl.check(user, def, argv);
    if (r.denied === Denied.Ok) return true;
    const object = r.denied === Denied.Cmd ? def.name : argv[r.pos]!;
    acl.addLog(r.denied, c.multi !== undefined ? 'multi' : 'toplevel', object, user.name, clientInfoLine(c));
    this.reject(c, nopermError(r.denied, def), def);
    return false;
  }

  /**
   * processCommand's maxmemory check (evict.ts), once a limit is set: before
   * any command the leader evicts what the policy allows (reads too, as
   * Redis; the victims are an EvictKeys entry); when that cannot make room,
   * a denyoom command gets -OOM, any command queued in MULTI too, an EXEC of
   * a transaction holding a denyoom command discards it, and so does a
   * script whose declared flags make it denyoom (a shebang or function
   * flags without no-writes or allow-oom: scriptFlagsToCmdFlags).
   */
  private outOfMemory(c: Client, def: CommandDef, argv: string[]): boolean {
    const name = def.name;
    if (c.multi !== undefined) {
      if (name === 'discard' || name === 'quit' || name === 'reset') return false;
      if (name !== 'exec') {
        if (this.server.evictor.makeRoom()) return false;
        this.reject(c, OOM, def);
        return true;
      }
      // EXEC: denyoom when a queued command is, scripts by their declared flags (mstate.cmd_flags).
      const denyoom = c.multi.filter((a) => deniesOom(this.server.table.lookup(a), a, this.server.scripts));
      if (denyoom.length === 0) return false;
      if (this.server.evictor.makeRoom()) {
        for (const a of denyoom) this.server.evictor.reserve(a);
        return false;
      }
      this.abortExec(c, def, EXECABORT_OOM);
      return true;
    }
    const room = this.server.evictor.makeRoom();
    if (def.isScriptCall) {
      if (room || !this.server.scripts.deniesOom(name, argv)) return false;
      this.reject(c, OOM, def);
      return true;
    }
    if (!def.logged || !isDenyoom(def)) return false;
    if (room) {
      this.server.evictor.reserve(argv);
      return false;
    }
    this.reject(c, OOM, def);
    return true;
  }

  /**
   * Finds the command for argv or replies with Redis's rejection (unknown
   * command, unknown subcommand, wrong arity), flagging an open MULTI.
   */
  private resolve(c: Client, argv: string[]): CommandDef | undefined {
    const r = this.server.table.resolve(argv);
    if ('error' in r) return this.reject(c, r.error, r.def);
    return r;
  }

  /** rejectCommand of a BUSY error: an EXEC discards its transaction (execCommandAbort). */
  private rejectBusy(c: Client, def: CommandDef, text: string): void {
    if (def.name === 'exec') return this.abortExec(c, def, 'EXECABORT Transaction discarded because of: ' + text);
    this.reject(c, text, def);
  }

  /** An EXEC refused as a whole: the transaction is discarded (unwatched too) and EXEC rejected with `text`. */
  private abortExec(c: Client, def: CommandDef, text: string): void {
    c.multi = undefined;
    c.multiError = false;
    this.server.unwatchAll(c);
    this.reject(c, text, def);
  }

  /** Redis's rejectCommand: the error reply (counted by the writer), and a rejected call of `def` when it is known. */
  private reject(c: Client, text: string, def?: CommandDef): undefined {
    if (c.multi !== undefined) c.multiError = true;
    if (def !== undefined) def.stats.rejectedCalls++;
    c.out().error(text);
    return undefined;
  }

  /**
   * May this request run while the client is held by a read awaiting its
   * ReadIndex round? Plain keyspace reads may: they wait for the same kind of
   * round and are answered in order. Writes and everything else wait.
   */
  mayPassHold(c: Client, argv: string[]): boolean {
    if (c.multi !== undefined || this.blocking.isBlocked(c) || (this.decidingCount !== 0 && this.deciding.has(c))) return false;
    // Resolved as onCommand resolves it (a request it would refuse waits: its error follows the held reply either way).
    const def = this.server.table.resolve(argv);
    // Nor EVAL_RO: it may propose caching its body, which the client's later commands wait for (script-cache.ts).
    if ('error' in def || def.data === undefined || def.isWrite || def.scriptRouted || def.name === 'eval_ro') return false;
    // onCommand, called next for argv (Engine.mayRunNow forgets it when CLIENT PAUSE or a busy script holds argv back), takes it from here: one lookup.
    this.passedBy = c.id;
    this.passedDef = def;
    return true;
  }

  /**
   * The id of the client whose request mayPassHold let pass, and its
   * command (undefined: none), for onCommand, which runs that request next
   * (cleared there). An id, not argv or the client: storing a young object (a
   * just-parsed array, a connection's Client that no scavenge has promoted
   * yet) in this long-lived one costs a write barrier's slow path per
   * request (~50 instructions).
   */
  private passedBy = -1;
  private passedDef: CommandDef | undefined = undefined;

  /** The request mayPassHold let pass does not run now after all (Engine.mayRunNow: CLIENT PAUSE, a busy script). */
  forgetPassed(): void {
    this.passedDef = undefined;
  }

  /** A keyspace command runs here on the leader; a follower serves only READONLY reads. */
  private servesHere(c: Client, def: CommandDef): boolean {
    const node = this.server.node;
    return node.isLeader || (c.readonly && !def.isWrite) || (node.leader === 0 && !def.isWrite && this.readsWhenDown());
  }

  /**
   * cluster-allow-reads-when-down yes: while no leader is known (raftis's
   * cluster down), reads are served from this node's state as it is,
   * possibly stale, as a READONLY read on a follower (Redis's
   * getNodeByQuery on a cluster not OK); writes get CLUSTERDOWN_READ_ONLY.
   */
  private readsWhenDown(): boolean {
    return this.server.config.get('cluster-allow-reads-when-down') === 'yes';
  }

  /** Runs a resolved command now (or when its reply can be known). */
  run(c: Client, def: CommandDef, argv: string[]): void {
    const stats = this.server.stats;
    if (def.conn !== undefined) {
      callConn(stats, def, def.conn, this.connCtx(c, c.out()), argv);
    } else if (def.scriptRouted) {
      this.runScript(c, def, argv);
    } else if (def.isWrite) {
      // Counted when applied (StateMachine.apply), or when a blocking pop is answered.
      if (def.isBlocking && waitsForData(def.name, argv)) this.blocking.run(c, argv);
      else if (def.unchanged === undefined || !this.answeredUnchanged(c, def, argv)) this.propose(c, [argv], false);
    } else if (def.isBlocking && waitsForData(def.name, argv)) {
      if (this.server.tracking.wanted) this.server.tracking.read(c, def, argv);
      this.blocking.runRead(c, argv, this.server.shards.sharded ? this.routeLater(def, argv, { db: c.db, dbIndex: c.dbIndex }, this.askingNow) : undefined);
    } else {
      const data = def.data!;
      const node = this.server.node;
      const alone = node.soleVoter;
      const leads = alone || node.isLeader;
      if ((alone || !leads) && c.lastWriteIndex <= node.appliedIndex && !def.isScriptCall) {
        // The common case, kept free of closures: a read that can be answered now.
        const ctx = this.readCtx;
        ctx.db = c.db;
        ctx.dbIndex = c.dbIndex;
        ctx.dbs = this.server.dbs;
        // GET reads the clock only for a key with a TTL (CommandDef.lazyNow).
        ctx.now = def.lazyNow ? NOW_UNREAD : Date.now();
        ctx.w = c.out();
        ctx.scripts = this.server.scripts;
        ctx.user = c.user.allowsAll ? undefined : c.user.name;
        callData(stats, def, data, ctx, argv, c);
        if (this.server.scripts.uncachedRead !== undefined) this.scriptCaching.afterRead(c);
        // Client-side caching: the keys it read are remembered.
        if (this.server.tracking.wanted) this.server.tracking.read(c, def, argv);
        return;
      }
      // A leader with peers: the read waits for its ReadIndex round, batched with the turn's others (read-batch.ts).
      if (leads && !alone && !def.isScriptCall && !this.server.shards.sharded && !this.server.tracking.wanted) return this.deferred.add(c, def, argv);
      this.readData(c, def, argv);
    }
  }

  /**
   * A write that changes nothing (CommandDef.unchanged: PFADD of elements
   * already counted, SADD of members already there …) answered as a read
   * of the applied state, as Redis runs it without propagating it: no log
   * entry, no fsync. Applied entries are committed, so the state the answer
   * describes is durable; on a leader with peers the answer waits for a
   * ReadIndex round and the client's own writes, and the check is made
   * again then: if the write would now change something it is proposed
   * after all, into the reply place it holds. False (nothing done) when the
   * write must be proposed now: it changes something, this is not the
   * leader, the client has writes in flight (one node) or more requests
   * waiting (a leader with peers: the round holds the client's later
   * requests, so in a pipeline each would cost a round of its own, more
   * than proposing them),
   * or the case is not one this path covers (sharding, maxmemory's
   * reservations).
   */
  private answeredUnchanged(c: Client, def: CommandDef, argv: string[]): boolean {
    const server = this.server;
    const node = server.node;
    if (!node.isLeader || server.shards.sharded || server.evictor.maxmemory !== 0) return false;
    if (node.soleVoter ? c.lastWriteIndex > node.appliedIndex : c.requestsWaiting) return false;
    const ctx = this.readCtx;
    ctx.db = c.db;
    ctx.dbIndex = c.dbIndex;
    ctx.dbs = server.dbs;
    ctx.now = Date.now();
    // The check writes no reply (ctx.w is set once it is known there is one: c.out() may reserve a place).
    if (!def.unchanged!(ctx, argv)) return false;
    if (node.soleVoter) {
      ctx.w = c.out();
      callData(server.stats, def, replyZero, ctx, argv, c);
      return true;
    }
    // A leader with peers: what it has applied may be stale (a new leader elsewhere); ask again once a round proves it leads.
    const w = c.defer();
    this.holdAll(c, w);
    const { db, dbIndex } = c;
    const after = c.lastWriteIndex;
    node.readBarrier((ok) => {
      // Not confirmed as leader: the write proposed after all gets the redirect or error a write gets.
      if (!ok) return this.proposeHeld(c, argv, w, dbIndex);
      node.whenApplied(after, () => {
        const ctx: Ctx = { db, dbIndex, dbs: server.dbs, now: Date.now(), index: 0, w };
        if (!def.unchanged!(ctx, argv)) return this.proposeHeld(c, argv, w, dbIndex);
        callData(server.stats, def, replyZero, ctx, argv, c);
        this.release(c, w, true);
      });
    });
    return true;
  }

  /** A write held while answeredUnchanged checked it, proposed after all into the reply place it holds. */
  private proposeHeld(c: Client, argv: string[], w: Slot, dbIndex: number): void {
    this.decided(c);
    this.propose(c, [argv], false, w, dbIndex);
  }

  /** A leader's plain reads waiting for their ReadIndex round (read-batch.ts). */
  private readonly deferred: DeferredReads;

  /** A keyspace read, once its answer is linearizable (read). */
  private readData(c: Client, def: CommandDef, argv: string[], slot?: Slot): void {
    const { scripts, dbs } = this.server;
    if (slot === undefined && def.isScriptCall && !this.server.tracking.wanted) {
      const node = this.server.node;
      if ((!node.isLeader || node.soleVoter) && c.lastWriteIndex <= node.appliedIndex) return this.readScriptNow(c, def, argv);
    }
    const data = def.data!;
    // The database as the command was sent: the client may SELECT another before the read runs.
    const db = c.db;
    const dbIndex = c.dbIndex;
    const user = c.user.allowsAll ? undefined : c.user.name;
    const tracking = this.server.tracking;
    // A sharded group routes the read again when it runs: between the routing in onCommand and a read
    // that waits (a leader's ReadIndex round, a follower's wait for the client's writes) the group may
    // have applied a SHIPPED that deleted the key, or a map without the slot; the read then gets the
    // redirect it would get now (ASK, MOVED, TRYAGAIN) instead of the state without the key.
    const rerouted = this.server.shards.sharded ? this.rerouted(def, argv, { db, dbIndex }, this.askingNow) : undefined;
    // Client-side caching: whether to track is decided now (CLIENT CACHING is about this command), the keys remembered when it runs.
    if (tracking.wanted && tracking.wants(c, def)) {
      return this.read(c, (w, now) => {
        if (rerouted?.(w)) return;
        callData(this.server.stats, def, data, { db, dbIndex, dbs, now, index: 0, w, scripts, user }, argv, c);
        if (scripts.uncachedRead !== undefined) this.scriptCaching.afterRead(c);
        tracking.remember(c, def, argv);
      }, slot);
    }
    this.read(
      c,
      (w, now) => {
        if (rerouted?.(w)) return;
        callData(this.server.stats, def, data, { db, dbIndex, dbs, now, index: 0, w, scripts, user }, argv, c);
        if (scripts.uncachedRead !== undefined) this.scriptCaching.afterRead(c);
      },
      slot,
      // An EVAL may propose caching its body (script-cache.ts): nothing the client sent after it may run before it.
      def.name === 'eval' || def.name === 'eval_ro',
      def.isScriptCall,
    );
  }

  /**
   * A read-path script that can run now (read's synchronous case, where a
   * sole voter's or a READONLY follower's applied state is the one to read),
   * without read's closures, reply slot and hold: its reply goes straight into
   * the client's output, as a plain read's. Only if it pauses (a script past
   * SLICE_MS) does it get a reply slot, reserved when it pauses
   * (Scripts.deferReply), which holds the client's later commands and
   * completes at its end (afterReadScript), as read's did from the start.
   */
  private readScriptNow(c: Client, def: CommandDef, argv: string[]): void {
    const { scripts, dbs } = this.server;
    const ctx: Ctx = { db: c.db, dbIndex: c.dbIndex, dbs, now: Date.now(), index: 0, w: c.out(), scripts, user: c.user.allowsAll ? undefined : c.user.name };
    const w = ctx.w;
    scripts.pausable = true;
    scripts.pausableClient = c;
    scripts.deferReply = this.deferScriptReply;
    try {
      callData(this.server.stats, def, def.data!, ctx, argv, c);
    } finally {
      scripts.pausable = false;
      scripts.pausableClient = undefined;
      scripts.deferReply = undefined;
    }
    if (scripts.uncachedRead !== undefined) this.scriptCaching.afterRead(c);
    // Paused: its reply slot completes at its end.
    if (ctx.w !== w) {
      const slot = ctx.w;
      this.server.afterReadScript(() => c.complete(slot));
    }
  }

  /** Scripts.deferReply for readScriptNow: a reply slot, holding the client's later commands until it completes. */
  private readonly deferScriptReply = (client: unknown): RespWriter => {
    const c = client as Client;
    const w = c.defer();
    c.hold(w);
    return w;
  };

  /**
   * For a transaction of reads only (EXEC runs it as one read): its routing
   * when it runs, from the database it starts in, with the ASKING of the
   * EXEC being run now (as readData: the slot may have moved meanwhile).
   */
  transactionRouteLater(cmds: readonly string[][]): ((at: RoutedClient) => string | undefined) | undefined {
    if (!this.server.shards.sharded) return undefined;
    const asking = this.askingNow;
    return (at) => this.server.shardRouter.routeTransaction(cmds, at, asking);
  }

  /** The routing of a read as it will be when it runs (the database and ASKING as when it was sent). */
  private routeLater(def: CommandDef, argv: string[], at: RoutedClient, asking: boolean): () => string | undefined {
    return () => this.server.shardRouter.route(def, argv, at, asking);
  }

  /** A check for readData: writes the redirect and answers true when the group does not serve the read at that point. */
  private rerouted(def: CommandDef, argv: string[], at: RoutedClient, asking: boolean): (w: RespWriter) => boolean {
    const route = this.routeLater(def, argv, at, asking);
    return (w) => {
      const refused = route();
      if (refused === undefined) return false;
      def.stats.rejectedCalls++;
      w.error(refused);
      return true;
    };
  }

  /**
   * EVAL, EVALSHA and FCALL by what the script may do: a script that may
   * write is one log entry (applied on every replica); one flagged no-writes
   * is a read. An EVALSHA of a script (an FCALL of a function) unknown here
   * is answered NOSCRIPT ("Function not found") without an entry once the
   * client's own writes in flight are applied (they may load it); a known
   * one is proposed, and its apply answers the same if a SCRIPT FLUSH
   * (FUNCTION DELETE…) came first. SCRIPT LOAD and SCRIPT FLUSH are entries.
   */
  private runScript(c: Client, def: CommandDef, argv: string[], slot?: Slot): void {
    const node = this.server.node;
    if (def.name === 'script|load' || def.name === 'script|flush') {
      if (!node.isLeader) return this.answer(c, redirectError(node, def, argv, this.server.config.get('cluster-preferred-endpoint-type')), slot);
      return this.propose(c, [argv], false, slot);
    }
    const fcall = def.name === 'fcall';
    const scripts = this.server.scripts;
    const mayWrite = fcall ? scripts.functionMayWrite(argv[1]!) : scripts.mayWrite(argv, def.name === 'evalsha');
    if (mayWrite === undefined) {
      const after = c.lastWriteIndex;
      if (after <= node.appliedIndex || slot !== undefined) {
        // Redis shows an EVALSHA / FCALL to MONITOR before it looks the script up.
        if (this.server.stats.monitors.size !== 0) feedMonitors(this.server.stats, def, argv, c, c.dbIndex);
        return this.answer(c, fcall ? FUNCTION_NOT_FOUND : NOSCRIPT, slot);
      }
      const w = c.defer();
      c.hold(w);
      // Until it is known whether this becomes a write, no later read may pass the hold.
      this.decide(c);
      node.whenApplied(after, () => {
        this.decided(c);
        this.runScript(c, def, argv, w);
      });
      return;
    }
    if (!mayWrite) return this.readData(c, def, argv, slot);
    if (!node.isLeader) return this.answer(c, redirectError(node, def, argv, this.server.config.get('cluster-preferred-endpoint-type')), slot);
    // pre_command_oom_state: a script without a shebang learns of it at its first denyoom call (entry.oom).
    const evictor = this.server.evictor;
    this.propose(c, [argv], false, slot, c.dbIndex, evictor.maxmemory !== 0 && !evictor.makeRoom());
  }

  /** An error reply now, or into a reserved slot. */
  private answer(c: Client, text: string, slot?: Slot): void {
    if (slot === undefined) return c.out().error(text);
    slot.error(text);
    c.complete(slot);
  }

  /** Reused for synchronous reads (handlers never keep their ctx). */
  private readonly readCtx: Ctx = { db: undefined as unknown as Keyspace, dbIndex: 0, dbs: undefined as unknown as Databases, now: 0, index: 0, w: undefined as unknown as RespWriter };

  /**
   * Proposes commands as one log entry; the reply is written when it is
   * applied. `slot` is a reply place already reserved in the client's queue.
   */
  propose(c: Client, cmds: string[][], multi: boolean, slot?: Slot, db = c.dbIndex, oom = false): void {
    const w = slot ?? c.defer();
    const entry: CommandEntry = { kind: EntryKind.Commands, time: this.server.applier.entryTime(), multi, cmds };
    if (db !== 0) entry.db = db;
    if (oom) entry.oom = true;
    if (this.server.scripts.standaloneNow()) entry.standalone = true;
    if (!c.user.allowsAll) entry.user = c.user.name;
    const p = new ClientWrite(this, entry, c, w);
    if (this.server.node.propose(p)) c.lastWriteIndex = p.index;
  }

  /** The error a write gets when it was not applied (outcome other than 'applied'). */
  outcomeError(outcome: Outcome, entry: CommandEntry): string {
    switch (outcome) {
      case 'lost':
        return TRYAGAIN_LOST;
      case 'unknown':
        return OUTCOME_UNKNOWN;
      case 'dropped':
        return TRYAGAIN_TRANSFER;
      default:
        // Nothing was appended: the client may safely retry where we point it.
        return this.redirectFor(entry.cmds);
    }
  }

  /** A connection command's context. */
  connCtx(c: Client, w: RespWriter): ConnCtx {
    return { db: c.db, dbIndex: c.dbIndex, dbs: this.server.dbs, now: Date.now(), index: 0, w, c, engine: this.server };
  }

  /** The redirect for a transaction: by its first command that names a key. */
  private redirectFor(cmds: readonly string[][]): string {
    const table = this.server.table;
    for (const argv of cmds) {
      const def = table.lookup(argv);
      if (def && commandKeys(def.meta, argv).length > 0) return redirectError(this.server.node, def, argv, this.server.config.get('cluster-preferred-endpoint-type'));
    }
    const first = table.lookup(cmds[0]!);
    return first ? redirectError(this.server.node, first, cmds[0]!, this.server.config.get('cluster-preferred-endpoint-type')) : CLUSTERDOWN_NO_LEADER;
  }

  /**
   * Serves a read once its answer is linearizable: after this client's own
   * writes are applied (read-your-writes in a pipeline) and, on a leader with
   * peers, after a ReadIndex round proved it still leads. A READONLY client
   * on a follower reads the local state as it is (possibly stale, like a
   * Redis replica). `slot` is a reply place already reserved; `hold`: none
   * of the client's later commands, reads included (mayPassHold), runs
   * before this one (a read-path EVAL may propose caching its body:
   * script-cache.ts).
   */
  read(c: Client, run: (w: RespWriter, now: number) => void, slot?: RespWriter, hold = false, script = false): void {
    const node = this.server.node;
    const after = c.lastWriteIndex;
    if (script) {
      // A script may pause (Scripts.pausable): its reply completes at its end, the client's later commands wait for it.
      const inner = run;
      run = (w, now) => {
        const scripts = this.server.scripts;
        scripts.pausable = true;
        scripts.pausableClient = c;
        try {
          inner(w, now);
        } finally {
          scripts.pausable = false;
          scripts.pausableClient = undefined;
        }
      };
    }
    if (!node.isLeader || node.soleVoter) {
      // A sole voter cannot be deposed: its applied state is the latest committed one.
      if (after <= node.appliedIndex) {
        if (script) {
          const w = slot ?? c.defer();
          if (slot === undefined) c.hold(w);
          run(w, Date.now());
          this.server.afterReadScript(() => c.complete(w));
          return;
        }
        const w = slot ?? c.out();
        run(w, Date.now());
        if (slot) c.complete(slot);
        return;
      }
      const w = slot ?? c.defer();
      if (hold) this.holdAll(c, w);
      node.whenApplied(after, () => {
        run(w, Date.now());
        if (script) this.server.afterReadScript(() => this.release(c, w, hold));
        else this.release(c, w, hold);
      });
      return;
    }
    const w = slot ?? c.defer();
    // Nothing the client sent after this read may run before it.
    c.hold(w);
    if (hold) this.decide(c);
    node.readBarrier((ok) => {
      if (!ok && node.leader === 0 && after <= node.appliedIndex && this.readsWhenDown()) {
        // A leader that lost its quorum: with cluster-allow-reads-when-down, its state as it is
        // (not when the client's own write is not applied: it may never be).
        run(w, Date.now());
        if (script) this.server.afterReadScript(() => this.release(c, w, hold));
        else this.release(c, w, hold);
        return;
      }
      if (!ok) {
        w.error(node.leader === 0 ? CLUSTERDOWN_NO_LEADER : TRYAGAIN_LOST_READ);
        this.release(c, w, hold);
        return;
      }
      node.whenApplied(after, () => {
        run(w, Date.now());
        if (script) this.server.afterReadScript(() => this.release(c, w, hold));
        else this.release(c, w, hold);
      });
    });
  }

  /**
   * Holds the client's later requests, reads too, while what `w` answers is
   * being decided (EXEC with WATCH: it may become a write, which they must
   * see); decided(c) lets reads pass the hold again.
   */
  holdDeciding(c: Client, w: RespWriter): void {
    this.holdAll(c, w);
  }

  /** Holds the client's later commands, reads too (mayPassHold), until w completes. */
  private holdAll(c: Client, w: RespWriter): void {
    c.hold(w);
    this.decide(c);
  }

  private release(c: Client, w: RespWriter, held: boolean): void {
    if (held) this.decided(c);
    c.complete(w);
  }

  /** A connection command queued in MULTI, run when the transaction executes. */
  runConn(c: Client, argv: string[], w: RespWriter): void {
    const def = this.server.table.lookup(argv);
    if (def?.conn === undefined) return;
    c.inExec = true;
    try {
      callConn(this.server.stats, def, def.conn, this.connCtx(c, w), argv);
    } finally {
      c.inExec = false;
    }
  }
}


/** A client's command or transaction: its reply goes into the client's reply slot. */
class ClientWrite extends Write<CommandEntry> {
  constructor(
    private readonly dispatcher: Dispatcher,
    entry: CommandEntry | undefined,
    private readonly c: Client,
    w: RespWriter,
    data?: Buffer,
  ) {
    super(entry, w, data);
  }

  override get client(): Client {
    return this.c;
  }

  override conn(argv: string[], w: RespWriter): void {
    this.dispatcher.runConn(this.c, argv, w);
  }

  settle(outcome: Outcome): void {
    if (outcome !== 'applied') this.w.error(this.dispatcher.outcomeError(outcome, this.entry));
    this.c.complete(this.w);
  }
}

/** Whether the keys an EVAL declares hash to more than one slot. */
function crossSlot(def: CommandDef, argv: readonly string[]): boolean {
  const keys = commandKeys(def.meta, argv);
  for (let i = 1; i < keys.length; i++) if (keyHashSlot(keys[i]!) !== keyHashSlot(keys[0]!)) return true;
  return false;
}

/** The reply of a write that changes nothing (answeredUnchanged): PFADD's, SADD's and GEOADD's 0. */
const replyZero: DataHandler = (ctx) => ctx.w.int(0);
