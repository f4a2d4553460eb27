/**
 * The state machine: applies committed log entries to the keyspace. Runs on
 * every replica with the same entries in the same order, so everything here
 * is deterministic: the time comes from the entry, never from the local
 * clock. The driver (src/node) calls apply() for each committed entry.
 */
import type { Keyspace } from '../../keyspace/keyspace.js';
import type { StateMachine } from '../../node/node.js';
import { DISCARD } from '../../server/resp-writer.js';
import { commandKeys } from '../keys.js';
import type { CommandTable, ReplicatedState } from '../table.js';
import { createLogger } from '../../util/log.js';
import { readAppState, writeAppState } from './app-state.js';
import { callData } from './call.js';
import { EntryKind, decodeStateEntry } from './entry.js';
import { applyEvictions } from './evict.js';
import { waitsForData } from './stream-blocking.js';
import type { Scripts } from './scripts.js';
import type { Stats } from './stats.js';
import type { Write } from './write.js';

const log = createLogger('apply');

/** Told which keys a write touched (null: all keys), for WATCH and blocked pops. */
export interface TouchListener {
  /** Whether it wants to hear of writes now (WATCHed or blocked-on keys exist); computing the keys costs an array per write. */
  wanted(): boolean;
  touched(keys: readonly string[] | null): void;
}

export class Applier implements StateMachine<Write> {
  /** The latest time stamped on an entry this node applied or proposed. */
  private lastTime = 0;

  constructor(
    private readonly db: Keyspace,
    private readonly table: CommandTable,
    /** INFO commandstats: every applied command counts as a call here (on followers too, as a Redis replica counts what it replays). */
    private readonly stats: Stats,
    private readonly touch: TouchListener,
    /** The script cache and VM: state-machine state, kept in snapshots. */
    private readonly scripts: Scripts,
    /** The cluster-wide configuration (CONFIG SET of such parameters is an entry), kept in snapshots. */
    private readonly state: ReplicatedState,
  ) {}

  /** The time stamped on a new entry: the clock, but never before an earlier entry's. */
  entryTime(): number {
    const t = Date.now();
    if (t > this.lastTime) this.lastTime = t;
    return this.lastTime;
  }

  apply(index: number, data: Buffer, mine: Write | undefined): void {
    const entry = mine !== undefined ? mine.entry : decodeStateEntry(data);
    if (entry.time > this.lastTime) this.lastTime = entry.time;
    if (entry.kind === EntryKind.ExpireKeys) {
      const deleted: string[] = [];
      for (const k of entry.keys) {
        if (this.db.deleteIfExpired(k, entry.time)) deleted.push(k);
      }
      if (deleted.length > 0) this.touch.touched(deleted);
      return;
    }
    if (entry.kind === EntryKind.EvictKeys) return applyEvictions(this.db, entry, index, this.state.events, this.touch);
    const w = mine !== undefined ? mine.w : DISCARD;
    const client = mine?.client;
    const ctx = { db: this.db, now: entry.time, index, w, scripts: this.scripts, events: this.state.events };
    if (entry.multi) w.arrayHeader(entry.cmds.length);
    for (const argv of entry.cmds) {
      const cmd = this.table.lookup(argv);
      if (cmd?.data) {
        // A blocking pop proposed on its own is counted once, when its client is answered (Blocking).
        // A transaction's commands were shown to MONITOR at EXEC (transaction.ts).
        if (entry.multi || !cmd.isBlocking || !waitsForData(cmd.name, argv)) callData(this.stats, cmd, cmd.data, ctx, argv, client, !entry.multi);
        else cmd.data(ctx, argv);
        if (cmd.isWrite && this.touch.wanted()) this.touch.touched(cmd.touchesAll ? null : commandKeys(cmd.meta, argv));
      } else if (cmd?.applied !== undefined) {
        cmd.applied(this.state, argv, w);
      } else if (mine !== undefined) {
        mine.conn(argv, w);
      }
    }
  }

  snapshotState(): Buffer {
    return writeAppState(
      new Map([
        ['scripts', this.scripts.snapshotState()],
        ['config', this.state.config.snapshotState()],
      ]),
    );
  }

  restored(state: Buffer): void {
    const sections = readAppState(state);
    this.scripts.restore(sections.get('scripts') ?? Buffer.alloc(0));
    const config = sections.get('config');
    if (config !== undefined) {
      for (const problem of this.state.config.restore(config)) log.warn(`snapshot's cluster-wide config not restored: ${problem}`);
    }
    this.touch.touched(null);
  }
}
