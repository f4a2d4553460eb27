/**
 * Majority arithmetic as pure functions over a voter list and a lookup. A
 * joint configuration (later) is two majorities: committed = min of both,
 * vote won only if won in both.
 */

export enum VoteResult {
  /** Not decided yet: missing votes could still go either way. */
  Pending = 1,
  Lost = 2,
  Won = 3,
}

export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest index acknowledged by a majority of `voters`. Missing acks count
 * as 0. An empty configuration commits everything (so that it is neutral in a
 * joint configuration).
 */
export function committedIndex(voters: readonly number[], acked: (id: number) => number | undefined): number {
  const n = voters.length;
  if (n === 0) return Number.MAX_SAFE_INTEGER;
  // The (n - majority(n))-th smallest: the voters' acks insertion-sorted into
  // a kept array (a handful of voters; no closure or comparator per call).
  const idx = scratch;
  for (let i = 0; i < n; i++) {
    const v = acked(voters[i]!) ?? 0;
    let j = i;
    while (j > 0 && idx[j - 1]! > v) {
      idx[j] = idx[j - 1]!;
      j--;
    }
    idx[j] = v;
  }
  return idx[n - majority(n)]!;
}

/** committedIndex's sort space, reused (only ever read below the count just written). */
const scratch: number[] = [];

/**
 * Outcome of an election given each voter's answer (true = granted, false =
 * rejected, undefined = not heard yet). An empty configuration wins.
 */
export function voteResult(voters: readonly number[], vote: (id: number) => boolean | undefined): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = vote(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = majority(voters.length);
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}
