/**
 * The handshake (docs/peer-protocol.md §Handshake). The dialer sends Hello;
 * the acceptor answers HelloAck or HelloReject (then closes). Handshake
 * frames always carry version byte HANDSHAKE_VERSION and their layouts are
 * frozen, so nodes of any two versions can at least tell each other why they
 * cannot talk. Receivers ignore bytes after the fields they know: later
 * versions may append fields.
 */
import { FrameError } from './errors.js';
import { FRAME_HEADER_BYTES, FrameType, HANDSHAKE_VERSION, SUPPORTED_VERSIONS, allocFrame } from './frame.js';
import { BodyReader } from './reader.js';
import { checkUint, lengthPrefixedSize, varintSize, writeLengthPrefixed, writeVarint } from './varint.js';

/** Cluster ids are UTF-8 strings of 1 to 255 bytes. */
export const MAX_CLUSTER_ID_BYTES = 255;
/** Upper bound of the reserved authentication field. */
export const MAX_AUTH_BYTES = 1024;
/** Upper bound of a reject reason. */
export const MAX_REASON_BYTES = 1024;
/** Handshake frames are small; the acceptor uses this bound until the peer is known. */
export const HANDSHAKE_MAX_FRAME_SIZE = 4096;

export interface Hello {
  minVersion: number;
  maxVersion: number;
  clusterId: string;
  from: number;
  to: number;
  /**
   * Empty, or (version 2, a dialer with a cluster secret) the dialer's
   * 32-byte nonce, the challenge the acceptor must answer (peer-auth.ts).
   */
  auth: Buffer;
}

export interface HelloAck {
  /** The version both sides use from now on. */
  version: number;
  /** The acceptor's node id (equal to Hello.to). */
  nodeId: number;
  /**
   * Empty, or (an acceptor with a cluster secret) its 32-byte nonce (the
   * dialer's challenge) followed by its 32-byte proof (peer-auth.ts).
   */
  auth: Buffer;
}

/** Version 2: the dialer's proof that it holds the cluster secret, sent after HelloAck. */
export interface HelloProof {
  auth: Buffer;
}

/** Values are part of the wire format. Unknown codes received are shown as numbers, not errors. */
export enum RejectCode {
  /** No protocol version in common. */
  Version = 1,
  /** The cluster ids differ. */
  ClusterId = 2,
  /** Hello.from is not a member the acceptor knows. */
  UnknownNode = 3,
  /** Hello.to is not the acceptor's id. */
  WrongNode = 4,
  /** The cluster-secret check failed, or only one side has a secret. */
  Auth = 5,
  /** The acceptor is shutting down. */
  ShuttingDown = 6,
  Other = 255,
}

export interface HelloReject {
  code: number;
  /** The acceptor's supported versions, so the dialer can report the mismatch. */
  minVersion: number;
  maxVersion: number;
  reason: string;
}

export function rejectCodeName(code: number): string {
  return typeof (RejectCode as Record<number, unknown>)[code] === 'string' ? RejectCode[code]! : `code ${code}`;
}

export function clusterIdBytes(clusterId: string): Buffer {
  const b = Buffer.from(clusterId, 'utf8');
  if (b.length < 1 || b.length > MAX_CLUSTER_ID_BYTES) {
    throw new RangeError(`cluster id must be 1 to ${MAX_CLUSTER_ID_BYTES} bytes of UTF-8, got ${b.length}`);
  }
  return b;
}

function checkVersionByte(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 1 || v > 255) throw new RangeError(`${what} must be 1..255, got ${v}`);
}

export function encodeHello(h: Hello): Buffer {
  checkVersionByte(h.minVersion, 'minVersion');
  checkVersionByte(h.maxVersion, 'maxVersion');
  checkUint(h.from, 'from');
  checkUint(h.to, 'to');
  const cid = clusterIdBytes(h.clusterId);
  if (h.auth.length > MAX_AUTH_BYTES) throw new RangeError(`auth is longer than ${MAX_AUTH_BYTES} bytes`);
  const size = 2 + lengthPrefixedSize(cid.length) + varintSize(h.from) + varintSize(h.to) + lengthPrefixedSize(h.auth.length);
  const buf = allocFrame(FrameType.Hello, size, HANDSHAKE_VERSION);
  let off = FRAME_HEADER_BYTES;
  buf[off++] = h.minVersion;
  buf[off++] = h.maxVersion;
  off = writeLengthPrefixed(buf, off, cid);
  off = writeVarint(buf, off, h.from);
  off = writeVarint(buf, off, h.to);
  writeLengthPrefixed(buf, off, h.auth);
  return buf;
}

export function decodeHello(body: Buffer): Hello {
  const r = new BodyReader(body);
  const minVersion = r.u8('hello.minVersion');
  const maxVersion = r.u8('hello.maxVersion');
  const clusterId = r.utf8('hello.clusterId', MAX_CLUSTER_ID_BYTES);
  if (clusterId.length === 0) throw new FrameError('value', 'hello.clusterId is empty');
  const from = r.varint('hello.from');
  const to = r.varint('hello.to');
  const auth = Buffer.from(r.lengthPrefixed('hello.auth', MAX_AUTH_BYTES));
  // Trailing bytes are room for later versions: ignored on purpose.
  return { minVersion, maxVersion, clusterId, from, to, auth };
}

export function encodeHelloAck(a: HelloAck): Buffer {
  checkVersionByte(a.version, 'version');
  checkUint(a.nodeId, 'nodeId');
  if (a.auth.length > MAX_AUTH_BYTES) throw new RangeError(`auth is longer than ${MAX_AUTH_BYTES} bytes`);
  const buf = allocFrame(FrameType.HelloAck, 1 + varintSize(a.nodeId) + lengthPrefixedSize(a.auth.length), HANDSHAKE_VERSION);
  let off = FRAME_HEADER_BYTES;
  buf[off++] = a.version;
  off = writeVarint(buf, off, a.nodeId);
  writeLengthPrefixed(buf, off, a.auth);
  return buf;
}

export function decodeHelloAck(body: Buffer): HelloAck {
  const r = new BodyReader(body);
  const version = r.u8('helloAck.version');
  const nodeId = r.varint('helloAck.nodeId');
  const auth = Buffer.from(r.lengthPrefixed('helloAck.auth', MAX_AUTH_BYTES));
  return { version, nodeId, auth };
}

export function encodeHelloReject(j: HelloReject): Buffer {
  let reason = Buffer.from(j.reason, 'utf8');
  if (reason.length > MAX_REASON_BYTES) {
    // Cut on a character boundary so the peer's strict UTF-8 check passes.
    reason = Buffer.from(new TextDecoder().decode(reason.subarray(0, MAX_REASON_BYTES)).replace(/\uFFFD+$/, ''), 'utf8');
  }
  const buf = allocFrame(FrameType.HelloReject, 3 + lengthPrefixedSize(reason.length), HANDSHAKE_VERSION);
  let off = FRAME_HEADER_BYTES;
  buf[off++] = j.code & 0xff;
  buf[off++] = j.minVersion & 0xff;
  buf[off++] = j.maxVersion & 0xff;
  writeLengthPrefixed(buf, off, reason);
  return buf;
}

export function decodeHelloReject(body: Buffer): HelloReject {
  const r = new BodyReader(body);
  const code = r.u8('helloReject.code');
  const minVersion = r.u8('helloReject.minVersion');
  const maxVersion = r.u8('helloReject.maxVersion');
  const reason = r.utf8('helloReject.reason', MAX_REASON_BYTES);
  return { code, minVersion, maxVersion, reason };
}

export function encodeHelloProof(p: HelloProof): Buffer {
  if (p.auth.length > MAX_AUTH_BYTES) throw new RangeError(`auth is longer than ${MAX_AUTH_BYTES} bytes`);
  const buf = allocFrame(FrameType.HelloProof, lengthPrefixedSize(p.auth.length), HANDSHAKE_VERSION);
  writeLengthPrefixed(buf, FRAME_HEADER_BYTES, p.auth);
  return buf;
}

export function decodeHelloProof(body: Buffer): HelloProof {
  const r = new BodyReader(body);
  const auth = Buffer.from(r.lengthPrefixed('helloProof.auth', MAX_AUTH_BYTES));
  return { auth };
}

export interface HandshakeContext {
  clusterId: string;
  selfId: number;
  /** Whether `id` is a member this node accepts connections from. */
  isMember: (id: number) => boolean;
  versions?: readonly number[];
  /**
   * A last check of the Hello (the transport's: does it offer the
   * cluster-secret challenge this node requires?): a string rejects it
   * with RejectCode.Auth and that reason.
   */
  verifyAuth?: (hello: Hello, version: number) => string | undefined;
}

export type HelloVerdict = { ok: true; version: number } | { ok: false; code: RejectCode; reason: string };

/** The acceptor's decision on a Hello; pure so that it can be tested without sockets. */
export function checkHello(h: Hello, ctx: HandshakeContext): HelloVerdict {
  const versions = ctx.versions ?? SUPPORTED_VERSIONS;
  let version = 0;
  for (const v of versions) if (v >= h.minVersion && v <= h.maxVersion && v > version) version = v;
  if (version === 0) {
    return {
      ok: false,
      code: RejectCode.Version,
      reason: `no common protocol version: peer speaks ${h.minVersion}..${h.maxVersion}, this node ${versions.join(',')}`,
    };
  }
  if (h.clusterId !== ctx.clusterId) {
    return { ok: false, code: RejectCode.ClusterId, reason: `cluster id mismatch: peer is in '${h.clusterId}', this node in '${ctx.clusterId}'` };
  }
  if (h.to !== ctx.selfId) {
    return { ok: false, code: RejectCode.WrongNode, reason: `peer dialed node ${h.to} but this is node ${ctx.selfId}` };
  }
  if (h.from < 1 || h.from === ctx.selfId || !ctx.isMember(h.from)) {
    return { ok: false, code: RejectCode.UnknownNode, reason: `node ${h.from} is not a known member` };
  }
  const authError = ctx.verifyAuth?.(h, version);
  if (authError !== undefined) return { ok: false, code: RejectCode.Auth, reason: authError };
  return { ok: true, version };
}

export function versionRange(versions: readonly number[] = SUPPORTED_VERSIONS): { min: number; max: number } {
  return { min: Math.min(...versions), max: Math.max(...versions) };
}
