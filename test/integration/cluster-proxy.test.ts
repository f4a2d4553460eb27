/**
 * --follower-writes proxy: a plain (non-cluster) client connected to a
 * follower gets its writes and reads served by the leader, in order, each
 * applied once.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3, args: ['--follower-writes', 'proxy'] });
});
afterAll(async () => {
  await cluster?.destroy();
});

describe('follower proxy mode', () => {
  it('serves a standalone ioredis client connected to a follower', async () => {
    // Every node must know the leader: a follower that does not yet answers CLUSTERDOWN (seen on a loaded machine).
    const leader = await cluster.waitForSettledLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader)!;
    const r = new Redis({ host: follower.host, port: follower.port });
    try {
      expect(await r.set('p:k', 'v1')).toBe('OK');
      expect(await r.get('p:k')).toBe('v1');
      // Pipelined writes and reads keep their order and each write is applied once.
      const p = r.pipeline();
      for (let i = 0; i < 200; i++) {
        p.incr('p:n');
        p.get('p:n');
      }
      const out = await p.exec();
      for (let i = 0; i < 200; i++) {
        expect(out![2 * i]).toEqual([null, i + 1]);
        expect(out![2 * i + 1]).toEqual([null, String(i + 1)]);
      }
      const tx = await r.multi().set('p:a', '1').incr('p:a').get('p:a').exec();
      expect(tx).toEqual([
        [null, 'OK'],
        [null, 2],
        [null, '2'],
      ]);
      await expect(r.incr('p:k')).rejects.toThrow('ERR value is not an integer or out of range');
      // The leader has exactly these values.
      const l = cluster.node(leader);
      const lr = new Redis({ host: l.host, port: l.port });
      expect(await lr.get('p:n')).toBe('200');
      lr.disconnect();
    } finally {
      r.disconnect();
    }
  });
});
