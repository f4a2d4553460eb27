/**
 * The Raft log as the core reads it (its synchronous Storage interface) and
 * as the disk keeps it (a LogBackend: segment files through WalLog in the
 * product, wal/wal-log.ts; see log-backend.ts for what a backend guarantees).
 *
 * Only a recent tail of the log stays in memory; older entries are read back
 * from the backend when needed (a follower catching up), with entrySync. Keeping
 * the whole log in memory would cost several times the keyspace itself.
 * The driver persists each Ready here: the write reaches the disk first,
 * then the tail, as the Ready contract requires.
 */
import {
  CompactedError,
  UnavailableError,
  EMPTY_BUFFER,
  emptySnapshot,
  entrySize,
  type ConfState,
  type Entry,
  type HardState,
  type InitialState,
  type Ready,
  type Snapshot,
  type SnapshotMetadata,
  type Storage,
} from '../raft/index.js';
import { CorruptDataError } from './errors.js';
import type { LogBackend, StoredMember } from './log-backend.js';
import { WalLog } from './wal/wal-log.js';
import { Histogram, LATENCY_BUCKETS_SECONDS, monotonicSeconds } from '../util/histogram.js';

/** Entries kept in memory beyond those still to be applied. */
const TAIL_ENTRIES = 1_000;

export class RaftStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  /** The latest snapshot (metadata only: the data is a file, see snapshot-file.ts). */
  private snap: Snapshot = emptySnapshot();
  /** The last entry removed from the front of the log (0/0: none). */
  private compactIndex = 0;
  private compactTerm = 0;
  /** In-memory entries, indexes tailStart .. lastStored. */
  private tail: Entry[] = [];
  private tailStart = 1;
  /** Index of the last entry on disk. */
  private lastStored = 0;
  /** Entries below this index may leave memory (the driver moves it as it applies). */
  private releasable = 0;
  /** Bytes of entry payloads on disk (for INFO / RAFT.INFO). */
  logBytes = 0;
  /** Seconds each synced batch took to write and fdatasync (the operator's /metrics). */
  readonly syncLatency = new Histogram(LATENCY_BUCKETS_SECONDS);

  private constructor(
    private readonly store: LogBackend,
    /** --unsafe-no-fsync: no write is fsynced (measurement only). */
    private readonly noFsync: boolean,
  ) {}

  /** Opens the log under dir (segment files, migrated from LevelDB if need be); loads the hard state and the tail of the log. */
  static async open(dir: string, noFsync = false): Promise<RaftStorage> {
    return RaftStorage.over(await WalLog.open(dir), noFsync);
  }

  /**
   * The log kept by `store` (any LogBackend: the driver harness passes an
   * in-memory one); loads the hard state and the tail of the log. Takes
   * `store` over: closes it if loading fails, and on close().
   */
  static async over(store: LogBackend, noFsync = false): Promise<RaftStorage> {
    const s = new RaftStorage(store, noFsync);
    try {
      await s.load();
    } catch (e) {
      await store.close();
      throw e;
    }
    return s;
  }

  private async load(): Promise<void> {
    this.hardState = await this.store.hardState();
    const c = await this.store.compacted();
    this.compactIndex = c.index;
    this.compactTerm = c.term;
    // The whole log is read once at start (it is replayed next, and this
    // checks there are no gaps); the tail is trimmed as the replay applies it.
    // Entries at or below the compaction point are leftovers of a compaction
    // interrupted by a crash: ignored.
    let first = 0;
    for await (const e of this.store.entries(this.compactIndex + 1)) {
      if (first === 0) first = e.index;
      this.logBytes += e.data.length;
      this.lastStored = e.index;
      this.tail.push({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data) });
    }
    if (first > this.compactIndex + 1) {
      throw new CorruptDataError(
        `raft log in ${this.store.dir} starts at index ${first}, but entries after ${this.compactIndex} should be there: entries are missing`,
      );
    }
    if (first === 0) this.lastStored = this.compactIndex;
    this.tailStart = this.lastStored - this.tail.length + 1;
  }

  /** The membership record (addresses of members), if one was written. */
  members(): Promise<StoredMember[] | undefined> {
    return this.store.members();
  }

  putMembers(list: readonly StoredMember[]): Promise<void> {
    return this.store.putMembers(list);
  }

  /** The last entry compacted away (entries after it are in the log). */
  get compactedIndex(): number {
    return this.compactIndex;
  }

  /**
   * At start: the snapshot the state machine was restored from (index at or
   * past the compaction point). If the log ends before it (a snapshot from
   * the leader was being installed when the node stopped), the log restarts
   * after it; if the log holds a different entry at its index, the log after
   * it is another history and is dropped too.
   */
  async restoredFrom(meta: SnapshotMetadata): Promise<void> {
    this.snap = { metadata: meta, data: EMPTY_BUFFER };
    const conflict = meta.index <= this.lastStored && meta.index > this.compactIndex && this.entry(meta.index).term !== meta.term;
    if (meta.index > this.lastStored || conflict) {
      await this.store.replaceWithSnapshot(meta.index, meta.term, { ...this.hardState, commit: Math.max(this.hardState.commit, meta.index) });
      this.resetTo(meta.index, meta.term);
    }
    if (this.hardState.commit < meta.index) this.hardState = { ...this.hardState, commit: meta.index };
  }

  /** The log becomes empty after (index, term). */
  private resetTo(index: number, term: number): void {
    this.compactIndex = index;
    this.compactTerm = term;
    this.tail = [];
    this.tailStart = index + 1;
    this.lastStored = index;
    this.logBytes = 0;
  }

  /**
   * A snapshot of the local state machine was written: it becomes the one
   * sent to lagging followers, and the log before it, less `keep` entries
   * for followers that are only a little behind, is deleted.
   */
  async snapshotTaken(meta: SnapshotMetadata, keep: number): Promise<void> {
    if (meta.index <= this.snap.metadata.index) return;
    this.snap = { metadata: meta, data: EMPTY_BUFFER };
    const to = Math.min(meta.index - keep, this.lastStored);
    if (to <= this.compactIndex) return;
    const term = this.term(to);
    await this.store.compact(to, term);
    for (let i = Math.max(this.tailStart, this.compactIndex + 1); i <= to; i++) {
      const e = this.tail[i - this.tailStart];
      if (e !== undefined) this.logBytes -= e.data.length;
    }
    this.compactIndex = to;
    this.compactTerm = term;
    if (to >= this.tailStart) {
      this.tail = this.tail.slice(to + 1 - this.tailStart);
      this.tailStart = to + 1;
    }
  }

  /** Follower: a snapshot from the leader replaces the log (contract step 3 with rd.snapshot). */
  private async installSnapshot(snap: Snapshot, hs: HardState | undefined): Promise<void> {
    const meta = snap.metadata;
    const hard = { ...(hs ?? this.hardState) };
    if (hard.commit < meta.index) hard.commit = meta.index;
    await this.store.replaceWithSnapshot(meta.index, meta.term, hard);
    this.snap = { metadata: meta, data: EMPTY_BUFFER };
    this.hardState = hard;
    this.resetTo(meta.index, meta.term);
  }

  get isEmpty(): boolean {
    return this.lastStored === 0 && this.hardState.term === 0 && this.compactIndex === 0;
  }

  /**
   * persistReady of a Ready without a snapshot settles within the turn of
   * the event loop that called it, before any timer or immediate: the
   * backend writes and syncs on this thread (LogBackend.writesInline).
   */
  get writesInline(): boolean {
    return this.store.writesInline === true;
  }

  /** Index of the last entry on disk. */
  get lastStoredIndex(): number {
    return this.lastStored;
  }

  hardStateNow(): HardState {
    return { ...this.hardState };
  }

  // ---- Storage (read by the Raft core) ---------------------------------------------

  initialState(): InitialState {
    const cs: ConfState = this.snap.metadata.confState;
    return { hardState: { ...this.hardState }, confState: { voters: [...cs.voters], learners: [...cs.learners] } };
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError();
    if (hi > this.lastStored + 1) throw new UnavailableError();
    const ts = this.tailStart;
    if (lo >= ts && lo < hi) {
      // All in memory (the tail runs to lastStored): the committed entries a
      // leader applies, every Ready. Sized, then one slice of the tail (a push
      // per entry grew the array under load).
      const tail = this.tail;
      const from = lo - ts;
      let to = hi - ts;
      if (maxBytes !== Number.POSITIVE_INFINITY) {
        let size = entrySize(tail[from]!);
        for (let i = from + 1; i < to; i++) {
          size += entrySize(tail[i]!);
          if (size > maxBytes) {
            to = i;
            break;
          }
        }
      }
      return tail.slice(from, to);
    }
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entry(i);
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    if (i === 0) return 0;
    if (i < this.compactIndex) throw new CompactedError();
    if (i > this.lastStored) throw new UnavailableError();
    if (i === this.compactIndex) return this.compactTerm;
    return this.entry(i).term;
  }

  firstIndex(): number {
    return this.compactIndex + 1;
  }

  lastIndex(): number {
    return this.lastStored;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  private entry(i: number): Entry {
    if (i >= this.tailStart) {
      const e = this.tail[i - this.tailStart];
      if (e) return e;
    }
    const e = this.store.entrySync(i);
    if (e === undefined) throw new CorruptDataError(`raft log entry ${i} is missing from ${this.store.dir}`);
    return { index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data) };
  }

  // ---- writes (by the driver) -----------------------------------------------------------

  /** Writes the first state of a brand-new member (bootstrap entries). */
  async bootstrap(entries: Entry[], hardState: HardState): Promise<void> {
    await this.persist(entries, hardState, true);
  }

  /**
   * Contract step 3: the Ready's entries and hard state, in one batch,
   * fsynced when it must be. A hard state whose only change is the commit
   * index is not worth a disk write of its own (commit is recomputed after a
   * restart); it is written along with entries when there are some.
   */
  async persistReady(rd: Ready): Promise<void> {
    if (rd.snapshot !== undefined) {
      // Two writes: the snapshot's compaction point, then the entries after
      // it. A crash between them must not leave a commit index past the last
      // entry on disk (the node could not restart), so the first write's
      // hard state commits no further than the snapshot, and the Ready's own
      // hard state goes with the entries.
      const hs = rd.hardState ?? this.hardState;
      const meta = rd.snapshot.metadata;
      await this.installSnapshot(rd.snapshot, { ...hs, commit: Math.min(hs.commit, meta.index) });
      if (rd.entries.length > 0) await this.persist(rd.entries, rd.hardState, true);
      return;
    }
    if (rd.entries.length === 0 && !rd.mustSync) {
      if (rd.hardState) this.hardState = { ...rd.hardState };
      return;
    }
    await this.persist(rd.entries, rd.hardState, rd.mustSync);
  }

  private async persist(entries: readonly Entry[], hs: HardState | undefined, sync: boolean): Promise<void> {
    const first = entries[0];
    // Entries at or below what is on disk replace a conflicting suffix.
    const truncateFrom = first !== undefined && first.index <= this.lastStored ? first.index : undefined;
    const synced = sync && !this.noFsync;
    const started = synced ? monotonicSeconds() : 0;
    await this.store.write(entries, hs, truncateFrom, synced);
    if (synced) this.syncLatency.observe(monotonicSeconds() - started);
    if (first !== undefined) {
      if (first.index < this.tailStart) {
        this.tail = [];
        this.tailStart = first.index;
      } else {
        // Only a conflicting suffix shortens the tail (setting `length`, even to itself, is a runtime call).
        const keep = first.index - this.tailStart;
        if (keep < this.tail.length) this.tail.length = keep;
        if (this.tail.length === 0) this.tailStart = first.index;
      }
      // Indexed: a for-of's iterator costs a call per entry until the function is optimized.
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        this.tail.push(e);
        this.logBytes += e.data.length;
      }
      this.lastStored = entries[entries.length - 1]!.index;
      this.trim();
    }
    if (hs) this.hardState = { ...hs };
  }

  /** Entries up to `index` have been applied; the tail may let older ones go. */
  appliedTo(index: number): void {
    this.releasable = index;
    this.trim();
  }

  private trim(): void {
    const keepFrom = Math.min(this.releasable, this.lastStored - TAIL_ENTRIES) + 1;
    const drop = keepFrom - this.tailStart;
    // Drop in large steps: one splice per TAIL_ENTRIES, not per write.
    if (drop >= TAIL_ENTRIES) {
      this.tail = this.tail.slice(drop);
      this.tailStart = keepFrom;
    }
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
