import type { Databases } from '../keyspace/databases.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { RespWriter } from '../server/resp-writer.js';
import type { Scripts } from './engine/scripts.js';
import type { KeyspaceEvents } from './notify.js';

/**
 * What a keyspace command runs against. For a read, `now` is the local clock
 * and `index` is 0. For a write, the handler runs when its log entry is
 * applied, on every replica: `now` is the time the leader stamped on the
 * entry and `index` its log index, so the outcome is the same everywhere.
 */
export interface Ctx {
  /** The database the command acts on: the client's SELECTed one (dbs.get(dbIndex)). */
  db: Keyspace;
  /** db's number (SELECT's argument): for MONITOR, keyspace notifications, MOVE's and SWAPDB's checks. */
  dbIndex: number;
  /** Every database (MOVE, SWAPDB, COPY … DB, FLUSHALL). */
  dbs: Databases;
  /**
   * Told of keys a write changed in a database other than db (MOVE, COPY …
   * DB), for WATCH and blocked pops. Absent where nobody listens (reads).
   */
  touchDb?: (db: number, keys: readonly string[]) => void;
  /**
   * Told, before it happens, that database `db` is about to be emptied
   * (FLUSHDB, FLUSHALL) or to get the contents of database `replacedWith`
   * (SWAPDB), for WATCH (Redis's touchAllWatchedKeysInDb looks at the keys
   * before the change) and blocked pops. Absent where nobody listens.
   */
  flushingDb?: (db: number, replacedWith?: number) => void;
  now: number;
  index: number;
  w: RespWriter;
  /**
   * The entry's random source, created on first use by entryRandom()
   * (random.ts): seeded from (index, now), so every replica draws the same
   * numbers. Commands of one MULTI entry share it and draw in turn.
   */
  rand?: () => number;
  /** Lua scripting (the script cache and the VM): set where scripts may run (applies and reads of a node). */
  scripts?: Scripts;
  /** Keyspace notifications (notify.ts): set where writes are applied. */
  events?: KeyspaceEvents;
  /** Set for a command a script runs (redis.call): XREAD/XREADGROUP refuse BLOCK there, as Redis's CLIENT_SCRIPT check. */
  inScript?: boolean;
  /**
   * Where a command flagged `signalsItself` (CommandDef: the stream
   * commands) reports its own key changes, only where Redis's t_stream.c
   * does: signalModifiedKey (WATCH, client tracking) and signalKeyAsReady
   * (blocked readers). Set where writes are applied.
   */
  signal?: KeySignals;
  /**
   * Set when the entry serves a parked XREADGROUP (engine/stream-blocking.ts):
   * the stream's last ID when the leader found it ready. The command then
   * answers as Redis's serveClientsBlockedOnStreamKey: the entries after the
   * group's last ID up to this one, even none, if this ID is above the
   * group's; else the null array (it stays parked).
   */
  unblock?: string;
  /**
   * Set when the entry is a parked blocking pop proposed again because its
   * keys got data (Redis's serveClientsBlockedOnKeys rather than the command
   * itself): BLPOP, BRPOP, BLMOVE and BRPOPLPUSH served so add nothing to server.dirty.
   */
  served?: boolean;
  /**
   * What the write has added to Redis's server.dirty (dirty.ts), set to 0
   * where writes are applied; summed into the node's count of changes.
   */
  dirty?: number;
  /** The ACL user running the command, when it may not run everything: a script's redis.call is checked against it. */
  user?: string;
}

/** Ctx.signal: a command's own report of a key it changed (database ctx.dbIndex). */
export interface KeySignals {
  /** signalModifiedKey: WATCH and client tracking. */
  modified(db: number, key: string): void;
  /** signalKeyAsReady: blocked readers look at the key again. */
  ready(db: number, key: string): void;
}

/**
 * A keyspace command. It validates its own arguments and writes exactly one
 * reply (possibly an error) to ctx.w. It must be deterministic in
 * (db, now, argv): no Math.random, no Date.now.
 * argv[0] is the command name as the client sent it; all strings are latin1.
 */
export type DataHandler = (ctx: Ctx, argv: string[]) => void;

/**
 * For a write that often changes nothing (PFADD of elements already
 * counted, SADD of members already there, GEOADD of members already at
 * those places): true when the write, run now on ctx.db as it is, would
 * change nothing and reply the integer 0. It reads only, writes no reply,
 * and answers false whenever it cannot tell (a missing key, another type,
 * a bad argument: the write itself says what happens). Redis neither
 * propagates nor persists such a call; raftis answers it as a read
 * (Dispatcher.answeredUnchanged) instead of a log entry.
 */
export type UnchangedCheck = (ctx: Ctx, argv: string[]) => boolean;

/** The parts of COMMAND INFO that drive dispatch (from the generated table). */
export interface CommandMeta {
  /** Lower-case name; "container|sub" for subcommands. */
  name: string;
  arity: number;
  flags: ReadonlySet<string>;
  firstKey: number;
  lastKey: number;
  step: number;
  /** COMMAND INFO's key specifications, in order (src/commands/keys.ts). */
  keySpecs: readonly KeySpec[];
  /**
   * first/last/step name exactly the keys the specs find: no "movablekeys"
   * flag and no spec flagged not_key (SSUBSCRIBE's channels).
   */
  rangeKeys: boolean;
}

/**
 * One COMMAND INFO key specification: where the search for keys begins (an
 * argument index; raftis's commands use no keyword search) and how keys
 * are found from there, with the flags those keys carry (RW, OW, access…,
 * in Redis's order).
 */
export interface KeySpec {
  flags: readonly string[];
  /** Where the search begins: an argument index, or none Redis can describe ("unknown": SORT's STORE key). */
  index: number | 'unknown';
  /**
   * A search that begins after a keyword (GEORADIUS's STORE and STOREDIST):
   * the key follows the first argument equal to it (case-insensitive), looked
   * for from `startFrom` (from the end when negative); `index` is then 0.
   */
  keyword?: { keyword: string; startFrom: number };
  find:
    | { type: 'range'; lastKey: number; keyStep: number; limit: number }
    | { type: 'keynum'; keyNumIdx: number; firstKey: number; keyStep: number }
    | { type: 'unknown' };
}
