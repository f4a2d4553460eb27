/**
 * Applies committed log entries to the keyspace. Runs on every replica with
 * the same entries in the same order, so everything here is deterministic:
 * the time comes from the entry, never from the local clock.
 */
import type { CommandTable } from '../table.js';
import { commandKeys } from '../keys.js';
import type { Keyspace } from '../../keyspace/keyspace.js';
import { DISCARD, type RespWriter } from '../../server/resp-writer.js';
import type { Client } from '../../server/client.js';
import type { Stats } from './stats.js';
import { EntryKind, type StateEntry } from './entry.js';

/** Why an entry was never appended (the client may safely retry): no longer leader, or a transfer in progress. */
export type Refusal = 'not-leader' | 'dropped';

/** Who waits for an entry's reply (only on the node the client talks to). */
export interface ApplyTarget {
  w: RespWriter;
  /** The client the entry runs for (SLOWLOG's address and name, MONITOR's line), when there is one. */
  readonly client?: Client;
  /** Runs a connection-level command queued in MULTI (PING, CLIENT SETNAME…) in the client's context. */
  conn(argv: string[], w: RespWriter): void;
  done(): void;
  /** The entry was never appended (leadership lost before it reached the log): safe to retry elsewhere. */
  refuse(reason: Refusal, entry: StateEntry): void;
}

/** Told which keys a write touched (null: all keys), for WATCH. */
export type TouchListener = (keys: readonly string[] | null) => void;

export class StateMachine {
  onTouch: TouchListener | undefined;
  /** INFO commandstats: every applied command counts as a call here (on followers too, as a Redis replica counts what it replays). */
  stats: Stats | undefined;
  /** Whether onTouch wants to hear of writes now (WATCHed or blocked-on keys exist); computing the keys costs an array per write. */
  touchWanted: () => boolean = () => true;

  constructor(
    readonly db: Keyspace,
    private readonly table: CommandTable,
  ) {}

  apply(index: number, entry: StateEntry, target: ApplyTarget | undefined): void {
    const w = target?.w ?? DISCARD;
    if (entry.kind === EntryKind.ExpireKeys) {
      const deleted: string[] = [];
      for (const k of entry.keys) {
        if (this.db.deleteIfExpired(k, entry.time)) deleted.push(k);
      }
      if (deleted.length > 0) this.onTouch?.(deleted);
      return;
    }
    const ctx = { db: this.db, now: entry.time, index, w };
    if (entry.multi) w.arrayHeader(entry.cmds.length);
    for (const argv of entry.cmds) {
      const cmd = this.table.lookup(argv);
      if (cmd?.data) {
        // A blocking pop proposed on its own is counted once, when its client is answered (Blocking).
        const stats = entry.multi || !cmd.isBlocking ? this.stats : undefined;
        // A transaction's commands were shown to MONITOR at EXEC (transaction.ts).
        if (stats !== undefined) stats.runData(cmd, cmd.data, ctx, argv, target?.client, !entry.multi);
        else cmd.data(ctx, argv);
        if (cmd.isWrite && this.onTouch !== undefined && this.touchWanted()) {
          this.onTouch(cmd.touchesAll ? null : commandKeys(cmd.meta, argv));
        }
      } else if (target) {
        target.conn(argv, w);
      }
    }
  }
}
