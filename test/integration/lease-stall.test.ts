/**
 * --read-mode lease across a SIGSTOP of the leader (issue 19): the leader
 * is stopped for longer than the election timeout while the others elect a
 * new leader and take a write; right after SIGCONT a read on the old leader
 * must not return the old value. Node runs the tick timer once after the
 * stop, so a leader counting one tick per firing would still believe its
 * lease; raftis counts ticks by the monotonic clock (src/node/ticker.ts).
 *
 * The peer links go through proxies (test/chaos/peer-proxy.ts) that
 * silence the old leader's links for the stop: the lease must not rest on
 * the new leader's messages reaching it first (they would depose it in its
 * first turn, before it answers a read), as after a partition or when the
 * new leader's messages are slow.
 *
 * RAFTIS_BIN=/path/to/other/dist/cli/main.js runs it against another build.
 */
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { acceptedClient, bulk, isRetryable, readThroughLeader, replyOrWhy, sleep } from '../helpers/cluster-ops.js';
import { PeerProxies } from '../chaos/peer-proxy.js';

const clusters: TestCluster[] = [];
const proxies = new PeerProxies();
afterAll(async () => {
  await Promise.all(clusters.map((c) => c.destroy()));
  await proxies.close();
});

describe('lease reads across a SIGSTOP of the leader', () => {
  it('after SIGCONT the old leader serves no read from its lost lease', { timeout: 60_000 }, async () => {
    const c = await TestCluster.start({
      size: 3,
      args: ['--read-mode', 'lease'],
      // The proxies listen on 127.0.0.1 only.
      multiAddr: false,
      peerPort: (_self, peer) => proxies.portFor(0, peer.id, peer.clusterPort),
    });
    clusters.push(c);
    onTestFailed(() => {
      for (const n of c.nodes) console.error(`----- node ${n.id} log tail -----\n${c.logs(n.id).slice(-4000)}`);
    });
    try {
      const old = await c.waitForLeader();
      const oc = await acceptedClient(c, old);
      expect(await oc.call('SET', 'k', 'old')).toBe('+OK\r\n');
      // Lease reads (a heartbeat round confirms the lease within a tick).
      await sleep(200);
      expect(await oc.call('GET', 'k')).toBe(bulk('old'));
      const queued = await acceptedClient(c, old);
      let early: Promise<string> | undefined;
      c.pause(old);
      proxies.cut(0, [old]);
      try {
        const next = await c.waitForLeader(15_000, [old]);
        expect(next).not.toBe(old);
        const nc = await c.client(next);
        expect(await withTimeout(nc.call('SET', 'k', 'new'), 5000)).toBe('+OK\r\n');
        nc.close();
        // Waits in the stopped leader's socket: read in its first turn after SIGCONT.
        early = queued.call('GET', 'k');
        early.catch(() => {});
        await sleep(100);
      } finally {
        c.resume(old);
      }
      // And one sent right after SIGCONT.
      const right = oc.call('GET', 'k');
      right.catch(() => {});
      const replies = await Promise.all([early!, right].map((p) => replyOrWhy(p, 10_000)));
      for (const r of replies) {
        expect(r, `a read on the old leader returned ${JSON.stringify(r)}`).not.toBe(bulk('old'));
        expect(r === bulk('new') || isRetryable(r), `unexpected reply ${JSON.stringify(r)}`).toBe(true);
      }
      // Healed, the cluster has the new value and the old leader follows.
      proxies.heal();
      const now = await readThroughLeader(c, ['k']);
      expect(now.get('k')).toBe(bulk('new'));
      for (const x of [oc, queued]) x.close();
    } finally {
      await c.destroy();
    }
  });
});
