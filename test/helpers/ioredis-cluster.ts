/**
 * ioredis `Cluster` options the integration tests share: retries paced for a
 * raftis leader election (CLUSTERDOWN, TRYAGAIN and failover waits of 100 ms,
 * bounded attempts), short connect and slot-refresh timeouts. `opts` adds to
 * or overrides them; its redisOptions are merged into the defaults'.
 */
import type { ClusterOptions } from 'ioredis';

export function clusterOptions(opts: ClusterOptions = {}): ClusterOptions {
  return {
    maxRedirections: 50,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    retryDelayOnFailover: 100,
    slotsRefreshTimeout: 1000,
    clusterRetryStrategy: (times: number) => (times > 200 ? null : 100),
    ...opts,
    redisOptions: { connectTimeout: 1000, ...opts.redisOptions },
  };
}
