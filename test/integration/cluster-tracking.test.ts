/**
 * Client-side caching in a 3-node cluster: each node tracks the keys its
 * own clients read and invalidates them when it applies a write to them. A
 * READONLY client reading a follower is told when the follower applies a
 * write made on the leader; a client of the leader is told too; a RESP2
 * client on a follower gets its invalidations through a redirect to a
 * subscriber there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { untilApplied } from '../helpers/cluster-ops.js';
import { PushClient } from '../helpers/push-client.js';

let cluster: TestCluster | undefined;
const conns: PushClient[] = [];
afterEach(async () => {
  for (const s of conns.splice(0)) s.close();
  await cluster?.destroy();
  cluster = undefined;
});

async function connect(port: number, host: string, resp3: boolean): Promise<PushClient> {
  const c = await PushClient.connect(port, host);
  conns.push(c);
  if (resp3) expect((await c.call(1, 'HELLO', '3'))[0]).toMatch(/^%7/);
  return c;
}

const invalidate = (key: string): string => `>2\r\n$10\r\ninvalidate\r\n*1\r\n$${key.length}\r\n${key}\r\n`;

describe('client-side caching in a cluster', () => {
  it('a READONLY reader on a follower and a reader on the leader are invalidated when their node applies the write', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leaderId = await c.waitForSettledLeader();
    const leader = c.node(leaderId);
    const follower = c.nodes.find((n) => n.id !== leaderId)!;

    const writer = await connect(leader.port, leader.host, false);
    expect(await writer.call(1, 'SET', 'ck', 'v1')).toEqual(['+OK\r\n']);

    // A READONLY reader of the follower, once the follower has applied the first SET: it reads the follower's own state.
    await untilApplied(c, { ids: [follower.id] });
    const fr = await connect(follower.port, follower.host, true);
    expect(await fr.call(1, 'READONLY')).toEqual(['+OK\r\n']);
    expect(await fr.call(1, 'CLIENT', 'TRACKING', 'on')).toEqual(['+OK\r\n']);
    expect(await fr.call(1, 'GET', 'ck')).toEqual(['$2\r\nv1\r\n']);

    // A RESP3 reader on the leader.
    const lr = await connect(leader.port, leader.host, true);
    expect(await lr.call(1, 'CLIENT', 'TRACKING', 'on')).toEqual(['+OK\r\n']);
    expect(await lr.call(1, 'GET', 'ck')).toEqual(['$2\r\nv1\r\n']);

    // A RESP2 READONLY reader on the follower, redirecting to a subscriber there.
    const sub = await connect(follower.port, follower.host, false);
    const subId = (await sub.call(1, 'CLIENT', 'ID'))[0]!.slice(1, -2);
    expect(await sub.call(1, 'SUBSCRIBE', '__redis__:invalidate')).toHaveLength(1);
    const fr2 = await connect(follower.port, follower.host, false);
    expect(await fr2.call(1, 'READONLY')).toEqual(['+OK\r\n']);
    expect(await fr2.call(1, 'CLIENT', 'TRACKING', 'on', 'REDIRECT', subId)).toEqual(['+OK\r\n']);
    expect(await fr2.call(1, 'MGET', 'ck', 'ck2')).toEqual(['*2\r\n$2\r\nv1\r\n$-1\r\n']);

    const info = async (): Promise<string> => {
      const r = await (await connect(follower.port, follower.host, false)).call(1, 'INFO', 'stats');
      return (r[0]!.match(/^tracking_total_\w+:\d+$/gm) ?? []).join(',');
    };
    expect(await info()).toBe('tracking_total_keys:2,tracking_total_items:3,tracking_total_prefixes:0');

    // The write goes to the leader; each node invalidates as it applies it.
    expect(await writer.call(1, 'SET', 'ck', 'v2')).toEqual(['+OK\r\n']);
    expect(await fr.take(1, 10_000)).toEqual([invalidate('ck')]);
    expect(await lr.take(1, 10_000)).toEqual([invalidate('ck')]);
    expect(await sub.take(1, 10_000)).toEqual(['*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nck\r\n']);
    expect(await info()).toBe('tracking_total_keys:1,tracking_total_items:1,tracking_total_prefixes:0');

    // Forgotten once invalidated: a second write tells nobody until the key is read again.
    expect(await writer.call(1, 'SET', 'ck', 'v3')).toEqual(['+OK\r\n']);
    expect(await writer.call(1, 'SET', 'ck2', 'w')).toEqual(['+OK\r\n']);
    expect(await sub.take(1, 10_000)).toEqual(['*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$3\r\nck2\r\n']);
    expect(fr.takeAll()).toEqual([]);
    expect(lr.takeAll()).toEqual([]);

    // FLUSHALL on the leader: every tracking client of every node gets the null invalidation.
    expect(await writer.call(1, 'FLUSHALL')).toEqual(['+OK\r\n']);
    expect(await fr.take(1, 10_000)).toEqual(['>2\r\n$10\r\ninvalidate\r\n_\r\n']);
    expect(await lr.take(1, 10_000)).toEqual(['>2\r\n$10\r\ninvalidate\r\n_\r\n']);
    expect(await sub.take(1, 10_000)).toEqual(['*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n']);
  }, 60_000);

  it('BCAST on a follower: writes applied there under the prefix are broadcast', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leaderId = await c.waitForSettledLeader();
    const leader = c.node(leaderId);
    const follower = c.nodes.find((n) => n.id !== leaderId)!;
    const fb = await connect(follower.port, follower.host, true);
    expect(await fb.call(1, 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'bc:')).toEqual(['+OK\r\n']);
    const writer = await connect(leader.port, leader.host, false);
    expect(await writer.call(1, 'SET', 'other', '1')).toEqual(['+OK\r\n']);
    expect(await writer.call(1, 'SET', 'bc:1', '1')).toEqual(['+OK\r\n']);
    expect(await fb.take(1, 10_000)).toEqual([invalidate('bc:1')]);
    expect(fb.takeAll()).toEqual([]);
  }, 60_000);

  it('--follower-writes proxy: a read forwarded to the leader is tracked by the follower the client is connected to', async () => {
    cluster = await TestCluster.start({ size: 3, args: ['--follower-writes', 'proxy'] });
    const c = cluster;
    const leaderId = await c.waitForSettledLeader();
    const follower = c.nodes.find((n) => n.id !== leaderId)!;
    const fc = await connect(follower.port, follower.host, true);
    expect(await fc.call(1, 'CLIENT', 'TRACKING', 'on')).toEqual(['+OK\r\n']);
    expect(await fc.call(1, 'SET', 'px', 'v1')).toEqual(['+OK\r\n']);
    // The leader answers a forwarded write once it has applied it; this follower may apply it
    // later, and would then invalidate px for a read tracked meanwhile (a late, harmless extra
    // invalidation). Wait until it has applied v1, so the messages below are the ones Redis sends.
    await untilApplied(c, { ids: [follower.id] });
    expect(await fc.call(1, 'GET', 'px')).toEqual(['$2\r\nv1\r\n']);
    const writer = await connect(follower.port, follower.host, false);
    expect(await writer.call(1, 'SET', 'px', 'v2')).toEqual(['+OK\r\n']);
    expect(await fc.take(1, 10_000)).toEqual([invalidate('px')]);
    // Its own write through the proxy: told too (NOLOOP is not set).
    expect(await fc.call(1, 'GET', 'px')).toEqual(['$2\r\nv2\r\n']);
    expect(await fc.call(2, 'SET', 'px', 'v3')).toEqual(['+OK\r\n', invalidate('px')]);
  }, 60_000);
});
