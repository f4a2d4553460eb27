/**
 * Why the driver refused a membership change or a leadership transfer.
 * The code says what happened; the layer above chooses what a client sees
 * (src/commands/membership.ts).
 */
export type RefusalCode =
  /** This node is not the leader (the client should be sent to it). */
  | 'not-leader'
  /** A membership change is in the log and not yet applied. */
  | 'change-in-progress'
  /** The core refused the change (the message says why). */
  | 'refused'
  /** The change was proposed but a leader change replaced it (not applied; retry). */
  | 'lost'
  /** A transfer was asked for without a target and there is no other voter. */
  | 'no-other-voter'
  /** The transfer's target is not a voter. */
  | 'not-a-voter'
  /** The transfer did not complete within an election timeout. */
  | 'timeout'
  /** The node is shutting down. */
  | 'closing';

export class NodeRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'NodeRefusal';
  }
}
