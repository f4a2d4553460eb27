/**
 * The string and keyspace differential scripts (string-scripts.ts, keyspace-scripts.ts), run
 * against a raftis *process* instead of the in-process engine: the whole
 * path — parser, dispatcher, log entry encoding, LevelDB, apply, reply
 * slots — must give redis-server's bytes. After a restart (log replay) the
 * keyspace must be the same.
 */
import { describe, expect, it } from 'vitest';
import type { Step } from '../helpers/engine-diff.js';
import { RawClient } from '../helpers/raw-client.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { keyspaceScripts } from './keyspace-scripts.js';
import { stringScripts } from './string-scripts.js';

const env = useProcessDifferential();
const target = (proto: 2 | 3): Promise<RawClient> => env.connect(proto, true);

const scripts: [string, Step[]][] = [...Object.entries(stringScripts), ...Object.entries(keyspaceScripts)];

describe('differential over TCP: string and keyspace scripts against a raftis process', () => {
  it('runs a meaningful share of the scripts', () => {
    expect(scripts.length).toBeGreaterThan(15);
    expect(scripts.reduce((n, [, s]) => n + s.length, 0)).toBeGreaterThan(500);
  });
  env.itRunsScripts(scripts);

  it('replays the log to the same keyspace after a restart', async () => {
    const c = await target(2);
    for (let i = 0; i < 200; i++) await c.call('SET', `r:${i}`, `v${i}`, ...(i % 3 === 0 ? ['EX', '1000'] : []));
    await c.call('APPEND', 'r:1', '-more');
    await c.call('INCRBYFLOAT', 'r:f', '1.5');
    await c.call('MULTI');
    await c.call('INCR', 'r:n');
    await c.call('RENAME', 'r:2', 'r:renamed');
    await c.call('EXEC');
    const snapshot = async (cl: RawClient): Promise<string[]> => {
      const keys = (await cl.call('KEYS', 'r:*')).split('\r\n').filter((l) => l.startsWith('r:')).sort();
      const out: string[] = [];
      for (const k of keys) out.push(`${k}=${await cl.call('GET', k)} ttl>0:${(await cl.call('TTL', k)) !== ':-1\r\n'}`);
      return out;
    };
    const before = await snapshot(c);
    expect(before.length).toBe(202);
    expect(await env.raftis.stop()).toBe(0);
    await env.raftis.restart();
    const c2 = await env.connect(2);
    expect(await snapshot(c2)).toEqual(before);
  });
});
