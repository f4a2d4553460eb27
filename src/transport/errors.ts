/**
 * Typed errors of the peer transport. They are internal errors (logged, a
 * connection closed), never reply errors sent to Redis clients.
 */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * What was wrong with a frame. Stable strings so tests and logs can match on
 * them without parsing messages.
 */
export type FrameErrorCode =
  /** The body ended before a field it announced. */
  | 'truncated'
  /** The length field is above the configured maximum frame size. */
  | 'oversize'
  /** The length field is below the minimum (version + type). */
  | 'undersize'
  /** The header carries a protocol version this node does not speak. */
  | 'version'
  /** An unknown frame type, message type, entry type or reject code. */
  | 'type'
  /** A field holds a value outside its range (varint too long, count too big, bad flags, bad UTF-8…). */
  | 'value'
  /** Bytes left over after the last field of a body. */
  | 'trailing'
  /** A well-formed frame that is not allowed at this point of the conversation. */
  | 'protocol';

/** A malformed or unexpected frame from a peer: the connection it came on must be closed. */
export class FrameError extends TransportError {
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
