/**
 * A 3-node leader's batched reads (commands/engine/read-batch.ts) whose
 * ReadIndex round cannot complete: both followers are killed while the
 * reads wait, check-quorum deposes the leader, and the batch is refused.
 * Every read gets its own error reply (one per read, in order: the groups'
 * reads are refused read by read), and the client's later request after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { encodeCommand, type RawClient } from '../helpers/raw-client.js';

let cluster: TestCluster | undefined;

beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3 });
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe('a batch of reads whose round fails', () => {
  it('answers each read of each client with an error, in order', async () => {
    const leader = await cluster!.waitForSettledLeader();
    const clients: RawClient[] = [];
    for (let i = 0; i < 2; i++) clients.push(await cluster!.client(leader));
    try {
      expect(await clients[0]!.call('SET', 'rbr:a', '1')).toBe('+OK\r\n');
      for (const n of cluster!.nodes) if (n.id !== leader) await cluster!.kill9(n.id);
      const reads = [['GET', 'rbr:a'], ['GET', 'rbr:b'], ['MGET', 'rbr:a', 'rbr:b'], ['EXISTS', 'rbr:a'], ['GET', 'rbr:a']];
      const all = await Promise.all(
        clients.map(async (c) => {
          const first = c.send(reads.map(encodeCommand).join('') + encodeCommand(['ECHO', 'end']));
          const out = [await first];
          // Bounded: the reads' replies, then ECHO's.
          for (let i = 0; i < reads.length; i++) out.push(await c.next());
          return out;
        }),
      );
      for (const out of all) {
        expect(out).toHaveLength(reads.length + 1);
        for (const r of out.slice(0, reads.length)) expect(r).toMatch(/^-(CLUSTERDOWN|TRYAGAIN) /);
        expect(out[reads.length]).toBe('$3\r\nend\r\n');
      }
    } finally {
      for (const c of clients) c.close();
    }
  }, 60_000);
});
