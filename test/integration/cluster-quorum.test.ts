/**
 * Quorum in a real 5-node raftis cluster: with 2 nodes killed (the leader
 * among them) writes still succeed; with 3 of 5 down no write is ever
 * acknowledged, not by the surviving leader that lost its quorum nor by the
 * other survivor; the isolated leader steps down (check-quorum); once a
 * third node is back, writes succeed again and nothing acknowledged is lost.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import type { RawClient } from '../helpers/raw-client.js';
import { bulk, isRetryable, mismatches, readThroughLeader as readVia, setAll as setVia, sleep } from '../helpers/cluster-ops.js';

const setAll = (entries: Map<string, string>, timeoutMs?: number): Promise<void> => setVia(cluster, entries, timeoutMs);
const readThroughLeader = (keys: readonly string[]): Promise<Map<string, string>> => readVia(cluster, keys);


let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ size: 5 });
});
afterAll(async () => {
  await cluster?.destroy();
});





/** The reply to one SET sent on a new connection to node id, or why there is none within timeoutMs. */
async function trySet(id: number, key: string, value: string, timeoutMs: number): Promise<string> {
  let conn: RawClient | undefined;
  try {
    conn = await withTimeout(cluster.client(id), timeoutMs);
    return await withTimeout(conn.call('SET', key, value), timeoutMs);
  } catch (e) {
    return `(no reply: ${(e as Error).message})`;
  } finally {
    conn?.close();
  }
}

describe('5-node cluster quorum', () => {
  it('accepts writes with 2 of 5 nodes down and acknowledges none with 3 of 5 down', async () => {
    onTestFailed(() => {
      for (const n of cluster.nodes) console.error(`----- node ${n.id} (${n.host}:${n.port}) log tail -----\n${cluster.logs(n.id).slice(-4000)}`);
    });
    const acked = new Map<string, string>();
    const batch = (prefix: string, n: number): Map<string, string> => new Map(Array.from({ length: n }, (_, i) => [`${prefix}:${i}`, `${prefix}-value-${i}`]));

    const first = batch('all-up', 200);
    await setAll(first);
    for (const [k, v] of first) acked.set(k, v);

    // Kill the leader and one follower: 3 of 5 remain, a quorum.
    const leader1 = await cluster.waitForLeader();
    const follower1 = cluster.nodes.find((n) => n.id !== leader1)!.id;
    await cluster.kill9(leader1);
    await cluster.kill9(follower1);
    const leader2 = await cluster.waitForLeader(15_000, [leader1]);
    expect([leader1, follower1]).not.toContain(leader2);
    const second = batch('two-down', 300);
    await setAll(second);
    for (const [k, v] of second) acked.set(k, v);
    expect(mismatches(acked, await readThroughLeader([...acked.keys()]))).toEqual([]);

    // Kill a follower of the current leader: 2 of 5 remain, the leader among them, without a quorum.
    const leader3 = await cluster.waitForLeader(15_000);
    const survivors = cluster.nodes.filter((n) => cluster.isRunning(n.id)).map((n) => n.id);
    expect(survivors).toHaveLength(3);
    const follower2 = survivors.find((id) => id !== leader3)!;
    await cluster.kill9(follower2);
    const alive = survivors.filter((id) => id !== follower2);
    expect(alive).toHaveLength(2);

    // Writes sent to both survivors right away and for a few seconds more: none is acknowledged.
    // An unanswered write (client-side timeout) is acceptable; an OK is not.
    const replies: { node: number; key: string; reply: string }[] = [];
    const probes: Promise<void>[] = [];
    const probeUntil = Date.now() + 3000;
    let seq = 0;
    for (const id of alive) {
      probes.push(
        (async () => {
          while (Date.now() < probeUntil) {
            const key = `no-quorum:${id}:${seq++}`;
            // The leader cut off from its quorum may hold a write until check-quorum
            // deposes it and its bounded wait (5 s) ends: wait long enough to see that answer.
            replies.push({ node: id, key, reply: await trySet(id, key, 'x', 8000) });
            await sleep(200);
          }
        })(),
      );
    }
    await Promise.all(probes);
    expect(replies.length).toBeGreaterThanOrEqual(2);
    const acknowledged = replies.filter((r) => r.reply === '+OK\r\n');
    expect(acknowledged, `writes acknowledged without a quorum: ${JSON.stringify(acknowledged)}`).toEqual([]);
    const odd = replies.filter((r) => !isRetryable(r.reply) && !r.reply.startsWith('(no reply'));
    expect(odd, `unexpected replies: ${JSON.stringify(odd)}`).toEqual([]);

    // The leader without a quorum steps down (check-quorum), and nobody leads.
    const deadline = Date.now() + 5000;
    let infos: (Record<string, string> | undefined)[] = [];
    for (;;) {
      infos = await Promise.all(alive.map((id) => cluster.raftInfo(id, 1000)));
      if (infos.every((i) => i !== undefined && i.role !== 'leader')) break;
      if (Date.now() > deadline) throw new Error(`a leader without quorum did not step down within 5 s: ${JSON.stringify(infos)}`);
      await sleep(100);
    }
    // Now every write on a survivor is refused at once with CLUSTERDOWN, or redirected.
    for (const id of alive) {
      const r = await trySet(id, `no-quorum:late:${id}`, 'x', 8000);
      expect(r, `write to node ${id} without quorum`).not.toBe('+OK\r\n');
      expect(isRetryable(r) || r.startsWith('(no reply'), `unexpected reply ${JSON.stringify(r)}`).toBe(true);
    }

    // A third node back: writes are acknowledged again and nothing acknowledged was lost.
    await cluster.startNode(follower2);
    await cluster.waitForLeader(20_000);
    const third = batch('back', 100);
    await setAll(third);
    for (const [k, v] of third) acked.set(k, v);
    expect(mismatches(acked, await readThroughLeader([...acked.keys()]))).toEqual([]);
  });
});
