/**
 * What the Transport shares with the connections it owns: identity, limits
 * and the callbacks through which connections report back.
 */
import type { Message } from '../raft/messages.js';
import type { Logger } from '../util/log.js';
import type { BackoffOptions } from './backoff.js';

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
