/**
 * The node's ticks follow the monotonic clock (src/node/ticker.ts): a timer
 * that fires once after a stall still gets every tick the stall skipped
 * (bounded), so the core's lease and election timeouts see the real time.
 */
import { describe, expect, it } from 'vitest';
import { Ticker } from '../../../src/node/ticker.js';
import type { Clock } from '../../../src/util/clock.js';

function fakeClock(): Clock & { t: number } {
  const c = {
    t: 1000,
    now: () => 0,
    monotonic: () => c.t,
    immediate: () => {},
    timeout: () => ({}),
    interval: () => ({}),
    clear: () => {},
  };
  return c;
}

describe('Ticker', () => {
  it('hands out one tick per tickMs to a timer firing on time', () => {
    const c = fakeClock();
    const t = new Ticker(c, 50, 20);
    const got: number[] = [];
    for (let i = 0; i < 10; i++) {
      c.t += 50;
      got.push(t.due());
    }
    expect(got).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('counts by the clock, not by firings: a late firing gets the ticks it missed, an early one none', () => {
    const c = fakeClock();
    const t = new Ticker(c, 50, 20);
    c.t += 60;
    expect(t.due()).toBe(1);
    c.t += 10; // 70 ms in: tick 2 is due at 75
    expect(t.due()).toBe(0);
    c.t += 5;
    expect(t.due()).toBe(1);
    c.t += 175; // 250 ms in: ticks up to 5 (due at 225)
    expect(t.due()).toBe(3);
  });

  it('after a stall runs the ticks it skipped, at most maxCatchUp; the rest are dropped once', () => {
    const c = fakeClock();
    const t = new Ticker(c, 50, 20);
    c.t += 50;
    expect(t.due()).toBe(1);
    c.t += 400; // a SIGSTOP of 0.4 s: 8 ticks
    expect(t.due()).toBe(8);
    c.t += 5000; // 5 s: 100 ticks, bounded to 20
    expect(t.due()).toBe(20);
    // Ticking goes on at the clock's rate from there.
    c.t += 50;
    expect(t.due()).toBe(1);
    expect(t.due()).toBe(0);
  });
});
