/**
 * Reads: the linearizable read barrier (ReadIndex) and waits for an index
 * to be applied.
 *
 * All reads of one event-loop turn share one ReadIndex request (its context
 * is a sequence number), and the core batches requests into one heartbeat
 * round; when the round confirms this node still leads, each read of the
 * batch is served once the state machine has applied the read index.
 */
import type { RawNode, ReadState } from '../raft/index.js';

export class Reads {
  private queue: ((ok: boolean) => void)[] = [];
  private readonly batches = new Map<number, ((ok: boolean) => void)[]>();
  private seq = 0;
  /** ReadIndex requests sent to the core (each shares one quorum round among a turn's reads). */
  rounds = 0;
  /**
   * Times flush() took the queue: a caller that queued one callback for
   * several reads (commands/engine/dispatch.ts) may add reads to it only
   * while this has not moved since (they must go in the same request, made
   * after each of them arrived).
   */
  turn = 0;
  /** Callbacks waiting for an index to be applied, by index. */
  private readonly waiters = new Map<number, (() => void)[]>();
  /**
   * Whether reads must wait whatever the applied index (StateMachine.busy: a
   * script paused between slices, its writes half done): they run, in order,
   * once it is false again.
   */
  blocked: () => boolean = () => false;
  private held: (() => void)[] = [];
  private readonly releaseHeld = (): void => {
    if (this.blocked()) {
      setImmediate(this.releaseHeld);
      return;
    }
    const held = this.held;
    this.held = [];
    for (const fn of held) fn();
  };

  /**
   * Brings the core's ticks up to the monotonic clock (RaftisNode.catchUpTicks)
   * before a request goes to it: in lease mode the core answers from its
   * lease at once, and must judge it with the time a stall took counted.
   */
  catchUp: () => void = () => {};

  /** Reads wait for the next Ready to be sent as one request. */
  get queued(): boolean {
    return this.queue.length > 0;
  }

  /** Queues a read; cb(true) once it may be served, cb(false) if this node cannot confirm it leads. */
  add(cb: (ok: boolean) => void): void {
    this.queue.push(cb);
  }

  /** Sends this turn's reads as one ReadIndex request. */
  flush(rn: RawNode): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.turn++;
    if (!rn.isLeader()) {
      for (const cb of batch) cb(false);
      return;
    }
    this.catchUp();
    // Catching up may have deposed us (check quorum).
    if (!rn.isLeader()) {
      for (const cb of batch) cb(false);
      return;
    }
    this.rounds++;
    const seq = ++this.seq;
    const ctx = Buffer.allocUnsafe(8);
    ctx.writeDoubleBE(seq);
    this.batches.set(seq, batch);
    try {
      rn.readIndex(ctx);
    } catch {
      this.batches.delete(seq);
      for (const cb of batch) cb(false);
    }
  }

  /** ReadIndex answers: serve each batch once the state machine reaches its index. */
  answer(states: readonly ReadState[], appliedIndex: number): void {
    for (const rs of states) {
      const seq = rs.requestCtx.length === 8 ? rs.requestCtx.readDoubleBE(0) : -1;
      const batch = this.batches.get(seq);
      if (!batch) continue;
      this.batches.delete(seq);
      this.whenApplied(rs.index, appliedIndex, () => {
        for (const cb of batch) cb(true);
      });
    }
  }

  /** This node stopped leading: reads not yet confirmed cannot be served by it. */
  deposed(): void {
    for (const batch of this.batches.values()) for (const cb of batch) cb(false);
    this.batches.clear();
    this.turn++;
    for (const cb of this.queue.splice(0)) cb(false);
  }

  /** Runs fn once every entry up to `index` has been applied (at once if `appliedIndex` has reached it). */
  whenApplied(index: number, appliedIndex: number, fn: () => void): void {
    if (index <= appliedIndex) {
      if (this.held.length > 0 || this.blocked()) {
        if (this.held.length === 0) setImmediate(this.releaseHeld);
        this.held.push(fn);
        return;
      }
      fn();
      return;
    }
    const list = this.waiters.get(index);
    if (list) list.push(fn);
    else this.waiters.set(index, [fn]);
  }

  /** The entry at `index` was applied. */
  applied(index: number): void {
    if (this.waiters.size === 0) return;
    const list = this.waiters.get(index);
    if (list) {
      this.waiters.delete(index);
      for (const fn of list) fn();
    }
  }

  /** A snapshot moved the applied index to `index`: every wait up to it is over. */
  appliedUpTo(index: number): void {
    for (const [i, list] of this.waiters) {
      if (i > index) continue;
      this.waiters.delete(i);
      for (const fn of list) fn();
    }
  }
}
