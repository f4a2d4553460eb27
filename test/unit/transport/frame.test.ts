import { describe, expect, it } from 'vitest';
import { MessageType, newEntry, newMessage } from '../../../src/raft/messages.js';
import { decodeBatch } from '../../../src/transport/codec.js';
import { FrameError } from '../../../src/transport/errors.js';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameType,
  encodeFrame,
  encodeRaftBatch,
  type Frame,
} from '../../../src/transport/frame.js';
import { decodeHello, encodeHello } from '../../../src/transport/handshake.js';
import { ALL_MESSAGE_TYPES, plain, prng, randBytes, randInt, randMessage } from './helpers.js';

function header(length: number, version: number, type: number): Buffer {
  const b = Buffer.alloc(FRAME_HEADER_BYTES);
  b.writeUInt32BE(length, 0);
  b[4] = version;
  b[5] = type;
  return b;
}

/** Feeds `chunks` and collects frames; asserts the decoder never throws. */
function feed(dec: FrameDecoder, chunks: Buffer[]): { frames: Frame[]; error: FrameError | undefined } {
  const frames: Frame[] = [];
  for (const c of chunks) {
    const r = dec.decode(c);
    frames.push(...r.frames);
    if (r.error !== undefined) return { frames, error: r.error };
  }
  return { frames, error: undefined };
}

const rng = prng(42);
const batches = [
  [newMessage({ type: MessageType.Heartbeat, from: 1, to: 2, term: 3, commit: 9 })],
  [
    newMessage({ type: MessageType.App, from: 1, to: 2, term: 3, index: 7, logTerm: 3, entries: [newEntry(8, 3, Buffer.from('SET k v'))] }),
    newMessage({ type: MessageType.Heartbeat, from: 1, to: 2, term: 3, context: Buffer.from([1, 2]) }),
  ],
  [randMessage(rng, MessageType.Snap, true)],
];
const frames = batches.map((b) => encodeRaftBatch(b));
const stream = Buffer.concat(frames);

function expectBatches(got: Frame[]): void {
  expect(got.map((f) => f.type)).toEqual(frames.map(() => FrameType.RaftBatch));
  expect(plain(got.map((f) => decodeBatch(f.body)))).toStrictEqual(plain(batches));
}

describe('FrameDecoder', () => {
  it('decodes many frames from one chunk', () => {
    const { frames: got, error } = feed(new FrameDecoder(), [stream]);
    expect(error).toBeUndefined();
    expectBatches(got);
  });

  it('decodes a stream split at every byte position', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const dec = new FrameDecoder();
      const { frames: got, error } = feed(dec, [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(error).toBeUndefined();
      expectBatches(got);
      expect(dec.bufferedBytes).toBe(0);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const chunks = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    const { frames: got, error } = feed(new FrameDecoder(), chunks);
    expect(error).toBeUndefined();
    expectBatches(got);
  });

  it('decodes a stream cut into random chunk sizes (seeded)', () => {
    const r = prng(3);
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      for (let off = 0; off < stream.length; ) {
        const n = 1 + randInt(r, 200);
        chunks.push(stream.subarray(off, off + n));
        off += n;
      }
      const { frames: got, error } = feed(new FrameDecoder(), chunks);
      expect(error).toBeUndefined();
      expectBatches(got);
    }
  });

  it('decodes lent chunks (one buffer reused for every read) cut anywhere, keeping nothing of that buffer (seeded)', () => {
    const r = prng(5);
    for (let round = 0; round < 300; round++) {
      // One read buffer, as a socket with net.Socket's `onread` has: every read overwrites it.
      const readBuf = Buffer.alloc(stream.length + 16);
      const dec = new FrameDecoder();
      const got: Frame[] = [];
      for (let off = 0; off < stream.length; ) {
        const n = round === 0 ? 1 : 1 + randInt(r, 200);
        const len = stream.copy(readBuf, 0, off, off + n);
        off += len;
        dec.lend(readBuf.subarray(0, len));
        for (let f = dec.next(); f !== undefined; f = dec.next()) {
          expect(f).not.toBeInstanceOf(FrameError);
          got.push(f as Frame);
        }
        dec.giveBack();
        readBuf.fill(0xee);
      }
      for (const f of got) expect(f.body.buffer).not.toBe(readBuf.buffer);
      expectBatches(got);
      expect(dec.bufferedBytes).toBe(0);
    }
  });

  it('never hands a lent chunk over as a frame body, even one that is exactly the body', () => {
    const body = Buffer.from('skippable body');
    const frame = encodeFrame(0x90, body);
    const dec = new FrameDecoder();
    dec.push(frame.subarray(0, FRAME_HEADER_BYTES));
    expect(dec.next()).toBeUndefined();
    // Memory of exactly the body's size: what take() hands over as is when it is owned.
    const exact = (): Buffer => {
      const b = Buffer.allocUnsafeSlow(body.length);
      body.copy(b);
      return b;
    };
    const lent = exact();
    dec.lend(lent);
    const f = dec.next() as Frame;
    dec.giveBack();
    expect(f.body.buffer).not.toBe(lent.buffer);
    lent.fill(0);
    expect(f.body.equals(body)).toBe(true);
    // An owned chunk that is exactly the body is still handed over as is.
    const owned = exact();
    dec.push(frame.subarray(0, FRAME_HEADER_BYTES));
    dec.next();
    dec.push(owned);
    expect((dec.next() as Frame).body).toBe(owned);
  });

  it('fails a lent chunk with a bad header as a pushed one does', () => {
    const dec = new FrameDecoder({ maxFrameSize: 100 });
    dec.lend(header(101, 2, FrameType.RaftBatch));
    const e = dec.next();
    dec.giveBack();
    expect(e).toBeInstanceOf(FrameError);
    expect((e as FrameError).message).toBe('oversize: frame length 101 exceeds the maximum 100');
    expect(dec.bufferedBytes).toBe(0);
  });

  it('gives every frame a body that no other frame shares', () => {
    const { frames: got } = feed(new FrameDecoder(), [stream]);
    for (const f of got) expect(f.body.buffer).not.toBe(stream.buffer);
  });

  it('waits for the rest of a truncated body instead of failing', () => {
    const f = frames[1]!;
    const dec = new FrameDecoder();
    const r = dec.decode(f.subarray(0, f.length - 1));
    expect(r).toEqual({ frames: [], error: undefined });
    expect(dec.bufferedBytes).toBe(f.length - 1 - FRAME_HEADER_BYTES);
    expect(dec.decode(f.subarray(f.length - 1)).frames).toHaveLength(1);
  });

  it('reports a body too short for its contents as a FrameError from the body decoder', () => {
    const f = frames[1]!;
    for (let cut = FRAME_HEADER_BYTES; cut < f.length; cut++) {
      const body = f.subarray(FRAME_HEADER_BYTES, cut);
      // A frame whose length field matches the cut body: well-framed, malformed inside.
      const framed = encodeFrame(FrameType.RaftBatch, body);
      const { frames: got, error } = feed(new FrameDecoder(), [framed]);
      expect(error).toBeUndefined();
      expect(() => decodeBatch(got[0]!.body)).toThrow(FrameError);
    }
  });

  it('rejects an oversize length as soon as the header arrives', () => {
    const dec = new FrameDecoder({ maxFrameSize: 1000 });
    const r = dec.decode(header(1001, 1, FrameType.RaftBatch));
    expect(r.error?.code).toBe('oversize');
    expect(new FrameDecoder().decode(header(DEFAULT_MAX_FRAME_SIZE + 1, 1, FrameType.RaftBatch)).error?.code).toBe('oversize');
    expect(new FrameDecoder().decode(header(0xffffffff, 1, FrameType.RaftBatch)).error?.code).toBe('oversize');
    // Exactly the maximum is fine (and waits for the body).
    expect(new FrameDecoder({ maxFrameSize: 1000 }).decode(header(1000, 1, FrameType.RaftBatch))).toEqual({ frames: [], error: undefined });
  });

  it('rejects lengths below version + type', () => {
    expect(new FrameDecoder().decode(header(0, 1, FrameType.RaftBatch)).error?.code).toBe('undersize');
    expect(new FrameDecoder().decode(header(1, 1, FrameType.RaftBatch)).error?.code).toBe('undersize');
    // An empty body is legal at the framing level.
    expect(new FrameDecoder().decode(header(2, 1, FrameType.RaftBatch)).frames).toHaveLength(1);
  });

  it('rejects a wrong protocol version', () => {
    expect(new FrameDecoder().decode(header(2, 0, FrameType.RaftBatch)).error?.code).toBe('version');
    expect(new FrameDecoder().decode(header(2, 3, FrameType.RaftBatch)).error?.code).toBe('version');
    expect(new FrameDecoder({ versions: [1] }).decode(header(2, 2, FrameType.RaftBatch)).error?.code).toBe('version');
    expect(new FrameDecoder().decode(header(2, 2, FrameType.RaftBatch)).error).toBeUndefined();
  });

  it('rejects unknown frame types below 0x80 and passes skippable ones through', () => {
    expect(new FrameDecoder().decode(header(2, 1, 0)).error?.code).toBe('type');
    expect(new FrameDecoder().decode(header(2, 1, 0x7f)).error?.code).toBe('type');
    const r = new FrameDecoder().decode(Buffer.concat([header(3, 1, 0x9a), Buffer.from([7]), frames[0]!]));
    expect(r.error).toBeUndefined();
    expect(r.frames.map((f) => f.type)).toEqual([0x9a, FrameType.RaftBatch]);
  });

  it('stays failed after an error and returns the frames before it', () => {
    const dec = new FrameDecoder();
    const r = dec.decode(Buffer.concat([frames[0]!, header(2, 9, FrameType.RaftBatch), frames[1]!]));
    expect(r.frames).toHaveLength(1);
    expect(r.error?.code).toBe('version');
    expect(dec.error).toBe(r.error);
    expect(dec.decode(frames[0]!).frames).toHaveLength(0);
    expect(dec.next()).toBe(r.error);
  });

  it('applies a maxFrameSize raised between frames to the next header', () => {
    const dec = new FrameDecoder({ maxFrameSize: 64 });
    const hello = encodeHello({ minVersion: 1, maxVersion: 1, clusterId: 'c', from: 1, to: 2, auth: Buffer.alloc(0) });
    const big = encodeRaftBatch([newMessage({ type: MessageType.App, to: 2, entries: [newEntry(1, 1, Buffer.alloc(500))] })]);
    dec.push(Buffer.concat([hello, big]));
    const first = dec.next();
    expect(first).not.toBeInstanceOf(FrameError);
    expect(decodeHello((first as Frame).body).clusterId).toBe('c');
    dec.maxFrameSize = 1 << 20;
    const second = dec.next();
    expect((second as Frame).type).toBe(FrameType.RaftBatch);
  });

  it('never throws on random garbage or mutated frames (seeded, bounded)', () => {
    const r = prng(777);
    let errors = 0;
    for (let round = 0; round < 500; round++) {
      let data: Buffer;
      if (round % 2 === 0) {
        data = randBytes(r, randInt(r, 2000));
      } else {
        data = Buffer.from(stream);
        for (let k = 0; k < 1 + randInt(r, 6); k++) data[randInt(r, data.length)] = randInt(r, 256);
      }
      const dec = new FrameDecoder({ maxFrameSize: 1 << 16 });
      const chunks: Buffer[] = [];
      for (let off = 0; off < data.length; ) {
        const n = 1 + randInt(r, 300);
        chunks.push(data.subarray(off, off + n));
        off += n;
      }
      const { frames: got, error } = feed(dec, chunks);
      if (error !== undefined) errors++;
      for (const f of got) {
        try {
          if (f.type === FrameType.RaftBatch) decodeBatch(f.body);
          else if (f.type === FrameType.Hello) decodeHello(f.body);
        } catch (e) {
          expect(e).toBeInstanceOf(FrameError);
        }
      }
    }
    expect(errors).toBeGreaterThan(0);
  });

  it('round-trips a batch holding every message type through random chunking', () => {
    const r = prng(8);
    const msgs = ALL_MESSAGE_TYPES.map((t) => randMessage(r, t));
    const buf = encodeRaftBatch(msgs);
    const chunks: Buffer[] = [];
    for (let off = 0; off < buf.length; ) {
      const n = 1 + randInt(r, 5000);
      chunks.push(buf.subarray(off, off + n));
      off += n;
    }
    const { frames: got } = feed(new FrameDecoder(), chunks);
    expect(plain(decodeBatch(got[0]!.body))).toStrictEqual(plain(msgs));
  });
});
