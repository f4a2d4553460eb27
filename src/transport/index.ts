/** The peer transport: frames, codec, handshake and the per-node mesh. */
export { Transport, type TransportOptions, type PeerAddress, type PeerStatus } from './transport.js';
export { TransportError, FrameError, type FrameErrorCode } from './errors.js';
export {
  FrameType,
  FrameDecoder,
  type Frame,
  type FrameDecoderOptions,
  type DecodeResult,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  HANDSHAKE_VERSION,
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_BYTES,
  allocFrame,
  encodeFrame,
  encodeRaftBatch,
} from './frame.js';
export { encodeMessage, decodeMessage, messageSize, writeMessage, readMessage, batchSize, writeBatch, decodeBatch } from './codec.js';
export {
  type Hello,
  type HelloAck,
  type HelloReject,
  RejectCode,
  encodeHello,
  decodeHello,
  encodeHelloAck,
  decodeHelloAck,
  encodeHelloReject,
  decodeHelloReject,
  checkHello,
  encodeHelloProof,
  decodeHelloProof,
  HANDSHAKE_MAX_FRAME_SIZE,
} from './handshake.js';
export { ClusterSecret, MIN_SECRET_BYTES } from './peer-auth.js';
export type { PeerTlsOptions } from './link-context.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { type ForwardCommand, type ForwardReply, encodeForwardCommand, decodeForwardCommand, encodeForwardReply, decodeForwardReply } from './forward.js';
export { type PubSubMessage, encodePubSubMessage, decodePubSubMessage, pubSubMessageSize, writePubSubMessage } from './pubsub-frame.js';
