/**
 * How the leader replicates to one follower.
 *
 *   Probe      follower's log end unknown: one MsgApp per heartbeat interval
 *              until an answer tells where the logs match.
 *   Replicate  steady state: MsgApps pipelined, Next advanced optimistically,
 *              bounded by Inflights.
 *   Snapshot   the entries the follower needs are compacted away: a snapshot
 *              is in flight and appends wait for it.
 *
 *   Probe ──ack──▶ Replicate ──reject/unreachable──▶ Probe
 *   Probe/Replicate ──needs compacted entries──▶ Snapshot ──ack past it / report──▶ Probe
 */
export enum ProgressState {
  Probe = 0,
  Replicate = 1,
  Snapshot = 2,
}

const NAMES: Record<ProgressState, string> = {
  [ProgressState.Probe]: 'StateProbe',
  [ProgressState.Replicate]: 'StateReplicate',
  [ProgressState.Snapshot]: 'StateSnapshot',
};

export function progressStateName(s: ProgressState): string {
  return NAMES[s];
}
