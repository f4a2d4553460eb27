/**
 * The hash, set, bit-operation and introspection differential scripts
 * (*-scripts.ts, also run on the engine) against a raftis *process*: parser, dispatcher, log
 * entries, apply and reply slots must give redis-server's bytes. After a
 * restart (log replay) hashes and sets are the same, and so are the
 * members SPOP left (its choices are replayed from the log).
 */
import { describe, expect, it } from 'vitest';
import { type Step } from '../helpers/engine-diff.js';
import { RawClient } from '../helpers/raw-client.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { bitsScripts } from './bits-scripts.js';
import { hashScripts } from './hash-scripts.js';
import { introspectionScripts } from './introspection-scripts.js';
import { setScripts } from './set-scripts.js';

const env = useProcessDifferential();
const connect = (proto: 2 | 3): Promise<RawClient> => env.connect(proto);

const scripts: [string, Step[]][] = [
  ...Object.entries(hashScripts),
  ...Object.entries(setScripts),
  ...Object.entries(bitsScripts),
  ...Object.entries(introspectionScripts),
];

describe('differential over TCP: hash, set, bit and introspection scripts against a raftis process', () => {
  env.itRunsScripts(scripts);

  it('replays hashes, sets and SPOP choices to the same keyspace after a restart', async () => {
    const c = await connect(2);
    await c.call('FLUSHALL');
    const members: string[] = [];
    for (let i = 0; i < 300; i++) members.push(`m${i}`);
    await c.call('SADD', 'r:s', ...members);
    await c.call('SADD', 'r:i', '1', '2', '3');
    for (let i = 0; i < 40; i++) await c.call('SPOP', 'r:s', String(1 + (i % 3)));
    for (let i = 0; i < 100; i++) await c.call('HSET', 'r:h', `f${i}`, `v${i}`);
    await c.call('HDEL', 'r:h', 'f3', 'f50');
    await c.call('HINCRBY', 'r:h', 'n', '7');
    await c.call('SETBIT', 'r:b', '100', '1');
    await c.call('MULTI');
    await c.call('SPOP', 'r:s');
    await c.call('SMOVE', 'r:s', 'r:t', 'm1');
    await c.call('EXEC');
    const state = async (cl: RawClient): Promise<string[]> => {
      const sorted = (raw: string): string => raw.split('\r\n').sort().join('|');
      return [
        sorted(await cl.call('SMEMBERS', 'r:s')),
        await cl.call('SMEMBERS', 'r:i'),
        sorted(await cl.call('SMEMBERS', 'r:t')),
        await cl.call('HGETALL', 'r:h'),
        await cl.call('OBJECT', 'ENCODING', 'r:s'),
        await cl.call('GET', 'r:b'),
        await cl.call('DBSIZE'),
      ];
    };
    const before = await state(c);
    expect(before[4]).toBe('$9\r\nhashtable\r\n');
    expect(await env.raftis.stop()).toBe(0);
    await env.raftis.restart();
    const c2 = await connect(2);
    expect(await state(c2)).toEqual(before);
    // INFO keyspace counts collections like any key.
    const keys = Number(/^:(\d+)/.exec(before[6]!)![1]);
    expect(keys).toBeGreaterThanOrEqual(4);
    expect(await c2.call('INFO', 'keyspace')).toContain(`db0:keys=${keys},expires=0,`);
  });
});
