/**
 * Keyspace commands, differential: scripts run on a real redis-server and on
 * the in-process engine, RESP2 and RESP3, replies compared byte for byte;
 * KEYS as sets and SCAN as the union of a full iteration (hash order
 * differs); TTL replies within a tolerance; absolute expiries (year 3000)
 * exactly. Lists made with RPUSH cover TYPE, SCAN ... TYPE and the
 * WRONGTYPE paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Differential, useDifferential, type Step } from '../helpers/engine-diff.js';
import { keyspaceScripts } from './keyspace-scripts.js';
import { Engine } from '../helpers/engine.js';
import { RawClient } from '../helpers/raw-client.js';

const env = useDifferential();

describe('keyspace commands vs redis-server', () => {
  env.itRunsScripts(keyspaceScripts);
});

describe('keyspace commands on the engine alone (fixed clock)', () => {
  it('expired keys are invisible to reads, deleted by writes, counted by DBSIZE until then', () => {
    let now = 1_000_000;
    const e = new Engine({ clock: () => now });
    e.call('SET', 'a', '1', 'PX', '10');
    e.call('SET', 'b', '1', 'PX', '10');
    e.call('SET', 'c', '1');
    now += 10;
    expect(e.call('EXISTS', 'a', 'b', 'c')).toBe(':1\r\n');
    expect(e.call('TTL', 'a')).toBe(':-2\r\n');
    expect(e.call('TYPE', 'a')).toBe('+none\r\n');
    expect(e.call('KEYS', '*')).toBe('*1\r\n$1\r\nc\r\n');
    expect(e.call('SCAN', '0')).toBe('*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n');
    expect(e.call('RANDOMKEY')).toBe('$1\r\nc\r\n');
    expect(e.call('DBSIZE')).toBe(':3\r\n');
    expect(e.call('DEL', 'a')).toBe(':0\r\n');
    expect(e.call('DBSIZE')).toBe(':2\r\n');
    expect(e.call('RENAME', 'b', 'x')).toBe('-ERR no such key\r\n');
    expect(e.call('DBSIZE')).toBe(':1\r\n');
    expect(e.call('COPY', 'c', 'd')).toBe(':1\r\n');
    expect(e.call('EXPIRE', 'c', '10')).toBe(':1\r\n');
    expect(e.call('PTTL', 'c')).toBe(':10000\r\n');
    expect(e.call('EXPIRETIME', 'c')).toBe(':1010\r\n');
    expect(e.call('PEXPIRETIME', 'c')).toBe(':1010010\r\n');
  });

  it('RANDOMKEY returns one of the live keys', () => {
    let now = 1000;
    const e = new Engine({ clock: () => now });
    for (let i = 0; i < 50; i++) e.call('SET', `k${i}`, 'v');
    for (let i = 0; i < 50; i++) e.call('SET', `dead${i}`, 'v', 'PXAT', '2000');
    for (let i = 0; i < 20; i++) expect(e.call('RANDOMKEY')).toMatch(/^\$\d+\r\n(k|dead)\d+\r\n$/);
    now = 3000;
    for (let i = 0; i < 50; i++) expect(e.call('RANDOMKEY')).toMatch(/^\$\d+\r\nk\d+\r\n$/);
    expect(e.call('DBSIZE')).toBe(':100\r\n');
  });

  it('SCAN visits every key present for the whole walk exactly once, even with writes in between', () => {
    const e = new Engine({ clock: () => 1000 });
    for (let i = 0; i < 100; i++) e.call('SET', `k${i}`, 'v');
    const seen = new Map<string, number>();
    let cursor = '0';
    let round = 0;
    do {
      const r = e.call('SCAN', cursor, 'COUNT', '7');
      const parts = r.split('\r\n');
      cursor = parts[2]!;
      const n = Number(parts[3]!.slice(1));
      for (let i = 0; i < n; i++) {
        const k = parts[5 + 2 * i]!;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
      e.call('SET', `new${round}`, 'v');
      e.call('DEL', `k${99 - round}`);
      round++;
    } while (cursor !== '0' && round < 1000);
    for (let i = 0; i < 100 - round; i++) expect(seen.get(`k${i}`)).toBe(1);
  });
});
