import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { IdleGc } from '../../../src/util/idle-gc.js';

/** Allocates about `mb` MB of short strings that die at once (old-space garbage once promoted). */
function churn(mb: number): number {
  let keep = 0;
  for (let round = 0; round < mb; round++) {
    const a: string[] = [];
    for (let i = 0; i < 16_384; i++) a.push(`value-${round}-${i}-${'x'.repeat(32)}`);
    keep += a.length;
  }
  return keep;
}

/**
 * Allocates about `mb` MB of short strings and keeps them until the caller
 * drops the array: the heap has grown by then whatever the collector did
 * meanwhile (churn's garbage may already be collected when the test looks).
 */
function hold(mb: number): string[][] {
  const kept: string[][] = [];
  for (let round = 0; round < mb; round++) {
    const a: string[] = [];
    for (let i = 0; i < 16_384; i++) a.push(`value-${round}-${i}-${'x'.repeat(32)}`);
    kept.push(a);
  }
  return kept;
}

describe('IdleGc', () => {
  it('collects once after a busy interval is followed by an idle one, and only if the heap grew', () => {
    let activity = 0;
    const g = new IdleGc(() => activity, { growthBytes: 1024 * 1024 });
    // Busy: activity changed since the last look.
    activity++;
    expect(g.check()).toBe(false);
    let kept: string[][] | undefined = hold(64);
    const before = v8.getHeapStatistics().used_heap_size;
    // Garbage now, not collected yet (nothing allocates until the look).
    kept = undefined;
    // Idle for one interval after being busy, heap grew: one collection.
    expect(g.check()).toBe(true);
    expect(g.runs).toBe(1);
    expect(v8.getHeapStatistics().used_heap_size).toBeLessThan(before);
    // Still idle: nothing more to do until the server works again.
    expect(g.check()).toBe(false);
    // Busy, then idle, but the heap did not grow enough: no collection.
    const g2 = new IdleGc(() => activity, { growthBytes: 1024 ** 3 });
    activity++;
    expect(g2.check()).toBe(false);
    expect(g2.check()).toBe(false);
    expect(g2.runs).toBe(0);
  });

  it('never collects while the server keeps working', () => {
    let activity = 0;
    const g = new IdleGc(() => activity, { growthBytes: 1 });
    for (let i = 0; i < 5; i++) {
      activity++;
      churn(2);
      expect(g.check()).toBe(false);
    }
    expect(g.runs).toBe(0);
  });

  it('after an idle collection, collects once more when the node stays idle for shrinkAfterMs, and the wait restarts on work', () => {
    let activity = 0;
    const g = new IdleGc(() => activity, { growthBytes: 1024 * 1024, idleMs: 1000, shrinkAfterMs: 3000 });
    activity++;
    expect(g.check()).toBe(false);
    let kept: string[][] | undefined = hold(16);
    expect(g.check()).toBe(true);
    expect(g.runs).toBe(1);
    expect(kept.length).toBe(16);
    kept = undefined;
    // Two idle looks, then work: the wait starts over.
    expect(g.check()).toBe(false);
    expect(g.check()).toBe(false);
    activity++;
    expect(g.check()).toBe(false);
    // Idle again (the heap did not grow enough for a first-stage collection).
    expect(g.check()).toBe(false);
    expect(g.check()).toBe(false);
    expect(g.runs).toBe(1);
    expect(g.check()).toBe(true);
    expect(g.runs).toBe(2);
    // Done: no more collections while idle.
    for (let i = 0; i < 5; i++) expect(g.check()).toBe(false);
    expect(g.runs).toBe(2);
  });
});
