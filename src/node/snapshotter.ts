/**
 * Takes snapshots of the local state machine without stopping the world:
 * opens a copy-on-write epoch on every database at the applied index, walks them
 * a slice at a time between other work (each slice at most 1 ms, then a
 * pause in which the event loop runs clients and Raft), and streams the
 * records to a snapshot file. Also keeps what INFO persistence and LASTSAVE report.
 */
import fsp from 'node:fs/promises';
import type { ConfState } from '../raft/index.js';
import type { Databases } from '../keyspace/databases.js';
import type { Value } from '../keyspace/keyspace.js';
import type { SnapshotEpoch } from '../keyspace/snapshot-epoch.js';
import { writeRecord } from '../keyspace/snapshot-records.js';
import { SnapshotWriter, listSnapshotFiles, snapshotDir, type SnapshotMember, type SnapshotMeta } from '../storage/snapshot-file.js';
import { Histogram, SLOW_BUCKETS_SECONDS } from '../util/histogram.js';
import { createLogger } from '../util/log.js';

const log = createLogger('snapshot');

/** Records per epoch step between clock checks. */
const STEP_RECORDS = 128;
/** Time one slice of the walk may take before the event loop gets a turn. */
const SLICE_MS = 1;
/**
 * Pause after each slice: the walk takes at most SLICE / (SLICE + PAUSE) of
 * the event loop (1/7), so clients keep most of it while a snapshot runs (a
 * million keys under write load take 5-7 s; bench/snapshot.mjs).
 */
const PAUSE_MS = 6;
/** Encoded bytes buffered before a write to the file. */
const FLUSH_BYTES = 1 << 20;
/** Snapshot files kept (the newest, and older ones to fall back to). */
const KEEP_FILES = 2;

export interface SnapshotStats {
  inProgress: boolean;
  /** Unix seconds of the last successful snapshot (or of the start, before any). */
  lastSaveTime: number;
  lastStatus: 'ok' | 'err';
  lastDurationSec: number;
  currentStartedAt: number;
  saves: number;
  /** Keys written by the running snapshot so far. */
  keysProcessed: number;
  lastKeys: number;
  lastBytes: number;
  lastIndex: number;
}

export class Snapshotter {
  readonly stats: SnapshotStats;
  /** Seconds each snapshot written took (the operator's /metrics). */
  readonly durations = new Histogram(SLOW_BUCKETS_SECONDS);
  private running: Promise<SnapshotMeta | undefined> | undefined;
  private epochs: SnapshotEpoch[] | undefined;
  private aborted = false;

  constructor(
    private readonly dataDir: string,
    private readonly dbs: Databases,
  ) {
    this.stats = {
      inProgress: false,
      lastSaveTime: Math.floor(Date.now() / 1000),
      lastStatus: 'ok',
      lastDurationSec: -1,
      currentStartedAt: 0,
      saves: 0,
      keysProcessed: 0,
      lastKeys: 0,
      lastBytes: 0,
      lastIndex: 0,
    };
  }

  get inProgress(): boolean {
    return this.running !== undefined;
  }

  /** The running snapshot, if any. */
  get current(): Promise<SnapshotMeta | undefined> | undefined {
    return this.running;
  }

  /**
   * Starts a snapshot of the keyspace as it is now, which is the state at
   * applied index `index` (the caller calls this between two applies), with
   * the state machine's other state as of the same index (`appState`).
   * Resolves with its metadata once the file is durable, or undefined if it
   * failed or was aborted.
   */
  start(index: number, term: number, confState: ConfState, members: SnapshotMember[], appState?: Buffer): Promise<SnapshotMeta | undefined> {
    if (this.running) throw new Error('a snapshot is already in progress');
    const meta: SnapshotMeta = {
      index,
      term,
      confState: { voters: [...confState.voters], learners: [...confState.learners] },
      members: members.map((m) => ({ ...m })),
      createdAt: Date.now(),
      appState,
    };
    this.aborted = false;
    const epochs = this.dbs.beginSnapshot(index);
    this.epochs = epochs;
    this.stats.inProgress = true;
    this.stats.currentStartedAt = meta.createdAt;
    this.stats.keysProcessed = 0;
    const run = this.write(meta, epochs).finally(() => {
      this.dbs.endSnapshot(epochs);
      this.epochs = undefined;
      this.running = undefined;
      this.stats.inProgress = false;
    });
    this.running = run;
    return run;
  }

  /** Stops the running snapshot (its file is not written); e.g. a snapshot from the leader replaces the keyspace. */
  abort(): void {
    if (this.running) this.aborted = true;
    // The keyspace must not call into the epoch any more, whatever the writer is awaiting.
    if (this.epochs) this.dbs.endSnapshot(this.epochs);
  }

  private async write(meta: SnapshotMeta, epochs: readonly SnapshotEpoch[]): Promise<SnapshotMeta | undefined> {
    const started = Date.now();
    let writer: SnapshotWriter | undefined;
    try {
      writer = await SnapshotWriter.create(this.dataDir, meta);
      const w = writer;
      // Each database's epoch writes its keys with its number (an epoch stays
      // with its maps when SWAPDB moves them: it describes the database as of the index).
      const emits = epochs.map((epoch, db) => {
        const emit = (key: string, value: Value, at: number | undefined): void => writeRecord(w, key, value, at, db);
        epoch.sink = emit;
        return emit;
      });
      let current = 0;
      let before = 0;
      for (;;) {
        if (this.aborted) throw new AbortedError();
        const sliceEnd = performance.now() + SLICE_MS;
        let done = false;
        while (!done && performance.now() < sliceEnd && w.buffered < FLUSH_BYTES) {
          if (!epochs[current]!.step(STEP_RECORDS, emits[current]!)) continue;
          before += epochs[current]!.emitted;
          if (++current === epochs.length) done = true;
        }
        this.stats.keysProcessed = before + (current < epochs.length ? epochs[current]!.emitted : 0);
        if (done) break;
        if (w.buffered >= FLUSH_BYTES) await w.flush();
        await new Promise<void>((r) => setTimeout(r, PAUSE_MS));
      }
      if (this.aborted) throw new AbortedError();
      const bytes = await w.finish();
      const secs = (Date.now() - started) / 1000;
      this.durations.observe(secs);
      log.info(`snapshot at index ${meta.index} written: ${w.records} keys, ${bytes} bytes in ${secs.toFixed(2)} s`);
      await this.removeOldFiles();
      // Counted as saved in the same turn as the caller resets its change count
      // (microtasks of this return), so INFO never shows one without the other.
      Object.assign(this.stats, {
        lastSaveTime: Math.floor(Date.now() / 1000),
        lastStatus: 'ok',
        lastDurationSec: Math.round(secs),
        saves: this.stats.saves + 1,
        lastKeys: w.records,
        lastBytes: bytes,
        lastIndex: meta.index,
      });
      return meta;
    } catch (e) {
      await writer?.abort();
      if (e instanceof AbortedError) {
        log.info(`snapshot at index ${meta.index} abandoned`);
        return undefined;
      }
      this.stats.lastStatus = 'err';
      log.error(`snapshot at index ${meta.index} failed: ${(e as Error).message}; the log is kept until a snapshot succeeds`);
      return undefined;
    }
  }

  private async removeOldFiles(): Promise<void> {
    const files = listSnapshotFiles(snapshotDir(this.dataDir));
    for (const f of files.slice(KEEP_FILES)) {
      await fsp.rm(f.file, { force: true }).catch((e: Error) => log.warn(`cannot remove old snapshot ${f.file}: ${e.message}`));
    }
  }
}

class AbortedError extends Error {}
