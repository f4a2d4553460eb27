/**
 * cluster-allow-reads-when-down and cluster-allow-pubsubshard-when-down on a
 * 3-node cluster that loses two nodes (no leader can be elected: raftis's
 * cluster down). The survivor answers GET from its own state with
 * cluster-allow-reads-when-down yes, and CLUSTERDOWN with no (the default);
 * writes get Redis's "only accepts read commands" with yes. Shard pub/sub
 * works while down with cluster-allow-pubsubshard-when-down yes (the
 * default) and is refused with no.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { untilApplied } from '../helpers/cluster-ops.js';
import { until } from '../helpers/poll.js';
import type { RawClient } from '../helpers/raw-client.js';

describe('a cluster that lost its quorum', () => {
  let cluster: TestCluster;
  let survivor: number;
  let c: RawClient;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    const leader = await cluster.waitForSettledLeader();
    const lc = await cluster.client(leader);
    expect(await lc.call('SET', 'k', 'before')).toBe('+OK\r\n');
    lc.close();
    await untilApplied(cluster);
    survivor = cluster.nodes.find((n) => n.id !== leader)!.id;
    c = await cluster.client(survivor);
    // While the cluster is up, a follower sends a plain GET to the leader, with either value.
    expect(await c.call('CONFIG', 'SET', 'cluster-allow-reads-when-down', 'yes')).toBe('+OK\r\n');
    expect(await c.call('GET', 'k')).toMatch(/^-MOVED \d+ /);
    for (const n of cluster.nodes) if (n.id !== survivor) await cluster.kill9(n.id);
    // The survivor learns that no leader is there (its election timeout), then stays without one.
    await until('the survivor to know no leader', async () => (await cluster.raftInfo(survivor))?.leader === '0', 20_000, 50);
  }, 90_000);
  afterAll(async () => {
    c?.close();
    await cluster?.destroy();
  });

  it('cluster-allow-reads-when-down: yes serves GET from local state and refuses writes as read-only; no answers CLUSTERDOWN', async () => {
    expect(await c.call('GET', 'k')).toBe('$6\r\nbefore\r\n');
    expect(await c.call('EXISTS', 'k', 'nope')).toBe(':1\r\n');
    expect(await c.call('SET', 'k', 'after')).toBe('-CLUSTERDOWN The cluster is down and only accepts read commands\r\n');
    expect(await c.call('CONFIG', 'SET', 'cluster-allow-reads-when-down', 'no')).toBe('+OK\r\n');
    expect(await c.call('GET', 'k')).toMatch(/^-CLUSTERDOWN /);
    expect(await c.call('SET', 'k', 'after')).toMatch(/^-CLUSTERDOWN The cluster is down: no leader/);
    expect(await c.call('CONFIG', 'SET', 'cluster-allow-reads-when-down', 'yes')).toBe('+OK\r\n');
    expect(await c.call('GET', 'k')).toBe('$6\r\nbefore\r\n');
  });

  it('cluster-allow-pubsubshard-when-down: yes (the default) serves shard pub/sub, no refuses it', async () => {
    expect(await c.call('SPUBLISH', 'ch', 'm')).toBe(':0\r\n');
    expect(await c.call('CONFIG', 'SET', 'cluster-allow-pubsubshard-when-down', 'no')).toBe('+OK\r\n');
    expect(await c.call('SPUBLISH', 'ch', 'm')).toMatch(/^-CLUSTERDOWN /);
    expect(await c.call('SSUBSCRIBE', 'ch')).toMatch(/^-CLUSTERDOWN /);
    expect(await c.call('CONFIG', 'SET', 'cluster-allow-pubsubshard-when-down', 'yes')).toBe('+OK\r\n');
    expect(await c.call('SPUBLISH', 'ch', 'm')).toBe(':0\r\n');
  });
});
