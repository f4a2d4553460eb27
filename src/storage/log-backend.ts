/**
 * LogBackend: the durable Raft log and hard state of one node, as
 * RaftStorage (raft-storage.ts) uses them. RaftStorage keeps the Raft core's
 * view (a tail in memory, the Storage interface the core reads); a backend
 * keeps the bytes on disk and makes them durable.
 *
 * Implementations:
 *   - WalLog (wal/wal-log.ts): the product's; the log in segment files of
 *     raftis's own (docs/log-format.md), members in classic-level;
 *   - LogStore (log-store.ts): the log in classic-level (LevelDB), the
 *     product's up to format 2, kept to read such a log when migrating it;
 *   - the in-memory fake of the driver harness (test/harness/driver/), whose
 *     writes complete, fail or tear when a test says so.
 *
 * What RaftStorage relies on, method by method. "Durable" means: survives a
 * crash of the process and of the machine (an fsync, or its equivalent,
 * completed), unless the caller asked for no sync.
 *
 * Ordering. RaftStorage never has two write() calls in flight (it awaits
 * each), and never two compact() or replaceWithSnapshot() calls in flight.
 * A compact() may overlap a write(): the driver compacts behind a snapshot
 * of applied (hence committed) entries while it writes new ones; compact's
 * index is below any index that write replaces (committed entries are never
 * replaced), and neither may lose the other's effect. putMembers() may
 * overlap anything.
 *
 * Crashes. A write() that had not resolved when the process died may have
 * left nothing, or (a backend whose write is not one atomic batch) its
 * truncation and a prefix of its entries, in order, never a later entry
 * without the earlier ones. Its hard state may survive only together with
 * all of its entries (a commit index past the last entry on disk would make
 * the log unusable). A compact() or replaceWithSnapshot() interrupted by a
 * crash must leave a log that load() reads as either before or after it
 * (see each method). LogStore's write is one LevelDB batch: all or nothing;
 * WalLog's is one append of whole records, of which a crash keeps a prefix.
 */

export interface StoredEntry {
  index: number;
  term: number;
  type: number;
  data: Buffer;
}

export interface StoredHardState {
  term: number;
  vote: number;
  commit: number;
}

/** A cluster member with its client and peer addresses (the one shape used for members everywhere). */
export interface StoredMember {
  id: number;
  host: string;
  port: number;
  clusterPort: number;
}

export interface LogBackend {
  /** Where the log lives, for error messages (the node's data directory). */
  readonly dir: string;

  /** The last hard state written ({0, 0, 0} before the first). */
  hardState(): Promise<StoredHardState>;

  /** Index and term of the last entry compacted away ({0, 0}: none). */
  compacted(): Promise<{ index: number; term: number }>;

  /** The membership record last written (undefined before the first). */
  members(): Promise<StoredMember[] | undefined>;

  /** Writes the membership record, durably before resolving. */
  putMembers(list: readonly StoredMember[]): Promise<void>;

  /**
   * The stored entries with lo <= index < hi (hi omitted: to the end), in
   * index order, none at or before the compaction point. Read once, at open,
   * before any write: RaftStorage checks that they continue the compaction
   * point without a gap. A backend throws CorruptDataError when what it
   * holds does not decode or is not contiguous.
   */
  entries(lo?: number, hi?: number): AsyncIterable<StoredEntry>;

  /**
   * One stored entry, synchronously (the Raft core's Storage interface is
   * synchronous; RaftStorage keeps only a recent tail in memory and reads
   * older entries here, e.g. for a follower catching up). Undefined when
   * the index is compacted or past the end. Reflects every write and
   * compaction that has resolved; while a write is in flight, an index that
   * write replaces may read as its old or its new entry, every other index
   * as before. The entry's data may be a view of the backend's buffers: the
   * caller copies it to keep it.
   */
  entrySync(index: number): StoredEntry | undefined;

  /**
   * Writes `entries` (consecutive, ascending) and the hard state, if given,
   * as one write; resolves once it is durable (when `sync`; without sync,
   * once it is handed to the OS: --unsafe-no-fsync).
   *
   * Truncation: stored entries at index >= truncateFrom, and at index >=
   * entries[0].index, are replaced (Raft's conflicting suffix). The entries
   * must continue the log after that cut: a gap is refused (throws).
   *
   * On rejection nothing the caller can rely on was written, and the node
   * cannot go on (the driver reports a fatal error). See Crashes above for
   * a write interrupted by a crash. Writes may be empty (only a hard state).
   */
  write(entries: readonly StoredEntry[], hardState?: StoredHardState, truncateFrom?: number, sync?: boolean): Promise<void>;

  /**
   * True when write() does all its work (the write and its fdatasync) on
   * the calling thread before it returns, so that its promise settles
   * within the same turn of the event loop, before any timer or immediate:
   * WalLog with its default `io: 'main'`. Absent: false (the thread pool,
   * the harness's held writes).
   */
  readonly writesInline?: boolean;

  /**
   * Removes entries up to and including `index` (a snapshot at `index` or
   * later covers them); `term` is the term of the entry at `index`, kept as
   * the compaction point. Durable before resolving. Entries after `index`
   * stay readable throughout. Interrupted by a crash: the log reopens with
   * the old or the new compaction point; entries at or before the point
   * that remain are never read back (entries() and entrySync() hide them).
   */
  compact(index: number, term: number): Promise<void>;

  /**
   * A snapshot from the leader replaces the whole log: no entries, the
   * compaction point at (index, term), and `hardState`, durably before
   * resolving. The snapshot file is durable before this is called, so a
   * crash in the middle may leave the old entries gone while the old
   * compaction point and hard state remain (the node restarts from the file
   * and its log begins after it: RaftStorage.restoredFrom); never the new
   * compaction point with old entries still readable after it.
   */
  replaceWithSnapshot(index: number, term: number, hardState: StoredHardState): Promise<void>;

  /** Closes the log; no call follows. */
  close(): Promise<void>;
}
