/**
 * The Raft log as the core reads it and as the disk keeps it: a
 * MemoryStorage mirror (the core's synchronous Storage) in front of the
 * LevelDB LogStore. The driver persists each Ready here: the write reaches
 * the disk first, then the mirror, as the Ready contract requires.
 */
import { MemoryStorage, type Entry, type HardState, type Ready } from '../raft/index.js';
import { LogStore } from './log-store.js';

export class RaftStorage {
  readonly mem = new MemoryStorage();
  /** Index of the last entry on disk. */
  private lastStored = 0;
  /** Bytes of entry payloads on disk (for INFO / RAFT.INFO). */
  logBytes = 0;

  private constructor(private readonly store: LogStore) {}

  /** Opens the log under dir and loads it into the mirror. */
  static async open(dir: string): Promise<RaftStorage> {
    const store = await LogStore.open(dir);
    const s = new RaftStorage(store);
    try {
      await s.load();
    } catch (e) {
      await store.close();
      throw e;
    }
    return s;
  }

  private async load(): Promise<void> {
    const hs = await this.store.hardState();
    this.mem.setHardState(hs);
    let chunk: Entry[] = [];
    for await (const e of this.store.entries()) {
      chunk.push({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data) });
      this.logBytes += e.data.length;
      if (chunk.length >= 4096) {
        this.mem.append(chunk);
        chunk = [];
      }
    }
    this.mem.append(chunk);
    this.lastStored = this.mem.lastIndex();
  }

  get isEmpty(): boolean {
    return this.lastStored === 0 && this.mem.hardStateNow().term === 0;
  }

  get lastIndex(): number {
    return this.lastStored;
  }

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
    if (rd.entries.length === 0 && !rd.mustSync) {
      if (rd.hardState) this.mem.setHardState(rd.hardState);
      return;
    }
    await this.persist(rd.entries, rd.hardState, rd.mustSync);
  }

  private async persist(entries: readonly Entry[], hs: HardState | undefined, sync: boolean): Promise<void> {
    const first = entries[0];
    // Entries at or below what is on disk replace a conflicting suffix.
    const truncateFrom = first !== undefined && first.index <= this.lastStored ? first.index : undefined;
    await this.store.write(entries, hs, truncateFrom, sync);
    if (entries.length > 0) {
      this.mem.append(entries);
      this.lastStored = entries[entries.length - 1]!.index;
      for (const e of entries) this.logBytes += e.data.length;
    }
    if (hs) this.mem.setHardState(hs);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
