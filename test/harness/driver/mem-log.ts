/**
 * An in-memory LogBackend (src/storage/log-backend.ts) whose writes the test
 * controls. A MemDisk is what survives a crash (the node's disk); a MemLog is
 * one process's handle on it (RaftStorage.over(new MemLog(disk, …))).
 *
 * Each write() becomes a PendingWrite. By default it completes by itself
 * after a seeded virtual delay (a task in the node's disk lane); a test may
 * hold writes instead and then, for each one, complete() it (its entries
 * and hard state reach the disk, then the promise resolves), fail() it (the
 * promise rejects, the disk is unchanged: the driver must report a fatal
 * error), or leave it in flight and crash the node, choosing what the crash
 * left on the disk (tear(): the truncation and a prefix of the entries; the
 * hard state only with all of them — the worst LogBackend allows).
 *
 * Reads (entrySync, entries) see the disk as of the last completed write,
 * as WalLog's do. Compaction and snapshot replacement complete at once
 * (on the next microtask). The backend also checks the contract RaftStorage
 * must keep: no overlapping writes, contiguous entries, no truncation of
 * compacted entries; a breach is recorded in `violations`.
 */
import type { LogBackend, StoredEntry, StoredHardState, StoredMember } from '../../../src/storage/log-backend.js';

export type WriteState = 'pending' | 'done' | 'failed' | 'lost';

/** The durable state of one node: what a crash leaves. */
export class MemDisk {
  hardState: StoredHardState = { term: 0, vote: 0, commit: 0 };
  compactIndex = 0;
  compactTerm = 0;
  members: StoredMember[] | undefined;
  /** Entries compactIndex+1 … lastIndex. */
  entries: StoredEntry[] = [];
  /** Writes completed, failed and torn over the disk's life (for tests that prove they exercised something). */
  readonly stats = { writes: 0, failed: 0, torn: 0, lost: 0, compactions: 0, installs: 0 };
  /** Numbers the writes made to this disk (labels in reports). */
  writeSeq = 0;

  constructor(readonly id: number) {}

  get lastIndex(): number {
    return this.compactIndex + this.entries.length;
  }

  entry(index: number): StoredEntry | undefined {
    if (index <= this.compactIndex) return undefined;
    return this.entries[index - this.compactIndex - 1];
  }

  /** The truncation of a write, then `entries`: what reaches the disk. */
  apply(w: { entries: readonly StoredEntry[]; truncateFrom: number | undefined }, keep: number): void {
    const first = w.entries[0];
    let cut = w.truncateFrom;
    if (first !== undefined && (cut === undefined || first.index < cut)) cut = first.index;
    if (cut !== undefined && cut <= this.lastIndex) {
      if (cut <= this.compactIndex) throw new Error(`node ${this.id}: a write truncates at ${cut}, at or before the compaction point ${this.compactIndex}`);
      this.entries.length = cut - this.compactIndex - 1;
    }
    for (let i = 0; i < keep; i++) {
      const e = w.entries[i]!;
      if (e.index !== this.lastIndex + 1) throw new Error(`node ${this.id}: a write of entry ${e.index} would leave a gap after ${this.lastIndex}`);
      // A copy: the disk must not share buffers with the process that wrote it.
      this.entries.push({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data) });
    }
  }

  /** Index → term of the entries on the disk, for failure reports. */
  describe(): string {
    return `compacted ${this.compactIndex}/${this.compactTerm}, hard state ${JSON.stringify(this.hardState)}, entries ${this.entries.map((e) => `${e.index}/${e.term}`).join(' ')}`;
  }
}

export class PendingWrite {
  state: WriteState = 'pending';
  /** Set by MemLog. */
  resolve!: () => void;
  reject!: (e: Error) => void;

  constructor(
    readonly seq: number,
    readonly log: MemLog,
    readonly entries: readonly StoredEntry[],
    readonly hardState: StoredHardState | undefined,
    readonly truncateFrom: number | undefined,
    readonly sync: boolean,
  ) {}

  get firstIndex(): number {
    return this.entries[0]?.index ?? 0;
  }

  get lastIndex(): number {
    return this.entries[this.entries.length - 1]?.index ?? 0;
  }

  /** The write reaches the disk; its promise resolves. */
  complete(): void {
    if (this.state !== 'pending') return;
    this.log.finish(this, this.entries.length, true);
    this.state = 'done';
    this.resolve();
  }

  /** The write fails (a failed fsync): the disk is unchanged, the promise rejects. */
  fail(message = 'injected write failure'): void {
    if (this.state !== 'pending') return;
    this.state = 'failed';
    this.log.disk.stats.failed++;
    this.log.settled(this);
    this.reject(new Error(message));
  }

  /**
   * The process died with this write in flight, and the disk kept its
   * truncation and its first `keep` entries (its hard state only if it kept
   * them all). The promise never settles: the process is gone.
   */
  tear(keep: number): void {
    if (this.state !== 'pending') return;
    const k = Math.max(0, Math.min(keep, this.entries.length));
    this.log.finish(this, k, k === this.entries.length);
    this.state = 'lost';
    if (k < this.entries.length) this.log.disk.stats.torn++;
  }

  /** The process died before any of this write reached the disk. */
  lose(): void {
    if (this.state !== 'pending') return;
    this.state = 'lost';
    this.log.disk.stats.lost++;
    this.log.settled(this);
  }

  toString(): string {
    const hs = this.hardState ? ` hs ${this.hardState.term}/${this.hardState.vote}/${this.hardState.commit}` : '';
    const ents = this.entries.length > 0 ? ` entries ${this.firstIndex}..${this.lastIndex} (terms ${[...new Set(this.entries.map((e) => e.term))].join(',')})` : '';
    return `write #${this.seq} of node ${this.log.disk.id}${ents}${hs}${this.truncateFrom !== undefined ? ` cut ${this.truncateFrom}` : ''}`;
  }
}

/** What happens to a write when it is made: the cluster's disk policy. */
export interface DiskControl {
  /** A write was started (the control completes it later, or holds it). */
  started(w: PendingWrite): void;
}

export class MemLog implements LogBackend {
  readonly dir: string;
  /** The write in flight, if any (RaftStorage never has two). */
  inFlight: PendingWrite | undefined;
  closed = false;
  readonly violations: string[] = [];

  constructor(
    readonly disk: MemDisk,
    private readonly control: DiskControl,
  ) {
    this.dir = `mem-disk-${disk.id}`;
  }

  async hardState(): Promise<StoredHardState> {
    return { ...this.disk.hardState };
  }

  async compacted(): Promise<{ index: number; term: number }> {
    return { index: this.disk.compactIndex, term: this.disk.compactTerm };
  }

  async members(): Promise<StoredMember[] | undefined> {
    return this.disk.members?.map((m) => ({ ...m }));
  }

  async putMembers(list: readonly StoredMember[]): Promise<void> {
    this.disk.members = list.map((m) => ({ ...m }));
  }

  async *entries(lo = 1, hi = Number.MAX_SAFE_INTEGER): AsyncGenerator<StoredEntry> {
    const d = this.disk;
    for (let i = Math.max(lo, d.compactIndex + 1); i < hi && i <= d.lastIndex; i++) {
      const e = d.entry(i)!;
      yield { ...e, data: Buffer.from(e.data) };
    }
  }

  entrySync(index: number): StoredEntry | undefined {
    return this.disk.entry(index);
  }

  write(entries: readonly StoredEntry[], hardState?: StoredHardState, truncateFrom?: number, sync = true): Promise<void> {
    if (this.closed) return Promise.reject(new Error('MemLog: write after close'));
    if (this.inFlight !== undefined) this.violations.push(`node ${this.disk.id}: a write started while ${this.inFlight} was in flight`);
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.index !== entries[i - 1]!.index + 1) this.violations.push(`node ${this.disk.id}: a write's entries are not consecutive at ${entries[i]!.index}`);
    }
    // The caller may reuse its arrays once write() returns; keep our own (entries and buffers stay the caller's until complete()).
    const w = new PendingWrite(++this.disk.writeSeq, this, entries.slice(), hardState ? { ...hardState } : undefined, truncateFrom, sync);
    const p = new Promise<void>((resolve, reject) => {
      w.resolve = resolve;
      w.reject = reject;
    });
    this.inFlight = w;
    this.control.started(w);
    return p;
  }

  /** Called by PendingWrite: `keep` entries (and the hard state, if `withHardState`) reach the disk. */
  finish(w: PendingWrite, keep: number, withHardState: boolean): void {
    try {
      this.disk.apply(w, keep);
    } catch (e) {
      this.violations.push((e as Error).message);
    }
    if (withHardState && w.hardState !== undefined) this.disk.hardState = { ...w.hardState };
    this.disk.stats.writes++;
    this.settled(w);
  }

  settled(w: PendingWrite): void {
    if (this.inFlight === w) this.inFlight = undefined;
  }

  async compact(index: number, term: number): Promise<void> {
    const d = this.disk;
    if (index <= d.compactIndex) return;
    if (index > d.lastIndex) this.violations.push(`node ${d.id}: compaction to ${index} past the last entry ${d.lastIndex}`);
    const w = this.inFlight;
    if (w !== undefined) {
      const cut = Math.min(w.truncateFrom ?? Infinity, w.firstIndex || Infinity);
      if (cut <= index && cut <= d.lastIndex) this.violations.push(`node ${d.id}: compaction to ${index} while ${w} replaces entries from ${cut}`);
    }
    const e = d.entry(index);
    if (e !== undefined && e.term !== term) this.violations.push(`node ${d.id}: compaction to ${index} with term ${term}, the entry there has term ${e.term}`);
    const drop = Math.min(index, d.lastIndex) - d.compactIndex;
    d.entries.splice(0, Math.max(0, drop));
    d.compactIndex = index;
    d.compactTerm = term;
    d.stats.compactions++;
  }

  async replaceWithSnapshot(index: number, term: number, hardState: StoredHardState): Promise<void> {
    const d = this.disk;
    d.entries = [];
    d.compactIndex = index;
    d.compactTerm = term;
    d.hardState = { ...hardState };
    d.stats.installs++;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
