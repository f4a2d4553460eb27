import { describe, expect, it } from 'vitest';
import { EMPTY_BUFFER, EntryType, MessageType, newEntry, newMessage, type Message } from '../../../src/raft/messages.js';
import { batchSize, decodeBatch, decodeMessage, encodeMessage, entriesSectionSize, messageSize, writeBatch, writeEntriesSection } from '../../../src/transport/codec.js';
import { takeWireRun } from '../../../src/util/wire-entries.js';
import { FrameError } from '../../../src/transport/errors.js';
import { BodyReader } from '../../../src/transport/reader.js';
import { varintSize, writeVarint } from '../../../src/transport/varint.js';
import { ALL_MESSAGE_TYPES, plain, prng, randInt, randMessage, randUint } from './helpers.js';

function expectFrameError(fn: () => unknown, code?: string): FrameError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FrameError);
    if (code !== undefined) expect((e as FrameError).code).toBe(code);
    return e as FrameError;
  }
  throw new Error('expected a FrameError, nothing was thrown');
}

describe('varint', () => {
  it('round-trips values at every length boundary and random values up to 2^53-1', () => {
    const rng = prng(7);
    const values = [0, 1, 127, 128, 255, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 49 - 1, 2 ** 49, Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 2000; i++) values.push(randUint(rng));
    const buf = Buffer.alloc(8);
    for (const v of values) {
      const end = writeVarint(buf, 0, v);
      expect(end).toBe(varintSize(v));
      const r = new BodyReader(buf, 0, end);
      expect(r.varint('v')).toBe(v);
      expect(r.remaining).toBe(0);
    }
  });

  it('rejects varints longer than 8 bytes or above 2^53-1', () => {
    expectFrameError(() => new BodyReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10])).varint('v'), 'value');
    expectFrameError(() => new BodyReader(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).varint('v'), 'value');
    expectFrameError(() => new BodyReader(Buffer.from([0x80, 0x80])).varint('v'), 'truncated');
    // The largest legal 8-byte varint is 2^53-1.
    expect(new BodyReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])).varint('v')).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('message codec', () => {
  it("notes an append's entries with the bytes they came in (util/wire-entries), and no other message's", () => {
    const es = [newEntry(7, 2, Buffer.from('set k v')), newEntry(8, 2), newEntry(9, 3, Buffer.alloc(200, 1), EntryType.ConfChange)];
    const msgs = [
      newMessage({ type: MessageType.Prop, from: 1, to: 2, entries: es.map((e) => ({ ...e, index: 0, term: 0 })) }),
      newMessage({ type: MessageType.App, from: 1, to: 2, term: 3, logTerm: 2, index: 6, entries: es, commit: 5 }),
      newMessage({ type: MessageType.App, from: 1, to: 2, term: 3, logTerm: 3, index: 9, commit: 9 }),
    ];
    const body = Buffer.alloc(batchSize(msgs) + 5);
    writeBatch(body, 5, msgs);
    const [prop, app, empty] = decodeBatch(body.subarray(5));
    expect(empty!.entries).toEqual([]);
    expect(takeWireRun(prop!.entries[0]!)).toBeUndefined();
    const run = takeWireRun(app!.entries[0]!)!;
    expect(run.entries).toBe(app!.entries);
    // The entries section less its count: the peer protocol's Entry layout, back to back.
    const section = Buffer.alloc(entriesSectionSize(es));
    writeEntriesSection(section, 0, es);
    expect(run.buf.subarray(run.start, run.end).equals(section.subarray(1))).toBe(true);
    // Taken once.
    expect(takeWireRun(app!.entries[0]!)).toBeUndefined();
  });

  it('round-trips every MessageType with randomized fields, with and without snapshot', () => {
    const rng = prng(20240601);
    for (const type of ALL_MESSAGE_TYPES) {
      for (let i = 0; i < 40; i++) {
        const m = randMessage(rng, type, i % 2 === 0);
        const buf = encodeMessage(m);
        expect(buf.length).toBe(messageSize(m));
        expect(plain(decodeMessage(buf))).toStrictEqual(plain(m));
      }
    }
  });

  it('round-trips entries of every size class, including empty and all 256 byte values', () => {
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    const entries = [
      newEntry(1, 1),
      newEntry(2, 1, Buffer.from([0])),
      newEntry(3, 2, all, EntryType.ConfChange),
      newEntry(4, 2, Buffer.alloc(70_000, 0xab)),
      newEntry(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, Buffer.from('\r\n$-1\r\n')),
    ];
    const m = newMessage({ type: MessageType.App, from: 1, to: 2, term: 2, logTerm: 1, index: 0, commit: 3, entries });
    expect(plain(decodeMessage(encodeMessage(m)))).toStrictEqual(plain(m));
  });

  it('encodes a heartbeat in a handful of bytes', () => {
    const m = newMessage({ type: MessageType.Heartbeat, from: 1, to: 2, term: 5, commit: 100 });
    // type, flags, seven one-byte varints, context length, entry count
    expect(encodeMessage(m).length).toBe(11);
  });

  it('decodes empty byte fields to the shared empty buffer, and keeps others inside the input', () => {
    const m = newMessage({ type: MessageType.App, from: 1, to: 2, entries: [newEntry(1, 1), newEntry(2, 1, Buffer.from('x'))] });
    const buf = encodeMessage(m);
    const d = decodeMessage(buf);
    expect(d.context).toBe(EMPTY_BUFFER);
    expect(d.entries[0]!.data).toBe(EMPTY_BUFFER);
    expect(d.entries[1]!.data.buffer).toBe(buf.buffer);
  });

  it('decodes a body lying at an offset inside a larger buffer into Buffers viewing exactly its bytes', () => {
    const entries = [newEntry(7, 3, Buffer.from('first')), newEntry(8, 3), newEntry(9, 3, Buffer.alloc(100, 0x5a))];
    const m = newMessage({ type: MessageType.App, from: 1, to: 2, term: 3, context: Buffer.from('ctx'), entries });
    const enc = encodeMessage(m);
    // The body 13 bytes into its memory, with other bytes after it: the views must neither start at 0 nor run past it.
    const mem = Buffer.alloc(enc.length + 20, 0xee);
    enc.copy(mem, 13);
    const body = mem.subarray(13, 13 + enc.length);
    const d = decodeMessage(body);
    expect(plain(d)).toStrictEqual(plain(m));
    for (const data of [d.context, d.entries[0]!.data, d.entries[2]!.data]) {
      expect(Buffer.isBuffer(data)).toBe(true);
      expect(data.buffer).toBe(mem.buffer);
      expect(data.byteOffset).toBeGreaterThanOrEqual(mem.byteOffset + 13);
      expect(data.byteOffset + data.length).toBeLessThanOrEqual(mem.byteOffset + 13 + enc.length);
    }
    expect(d.entries[1]!.data).toBe(EMPTY_BUFFER);
    // A reader over part of a buffer sees only that part.
    const r = new BodyReader(mem, 13 + 2, 13 + 4);
    expect(r.bytes(2, 'two')).toStrictEqual(enc.subarray(2, 4));
    expectFrameError(() => r.bytes(1, 'past the end'), 'truncated');
  });

  it('round-trips batches', () => {
    const rng = prng(99);
    for (let i = 0; i < 50; i++) {
      const msgs: Message[] = Array.from({ length: 1 + randInt(rng, 6) }, () =>
        randMessage(rng, ALL_MESSAGE_TYPES[randInt(rng, ALL_MESSAGE_TYPES.length)]!),
      );
      const buf = Buffer.alloc(batchSize(msgs));
      expect(writeBatch(buf, 0, msgs)).toBe(buf.length);
      expect(plain(decodeBatch(buf))).toStrictEqual(plain(msgs));
    }
  });

  it('refuses to encode values the other side would read differently', () => {
    const bad: Partial<Message>[] = [{ term: -1 }, { index: 1.5 }, { commit: 2 ** 53 }, { from: NaN }];
    for (const b of bad) expect(() => encodeMessage(newMessage({ type: MessageType.App, ...b }))).toThrow(RangeError);
    expect(() => encodeMessage(newMessage({ type: 99 as MessageType }))).toThrow(RangeError);
    expect(() => encodeMessage(newMessage({ type: MessageType.App, entries: [newEntry(-1, 1)] }))).toThrow(RangeError);
  });

  it('sizes and validates entries on both sides of the 2^31 fast path: every field, every entry type', () => {
    const data = Buffer.alloc(200, 7);
    const around = [0, 1, 127, 128, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER];
    for (const index of around) {
      for (const term of around) {
        for (const type of [EntryType.Normal, EntryType.ConfChange]) {
          for (const len of [0, 1, 127, 128, 200]) {
            const m = newMessage({ type: MessageType.App, entries: [newEntry(index, term, data.subarray(0, len), type), newEntry(1, 1)] });
            const buf = encodeMessage(m);
            expect(buf.length).toBe(messageSize(m));
            expect(plain(decodeMessage(buf))).toEqual(plain(m));
          }
        }
      }
    }
    const bad: [number, number, number][] = [
      [-1, 1, EntryType.Normal],
      [1, -1, EntryType.Normal],
      [1.5, 1, EntryType.Normal],
      [1, 2 ** 31 + 0.5, EntryType.Normal],
      [2 ** 53, 1, EntryType.Normal],
      [1, NaN, EntryType.Normal],
      [-(2 ** 31), 1, EntryType.Normal],
      [1, 1, 7 as EntryType],
      [-1, 1, EntryType.ConfChange],
    ];
    for (const [index, term, type] of bad) {
      const m = newMessage({ type: MessageType.App, entries: [newEntry(1, 1), newEntry(index, term, EMPTY_BUFFER, type)] });
      expect(() => messageSize(m), `${index} ${term} ${type}`).toThrow(RangeError);
    }
  });
});

describe('message decoding of malformed input', () => {
  const rng = prng(5);
  // Small payloads: every prefix of every sample gets decoded.
  const samples = ALL_MESSAGE_TYPES.map((t) => {
    const m = randMessage(rng, t, true);
    for (const e of m.entries) e.data = e.data.subarray(0, 20);
    m.snapshot!.data = m.snapshot!.data.subarray(0, 20);
    return encodeMessage(m);
  });

  it('reports every truncation as FrameError "truncated"', () => {
    for (const buf of samples) {
      for (let cut = 0; cut < buf.length; cut++) expectFrameError(() => decodeMessage(buf.subarray(0, cut)), 'truncated');
    }
  });

  it('reports trailing bytes', () => {
    const buf = Buffer.concat([samples[0]!, Buffer.from([0])]);
    expectFrameError(() => decodeMessage(buf), 'trailing');
  });

  it('rejects unknown message types, entry types and flags', () => {
    const m = encodeMessage(newMessage({ type: MessageType.App, entries: [newEntry(1, 1)] }));
    const badType = Buffer.from(m);
    badType[0] = 200;
    expectFrameError(() => decodeMessage(badType), 'type');
    const badFlags = Buffer.from(m);
    badFlags[1] = 0x80;
    expectFrameError(() => decodeMessage(badFlags), 'value');
    // Layout: type, flags, 7 one-byte varints, context length, entry count, then the entry type.
    const badEntry = Buffer.from(m);
    badEntry[11] = 9;
    expectFrameError(() => decodeMessage(badEntry), 'type');
  });

  it('rejects huge counts and lengths before allocating anything for them', () => {
    const head = Buffer.from([MessageType.App, 0, 1, 2, 0, 0, 0, 0, 0, 0]);
    const huge = Buffer.alloc(8);
    const n = writeVarint(huge, 0, Number.MAX_SAFE_INTEGER);
    // entry count = 2^53-1
    expectFrameError(() => decodeMessage(Buffer.concat([head, huge.subarray(0, n)])), 'truncated');
    // context length = 2^53-1
    expectFrameError(() => decodeMessage(Buffer.concat([head.subarray(0, 9), huge.subarray(0, n)])), 'truncated');
    // an empty batch and a batch count larger than the body
    expectFrameError(() => decodeBatch(Buffer.from([0])), 'value');
    expectFrameError(() => decodeBatch(Buffer.concat([huge.subarray(0, n)])), 'truncated');
  });

  it('never throws anything but FrameError on mutated or random input (seeded, bounded)', () => {
    const r = prng(1234);
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      let buf: Buffer;
      if (i % 3 === 0) {
        buf = Buffer.allocUnsafe(randInt(r, 64));
        for (let j = 0; j < buf.length; j++) buf[j] = randInt(r, 256);
      } else {
        buf = Buffer.from(samples[randInt(r, samples.length)]!);
        const flips = 1 + randInt(r, 4);
        for (let k = 0; k < flips; k++) buf[randInt(r, buf.length)] = randInt(r, 256);
      }
      try {
        decodeBatch(buf);
      } catch (e) {
        expect(e).toBeInstanceOf(FrameError);
      }
      let message: Message | undefined;
      try {
        message = decodeMessage(buf);
        decoded++;
      } catch (e) {
        expect(e).toBeInstanceOf(FrameError);
        rejected++;
      }
      // The same bytes as a one-message RaftBatch: decoded exactly when the message is, to the same message.
      const batch = Buffer.concat([Buffer.from([1]), buf]);
      if (message === undefined) expectFrameError(() => decodeBatch(batch));
      else expect(plain(decodeBatch(batch))).toStrictEqual(plain([message]));
    }
    // Both outcomes were reached: some inputs still hold a valid message (decoding ran to its end), others are rejected.
    expect(decoded).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});
