/**
 * The driver: owns the durable log, the state machine and the pending
 * proposals, and runs the write path
 *
 *   propose → batch (one per event-loop turn) → one synced LevelDB write
 *           → commit → apply in log order → reply to the waiting client.
 *
 * This is the single-member path; the Raft cluster replaces "synced write →
 * commit" by the RawNode Ready loop and keeps everything around it.
 */
import { Keyspace } from '../keyspace/keyspace.js';
import type { CommandTable } from '../commands/table.js';
import { LogStore, type StoredEntry } from '../storage/log-store.js';
import { createLogger } from '../util/log.js';
import { EntryKind, decodeStateEntry, encodeStateEntry, type StateEntry } from './command-entry.js';
import { StateMachine, type ApplyTarget } from './state-machine.js';

const log = createLogger('node');

export interface NodeOptions {
  id: number;
  dir: string;
  table: CommandTable;
  /** Called when the node cannot go on safely (e.g. the disk failed); the process should exit. */
  onFatal: (err: Error) => void;
  /** Active expiry cycle period in ms (0 disables, for tests). */
  expireCycleMs?: number;
}

/** Synced log writes allowed at once (see flush). */
const MAX_WRITES_IN_FLIGHT = Number(process.env.RAFTIS_WIF ?? 2);

interface InflightWrite {
  batch: Proposal[];
  done: boolean;
}

interface Proposal {
  index: number;
  entry: StateEntry;
  data: Buffer;
  target: ApplyTarget | undefined;
}

export class RaftisNode {
  readonly keyspace = new Keyspace();
  readonly sm: StateMachine;
  readonly id: number;
  term = 1;
  lastIndex = 0;
  commitIndex = 0;
  appliedIndex = 0;
  /** Bytes of entries written since start (INFO / RAFT.INFO log size). */
  logBytes = 0;

  private store!: LogStore;
  private batch: Proposal[] = [];
  private readonly inflight: InflightWrite[] = [];
  private flushScheduled = false;
  private closed = false;
  private lastTime = 0;
  private readonly waiters = new Map<number, (() => void)[]>();
  private expireTimer: NodeJS.Timeout | undefined;
  private expireIt: Iterator<[string, number]> | undefined;
  private expireInFlight = false;

  private constructor(private readonly opts: NodeOptions) {
    this.id = opts.id;
    this.sm = new StateMachine(this.keyspace, opts.table);
  }

  static async open(opts: NodeOptions): Promise<RaftisNode> {
    const node = new RaftisNode(opts);
    node.store = await LogStore.open(opts.dir);
    try {
      await node.replay();
    } catch (e) {
      await node.store.close();
      throw e;
    }
    const period = opts.expireCycleMs ?? 100;
    if (period > 0) {
      node.expireTimer = setInterval(() => node.expireCycle(), period);
      node.expireTimer.unref();
    }
    return node;
  }

  get isLeader(): boolean {
    return true;
  }

  private async replay(): Promise<void> {
    const started = Date.now();
    const hs = await this.store.hardState();
    this.term = Math.max(1, hs.term);
    for await (const e of this.store.entries()) {
      if (e.index !== this.lastIndex + 1) {
        throw new Error(`raft log starts at ${e.index}, expected ${this.lastIndex + 1}`);
      }
      const entry = decodeStateEntry(e.data);
      this.sm.apply(e.index, entry, undefined);
      this.lastIndex = this.commitIndex = this.appliedIndex = e.index;
      this.lastTime = Math.max(this.lastTime, entry.time);
      this.logBytes += e.data.length;
    }
    if (hs.term === 0) await this.store.write([], { term: this.term, vote: this.id, commit: 0 });
    log.info(`replayed ${this.lastIndex} log entries in ${Date.now() - started} ms, ${this.keyspace.size} keys`);
  }

  /** The time stamped on a new entry: the clock, but never before an earlier entry. */
  entryTime(): number {
    const t = Date.now();
    if (t > this.lastTime) this.lastTime = t;
    return this.lastTime;
  }

  /**
   * Appends an entry to this turn's batch and returns its index. The target
   * (if any) is replied to once the entry is durable and applied.
   */
  propose(entry: StateEntry, target?: ApplyTarget): number {
    if (this.closed) throw new Error('node is shut down');
    const index = ++this.lastIndex;
    this.batch.push({ index, entry, data: encodeStateEntry(entry), target });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return index;
  }

  /** Runs fn once every entry up to `index` has been applied (at once if it has). */
  whenApplied(index: number, fn: () => void): void {
    if (index <= this.appliedIndex) {
      fn();
      return;
    }
    const list = this.waiters.get(index);
    if (list) list.push(fn);
    else this.waiters.set(index, [fn]);
  }

  /**
   * Writes this turn's proposals as one synced batch. Up to
   * MAX_WRITES_IN_FLIGHT batches may be in flight at once: LevelDB merges
   * concurrent synced writers into one log write and one fsync (its own group
   * commit), so a batch formed while another is syncing need not wait for it.
   * Batches may complete out of order; entries are committed and applied
   * strictly in log order, once every earlier batch is durable too.
   */
  private flush(): void {
    this.flushScheduled = false;
    while (this.batch.length > 0 && this.inflight.length < MAX_WRITES_IN_FLIGHT) {
      const batch = this.batch;
      this.batch = [];
      const w: InflightWrite = { batch, done: false };
      this.inflight.push(w);
      const stored: StoredEntry[] = batch.map((p) => ({ index: p.index, term: this.term, type: 0, data: p.data }));
      this.store.write(stored).then(
        () => {
          w.done = true;
          this.onDurable();
        },
        (err: unknown) => {
          this.opts.onFatal(new Error(`cannot write the raft log: ${(err as Error).message}`, { cause: err }));
        },
      );
    }
  }

  private onDurable(): void {
    while (this.inflight.length > 0 && this.inflight[0]!.done) {
      const { batch } = this.inflight.shift()!;
      for (const p of batch) this.logBytes += p.data.length;
      this.commitIndex = batch[batch.length - 1]!.index;
      for (const p of batch) this.applyOne(p.index, p.entry, p.target);
    }
    // Proposals that arrived while every write slot was busy.
    if (this.batch.length > 0) this.flush();
  }

  private applyOne(index: number, entry: StateEntry, target: ApplyTarget | undefined): void {
    this.sm.apply(index, entry, target);
    this.appliedIndex = index;
    if (entry.kind === EntryKind.ExpireKeys) this.expireInFlight = false;
    target?.done();
    const list = this.waiters.get(index);
    if (list) {
      this.waiters.delete(index);
      for (const fn of list) fn();
    }
  }

  /**
   * Active expiry (leader only): walk the keys that carry a TTL a slice at a
   * time and propose the deletion of those that expired. The delete is
   * conditional at apply time, so a key re-set in between survives.
   */
  private expireCycle(): void {
    if (!this.isLeader || this.expireInFlight || this.closed || this.keyspace.expiresCount === 0) return;
    const now = Date.now();
    const keys: string[] = [];
    for (let looked = 0; looked < 1000 && keys.length < 200; looked++) {
      this.expireIt ??= this.keyspace.keysWithExpiry();
      const r = this.expireIt.next();
      if (r.done) {
        this.expireIt = undefined;
        break;
      }
      if (r.value[1] <= now) keys.push(r.value[0]);
    }
    if (keys.length === 0) return;
    this.expireInFlight = true;
    this.propose({ kind: EntryKind.ExpireKeys, time: this.entryTime(), keys });
  }

  /** Stops taking proposals, waits for the write in flight, closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.expireTimer) clearInterval(this.expireTimer);
    // Let what was proposed reach the disk and be answered.
    while (this.inflight.length > 0 || this.batch.length > 0) {
      this.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
    this.closed = true;
    await this.store.close();
  }
}
