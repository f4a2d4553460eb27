/**
 * Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
 * BZPOPMAX, BZMPOP) on the leader.
 *
 * The log only ever holds the command itself, applied as its non-blocking
 * form (what Redis does inside MULTI): it pops when a key has data and
 * answers a null reply otherwise, identically on every replica. Waiting is
 * leader-local state, like Redis's blocked clients:
 *
 *   1. The command is proposed like any write. If its apply pops (or fails:
 *      WRONGTYPE, a bad timeout…), that is the client's answer.
 *   2. If it applied as "nothing to pop", the client is parked on its keys
 *      (FIFO per key, as Redis serves them) with its timeout running; its
 *      later requests wait behind it.
 *   3. When an applied write touches a parked key (StateMachine.onTouch) and
 *      the key now holds data of the right type, the leader proposes the
 *      command again on the client's behalf — at most as many waiters per
 *      key as it has elements, in FIFO order. Every replica applies that
 *      entry, so every replica pops the same element.
 *   4. If by then another entry took the data, the apply answers null again
 *      and the client stays parked, keeping its place in the queue.
 *
 * A timeout answers the null array (RESP2 `*-1`, RESP3 `_`) as Redis does
 * for every blocking pop. A parked client whose node stops being the
 * leader is answered with the redirect a write would get (MOVED to the new
 * leader, or CLUSTERDOWN): nothing was popped for it, so retrying there is
 * safe. A client that disconnects is forgotten.
 *
 * XREAD BLOCK and XREADGROUP BLOCK park here too (kind 'stream'); what they
 * wait for and how they are served is in stream-blocking.ts. XREAD BLOCK is
 * a read: a READONLY client may send it to a follower, where it is parked
 * and served from that node's applied state when it applies a matching
 * XADD, proposing nothing; such a waiter stays when its node is not (or no
 * longer) the leader.
 */
import { EntryKind, type CommandEntry } from './entry.js';
import type { Outcome } from '../../node/node.js';
import type { Slot } from '../../server/client.js';
import { RespWriter } from '../../server/resp-writer.js';
import type { Engine, EngineClient as Client } from './engine.js';
import { Write } from './write.js';
import type { Value } from '../../keyspace/keyspace.js';
import type { Ctx } from '../types.js';
import { ListValue } from '../../keyspace/types/list.js';
import { ZSetValue } from '../../keyspace/types/zset.js';
import { parseTimeout } from '../timeout.js';
import { XREAD_BLOCKED_DEFAULT_COUNT, parseXread, serveXread, writeServed } from '../stream-read.js';
import { readgroupProposal, readgroupWait, serveStreamWaiter, streamWaitSpec, type StreamWait } from './stream-blocking.js';
import type { ConsumerGroup } from '../../keyspace/types/stream-groups.js';
import type { StreamId } from '../../keyspace/types/stream-id.js';

/** How often a leader with parked clients checks that it still leads. */
const LEADER_CHECK_MS = 100;
/** setTimeout's limit; longer timeouts re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Kind = 'list' | 'zset' | 'stream';

interface Waiter {
  c: Client;
  argv: string[];
  slot: Slot;
  /** The database the command was sent in: it waits on, and pops from, that database's keys. */
  db: number;
  keys: string[];
  kind: Kind;
  /** Absolute ms; Infinity for timeout 0. */
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  /** An entry proposed for it is not applied yet. */
  inFlight: boolean;
  /** In the per-key queues. */
  parked: boolean;
  /** Answered or disconnected. */
  done: boolean;
  onClose: () => void;
  /** XREAD / XREADGROUP: what it waits for (stream-blocking.ts). */
  stream?: StreamWait;
  /** XREAD BLOCK (runRead): answered from this node's applied state, never through the log. */
  read?: boolean;
  /** A parked XREADGROUP whose proposal is in flight: the group it counts on in groupAhead. */
  ahead?: ConsumerGroup;
  /** Its keys were signalled ready while its proposal was in flight: looked at again if that answers null. */
  missed?: boolean;
}

/** A waiter any node may serve: a READONLY client's XREAD BLOCK. */
function servedAnywhere(w: Waiter): boolean {
  return w.read === true && w.c.readonly;
}

/** The keys a blocking command waits on, and on which type. */
function waitSpec(argv: string[]): { keys: string[]; kind: Kind; timeoutArg: string } {
  const name = argv[0]!.toLowerCase();
  if (name === 'xreadgroup' || name === 'xread') return { keys: streamWaitSpec(argv).keys, kind: 'stream', timeoutArg: '' };
  const kind: Kind = name.startsWith('bz') ? 'zset' : 'list';
  if (name === 'blmove' || name === 'brpoplpush') return { keys: [argv[1]!], kind, timeoutArg: argv[argv.length - 1]! };
  if (name === 'blmpop' || name === 'bzmpop') {
    const n = Number(argv[2]);
    const keys = Number.isSafeInteger(n) && n > 0 ? argv.slice(3, 3 + n) : [];
    return { keys, kind, timeoutArg: argv[1]! };
  }
  return { keys: argv.slice(1, -1), kind, timeoutArg: argv[argv.length - 1]! };
}

/** A reply that means "nothing to pop": the null array or null bulk of the non-blocking form. */
function isNullReply(r: string): boolean {
  return r === '*-1\r\n' || r === '$-1\r\n' || r === '_\r\n';
}

export class Blocking {
  /** Parked waiters by database, then key (FIFO per key); a database with none has no map. */
  private readonly byKey = new Map<number, Map<string, Waiter[]>>();
  private readonly blocked = new Set<Client>();
  private readonly parked = new Set<Waiter>();
  /** Keys written since the last serve(), by database. */
  private readonly ready = new Map<number, Set<string>>();
  /** Keys signalled ready (signalKeyAsReady) by the entry being applied, by database: for the stream readers (entryApplied). */
  private readonly streamReady = new Map<number, Set<string>>();
  /** XREADGROUP proposals decided at an entry's end, made once the batch is applied (serve()). */
  private readonly toPropose: { w: Waiter; argv: string[]; bound: StreamId }[] = [];
  /** Per group with XREADGROUP proposals in flight: the last ID they will leave it at, and how many there are. */
  private readonly groupAhead = new Map<ConsumerGroup, { id: StreamId; n: number }>();
  private readonly aheadOf = (g: ConsumerGroup): StreamId | undefined => this.groupAhead.get(g)?.id;
  private serveQueued = false;
  private leaderTimer: NodeJS.Timeout | undefined;

  constructor(private readonly server: Engine) {}

  /**
   * CLIENT UNBLOCK: answers a parked client as its timeout would (or with
   * Redis's UNBLOCKED error) and forgets it. A client whose command is being
   * retried through the log (an entry in flight) is not unblocked: that
   * entry may pop for it. Returns whether it was unblocked.
   */
  unblock(id: number, error: boolean): boolean {
    for (const w of this.parked) {
      if (w.c.id !== id || w.inFlight) continue;
      this.finish(w, error ? '-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n' : this.timeoutReply(w));
      return true;
    }
    return false;
  }

  /** A client waiting for a blocking command: nothing it sent later may run before it is answered. */
  isBlocked(c: Client): boolean {
    return this.blocked.size !== 0 && this.blocked.has(c);
  }

  /** Clients parked waiting for data (INFO blocked_clients). */
  get blockedClients(): number {
    return this.parked.size;
  }

  /** Parked clients with a timeout (INFO clients_in_timeout_table). */
  get withTimeout(): number {
    let n = 0;
    for (const w of this.parked) if (w.deadline !== Infinity) n++;
    return n;
  }

  /**
   * The waiter of c's blocking command: its reply slot deferred and held (the
   * client reads nothing more until it is answered), c counted as blocked.
   */
  private hold(c: Client, argv: string[], keys: string[], kind: Kind, ms: number): Waiter {
    const slot = c.defer();
    c.hold(slot);
    this.blocked.add(c);
    const w: Waiter = {
      c,
      argv,
      slot,
      db: c.dbIndex,
      keys,
      kind,
      deadline: ms === 0 ? Infinity : Date.now() + ms,
      timer: undefined,
      inFlight: false,
      parked: false,
      done: false,
      onClose: () => this.cancel(w),
    };
    return w;
  }

  /** Runs a blocking command sent outside MULTI (on the leader). */
  run(c: Client, argv: string[]): void {
    const { keys, kind, timeoutArg } = waitSpec(argv);
    const t = kind === 'stream' ? streamWaitSpec(argv).ms : parseTimeout(timeoutArg);
    const w = this.hold(c, argv, keys, kind, typeof t === 'number' ? t : 0);
    if (kind === 'stream') w.stream = readgroupWait(argv);
    if (this.parkAtOnce(w)) return;
    this.attempt(w);
  }

  /**
   * XREAD BLOCK (a read): answered at once from a linearizable state when
   * there is something to read, else parked with its IDs resolved ("$" is
   * the stream's last ID now) and answered by serve() when an applied write
   * brings entries (stream-blocking.ts).
   */
  runRead(c: Client, argv: string[], reroute?: () => string | undefined): void {
    const { keys, ms } = streamWaitSpec(argv);
    const w = this.hold(c, argv, keys, 'stream', ms);
    w.read = true;
    const node = this.server.node;
    const after = c.lastWriteIndex;
    const go = (): void => {
      if (w.done) return;
      // A sharded group routes the read again once it may run (as Dispatcher.readData).
      const refused = reroute?.();
      if (refused !== undefined) return this.finish(w, `-${refused}\r\n`);
      this.readStreams(w);
    };
    if (!node.isLeader || node.soleVoter) return node.whenApplied(after, go);
    node.readBarrier((ok) => {
      if (!ok) return this.finish(w, this.redirect(w));
      node.whenApplied(after, go);
    });
  }

  private readStreams(w: Waiter): void {
    const out = new RespWriter(w.c.proto);
    const dbs = this.server.dbs;
    const ctx: Ctx = { db: dbs.get(w.db), dbIndex: w.db, dbs, now: Date.now(), index: 0, w: out };
    const a = parseXread(ctx, w.argv, false);
    if (a !== undefined) {
      const served = serveXread(ctx, a);
      if (served.length === 0) {
        const ids = new Map<string, string>();
        for (let i = 0; i < a.keys.length; i++) if (!ids.has(a.keys[i]!)) ids.set(a.keys[i]!, a.ids[i]!);
        w.stream = { ids, count: a.count || XREAD_BLOCKED_DEFAULT_COUNT, group: undefined };
        return this.park(w);
      }
      writeServed(out, served);
    }
    this.finish(w, out.take());
  }

  /**
   * When every key is absent from the applied state and the client has no
   * write of its own still in flight, the command's apply could only answer
   * null (or an argument error): run the handler here, against a keyspace it
   * cannot change (nothing it would look up exists, so nothing expires
   * either), and park without a log entry. That saves an entry per blocked
   * call and does not mark the keys as written for WATCH, as in Redis.
   */
  private parkAtOnce(w: Waiter): boolean {
    const node = this.server.node;
    if (w.c.lastWriteIndex > node.appliedIndex) return false;
    const dbs = this.server.dbs;
    const db = dbs.get(w.db);
    const now = Date.now();
    for (const k of w.keys) if (db.get(k, now) !== undefined || db.isExpired(k, now)) return false;
    const data = this.server.table.lookup(w.argv)?.data;
    if (data === undefined) return false;
    const out = new RespWriter(w.c.proto);
    data({ db, dbIndex: w.db, dbs, now, index: 0, w: out }, w.argv);
    const reply = out.take();
    if (!isNullReply(reply)) this.finish(w, reply);
    else this.park(w);
    return true;
  }

  /** Proposes the command for w (again, `served`, once it was parked and its keys got data); its apply decides: served, or park again. */
  private attempt(w: Waiter, argv: string[] = w.argv, unblock?: StreamId, served = false): void {
    const entry: CommandEntry = { kind: EntryKind.Commands, time: this.server.applier.entryTime(), multi: false, cmds: [argv] };
    if (w.db !== 0) entry.db = w.db;
    if (served) entry.served = true;
    if (unblock !== undefined) entry.unblock = unblock;
    const p = new BlockedPopWrite(this, entry, new RespWriter(w.c.proto), w);
    w.inFlight = true;
    if (this.server.node.propose(p)) w.c.lastWriteIndex = p.index;
  }

  /** The outcome of a pop proposed for w: an answer, or park again. */
  settled(w: Waiter, outcome: Outcome, p: BlockedPopWrite): void {
    this.settledAhead(w);
    if (outcome !== 'applied') p.w.error(this.server.dispatcher.outcomeError(outcome, p.entry));
    this.applied(w, p.w.take());
  }

  private applied(w: Waiter, reply: string): void {
    w.inFlight = false;
    if (w.c.closed) this.cancel(w);
    if (w.done) return; // the client left; what was popped for it is gone, as in Redis
    if (!isNullReply(reply)) return this.finish(w, reply);
    if (Date.now() >= w.deadline) return this.finish(w, this.timeoutReply(w));
    if (!this.server.node.isLeader) return this.finish(w, this.redirect(w));
    if (!w.parked) this.park(w);
    if (w.kind === 'stream') {
      // Its keys were signalled while its proposal was in flight: look again, from the state now.
      if (w.missed === true) {
        w.missed = false;
        const ready = this.keysIn(this.streamReady, w.db);
        for (const k of w.keys) ready.add(k);
        this.entryApplied();
      }
      return;
    }
    // Data may have arrived on another of its keys while it was in flight.
    const ready = this.readyIn(w.db);
    for (const k of w.keys) ready.add(k);
    this.scheduleServe();
  }

  private park(w: Waiter): void {
    w.parked = true;
    this.parked.add(w);
    let byKey = this.byKey.get(w.db);
    if (byKey === undefined) this.byKey.set(w.db, (byKey = new Map()));
    for (const k of new Set(w.keys)) {
      let q = byKey.get(k);
      if (q === undefined) byKey.set(k, (q = []));
      q.push(w);
    }
    this.armTimer(w);
    w.c.sock.once('close', w.onClose);
    if (this.leaderTimer === undefined) {
      this.leaderTimer = setInterval(() => this.checkLeader(), LEADER_CHECK_MS);
      this.leaderTimer.unref();
    }
  }

  private armTimer(w: Waiter): void {
    if (w.deadline === Infinity) return;
    const left = Math.max(0, w.deadline - Date.now());
    w.timer = setTimeout(
      () => {
        w.timer = undefined;
        if (w.done) return;
        if (Date.now() < w.deadline) return this.armTimer(w);
        // In flight: its apply decides (a pop that happened must be delivered).
        if (!w.inFlight) this.finish(w, this.timeoutReply(w));
      },
      Math.min(left, MAX_TIMER_MS),
    );
  }

  /** Some client waits on a key. */
  get waiting(): boolean {
    return this.byKey.size !== 0;
  }

  /** StateMachine.onTouch: keys written by an applied entry in database db (null: all; db -1: every database). */
  touched(db: number, keys: readonly string[] | null): void {
    if (this.byKey.size === 0) return;
    if (db < 0) {
      for (const i of this.byKey.keys()) this.touched(i, keys);
      return;
    }
    const byKey = this.byKey.get(db);
    if (byKey === undefined) return;
    if (keys === null) {
      const ready = this.readyIn(db);
      const streams = this.keysIn(this.streamReady, db);
      for (const k of byKey.keys()) {
        ready.add(k);
        streams.add(k);
      }
    } else {
      for (const k of keys) {
        if (!byKey.has(k)) continue;
        this.readyIn(db).add(k);
        this.keysIn(this.streamReady, db).add(k);
      }
    }
    this.scheduleServe();
  }

  /** signalKeyAsReady from a stream command (Ctx.signal): its parked stream readers look at the key after the entry. */
  keyReady(db: number, key: string): void {
    if (this.byKey.get(db)?.has(key) !== true) return;
    this.keysIn(this.streamReady, db).add(key);
    this.scheduleServe();
  }

  /**
   * The end of an applied entry: the stream readers parked on keys it
   * signalled are answered or get their XREADGROUP decided now, from the
   * state it left, as Redis serves them after each command. Proposals are
   * made after the batch (serve()).
   */
  entryApplied(): void {
    if (this.streamReady.size === 0) return;
    const leader = this.server.node.isLeader;
    const now = Date.now();
    for (const [db, keys] of this.streamReady) {
      const byKey = this.byKey.get(db);
      if (byKey === undefined) continue;
      const ks = this.server.dbs.get(db);
      for (const key of keys) {
        const q = byKey.get(key);
        if (q !== undefined) this.serveStreams(key, q, ks.get(key, now), leader);
      }
    }
    this.streamReady.clear();
    if (this.toPropose.length > 0 && !this.serveQueued) {
      this.serveQueued = true;
      queueMicrotask(() => this.serve());
    }
  }

  private readyIn(db: number): Set<string> {
    return this.keysIn(this.ready, db);
  }

  private keysIn(m: Map<number, Set<string>>, db: number): Set<string> {
    let s = m.get(db);
    if (s === undefined) m.set(db, (s = new Set()));
    return s;
  }

  private scheduleServe(): void {
    if (this.serveQueued || (this.ready.size === 0 && this.streamReady.size === 0)) return;
    this.serveQueued = true;
    // After the whole batch of applied entries: the keyspace is then current.
    queueMicrotask(() => this.serve());
  }

  private serve(): void {
    this.serveQueued = false;
    // Signalled outside an entry's apply (a snapshot installed): served now.
    this.entryApplied();
    const proposals = this.toPropose.splice(0);
    for (const p of proposals) {
      if (p.w.done) {
        this.settledAhead(p.w);
        p.w.inFlight = false;
      } else {
        this.attempt(p.w, p.argv, p.bound, true);
      }
    }
    const leader = this.server.node.isLeader;
    const ready = [...this.ready];
    this.ready.clear();
    const now = Date.now();
    for (const [db, keys] of ready) this.serveIn(db, keys, now, leader);
    if (!leader) this.checkLeader();
  }

  /** Serves the waiters on keys written in db; a node that is not the leader serves only servedAnywhere ones. */
  private serveIn(db: number, keys: Set<string>, now: number, leader: boolean): void {
    const byKey = this.byKey.get(db);
    if (byKey === undefined) return;
    const ks = this.server.dbs.get(db);
    for (const key of keys) {
      const q = byKey.get(key);
      if (q === undefined) continue;
      if (!leader) continue;
      const v = ks.get(key, now);
      const kind: Kind | undefined = v instanceof ListValue ? 'list' : v instanceof ZSetValue ? 'zset' : undefined;
      if (kind === undefined) continue;
      let avail = kind === 'list' ? (v as ListValue).length : (v as ZSetValue).size;
      for (const w of q) {
        if (avail <= 0) break;
        if (w.kind !== kind) continue;
        avail--;
        if (!w.inFlight) this.attempt(w, w.argv, undefined, true);
      }
    }
  }

  /**
   * Parked XREAD / XREADGROUP clients on a key signalled ready, in FIFO
   * order: an XREAD is answered now; an XREADGROUP is decided now (bound to
   * the stream's last ID, after what the proposals of its group already in
   * flight will take) and proposed after the batch.
   */
  private serveStreams(key: string, q: Waiter[], v: Value | undefined, leader: boolean): void {
    for (const w of q.slice()) {
      if (w.stream === undefined || w.done || !w.parked || (!leader && !servedAnywhere(w))) continue;
      if (w.inFlight) {
        w.missed = true;
        continue;
      }
      const r = serveStreamWaiter(w.stream, key, v, w.c.proto, this.aheadOf);
      if (r === undefined) continue;
      if (typeof r === 'string') {
        this.finish(w, r);
        continue;
      }
      const a = this.groupAhead.get(r.group);
      if (a === undefined) this.groupAhead.set(r.group, { id: r.next, n: 1 });
      else {
        a.id = r.next;
        a.n++;
      }
      w.ahead = r.group;
      w.inFlight = true;
      this.toPropose.push({ w, argv: readgroupProposal(w.stream, key), bound: r.bound });
    }
  }

  /** A decided proposal that will not be made (its client left first). */
  private settledAhead(w: Waiter): void {
    if (w.ahead === undefined) return;
    const a = this.groupAhead.get(w.ahead);
    if (a !== undefined && --a.n === 0) this.groupAhead.delete(w.ahead);
    w.ahead = undefined;
  }

  /** A deposed leader answers its parked clients with a redirect (but a READONLY client's XREAD BLOCK waits on). */
  private checkLeader(): void {
    if (this.byKey.size === 0) {
      if (this.leaderTimer !== undefined) clearInterval(this.leaderTimer);
      this.leaderTimer = undefined;
      return;
    }
    if (this.server.node.isLeader) return;
    const all = new Set<Waiter>();
    for (const byKey of this.byKey.values()) for (const q of byKey.values()) for (const w of q) all.add(w);
    for (const w of all) if (!w.inFlight && !servedAnywhere(w)) this.finish(w, this.redirect(w));
  }

  private redirect(w: Waiter): string {
    return `-${this.server.dispatcher.outcomeError('not-leader', { kind: EntryKind.Commands, time: 0, multi: false, cmds: [w.argv] })}\r\n`;
  }

  private timeoutReply(w: Waiter): string {
    return w.c.proto === 3 ? '_\r\n' : '*-1\r\n';
  }

  /** Forgets w (answered or gone). */
  private unpark(w: Waiter): void {
    w.done = true;
    if (w.timer !== undefined) clearTimeout(w.timer);
    w.timer = undefined;
    if (w.parked) {
      w.parked = false;
      this.parked.delete(w);
      w.c.sock.removeListener('close', w.onClose);
      const byKey = this.byKey.get(w.db);
      for (const k of new Set(w.keys)) {
        const q = byKey?.get(k);
        if (q === undefined) continue;
        const i = q.indexOf(w);
        if (i >= 0) q.splice(i, 1);
        if (q.length === 0) byKey!.delete(k);
      }
      if (byKey !== undefined && byKey.size === 0) this.byKey.delete(w.db);
    }
    this.blocked.delete(w.c);
  }

  private finish(w: Waiter, reply: string): void {
    if (w.done) return;
    this.unpark(w);
    // One call per blocking command, counted when it is answered (Redis's
    // updateStatsOnUnblock); its reply was built apart from the client's writers.
    const def = this.server.table.lookup(w.argv);
    if (def !== undefined) def.stats.calls++;
    if (reply.charCodeAt(0) === 0x2d /* '-' */) {
      this.server.stats.errorReply(reply.slice(1, reply.indexOf('\r\n')));
      if (def !== undefined) def.stats.failedCalls++;
    }
    w.slot.raw(reply);
    w.c.complete(w.slot);
  }

  private cancel(w: Waiter): void {
    if (!w.done) this.unpark(w);
  }
}

/** A parked blocking pop, proposed again when its keys got data: its apply decides (served, or park again). */
class BlockedPopWrite extends Write<CommandEntry> {
  constructor(
    private readonly blocking: Blocking,
    entry: CommandEntry,
    w: RespWriter,
    private readonly waiter: Waiter,
  ) {
    super(entry, w);
  }

  settle(outcome: Outcome): void {
    this.blocking.settled(this.waiter, outcome, this);
  }
}
