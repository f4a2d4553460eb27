/**
 * What the driver asks of the layer above it. The driver orders, persists
 * and commits opaque entries; it does not know what they mean. The layer
 * above (src/commands/engine) gives it:
 *
 *   - a StateMachine, which applies each committed entry in log order on
 *     every replica, and is told when a snapshot replaced its state;
 *   - Proposals, one per write it proposes: the encoded entry, and a waiter
 *     the driver settles exactly once with the write's outcome.
 */

/**
 * How a proposed write ended, as far as this node can know:
 * - `applied`: committed at its index and applied (StateMachine.apply ran for it);
 * - `lost`: another entry was committed at its index (it was not applied; safe to retry);
 * - `unknown`: its fate cannot be known here (it may or may not be applied elsewhere);
 * - `not-leader`: never appended, this node is not the leader (safe to retry elsewhere);
 * - `dropped`: never appended, a leadership transfer is in progress (safe to retry).
 */
export type Outcome = 'applied' | 'lost' | 'unknown' | 'not-leader' | 'dropped';

/** A write handed to RaftisNode.propose. */
export interface Proposal {
  /** The entry's bytes, as every replica's StateMachine.apply will receive them. */
  readonly data: Buffer;
  /** Where the driver appended it (set by propose when it is accepted; 0 before). */
  index: number;
  /** The term it was appended in (set once the core has appended it). */
  term: number;
  /** Called exactly once, with the outcome. */
  settle(outcome: Outcome): void;
}

export interface StateMachine<P extends Proposal> {
  /**
   * Applies the committed entry at `index`. `mine` is this node's own
   * proposal for that entry (same index and term), whose decoded form may be
   * reused; undefined on a follower, on replay, or when another entry took
   * its place. The driver settles `mine` with 'applied' right after.
   */
  apply(index: number, data: Buffer, mine: P | undefined): void | boolean;
  /**
   * apply answered true: the entry is not applied yet (a script paused
   * between two slices, letting the event loop turn). The driver applies
   * nothing else, takes and installs no snapshot, and calls continueApply
   * (on a later turn) until it answers true: the entry is applied; then it
   * settles `mine` and goes on with the rest of the batch.
   */
  continueApply?(): boolean;
  /**
   * While an entry's apply is paused (apply answered true, or busy): a
   * committed entry that will be applied after it, in log order (an entry
   * may be shown more than once): a paused script may wait for a decision a
   * later entry carries.
   */
  committedAhead?(index: number, data: Buffer): void;
  /**
   * A script is paused between slices (of an entry, or a read-only one run
   * locally): the driver applies no entry and answers no read until false.
   */
  busy?(): boolean;
  /**
   * Its state besides the keyspace as of now (the script cache, say), to be
   * kept in the snapshot being taken at the applied index; opaque to the
   * driver. Called synchronously, between two applies.
   */
  snapshotState?(): Buffer;
  /**
   * A snapshot replaced the whole state: the keyspace holds it now, and
   * `state` is what snapshotState returned when it was taken (empty when
   * there was none). Called at start when a snapshot was loaded, and when
   * one from the leader was installed.
   */
  restored(state: Buffer): void;
}
