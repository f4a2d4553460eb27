import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/transport/backoff.js';

describe('Backoff', () => {
  it('doubles from the base to the cap, jittered within [step/2, step]', () => {
    const low = new Backoff({ baseMs: 50, maxMs: 2000, random: () => 0 });
    const high = new Backoff({ baseMs: 50, maxMs: 2000, random: () => 1 });
    const lows = Array.from({ length: 9 }, () => low.next());
    const highs = Array.from({ length: 9 }, () => high.next());
    expect(highs).toEqual([50, 100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    expect(lows).toEqual([25, 50, 100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('starts over after reset and survives many attempts', () => {
    const b = new Backoff({ random: () => 1 });
    for (let i = 0; i < 100; i++) b.next();
    expect(b.next()).toBe(2000);
    b.reset();
    expect(b.next()).toBe(50);
  });

  it('refuses nonsense bounds', () => {
    expect(() => new Backoff({ baseMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: 100, maxMs: 10 })).toThrow(RangeError);
  });
});
