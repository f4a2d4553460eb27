/**
 * cluster-preferred-endpoint-type and cluster-announce-ip / -port /
 * -hostname, side by side with redis-server 7.0.15 (cluster-enabled, one
 * node owning every slot): what CLUSTER SLOTS, CLUSTER SHARDS and CLUSTER
 * NODES say of the node itself, byte for byte but for the node id (and the
 * replication offset, the epoch). And what MOVED names on a 3-node raftis
 * cluster: the leader's ip, "?" with `hostname` (another node's hostname is
 * not known), "" with `unknown-endpoint`, as cluster.c's getPreferredEndpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { TestCluster } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';

describe('cluster endpoints beside redis-server', () => {
  let redis: RedisServer;
  let raftis: RaftisProcess;
  let rc: RawClient;
  let fc: RawClient;
  beforeAll(async () => {
    redis = await startRedisServer(['--cluster-enabled', 'yes']);
    raftis = await startRaftis();
    rc = await RawClient.connect(redis.port);
    fc = await RawClient.connect(raftis.port);
    expect(await rc.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383')).toBe('+OK\r\n');
    await until('raftis to lead', async () => (await fc.call('CLUSTER', 'SLOTS')).startsWith('*1\r\n'), 20_000, 50);
    await until('redis-server to serve its slots', async () => (await rc.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), 20_000, 50);
  }, 60_000);
  afterAll(async () => {
    rc?.close();
    fc?.close();
    await redis?.stop();
    await raftis?.destroy();
  });

  /** The node's own description, with what differs by design (ids, offsets, epochs) replaced. */
  const described = async (c: RawClient): Promise<string[]> => {
    const norm = (s: string): string => s.replace(/[0-9a-f]{40}/g, '<id>').replace(/(replication-offset\r\n):\d+/, '$1:<n>');
    const nodes = (await c.call('CLUSTER', 'NODES')).split(/\r?\n/).find((l) => l.includes('myself'))!.split(' ')[1]!.replace(/@\d+/, '@<cport>');
    return [norm(await c.call('CLUSTER', 'SLOTS')), norm(await c.call('CLUSTER', 'SHARDS')), nodes];
  };

  it('CLUSTER SLOTS / SHARDS / NODES with each endpoint type, with and without an announced hostname', async () => {
    for (const c of [rc, fc]) expect(await c.call('CONFIG', 'SET', 'cluster-announce-ip', '10.1.2.3', 'cluster-announce-port', '7777')).toBe('+OK\r\n');
    for (const type of ['ip', 'hostname', 'unknown-endpoint']) {
      for (const hostname of ['', 'node-a.example']) {
        const got: string[][] = [];
        for (const c of [rc, fc]) {
          expect(await c.call('CONFIG', 'SET', 'cluster-preferred-endpoint-type', type, 'cluster-announce-hostname', hostname)).toBe('+OK\r\n');
          got.push(await described(c));
        }
        expect(got[1], `${type} '${hostname}'`).toEqual(got[0]);
      }
    }
    // Sanity: the announced address is what both say.
    expect((await described(fc))[2]).toBe('10.1.2.3:7777@<cport>,node-a.example');
  });
});

describe('MOVED with each endpoint type (3-node raftis)', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  it("names the leader's ip, '?' or nothing", async () => {
    const leader = await cluster.waitForSettledLeader();
    const l = cluster.node(leader);
    const f = await cluster.client(cluster.nodes.find((n) => n.id !== leader)!.id);
    try {
      // "foo" is in slot 12182.
      expect(await f.call('GET', 'foo')).toBe(`-MOVED 12182 ${l.host}:${l.port}\r\n`);
      expect(await f.call('CONFIG', 'SET', 'cluster-preferred-endpoint-type', 'hostname')).toBe('+OK\r\n');
      expect(await f.call('GET', 'foo')).toBe(`-MOVED 12182 ?:${l.port}\r\n`);
      expect(await f.call('CONFIG', 'SET', 'cluster-preferred-endpoint-type', 'unknown-endpoint')).toBe('+OK\r\n');
      expect(await f.call('SET', 'foo', 'x')).toBe(`-MOVED 12182 :${l.port}\r\n`);
      // CLUSTER SLOTS gives a null endpoint and the ip in the metadata, for the other nodes too.
      expect(await f.call('CLUSTER', 'SLOTS')).toContain(`*4\r\n$-1\r\n:${l.port}\r\n`);
    } finally {
      f.close();
    }
  });
});
