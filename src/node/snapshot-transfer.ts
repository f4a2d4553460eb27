/**
 * InstallSnapshot, chunked: the leader streams a snapshot file to a follower
 * whose next entry was compacted away, then hands the Raft core's MsgSnap
 * (metadata only) to the transport. The follower writes the chunks to a
 * temporary file, verifies the whole file (checksum, index and term) and
 * renames it into its snapshot directory before it acknowledges the end, so
 * when MsgSnap reaches its core the file is there to be loaded.
 *
 * Frames (src/transport/frame.ts), little-endian:
 *   SnapshotChunk    f64 index · f64 term · f64 offset · f64 total · bytes
 *   SnapshotChunkAck f64 index · f64 term · f64 received · u8 status
 * status: 0 progress (the receiver holds `received` bytes; also the answer
 * to a chunk it already holds, so a retry jumps ahead to where an earlier
 * attempt stopped), 1 complete and verified, 2 failed (the file did not
 * verify; the sender gives up), 3 resume at `received` (a chunk started past
 * the end of the receiver's file: chunks were lost with a connection).
 *
 * Flow control: at most WINDOW bytes sent and not acknowledged. One transfer
 * per follower at a time; one incoming transfer per follower (a newer
 * snapshot replaces a partial older one). A transfer with no acknowledgement
 * for STALL_MS fails, and Raft retries later; the receiver keeps its partial
 * file, so the next attempt resumes where this one stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MessageType, type Message } from '../raft/index.js';
import { CorruptDataError } from '../storage/errors.js';
import { snapshotDir, snapshotFileName, syncDir, verifySnapshotFile } from '../storage/snapshot-file.js';
import { FrameType } from '../transport/frame.js';
import { createLogger } from '../util/log.js';

const log = createLogger('snapshot');

export const CHUNK_BYTES = 256 * 1024;
const WINDOW = 4 * CHUNK_BYTES;
const STALL_MS = 10_000;
const HEADER = 32;

const enum AckStatus {
  Progress = 0,
  Complete = 1,
  Failed = 2,
  Resume = 3,
}

type SendFrame = (to: number, type: FrameType.SnapshotChunk | FrameType.SnapshotChunkAck, body: Buffer) => boolean;

interface Outgoing {
  msg: Message;
  index: number;
  term: number;
  fd: number;
  total: number;
  next: number;
  acked: number;
  lastProgress: number;
  startedAt: number;
  /** The last "resume at" point acted on. */
  resumedAt: number;
}

/** Leader side: one transfer per follower. */
export class SnapshotSender {
  private readonly out = new Map<number, Outgoing>();
  /** Transfers ended, by outcome (the operator's /metrics). */
  sent = 0;
  failed = 0;

  constructor(
    private readonly dataDir: string,
    private readonly send: SendFrame,
    /** The transfer to `to` ended: on success the caller sends msg and reports 'finish', else reports 'failure'. */
    private readonly done: (to: number, msg: Message, ok: boolean) => void,
    /** The driver's clock (src/util/clock.ts), for progress and the stall limit. */
    private readonly now: () => number = Date.now,
  ) {}

  /** Follower ids with a transfer in flight. */
  get active(): number[] {
    return [...this.out.keys()];
  }

  /** Takes a MsgSnap from the core: streams its file first. */
  start(msg: Message): void {
    if (msg.type !== MessageType.Snap || msg.snapshot === undefined) return;
    if (this.out.has(msg.to)) return; // at most one transfer per follower
    const { index, term } = msg.snapshot.metadata;
    const file = path.join(snapshotDir(this.dataDir), snapshotFileName(index, term));
    let fd: number;
    let total: number;
    try {
      fd = fs.openSync(file, 'r');
      total = fs.fstatSync(fd).size;
    } catch (e) {
      log.error(`cannot send snapshot ${index} to node ${msg.to}: ${(e as Error).message}`);
      this.failed++;
      this.done(msg.to, msg, false);
      return;
    }
    const now = this.now();
    const t: Outgoing = { msg, index, term, fd, total, next: 0, acked: 0, lastProgress: now, startedAt: now, resumedAt: -1 };
    this.out.set(msg.to, t);
    log.info(`sending snapshot ${index} (term ${term}, ${total} bytes) to node ${msg.to}`);
    this.pump(msg.to, t);
  }

  private pump(to: number, t: Outgoing): void {
    // The first chunk goes alone: the answer may say the follower already
    // holds part of the file (an earlier attempt), and the rest starts there.
    const window = t.acked === 0 ? CHUNK_BYTES : WINDOW;
    while (t.next < t.total && t.next - t.acked < window) {
      const len = Math.min(CHUNK_BYTES, t.total - t.next);
      const body = Buffer.allocUnsafe(HEADER + len);
      body.writeDoubleLE(t.index, 0);
      body.writeDoubleLE(t.term, 8);
      body.writeDoubleLE(t.next, 16);
      body.writeDoubleLE(t.total, 24);
      const n = fs.readSync(t.fd, body, HEADER, len, t.next);
      if (n !== len) {
        this.finish(to, t, false, `snapshot file shrank while being sent (read ${n} of ${len} bytes at ${t.next})`);
        return;
      }
      if (!this.send(to, FrameType.SnapshotChunk, body)) {
        this.finish(to, t, false, 'no connection');
        return;
      }
      t.next += len;
    }
  }

  onAck(from: number, body: Buffer): void {
    if (body.length !== 25) {
      log.warn(`ignoring a malformed snapshot acknowledgement from node ${from} (${body.length} bytes)`);
      return;
    }
    const t = this.out.get(from);
    if (t === undefined || body.readDoubleLE(0) !== t.index || body.readDoubleLE(8) !== t.term) return;
    const received = body.readDoubleLE(16);
    const status = body[24] as AckStatus;
    t.lastProgress = this.now();
    if (status === AckStatus.Complete) {
      this.finish(from, t, true);
      return;
    }
    if (status === AckStatus.Failed) {
      this.finish(from, t, false, 'the follower could not verify the file');
      return;
    }
    if (received < 0 || received > t.total) {
      this.finish(from, t, false, `the follower acknowledged ${received} of ${t.total} bytes`);
      return;
    }
    if (status === AckStatus.Resume) {
      // Every chunk after the gap is answered with the same resume point: rewind once.
      if (t.resumedAt === received) return;
      t.resumedAt = received;
      t.next = received;
    } else if (received > t.next) {
      t.next = received;
    }
    t.acked = Math.max(t.acked, received);
    if (status === AckStatus.Resume) t.acked = received;
    this.pump(from, t);
  }

  /** Fails transfers that made no progress for a while (called on ticks). */
  check(now = this.now()): void {
    for (const [to, t] of this.out) {
      if (now - t.lastProgress > STALL_MS) this.finish(to, t, false, `no acknowledgement for ${STALL_MS / 1000} s`);
    }
  }

  private finish(to: number, t: Outgoing, ok: boolean, why?: string): void {
    this.out.delete(to);
    fs.closeSync(t.fd);
    if (ok) this.sent++;
    else this.failed++;
    if (ok) log.info(`snapshot ${t.index} sent to node ${to} (${t.total} bytes in ${this.now() - t.startedAt} ms)`);
    else log.warn(`sending snapshot ${t.index} to node ${to} failed: ${why}; it will be retried`);
    this.done(to, t.msg, ok);
  }

  close(): void {
    for (const t of this.out.values()) fs.closeSync(t.fd);
    this.out.clear();
  }
}

interface Incoming {
  from: number;
  index: number;
  term: number;
  total: number;
  size: number;
  fd: number;
  part: string;
  verifying: boolean;
}

/** Follower side: writes incoming chunks, verifies, moves the file into place. */
export class SnapshotReceiver {
  private cur: Incoming | undefined;
  /** Snapshots received whole and verified (the operator's /metrics). */
  received = 0;

  constructor(
    private readonly dataDir: string,
    private readonly send: SendFrame,
  ) {}

  onChunk(from: number, body: Buffer): void {
    if (body.length < HEADER) {
      log.warn(`ignoring a malformed snapshot chunk from node ${from} (${body.length} bytes)`);
      return;
    }
    const index = body.readDoubleLE(0);
    const term = body.readDoubleLE(8);
    const offset = body.readDoubleLE(16);
    const total = body.readDoubleLE(24);
    const dir = snapshotDir(this.dataDir);
    const final = path.join(dir, snapshotFileName(index, term));
    if (fs.existsSync(final)) {
      this.ack(from, index, term, total, AckStatus.Complete);
      return;
    }
    let c = this.cur;
    if (c === undefined || c.index !== index || c.term !== term) {
      if (c !== undefined && index < c.index) return; // an older snapshot than the one in progress
      this.discard();
      c = this.open(from, index, term, total, dir);
      if (c === undefined) return;
    }
    if (c.verifying) return;
    c.from = from;
    if (offset < c.size) {
      // Already held (a retry starting over): tell the sender how far we are.
      this.ack(from, index, term, c.size, AckStatus.Progress);
      return;
    }
    if (offset > c.size) {
      // A gap: chunks were lost with a connection. Ask for the rest from where the file ends.
      this.ack(from, index, term, c.size, AckStatus.Resume);
      return;
    }
    try {
      fs.writeSync(c.fd, body, HEADER, body.length - HEADER, offset);
    } catch (e) {
      log.error(`cannot write incoming snapshot ${c.part}: ${(e as Error).message}`);
      this.discard();
      this.ack(from, index, term, 0, AckStatus.Failed);
      return;
    }
    c.size += body.length - HEADER;
    if (c.size < c.total) {
      this.ack(from, index, term, c.size, AckStatus.Progress);
      return;
    }
    c.verifying = true;
    void this.complete(c, final);
  }

  private open(from: number, index: number, term: number, total: number, dir: string): Incoming | undefined {
    const part = path.join(dir, `recv-${snapshotFileName(index, term)}.part`);
    try {
      fs.mkdirSync(dir, { recursive: true });
      const fd = fs.openSync(part, fs.existsSync(part) ? 'r+' : 'w+');
      // A partial file of the same snapshot from an earlier attempt: resume after it.
      const size = Math.min(fs.fstatSync(fd).size, total);
      log.info(`receiving snapshot ${index} (term ${term}, ${total} bytes) from node ${from}${size > 0 ? `, resuming at byte ${size}` : ''}`);
      this.cur = { from, index, term, total, size, fd, part, verifying: false };
      return this.cur;
    } catch (e) {
      log.error(`cannot create ${part} for an incoming snapshot: ${(e as Error).message}`);
      this.ack(from, index, term, 0, AckStatus.Failed);
      return undefined;
    }
  }

  private async complete(c: Incoming, final: string): Promise<void> {
    try {
      fs.fsyncSync(c.fd);
      fs.closeSync(c.fd);
      c.fd = -1;
      const meta = verifySnapshotFile(c.part);
      if (meta.index !== c.index || meta.term !== c.term) {
        throw new CorruptDataError(`snapshot ${c.part} holds index ${meta.index} term ${meta.term}, expected ${c.index}/${c.term}`);
      }
      fs.renameSync(c.part, final);
      await syncDir(path.dirname(final));
      if (this.cur === c) this.cur = undefined;
      this.received++;
      log.info(`snapshot ${c.index} received and verified (${c.total} bytes)`);
      this.ack(c.from, c.index, c.term, c.total, AckStatus.Complete);
    } catch (e) {
      log.error(`incoming snapshot ${c.index} is unusable: ${(e as Error).message}; asking the leader to send it again`);
      if (this.cur === c) this.cur = undefined;
      fs.rmSync(c.part, { force: true });
      this.ack(c.from, c.index, c.term, 0, AckStatus.Failed);
    }
  }

  private ack(to: number, index: number, term: number, received: number, status: AckStatus): void {
    const b = Buffer.allocUnsafe(25);
    b.writeDoubleLE(index, 0);
    b.writeDoubleLE(term, 8);
    b.writeDoubleLE(received, 16);
    b[24] = status;
    this.send(to, FrameType.SnapshotChunkAck, b);
  }

  /** Drops a partial incoming snapshot (superseded by a newer one). */
  private discard(): void {
    const c = this.cur;
    if (c === undefined) return;
    this.cur = undefined;
    if (c.fd >= 0) fs.closeSync(c.fd);
    fs.rmSync(c.part, { force: true });
  }

  close(): void {
    const c = this.cur;
    if (c !== undefined && c.fd >= 0 && !c.verifying) fs.closeSync(c.fd);
    this.cur = undefined;
  }
}
