/**
 * Cluster-wide configuration: a CONFIG SET that names a parameter with
 * scope 'cluster' (maxmemory-policy, notify-keyspace-events, encodings…)
 * is a log entry applied on every node, inside MULTI too; a follower sends
 * it to the leader; node-scope parameters stay the node's own; and the
 * values travel in snapshots to a node that lost its data directory; save
 * points are one node's own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { fillLog, untilApplied, wipeNode } from '../helpers/cluster-ops.js';
import { until } from '../helpers/poll.js';
import type { RawClient } from '../helpers/raw-client.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/** CONFIG GET name on node id (RESP2 array of name and value): the value. */
async function configGet(c: TestCluster, id: number, name: string): Promise<string> {
  const cl = await c.client(id);
  try {
    const r = await cl.call('CONFIG', 'GET', name);
    const m = /^\*2\r\n\$\d+\r\n[^\r]*\r\n\$\d+\r\n([^\r]*)\r\n$/.exec(r);
    if (m === null) throw new Error(`CONFIG GET ${name} on node ${id}: ${JSON.stringify(r)}`);
    return m[1]!;
  } finally {
    cl.close();
  }
}

async function withClient<T>(c: TestCluster, id: number, fn: (cl: RawClient) => Promise<T>): Promise<T> {
  const cl = await c.client(id);
  try {
    return await fn(cl);
  } finally {
    cl.close();
  }
}

describe('cluster-wide CONFIG SET', () => {
  it('goes through the log to every node, inside MULTI too; followers redirect it; node parameters stay local; snapshots carry it', async () => {
    cluster = await TestCluster.start({ args: ['--snapshot-entries', '200', '--snapshot-keep-entries', '20'] });
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const followers = c.nodes.map((n) => n.id).filter((id) => id !== leader);

    // 1. On the leader: cluster-wide parameters (one by an old alias), answered once applied.
    const set = await withClient(c, leader, (cl) =>
      cl.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru', 'notify-keyspace-events', 'KEA', 'hash-max-ziplist-entries', '64'),
    );
    expect(set).toBe('+OK\r\n');
    await untilApplied(c);
    for (const n of c.nodes) {
      expect(await configGet(c, n.id, 'maxmemory-policy')).toBe('allkeys-lru');
      expect(await configGet(c, n.id, 'notify-keyspace-events')).toBe('AKE');
      expect(await configGet(c, n.id, 'hash-max-listpack-entries')).toBe('64');
    }

    // 2. A follower sends a cluster-wide CONFIG SET to the leader, and keeps a node parameter to itself.
    const leaderPort = c.node(leader).port;
    await withClient(c, followers[0]!, async (cl) => {
      expect(await cl.call('CONFIG', 'SET', 'maxmemory-policy', 'volatile-ttl')).toMatch(new RegExp(`^-MOVED 0 [0-9.]+:${leaderPort}\\r\\n$`));
      // Checked before it is sent anywhere: a bad value is the follower's own answer.
      expect(await cl.call('CONFIG', 'SET', 'maxmemory-policy', 'sometimes')).toBe(
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n",
      );
      expect(await cl.call('CONFIG', 'SET', 'timeout', '77')).toBe('+OK\r\n');
    });
    expect(await configGet(c, followers[0]!, 'timeout')).toBe('77');
    expect(await configGet(c, leader, 'timeout')).toBe('0');
    expect(await configGet(c, followers[1]!, 'maxmemory-policy')).toBe('allkeys-lru');

    // 3. Inside MULTI with a write: the transaction is one entry, the CONFIG SET applied everywhere.
    await withClient(c, leader, async (cl) => {
      expect(await cl.call('MULTI')).toBe('+OK\r\n');
      expect(await cl.call('SET', 'k', 'v')).toBe('+QUEUED\r\n');
      expect(await cl.call('CONFIG', 'SET', 'maxmemory-samples', '7')).toBe('+QUEUED\r\n');
      expect(await cl.call('EXEC')).toBe('*2\r\n+OK\r\n+OK\r\n');
    });
    await untilApplied(c);
    for (const n of c.nodes) expect(await configGet(c, n.id, 'maxmemory-samples')).toBe('7');

    // 4. A node that lost its data directory gets the values back from the leader's snapshot.
    const wiped = followers[1]!;
    await wipeNode(c, wiped);
    await fillLog(c, leader);
    await c.startNode(wiped);
    await untilApplied(c, { ids: [wiped], timeoutMs: 30_000 });
    expect(await configGet(c, wiped, 'maxmemory-samples')).toBe('7');
    expect(await configGet(c, wiped, 'maxmemory-policy')).toBe('allkeys-lru');
    expect(await configGet(c, wiped, 'notify-keyspace-events')).toBe('AKE');
    expect(await configGet(c, wiped, 'hash-max-listpack-entries')).toBe('64');
    expect(c.logs(wiped)).toMatch(/installed the leader's snapshot at index \d+/);
  }, 60_000);

  it('is forwarded to the leader by a follower in proxy mode, and answered once applied', async () => {
    cluster = await TestCluster.start({ args: ['--follower-writes', 'proxy'] });
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    expect(await withClient(c, follower, (cl) => cl.call('CONFIG', 'SET', 'maxmemory-policy', 'volatile-lfu', 'timeout', '5'))).toBe('+OK\r\n');
    await untilApplied(c);
    for (const n of c.nodes) {
      expect(await configGet(c, n.id, 'maxmemory-policy')).toBe('volatile-lfu');
      // A CONFIG SET that names a cluster-wide parameter is applied as a whole on every node.
      expect(await configGet(c, n.id, 'timeout')).toBe('5');
    }
  }, 30_000);

  it('save is per node: a follower with a save point snapshots the writes it applies, the leader without one does not', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    const saves = (id: number): Promise<number> =>
      withClient(c, id, async (cl) => Number(/rdb_saves:(\d+)/.exec(await cl.call('INFO', 'persistence'))![1]));
    const leaderSaves = await saves(leader);
    const followerSaves = await saves(follower);
    expect(await withClient(c, follower, (cl) => cl.call('CONFIG', 'SET', 'save', '1 1'))).toBe('+OK\r\n');
    expect(await configGet(c, leader, 'save')).toBe('');
    await withClient(c, leader, async (cl) => {
      for (let i = 0; i < 10; i++) expect(await cl.call('SET', `save:${i}`, 'v')).toBe('+OK\r\n');
    });
    await untilApplied(c, { ids: [follower] });
    await until('a save on the follower', async () => (await saves(follower)) > followerSaves, 15_000, 100);
    expect(await saves(leader)).toBe(leaderSaves);
  }, 30_000);
});
