/**
 * The first durable state of a brand-new cluster. Every initial member
 * writes the same log: one AddNode conf change per voter at term 1, already
 * committed. Because the initial membership lives in the log, a node that
 * joins later learns it by plain replication (or from a snapshot), and the
 * founding members configure themselves by applying those entries from their
 * first Ready, like any later change.
 *
 * Write the result to durable storage once, when the data directory is
 * empty, before creating the RawNode. A joining node writes nothing.
 */
import { ConfChangeType, encodeConfChange } from './conf-change.js';
import { RaftConfigError } from './errors.js';
import { type Entry, EntryType, EMPTY_BUFFER, type HardState, NONE } from './messages.js';

export interface BootstrapState {
  entries: Entry[];
  hardState: HardState;
}

export function bootstrapState(voters: readonly number[]): BootstrapState {
  if (voters.length === 0) throw new RaftConfigError('must provide at least one voter to bootstrap');
  const ids = [...new Set(voters)].sort((a, b) => a - b);
  const entries = ids.map((id, i) => ({
    index: i + 1,
    term: 1,
    type: EntryType.ConfChange,
    data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: id, context: EMPTY_BUFFER }),
  }));
  return { entries, hardState: { term: 1, vote: NONE, commit: entries.length } };
}
