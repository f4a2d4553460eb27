/**
 * Length-prefixed frames (docs/peer-protocol.md §Frames):
 *
 *   u32be length | u8 version | u8 type | body (length − 2 bytes)
 *
 * `length` counts everything after itself. The FrameDecoder reassembles
 * frames from arbitrary chunks and never throws: a malformed header is
 * returned as a FrameError and the decoder stays failed.
 */
import type { Message } from '../raft/messages.js';
import { batchSize, writeBatch } from './codec.js';
import { FrameError } from './errors.js';

export const LENGTH_FIELD_BYTES = 4;
export const FRAME_HEADER_BYTES = 6;
/** version + type: the smallest legal value of the length field. */
export const MIN_FRAME_LENGTH = 2;
/** The protocol version this implementation writes after the handshake. */
export const PROTOCOL_VERSION = 2;
/**
 * Versions this implementation can read and negotiate. Version 2 adds the
 * cluster-secret proof (HelloProof) to the handshake; frames after the
 * handshake have the same layouts in both.
 */
export const SUPPORTED_VERSIONS: readonly number[] = [1, 2];
/** The first version with the authenticated handshake: a node with a cluster secret speaks nothing older. */
export const AUTH_MIN_VERSION = 2;
/** Handshake frames always carry this version byte; their layouts are frozen. */
export const HANDSHAKE_VERSION = 1;
/** Default bound on the length field (64 MiB). */
export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024;

/**
 * Frame types. Values are part of the wire format: never renumber. Types
 * 0x80–0xFF are "skippable": a receiver that does not know one ignores the
 * frame; an unknown type below 0x80 is a protocol error.
 */
export enum FrameType {
  Hello = 0x01,
  HelloAck = 0x02,
  HelloReject = 0x03,
  /** Version 2: the dialer's answer to the acceptor's challenge in HelloAck.auth (cluster secret). */
  HelloProof = 0x04,
  /** One or more Raft messages for the receiving node. */
  RaftBatch = 0x10,
  /** A client command a follower forwards to the leader (--follower-writes proxy); see forward.ts. */
  ForwardCommand = 0x20,
  /** The leader's reply to a ForwardCommand. */
  ForwardReply = 0x21,
  /** Pub/sub fan-out: a PUBLISH's channel and message for the receiver's local subscribers; see pubsub-frame.ts. */
  PubSubMessage = 0x30,
  /** One chunk of a state-machine snapshot file (chunked InstallSnapshot; see src/node/snapshot-transfer.ts). */
  SnapshotChunk = 0x40,
  /** The receiver's acknowledgement of snapshot chunks (flow control, resume, verdict). */
  SnapshotChunkAck = 0x41,
  /** A node asks a peer for its status (the cluster page); skippable, so older peers ignore it. See status-frame.ts. */
  StatusRequest = 0x80,
  /** The peer's answer: its own numbers as JSON. */
  StatusReply = 0x81,
}

/** Frames the transport carries for the node rather than for Raft. */
export type AppFrameType =
  | FrameType.ForwardCommand
  | FrameType.ForwardReply
  | FrameType.SnapshotChunk
  | FrameType.SnapshotChunkAck
  | FrameType.StatusRequest
  | FrameType.StatusReply;

export const FIRST_SKIPPABLE_FRAME_TYPE = 0x80;

export function isKnownFrameType(t: number): t is FrameType {
  return typeof (FrameType as Record<number, unknown>)[t] === 'string';
}

export function frameTypeName(t: number): string {
  return isKnownFrameType(t) ? FrameType[t] : `0x${t.toString(16).padStart(2, '0')}`;
}

export interface Frame {
  version: number;
  /** A FrameType, or an unknown skippable type (≥ 0x80). */
  type: number;
  /** The body, in memory that no other frame's body and no socket read overlaps (small bodies are slices of Node's Buffer pool). */
  body: Buffer;
}

/** Allocates a whole frame and writes its header; the body is left for the caller to fill. */
export function allocFrame(type: number, bodyBytes: number, version = PROTOCOL_VERSION): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  buf.writeUInt32BE(MIN_FRAME_LENGTH + bodyBytes, 0);
  buf[4] = version;
  buf[5] = type;
  return buf;
}

export function encodeFrame(type: number, body: Buffer, version = PROTOCOL_VERSION): Buffer {
  const buf = allocFrame(type, body.length, version);
  body.copy(buf, FRAME_HEADER_BYTES);
  return buf;
}

/** A RaftBatch frame in one allocation: sizes are computed first, then written in place. */
export function encodeRaftBatch(msgs: readonly Message[], version = PROTOCOL_VERSION): Buffer {
  const size = batchSize(msgs);
  const buf = allocFrame(FrameType.RaftBatch, size, version);
  const end = writeBatch(buf, FRAME_HEADER_BYTES, msgs);
  if (end !== buf.length) throw new Error(`codec: wrote ${end} bytes, computed ${buf.length}`);
  return buf;
}

export interface FrameDecoderOptions {
  /** Largest accepted value of the length field. Default DEFAULT_MAX_FRAME_SIZE. */
  maxFrameSize?: number;
  /** Accepted version bytes. Default SUPPORTED_VERSIONS. */
  versions?: readonly number[];
}

export interface DecodeResult {
  frames: Frame[];
  /** Set once the stream is malformed; no further frames will be produced. */
  error: FrameError | undefined;
}

/**
 * Incremental frame reassembly. Bytes are kept as the chunks they arrived in
 * and joined once per frame, so a large frame costs one copy whatever the
 * chunking, and nothing is allocated for a length before its bytes arrived.
 *
 * Pull style (`push` then `next` until undefined) lets the caller change
 * `maxFrameSize` between frames, e.g. raise it once the handshake is done.
 *
 * A chunk may also be lent (`lend`, then `next` until undefined, then
 * `giveBack`): memory the caller reuses after the call, such as a socket's
 * read buffer (net.Socket's `onread`, inbound-connection.ts). Frames taken
 * from it are copied as always; what is left of it (a frame's beginning)
 * is copied by giveBack.
 */
export class FrameDecoder {
  /** May be changed between frames; applies to headers not yet parsed. */
  maxFrameSize: number;
  private readonly versions: readonly number[];
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed (a header read in place, a frame's tail). */
  private offset = 0;
  private buffered = 0;
  /** The last chunk is lent (see lend): never handed over as a frame body, copied by giveBack. */
  private lent = false;
  private hasHeader = false;
  private length = 0;
  private version = 0;
  private type = 0;
  private failed: FrameError | undefined;
  private readonly scratch = Buffer.alloc(FRAME_HEADER_BYTES);

  constructor(opts: FrameDecoderOptions = {}) {
    this.maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.versions = opts.versions ?? SUPPORTED_VERSIONS;
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  get error(): FrameError | undefined {
    return this.failed;
  }

  push(chunk: Buffer): void {
    if (this.lent) this.giveBack();
    if (this.failed !== undefined || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * Pushes memory the caller will reuse: take the frames with `next`, then
   * call `giveBack` before the memory changes.
   */
  lend(chunk: Buffer): void {
    this.push(chunk);
    this.lent = this.failed === undefined && chunk.length > 0;
  }

  /** Copies what is left of the lent chunk (the decoder no longer refers to the caller's memory). */
  giveBack(): void {
    if (!this.lent) return;
    this.lent = false;
    const last = this.chunks.length - 1;
    if (last < 0) return;
    const c = this.chunks[last]!;
    const from = last === 0 ? this.offset : 0;
    const keep = Buffer.allocUnsafeSlow(c.length - from);
    c.copy(keep, 0, from);
    this.chunks[last] = keep;
    if (last === 0) this.offset = 0;
  }

  /** The next complete frame, the error that stopped the stream, or undefined if more bytes are needed. */
  next(): Frame | FrameError | undefined {
    if (this.failed !== undefined) return this.failed;
    if (!this.hasHeader) {
      if (this.buffered < FRAME_HEADER_BYTES) return undefined;
      const c = this.chunks[0]!;
      const at = this.offset;
      let length: number;
      let version: number;
      let type: number;
      if (c.length - at >= FRAME_HEADER_BYTES) {
        // The whole header in the first chunk: read in place.
        length = c.readUInt32BE(at);
        version = c[at + 4]!;
        type = c[at + 5]!;
        this.consume(FRAME_HEADER_BYTES);
      } else {
        const h = this.scratch;
        this.copyOut(h, FRAME_HEADER_BYTES);
        length = h.readUInt32BE(0);
        version = h[4]!;
        type = h[5]!;
      }
      const err = this.checkHeader(length, version, type);
      if (err !== undefined) {
        this.fail(err);
        return err;
      }
      this.hasHeader = true;
      this.length = length;
      this.version = version;
      this.type = type;
    }
    const bodyBytes = this.length - MIN_FRAME_LENGTH;
    if (this.buffered < bodyBytes) return undefined;
    const frame: Frame = { version: this.version, type: this.type, body: this.take(bodyBytes) };
    this.hasHeader = false;
    return frame;
  }

  private checkHeader(length: number, version: number, type: number): FrameError | undefined {
    if (length < MIN_FRAME_LENGTH) return new FrameError('undersize', `frame length ${length} < ${MIN_FRAME_LENGTH}`);
    if (length > this.maxFrameSize) return new FrameError('oversize', `frame length ${length} exceeds the maximum ${this.maxFrameSize}`);
    if (!this.versions.includes(version)) return new FrameError('version', `unsupported protocol version ${version}`);
    if (!isKnownFrameType(type) && type < FIRST_SKIPPABLE_FRAME_TYPE) return new FrameError('type', `unknown frame type ${frameTypeName(type)}`);
    return undefined;
  }

  /** Pushes a chunk and drains every complete frame. Never throws. */
  decode(chunk: Buffer): DecodeResult {
    this.push(chunk);
    const frames: Frame[] = [];
    for (;;) {
      const f = this.next();
      if (f === undefined) return { frames, error: undefined };
      if (f instanceof FrameError) return { frames, error: f };
      frames.push(f);
    }
  }

  private fail(err: FrameError): void {
    this.failed = err;
    this.chunks = [];
    this.offset = 0;
    this.buffered = 0;
    this.lent = false;
    this.hasHeader = false;
  }

  /** Removes `n` buffered bytes (n ≤ buffered) into memory that no other frame overlaps. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (
      first !== undefined &&
      this.offset === 0 &&
      first.length === n &&
      first.byteOffset === 0 &&
      first.buffer.byteLength === n &&
      !(this.lent && this.chunks.length === 1)
    ) {
      // The chunk is exactly this frame's body and owns its memory: hand it over as is.
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    // Copy, so that a small frame kept by the application (entries live in
    // the log) does not pin a 64 KiB socket chunk it shared with others, nor
    // a socket's read buffer. Below 4 KiB (an acknowledgement, a -P 1 append)
    // from Node's 8 KiB pool, as Buffer.allocUnsafe does: no ArrayBuffer and
    // backing store of its own per frame; a kept body pins at most its slab.
    const out = Buffer.allocUnsafe(n);
    this.copyOut(out, n);
    return out;
  }

  /** Drops the first `n` bytes of chunks[0] (n ≤ what is left of it). */
  private consume(n: number): void {
    this.buffered -= n;
    const off = this.offset + n;
    if (off === this.chunks[0]!.length) {
      this.chunks.shift();
      this.offset = 0;
    } else {
      this.offset = off;
    }
  }

  /** Moves the first `n` buffered bytes (n ≤ buffered) into `dst`. */
  private copyOut(dst: Buffer, n: number): void {
    this.buffered -= n;
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const at = this.offset;
      const want = n - filled;
      if (c.length - at <= want) {
        c.copy(dst, filled, at, c.length);
        filled += c.length - at;
        this.chunks.shift();
        this.offset = 0;
      } else {
        c.copy(dst, filled, at, at + want);
        filled += want;
        this.offset = at + want;
      }
    }
  }
}
