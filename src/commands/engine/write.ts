/**
 * A write the engine proposes through the log: the Proposal the driver keeps
 * in flight (src/node/state-machine.ts), carrying what the engine needs to
 * apply and answer it on this node — the decoded entry (applied without
 * decoding it again), where its reply goes, and for whom it runs.
 *
 * Each kind of write settles in its own way:
 *   ClientWrite       a client's command or transaction (dispatch.ts)
 *   ForwardedWrite    a follower's client, through the proxy (proxy.ts)
 *   BlockedPopWrite   a parked blocking pop, retried (blocking.ts)
 *   ExpireWrite       active expiry's deletes (expire.ts)
 */
import type { Outcome, Proposal } from '../../node/node.js';
import type { RespWriter } from '../../server/resp-writer.js';
import { decodeStateEntry, encodeStateEntry, type StateEntry } from './entry.js';
import type { EngineClient } from './engine.js';

/** Replies for writes whose fate is known or unknowable after a leader change. */
export const TRYAGAIN_LOST = 'TRYAGAIN the write was not committed: leadership changed before it was replicated; it was not applied, retry it';
export const OUTCOME_UNKNOWN =
  'ERR outcome unknown: this node lost leadership before the write was known to be committed; it may or may not have been applied';

export abstract class Write<E extends StateEntry = StateEntry> implements Proposal {
  index = 0;
  term = 0;
  readonly data: Buffer;
  /** The entry as proposed, or undefined until `entry` decodes it from `data`. */
  private decoded: E | undefined;
  /** For an entry encodePlainSet made: its slab's DataView and offset (entry.ts PLAIN_MADE), where its apply reads it (plainSetAt). */
  plainView: DataView<ArrayBufferLike> | undefined = undefined;
  plainAt = 0;

  constructor(
    entry: E | undefined,
    /** Where the apply writes the reply. */
    readonly w: RespWriter,
    /** The entry's bytes when they were made without an entry object (encodePlainSet): `entry` decodes them when asked. */
    data?: Buffer,
  ) {
    this.decoded = entry;
    this.data = data ?? encodeStateEntry(entry!);
  }

  /** The entry, applied without decoding it again (decoded from `data` once, for a write made from bytes). */
  get entry(): E {
    return (this.decoded ??= decodeStateEntry(this.data) as E);
  }

  /** The client it runs for (SLOWLOG's address and name, MONITOR's line), when there is one. */
  get client(): EngineClient | undefined {
    return undefined;
  }

  /** Runs a connection-level command queued in the write's MULTI (PING, CLIENT SETNAME…). */
  conn(_argv: string[], _w: RespWriter): void {}

  abstract settle(outcome: Outcome): void;
}
