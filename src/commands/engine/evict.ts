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
 * Keys proposed but not yet applied are "in flight": their bytes count as
 * already freed, and they are not chosen again, so a pipeline of writes
 * does not evict the same room twice. Writes let through and not yet
 * applied count with an estimate (their arguments' bytes plus a key's
 * overhead; reserve()), so a pipeline does not overshoot maxmemory by all
 * that is in flight.
 */
import { performance } from 'node:perf_hooks';
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
  readonly keyspace: Keyspace;
  /** The time stamped on a new entry. */
  entryTime(): number;
}

export class Evictor {
  /** maxmemory in bytes (0: no limit). */
  maxmemory = 0;
  policy: Policy = 'noeviction';
  samples = 5;
  tenacity = 10;
  /** Keys proposed for eviction and not yet applied, with their bytes when proposed. */
  private readonly inFlight = new Map<string, number>();
  private inFlightBytes = 0;
  /** Writes let through and not yet applied: the log index they get at the latest, and their estimated bytes (a queue). */
  private readonly pendingIndex: number[] = [];
  private readonly pendingSize: number[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  /** The eviction pool: candidates in ascending order of idle score. */
  private readonly poolKeys: string[] = [];
  private readonly poolIdle: number[] = [];
  /** Sampling cursors over all keys and over keys with a TTL (reset after a flush). */
  private allIt: Iterator<string> | undefined;
  private volIt: Iterator<[string, number]> | undefined;
  private table: object | undefined;
  private seed = 0x2545f491;

  constructor(private readonly host: EvictorHost) {}

  /**
   * performEvictions: whether a command that needs memory may run. Proposes
   * an eviction entry when the dataset is over maxmemory and the policy
   * finds victims. Only the leader evicts; elsewhere this answers true.
   */
  makeRoom(): boolean {
    if (this.maxmemory === 0) return true;
    const { node, keyspace } = this.host;
    if (!node.isLeader) return true;
    this.dropApplied(node.appliedIndex);
    const need = keyspace.usedMemory() + this.pendingBytes - this.inFlightBytes - this.maxmemory;
    if (need <= 0) return true;
    if (this.policy === 'noeviction') return false;
    if (keyspace.keyTable !== this.table) {
      this.table = keyspace.keyTable;
      this.allIt = undefined;
      this.volIt = undefined;
      this.poolKeys.length = 0;
      this.poolIdle.length = 0;
    }
    const limitMs = this.timeLimitUs() / 1000;
    const start = performance.now();
    const keys: string[] = [];
    let freed = 0;
    while (freed < need && keys.length < MAX_KEYS_PER_ENTRY) {
      const key = this.victim();
      if (key === undefined) break;
      const bytes = keyspace.keyBytes(key);
      keys.push(key);
      this.inFlight.set(key, bytes);
      freed += bytes;
      if ((keys.length & 15) === 0 && performance.now() - start > limitMs) break;
    }
    if (keys.length === 0) return this.inFlightBytes > 0;
    this.inFlightBytes += freed;
    const p = new EvictWrite(this, { kind: EntryKind.EvictKeys, time: this.host.entryTime(), keys });
    if (!node.propose(p)) {
      this.settled(p);
      return false;
    }
    return true;
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
    this.pendingIndex.push(this.host.node.lastLogIndex + 1);
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
    for (const k of p.entry.keys) {
      const bytes = this.inFlight.get(k);
      if (bytes === undefined) continue;
      this.inFlight.delete(k);
      this.inFlightBytes -= bytes;
    }
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

  /** The next key to evict, or undefined when none can be found. */
  private victim(): string | undefined {
    const ks = this.host.keyspace;
    if (this.volatile ? ks.expiresCount === 0 : ks.size === 0) return undefined;
    if (this.policy === 'allkeys-random' || this.policy === 'volatile-random') {
      for (let tries = 0; tries < MAX_REFILLS; tries++) {
        const k = this.sample(1 + (this.random() % 16))[0];
        if (k !== undefined && this.evictable(k)) return k;
      }
      return undefined;
    }
    for (let refill = 0; refill < MAX_REFILLS; refill++) {
      this.populate();
      // From the best candidate (the highest idle score) down.
      while (this.poolKeys.length > 0) {
        const k = this.poolKeys.pop()!;
        this.poolIdle.pop();
        if (this.evictable(k)) return k;
      }
    }
    return undefined;
  }

  /** Whether a key may be chosen: present, not chosen already, with a TTL under a volatile policy. */
  private evictable(key: string): boolean {
    if (this.inFlight.has(key)) return false;
    const ks = this.host.keyspace;
    if (ks.keyBytes(key) === 0) return false;
    return !this.volatile || ks.expireAt(key) !== undefined;
  }

  /** evictionPoolPopulate: samples maxmemory-samples keys into the pool by their idle score. */
  private populate(): void {
    const ks = this.host.keyspace;
    const keys = this.sample(this.samples);
    for (const key of keys) {
      if (this.inFlight.has(key)) continue;
      let idle: number;
      if (this.policy.endsWith('-lru')) idle = ks.clocks.idleMs(key);
      else if (this.policy.endsWith('-lfu')) idle = 255 - ks.clocks.freq(key);
      else idle = Number.MAX_SAFE_INTEGER - (ks.expireAt(key) ?? Number.MAX_SAFE_INTEGER);
      this.insert(key, idle);
    }
  }

  /** Inserts into the ascending pool; when full, the worst (first) goes, or the key is not taken. */
  private insert(key: string, idle: number): void {
    const keys = this.poolKeys;
    const scores = this.poolIdle;
    const at = keys.indexOf(key);
    if (at >= 0) {
      keys.splice(at, 1);
      scores.splice(at, 1);
    }
    let k = 0;
    while (k < scores.length && scores[k]! < idle) k++;
    if (keys.length >= POOL_SIZE) {
      if (k === 0) return;
      keys.shift();
      scores.shift();
      k--;
    }
    keys.splice(k, 0, key);
    scores.splice(k, 0, idle);
  }

  /** Up to n keys from the policy's dict, consecutive from a cursor that moves on a random stride (dictGetSomeKeys). */
  private sample(n: number): string[] {
    const ks = this.host.keyspace;
    const out: string[] = [];
    const skip = this.random() % Math.max(1, n);
    const total = skip + n;
    let wrapped = false;
    for (let i = 0; i < total; ) {
      let key: string | undefined;
      if (this.volatile) {
        this.volIt ??= ks.keysWithExpiry();
        const r = this.volIt.next();
        if (r.done) this.volIt = undefined;
        else key = r.value[0];
      } else {
        this.allIt ??= ks.keys();
        const r = this.allIt.next();
        if (r.done) this.allIt = undefined;
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
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
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

/** Applies an eviction entry on any replica: each key deleted, counted in evicted_keys, an `evicted` event. */
export function applyEvictions(db: Keyspace, entry: EvictEntry, index: number, events: KeyspaceEvents | undefined, touch: TouchListener): void {
  const ctx: Ctx = { db, now: entry.time, index, w: DISCARD, events };
  const deleted: string[] = [];
  for (const key of entry.keys) {
    if (!db.delete(key)) continue;
    db.evicted++;
    deleted.push(key);
    notify(ctx, Notify.Evicted, 'evicted', key);
  }
  if (deleted.length > 0) touch.touched(deleted);
}

/** Whether a command is flagged denyoom (COMMAND INFO). */
export function isDenyoom(def: CommandDef | undefined): boolean {
  return def !== undefined && def.meta.flags.has('denyoom');
}

/**
 * processCommand's maxmemory check for writes forwarded whole (a follower's
 * command or transaction, proxy mode): eviction first, then -OOM for a
 * denyoom command, or EXECABORT for a transaction holding one.
 */
export function forwardedOom(evictor: Evictor, table: CommandTable, cmds: readonly string[][], multi: boolean): string | undefined {
  if (evictor.maxmemory === 0) return undefined;
  const room = evictor.makeRoom();
  const denyoom = cmds.filter((argv) => isDenyoom(table.lookup(argv)));
  if (denyoom.length === 0) return undefined;
  if (!room) return multi ? EXECABORT_OOM : OOM;
  for (const argv of denyoom) evictor.reserve(argv);
  return undefined;
}

export const EXECABORT_OOM = `EXECABORT Transaction discarded because of: ${OOM}`;
