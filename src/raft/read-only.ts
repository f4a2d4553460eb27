/**
 * Bookkeeping for linearizable reads on the leader (ReadIndex, raft thesis
 * §6.4), batched by heartbeat round.
 *
 * Every heartbeat broadcast is a numbered round whose number travels in the
 * heartbeat's context and comes back in the response. A follower answering
 * round s proves it still followed this leader after round s was sent, and so
 * also after every earlier round: we keep only the highest round each peer
 * answered, and the highest round answered by a quorum is "confirmed".
 *
 * Read requests wait in `pending` until a round starts; that round records
 * the commit index and carries all of them. When it is confirmed they are
 * answered with that index. So all reads that arrive before a round share one
 * quorum confirmation, and only one read-carrying round is in flight at a
 * time; reads arriving meanwhile form the next batch.
 *
 * Confirmed rounds also give the leader lease: the send tick of the latest
 * confirmed round bounds when the followers last promised not to vote for
 * anyone else (they ignore votes for electionTimeout ticks after hearing from
 * the leader).
 */
import { committedIndex } from './quorum.js';

/** The answer to a read request: reads are linearizable once applied >= index. */
export interface ReadState {
  index: number;
  requestCtx: Buffer;
}

export interface ReadRequest {
  /** Node that asked (the leader itself or a follower that forwarded it). */
  from: number;
  ctx: Buffer;
}

export interface ReadRound {
  seq: number;
  /** Leader tick at which the round's heartbeats were sent. */
  sentTick: number;
  /** Commit index when the round started: the read index of its requests. */
  index: number;
  requests: ReadRequest[];
}

/** Unconfirmed rounds kept at most; older empty ones are forgotten (only costs lease precision). */
const MAX_ROUNDS = 256;

export const ROUND_CONTEXT_BYTES = 8;

export function encodeRoundContext(seq: number): Buffer {
  const b = Buffer.allocUnsafe(ROUND_CONTEXT_BYTES);
  b.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
  b.writeUInt32BE(seq >>> 0, 4);
  return b;
}

export function decodeRoundContext(ctx: Buffer): number | undefined {
  if (ctx.length !== ROUND_CONTEXT_BYTES) return undefined;
  return ctx.readUInt32BE(0) * 2 ** 32 + ctx.readUInt32BE(4);
}

export class ReadOnly {
  private pending: ReadRequest[] = [];
  private rounds: ReadRound[] = [];
  private readonly acked = new Map<number, number>();
  /** Round numbers keep increasing across terms so a late answer can never be mistaken for a new one. */
  private lastSeq = 0;
  private confirmedSeq = 0;
  /** Send tick of the latest confirmed round, if any in this term. */
  leaseStartTick: number | undefined = undefined;

  /** Forgets everything of the previous leadership (requests are dropped, callers time out). */
  reset(): void {
    this.pending = [];
    this.rounds = [];
    this.acked.clear();
    this.broadcastSeq = 0;
    this.answeredBroadcast.length = 0;
    this.confirmedSeq = this.lastSeq;
    this.leaseStartTick = undefined;
  }

  addRequest(req: ReadRequest): void {
    this.pending.push(req);
  }

  /** A round carrying requests is waiting for its quorum. */
  readRoundInFlight(): boolean {
    return this.rounds.some((r) => r.requests.length > 0);
  }

  /** Whether a new round should start now to serve waiting requests. */
  shouldFlush(): boolean {
    return this.pending.length > 0 && !this.readRoundInFlight();
  }

  /** Starts a round carrying every pending request; returns the context for its heartbeats. */
  startRound(index: number, tick: number): Buffer {
    const seq = ++this.lastSeq;
    this.rounds.push({ seq, sentTick: tick, index, requests: this.pending });
    this.pending = [];
    if (this.rounds.length > MAX_ROUNDS) {
      const i = this.rounds.findIndex((r) => r.requests.length === 0);
      if (i >= 0) this.rounds.splice(i, 1);
    }
    return encodeRoundContext(seq);
  }

  /** The latest round `id` answered in this term (0: none). */
  lastAcked(id: number): number {
    return this.acked.get(id) ?? 0;
  }

  /** The latest round sent to every member (the heartbeat broadcast), and who answered it, first first. */
  private broadcastSeq = 0;
  readonly answeredBroadcast: number[] = [];

  /** The round just started (startRound) went to every member. */
  markBroadcast(): void {
    this.broadcastSeq = this.lastSeq;
    this.answeredBroadcast.length = 0;
  }

  /** Records that `from` answered the round in `ctx`. Returns false if ctx is not a round of ours. */
  recvAck(from: number, ctx: Buffer): boolean {
    const seq = decodeRoundContext(ctx);
    if (seq === undefined || seq > this.lastSeq) return false;
    if (seq > (this.acked.get(from) ?? 0)) this.acked.set(from, seq);
    if (seq === this.broadcastSeq && !this.answeredBroadcast.includes(from)) this.answeredBroadcast.push(from);
    return true;
  }

  /**
   * Rounds newly confirmed by a quorum of `voters` (the leader `self` answers
   * every round it starts), oldest first. Their requests can be answered.
   */
  confirm(voters: readonly number[], self: number): ReadRound[] {
    const q = committedIndex(voters, (id) => (id === self ? this.lastSeq : this.acked.get(id)));
    if (q <= this.confirmedSeq) return [];
    this.confirmedSeq = Math.min(q, this.lastSeq);
    let n = 0;
    while (n < this.rounds.length && (this.rounds[n] as ReadRound).seq <= this.confirmedSeq) n++;
    const done = this.rounds.splice(0, n);
    const latest = done[done.length - 1];
    if (latest !== undefined) this.leaseStartTick = Math.max(this.leaseStartTick ?? latest.sentTick, latest.sentTick);
    return done;
  }
}
