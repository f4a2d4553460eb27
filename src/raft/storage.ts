/**
 * The read-only view of durable Raft state that the core pulls from, and
 * MemoryStorage, an in-memory implementation used by tests and as the driver's
 * in-memory mirror of its on-disk log.
 *
 * The interface is synchronous on purpose: the driver keeps the durable log
 * mirrored in memory (or cached) so Raft never waits on I/O.
 */
import { invariant, RaftError } from './errors.js';
import {
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  EMPTY_BUFFER,
  EntryType,
  emptyHardState,
  emptySnapshot,
  limitSize,
} from './messages.js';

export class StorageError extends RaftError {}

/** The requested index predates the last snapshot (its entry was compacted away). */
export class CompactedError extends StorageError {
  constructor() {
    super('requested index is unavailable due to compaction');
  }
}

/** The requested index is beyond the last entry. */
export class UnavailableError extends StorageError {
  constructor() {
    super('requested entry at index is unavailable');
  }
}

/** A snapshot older than (or as old as) the current one was offered. */
export class SnapshotOutOfDateError extends StorageError {
  constructor() {
    super('requested index is older than the existing snapshot');
  }
}

/** The snapshot is being prepared; Raft retries later instead of failing. */
export class SnapshotTemporarilyUnavailableError extends StorageError {
  constructor() {
    super('snapshot is temporarily unavailable');
  }
}

export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

/**
 * Durable Raft state, read-only from Raft's side. Any error other than the
 * named ones above makes the Raft instance unusable.
 */
export interface Storage {
  /** The saved HardState and the ConfState of the latest snapshot. */
  initialState(): InitialState;
  /**
   * Entries in [lo, hi), at most `maxBytes` in total (see entrySize) but always
   * at least one. Throws CompactedError if lo <= the snapshot index.
   * Callers must not mutate the returned entries.
   */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /**
   * Term of entry i, for firstIndex()-1 <= i <= lastIndex() (the entry just
   * before the first is kept for matching). Throws CompactedError below that
   * range and UnavailableError above it.
   */
  term(i: number): number;
  /** Index of the first entry available through entries() (snapshot index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  /** The latest snapshot. May throw SnapshotTemporarilyUnavailableError. */
  snapshot(): Snapshot;
}

/**
 * Storage backed by an array. ents[0] is a dummy entry holding the index and
 * term of the last snapshot, which keeps term(firstIndex-1) answerable after
 * compaction. Writers (setHardState, append, applySnapshot, createSnapshot,
 * compact) are outside the Storage interface: only the driver calls them.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot = emptySnapshot();
  private ents: Entry[] = [{ index: 0, term: 0, type: EntryType.Normal, data: EMPTY_BUFFER }];

  initialState(): InitialState {
    const cs = this.snap.metadata.confState;
    return {
      hardState: { ...this.hardState },
      confState: { voters: [...cs.voters], learners: [...cs.learners] },
    };
  }

  hardStateNow(): HardState {
    return { ...this.hardState };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError();
    invariant(hi <= this.lastIndex() + 1, () => `entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    if (this.ents.length === 1) throw new UnavailableError();
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new CompactedError();
    const e = this.ents[i - offset];
    if (e === undefined) throw new UnavailableError();
    return e.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with the snapshot. */
  applySnapshot(snap: Snapshot): void {
    const cur = this.snap.metadata.index;
    if (cur !== 0 && cur >= snap.metadata.index) throw new SnapshotOutOfDateError();
    this.snap = snap;
    this.ents = [{ index: snap.metadata.index, term: snap.metadata.term, type: EntryType.Normal, data: EMPTY_BUFFER }];
  }

  /**
   * Records a snapshot of the state machine at applied index i. Pass the
   * ConfState in force at i (the result of the last applyConfChange) or leave
   * it undefined to keep the previous one.
   */
  createSnapshot(i: number, confState: ConfState | undefined, data: Buffer): Snapshot {
    if (i <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    invariant(i <= this.lastIndex(), () => `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    const cs = confState ?? this.snap.metadata.confState;
    this.snap = {
      metadata: {
        index: i,
        term: this.term(i),
        confState: { voters: [...cs.voters], learners: [...cs.learners] },
      },
      data,
    };
    return this.snap;
  }

  /** Discards entries up to and including compactIndex (which becomes the dummy entry). */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new CompactedError();
    invariant(compactIndex <= this.lastIndex(), () => `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const at = this.ents[i] as Entry;
    this.ents = [{ index: at.index, term: at.term, type: EntryType.Normal, data: EMPTY_BUFFER }, ...this.ents.slice(i + 1)];
  }

  /** Appends entries, first discarding any existing entries at or after entries[0].index. */
  append(entries: readonly Entry[]): void {
    const head = entries[0];
    if (head === undefined) return;
    const first = this.firstIndex();
    const last = head.index + entries.length - 1;
    if (last < first) return;
    const fresh = first > head.index ? entries.slice(first - head.index) : entries;
    const freshHead = fresh[0] as Entry;
    const offset = freshHead.index - this.offset();
    invariant(offset <= this.ents.length, () => `missing log entry [last: ${this.lastIndex()}, append at: ${freshHead.index}]`);
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of fresh) this.ents.push(e);
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }
}
