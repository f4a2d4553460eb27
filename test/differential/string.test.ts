/**
 * String commands, differential: every script runs on a real redis-server
 * and on the in-process engine, in RESP2 and RESP3, replies compared byte
 * for byte (TTL replies within a tolerance: both sides count from their own
 * clock). Lists made with RPUSH cover the WRONGTYPE paths.
 */
import { describe, expect, it } from 'vitest';
import { useDifferential, type Step } from '../helpers/engine-diff.js';
import { stringScripts } from './string-scripts.js';
import { Engine } from '../helpers/engine.js';

const env = useDifferential();

describe('string commands vs redis-server', () => {
  env.itRunsScripts(stringScripts);

  it('INCRBYFLOAT accumulates like long double: 0.1 added 50 times, 1/3 steps', async () => {
    const steps: Step[] = [];
    for (let i = 0; i < 50; i++) steps.push(['INCRBYFLOAT', 'a', '0.1']);
    for (let i = 0; i < 30; i++) steps.push(['INCRBYFLOAT', 'b', '0.333333333333333333']);
    for (let i = 0; i < 30; i++) steps.push(['INCRBYFLOAT', 'c', '-1.1e-3']);
    for (let i = 0; i < 20; i++) steps.push(['INCRBYFLOAT', 'd', '1.7e15']);
    const r = await env.diff.run(steps, 2);
    expect(r.mismatches).toEqual([]);
  });
});

describe('string commands on the engine alone (fixed clock)', () => {
  it('a key that expired by the entry time is absent for writes and deleted by them', () => {
    let now = 1_000_000;
    const e = new Engine({ clock: () => now });
    expect(e.call('SET', 'k', '5', 'PX', '100')).toBe('+OK\r\n');
    expect(e.call('SET', 'j', 'v', 'PX', '100')).toBe('+OK\r\n');
    now += 100;
    expect(e.call('GET', 'k')).toBe('$-1\r\n');
    // Reads do not delete: the key is still counted.
    expect(e.call('DBSIZE')).toBe(':2\r\n');
    expect(e.call('INCR', 'k')).toBe(':1\r\n');
    expect(e.call('PTTL', 'k')).toBe(':-1\r\n');
    expect(e.call('SET', 'j', 'w', 'NX')).toBe('+OK\r\n');
    expect(e.call('DBSIZE')).toBe(':2\r\n');
  });

  it('relative TTLs count from ctx.now, absolute ones are kept as given', () => {
    const now = 1_700_000_000_000;
    const e = new Engine({ clock: () => now });
    e.call('SET', 'a', 'v', 'EX', '10');
    e.call('SET', 'b', 'v', 'PX', '1234');
    e.call('SETEX', 'c', '5', 'v');
    e.call('SET', 'd', 'v');
    e.call('GETEX', 'd', 'PX', '77');
    expect(e.db.expireAt('a')).toBe(now + 10_000);
    expect(e.db.expireAt('b')).toBe(now + 1234);
    expect(e.db.expireAt('c')).toBe(now + 5000);
    expect(e.db.expireAt('d')).toBe(now + 77);
    expect(e.call('PTTL', 'b')).toBe(':1234\r\n');
    expect(e.call('TTL', 'b')).toBe(':1\r\n');
    e.call('SET', 'b', 'v', 'PX', '1500');
    expect(e.call('TTL', 'b')).toBe(':2\r\n');
  });

  it('SET with an absolute time in the past deletes the key at once', () => {
    const e = new Engine({ clock: () => 5000 });
    e.call('SET', 'k', 'v');
    expect(e.call('SET', 'k', 'w', 'PXAT', '4999', 'GET')).toBe('$1\r\nv\r\n');
    expect(e.call('DBSIZE')).toBe(':0\r\n');
    e.call('SET', 'k', 'v');
    expect(e.call('GETEX', 'k', 'PXAT', '5000')).toBe('$1\r\nv\r\n');
    expect(e.call('DBSIZE')).toBe(':0\r\n');
  });
});
