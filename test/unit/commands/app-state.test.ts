import { describe, expect, it } from 'vitest';
import { readAppState, writeAppState } from '../../../src/commands/engine/app-state.js';
import { Config } from '../../../src/commands/engine/config.js';

describe('the state machine app state in snapshots', () => {
  it('round-trips named sections, empty ones included', () => {
    const sections = new Map([
      ['scripts', Buffer.from([1, 2, 3])],
      ['config', Buffer.alloc(0)],
      ['x', Buffer.from('hello')],
    ]);
    const back = readAppState(writeAppState(sections));
    expect([...back.keys()]).toEqual(['scripts', 'config', 'x']);
    for (const [k, v] of sections) expect(back.get(k)!.equals(v)).toBe(true);
  });

  it('reads a snapshot written before sections existed as the script cache alone', () => {
    const legacy = Buffer.from([1, 0, 0, 0, 2, 0, 0, 0, 0x68, 0x69]);
    const back = readAppState(legacy);
    expect([...back.keys()]).toEqual(['scripts']);
    expect(back.get('scripts')!.equals(legacy)).toBe(true);
    expect(readAppState(Buffer.alloc(0)).size).toBe(0);
  });

  it('refuses a truncated or newer app state with what happened', () => {
    const b = writeAppState(new Map([['scripts', Buffer.from('abcdef')]]));
    expect(() => readAppState(b.subarray(0, b.length - 2))).toThrow(/truncated/);
    const newer = Buffer.from(b);
    newer[4] = 9;
    expect(() => readAppState(newer)).toThrow(/version 9 is newer/);
  });
});

describe('cluster-wide config in snapshots', () => {
  it('carries every cluster-wide parameter, not node ones, and restores them with their watchers', () => {
    const a = new Config();
    expect(a.set([['maxmemory-policy', 'allkeys-lfu'], ['notify-keyspace-events', 'Ex'], ['maxmemory', '10mb'], ['timeout', '9']])).toBeUndefined();
    const b = new Config();
    let fired = 0;
    b.watch('notify-keyspace-events', () => fired++);
    expect(b.restore(a.snapshotState())).toEqual([]);
    expect(b.get('maxmemory-policy')).toBe('allkeys-lfu');
    expect(b.get('notify-keyspace-events')).toBe('xE');
    expect(b.get('maxmemory')).toBe('10485760');
    expect(b.get('timeout')).toBe('0');
    expect(fired).toBe(2);
  });

  it('tells which CONFIG SETs are cluster-wide, aliases included', () => {
    const c = new Config();
    expect(c.namesClusterWide([['timeout', '1']])).toBe(false);
    expect(c.namesClusterWide([['timeout', '1'], ['zset-max-ziplist-entries', '3']])).toBe(true);
    expect(c.namesClusterWide([['NOTIFY-KEYSPACE-EVENTS', '']])).toBe(true);
    expect(c.namesClusterWide([['no-such', '']])).toBe(false);
  });
});
