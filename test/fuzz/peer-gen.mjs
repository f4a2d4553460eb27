/**
 * Seeded generator of hostile peer frames (docs/peer-protocol.md), for the
 * cluster port: before the handshake (garbage, mutated Hellos, oversized
 * and undersized headers) and after a valid one (RaftBatch, forwarded
 * commands, pub/sub and snapshot-chunk frames, mutated: bit flips, cut
 * bodies, length fields and counts changed, unknown types and versions).
 *
 * Each batch comes with the verdict the node's own decoder gives its bytes
 * (`mustClose`): the harness then checks the node did close. Frames that
 * decode to a well-formed Raft message for a cluster member, or to a
 * forwarded command other than a harmless read, are replaced by their
 * unmutated original: a peer that passed the handshake is a member, and what
 * a member may do with well-formed messages is the cluster secret's business
 * (docs/security.md), not a parser's.
 */
import { createPrng } from '../../dist/util/prng.js';
import { FrameDecoder, FrameType, encodeFrame, encodeRaftBatch, DEFAULT_MAX_FRAME_SIZE, SUPPORTED_VERSIONS } from '../../dist/transport/frame.js';
import { HANDSHAKE_MAX_FRAME_SIZE, checkHello, decodeHello, encodeHello } from '../../dist/transport/handshake.js';
import { decodeBatch } from '../../dist/transport/codec.js';
import { decodeForwardCommand, encodeForwardCommand, encodeForwardReply } from '../../dist/transport/forward.js';
import { encodePubSubMessage } from '../../dist/transport/pubsub-frame.js';
import { MessageType, EntryType } from '../../dist/raft/messages.js';

/**
 * The one place that builds the Hello a fuzzing peer sends and reads the
 * answer; the cluster-secret work (issue 20, "peersec") changes the
 * handshake, and only this function needs to follow.
 */
export function validHello({ clusterId, from, to }) {
  return encodeHello({ minVersion: 1, maxVersion: 1, clusterId, from, to, auth: Buffer.alloc(0) });
}

/** Dials' side of the handshake on a connected socket: resolves on HelloAck, rejects on anything else. */
export function peerHandshake(sock, opts, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => done(new Error('no HelloAck in time')), timeoutMs);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 6) return;
      const len = buf.readUInt32BE(0);
      if (buf.length < 4 + len) return;
      const type = buf[5];
      done(type === FrameType.HelloAck ? undefined : new Error(`handshake answered with frame type ${type}: ${buf.toString('latin1', 6, 4 + len)}`));
    };
    const onClose = () => done(new Error('closed during the handshake'));
    const done = (err) => {
      clearTimeout(t);
      sock.off('data', onData);
      sock.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    sock.on('data', onData);
    sock.on('close', onClose);
    sock.write(validHello(opts));
  });
}

const MSG_TYPES = Object.values(MessageType).filter((v) => typeof v === 'number');
const ENTRY_TYPES = Object.values(EntryType).filter((v) => typeof v === 'number');
/** Every 7-bit group above 3, so that a split or merged varint does not turn into a member id 1..3. */
const HARMLESS_ID = 999;
const SAFE_FORWARD = new Set(['ping', 'echo', 'get', 'exists', 'strlen']);

export class PeerFrameGenerator {
  constructor(seed, { clusterId, memberIds }) {
    this.rng = createPrng(seed);
    this.clusterId = clusterId;
    this.members = new Set(memberIds);
  }

  int(n) {
    return Math.floor(this.rng() * n);
  }

  chance(p) {
    return this.rng() < p;
  }

  pick(a) {
    return a[this.int(a.length)];
  }

  bytes(n) {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  bigNumber() {
    return this.pick([0, 1, 2, 3, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32, 2 ** 53 - 1, this.int(1e6)]);
  }

  // ---- before the handshake -------------------------------------------------------------

  hello(targetId) {
    const r = this.rng();
    const clusterId = r < 0.7 ? this.clusterId : this.pick(['other', 'x'.repeat(255), 'é', this.clusterId + '\x00']);
    const from = this.chance(0.5) ? this.pick([...this.members]) : this.bigNumber();
    const to = this.chance(0.7) ? targetId : this.bigNumber();
    const minVersion = this.chance(0.8) ? 1 : 1 + this.int(255);
    const maxVersion = this.chance(0.8) ? Math.max(1, minVersion) : 1 + this.int(255);
    const auth = this.chance(0.8) ? Buffer.alloc(0) : this.bytes(this.int(1024));
    return encodeHello({ minVersion, maxVersion, clusterId, from, to, auth });
  }

  /** `n` frames' worth of bytes for a connection that has not shaken hands. */
  preHandshake(targetId, n) {
    // A Hello the node would accept makes this connection pose as a member:
    // that is the post-handshake fuzzer's job, on followers only, so draw again.
    for (let attempt = 0; attempt < 20; attempt++) {
      const b = this.preHandshakeOnce(targetId, n);
      if (!b.acceptedHello) return b;
    }
    const bytes = Buffer.concat([this.header(2 ** 32 - 1, 1, FrameType.Hello), this.bytes(16)]);
    return { bytes, frames: n, mustClose: true, why: 'oversize header' };
  }

  preHandshakeOnce(targetId, n) {
    const parts = [];
    for (let i = 0; i < n; i++) {
      const r = this.rng();
      if (r < 0.2) parts.push(this.bytes(1 + this.int(512)));
      else if (r < 0.7) parts.push(this.mutate(this.hello(targetId)));
      else if (r < 0.8) parts.push(this.header(this.pick([0, 1, 2, 4097, 65536, 2 ** 31, 2 ** 32 - 1]), 1, FrameType.Hello));
      else parts.push(this.mutate(this.postFrame(targetId)));
    }
    const bytes = Buffer.concat(parts);
    return { bytes, frames: n, ...verdictBefore(bytes, this.clusterId, targetId, this.members) };
  }

  header(length, version, type) {
    const b = Buffer.alloc(6);
    b.writeUInt32BE(length >>> 0, 0);
    b[4] = version;
    b[5] = type;
    return b;
  }

  // ---- after the handshake ---------------------------------------------------------------

  raftBatch() {
    const msgs = [];
    const count = 1 + this.int(3);
    for (let i = 0; i < count; i++) {
      const entries = [];
      const ne = this.chance(0.5) ? 0 : 1 + this.int(4);
      for (let j = 0; j < ne; j++) {
        entries.push({ index: this.bigNumber(), term: this.bigNumber(), type: this.pick(ENTRY_TYPES), data: this.bytes(this.int(64)) });
      }
      msgs.push({
        type: this.pick(MSG_TYPES),
        from: HARMLESS_ID,
        to: HARMLESS_ID,
        term: this.bigNumber(),
        logTerm: this.bigNumber(),
        index: this.bigNumber(),
        entries,
        commit: this.bigNumber(),
        reject: this.chance(0.5),
        rejectHint: this.bigNumber(),
        context: this.bytes(this.int(16)),
      });
    }
    return encodeRaftBatch(msgs);
  }

  postFrame() {
    const r = this.rng();
    if (r < 0.4) return this.raftBatch();
    if (r < 0.5) {
      const cmds = [this.pick([['PING'], ['ECHO', 'x'], ['GET', 'fz:1'], ['EXISTS', 'fz:2']])];
      return encodeFrame(FrameType.ForwardCommand, encodeForwardCommand({ id: this.bigNumber(), proto: this.pick([2, 3]), multi: this.chance(0.2), cmds, db: this.int(3) }));
    }
    if (r < 0.58) return encodeFrame(FrameType.ForwardReply, encodeForwardReply({ id: this.bigNumber(), reply: '+OK\r\n' }));
    if (r < 0.68) {
      return encodeFrame(FrameType.PubSubMessage, encodePubSubMessage({ channel: this.bytes(this.int(20)).toString('latin1'), message: this.bytes(this.int(100)).toString('latin1'), shard: this.chance(0.3) }));
    }
    if (r < 0.8) {
      const body = Buffer.alloc(32 + this.int(256));
      // A snapshot far beyond any real one (index ≥ 2^40), so no real transfer meets it.
      for (let i = 0; i < 4; i++) body.writeDoubleLE(this.pick([2 ** 40 + this.int(1000), 1, 0, -1, NaN, Infinity, 1e300, 2 ** 53, this.int(1e6)]), i * 8);
      if (this.chance(0.7)) body.writeDoubleLE(2 ** 40 + this.int(1000), 0);
      return encodeFrame(FrameType.SnapshotChunk, body);
    }
    if (r < 0.88) {
      const body = Buffer.alloc(this.chance(0.8) ? 25 : this.int(40));
      for (let i = 0; i + 8 <= body.length && i < 24; i += 8) body.writeDoubleLE(this.pick([2 ** 40, 0, -1, NaN, 1e300]), i);
      return encodeFrame(FrameType.SnapshotChunkAck, body);
    }
    if (r < 0.94) return encodeFrame(0x80 + this.int(128), this.bytes(this.int(200)));
    return encodeFrame(this.pick([FrameType.Hello, FrameType.HelloAck, FrameType.HelloReject, 0x00, 0x11, 0x7f]), this.bytes(this.int(64)));
  }

  /** Bit flips, cut bodies, length/count/version/type bytes changed, junk appended. */
  mutate(frame) {
    if (this.chance(0.25)) return frame;
    const b = Buffer.from(frame);
    const r = this.rng();
    if (r < 0.35) {
      const flips = 1 + this.int(6);
      for (let i = 0; i < flips; i++) b[6 + this.int(Math.max(1, b.length - 6))] ^= 1 << this.int(8);
      return b.subarray(0, b.length);
    }
    if (r < 0.5) {
      // Cut the body, keeping the header's length (the rest never comes) or fixing it.
      const cut = b.subarray(0, 6 + this.int(Math.max(1, b.length - 6)));
      if (this.chance(0.6)) cut.writeUInt32BE(cut.length - 4, 0);
      return cut;
    }
    if (r < 0.65) {
      b.writeUInt32BE(this.pick([0, 1, 2, b.length - 5, b.length - 3, b.length + 100, HANDSHAKE_MAX_FRAME_SIZE + 1, DEFAULT_MAX_FRAME_SIZE + 1, 2 ** 32 - 1]) >>> 0, 0);
      return b;
    }
    if (r < 0.75) {
      b[4] = this.pick([0, 2, 255]);
      return b;
    }
    if (r < 0.85) {
      b[5] = this.int(256);
      return b;
    }
    if (r < 0.93 && b.length > 7) {
      // An inflated varint (a count or length) right after the header.
      const at = 6 + this.int(Math.min(12, b.length - 6));
      const v = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, this.pick([0x0f, 0x10, 0x7f, 0xff]), 0x01]);
      return Buffer.concat([b.subarray(0, at), v.subarray(0, 1 + this.int(v.length)), b.subarray(at)]);
    }
    return Buffer.concat([b, this.bytes(this.int(64))]);
  }

  /** A harmless version of a mutated frame if it decodes to something a member could do with a valid frame. */
  sanitize(mutated, original) {
    if (mutated.length < 6) return mutated;
    const len = mutated.readUInt32BE(0);
    if (len + 4 !== mutated.length || !SUPPORTED_VERSIONS.includes(mutated[4])) return mutated;
    const body = mutated.subarray(6);
    try {
      if (mutated[5] === FrameType.RaftBatch) {
        const msgs = decodeBatch(body);
        if (msgs.some((m) => this.members.has(m.to) || this.members.has(m.from))) return original;
      } else if (mutated[5] === FrameType.ForwardCommand) {
        const f = decodeForwardCommand(body);
        if (f.cmds.some((c) => !SAFE_FORWARD.has(String(c[0]).toLowerCase()))) return original;
      }
    } catch {
      /* malformed: exactly what is wanted */
    }
    return mutated;
  }

  /** `n` frames for a connection that shook hands. */
  postHandshake(targetId, n) {
    // Well-formed frames with hostile values (a malformed one ends the
    // connection, so they come first), then one mutated frame.
    const parts = [];
    for (let i = 0; i < n; i++) {
      const f = this.postFrame();
      parts.push(i < n - 1 && this.chance(0.9) ? f : this.sanitize(this.mutate(f), f));
    }
    const bytes = Buffer.concat(parts);
    return { bytes, frames: n, ...verdictAfter(bytes) };
  }
}

/**
 * What the node must do with these bytes on a fresh connection, by the
 * node's own decoder: close (a malformed header, a frame other than Hello,
 * a Hello it rejects) or wait (an incomplete frame, a Hello it accepts).
 */
function verdictBefore(bytes, clusterId, targetId, members) {
  const d = new FrameDecoder({ maxFrameSize: HANDSHAKE_MAX_FRAME_SIZE });
  d.push(bytes);
  const f = d.next();
  if (f === undefined) return { mustClose: false, why: 'incomplete first frame' };
  if (f instanceof Error) return { mustClose: true, why: `bad header: ${f.message}` };
  if (f.type !== FrameType.Hello) return { mustClose: true, why: `first frame is type ${f.type}, not Hello` };
  let hello;
  try {
    hello = decodeHello(f.body);
  } catch (e) {
    return { mustClose: true, why: `malformed Hello: ${e.message}` };
  }
  const v = checkHello(hello, { clusterId, selfId: targetId, isMember: (id) => members.has(id) });
  if (!v.ok) return { mustClose: true, why: `Hello rejected: ${v.reason}` };
  // Accepted: the rest is judged as after a handshake.
  const rest = bytes.subarray(4 + bytes.readUInt32BE(0));
  const after = verdictAfter(rest);
  return { mustClose: after.mustClose, why: `after an accepted Hello: ${after.why}`, acceptedHello: true };
}

function verdictAfter(bytes) {
  const d = new FrameDecoder({ maxFrameSize: DEFAULT_MAX_FRAME_SIZE });
  d.push(bytes);
  for (;;) {
    const f = d.next();
    if (f === undefined) return { mustClose: false, why: 'no malformed frame before the end' };
    if (f instanceof Error) return { mustClose: true, why: `bad header: ${f.message}` };
    if (f.type === FrameType.RaftBatch) {
      try {
        decodeBatch(f.body);
      } catch (e) {
        return { mustClose: true, why: `malformed RaftBatch: ${e.message}` };
      }
    } else if (f.type === FrameType.Hello || f.type === FrameType.HelloAck || f.type === FrameType.HelloReject) {
      return { mustClose: true, why: `handshake frame ${f.type} after the handshake` };
    }
  }
}
