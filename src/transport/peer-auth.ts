/**
 * The cluster-secret proof of the version 2 handshake (docs/peer-protocol.md
 * §Authentication). Each side sends a fresh random nonce and proves it holds
 * the secret with an HMAC-SHA256 over both nonces and everything the two
 * sides agreed on (versions, cluster id, both node ids) plus a direction
 * label, so a proof is good for one connection in one direction only: a
 * recorded handshake replayed later meets a new nonce, and an acceptor's
 * proof cannot be reflected back as a dialer's. The secret itself never
 * crosses the wire.
 */
import crypto from 'node:crypto';
import { clusterIdBytes } from './handshake.js';
import { varintSize, writeVarint } from './varint.js';

export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;
/** The shortest secret accepted: 128 bits if it is random. */
export const MIN_SECRET_BYTES = 16;

const LABEL = Buffer.from('raftis peer auth v2\0', 'latin1');

export type AuthDirection = 'dialer' | 'acceptor';

/** What both sides of one handshake know and must agree on. */
export interface AuthTranscript {
  /** The version range the dialer offered and the version the acceptor chose. */
  minVersion: number;
  maxVersion: number;
  version: number;
  clusterId: string;
  dialerId: number;
  acceptorId: number;
  dialerNonce: Buffer;
  acceptorNonce: Buffer;
  /**
   * TLS keying material exported from the connection (RFC 5705) when the
   * peer port uses TLS, else empty: binds the proof to this TLS session.
   */
  channelBinding: Buffer;
}

/** The cluster secret, held as an HMAC key so that it is never compared or copied around as bytes. */
export class ClusterSecret {
  private readonly key: crypto.KeyObject;

  constructor(secret: Buffer) {
    if (secret.length < MIN_SECRET_BYTES) throw new RangeError(`the cluster secret must be at least ${MIN_SECRET_BYTES} bytes, got ${secret.length}`);
    this.key = crypto.createSecretKey(secret);
  }

  mac(direction: AuthDirection, t: AuthTranscript): Buffer {
    if (t.dialerNonce.length !== NONCE_BYTES || t.acceptorNonce.length !== NONCE_BYTES) throw new RangeError('nonces must be 32 bytes');
    const cid = clusterIdBytes(t.clusterId);
    const ids = Buffer.allocUnsafe(varintSize(t.dialerId) + varintSize(t.acceptorId));
    writeVarint(ids, writeVarint(ids, 0, t.dialerId), t.acceptorId);
    const h = crypto.createHmac('sha256', this.key);
    h.update(LABEL);
    h.update(direction === 'dialer' ? 'D' : 'A');
    h.update(Buffer.from([t.minVersion, t.maxVersion, t.version, cid.length]));
    h.update(cid);
    h.update(ids);
    h.update(t.dialerNonce);
    h.update(t.acceptorNonce);
    h.update(Buffer.from([t.channelBinding.length]));
    h.update(t.channelBinding);
    return h.digest();
  }

  /** Constant-time check of a peer's proof. */
  verify(direction: AuthDirection, t: AuthTranscript, proof: Buffer): boolean {
    if (proof.length !== MAC_BYTES) return false;
    return crypto.timingSafeEqual(this.mac(direction, t), proof);
  }
}

export function newNonce(): Buffer {
  return crypto.randomBytes(NONCE_BYTES);
}

/** Label for RFC 5705 keying material export on TLS peer connections. */
export const TLS_EXPORTER_LABEL = 'EXPORTER-raftis-peer-auth';
