/**
 * Log entries and a snapshot that Raft has accepted but the driver has not yet
 * made durable. They stay here, visible to the log, until advance() reports
 * them written; only then does the log read them from Storage instead.
 *
 * entries[i] has index offset + i. offset may be below Storage's last index:
 * the next write must then truncate the durable log before appending.
 */
import { invariant } from './errors.js';
import type { Entry, Snapshot } from './messages.js';
import type { Logger } from './logger.js';

export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  /** The snapshot has been handed out in a Ready and is being written. */
  snapshotInProgress = false;
  entries: Entry[] = [];
  offset: number;
  /** entries below this index have been handed out in a Ready and are being written. */
  offsetInProgress: number;

  constructor(
    offset: number,
    private readonly logger: Logger,
  ) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** The first index after the unstable snapshot, if there is one. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]?.term;
  }

  /** Entries not yet handed out for writing. */
  nextEntries(): Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    if (this.entries.length === inProgress) return [];
    return this.entries.slice(inProgress);
  }

  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Marks everything currently here as handed out in a Ready. */
  acceptInProgress(): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined) this.offsetInProgress = last.index + 1;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /**
   * Entries up to (index, term) are durable. Ignored when the entry there has
   * since been replaced (a newer leader overwrote it while the write was in
   * flight): the replacement still has to be written.
   */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined) {
      if (this.logger.debugEnabled) this.logger.debug(`entry at index ${index} missing from unstable log; ignoring`);
      return;
    }
    if (index < this.offset) {
      this.logger.info(`entry at index ${index} matched unstable snapshot; ignoring`);
      return;
    }
    if (t !== term) {
      this.logger.info(`entry at (index,term)=(${index},${term}) mismatched with entry at (${index},${t}) in unstable log; ignoring`);
      return;
    }
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const head = ents[0];
    if (head === undefined) return;
    const fromIndex = head.index;
    if (fromIndex === this.offset + this.entries.length) {
      for (let i = 0; i < ents.length; i++) this.entries.push(ents[i]!);
    } else if (fromIndex <= this.offset) {
      this.logger.info(`replace the unstable entries from index ${fromIndex}`);
      this.entries = [...ents];
      this.offset = fromIndex;
      this.offsetInProgress = fromIndex;
    } else {
      this.logger.info(`truncate the unstable entries before index ${fromIndex}`);
      this.entries = this.slice(this.offset, fromIndex).concat(ents);
      this.offsetInProgress = Math.min(this.offsetInProgress, fromIndex);
    }
  }

  /** Entries in [lo, hi); the whole range must be here. */
  slice(lo: number, hi: number): Entry[] {
    invariant(lo <= hi, () => `invalid unstable.slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    invariant(lo >= this.offset && hi <= upper, () => `unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
