/**
 * RaftLog: one view over durable entries (Storage) and not-yet-durable ones
 * (Unstable), plus the commit and applied indexes.
 *
 * Invariants: applied <= committed <= lastIndex; committed never decreases;
 * an entry at or below committed is never replaced.
 */
import { invariant } from './errors.js';
import type { Logger } from './logger.js';
import { type Entry, type Snapshot, limitSize } from './messages.js';
import { CompactedError, type Storage, UnavailableError } from './storage.js';
import { Unstable } from './log-unstable.js';

export interface EntryId {
  index: number;
  term: number;
}

export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known to be durable on a quorum. */
  committed: number;
  /** Highest index the application has applied. */
  applied: number;
  /** Highest index handed to the application (applied <= applying <= committed). */
  applying: number;

  constructor(
    readonly storage: Storage,
    private readonly logger: Logger,
    /** Byte budget for the committed entries of one Ready. */
    private readonly maxApplyingBytes: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1, logger);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, unstable.offset=${this.unstable.offset}, unstable.offsetInProgress=${this.unstable.offsetInProgress}, len(unstable.entries)=${this.unstable.entries.length}`;
  }

  /**
   * Appends `ents` that follow (index, logTerm) if this log has that entry,
   * replacing any conflicting suffix. Returns the index of the last new entry,
   * or undefined when the log does not contain (index, logTerm).
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(ci > this.committed, () => `entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      const offset = index + 1;
      invariant(ci - offset <= ents.length, () => `index, ${ci - offset}, is out of range [${ents.length}]`);
      this.append(ents.slice(ci - offset));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    const head = ents[0];
    if (head === undefined) return this.lastIndex();
    invariant(head.index - 1 >= this.committed, () => `after(${head.index - 1}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry in `ents` that this log lacks or holds with a
   * different term; 0 if this log already contains all of them.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) {
        if (e.index <= this.lastIndex()) {
          this.logger.info(`found conflict at index ${e.index} [existing term: ${this.termOrZero(e.index)}, conflicting term: ${e.term}]`);
        }
        return e.index;
      }
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (or unknown because
   * compacted), with that term (0 when unknown). Both sides use it to skip a
   * whole divergent term per probe instead of one entry.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const ours = this.maybeTerm(index);
      if (ours === undefined) return [index, 0];
      if (ours <= term) return [index, ours];
    }
    return [0, 0];
  }

  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.entries.length > this.unstable.offsetInProgress - this.unstable.offset;
  }

  /**
   * Committed entries not yet applied. Entries still unstable may be included:
   * the Ready contract persists them before they are applied. Nothing while a
   * snapshot is pending, so the snapshot is applied first.
   */
  nextCommittedEnts(): Entry[] {
    return this.nextCommittedEntsUpTo(this.committed);
  }

  /** Like nextCommittedEnts, but none past `hi`. */
  nextCommittedEntsUpTo(hi: number): Entry[] {
    if (!this.hasNextCommittedEnts() || hi <= this.applying) return [];
    return this.slice(this.applying + 1, Math.min(hi, this.committed) + 1, this.maxApplyingBytes);
  }

  /** Entries up to i were handed to the application (in a Ready): not handed out again. */
  acceptApplying(i: number): void {
    invariant(i <= this.committed, () => `applying(${i}) is past committed(${this.committed})`);
    if (this.applying < i) this.applying = i;
  }

  hasNextCommittedEnts(): boolean {
    if (this.hasNextOrInProgressSnapshot()) return false;
    return this.applying < this.committed;
  }

  nextUnstableSnapshot(): Snapshot | undefined {
    return this.unstable.nextSnapshot();
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      invariant(
        toCommit <= this.lastIndex(),
        () => `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
      );
      this.committed = toCommit;
    }
  }

  appliedTo(i: number): void {
    invariant(i <= this.committed && i >= this.applied, () => `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  lastEntryId(): EntryId {
    const index = this.lastIndex();
    return { index, term: this.term(index) };
  }

  /** Term of entry i, or undefined when i is compacted or beyond the log. */
  maybeTerm(i: number): number | undefined {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    // The entry before the first is still answerable: it anchors appends.
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return undefined;
      throw err;
    }
  }

  /** Term of entry i; throws CompactedError/UnavailableError outside the log. */
  term(i: number): number {
    const t = this.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex()) throw new CompactedError();
    throw new UnavailableError();
  }

  termOrZero(i: number): number {
    return this.maybeTerm(i) ?? 0;
  }

  /** Entries from i to the end, within maxBytes. Throws CompactedError if i was compacted. */
  entries(i: number, maxBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Number.POSITIVE_INFINITY);
  }

  /** Whether a log ending at (index, term) is at least as up to date as this one (§5.4.1). */
  isUpToDate(index: number, term: number): boolean {
    const last = this.lastEntryId();
    return term > last.term || (term === last.term && index >= last.index);
  }

  matchTerm(i: number, term: number): boolean {
    return this.maybeTerm(i) === term;
  }

  /** Commits up to maxIndex only if that entry is from `term`: the leader's own term (§5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && term !== 0 && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.logger.info(`log [${this.toString()}] starts to restore snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`);
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi) within maxBytes (at least one). Throws CompactedError if lo was compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    invariant(lo <= hi, () => `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new CompactedError();
    invariant(hi <= this.lastIndex() + 1, () => `slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
    if (lo === hi) return [];
    const uOffset = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < uOffset) {
      const stableHi = Math.min(hi, uOffset);
      let stored: Entry[];
      try {
        stored = this.storage.entries(lo, stableHi, maxBytes);
      } catch (err) {
        if (err instanceof UnavailableError) invariant(false, `entries[${lo}:${stableHi}) is unavailable from storage`);
        throw err;
      }
      // Storage has applied maxBytes already.
      if (stored.length < stableHi - lo || hi <= uOffset) return stored;
      ents = stored;
    }
    if (hi > uOffset) {
      const u = this.unstable.slice(Math.max(lo, uOffset), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxBytes);
  }
}
