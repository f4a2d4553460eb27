import { describe, expect, it } from 'vitest';
import { FrameError } from '../../../src/transport/errors.js';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameType, HANDSHAKE_VERSION, encodeFrame, type Frame } from '../../../src/transport/frame.js';
import {
  MAX_REASON_BYTES,
  RejectCode,
  checkHello,
  clusterIdBytes,
  decodeHello,
  decodeHelloAck,
  decodeHelloReject,
  encodeHello,
  encodeHelloAck,
  encodeHelloReject,
  type Hello,
} from '../../../src/transport/handshake.js';

function body(frame: Buffer): Frame {
  const r = new FrameDecoder().decode(frame);
  expect(r.error).toBeUndefined();
  return r.frames[0]!;
}

const hello: Hello = { minVersion: 1, maxVersion: 1, clusterId: 'raftis-test-☃', from: 3, to: 1, auth: Buffer.alloc(0) };
const ctx = { clusterId: 'raftis-test-☃', selfId: 1, isMember: (id: number): boolean => id === 2 || id === 3 };

describe('handshake frames', () => {
  it('round-trip Hello, HelloAck and HelloReject with version byte 1', () => {
    const h = body(encodeHello(hello));
    expect(h.type).toBe(FrameType.Hello);
    expect(h.version).toBe(HANDSHAKE_VERSION);
    expect(decodeHello(h.body)).toEqual(hello);
    const a = body(encodeHelloAck({ version: 1, nodeId: 1, auth: Buffer.from('proof') }));
    expect(a.type).toBe(FrameType.HelloAck);
    expect(decodeHelloAck(a.body)).toEqual({ version: 1, nodeId: 1, auth: Buffer.from('proof') });
    const j = body(encodeHelloReject({ code: RejectCode.ClusterId, minVersion: 1, maxVersion: 1, reason: 'nope' }));
    expect(j.type).toBe(FrameType.HelloReject);
    expect(decodeHelloReject(j.body)).toEqual({ code: RejectCode.ClusterId, minVersion: 1, maxVersion: 1, reason: 'nope' });
  });

  it('has the documented byte layout', () => {
    const f = encodeHello({ minVersion: 1, maxVersion: 1, clusterId: 'ab', from: 2, to: 300, auth: Buffer.alloc(0) });
    expect(f.toString('hex')).toBe('0000000b' + '01' + '01' + '0101' + '02' + '6162' + '02' + 'ac02' + '00');
  });

  it('ignores bytes appended by later versions', () => {
    const f = encodeHello(hello);
    const extended = encodeFrame(FrameType.Hello, Buffer.concat([f.subarray(FRAME_HEADER_BYTES), Buffer.from([9, 9, 9])]), HANDSHAKE_VERSION);
    expect(decodeHello(body(extended).body)).toEqual(hello);
  });

  it('rejects malformed handshake bodies with FrameError', () => {
    const b = encodeHello(hello).subarray(FRAME_HEADER_BYTES);
    for (let cut = 0; cut < b.length; cut++) expect(() => decodeHello(b.subarray(0, cut))).toThrow(FrameError);
    expect(() => decodeHello(Buffer.from([1, 1, 0, 1, 1, 0]))).toThrow(/empty/); // empty cluster id
    expect(() => decodeHello(Buffer.from([1, 1, 2, 0xc3, 0x28, 1, 1, 0]))).toThrow(/UTF-8/);
    expect(() => decodeHelloReject(Buffer.from([1, 1, 1, 0x7f]))).toThrow(FrameError);
  });

  it('validates what it encodes', () => {
    expect(() => clusterIdBytes('')).toThrow(RangeError);
    expect(() => clusterIdBytes('x'.repeat(256))).toThrow(RangeError);
    expect(clusterIdBytes('x'.repeat(255))).toHaveLength(255);
    expect(() => encodeHello({ ...hello, minVersion: 0 })).toThrow(RangeError);
  });

  it('cuts long reject reasons on a character boundary', () => {
    const reason = '☃'.repeat(MAX_REASON_BYTES);
    const j = decodeHelloReject(body(encodeHelloReject({ code: 255, minVersion: 1, maxVersion: 1, reason })).body);
    expect(Buffer.byteLength(j.reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    expect(j.reason).toBe('☃'.repeat(Math.floor(MAX_REASON_BYTES / 3)));
  });
});

describe('checkHello', () => {
  it('accepts a member of the same cluster addressing this node, choosing the highest common version', () => {
    expect(checkHello(hello, ctx)).toEqual({ ok: true, version: 1 });
    expect(checkHello({ ...hello, minVersion: 1, maxVersion: 5 }, { ...ctx, versions: [1, 2, 3] })).toEqual({ ok: true, version: 3 });
  });

  it('rejects with the matching code', () => {
    const code = (h: Partial<Hello>, c: Partial<typeof ctx> & { verifyAuth?: (h: Hello, version: number) => string | undefined } = {}): unknown => {
      const v = checkHello({ ...hello, ...h }, { ...ctx, ...c });
      return v.ok ? 'ok' : v.code;
    };
    expect(code({ minVersion: 3, maxVersion: 4 })).toBe(RejectCode.Version);
    expect(code({ minVersion: 3, maxVersion: 2 })).toBe(RejectCode.Version);
    expect(code({ clusterId: 'other' })).toBe(RejectCode.ClusterId);
    expect(code({ to: 2 })).toBe(RejectCode.WrongNode);
    expect(code({ from: 4 })).toBe(RejectCode.UnknownNode);
    expect(code({ from: 0 })).toBe(RejectCode.UnknownNode);
    expect(code({ from: 1 }, { isMember: () => true })).toBe(RejectCode.UnknownNode);
    expect(code({}, { verifyAuth: () => 'no' })).toBe(RejectCode.Auth);
    expect(code({}, { verifyAuth: (h) => (h.auth.length === 0 ? undefined : 'no') })).toBe('ok');
  });
});
