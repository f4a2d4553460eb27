/**
 * CI's slice of the peer-frame fuzzer (the long run is bench/fuzz.mjs):
 * mutated frames to the cluster ports, before the handshake (every node)
 * and after a valid one (followers, posing as the other follower). Nodes
 * stay up, close every connection their own decoder finds malformed, and
 * the cluster keeps its leader and its data.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { Conn, checkReserved, runPeerFuzz, waitLeader, writeReserved } from './harness.mjs';

describe('peer-frame fuzzer (seeded slice)', () => {
  let cluster: TestCluster | undefined;
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('nodes close malformed peer connections and the cluster keeps its leader and data', async () => {
    cluster = await TestCluster.start({ args: ['--cluster-id', 'fuzz-cluster'] });
    const c = cluster;
    const targets = c.nodes.map((n) => ({ id: n.id, host: n.host, port: n.port, clusterPort: n.clusterPort, pid: n.proc!.pid! }));
    const leader = await waitLeader(targets);
    const expected = await writeReserved(leader, 30);
    const stats = await runPeerFuzz({ targets, clusterId: 'fuzz-cluster', seed: 30, frames: 4000, timeLimitMs: 25_000 });
    const why = `${JSON.stringify({ ...stats, expectedCloseMissing: stats.expectedCloseMissing.slice(0, 5), handshakeFailures: stats.handshakeFailures.slice(0, 5) })}\n${c.nodes.map((n) => c.logs(n.id).slice(-1500)).join('\n---\n')}`;
    expect(stats.crashes, why).toEqual([]);
    expect(stats.hangs, why).toEqual([]);
    expect(stats.handshakeFailures, why).toEqual([]);
    expect(stats.expectedCloseMissing, why).toEqual([]);
    expect(stats.frames, why).toBeGreaterThanOrEqual(1000);
    expect(stats.framesBefore, why).toBeGreaterThan(0);
    expect(stats.handshakes, why).toBeGreaterThan(0);
    const after = await waitLeader(targets);
    expect(after.id, why).toBe(leader.id);
    expect(await checkReserved(after, 30, expected)).toEqual([]);
    const k = await Conn.open(after.host, after.port);
    expect(await k.str(['SET', 'after-fuzz', 'ok'])).toBe('+OK\r\n');
    k.close();
  });
});
