/** Majority arithmetic: table cases and a randomized comparison with a naive definition. */
import { describe, expect, it } from 'vitest';
import { createPrng, randomInt } from '../../../src/util/prng.js';
import { committedIndex, majority, VoteResult, voteResult } from '../../../src/raft/quorum.js';

describe('quorum', () => {
  it('committedIndex: the highest index a majority has', () => {
    const cases: [number[], number][] = [
      [[], Number.MAX_SAFE_INTEGER],
      [[7], 7],
      [[5, 9], 5],
      [[1, 5, 9], 5],
      [[2, 2, 9, 9], 2],
      [[0, 0, 0, 9, 9], 0],
      [[3, 9, 9, 1, 7], 7],
    ];
    for (const [acked, want] of cases) {
      const voters = acked.map((_, i) => i + 1);
      expect(committedIndex(voters, (id) => acked[id - 1])).toBe(want);
    }
    expect(committedIndex([1, 2, 3], (id) => (id === 1 ? 5 : undefined))).toBe(0);
  });

  it('voteResult: won, lost, or still open', () => {
    const v = (answers: (boolean | undefined)[]): VoteResult => voteResult(answers.map((_, i) => i + 1), (id) => answers[id - 1]);
    expect(voteResult([], () => undefined)).toBe(VoteResult.Won);
    expect(v([true])).toBe(VoteResult.Won);
    expect(v([undefined])).toBe(VoteResult.Pending);
    expect(v([false])).toBe(VoteResult.Lost);
    expect(v([true, undefined, undefined])).toBe(VoteResult.Pending);
    expect(v([true, true, false])).toBe(VoteResult.Won);
    expect(v([true, false, false])).toBe(VoteResult.Lost);
    expect(v([true, true, false, false])).toBe(VoteResult.Lost);
    expect(v([true, true, undefined, false])).toBe(VoteResult.Pending);
  });

  it('agrees with the definition on random configurations', () => {
    const rng = createPrng(42);
    for (let round = 0; round < 2000; round++) {
      const n = 1 + randomInt(rng, 7);
      const voters = Array.from({ length: n }, (_, i) => i + 1);
      const acked = voters.map(() => randomInt(rng, 10));
      const got = committedIndex(voters, (id) => acked[id - 1]);
      // The largest x such that at least a majority acked >= x.
      let want = 0;
      for (let x = 0; x <= 10; x++) if (acked.filter((a) => a >= x).length >= majority(n)) want = x;
      expect(got).toBe(want);

      const answers = voters.map(() => [true, false, undefined][randomInt(rng, 3)]);
      const yes = answers.filter((a) => a === true).length;
      const no = answers.filter((a) => a === false).length;
      const wantVote = yes >= majority(n) ? VoteResult.Won : n - no >= majority(n) ? VoteResult.Pending : VoteResult.Lost;
      expect(voteResult(voters, (id) => answers[id - 1])).toBe(wantVote);
    }
  });
});
