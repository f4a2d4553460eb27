/** A 3-node cluster: writes through the leader, MOVED from followers, CLUSTER SLOTS, pipeline order. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { untilApplied } from '../helpers/cluster-ops.js';
import { encodeCommand } from '../helpers/raw-client.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3 });
});
afterAll(async () => {
  await cluster?.destroy();
});

describe('3-node cluster', () => {
  it('writes through the leader and redirects from followers with the key slot', async () => {
    const leader = await cluster.waitForSettledLeader();
    const l = cluster.node(leader);
    const c = await cluster.client(leader);
    expect(await c.call('SET', 'foo', 'bar')).toBe('+OK\r\n');
    await untilApplied(cluster);
    for (const n of cluster.nodes.filter((x) => x.id !== leader)) {
      const f = await cluster.client(n.id);
      expect(await f.call('GET', 'foo')).toBe(`-MOVED 12182 ${l.host}:${l.port}\r\n`);
      expect(await f.call('SET', '{user1000}.following', 'x')).toBe(`-MOVED 3443 ${l.host}:${l.port}\r\n`);
      expect(await f.call('READONLY')).toBe('+OK\r\n');
      // A READONLY connection reads the follower's own state, which has the write once applied.
      expect(await f.call('GET', 'foo')).toBe('$3\r\nbar\r\n');
      f.close();
    }
    const slots = await c.call('CLUSTER', 'SLOTS');
    expect(slots.startsWith(`*1\r\n*5\r\n:0\r\n:16383\r\n*4\r\n$${l.host.length}\r\n${l.host}\r\n:${l.port}\r\n`)).toBe(true);
    c.close();
  });

  it('keeps a pipeline in order on the leader: each read sees exactly the writes before it', async () => {
    const leader = await cluster.waitForLeader();
    const c = await cluster.client(leader);
    let batch = '';
    const expected: string[] = [];
    for (let i = 0; i < 100; i++) {
      const v = String(i + 1);
      batch += encodeCommand(['INCR', 'pipe']) + encodeCommand(['GET', 'pipe']) + encodeCommand(['GET', 'pipe']);
      expected.push(`:${v}\r\n`, `$${v.length}\r\n${v}\r\n`, `$${v.length}\r\n${v}\r\n`);
    }
    const replies = expected.map(() => c.next());
    c.sock.write(batch);
    expect(await Promise.all(replies)).toEqual(expected);
    c.close();
  });
});
