/**
 * Virtual time for the driver harness: one Scheduler per simulated cluster,
 * a ClockView (src/util/clock.ts's Clock) per node over it.
 *
 * Every timer, immediate and time read of the driver goes through its Clock,
 * so the Scheduler decides when each runs. Tasks sit in lanes; a lane is
 * ordered (by due time, then creation), so its head is the only one that
 * may run next: a node's immediates (FIFO, like setImmediate), a node's
 * timers (by due time, like Node's timer list), one network link (FIFO,
 * like a TCP connection), a node's disk. Between lanes order is free: the
 * loop picks among the lanes whose head is due with the seeded PRNG, so a
 * seed chooses one interleaving of the nodes, the network and the disks,
 * and replays it exactly. When no head is due, virtual time jumps to the
 * next due task.
 *
 * Between two tasks the loop drains the microtask queue (the driver's
 * promise chains: a write the harness completed, an advance) with
 * process.nextTick, which runs only once the microtask queue is empty and
 * lets no real I/O in, so promise continuations stay in the seeded order.
 *
 * Where determinism stops: real I/O. Snapshot files are written and read
 * with real fs calls and real timers (src/node/snapshotter.ts,
 * snapshot-transfer.ts). The loop lets real I/O complete by yielding to the
 * real event loop (setImmediate) only when no virtual task is due and the
 * cluster reports real work pending (`realPending`): in 'freeze' mode
 * (default) virtual time does not move until that work is done, so a
 * snapshot completes at one point of the virtual schedule, and the run
 * stays a function of the seed, unless a real continuation schedules
 * virtual work while more real I/O is still pending (it does not today) or
 * real work the cluster cannot see is pending (covering()'s setImmediate on
 * a learner's join; not exercised). In 'run' mode virtual time goes on
 * while real I/O runs (at least 1 ms of real time per jump of virtual time,
 * so slow I/O does not span unbounded virtual time): a snapshot overlaps
 * many virtual steps, at a point that depends on the machine; outcomes are
 * still checked, but a seed does not replay exactly.
 */
import type { Clock, TimerHandle } from '../../../src/util/clock.js';

/** Virtual time starts at a fixed wall-clock-like instant (2023-11-14T22:13:20Z). */
export const EPOCH_MS = 1_700_000_000_000;

export class Task implements TimerHandle {
  cancelled = false;
  constructor(
    readonly lane: string,
    public due: number,
    public seq: number,
    readonly fn: () => void,
    readonly owner: ClockView | undefined,
    /** Re-armed after each run (setInterval), every `every` ms. */
    readonly every: number | undefined,
    /** The process the task runs in, if not its owner (a delivery: the receiver); it waits while that one is frozen. */
    readonly runsIn: ClockView | undefined = owner,
  ) {}

  /** Its process is stopped (ClockView.frozen): it cannot run yet. */
  get held(): boolean {
    return this.runsIn?.frozen === true;
  }

  unref(): void {}
}

export class StepBoundError extends Error {}

export interface RunOptions {
  /** Stop when this holds (checked between tasks). */
  until?: () => boolean;
  /** Virtual ms from now after which the run stops (throws if `until` was given and never held). */
  forMs?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

export type RealIoMode = 'freeze' | 'run';

export class Scheduler {
  now = EPOCH_MS;
  /** Tasks run so far. */
  steps = 0;
  /** Times the loop yielded to the real event loop to let real I/O finish. */
  realYields = 0;
  private seq = 0;
  private readonly lanes = new Map<string, Task[]>();
  /** A task threw: the driver threw (the run stops and reports it). */
  readonly errors: { lane: string; error: unknown; at: number }[] = [];
  /** Called between tasks: the cluster records what it observes (committed entries). */
  observe: () => void = () => {};
  /** Whether real I/O the run must wait for is in progress (snapshot files). */
  realPending: () => boolean = () => false;
  realIo: RealIoMode = 'freeze';
  /** Bound on real time spent waiting for real I/O in one wait. */
  realWaitLimitMs = 20_000;

  constructor(
    private readonly rng: () => number,
    /** Bound on tasks over the whole life of the scheduler: a livelock fails instead of hanging. */
    readonly maxSteps = 2_000_000,
  ) {}

  view(name: string): ClockView {
    return new ClockView(this, name);
  }

  schedule(lane: string, delay: number, fn: () => void, owner?: ClockView, every?: number, runsIn: ClockView | undefined = owner): Task {
    const t = new Task(lane, this.now + Math.max(0, delay), this.seq++, fn, owner, every, runsIn);
    this.insert(t);
    return t;
  }

  private insert(t: Task): void {
    let q = this.lanes.get(t.lane);
    if (q === undefined) {
      q = [];
      this.lanes.set(t.lane, q);
    }
    let i = q.length;
    while (i > 0 && (q[i - 1]!.due > t.due || (q[i - 1]!.due === t.due && q[i - 1]!.seq > t.seq))) i--;
    q.splice(i, 0, t);
  }

  cancel(t: Task): void {
    if (t.cancelled) return;
    t.cancelled = true;
    const q = this.lanes.get(t.lane);
    if (q === undefined) return;
    const i = q.indexOf(t);
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) this.lanes.delete(t.lane);
  }

  /** The due time of the lane with the earliest head, if any task is scheduled (a frozen node's lanes wait). */
  nextDue(): number | undefined {
    let best: number | undefined;
    for (const q of this.lanes.values()) {
      if (q[0]!.held) continue;
      const d = q[0]!.due;
      if (best === undefined || d < best) best = d;
    }
    return best;
  }

  /** Tasks scheduled in lanes whose name starts with `prefix` (for tests that check what is pending). */
  pending(prefix: string): number {
    let n = 0;
    for (const [lane, q] of this.lanes) if (lane.startsWith(prefix)) n += q.length;
    return n;
  }

  /** Runs one due task, picked among the due lane heads by the PRNG; false if none is due. */
  step(): boolean {
    const due: Task[][] = [];
    for (const q of this.lanes.values()) if (q[0]!.due <= this.now && !q[0]!.held) due.push(q);
    if (due.length === 0) return false;
    const q = due.length === 1 ? due[0]! : due[Math.floor(this.rng() * due.length)]!;
    const t = q.shift()!;
    if (q.length === 0) this.lanes.delete(t.lane);
    if (this.steps++ >= this.maxSteps) throw new StepBoundError(`the scheduler ran ${this.maxSteps} tasks: a livelock?`);
    if (t.every !== undefined) {
      t.due = this.now + t.every;
      t.seq = this.seq++;
      this.insert(t);
    } else {
      t.owner?.forget(t);
    }
    try {
      t.fn();
    } catch (e) {
      this.errors.push({ lane: t.lane, error: e, at: this.now });
    }
    return true;
  }

  /**
   * Runs tasks until `until` holds or `forMs` of virtual time has passed.
   * Returns whether `until` held (true when there is none and the time ran out).
   * Throws when a task threw, or when `until` was given and did not hold in time.
   */
  async run(opts: RunOptions): Promise<boolean> {
    const deadline = this.now + (opts.forMs ?? 60_000);
    let sinceYield = 0;
    for (;;) {
      await drain();
      this.observe();
      this.throwErrors();
      if (opts.until?.() === true) return true;
      if (this.step()) {
        // Let the real event loop breathe now and then, never while real I/O is pending
        // (it would complete at a point of the virtual schedule no seed decides).
        if (++sinceYield >= 5000 && !this.realPending()) {
          sinceYield = 0;
          await realYield();
        }
        continue;
      }
      if (this.realPending()) {
        if (this.realIo === 'freeze') {
          await this.waitReal();
          continue;
        }
        // Virtual time goes on, paced by real time (at least 1 ms of it per jump),
        // so slow real I/O does not last an unbounded span of virtual time.
        await new Promise((r) => setTimeout(r, 1));
        this.realYields++;
      }
      const next = this.nextDue();
      if (next === undefined || next > deadline) {
        this.now = Math.max(this.now, deadline);
        if (opts.until === undefined) return true;
        throw new Error(`${opts.what ?? 'condition'} did not hold within ${opts.forMs ?? 60_000} virtual ms (virtual time ${this.now - EPOCH_MS} ms, ${this.steps} tasks)`);
      }
      this.now = next;
    }
  }

  /** Yields to the real event loop until no real I/O is pending or a virtual task became due. */
  private async waitReal(): Promise<void> {
    const started = Date.now();
    while (this.realPending()) {
      await realYield();
      this.realYields++;
      await drain();
      if (this.hasDue()) return;
      if (Date.now() - started > this.realWaitLimitMs) throw new Error(`real I/O still pending after ${this.realWaitLimitMs} ms of real time`);
      // Real I/O taking a while (an fsync): sleep a little instead of spinning.
      if (this.realYields % 64 === 0) await new Promise((r) => setTimeout(r, 1));
    }
  }

  private hasDue(): boolean {
    for (const q of this.lanes.values()) if (q[0]!.due <= this.now && !q[0]!.held) return true;
    return false;
  }

  throwErrors(): void {
    const e = this.errors[0];
    if (e === undefined) return;
    const err = e.error instanceof Error ? e.error : new Error(String(e.error));
    throw new Error(`a task in lane ${e.lane} threw at virtual ${e.at - EPOCH_MS} ms: ${err.message}`, { cause: err });
  }
}

/** A node's Clock: its immediates and timers are tasks of its own lanes; kill() is the process dying. */
export class ClockView implements Clock {
  private alive = true;
  /**
   * The process is stopped (SIGSTOP, swapped out): none of its tasks runs
   * (its timers, immediates, disk, deliveries to it wait, as in a stopped
   * process's timer list and socket buffers) while virtual time goes on; on
   * thaw they run as overdue, an interval timer once, as Node's do.
   */
  frozen = false;
  private readonly tasks = new Set<Task>();

  constructor(
    private readonly sched: Scheduler,
    readonly name: string,
  ) {}

  get isAlive(): boolean {
    return this.alive;
  }

  now(): number {
    return this.sched.now;
  }

  monotonic(): number {
    return this.sched.now - EPOCH_MS;
  }

  immediate(fn: () => void): void {
    this.add(`${this.name}:immediate`, 0, fn);
  }

  timeout(fn: () => void, ms: number): TimerHandle {
    // Like Node: a delay below 1 ms is 1 ms.
    return this.add(`${this.name}:timers`, Math.max(1, ms), fn);
  }

  interval(fn: () => void, ms: number): TimerHandle {
    const every = Math.max(1, ms);
    return this.add(`${this.name}:timers`, every, fn, every);
  }

  clear(h: TimerHandle | undefined): void {
    if (!(h instanceof Task)) return;
    this.tasks.delete(h);
    this.sched.cancel(h);
  }

  /** A task in another lane owned by this view (its disk, deliveries to it): dies with it. */
  add(lane: string, delay: number, fn: () => void, every?: number): Task {
    if (!this.alive) {
      // The process is gone: nothing it schedules will run.
      const t = new Task(lane, 0, -1, fn, this, every);
      t.cancelled = true;
      return t;
    }
    const t = this.sched.schedule(lane, delay, fn, this, every);
    this.tasks.add(t);
    return t;
  }

  forget(t: Task): void {
    this.tasks.delete(t);
  }

  /** The process died: none of its tasks runs again. */
  kill(): void {
    this.alive = false;
    for (const t of this.tasks) this.sched.cancel(t);
    this.tasks.clear();
  }
}

/** Resolves once the microtask queue is empty, without letting real I/O run. */
export function drain(): Promise<void> {
  return new Promise((r) => process.nextTick(r));
}

/** One turn of the real event loop (real I/O callbacks may run). */
export function realYield(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
