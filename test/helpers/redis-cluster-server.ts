/**
 * A redis-server in cluster mode owning all 16384 slots: how a raftis
 * cluster looks to clients (one shard), so Redis Cluster's rules (CROSSSLOT,
 * a script's slot checks, the no-cluster flag) are the reference.
 */
import { RawClient } from './raw-client.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export async function startRedisCluster(): Promise<RedisServer> {
  const srv = await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
  const c = await RawClient.connect(srv.port);
  try {
    await c.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; i < 100; i++) {
      if ((await c.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) return srv;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('redis-server cluster state not ok after 10 s');
  } catch (e) {
    await srv.stop();
    throw e;
  } finally {
    c.close();
  }
}
