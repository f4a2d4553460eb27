/**
 * Client-side caching (Redis's tracking.c): which keys this node's tracking
 * clients read, and the invalidation messages they get when a write to one
 * of those keys is applied here.
 *
 * The table is per node, as in Redis, and connection state: each node
 * remembers the keys its own clients read (a READONLY client on a follower
 * too) and invalidates them when it applies a write to them, so a client is
 * told whichever node it reads from. Nothing here is replicated.
 *
 *   default mode  key → ids of the clients that read it; a write to the key
 *                 sends each of them `invalidate [key]` and forgets the key
 *   BCAST         prefix → its clients and the keys written under it since
 *                 the last broadcast, sent once per event-loop turn
 *   OPTIN/OPTOUT  CLIENT CACHING yes/no decides for the next command
 *   NOLOOP        a client is not told of the writes it made itself
 *
 * Messages go to the client (RESP3 push `invalidate`) or to the client it
 * redirects to (a RESP3 push, or a `message` on `__redis__:invalidate` for a
 * RESP2 client in pub/sub mode). Invalidations of the keys a client's own
 * write touched are sent after that write's reply (Redis's
 * tracking_pending_keys).
 *
 * When no client tracks (`clients === 0`) nothing is remembered and the
 * touch listener is not asked for the keys of writes (engine.ts).
 */
import type { RespWriter } from '../../server/resp-writer.js';
import { commandKeyRefs } from '../keys.js';
import type { CommandDef } from '../table.js';
import type { EngineClient } from './engine.js';

/** A tracking client's options (Redis's CLIENT_TRACKING_* flags and redirection). */
export interface ClientTracking {
  /** The client id invalidations are redirected to; 0: none. */
  redirect: number;
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** CLIENT CACHING yes (OPTIN) or no (OPTOUT) was given for the next command. */
  caching: boolean;
  /** The last command was a CLIENT command (which leaves `caching` as it is). */
  afterClient: boolean;
  /** The redirect client was gone when a message was due. */
  brokenRedirect: boolean;
  /** BCAST prefixes, in insertion order (TRACKINGINFO sorts them). */
  prefixes: Set<string>;
}

/** A BCAST prefix: its clients, and the keys written under it since the last broadcast (with who wrote each last). */
interface BcastState {
  clients: Set<EngineClient>;
  keys: Map<string, EngineClient | undefined>;
}

/** Options of CLIENT TRACKING ON. */
export interface TrackingOptions {
  redirect: number;
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  prefixes: string[];
}

/**
 * Scripts and functions: redis-server 7.0 remembers the keys a script
 * declares (its caller's arguments) when it runs a read command; raftis
 * remembers them for every script a tracking client runs.
 */
const SCRIPTS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

const INVALIDATE_PUSH = '>2\r\n$10\r\ninvalidate\r\n';
const INVALIDATE_MESSAGE = '*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n';

/** Byte-wise comparison of latin1 strings (the order of Redis's radix trees). */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function oneKey(key: string): string {
  return `*1\r\n$${key.length}\r\n${key}\r\n`;
}

export class Tracking {
  /** Tracking clients by id (INFO tracking_clients is its size). */
  private readonly states = new Map<number, ClientTracking>();
  /** Default mode: key → ids of the clients that may cache it. */
  private readonly table = new Map<string, Set<number>>();
  /** INFO tracking_total_items: ids stored across the table. */
  totalItems = 0;
  /** BCAST: prefix → state. */
  private readonly prefixTable = new Map<string, BcastState>();
  /** tracking-table-max-keys (0: no limit). */
  maxKeys = 1_000_000;
  /** The client whose write is being applied now (set by the Applier on the node that proposed it). */
  current: EngineClient | undefined;
  /** Invalidations for `current`, sent after its reply: keys, or null for a flush. */
  private readonly pending: (string | null)[] = [];
  private broadcastQueued = false;
  private limitQueued = false;
  /**
   * --follower-writes proxy, on a follower: whether c waits for the leader's
   * reply to a forwarded write. That write is applied here before its reply
   * comes back; its invalidations (and any other) wait in `held` for the
   * reply, as Redis sends a client's invalidations after its reply.
   */
  holdFor: ((c: EngineClient) => boolean) | undefined;
  private readonly held = new Map<EngineClient, string[]>();

  constructor(private readonly clients: ReadonlyMap<number, EngineClient>) {}

  /** INFO tracking_clients: while 0 nothing is remembered and writes pay nothing. */
  get clientCount(): number {
    return this.states.size;
  }

  get totalKeys(): number {
    return this.table.size;
  }

  get totalPrefixes(): number {
    return this.prefixTable.size;
  }

  /** Whether applied writes must report their keys: some client tracks. */
  get wanted(): boolean {
    return this.states.size !== 0;
  }

  of(c: EngineClient): ClientTracking | undefined {
    return this.states.size === 0 ? undefined : this.states.get(c.id);
  }

  /** Redis's enableTracking (options already checked). */
  enable(c: EngineClient, o: TrackingOptions): void {
    let st = this.states.get(c.id);
    if (st === undefined) {
      st = { redirect: 0, bcast: false, optin: false, optout: false, noloop: false, caching: false, afterClient: true, brokenRedirect: false, prefixes: new Set() };
      this.states.set(c.id, st);
    }
    st.redirect = o.redirect;
    st.brokenRedirect = false;
    st.bcast = o.bcast;
    st.optin = o.optin;
    st.optout = o.optout;
    st.noloop = o.noloop;
    if (o.bcast) {
      if (o.prefixes.length === 0) this.addPrefix(c, st, '');
      for (const p of o.prefixes) this.addPrefix(c, st, p);
    }
  }

  private addPrefix(c: EngineClient, st: ClientTracking, prefix: string): void {
    let bs = this.prefixTable.get(prefix);
    if (bs === undefined) this.prefixTable.set(prefix, (bs = { clients: new Set(), keys: new Map() }));
    bs.clients.add(c);
    st.prefixes.add(prefix);
  }

  /**
   * Redis's disableTracking (CLIENT TRACKING off, RESET, disconnect). Table
   * entries naming the client are dropped lazily, when their key is written,
   * as in Redis, or all at once when no client tracks any more.
   */
  disable(c: EngineClient): void {
    const st = this.states.get(c.id);
    if (st === undefined) return;
    for (const p of st.prefixes) {
      const bs = this.prefixTable.get(p);
      if (bs === undefined) continue;
      bs.clients.delete(c);
      if (bs.clients.size === 0) this.prefixTable.delete(p);
    }
    this.states.delete(c.id);
    if (this.states.size === 0 && this.table.size !== 0) {
      // Nobody tracks any more: every entry left names a client that no longer tracks (Redis drops
      // them lazily as their keys are written; raftis stops looking at writes, so it drops them now).
      this.table.clear();
      this.totalItems = 0;
    }
  }

  /**
   * A prefix collision as Redis's checkPrefixCollisionsOrReply words it
   * (against the client's prefixes, then among the new ones), or undefined.
   */
  prefixCollision(c: EngineClient, prefixes: readonly string[]): string | undefined {
    const own = this.states.get(c.id)?.prefixes;
    const overlap = (a: string, b: string): boolean => (a.length < b.length ? b.startsWith(a) : a.startsWith(b));
    for (let i = 0; i < prefixes.length; i++) {
      const p = prefixes[i]!;
      if (own !== undefined) {
        for (const q of [...own].sort(byteOrder)) {
          if (overlap(q, p)) return `ERR Prefix '${p}' overlaps with an existing prefix '${q}'. Prefixes for a single client must not overlap.`;
        }
      }
      for (let j = i + 1; j < prefixes.length; j++) {
        if (overlap(p, prefixes[j]!)) {
          return `ERR Prefix '${p}' overlaps with another provided prefix '${prefixes[j]}'. Prefixes for a single client must not overlap.`;
        }
      }
    }
    return undefined;
  }

  /**
   * Before each command of c (`def`: the command, undefined when it was not
   * found): CLIENT CACHING lasts for one command. Redis's resetClient clears
   * it after any command other than CLIENT (an unknown one too) unless a
   * transaction is open; here it is cleared when the next command comes.
   */
  beforeCommand(c: EngineClient, def: CommandDef | undefined): void {
    const st = this.states.get(c.id);
    if (st === undefined) return;
    if (st.caching && !st.afterClient && c.multi === undefined) st.caching = false;
    st.afterClient = def !== undefined && def.name.startsWith('client|');
  }

  /**
   * Whether the keys of this read by c are to be remembered (Redis's
   * checks before trackingRememberKeys: a readonly command or a script,
   * default mode, OPTIN/OPTOUT and CLIENT CACHING). Decided when the command
   * is taken, as CLIENT CACHING is about the next command.
   */
  wants(c: EngineClient, def: CommandDef): boolean {
    const st = this.states.get(c.id);
    if (st === undefined || st.bcast || !(def.meta.flags.has('readonly') || SCRIPTS.has(def.name))) return false;
    return !((st.optin && !st.caching) || (st.optout && st.caching));
  }

  /** A read command ran for c: remember its keys when it wants them tracked (wants + remember). */
  read(c: EngineClient, def: CommandDef, argv: readonly string[]): void {
    if (this.wants(c, def)) this.remember(c, def, argv);
  }

  /**
   * Remembers the keys of a read that ran for c (Redis's
   * trackingRememberKeys), after its reply was computed: a write applied
   * later is then told to c after that reply.
   */
  remember(c: EngineClient, def: CommandDef, argv: readonly string[]): void {
    const st = this.states.get(c.id);
    if (st === undefined || st.bcast) return;
    const refs = commandKeyRefs(def.meta, argv);
    if (refs.length === 0) return;
    for (const r of refs) {
      const key = argv[r.pos]!;
      let ids = this.table.get(key);
      if (ids === undefined) this.table.set(key, (ids = new Set()));
      if (!ids.has(c.id)) {
        ids.add(c.id);
        this.totalItems++;
      }
    }
    if (this.maxKeys > 0 && this.table.size > this.maxKeys && !this.limitQueued) {
      // After this turn's replies, as Redis does it in beforeSleep.
      this.limitQueued = true;
      process.nextTick(() => this.limitUsedSlots());
    }
  }

  /**
   * tracking-table-max-keys passed: forget keys, oldest first, telling
   * their clients as if the keys were written (Redis evicts random keys).
   */
  private limitUsedSlots(): void {
    this.limitQueued = false;
    if (this.maxKeys === 0) return;
    const saved = this.current;
    this.current = undefined;
    try {
      for (const key of this.table.keys()) {
        if (this.table.size <= this.maxKeys) break;
        this.invalidateKey(key, false);
      }
    } finally {
      this.current = saved;
    }
  }

  /** Keys an applied write touched (null: every key, FLUSHALL / FLUSHDB / a snapshot installed). */
  touched(keys: readonly string[] | null): void {
    if (this.states.size === 0) return;
    if (keys === null) return this.invalidateAll();
    for (const k of keys) this.invalidateKey(k, true);
  }

  /** Redis's trackingInvalidateKey. */
  private invalidateKey(key: string, bcast: boolean): void {
    if (bcast && this.prefixTable.size !== 0) this.rememberForBroadcast(key);
    const ids = this.table.get(key);
    if (ids === undefined) return;
    this.table.delete(key);
    this.totalItems -= ids.size;
    const cur = this.current;
    for (const id of ids) {
      const st = this.states.get(id);
      if (st === undefined || st.bcast) continue;
      const target = this.clients.get(id);
      if (target === undefined) continue;
      if (target === cur) {
        if (!st.noloop) this.pending.push(key);
        continue;
      }
      this.send(target, st, oneKey(key));
    }
  }

  /** Redis's trackingInvalidateKeysOnFlush: every tracking client gets a null invalidation; the table is emptied. */
  private invalidateAll(): void {
    for (const id of [...this.states.keys()]) {
      const c = this.clients.get(id);
      const st = this.states.get(id);
      if (c === undefined || st === undefined) continue;
      if (c === this.current) this.pending.push(null);
      else this.send(c, st, c.proto === 3 ? '_\r\n' : '$-1\r\n');
    }
    this.table.clear();
    this.totalItems = 0;
  }

  /**
   * The end of applying the current client's write: its invalidations
   * follow its reply, in `w` (the write's reply slot) when that is sent.
   */
  flushPending(w: RespWriter): void {
    const c = this.current;
    if (this.pending.length === 0) return;
    const keys = this.pending.splice(0);
    if (c === undefined) return;
    const st = this.states.get(c.id);
    if (st === undefined) return;
    for (const k of keys) this.send(c, st, k === null ? (c.proto === 3 ? '_\r\n' : '$-1\r\n') : oneKey(k), w.discard ? undefined : w);
  }

  /**
   * Redis's sendTrackingMessage: `body` (the RESP of the keys, or a null)
   * to c or the client it redirects to; `into`: the writer for c's own
   * message when it must follow a reply not yet sent.
   */
  private send(c: EngineClient, st: ClientTracking, body: string, into?: RespWriter): void {
    let target = c;
    let redirected = false;
    if (st.redirect !== 0) {
      const r = this.clients.get(st.redirect);
      if (r === undefined || r.closed) {
        st.brokenRedirect = true;
        if (c.proto === 3) (into ?? c.pushWriter())?.raw(`>2\r\n$21\r\ntracking-redir-broken\r\n:${st.redirect}\r\n`);
        return;
      }
      target = r;
      redirected = true;
      into = undefined;
    }
    let head: string;
    if (target.proto === 3) head = INVALIDATE_PUSH;
    else if (redirected && target.inPubSub) head = INVALIDATE_MESSAGE;
    else return;
    if (into === undefined && this.holdFor?.(target) === true) {
      const h = this.held.get(target);
      if (h === undefined) this.held.set(target, [head + body]);
      else h.push(head + body);
      return;
    }
    (into ?? target.pushWriter())?.raw(head + body);
  }

  /** c's forwarded writes are all answered: the invalidations held for it follow their replies. */
  release(c: EngineClient): void {
    const h = this.held.get(c);
    if (h === undefined) return;
    this.held.delete(c);
    if (c.closed) return;
    const w = c.pushWriter();
    if (w !== undefined) for (const m of h) w.raw(m);
  }

  /** Redis's trackingRememberKeyToBroadcast: the key joins every prefix it starts with, noting its writer. */
  private rememberForBroadcast(key: string): void {
    const by = this.current;
    for (const [prefix, bs] of this.prefixTable) {
      if (prefix.length > key.length || !key.startsWith(prefix)) continue;
      bs.keys.delete(key);
      bs.keys.set(key, by);
    }
    if (!this.broadcastQueued) {
      this.broadcastQueued = true;
      // After the applies of this turn, as Redis broadcasts in beforeSleep.
      process.nextTick(() => this.broadcast());
    }
  }

  /** Redis's trackingBroadcastInvalidationMessages: per prefix (in byte order), the keys written under it to each of its clients. */
  private broadcast(): void {
    this.broadcastQueued = false;
    if (this.states.size === 0) return;
    const prefixes = [...this.prefixTable.keys()].sort(byteOrder);
    for (const p of prefixes) {
      const bs = this.prefixTable.get(p)!;
      if (bs.keys.size === 0) continue;
      const keys = [...bs.keys.keys()].sort(byteOrder);
      const all = keysArray(keys);
      for (const c of bs.clients) {
        const st = this.states.get(c.id);
        if (st === undefined) continue;
        if (st.noloop) {
          const mine = keys.filter((k) => bs.keys.get(k) !== c);
          if (mine.length > 0) this.send(c, st, keysArray(mine));
        } else {
          this.send(c, st, all);
        }
      }
      bs.keys.clear();
    }
  }
}

function keysArray(keys: readonly string[]): string {
  let s = `*${keys.length}\r\n`;
  for (const k of keys) s += `$${k.length}\r\n${k}\r\n`;
  return s;
}
