/**
 * The per-slot key index on the nodes of a sharded cluster (docs/decisions.md
 * "Sharding: the per-slot key index"): CLUSTER COUNTKEYSINSLOT and
 * GETKEYSINSLOT answer as redis-server in cluster mode does for the same
 * writes (newest key first, a replaced key keeps its place, a deleted one
 * leaves); a node restarted from its snapshot and log answers as before; a
 * move ships every key of its slots from every database (DRAIN walks the
 * index, not the keyspace) and RELEASE finds the slots empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { keyHashSlot } from '../../src/util/hash-slot.js';
import { startRedisCluster } from '../helpers/redis-cluster-server.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/poll.js';
import { ShardedCluster } from '../helpers/sharded-cluster.js';

let sc: ShardedCluster;
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisCluster();
  sc = await ShardedCluster.start({ shards: 2, size: 1 });
}, 120_000);
afterAll(async () => {
  await sc?.destroy();
  await redis?.stop();
});

/** A hash tag whose slot is in [from, to]. */
function tagIn(from: number, to: number, prefix: string): string {
  for (let i = 0; i < 100_000; i++) {
    const s = keyHashSlot(`${prefix}${i}`);
    if (s >= from && s <= to) return `${prefix}${i}`;
  }
  throw new Error('no tag found');
}

async function onRedis(...argv: (string | number)[]): Promise<unknown> {
  const r = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await r.connect();
    return await r.call(String(argv[0]), ...argv.slice(1).map(String));
  } finally {
    r.disconnect();
  }
}

describe('the per-slot key index in a sharded cluster', () => {
  it('COUNTKEYSINSLOT and GETKEYSINSLOT answer as redis-server in cluster mode: newest first, replaced keys in place, deleted ones gone', async () => {
    sc.dumpLogsOnFailure();
    const tag = tagIn(0, 8191, 'same');
    const slot = keyHashSlot(tag);
    const leader = await sc.leader(0);
    const steps: (string | number)[][] = [];
    for (let i = 0; i < 12; i++) steps.push(['SET', `{${tag}}k${i}`, `v${i}`]);
    steps.push(['DEL', `{${tag}}k3`], ['DEL', `{${tag}}k11`], ['SET', `{${tag}}k5`, 'again'], ['RPUSH', `{${tag}}list`, 'a'], ['SET', `{${tag}}k3`, 'back']);
    steps.push(['RENAME', `{${tag}}k0`, `{${tag}}renamed`], ['HSET', `{${tag}}h`, 'f', 'v'], ['UNLINK', `{${tag}}k7`]);
    for (const s of steps) {
      expect(await sc.call(leader, ...s)).toEqual(await onRedis(...s));
    }
    const queries: (string | number)[][] = [
      ['CLUSTER', 'COUNTKEYSINSLOT', slot],
      ['CLUSTER', 'GETKEYSINSLOT', slot, 100],
      ['CLUSTER', 'GETKEYSINSLOT', slot, 3],
      ['CLUSTER', 'GETKEYSINSLOT', slot, 0],
      ['CLUSTER', 'COUNTKEYSINSLOT', (slot + 1) % 8192],
    ];
    for (const q of queries) expect(await sc.call(leader, ...q), q.join(' ')).toEqual(await onRedis(...q));
    expect(await sc.call(leader, 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(12);
  });

  it('a node restarted from its snapshot and log answers the same', async () => {
    const tag = tagIn(8192, 16383, 'restart');
    const slot = keyHashSlot(tag);
    const leader = await sc.leader(1);
    for (let i = 0; i < 300; i++) await sc.call(leader, 'SET', `{${tag}}${i}`, 'v');
    expect(await sc.call(leader, 'SAVE')).toBe('OK');
    // After the snapshot: more keys, deletes and keys in another database, replayed from the log.
    for (let i = 300; i < 350; i++) await sc.call(leader, 'SET', `{${tag}}${i}`, 'v');
    for (let i = 0; i < 40; i++) await sc.call(leader, 'DEL', `{${tag}}${i * 5}`);
    const r = new Redis({ port: leader.port, host: leader.host, lazyConnect: true, maxRetriesPerRequest: 0, db: 2 });
    await r.connect();
    await r.set(`{${tag}}db2`, 'v');
    r.disconnect();
    const before = (await sc.call(leader, 'CLUSTER', 'GETKEYSINSLOT', slot, 1000)) as string[];
    expect(before).toHaveLength(310);
    expect(await sc.call(leader, 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(310);
    const g = sc.groups[1]!;
    await g.kill9(leader.id);
    await g.startNode(leader.id);
    const again = await sc.leader(1);
    await until('the restarted node to have applied its log', async () => (await sc.call(again, 'CLUSTER', 'COUNTKEYSINSLOT', slot)) === 310, 20_000);
    expect(new Set((await sc.call(again, 'CLUSTER', 'GETKEYSINSLOT', slot, 1000)) as string[])).toEqual(new Set(before));
    await sc.waitConverged();
  });

  it('a move ships every key of its slots from every database, and the source keeps none', async () => {
    sc.dumpLogsOnFailure();
    const tag = tagIn(100, 200, 'move');
    const slot = keyHashSlot(tag);
    const src = await sc.leader(0);
    const dbs = [0, 3, 15];
    for (const db of dbs) {
      const r = new Redis({ port: src.port, host: src.host, lazyConnect: true, maxRetriesPerRequest: 0, db });
      await r.connect();
      const args: string[] = [];
      for (let i = 0; i < (db === 0 ? 450 : 30); i++) args.push(`{${tag}}${db}:${i}`, `v${i}`);
      await r.mset(...args);
      await r.set(`{${tag}}ttl${db}`, 'v', 'EX', 1000);
      r.disconnect();
    }
    expect(await sc.call(src, 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(451);
    expect(await sc.toConfig('RAFT.SHARDS', 'MOVE', 1, slot)).toBe('OK');
    const dst = await sc.leader(1);
    for (const db of dbs) {
      for (const [n, want] of [
        [src, 0],
        [dst, db === 0 ? 451 : 31],
      ] as const) {
        const r = new Redis({ port: n.port, host: n.host, lazyConnect: true, maxRetriesPerRequest: 0, db });
        await r.connect();
        try {
          expect(await r.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot)), `db ${db} on ${n === src ? 'the source' : 'the target'}`).toBe(want);
          if (n === dst) expect(await r.ttl(`{${tag}}ttl${db}`)).toBeGreaterThan(900);
        } finally {
          r.disconnect();
        }
      }
    }
    // The slot is the target's now; moving it back ships them again.
    expect(await sc.toConfig('RAFT.SHARDS', 'MOVE', 0, slot)).toBe('OK');
    expect(await sc.call(await sc.leader(0), 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(451);
    expect(await sc.call(await sc.leader(1), 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
  });
});
