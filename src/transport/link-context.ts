/**
 * What the Transport shares with the connections it owns: identity, limits
 * and the callbacks through which connections report back.
 */
import type { Message } from '../raft/messages.js';
import type { Logger } from '../util/log.js';
import type { BackoffOptions } from './backoff.js';
import type { LogLimiter } from './log-limit.js';
import type { ClusterSecret } from './peer-auth.js';

/** Mutual TLS on the peer port: this node's certificate and key, and the CA both sides' certificates must chain to. */
export interface PeerTlsOptions {
  cert: Buffer | string;
  key: Buffer | string;
  ca: Buffer | string;
}

export interface LinkContext {
  readonly selfId: number;
  readonly clusterId: string;
  /** Local address for outgoing connections, or undefined to let the OS choose. */
  readonly localAddress: string | undefined;
  readonly maxFrameSize: number;
  readonly maxQueueBytes: number;
  readonly writeHighWaterBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly backoff: BackoffOptions;
  readonly log: Logger;
  /** For lines a stranger can cause (refused handshakes): rate-limited. */
  readonly strangerLog: LogLimiter;
  /** The cluster secret both sides of a handshake must prove they hold; undefined: no secret (protocol v1 behaviour). */
  readonly secret: ClusterSecret | undefined;
  /** TLS for peer connections (both directions); undefined: plain TCP. */
  readonly tls: PeerTlsOptions | undefined;
  isMember(id: number): boolean;
  deliver(msg: Message, fromPeer: number): void;
  /** A ForwardCommand/ForwardReply frame body from a peer (after the handshake). */
  deliverForward(type: number, body: Buffer, fromPeer: number): void;
  /** A PubSubMessage frame body from a peer (after the handshake). */
  deliverPubSub(body: Buffer, fromPeer: number): void;
  peerStateChanged(id: number, connected: boolean): void;
  /** A peer refused our handshake with this code (e.g. RejectCode.UnknownNode: it does not count us as a member). */
  rejectedBy(id: number, code: number): void;
  unreachable(id: number, droppedSnapshot: boolean): void;
}
