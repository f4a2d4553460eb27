/**
 * lookupReadBytes with NOW_UNREAD (a GET run by Dispatcher.run, which leaves
 * the time unread: CommandDef.lazyNow): the keyspace reads the clock itself
 * when the key has a TTL, so an expired key is as invisible as with the
 * time given, and a live one as visible.
 */
import { describe, expect, it } from 'vitest';
import { INLINE, Keyspace, NOW_UNREAD } from '../../../src/keyspace/keyspace.js';

describe('Keyspace.lookupReadBytes with NOW_UNREAD', () => {
  it('reads the clock for a key with a TTL, and counts hits and misses as with a time', () => {
    const ks = new Keyspace();
    ks.set('plain', 'v1');
    ks.set('past', 'v2');
    ks.setExpire('past', Date.now() - 1000);
    ks.set('future', 'v3');
    ks.setExpire('future', Date.now() + 3_600_000);
    expect(ks.lookupReadBytes('plain', NOW_UNREAD)).toBe(INLINE);
    expect(ks.lookupReadBytes('future', NOW_UNREAD)).toBe(INLINE);
    expect(ks.lookupReadBytes('past', NOW_UNREAD)).toBeUndefined();
    expect(ks.lookupReadBytes('none', NOW_UNREAD)).toBeUndefined();
    expect([ks.hits, ks.misses]).toEqual([2, 2]);
    // A time given is used as given (MULTI, scripts): the key that expired an hour ago is live at a time before.
    expect(ks.lookupReadBytes('past', Date.now() - 3_600_000)).toBe(INLINE);
  });
});
