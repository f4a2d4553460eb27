/**
 * The state machine: applies committed log entries to the keyspace. Runs on
 * every replica with the same entries in the same order, so everything here
 * is deterministic: the time comes from the entry, never from the local
 * clock. The driver (src/node) calls apply() for each committed entry.
 */
import type { Databases } from '../../keyspace/databases.js';
import type { StateMachine } from '../../node/node.js';
import { DISCARD } from '../../server/resp-writer.js';
import { commandKeys } from '../keys.js';
import { keyHashSlot } from '../routing.js';
import { NO_GROUP } from '../../util/slot-map.js';
import type { CommandDef, CommandTable, ReplicatedState } from '../table.js';
import { createLogger } from '../../util/log.js';
import { readAppState, writeAppState } from './app-state.js';
import { callData, calledFromEntry, startTime } from './call.js';
import { parseDbIndex } from '../db-index.js';
import type { Ctx, KeySignals } from '../types.js';
import { EntryKind, NOPERM_IN_EXEC, decodeStateEntry, plainSetAt, plainSetOf, PLAIN_SET } from './entry.js';
import { applyEvictions } from './evict.js';
import { waitsForData } from './stream-blocking.js';
import type { Scripts } from './scripts.js';
import type { Stats } from './stats.js';
import type { Tracking } from './tracking.js';
import type { Write } from './write.js';

const log = createLogger('apply');

/** Told which keys a write touched in which database (keys null: all keys; db -1: every database), for WATCH and blocked pops. */
export interface TouchListener {
  /** Whether it wants to hear of writes now (WATCHed or blocked-on keys exist); computing the keys costs an array per write. */
  wanted(): boolean;
  touched(db: number, keys: readonly string[] | null): void;
  /** Database db is about to be emptied, or to get database replacedWith's contents (Ctx.flushingDb). */
  flushing(db: number, replacedWith: number | undefined): void;
  /** What a command flagged signalsItself reports (Ctx.signal): signalModifiedKey only (WATCH, tracking). */
  modified(db: number, keys: readonly string[]): void;
  /** … and signalKeyAsReady only (blocked readers). */
  ready(db: number, key: string): void;
  /** An entry has been applied: blocked stream readers are served from the state it left, as Redis serves them after each command. */
  entryApplied(): void;
}

export class Applier implements StateMachine<Write> {
  /** The latest time stamped on an entry this node applied or proposed. */
  private lastTime = 0;
  /** Client-side caching: told whose write is applied (NOLOOP, invalidations after its reply) and the reads in its transactions. */
  tracking: Tracking | undefined;
  /** Redis's server.dirty: what the applied writes changed, as each Redis command counts it (dirty.ts), for the save points and INFO. */
  changes = 0;

  constructor(
    private readonly dbs: Databases,
    private readonly table: CommandTable,
    /** INFO commandstats: every applied command counts as a call here (on followers too, as a Redis replica counts what it replays). */
    private readonly stats: Stats,
    private readonly touch: TouchListener,
    /** The script cache and VM: state-machine state, kept in snapshots. */
    private readonly scripts: Scripts,
    /** The cluster-wide configuration (CONFIG SET of such parameters is an entry), kept in snapshots. */
    private readonly state: ReplicatedState,
  ) {
    // Keys a shard move deletes (SHIPPED) or creates (IMPORT) touch WATCH as any write.
    state.shards.touched = (db, keys) => {
      if (this.touch.wanted()) this.touch.touched(db, keys);
    };
  }

  /** The time stamped on a new entry: the clock, but never before an earlier entry's. */
  entryTime(): number {
    const t = Date.now();
    if (t > this.lastTime) this.lastTime = t;
    return this.lastTime;
  }

  /** Keys a write changed in a database other than its own (MOVE, COPY … DB): Ctx.touchDb. */
  private readonly touchDb = (db: number, keys: readonly string[]): void => {
    if (this.touch.wanted()) this.touch.touched(db, keys);
  };

  /** Ctx.signal: the stream commands' own signalModifiedKey / signalKeyAsReady. */
  private readonly signal: KeySignals = {
    modified: (db, key) => {
      if (this.touch.wanted()) this.touch.modified(db, [key]);
    },
    ready: (db, key) => {
      if (this.touch.wanted()) this.touch.ready(db, key);
    },
  };

  /** FLUSHDB, FLUSHALL, SWAPDB, before they change a database: Ctx.flushingDb. */
  private readonly flushingDb = (db: number, replacedWith?: number): void => {
    if (this.touch.wanted()) this.touch.flushing(db, replacedWith);
  };

  /** The rest of an entry whose script is paused (apply answered true): run when the script ends. */
  private pendingTail: (() => void) | undefined;

  busy(): boolean {
    return this.scripts.busy !== undefined;
  }

  continueApply(): boolean {
    if (!this.scripts.resumeBusy()) return false;
    const tail = this.pendingTail;
    this.pendingTail = undefined;
    tail?.();
    return true;
  }

  /** A committed entry queued behind the paused one: a KillScript / ProceedScript entry may decide the paused script's fate. */
  committedAhead(_index: number, data: Buffer): void {
    const kind = data[0];
    if (kind !== EntryKind.KillScript && kind !== EntryKind.ProceedScript) return;
    const e = decodeStateEntry(data);
    if (e.kind !== EntryKind.Commands) this.scripts.decide(Number(e.keys[0]), kind === EntryKind.KillScript);
  }

  apply(index: number, data: Buffer, mine: Write | undefined): boolean | void {
    // A plain SET: its proposer made it from bytes (read in its slab), or any other node's or build's entry (copied, then read).
    const made = mine?.plainView;
    if ((made !== undefined ? plainSetAt(made, mine!.plainAt, data.length) : plainSetOf(data)) && this.applyPlainSet(data, mine)) return;
    const entry = mine !== undefined ? mine.entry : decodeStateEntry(data);
    if (entry.time > this.lastTime) this.lastTime = entry.time;
    const dbIndex = entry.db ?? 0;
    if (dbIndex >= this.dbs.count) {
      // Applying it elsewhere would make this replica differ from the others: stop instead.
      throw new Error(
        `the log entry at index ${index} is for database ${dbIndex}, but this node has ${this.dbs.count} databases: ` +
          'every node of a cluster must be started with the same --databases',
      );
    }
    const db = this.dbs.get(dbIndex);
    if (entry.kind === EntryKind.ExpireKeys) {
      const deleted: string[] = [];
      for (const k of entry.keys) {
        if (db.deleteIfExpired(k, entry.time)) deleted.push(k);
      }
      if (deleted.length > 0) {
        this.touch.touched(dbIndex, deleted);
        this.touch.entryApplied();
      }
      return;
    }
    if (entry.kind === EntryKind.CacheScripts) {
      for (const body of entry.keys) this.scripts.cacheBody(body);
      return;
    }
    if (entry.kind !== EntryKind.Commands && entry.kind !== EntryKind.EvictKeys) {
      // KillScript / ProceedScript: its script's entry is applied already (log order); seen ahead if it mattered (committedAhead).
      this.scripts.decisionApplied(Number(entry.keys[0]));
      return;
    }
    if (entry.kind === EntryKind.EvictKeys) {
      applyEvictions(this.dbs, dbIndex, entry, index, this.state.events, this.touch);
      return this.touch.entryApplied();
    }
    const w = mine !== undefined ? mine.w : DISCARD;
    const client = mine?.client;
    // Sharding: a write to a slot this group does not serve at this log position (released, or not
    // adopted yet) is refused whole, with no effect, on every replica (shard-state.ts).
    if (this.state.shards.sharded) {
      const refused = this.shardRefusal(entry.cmds, dbIndex);
      if (refused !== undefined) {
        w.error(refused);
        return this.touch.entryApplied();
      }
      this.state.shards.now = entry.time;
    }
    this.scripts.appliedStandalone = entry.standalone === true;
    const ctx: Ctx = {
      db,
      dbIndex,
      dbs: this.dbs,
      now: entry.time,
      index,
      w,
      scripts: this.scripts,
      touchDb: this.touchDb,
      flushingDb: this.flushingDb,
      events: this.state.events,
      signal: this.signal,
      unblock: entry.unblock,
      served: entry.served === true,
      dirty: 0,
      user: entry.user,
    };
    const tracking = client !== undefined && this.tracking?.wanted === true ? this.tracking : undefined;
    if (tracking !== undefined) tracking.current = client;
    if (entry.multi) w.arrayHeader(entry.cmds.length);
    this.scripts.oomAtStart = entry.oom === true;
    // A script alone in its entry may pause (its entry applied over several turns of the event loop, see continueApply).
    const pausable = !entry.multi && entry.cmds.length === 1;
    for (const argv of entry.cmds) {
      if (argv[0] === NOPERM_IN_EXEC) {
        w.error(argv[1]!);
        continue;
      }
      const cmd = this.table.lookup(argv);
      if (cmd?.data) {
        // A blocking pop proposed on its own is counted once, when its client is answered (Blocking).
        // A transaction's commands were shown to MONITOR at EXEC (transaction.ts).
        if (pausable && cmd.isScriptCall) {
          this.scripts.pausable = true;
          this.scripts.pausableClient = client;
        }
        if (entry.multi || !cmd.isBlocking || !waitsForData(cmd.name, argv)) callData(this.stats, cmd, cmd.data, ctx, argv, client, !entry.multi);
        else cmd.data(ctx, argv);
        // FLUSHALL and FLUSHDB told the listener themselves, before the flush (ctx.flushingDb); the stream commands through ctx.signal.
        if (cmd.isWrite && !cmd.touchesAll && !cmd.signalsItself && this.touch.wanted()) this.touch.touched(ctx.dbIndex, commandKeys(cmd.meta, argv));
        // Reads in a transaction, and reads raftis runs through the log (PFCOUNT), are tracked for the client.
        if (tracking !== undefined) tracking.read(client!, cmd, argv);
      } else if (cmd?.applied !== undefined) {
        cmd.applied(this.state, argv, w);
      } else if (cmd?.name === 'select') {
        // SELECT inside MULTI: the commands after it run in the database it
        // selects, on every replica. (The client's own SELECTed database was
        // set when EXEC proposed the entry: transaction.ts.)
        const i = parseDbIndex(argv[1]!, this.dbs.count);
        if (typeof i === 'string') {
          w.error(i);
        } else {
          ctx.db = this.dbs.get(i);
          ctx.dbIndex = i;
          w.ok();
        }
        if (mine !== undefined) cmd.stats.calls++;
      } else if (mine !== undefined) {
        mine.conn(argv, w);
      }
    }
    this.scripts.pausable = false;
    this.scripts.oomAtStart = false;
    const tail = (): void => {
      this.changes += ctx.dirty!;
      if (tracking !== undefined) {
        tracking.flushPending(w);
        tracking.current = undefined;
      }
      this.touch.entryApplied();
    };
    if (this.scripts.busy !== undefined) {
      this.pendingTail = tail;
      return true;
    }
    tail();
  }

  /** SET's definition (the table does not change after it is built), looked up once. */
  private setDef: CommandDef | undefined | null = null;

  /**
   * The entry plainSetOf just read (SET key value, alone, no options)
   * applied from its bytes, without decoding it into strings, on the leader
   * and on followers alike: what apply and SET's handler would do, where
   * nothing needs the strings — no sharding (its refusal hashes the key), no
   * WATCH or blocked clients (touch.wanted: they are told the key), no
   * client-side caching for the client, no keyspace events, no MONITOR
   * (SLOWLOG gets the arguments made from the entry when it keeps the call),
   * plus the keyspace's own conditions (Keyspace.replaceFromBytes). Answers
   * false, having changed nothing, when any is not so: the entry is applied
   * the usual way.
   */
  private applyPlainSet(data: Buffer, mine: Write | undefined): boolean {
    let def = this.setDef;
    if (def === null) def = this.setDef = this.table.lookup(['set']);
    const dbIndex = PLAIN_SET.db;
    if (def === undefined || dbIndex >= this.dbs.count) return false;
    const stats = this.stats;
    if (this.state.shards.sharded || this.state.events.flags !== 0 || stats.monitors.size !== 0 || this.touch.wanted()) return false;
    const client = mine?.client;
    if (client !== undefined && this.tracking?.wanted === true) return false;
    const started = startTime(stats, def);
    if (!this.dbs.get(dbIndex).replaceFromBytes(PLAIN_SET.view, PLAIN_SET.keyStart, PLAIN_SET.keyLength, PLAIN_SET.valueStart, PLAIN_SET.valueLength)) return false;
    const time = PLAIN_SET.time;
    if (time > this.lastTime) this.lastTime = time;
    this.scripts.appliedStandalone = PLAIN_SET.standalone;
    // SET's server.dirty (dirty.ts).
    this.changes++;
    (mine !== undefined ? mine.w : DISCARD).ok();
    // SLOWLOG keeps the arguments of a slow call: made from the entry then.
    calledFromEntry(stats, def, data, client, started);
    this.touch.entryApplied();
    return true;
  }

  /**
   * Sharding's refusal of a whole entry, if any: MOVED (or TRYAGAIN) for a
   * slot this group neither serves nor imports at this log position; for a
   * slot moving away, Redis's MIGRATING rule on the entry's keys together
   * (ShardState.movingCheck: ASK when none is here, TRYAGAIN when some are or
   * a written one is being shipped).
   */
  private shardRefusal(cmds: readonly string[][], dbIndex: number): string | undefined {
    const shards = this.state.shards;
    let moving: string[] | undefined;
    let writes: boolean[] | undefined;
    for (const argv of cmds) {
      const cmd = this.table.lookup(argv);
      if (cmd?.data === undefined) continue;
      for (const k of commandKeys(cmd.meta, argv)) {
        const slot = keyHashSlot(k);
        if (!shards.accepts(slot)) return shards.redirect(slot);
        if (shards.movingTo(slot) !== NO_GROUP) {
          (moving ??= []).push(k);
          // A script (EVAL, FCALL: logged, not flagged write) may write its keys: it counts as a write.
          (writes ??= []).push(cmd.logged);
        }
      }
    }
    return moving === undefined ? undefined : shards.movingCheck(dbIndex, moving, writes!);
  }

  snapshotState(): Buffer {
    const sections = new Map([
      ['scripts', this.scripts.snapshotState()],
      ['config', this.state.config.snapshotState()],
      ['acl', this.state.acl.snapshotState()],
    ]);
    // Only in a sharded cluster: a single group's snapshots stay as they were.
    if (this.state.shards.sharded) sections.set('shards', this.state.shards.snapshotState());
    return writeAppState(sections);
  }

  restored(state: Buffer): void {
    const sections = readAppState(state);
    this.scripts.forgetDecisions();
    this.scripts.restore(sections.get('scripts') ?? Buffer.alloc(0));
    const config = sections.get('config');
    if (config !== undefined) {
      for (const problem of this.state.config.restore(config)) log.warn(`snapshot's cluster-wide config not restored: ${problem}`);
    }
    const acl = sections.get('acl');
    if (acl !== undefined) {
      const problem = this.state.acl.restore(acl);
      if (problem !== undefined) log.warn(`snapshot's ACL users not restored: ${problem}`);
    }
    const shards = sections.get('shards');
    if (shards === undefined) this.state.shards.reset();
    else {
      const problem = this.state.shards.restore(shards);
      if (problem !== undefined) log.warn(`snapshot's slot map not restored: ${problem}`);
    }
    this.touch.touched(-1, null);
  }
}
