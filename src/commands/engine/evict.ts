/**
 * maxmemory and eviction (Redis's evict.c), decided by the leader and
 * replicated.
 *
 * The memory that counts is the dataset's deterministic size
 * (keyspace/used-memory.ts), the same on every replica. Before the leader
 * runs a write (and before it queues a command in MULTI), Evictor.makeRoom
 * (performEvictions) compares it with maxmemory; when it is over, the leader
 * chooses victims by maxmemory-policy — the pool algorithm of evict.c
 * (evictionPoolPopulate: maxmemory-samples keys sampled at a time, the best
 * candidates kept in a pool of 16) on its own access clocks for the LRU, LFU
 * and TTL policies, its own randomness for the random ones — and proposes
 * them as one EvictKeys entry ahead of the write. Every replica applies
 * exactly those deletes (applyEvictions): counted in evicted_keys, an
 * `evicted` event each. With noeviction, or with nothing left to evict, the
 * write is refused with -OOM.
 *
 * When one call stops at its time limit (maxmemory-eviction-tenacity) or
 * at an entry's size with the dataset still over, and whenever CONFIG SET
 * maxmemory sets a limit, the eviction goes on in the background as
 * Redis's evictionTimeProc does (startBackground): a batch at a time, each
 * after the last one was applied or at once when one was cut short, until
 * the dataset is within the limit, nothing is left to evict or this node is
 * no longer the leader — so memory drops without any further command. The
 * server cron also starts it on a leader found over the limit (a new leader
 * after a failover: Redis has no such case).
 *
 * Keys proposed but not yet applied are "in flight": their bytes count as
 * already freed, and they are not chosen again, so a pipeline of writes
 * does not evict the same room twice. Writes let through and not yet
 * applied count with an estimate (their arguments' bytes plus a key's
 * overhead; reserve()), so a pipeline does not overshoot maxmemory by all
 * that is in flight.
 */
import { performance } from 'node:perf_hooks';
import { xorshift32 } from '../../util/prng.js';
import type { Databases } from '../../keyspace/databases.js';
import type { Keyspace } from '../../keyspace/keyspace.js';
import type { Outcome, RaftisNode } from '../../node/node.js';
import { DISCARD } from '../../server/resp-writer.js';
import { Notify, notify, type KeyspaceEvents } from '../notify.js';
import type { Ctx } from '../types.js';
import type { CommandDef, CommandTable } from '../table.js';
import { EntryKind, type EvictEntry } from './entry.js';
import type { TouchListener } from './apply.js';
import { Write } from './write.js';

export const OOM = "OOM command not allowed when used memory > 'maxmemory'.";

export type Policy =
  | 'noeviction'
  | 'allkeys-lru'
  | 'allkeys-lfu'
  | 'allkeys-random'
  | 'volatile-lru'
  | 'volatile-lfu'
  | 'volatile-random'
  | 'volatile-ttl';

/** EVPOOL_SIZE */
const POOL_SIZE = 16;
/** Keys one eviction entry carries at most. */
const MAX_KEYS_PER_ENTRY = 4096;
/** Pool refills per victim before giving up (every sampled key was gone or in flight). */
const MAX_REFILLS = 32;

export interface EvictorHost {
  readonly node: RaftisNode<Write>;
  readonly dbs: Databases;
  /** The time stamped on a new entry. */
  entryTime(): number;
}

export class Evictor {
  /** maxmemory in bytes (0: no limit). */
  maxmemory = 0;
  policy: Policy = 'noeviction';
  samples = 5;
  tenacity = 10;
  /** Keys proposed for eviction and not yet applied (by inFlightId), with their bytes when proposed. */
  private readonly inFlight = new Map<string, number>();
  private inFlightBytes = 0;
  /** Writes let through and not yet applied: the log index they get at the latest, and their estimated bytes (a queue). */
  private readonly pendingIndex: number[] = [];
  private readonly pendingSize: number[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  /** The eviction pool: candidates (database and key) in ascending order of idle score, from every database (as evict.c's pool). */
  private readonly poolKeys: string[] = [];
  private readonly poolDbs: number[] = [];
  private readonly poolIdle: number[] = [];
  /** Per database: sampling cursors over all keys and over keys with a TTL, reset after a flush or SWAPDB (keyTable changes). */
  private readonly allIt: (Iterator<string> | undefined)[] = [];
  private readonly volIt: (Iterator<[string, number]> | undefined)[] = [];
  private readonly tables: (object | undefined)[] = [];
  /** The random policies go round the databases (evict.c's next_db). */
  private nextDb = 0;
  private seed = 0x2545f491;
  /** The background eviction (evictionTimeProc) is running: a cycle is scheduled or waits for an eviction entry to settle. */
  private bgRunning = false;
  private bgTimer: NodeJS.Immediate | undefined;
  /** The last makeRoom stopped at its time limit or at an entry's size while more was needed (EVICT_RUNNING). */
  private cutShort = false;

  constructor(private readonly host: EvictorHost) {}

  /**
   * performEvictions: whether a command that needs memory may run. Proposes
   * an eviction entry when the dataset is over maxmemory and the policy
   * finds victims. Only the leader evicts; elsewhere this answers true.
   */
  makeRoom(): boolean {
    this.cutShort = false;
    if (this.maxmemory === 0) return true;
    const { node, dbs } = this.host;
    if (!node.isLeader) return true;
    this.dropApplied(node.appliedIndex);
    const need = dbs.usedMemory() + this.pendingBytes - this.inFlightBytes - this.maxmemory;
    if (need <= 0) return true;
    if (this.policy === 'noeviction') return false;
    for (let i = 0; i < dbs.count; i++) {
      const ks = dbs.get(i);
      if (ks.keyTable === this.tables[i]) continue;
      this.tables[i] = ks.keyTable;
      this.allIt[i] = undefined;
      this.volIt[i] = undefined;
      this.dropPoolDb(i);
    }
    const limitMs = this.timeLimitUs() / 1000;
    const start = performance.now();
    const byDb = new Map<number, string[]>();
    let chosen = 0;
    let freed = 0;
    let found = true;
    while (freed < need && chosen < MAX_KEYS_PER_ENTRY) {
      const v = this.victim();
      if (v === undefined) {
        found = false;
        break;
      }
      const [db, key] = v;
      const bytes = dbs.get(db).keyBytes(key);
      let keys = byDb.get(db);
      if (keys === undefined) byDb.set(db, (keys = []));
      keys.push(key);
      this.inFlight.set(inFlightId(db, key), bytes);
      this.inFlightBytes += bytes;
      freed += bytes;
      if ((++chosen & 15) === 0 && performance.now() - start > limitMs) break;
    }
    if (chosen === 0) return this.inFlightBytes > 0;
    // Stopped by the time limit or the entry's size with victims left: evictionTimeProc goes on.
    if (found && freed < need) {
      this.cutShort = true;
      this.startBackground();
    }
    // One entry per database the victims are in.
    let proposed = false;
    for (const [db, keys] of byDb) {
      const entry: EvictEntry = { kind: EntryKind.EvictKeys, time: this.host.entryTime(), keys };
      if (db !== 0) entry.db = db;
      const p = new EvictWrite(this, entry);
      if (node.propose(p)) proposed = true;
      else this.settled(p);
    }
    return proposed;
  }

  /**
   * A denyoom write let through (makeRoom answered true) and about to be
   * proposed: its estimated bytes count until the log has applied past it.
   */
  reserve(argv: readonly string[]): void {
    if (this.maxmemory === 0 || !this.host.node.isLeader) return;
    let bytes = 64;
    for (let i = 1; i < argv.length; i++) bytes += argv[i]!.length;
    // Proposed next (after any eviction entry), so applied once the applied index reaches this one.
    this.pendingIndex.push(this.host.node.lastProposedIndex + 1);
    this.pendingSize.push(bytes);
    this.pendingBytes += bytes;
  }

  private dropApplied(applied: number): void {
    let h = this.pendingHead;
    const idx = this.pendingIndex;
    while (h < idx.length && idx[h]! <= applied) this.pendingBytes -= this.pendingSize[h++]!;
    if (h === idx.length) {
      idx.length = 0;
      this.pendingSize.length = 0;
      h = 0;
      this.pendingBytes = 0;
    } else if (h > 1024) {
      idx.splice(0, h);
      this.pendingSize.splice(0, h);
      h = 0;
    }
    this.pendingHead = h;
  }

  /** An eviction entry was applied or lost: its keys are no longer in flight. */
  settled(p: EvictWrite): void {
    const db = p.entry.db ?? 0;
    for (const k of p.entry.keys) {
      const id = inFlightId(db, k);
      const bytes = this.inFlight.get(id);
      if (bytes === undefined) continue;
      this.inFlight.delete(id);
      this.inFlightBytes -= bytes;
    }
    // The background eviction waited for this batch: look again at what is used now.
    if (this.bgRunning) this.scheduleBackground();
  }

  /**
   * startEvictionTimeProc: keep evicting in the background until the
   * dataset is within maxmemory (CONFIG SET maxmemory, a call cut short, the
   * cron finding a leader over the limit). Idempotent; the first cycle runs
   * on the next turn of the event loop, never inside an apply.
   */
  startBackground(): void {
    if (this.bgRunning) return;
    this.bgRunning = true;
    this.scheduleBackground();
  }

  /** serverCron's part: a leader over the limit with nothing running starts the background eviction (cheap: the size is kept up to date). */
  cron(): void {
    if (this.bgRunning || this.maxmemory === 0 || this.policy === 'noeviction') return;
    const node = this.host.node as RaftisNode<Write> | undefined;
    if (node === undefined || !node.isLeader || node.closed) return;
    if (this.host.dbs.usedMemory() > this.maxmemory) this.startBackground();
  }

  /** Stops the background eviction (the engine closes). */
  stop(): void {
    this.bgRunning = false;
    if (this.bgTimer !== undefined) clearImmediate(this.bgTimer);
    this.bgTimer = undefined;
  }

  private scheduleBackground(): void {
    if (this.bgTimer !== undefined) return;
    this.bgTimer = setImmediate(() => {
      this.bgTimer = undefined;
      this.backgroundCycle();
    });
    this.bgTimer.unref();
  }

  /**
   * evictionTimeProc: one makeRoom; again at once when it was cut short,
   * after the batch it proposed settles otherwise; stops when the dataset
   * is within the limit (EVICT_OK), nothing is left to evict (EVICT_FAIL),
   * or this node is not the leader (the new leader's cron takes over).
   */
  private backgroundCycle(): void {
    if (!this.bgRunning) return;
    const node = this.host.node as RaftisNode<Write> | undefined;
    if (this.maxmemory === 0 || this.policy === 'noeviction' || node === undefined || !node.isLeader || node.closed || this.host.dbs.usedMemory() <= this.maxmemory) {
      this.bgRunning = false;
      return;
    }
    if (!this.makeRoom()) {
      this.bgRunning = false;
      return;
    }
    if (this.cutShort) this.scheduleBackground();
    // Otherwise what is needed is in flight: settled() schedules the next look.
  }

  /** evictionTimeLimitUs: how long one call may spend choosing (maxmemory-eviction-tenacity). */
  private timeLimitUs(): number {
    const t = this.tenacity;
    if (t <= 10) return 50 * t;
    if (t < 100) return 500 * 1.15 ** (t - 10);
    return Infinity;
  }

  private get volatile(): boolean {
    return this.policy.startsWith('volatile-');
  }

  /** Whether database i has candidates for the policy. */
  private hasCandidates(i: number): boolean {
    const ks = this.host.dbs.get(i);
    return this.volatile ? ks.expiresCount !== 0 : ks.size !== 0;
  }

  /** The next key to evict (its database and name), or undefined when none can be found. */
  private victim(): [number, string] | undefined {
    const dbs = this.host.dbs;
    if (this.policy === 'allkeys-random' || this.policy === 'volatile-random') {
      for (let tries = 0; tries < MAX_REFILLS; tries++) {
        // Round the databases, from the one after the last victim's (evict.c's next_db).
        let db = -1;
        for (let j = 0; j < dbs.count; j++) {
          const i = (this.nextDb + j) % dbs.count;
          if (this.hasCandidates(i)) {
            db = i;
            break;
          }
        }
        if (db < 0) return undefined;
        this.nextDb = (db + 1) % dbs.count;
        const k = this.sample(db, 1 + (this.random() % 16))[0];
        if (k !== undefined && this.evictable(db, k)) return [db, k];
      }
      return undefined;
    }
    for (let refill = 0; refill < MAX_REFILLS; refill++) {
      if (!this.populate()) return undefined;
      // From the best candidate (the highest idle score) down.
      while (this.poolKeys.length > 0) {
        const k = this.poolKeys.pop()!;
        const db = this.poolDbs.pop()!;
        this.poolIdle.pop();
        if (this.evictable(db, k)) return [db, k];
      }
    }
    return undefined;
  }

  /** Whether a key may be chosen: present, not chosen already, with a TTL under a volatile policy. */
  private evictable(db: number, key: string): boolean {
    if (this.inFlight.has(inFlightId(db, key))) return false;
    const ks = this.host.dbs.get(db);
    if (ks.keyBytes(key) === 0) return false;
    return !this.volatile || ks.expireAt(key) !== undefined;
  }

  /** evictionPoolPopulate over every database: samples maxmemory-samples keys of each into the pool; false when no database has any. */
  private populate(): boolean {
    const dbs = this.host.dbs;
    let any = false;
    for (let db = 0; db < dbs.count; db++) {
      if (!this.hasCandidates(db)) continue;
      any = true;
      const ks = dbs.get(db);
      for (const key of this.sample(db, this.samples)) {
        if (this.inFlight.has(inFlightId(db, key))) continue;
        let idle: number;
        if (this.policy.endsWith('-lru')) idle = ks.clocks.idleMs(key);
        else if (this.policy.endsWith('-lfu')) idle = 255 - ks.clocks.freq(key);
        else idle = Number.MAX_SAFE_INTEGER - (ks.expireAt(key) ?? Number.MAX_SAFE_INTEGER);
        this.insert(db, key, idle);
      }
    }
    return any;
  }

  /** Drops database db's candidates from the pool (its contents changed wholesale). */
  private dropPoolDb(db: number): void {
    for (let i = this.poolKeys.length - 1; i >= 0; i--) {
      if (this.poolDbs[i] !== db) continue;
      this.poolKeys.splice(i, 1);
      this.poolDbs.splice(i, 1);
      this.poolIdle.splice(i, 1);
    }
  }

  /** Inserts into the ascending pool; when full, the worst (first) goes, or the key is not taken. */
  private insert(db: number, key: string, idle: number): void {
    const keys = this.poolKeys;
    const dbsOf = this.poolDbs;
    const scores = this.poolIdle;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== key || dbsOf[i] !== db) continue;
      keys.splice(i, 1);
      dbsOf.splice(i, 1);
      scores.splice(i, 1);
      break;
    }
    let k = 0;
    while (k < scores.length && scores[k]! < idle) k++;
    if (keys.length >= POOL_SIZE) {
      if (k === 0) return;
      keys.shift();
      dbsOf.shift();
      scores.shift();
      k--;
    }
    keys.splice(k, 0, key);
    dbsOf.splice(k, 0, db);
    scores.splice(k, 0, idle);
  }

  /** Up to n keys of database db from the policy's dict, consecutive from a cursor that moves on a random stride (dictGetSomeKeys). */
  private sample(db: number, n: number): string[] {
    const ks = this.host.dbs.get(db);
    const out: string[] = [];
    const skip = this.random() % Math.max(1, n);
    const total = skip + n;
    let wrapped = false;
    for (let i = 0; i < total; ) {
      let key: string | undefined;
      if (this.volatile) {
        const it = (this.volIt[db] ??= ks.keysWithExpiry());
        const r = it.next();
        if (r.done) this.volIt[db] = undefined;
        else key = r.value[0];
      } else {
        const it = (this.allIt[db] ??= ks.keys());
        const r = it.next();
        if (r.done) this.allIt[db] = undefined;
        else key = r.value;
      }
      if (key === undefined) {
        if (wrapped) break;
        wrapped = true;
        continue;
      }
      if (i >= skip) out.push(key);
      i++;
    }
    return out;
  }

  /** xorshift32: the leader's choice, replicated by the entry. */
  private random(): number {
    return (this.seed = xorshift32(this.seed));
  }
}

/** The leader's eviction entry: nobody waits for a reply. */
class EvictWrite extends Write<EvictEntry> {
  constructor(
    private readonly evictor: Evictor,
    entry: EvictEntry,
  ) {
    super(entry, DISCARD);
  }

  settle(_outcome: Outcome): void {
    this.evictor.settled(this);
  }
}

/** The in-flight map's key for a key of database db. */
function inFlightId(db: number, key: string): string {
  return db === 0 ? key : `${db}\u0000${key}`;
}

/** Applies an eviction entry on any replica: each key deleted, counted in evicted_keys, an `evicted` event. */
export function applyEvictions(dbs: Databases, dbIndex: number, entry: EvictEntry, index: number, events: KeyspaceEvents | undefined, touch: TouchListener): void {
  const db = dbs.get(dbIndex);
  const ctx: Ctx = { db, dbIndex, dbs, now: entry.time, index, w: DISCARD, events };
  const deleted: string[] = [];
  for (const key of entry.keys) {
    if (!db.delete(key)) continue;
    db.evicted++;
    deleted.push(key);
    notify(ctx, Notify.Evicted, 'evicted', key);
  }
  if (deleted.length > 0) touch.touched(dbIndex, deleted);
}

/** Whether a command is flagged denyoom (COMMAND INFO). */
export function isDenyoom(def: CommandDef | undefined): boolean {
  return def !== undefined && def.meta.flags.has('denyoom');
}

/** What says whether a script command is denyoom by its script's declared flags (Scripts.deniesOom). */
export interface ScriptOomFlags {
  deniesOom(name: string, argv: readonly string[]): boolean;
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** getCommandFlags's denyoom: the command's flag, or for EVAL / FCALL and their kin, the script's declared flags. */
export function deniesOom(def: CommandDef | undefined, argv: readonly string[], scripts: ScriptOomFlags): boolean {
  if (def === undefined) return false;
  return SCRIPT_COMMANDS.has(def.name) ? scripts.deniesOom(def.name, argv) : isDenyoom(def);
}

/**
 * processCommand's maxmemory check for writes forwarded whole (a follower's
 * command or transaction, proxy mode): eviction first, then -OOM for a
 * denyoom command, or EXECABORT for a transaction holding one.
 */
export function forwardedOom(evictor: Evictor, table: CommandTable, scripts: ScriptOomFlags, cmds: readonly string[][], multi: boolean): string | undefined {
  if (evictor.maxmemory === 0) return undefined;
  const room = evictor.makeRoom();
  const denyoom = cmds.filter((argv) => deniesOom(table.lookup(argv), argv, scripts));
  if (denyoom.length === 0) return undefined;
  if (!room) return multi ? EXECABORT_OOM : OOM;
  for (const argv of denyoom) evictor.reserve(argv);
  return undefined;
}

/**
 * pre_command_oom_state for a transaction or a forwarded batch: whether the
 * dataset is over maxmemory (and eviction cannot make room) as it is
 * proposed, when it holds an EVAL or EVALSHA — a script without a shebang
 * learns of it at its first denyoom call (CommandEntry.oom). Other batches
 * never need it, so they never pay for the check.
 */
export function batchOom(evictor: Evictor, cmds: readonly string[][]): boolean {
  if (evictor.maxmemory === 0) return false;
  let scripts = false;
  for (const argv of cmds) {
    const n = argv[0]!.toLowerCase();
    if (n === 'eval' || n === 'evalsha') scripts = true;
  }
  return scripts && !evictor.makeRoom();
}

export const EXECABORT_OOM = `EXECABORT Transaction discarded because of: ${OOM}`;
