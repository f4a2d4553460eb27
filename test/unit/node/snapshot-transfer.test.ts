/**
 * Chunked InstallSnapshot between a SnapshotSender and a SnapshotReceiver
 * over a simulated link: flow control, completion only after the file
 * verifies, resuming after a lost connection or a receiver restart, and a
 * damaged transfer failing instead of installing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, SnapshotReceiver, SnapshotSender } from '../../../src/node/snapshot-transfer.js';
import { MessageType, newMessage, type Message } from '../../../src/raft/messages.js';
import { writeRecord } from '../../../src/keyspace/snapshot-records.js';
import { SnapshotWriter, snapshotDir, snapshotFileName, verifySnapshotFile } from '../../../src/storage/snapshot-file.js';
import { FrameType } from '../../../src/transport/frame.js';

let leaderDir: string;
let followerDir: string;
beforeEach(() => {
  leaderDir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-xfer-l-'));
  followerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-xfer-f-'));
});
afterEach(() => {
  fs.rmSync(leaderDir, { recursive: true, force: true });
  fs.rmSync(followerDir, { recursive: true, force: true });
});

const META = { index: 900, term: 3, createdAt: 1, confState: { voters: [1, 2, 3], learners: [] }, members: [] };

/** A snapshot file of about `bytes` bytes on the leader. */
async function makeSnapshot(bytes: number): Promise<string> {
  const w = await SnapshotWriter.create(leaderDir, META);
  for (let i = 0; w.size < bytes; i++) {
    writeRecord(w, `key:${i}`, `value-${i}-`.repeat(5), i % 3 === 0 ? 1e12 + i : undefined);
    if (w.buffered > 65536) await w.flush();
  }
  await w.finish();
  return w.file;
}

function snapMessage(): Message {
  return newMessage({ type: MessageType.Snap, from: 1, to: 2, term: 3, snapshot: { metadata: { index: META.index, term: META.term, confState: META.confState }, data: Buffer.alloc(0) } });
}

/** Frames in flight both ways; delivered one at a time by step(). */
class Link {
  queue: { to: 'leader' | 'follower'; type: number; body: Buffer }[] = [];
  up = true;
  maxInFlightBytes = 0;
  sender!: SnapshotSender;
  receiver!: SnapshotReceiver;
  results: boolean[] = [];
  corruptChunk = -1;
  chunksSeen = 0;

  constructor() {
    this.sender = new SnapshotSender(
      leaderDir,
      (_to, type, body) => this.push('follower', type, body),
      (_to, _msg, ok) => this.results.push(ok),
    );
    this.receiver = this.newReceiver();
  }
  newReceiver(): SnapshotReceiver {
    return new SnapshotReceiver(followerDir, (_to, type, body) => this.push('leader', type, body));
  }
  private push(to: 'leader' | 'follower', type: number, body: Buffer): boolean {
    if (!this.up) return false;
    this.queue.push({ to, type, body });
    const inflight = this.queue.filter((f) => f.type === FrameType.SnapshotChunk).reduce((n, f) => n + f.body.length - 32, 0);
    this.maxInFlightBytes = Math.max(this.maxInFlightBytes, inflight);
    return true;
  }
  step(): boolean {
    const f = this.queue.shift();
    if (f === undefined) return false;
    if (f.to === 'follower') {
      const n = this.chunksSeen++;
      if (n === this.corruptChunk) f.body[40] = f.body[40]! ^ 0xff;
      this.receiver.onChunk(1, f.body);
    } else {
      this.sender.onAck(2, f.body);
    }
    return true;
  }
  /** The receiver is verifying a complete file (fsyncs; its acknowledgement follows). */
  private get completing(): boolean {
    return (this.receiver as unknown as { cur?: { verifying?: boolean } }).cur?.verifying === true;
  }
  /** Runs until idle, letting the receiver's async completion finish (however long its fsyncs take). */
  async drain(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      while (this.step());
      await new Promise((r) => setTimeout(r, 5));
      if (this.queue.length === 0 && !this.completing) {
        await new Promise((r) => setTimeout(r, 20));
        if (this.queue.length === 0 && !this.completing) return;
      }
    }
  }
}

const installed = (): string => path.join(snapshotDir(followerDir), snapshotFileName(META.index, META.term));

describe('chunked snapshot transfer', () => {
  it('streams the file in flow-controlled chunks; the follower has a verified copy before the sender reports success', async () => {
    const file = await makeSnapshot(3 * 1024 * 1024 + 12345);
    const link = new Link();
    link.sender.start(snapMessage());
    expect(link.sender.active).toEqual([2]);
    await link.drain();
    expect(link.results).toEqual([true]);
    expect(fs.readFileSync(installed()).equals(fs.readFileSync(file))).toBe(true);
    expect(verifySnapshotFile(installed()).index).toBe(META.index);
    expect(link.maxInFlightBytes).toBeLessThanOrEqual(4 * CHUNK_BYTES);
    expect(link.chunksSeen).toBe(Math.ceil(fs.statSync(file).size / CHUNK_BYTES));
    expect(fs.readdirSync(snapshotDir(followerDir))).toEqual([path.basename(installed())]);
  });

  it('one transfer per follower: a second MsgSnap while one is in flight is ignored', async () => {
    await makeSnapshot(600_000);
    const link = new Link();
    link.sender.start(snapMessage());
    link.sender.start(snapMessage());
    await link.drain();
    expect(link.results).toEqual([true]);
  });

  it('a lost connection and a restarted receiver resume from the bytes already on disk', async () => {
    const file = await makeSnapshot(2 * 1024 * 1024);
    const size = fs.statSync(file).size;
    const link = new Link();
    link.sender.start(snapMessage());
    // Deliver a few chunks, then the connection drops with frames in flight.
    for (let i = 0; i < 40 && link.chunksSeen < 6; i++) link.step();
    expect(link.chunksSeen).toBe(6);
    link.queue = [];
    link.up = false;
    link.sender.check(Date.now() + 60_000); // stalled: the transfer fails, Raft will retry
    expect(link.results).toEqual([false]);
    // The follower process restarts too: a new receiver over the same directory.
    link.receiver.close();
    link.receiver = link.newReceiver();
    link.up = true;
    const before = link.chunksSeen;
    link.sender.start(snapMessage());
    await link.drain();
    expect(link.results).toEqual([false, true]);
    // Only the first chunk of the retry is sent again; then it jumps to where the partial file ended.
    const resent = link.chunksSeen - before;
    const held = 6 * CHUNK_BYTES;
    expect(link.chunksSeen - resent).toBeGreaterThan(0);
    expect(resent).toBeLessThanOrEqual(1 + Math.ceil((size - held) / CHUNK_BYTES) + 1);
    expect(fs.readFileSync(installed()).equals(fs.readFileSync(file))).toBe(true);
  });

  it('a chunk damaged on the way fails verification: nothing is installed, the sender reports failure, a retry succeeds', async () => {
    const file = await makeSnapshot(1024 * 1024);
    const link = new Link();
    link.corruptChunk = 2;
    link.sender.start(snapMessage());
    await link.drain();
    expect(link.results).toEqual([false]);
    expect(fs.existsSync(installed())).toBe(false);
    expect(fs.readdirSync(snapshotDir(followerDir))).toEqual([]);
    link.sender.start(snapMessage());
    await link.drain();
    expect(link.results).toEqual([false, true]);
    expect(fs.readFileSync(installed()).equals(fs.readFileSync(file))).toBe(true);
  });

  it('a snapshot the follower already holds completes at once', async () => {
    await makeSnapshot(700_000);
    const link = new Link();
    link.sender.start(snapMessage());
    await link.drain();
    const chunks = link.chunksSeen;
    link.sender.start(snapMessage());
    await link.drain();
    expect(link.results).toEqual([true, true]);
    expect(link.chunksSeen - chunks).toBeLessThanOrEqual(4);
  });
});
