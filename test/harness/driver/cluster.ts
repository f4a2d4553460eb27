/**
 * The driver harness: N real RaftisNodes (src/node/node.ts) in one process,
 * each with a virtual clock over one seeded Scheduler (scheduler.ts), an
 * in-memory log whose writes the test controls (mem-log.ts), the simulated
 * network (sim-net.ts), and the key/value state machine (kv.ts). Each node
 * has its own temporary directory for snapshot files (removed by close(),
 * which withCluster() always calls).
 *
 * A node id keeps its disk (MemDisk) and directory across processes; a
 * crash kills the process (its timers, its network endpoint, its snapshot
 * in progress; the driver object is abandoned, as a dead process is) and
 * decides what its write in flight left on the disk; restart() opens a new
 * RaftisNode on what is there.
 *
 * Every run is bounded: the scheduler's task budget, and a virtual-time
 * bound on every wait (runUntil throws when its condition does not hold in
 * time). On a failure withCluster() adds the seed and the last events.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { Keyspace } from '../../../src/keyspace/keyspace.js';
import { Databases } from '../../../src/keyspace/databases.js';
import { readSnapshotFile } from '../../../src/keyspace/snapshot-records.js';
import type { SnapshotEpoch } from '../../../src/keyspace/snapshot-epoch.js';
import { RaftisNode, type Member, type NodeOptions } from '../../../src/node/node.js';
import { createPrng } from '../../../src/util/prng.js';
import { RaftStorage } from '../../../src/storage/raft-storage.js';
import { listSnapshotFiles, snapshotDir, type SnapshotMeta } from '../../../src/storage/snapshot-file.js';
import { setLogLevel, type Level } from '../../../src/util/log.js';
import { Incarnation, TestProposal, type ApplyObserver } from './kv.js';
import { Ledger } from './ledger.js';
import { MemDisk, MemLog, type PendingWrite } from './mem-log.js';
import { EPOCH_MS, Scheduler, type ClockView, type RealIoMode } from './scheduler.js';
import { SimNet, type NetFaults } from './sim-net.js';

setLogLevel((process.env.RAFTIS_HARNESS_LOG as Level | undefined) ?? 'silent');

/**
 * Node directories not yet removed. A run cut short by a test timeout never
 * reaches withCluster's cleanup; the test file's afterAll (or the process's
 * exit) removes them.
 */
const liveDirs = new Set<string>();
const removeLiveDirs = (): void => {
  for (const d of liveDirs) fs.rmSync(d, { recursive: true, force: true });
  liveDirs.clear();
};
afterAll(removeLiveDirs);
process.on('exit', removeLiveDirs);

function nodeDir(id: number): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `raftis-drv-${id}-`));
  liveDirs.add(d);
  return d;
}

export interface ClusterOptions {
  seed: number;
  /** Number of founding voters (ids 1..size). */
  size?: number;
  tickMs?: number;
  electionTick?: number;
  heartbeatTick?: number;
  /** The nodes' read mode (default readindex). */
  readMode?: 'readindex' | 'lease';
  /** Snapshot after this many applied entries (0: only when asked). */
  snapshotEntries?: number;
  snapshotKeepEntries?: number;
  uncertainWaitMs?: number;
  faults?: Partial<NetFaults>;
  /** Virtual ms a write takes when it is not held, uniform in [min, max]. */
  diskDelay?: [number, number];
  /** What onFatal does: 'crash' (default) kills the process, as the product's exit does; 'continue' only records it. */
  onFatal?: 'crash' | 'continue';
  realIo?: RealIoMode;
  /** Events kept for failure reports. */
  traceSize?: number;
  /** Incarnation's pauseEvery: entries at multiples of it are applied over several turns (0: never). */
  pauseEvery?: number;
}

/** What a crash leaves of the write in flight: nothing, all of it, or its first n entries. */
export type PendingFate = 'lose' | 'complete' | number;

/** A Keyspace that says whether a snapshot epoch is open (a snapshot file is being written). */
class TrackedKeyspace extends Keyspace {
  private readonly open = new Set<SnapshotEpoch>();

  override beginSnapshot(index: number): SnapshotEpoch {
    const e = super.beginSnapshot(index);
    this.open.add(e);
    return e;
  }

  override endSnapshot(epoch?: SnapshotEpoch): void {
    super.endSnapshot(epoch);
    if (epoch === undefined) this.open.clear();
    else this.open.delete(epoch);
  }

  get snapshotting(): boolean {
    return this.open.size > 0;
  }
}

/** One node id across its processes. */
export class Slot {
  readonly disk: MemDisk;
  node: RaftisNode<TestProposal> | undefined;
  inc: Incarnation | undefined;
  view: ClockView | undefined;
  log: MemLog | undefined;
  keyspace: TrackedKeyspace | undefined;
  processes = 0;
  /** Writes are held (not completed by themselves) while this is set, or when holdIf says so. */
  hold = false;
  holdIf: ((w: PendingWrite) => boolean) | undefined;
  readonly held: PendingWrite[] = [];
  /** Every write made, in order. */
  readonly writes: PendingWrite[] = [];
  opening: Promise<void> | undefined;
  openError: unknown;
  /** Real work of a dead process still finishing (its snapshot being aborted). */
  reaping: Promise<unknown>[] = [];

  constructor(
    readonly id: number,
    readonly dir: string,
  ) {
    this.disk = new MemDisk(id);
  }

  get up(): boolean {
    return this.node !== undefined && this.inc !== undefined && !this.inc.dead;
  }
}

export class Cluster implements ApplyObserver {
  readonly seed: number;
  readonly rng: () => number;
  readonly sched: Scheduler;
  readonly net: SimNet;
  readonly ledger = new Ledger();
  readonly slots = new Map<number, Slot>();
  readonly ids: number[];
  readonly fatals: { id: number; n: number; error: Error; at: number }[] = [];
  private readonly trace: string[] = [];
  private nextProposal = 1;
  private lastLeader = 0;
  private readonly opts: Required<Omit<ClusterOptions, 'faults'>> & { faults: Partial<NetFaults> };

  private constructor(opts: ClusterOptions) {
    this.opts = {
      size: 3,
      tickMs: 10,
      electionTick: 10,
      heartbeatTick: 1,
      readMode: 'readindex',
      snapshotEntries: 0,
      snapshotKeepEntries: 5000,
      uncertainWaitMs: 1000,
      faults: {},
      diskDelay: [1, 3],
      onFatal: 'crash',
      realIo: 'freeze',
      traceSize: 200,
      pauseEvery: 0,
      ...opts,
    };
    this.seed = opts.seed;
    this.rng = createPrng(opts.seed);
    this.sched = new Scheduler(createPrng((opts.seed * 2_654_435_761) >>> 0));
    this.sched.realIo = this.opts.realIo;
    this.net = new SimNet(this.sched, createPrng((opts.seed * 40_503 + 17) >>> 0), this.opts.faults);
    this.ids = Array.from({ length: this.opts.size }, (_, i) => i + 1);
    for (const id of this.ids) this.slots.set(id, new Slot(id, nodeDir(id)));
    this.sched.observe = () => {
      for (const s of this.slots.values()) if (s.up) this.ledger.observe(s.id, s.node!);
      this.noteLeader();
    };
    this.sched.realPending = () => {
      for (const s of this.slots.values()) {
        if (s.inc === undefined || s.inc.dead) continue;
        if (s.keyspace?.snapshotting === true) return true;
        if (s.node !== undefined && (s.node.snapshotter.inProgress || receiving(s.node))) return true;
      }
      return false;
    };
  }

  /** Opens every node and waits for a leader. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(opts);
    try {
      for (const id of c.ids) c.launch(c.slot(id));
      await c.runUntil(() => c.ids.every((id) => c.slot(id).up), 5_000, 'every node open');
      // A leader, whose first entry (its no-op) every node has applied.
      await c.runUntil(
        () => {
          const l = c.leader();
          return l !== 0 && c.ids.every((id) => c.node(id).appliedIndex === c.node(l).lastLogIndex);
        },
        10_000,
        'a leader and its first entry applied everywhere',
      );
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  // ---- nodes ------------------------------------------------------------------------

  slot(id: number): Slot {
    const s = this.slots.get(id);
    if (s === undefined) throw new Error(`no node ${id}`);
    return s;
  }

  /** The live node `id` (throws if it is down). */
  node(id: number): RaftisNode<TestProposal> {
    const s = this.slot(id);
    if (!s.up) throw new Error(`node ${id} is down`);
    return s.node!;
  }

  up(id: number): boolean {
    return this.slot(id).up;
  }

  upIds(): number[] {
    return this.ids.filter((id) => this.up(id));
  }

  /** The live node that leads in the highest term, if any (0: none). */
  leader(): number {
    let best = 0;
    let term = -1;
    for (const id of this.upIds()) {
      const n = this.node(id);
      if (n.isLeader && n.term > term) {
        best = id;
        term = n.term;
      }
    }
    return best;
  }

  private members(): Member[] {
    return this.ids.map((id) => ({ id, host: '127.0.0.1', port: 6000 + id, clusterPort: 16000 + id }));
  }

  /** Starts a process for the slot (RaftisNode.open runs as the loop runs). */
  private launch(slot: Slot): void {
    const n = ++slot.processes;
    const keyspace = new TrackedKeyspace();
    const inc = new Incarnation(slot.id, n, keyspace, this, this.opts.pauseEvery);
    const view = this.sched.view(`n${slot.id}.${n}`);
    slot.inc = inc;
    slot.view = view;
    slot.keyspace = keyspace;
    slot.node = undefined;
    slot.openError = undefined;
    slot.held.length = 0;
    this.ledger.incarnations.push(inc);
    this.log(`start node ${slot.id}#${n} (${slot.disk.describe()})`);
    const opts: NodeOptions<TestProposal> = {
      id: slot.id,
      dir: slot.dir,
      dbs: new Databases(1, () => keyspace),
      stateMachine: inc,
      members: this.members(),
      onFatal: (err) => this.onFatal(slot, inc, err),
      transport: (events) => this.net.attach(slot.id, view, events),
      openStorage: async (_dir, noFsync) => {
        const log = new MemLog(slot.disk, { started: (w) => this.writeStarted(slot, view, w) });
        slot.log = log;
        return RaftStorage.over(log, noFsync);
      },
      clock: view,
      rng: createPrng((this.seed * 1_000_003 + slot.id * 7_919 + n * 104_729) >>> 0),
      tickMs: this.opts.tickMs,
      electionTick: this.opts.electionTick,
      heartbeatTick: this.opts.heartbeatTick,
      readMode: this.opts.readMode,
      snapshotEntries: this.opts.snapshotEntries,
      snapshotKeepEntries: this.opts.snapshotKeepEntries,
      uncertainWaitMs: this.opts.uncertainWaitMs,
    };
    slot.opening = RaftisNode.open(opts).then(
      (node) => {
        if (inc.dead) return;
        slot.node = node;
        slot.opening = undefined;
        this.log(`node ${slot.id}#${n} open at applied ${node.appliedIndex}`);
        this.ledger.observe(slot.id, node);
        this.checkState(slot, 'after opening');
      },
      (err: unknown) => {
        slot.openError = err;
        slot.opening = undefined;
        this.sched.errors.push({ lane: `open n${slot.id}.${n}`, error: err, at: this.sched.now });
      },
    );
  }

  private writeStarted(slot: Slot, view: ClockView, w: PendingWrite): void {
    slot.writes.push(w);
    if (slot.hold || slot.holdIf?.(w) === true) {
      slot.held.push(w);
      this.log(`hold ${w}`);
      return;
    }
    const [lo, hi] = this.opts.diskDelay;
    view.add(`${view.name}:disk`, lo + Math.floor(this.rng() * (hi - lo + 1)), () => w.complete());
  }

  /** Writes of node id are held until released (or completed, failed, torn one by one). */
  holdWrites(id: number, pred?: (w: PendingWrite) => boolean): void {
    const s = this.slot(id);
    if (pred === undefined) s.hold = true;
    else s.holdIf = pred;
  }

  /** Stops holding node id's writes and completes those held. */
  releaseWrites(id: number): void {
    const s = this.slot(id);
    s.hold = false;
    s.holdIf = undefined;
    for (const w of s.held.splice(0)) this.complete(w);
  }

  /** The held write of node id still in flight, if any. */
  heldWrite(id: number): PendingWrite | undefined {
    return this.slot(id).held.find((w) => w.state === 'pending');
  }

  complete(w: PendingWrite): void {
    this.log(`complete ${w}`);
    w.complete();
  }

  fail(w: PendingWrite): void {
    this.log(`fail ${w}`);
    const inc = this.slot(w.log.disk.id).inc;
    if (inc !== undefined) for (const e of w.entries) inc.failedData.add(e.data.toString('latin1'));
    w.fail();
  }

  private onFatal(slot: Slot, inc: Incarnation, err: Error): void {
    if (inc.dead) return;
    inc.fatal.push(err);
    this.fatals.push({ id: slot.id, n: inc.n, error: err, at: this.sched.now });
    this.log(`fatal on node ${slot.id}#${inc.n}: ${err.message}`);
    // The product exits (src/cli/start.ts): nothing after this runs in that process.
    if (this.opts.onFatal === 'crash' && slot.inc === inc) this.kill(slot, 'lose');
  }

  /**
   * Node id's process dies now. `pending` says what its write in flight (if
   * any) left on the disk: nothing ('lose', the default), all of it
   * ('complete': written, but the process died before it heard), or its
   * first n entries (torn; the hard state only with all of them).
   */
  crash(id: number, pending: PendingFate = 'lose'): void {
    const s = this.slot(id);
    if (s.inc === undefined || s.inc.dead) return;
    this.kill(s, pending);
  }

  private kill(s: Slot, pending: PendingFate): void {
    const inc = s.inc!;
    const w = s.log?.inFlight;
    if (w !== undefined && w.state === 'pending') {
      if (pending === 'lose') w.lose();
      else w.tear(pending === 'complete' ? w.entries.length : pending);
      this.log(`crash node ${s.id}#${inc.n} with ${w} ${pending === 'lose' ? 'lost' : `keeping ${pending === 'complete' ? 'all' : pending} entries`}`);
    } else {
      this.log(`crash node ${s.id}#${inc.n}`);
    }
    inc.dead = true;
    s.view?.kill();
    this.net.detach(s.id);
    s.held.length = 0;
    const node = s.node;
    if (node !== undefined) {
      // What the OS does to a dead process: its timers, sockets and files go.
      node.closed = true;
      node.snapshotter.abort();
      const current = node.snapshotter.current;
      if (current !== undefined) s.reaping.push(current.catch(() => undefined));
      const peers = (node as unknown as { peers?: { close(): Promise<void> } }).peers;
      if (peers !== undefined) s.reaping.push(peers.close().catch(() => undefined));
    }
    s.node = undefined;
  }

  /** Starts a new process for node id on what its disk and directory hold; waits until it is open. */
  async restart(id: number): Promise<void> {
    const s = this.slot(id);
    if (s.inc !== undefined && !s.inc.dead) throw new Error(`node ${id} is up`);
    await Promise.all(s.reaping.splice(0));
    this.launch(s);
    await this.runUntil(() => s.up || s.openError !== undefined, 10_000, `node ${id} open`);
  }

  // ---- writes -------------------------------------------------------------------------

  /** Proposes key=<unique value> on node id (settled by the driver; recorded for the checks). */
  propose(id: number, key = `k${Math.floor(this.rng() * 8)}`): TestProposal {
    const s = this.slot(id);
    const inc = s.inc!;
    const p = new TestProposal(this.nextProposal++, key, `p${this.nextProposal - 1}`, inc, () => this.sched.now);
    this.ledger.proposals.push(p);
    this.node(id).propose(p);
    this.log(`propose ${p.text} on node ${id}: index ${p.index}${p.outcome !== undefined ? ` (${p.outcome})` : ''}`);
    return p;
  }

  // ---- the loop -----------------------------------------------------------------------

  /** Runs the cluster until cond holds; throws if it does not within `forMs` virtual ms. */
  async runUntil(cond: () => boolean, forMs = 10_000, what = 'condition'): Promise<void> {
    await this.sched.run({ until: cond, forMs, what });
    this.throwViolations();
  }

  /** Runs the cluster until `p` settles (driver promises resolve on virtual timers); returns its value. */
  async settle<T>(p: Promise<T>, forMs = 10_000, what = 'a promise'): Promise<T> {
    let done = false;
    const watched = p.finally(() => {
      done = true;
    });
    // Rejections are the caller's to see (below), not unhandled ones.
    watched.catch(() => {});
    await this.runUntil(() => done, forMs, what);
    return watched;
  }

  /** Runs the cluster for `ms` virtual ms. */
  async runFor(ms: number): Promise<void> {
    await this.sched.run({ forMs: ms });
    this.throwViolations();
  }

  async waitForLeader(forMs = 10_000): Promise<number> {
    await this.runUntil(() => this.leader() !== 0, forMs, 'a leader');
    return this.leader();
  }

  /** The core's commit index on live node id. */
  commitOf(id: number): number {
    return this.node(id).rn.raft.raftLog.committed;
  }

  /** Runs until node id has applied up to `index`. */
  async waitApplied(id: number, index: number, forMs = 10_000): Promise<void> {
    await this.runUntil(() => this.up(id) && this.node(id).appliedIndex >= index, forMs, `node ${id} applied ${index}`);
  }

  /**
   * Repairs everything (links, held writes, down nodes) and runs until the
   * live nodes agree: one leader, everyone applied the leader's commit, no
   * live proposal unsettled.
   */
  async converge(forMs = 30_000): Promise<void> {
    this.net.heal();
    this.net.faults = { ...this.net.faults, drop: 0, duplicate: 0, reorder: 0 };
    for (const id of this.ids) this.releaseWrites(id);
    for (const id of this.ids) if (!this.up(id)) await this.restart(id);
    await this.runUntil(
      () => {
        const l = this.leader();
        if (l === 0) return false;
        const commit = this.commitOf(l);
        return (
          this.upIds().every((id) => this.node(id).appliedIndex >= commit && !this.node(id).snapshotter.inProgress) &&
          this.ledger.proposals.every((p) => p.inc.dead || p.outcomes.length > 0)
        );
      },
      forMs,
      'the cluster to converge',
    );
  }

  // ---- checks -------------------------------------------------------------------------

  applied(inc: Incarnation, index: number, data: Buffer, mine: TestProposal | undefined, prev: number): void {
    const text = data.toString('latin1');
    if (index <= prev) this.ledger.violation(`node ${inc.id}#${inc.n} applied ${index} after ${prev}`);
    if (mine !== undefined && (mine.index !== index || mine.text !== text)) {
      this.ledger.violation(`node ${inc.id}#${inc.n} applied ${text} at ${index} with ${mine} as mine`);
    }
    if (mine !== undefined && inc.failedData.has(mine.text)) this.ledger.violation(`node ${inc.id}#${inc.n} applied its own ${mine.text}, whose write had failed`);
    // Nothing is applied before it is durable: here, and on a quorum (a disk
    // compacted past it holds it in a snapshot: only applied entries are compacted).
    const holders = this.ids.filter((id) => {
      const d = this.slot(id).disk;
      return d.entry(index)?.data.equals(data) === true || (id !== inc.id && d.compactIndex >= index);
    });
    if (!holders.includes(inc.id)) {
      this.ledger.violation(`node ${inc.id}#${inc.n} applied ${text} at ${index}, which its disk does not hold (${this.slot(inc.id).disk.entry(index)?.data.toString('latin1') ?? 'nothing'} there)`);
    }
    if (holders.length * 2 <= this.ids.length) this.ledger.violation(`node ${inc.id}#${inc.n} applied ${text} at ${index}, durable only on ${holders.join(',') || 'no disk'}`);
  }

  aheadProblem(inc: Incarnation, problem: string): void {
    this.ledger.violation(`node ${inc.id}#${inc.n}: ${problem}`);
  }

  restored(inc: Incarnation): void {
    const s = this.slot(inc.id);
    inc.restorePoints.push({ at: inc.applied.length, index: s.inc === inc ? s.node?.appliedIndex : undefined });
    if (s.inc === inc && s.node !== undefined) {
      this.log(`node ${inc.id}#${inc.n} installed a snapshot at ${s.node.appliedIndex}`);
      this.checkState(s, 'after installing a snapshot');
    }
  }

  /** The node's keyspace must be the committed log's state at its applied index. */
  private checkState(s: Slot, when: string): void {
    const node = s.node;
    if (node === undefined || s.inc === undefined) return;
    const problem = this.stateProblem(s.inc, node.appliedIndex);
    if (problem !== undefined) this.ledger.violation(`node ${s.id}#${s.inc.n} ${when}: ${problem}`);
  }

  private stateProblem(inc: Incarnation, index: number): string | undefined {
    const want = this.ledger.stateAt(index);
    if (want === undefined) return `the committed log up to ${index} is not fully known`;
    const got = inc.state();
    const diff: string[] = [];
    for (const [k, v] of want) if (got.get(k) !== v) diff.push(`${k}: ${got.get(k) ?? 'absent'} (want ${v})`);
    for (const [k, v] of got) if (!want.has(k)) diff.push(`${k}: ${v} (want absent)`);
    return diff.length === 0 ? undefined : `state at applied ${index} differs: ${diff.join('; ')}`;
  }

  /** The snapshot files in node id's directory: their metadata and the key/value state they hold. */
  snapshotFiles(id: number): { file: string; meta: SnapshotMeta; state: Map<string, string> }[] {
    return listSnapshotFiles(snapshotDir(this.slot(id).dir)).map((f) => {
      const state = new Map<string, string>();
      const { meta } = readSnapshotFile(f.file, (k, v) => {
        if (typeof v === 'string') state.set(k, v);
      });
      return { file: f.file, meta, state };
    });
  }

  /** Problems with a snapshot file: its term is not the committed term at its index, or its state not the state there. */
  private snapshotProblems(id: number): string[] {
    const out: string[] = [];
    for (const { file, meta, state } of this.snapshotFiles(id)) {
      const name = `node ${id}'s snapshot ${path.basename(file)}`;
      const c = this.ledger.committed.get(meta.index);
      if (c === undefined) out.push(`${name}: index ${meta.index} is not known committed`);
      else if (c.term !== meta.term) out.push(`${name}: term ${meta.term}, the committed entry at ${meta.index} has term ${c.term}`);
      const want = this.ledger.stateAt(meta.index);
      if (want === undefined) out.push(`${name}: the committed log up to ${meta.index} is not fully known`);
      else if (!sameState(state, want)) out.push(`${name}: its keys are not the committed state at ${meta.index}`);
    }
    return out;
  }

  /** Every check; returns the problems (empty: all good). */
  problems(): string[] {
    const out = this.ledger.check();
    for (const s of this.slots.values()) {
      if (s.log !== undefined) out.push(...s.log.violations);
      if (s.up) {
        const p = this.stateProblem(s.inc!, s.node!.appliedIndex);
        if (p !== undefined) out.push(`node ${s.id}: ${p}`);
      }
      out.push(...this.snapshotProblems(s.id));
    }
    return [...new Set(out)];
  }

  /** Throws with every problem found. */
  verify(): void {
    const p = this.problems();
    if (p.length > 0) throw new Error(`${p.length} problem(s):\n  ${p.slice(0, 20).join('\n  ')}`);
  }

  private throwViolations(): void {
    const v = this.ledger.violations;
    if (v.length > 0) throw new Error(`violation: ${v[0]}${v.length > 1 ? ` (and ${v.length - 1} more)` : ''}`);
    for (const s of this.slots.values()) if (s.log !== undefined && s.log.violations.length > 0) throw new Error(`storage contract: ${s.log.violations[0]}`);
  }

  // ---- reports ------------------------------------------------------------------------

  log(line: string): void {
    if (this.opts.traceSize === 0) return;
    this.trace.push(`${String(this.sched.now - EPOCH_MS).padStart(6)} ${line}`);
    if (this.trace.length > this.opts.traceSize) this.trace.shift();
  }

  private noteLeader(): void {
    const l = this.leader();
    if (l !== 0 && l !== this.lastLeader) {
      this.lastLeader = l;
      this.log(`node ${l} leads (term ${this.node(l).term})`);
    }
  }

  traceText(): string {
    return this.trace.join('\n');
  }

  /** Each node's state now (for failure reports). */
  describe(): string {
    const lines: string[] = [];
    for (const s of this.slots.values()) {
      const head = `node ${s.id}#${s.processes}`;
      if (!s.up) {
        lines.push(`${head}: down; disk ${s.disk.describe()}`);
        continue;
      }
      const n = s.node!;
      const st = n.status();
      const log = n.rn.raft.raftLog;
      const w = s.log?.inFlight;
      lines.push(
        `${head}: ${st.role} term ${st.term} vote ${st.vote} lead ${st.lead} commit ${st.commit} applied ${n.appliedIndex} ` +
          `log ${log.firstIndex()}..${log.lastIndex()} (last term ${log.lastEntryId().term}) stable ${n.rn.stableIndex()}` +
          `${w ? `; in flight: ${w}${s.held.includes(w) ? ' (held)' : ''}` : ''}` +
          `${st.progress.length > 0 ? `; progress ${st.progress.map((p) => `${p.id}:${p.text}`).join(' ')}` : ''}` +
          `${sending(n).length > 0 ? `; sending snapshots to ${sending(n).join(',')}` : ''}${receiving(n) ? '; verifying a received snapshot' : ''}` +
          `; disk ${s.disk.describe()}`,
      );
    }
    const open = this.ledger.proposals.filter((p) => !p.inc.dead && p.outcomes.length === 0);
    if (open.length > 0) lines.push(`unsettled proposals of live processes (${open.length}): ${open.slice(0, 5).join('; ')}`);
    const cuts = this.ids.flatMap((a) => this.ids.filter((b) => a !== b && this.net.isCut(a, b)).map((b) => `${a}>${b}`));
    lines.push(`cut links: ${cuts.join(' ') || 'none'}; virtual time ${this.sched.now - EPOCH_MS} ms`);
    return lines.join('\n');
  }

  /** Kills every process, waits for their real work, removes the directories. */
  async close(): Promise<void> {
    for (const s of this.slots.values()) {
      if (s.inc !== undefined && !s.inc.dead) this.kill(s, 'lose');
    }
    for (const s of this.slots.values()) {
      await Promise.all(s.reaping.splice(0));
      fs.rmSync(s.dir, { recursive: true, force: true });
      liveDirs.delete(s.dir);
    }
  }
}

/** Followers node is streaming a snapshot to (the driver's private SnapshotSender; [] if renamed). */
function sending(node: RaftisNode<TestProposal>): number[] {
  const peers = (node as unknown as { peers?: { sender?: { active?: number[] } } }).peers;
  return peers?.sender?.active ?? [];
}

function sameState(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/**
 * Whether node's snapshot receiver is verifying a received file (real I/O:
 * an fsync, then an acknowledgement). Read from the driver's private
 * fields; if they are renamed this returns false, and only determinism is
 * lost (the loop does not wait for that I/O).
 */
function receiving(node: RaftisNode<TestProposal>): boolean {
  const peers = (node as unknown as { peers?: { receiver?: { cur?: { verifying?: boolean } } } }).peers;
  return peers?.receiver?.cur?.verifying === true;
}

/** Runs fn on a new cluster and always closes it; a failure names the seed and the last events. */
export async function withCluster<T>(opts: ClusterOptions, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await Cluster.start(opts);
  const onRejection = (e: unknown): void => {
    c.sched.errors.push({ lane: 'unhandled rejection', error: e, at: c.sched.now });
  };
  process.on('unhandledRejection', onRejection);
  try {
    return await fn(c);
  } catch (e) {
    const err = e as Error;
    let state: string;
    try {
      state = c.describe();
    } catch (d) {
      state = `(cannot describe: ${(d as Error).message})`;
    }
    err.message = `[seed ${opts.seed}] ${err.message}\n--- nodes ---\n${state}\n--- last events ---\n${c.traceText()}`;
    throw err;
  } finally {
    process.off('unhandledRejection', onRejection);
    await c.close();
  }
}
