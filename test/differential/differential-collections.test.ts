/**
 * The list and sorted-set differential scripts (list-scripts.ts, zset-scripts.ts) against
 * a raftis *process*: parser, dispatcher, log entries, apply and replies
 * must give redis-server's bytes. After a restart (log replay) the lists and
 * sorted sets must be the same.
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { listScripts } from './list-scripts.js';
import { zsetScripts } from './zset-scripts.js';

const env = useProcessDifferential();
const target = (proto: 2 | 3): Promise<RawClient> => env.connect(proto, true);

const scripts = [...Object.entries(listScripts), ...Object.entries(zsetScripts)];

describe('differential over TCP: list and sorted-set scripts against a raftis process', () => {
  env.itRunsScripts(scripts);

  it('replays the log to the same lists and sorted sets after a restart', async () => {
    const c = await target(2);
    for (let i = 0; i < 100; i++) {
      await c.call('RPUSH', 'l', `e${i}`);
      await c.call('ZADD', 'z', String(i * 1.1), `m${i}`);
    }
    await c.call('LPOP', 'l', '3');
    await c.call('LINSERT', 'l', 'BEFORE', 'e50', 'mid');
    await c.call('ZINCRBY', 'z', '1000', 'm3');
    await c.call('ZREMRANGEBYRANK', 'z', '10', '20');
    await c.call('ZUNIONSTORE', 'u', '1', 'z', 'WEIGHTS', '2');
    const view = async (cl: RawClient): Promise<string[]> => [
      await cl.call('LRANGE', 'l', '0', '-1'),
      await cl.call('ZRANGE', 'z', '0', '-1', 'WITHSCORES'),
      await cl.call('ZRANGE', 'u', '0', '-1', 'WITHSCORES'),
    ];
    const before = await view(c);
    expect(await env.raftis.stop()).toBe(0);
    await env.raftis.restart();
    const c2 = await env.connect(2);
    expect(await view(c2)).toEqual(before);
  });
});
