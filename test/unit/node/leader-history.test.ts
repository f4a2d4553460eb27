import { describe, expect, it } from 'vitest';
import { LeaderHistory } from '../../../src/node/leader-history.js';

describe('LeaderHistory', () => {
  it('records each new (term, leader) once, skips elections without a leader, and keeps the newest', () => {
    const h = new LeaderHistory(3);
    h.observe(1, 1, 0);
    h.observe(2, 2, 1);
    h.observe(3, 2, 1);
    h.observe(4, 3, 0);
    h.observe(5, 3, 2);
    h.observe(6, 4, 2);
    expect(h.list()).toEqual([
      { time: 2, term: 2, leader: 1 },
      { time: 5, term: 3, leader: 2 },
      { time: 6, term: 4, leader: 2 },
    ]);
    h.observe(7, 5, 3);
    expect(h.list().map((c) => c.term)).toEqual([3, 4, 5]);
    // A copy: the caller cannot change the ring.
    h.list().pop();
    expect(h.list()).toHaveLength(3);
  });
});
