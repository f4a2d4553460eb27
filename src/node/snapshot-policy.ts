/**
 * When and how the driver's state machine meets snapshot files: loading the
 * newest usable one at start, installing the leader's, and taking one when
 * the log since the last has grown enough (or on BGSAVE), then compacting
 * the log behind it. The writing itself is the Snapshotter's
 * (snapshotter.ts); the file format is storage/snapshot-file.ts with the
 * keyspace's records (keyspace/snapshot-records.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ConfState, SnapshotMetadata } from '../raft/index.js';
import type { Databases } from '../keyspace/databases.js';
import type { Value } from '../keyspace/keyspace.js';
import { readSnapshotFile } from '../keyspace/snapshot-records.js';
import { CorruptDataError } from '../storage/errors.js';
import type { RaftStorage } from '../storage/raft-storage.js';
import { listSnapshotFiles, snapshotDir, snapshotFileName, type SnapshotMeta } from '../storage/snapshot-file.js';
import type { Clock } from '../util/clock.js';
import { createLogger } from '../util/log.js';
import type { Membership } from './membership.js';
import { Snapshotter } from './snapshotter.js';

const log = createLogger('node');

export interface SnapshotPolicyOptions {
  dir: string;
  dbs: Databases;
  /** Take a snapshot once this many entries were applied since the last one (0: no entry threshold). */
  entries: number;
  /** …or by Redis's AOF rewrite rule with this minimum size (0: no byte threshold). */
  bytes: number;
  /** Entries kept in the log behind a snapshot, for followers that are only a little behind. */
  keepEntries: number;
  /**
   * The state machine's count of changes so far (Redis's server.dirty),
   * for the save points (savePoints) and INFO rdb_changes_since_last_save;
   * absent: none are counted.
   */
  changes?: () => number;
}

/** A save point (CONFIG SET save): a snapshot once `seconds` have passed and at least `changes` changes were made since the last one. */
export interface SavePoint {
  seconds: number;
  changes: number;
}

/** CONFIG_BGSAVE_RETRY_DELAY: after a failed snapshot, the save points wait this long before trying again. */
const SAVE_RETRY_DELAY_SEC = 5;

/** What the policy reads of the driver when it takes a snapshot. */
export interface SnapshotHost {
  readonly appliedIndex: number;
  readonly confState: ConfState;
  readonly membership: Membership;
  readonly closed: boolean;
  readonly storage: RaftStorage;
  readonly clock: Clock;
  /** The state machine's own state as of now (StateMachine.snapshotState), taken with the keyspace. */
  appState(): Buffer | undefined;
  onFatal(err: Error): void;
}

export class SnapshotPolicy {
  readonly snapshotter: Snapshotter;
  /** Index of the newest snapshot (taken here or installed from the leader). */
  snapshotIndex = 0;
  /** Entry bytes applied since that snapshot. */
  bytesSinceSnapshot = 0;
  /** Size of the newest snapshot file (Redis's AOF base size for its growth rule; INFO aof_base_size). */
  baseBytes = 0;
  /** Redis's save points (CONFIG SET save, per node); empty: only the log-size rule takes snapshots. */
  savePoints: readonly SavePoint[] = [];
  /** changes() as of the newest snapshot (Redis: dirty is reduced by dirty_before_bgsave when a save succeeds). */
  private changesAtSave = 0;
  /** Unix seconds of the last snapshot started by a save point (lastbgsave_try). */
  private lastTry = 0;

  constructor(
    private readonly opts: SnapshotPolicyOptions,
    private readonly host: SnapshotHost,
  ) {
    this.snapshotter = new Snapshotter(opts.dir, opts.dbs);
  }

  /**
   * Loads the newest snapshot file that verifies and that the log continues
   * (the log must hold every entry after it). A damaged file is reported and
   * the next older one tried; with none usable while the log was compacted,
   * the node refuses to start rather than serve wrong data.
   */
  restore(compacted: number): SnapshotMeta | undefined {
    const dbs = this.opts.dbs;
    const problems: string[] = [];
    for (const f of listSnapshotFiles(snapshotDir(this.opts.dir))) {
      if (f.index < compacted) {
        problems.push(`${f.file} is at index ${f.index}, but the log only continues after ${compacted}`);
        continue;
      }
      try {
        const started = Date.now();
        const { meta, records } = readSnapshotFile(f.file, loader(dbs, f.file));
        log.info(`loaded snapshot ${f.file}: index ${meta.index}, ${records} keys in ${Date.now() - started} ms`);
        this.baseBytes = fileSize(f.file);
        this.snapshotIndex = meta.index;
        return meta;
      } catch (e) {
        if (!(e instanceof CorruptDataError)) throw e;
        dbs.flush();
        log.error(`${e.message}; trying an older snapshot`);
        problems.push(e.message);
      }
    }
    if (compacted > 0) {
      throw new CorruptDataError(
        `the raft log in ${this.opts.dir} was compacted up to index ${compacted} and no usable snapshot covers it` +
          (problems.length > 0 ? ` (${problems.join('; ')})` : ' (no snapshot files)') +
          `; this data directory cannot be used: move it away and restart the node empty so the leader sends it a snapshot`,
      );
    }
    return undefined;
  }

  /**
   * Follower: loads the leader's snapshot into the (flushed) keyspace; its
   * file was received and verified before the leader sent MsgSnap. Returns
   * its metadata (members, the state machine's state), or undefined when it
   * cannot be loaded (fatal).
   */
  install(meta: SnapshotMetadata): SnapshotMeta | undefined {
    this.snapshotter.abort();
    const dbs = this.opts.dbs;
    dbs.flush();
    const file = path.join(snapshotDir(this.opts.dir), snapshotFileName(meta.index, meta.term));
    try {
      const started = Date.now();
      const r = readSnapshotFile(file, loader(dbs, file));
      this.baseBytes = fileSize(file);
      this.snapshotIndex = meta.index;
      this.bytesSinceSnapshot = 0;
      // As a Redis replica after a full sync: the data on disk is the data in memory.
      this.changesAtSave = this.changes();
      log.info(`installed the leader's snapshot at index ${meta.index}: ${r.records} keys in ${Date.now() - started} ms`);
      return r.meta;
    } catch (e) {
      this.host.onFatal(new Error(`cannot install the snapshot from the leader: ${(e as Error).message}`, { cause: e }));
      return undefined;
    }
  }

  /** An entry of `bytes` was applied. */
  applied(bytes: number): void {
    this.bytesSinceSnapshot += bytes;
  }

  /**
   * Starts a snapshot when the log since the last one passed a threshold:
   * `entries` entries, or Redis's AOF rewrite rule for bytes
   * (auto-aof-rewrite-min-size / -percentage 100): the log since the last
   * snapshot is at least as big as that snapshot, and the two together at
   * least `bytes`. So a big keyspace is not walked again after every few
   * writes, and a small one is snapshotted every 64 MB of log.
   */
  maybeSnapshot(): void {
    if (this.snapshotter.inProgress || this.host.closed) return;
    const { entries, bytes } = this.opts;
    const since = this.host.appliedIndex - this.snapshotIndex;
    const grown = this.bytesSinceSnapshot;
    if ((entries > 0 && since >= entries) || (bytes > 0 && grown >= this.baseBytes && grown + this.baseBytes >= bytes)) void this.snapshot();
    else if (this.savePoints.length > 0) this.checkSavePoints();
  }

  /** Changes made since the newest snapshot (INFO rdb_changes_since_last_save). */
  get changesSinceSave(): number {
    return this.changes() - this.changesAtSave;
  }

  private changes(): number {
    return this.opts.changes?.() ?? 0;
  }

  /**
   * Redis's save points (serverCron): a snapshot once, for one of them, at
   * least `changes` changes were made since the last snapshot and more than
   * `seconds` have passed since it; after a failed one, not again for 5 s.
   * Called on each apply and by the server's cron (time passes without writes).
   */
  checkSavePoints(): void {
    if (this.savePoints.length === 0 || this.snapshotter.inProgress || this.host.closed) return;
    // Seconds as the Snapshotter stamps lastSaveTime.
    const now = Math.floor(Date.now() / 1000);
    const stats = this.snapshotter.stats;
    if (stats.lastStatus !== 'ok' && now - this.lastTry <= SAVE_RETRY_DELAY_SEC) return;
    const dirty = this.changesSinceSave;
    for (const sp of this.savePoints) {
      if (dirty >= sp.changes && now - stats.lastSaveTime > sp.seconds) {
        log.info(`${sp.changes} changes in ${sp.seconds} seconds. Saving...`);
        this.lastTry = now;
        void this.snapshot();
        return;
      }
    }
  }

  /**
   * Takes a snapshot now (BGSAVE): resolves with its metadata once it is
   * durable and the log before it is compacted; undefined if it failed.
   * Joins the one in progress, if any.
   */
  snapshot(): Promise<SnapshotMeta | undefined> {
    const cur = this.snapshotter.current;
    if (cur !== undefined) return cur;
    const h = this.host;
    const index = h.appliedIndex;
    const changes = this.changes();
    const meta = this.snapshotter.start(index, h.storage.term(index), h.confState, h.membership.list(), h.appState());
    this.bytesSinceSnapshot = 0;
    return meta.then(async (m) => {
      if (m === undefined || h.closed) return m;
      if (m.index > this.snapshotIndex) this.snapshotIndex = m.index;
      if (changes > this.changesAtSave) this.changesAtSave = changes;
      this.baseBytes = this.snapshotter.stats.lastBytes;
      try {
        await h.storage.snapshotTaken(m, this.opts.keepEntries);
      } catch (e) {
        if (!h.closed) h.onFatal(new Error(`cannot compact the raft log: ${(e as Error).message}`, { cause: e }));
      }
      return m;
    });
  }

  /** Takes a snapshot at or past `index` (after the one in progress, if that one is older). */
  async covering(index: number): Promise<void> {
    const cur = this.snapshotter.current;
    if (cur !== undefined) {
      const m = await cur;
      if (m !== undefined && m.index >= index) return;
    }
    // The apply of `index` is finishing: start on the next turn, when appliedIndex includes it.
    await new Promise<void>((r) => this.host.clock.immediate(r));
    if (this.host.closed || this.snapshotter.inProgress) return;
    await this.snapshot();
  }

  async close(): Promise<void> {
    this.snapshotter.abort();
    await this.snapshotter.current;
  }
}

/** Loads a snapshot's keys into their databases; a key of a database this node lacks stops it (--databases differs). */
function loader(dbs: Databases, file: string): (key: string, value: Value, expireAt: number | undefined, db: number) => void {
  return (key, value, expireAt, db) => {
    if (db >= dbs.count) {
      throw new Error(`snapshot ${file} holds keys of database ${db}, but this node has ${dbs.count} databases: every node of a cluster must be started with the same --databases`);
    }
    dbs.get(db).load(key, value, expireAt);
  };
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
