/**
 * The product's LogBackend (log-backend.ts): the Raft log, its hard state
 * and compaction point in segment files under `<dir>/wal` (SegmentLog,
 * docs/log-format.md), the members and the format record in classic-level
 * under `<dir>/raft-log` (NodeState). Opening it migrates a log that
 * LogStore kept in LevelDB (migrate.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptDataError } from '../errors.js';
import type { LogBackend, StoredEntry, StoredHardState, StoredMember } from '../log-backend.js';
import { migrateLogStore } from './migrate.js';
import { NodeState, WAL_FORMAT } from './node-state.js';
import { SegmentLog, type WalOptions } from './segment-log.js';
import { fsyncDir } from './segment.js';

export type { WalOptions } from './segment-log.js';

export class WalLog implements LogBackend {
  private constructor(
    readonly log: SegmentLog,
    private readonly state: NodeState,
    readonly dir: string,
  ) {}

  /** Opens (creating or migrating as needed) the log of the node whose data directory is `dir`. */
  static async open(dir: string, opts: WalOptions = {}): Promise<WalLog> {
    const walDir = path.join(dir, 'wal');
    let state = await NodeState.open(dir);
    try {
      let format = await state.format();
      if (format === 1 || format === 2) {
        await state.close();
        await migrateLogStore(dir, walDir, opts);
        state = await NodeState.open(dir);
        await state.setWalFormat();
        format = WAL_FORMAT;
      } else if (format === undefined) {
        await WalLog.initialize(dir, walDir, opts);
        await state.setWalFormat();
        format = WAL_FORMAT;
      } else if (format !== WAL_FORMAT) {
        throw new CorruptDataError(`raft log in ${dir} has an unknown format (${format}); it was not written by this raftis version`);
      } else {
        if (!fs.existsSync(walDir)) {
          throw new CorruptDataError(
            `raft log in ${dir} is missing: ${walDir} does not exist, though ${path.join(dir, 'raft-log')} says the log lives there. ` +
              'Restore it from a backup, or remove this node\'s data directory and let it rejoin the cluster',
          );
        }
        fs.rmSync(`${walDir}.tmp`, { recursive: true, force: true });
        await state.dropOldLog();
      }
      return new WalLog(SegmentLog.open(walDir, dir, opts), state, dir);
    } catch (e) {
      await state.close().catch(() => {});
      throw e;
    }
  }

  /**
   * A new directory (no format record): an empty log is created durably
   * before the format record says it exists. A `wal` left by a first start
   * that a crash interrupted holds nothing and is used as it is; one that
   * holds a log is not this directory's to discard.
   */
  private static async initialize(dir: string, walDir: string, opts: WalOptions): Promise<void> {
    fs.rmSync(`${walDir}.tmp`, { recursive: true, force: true });
    const existed = fs.existsSync(walDir);
    const log = SegmentLog.open(walDir, dir, opts);
    const blank = log.isBlank();
    await log.close();
    if (!blank) {
      throw new CorruptDataError(
        `${walDir} holds a raft log, but ${path.join(dir, 'raft-log')} has no record of it (was it deleted?); ` +
          `restore ${path.join(dir, 'raft-log')} from a backup, or remove the whole data directory ${dir} to start this node afresh`,
      );
    }
    if (!existed) fsyncDir(dir);
  }

  hardState(): Promise<StoredHardState> {
    return this.log.hardState();
  }

  compacted(): Promise<{ index: number; term: number }> {
    return this.log.compacted();
  }

  members(): Promise<StoredMember[] | undefined> {
    return this.state.members();
  }

  putMembers(list: readonly StoredMember[]): Promise<void> {
    return this.state.putMembers(list);
  }

  entries(lo?: number, hi?: number): AsyncIterable<StoredEntry> {
    return this.log.entries(lo, hi);
  }

  entrySync(index: number): StoredEntry | undefined {
    return this.log.entrySync(index);
  }

  write(entries: readonly StoredEntry[], hardState?: StoredHardState, truncateFrom?: number, sync?: boolean): Promise<void> {
    return this.log.write(entries, hardState, truncateFrom, sync);
  }

  get writesInline(): boolean {
    return this.log.writesInline;
  }

  compact(index: number, term: number): Promise<void> {
    return this.log.compact(index, term);
  }

  replaceWithSnapshot(index: number, term: number, hardState: StoredHardState): Promise<void> {
    return this.log.replaceWithSnapshot(index, term, hardState);
  }

  lastIndex(): Promise<number> {
    return this.log.lastIndex();
  }

  async close(): Promise<void> {
    try {
      await this.log.close();
    } finally {
      await this.state.close();
    }
  }
}
