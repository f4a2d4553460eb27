/**
 * Background eviction (Redis 7's evictionTimeProc, started by CONFIG SET
 * maxmemory: config.c updateMaxmemory → startEvictionTimeProc) beside
 * redis-server 7.0: a dataset filled past a limit set afterwards shrinks to
 * the limit with no further command on the node, as redis-server's does.
 * The evictions are watched through `evicted` keyspace events on a
 * subscribed connection, so nothing is sent to the node while they happen
 * (any command would itself evict first, as Redis's processCommand does).
 */
import { describe, expect, it } from 'vitest';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { PushClient } from '../helpers/push-client.js';
import type { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

const infoField = (info: string, field: string): number => {
  const line = info.split('\r\n').find((l) => l.startsWith(`${field}:`));
  if (line === undefined) throw new Error(`no ${field} in INFO`);
  return Number(line.slice(field.length + 1));
};

const KEYS = 3000;
const VALUE = 'v'.repeat(400);

interface Outcome {
  /** `evicted` events received before any other command was sent. */
  events: number;
  evictedKeys: number;
  used: number;
  limit: number;
  changes: number;
}

/**
 * Fills the server, subscribes to evicted events, lowers maxmemory to
 * `limitOf(used)` and then sends nothing until `want` events came (or 30 s
 * passed); then reads INFO.
 */
async function lowerAndWait(c: RawClient, port: number, measure: string, limitOf: (used: number) => number, want: (used: number, limit: number) => number): Promise<Outcome> {
  await c.call('FLUSHALL');
  await c.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'allkeys-random', 'notify-keyspace-events', 'Ee', 'save', '');
  await c.call('CONFIG', 'RESETSTAT');
  // Fixed-width names: every key takes the same room.
  for (let i = 0; i < KEYS; i += 100) {
    const args: string[] = [];
    for (let j = i; j < i + 100; j++) args.push(`k:${String(j).padStart(5, '0')}`, VALUE);
    await c.call('MSET', ...args);
  }
  const used = infoField(await c.call('INFO', 'memory'), measure);
  const changesBefore = infoField(await c.call('INFO', 'persistence'), 'rdb_changes_since_last_save');
  const sub = await PushClient.connect(port);
  try {
    expect(await sub.call(1, 'SUBSCRIBE', '__keyevent@0__:evicted')).toHaveLength(1);
    const limit = limitOf(used);
    expect(await c.call('CONFIG', 'SET', 'maxmemory', String(limit))).toBe('+OK\r\n');
    // No command to the node from here until the events are in.
    const target = want(used, limit);
    const events = (await sub.take(target, 30_000)).length;
    // Let the last eviction entries be applied (raftis: proposed, then applied).
    let info = await c.call('INFO');
    for (let i = 0; i < 100 && infoField(info, measure) > limit; i++) {
      await new Promise((r) => setTimeout(r, 50));
      info = await c.call('INFO');
    }
    const changes = infoField(info, 'rdb_changes_since_last_save') - changesBefore;
    return { events, evictedKeys: infoField(info, 'evicted_keys'), used: infoField(info, measure), limit, changes };
  } finally {
    sub.close();
    await c.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction', 'notify-keyspace-events', '');
    await c.call('FLUSHALL');
  }
}

describe('background eviction', () => {
  it('CONFIG SET maxmemory below the dataset: evicted down to the limit with no further command, as redis-server', async () => {
    const [a, b] = await env.pair();
    // redis-server counts about 1 MB of its own beside the data: take away a third of the data's ~1.4 MB; one event is enough to show it evicts by itself.
    const ra = await lowerAndWait(a, env.diff.redis.port, 'used_memory', (used) => used - 450 * 1024, () => 1);
    // raftis counts the dataset alone, every key the same: half of it must go, so half the keys (a few short of it at most).
    const rb = await lowerAndWait(b, env.raftis.port, 'used_memory_dataset', (used) => Math.floor(used / 2), () => KEYS / 2 - 5);
    expect(ra.events).toBe(1);
    expect(ra.evictedKeys).toBeGreaterThan(0);
    // redis-server's used_memory moves with its client buffers: a little slack.
    expect(ra.used).toBeLessThanOrEqual(ra.limit + 64 * 1024);
    expect(rb.events).toBe(KEYS / 2 - 5);
    expect(rb.evictedKeys).toBeGreaterThanOrEqual(KEYS / 2 - 5);
    expect(rb.used).toBeLessThanOrEqual(rb.limit);
    // Evictions add nothing to the changes since the last save, on either.
    expect(ra.changes).toBe(0);
    expect(rb.changes).toBe(0);
  }, 120_000);
});
