/**
 * Keyspace notifications in a 3-node cluster: notify-keyspace-events set
 * once (a cluster-wide CONFIG SET, through the log) and a subscriber on
 * every node; writes sent to the leader, and keys expiring by active expiry,
 * reach each subscriber exactly once and in the same (log) order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';
import { frameItems, PushClient } from '../helpers/push-client.js';

let cluster: TestCluster | undefined;
const subs: PushClient[] = [];
afterEach(async () => {
  for (const s of subs.splice(0)) s.close();
  await cluster?.destroy();
  cluster = undefined;
});

/** The last write: its event ends what each subscriber must have seen (it comes last in the log). */
const END = '__keyevent@0__:set {m}end';

/** The events a subscriber got up to the end marker's. */
async function eventsUntilEnd(sub: PushClient): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const [f] = await sub.take(1, 10_000);
    if (f === undefined) throw new Error(`no end marker after ${out.length} events`);
    const [, , channel, message] = frameItems(f);
    const e = `${channel} ${message}`;
    if (e === END) return out;
    out.push(e);
  }
  throw new Error('too many events');
}

describe('keyspace notifications in a cluster', () => {
  it('every node emits each applied change once, in log order, to its own subscribers', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const cl = await c.client(leader);
    expect(await cl.call('CONFIG', 'SET', 'notify-keyspace-events', 'KEA')).toBe('+OK\r\n');
    for (const n of c.nodes) {
      const s = await PushClient.connect(n.port, n.host);
      subs.push(s);
      expect((await s.call(1, 'PSUBSCRIBE', '__key*__:*')).length).toBe(1);
    }
    // Wait until every node has applied the CONFIG SET (a write after it, applied everywhere, shows it).
    const marker = await cl.call('SET', '{m}ready', '1');
    expect(marker).toBe('+OK\r\n');
    for (const s of subs) {
      const [f] = await s.take(2, 10_000).then((fs) => fs.slice(-1));
      expect(f).toContain('{m}ready');
    }

    const cmds: string[][] = [];
    for (let i = 0; i < 60; i++) {
      const k = `{m}k${i % 7}`;
      if (i % 3 === 0) cmds.push(['SET', k, String(i)]);
      else if (i % 3 === 1) cmds.push(['RPUSH', `${k}:l`, String(i)]);
      else cmds.push(['DEL', k, `${k}:l`]);
    }
    cmds.push(['SET', '{m}short', 'x', 'PX', '50']);
    await Promise.all(cmds.map((cmd) => cl.call(...cmd)));
    // Active expiry removes {m}short on the leader (an ExpireKeys entry; INFO keyspace then counts no
    // key with a TTL, and reads no key, so nothing expires lazily), then the last write.
    await until('the leader to expire {m}short', async () => !/^db0:.*expires=[1-9]/m.test(await cl.call('INFO', 'keyspace')), 10_000, 50);
    expect(await cl.call('SET', '{m}end', '1')).toBe('+OK\r\n');
    const per: string[][] = [];
    for (const s of subs) per.push(await eventsUntilEnd(s));
    expect(per[0]!.length).toBeGreaterThan(60);
    expect(per[0]).toContain('__keyevent@0__:expired {m}short');
    for (const events of per) expect(events).toEqual(per[0]);
    cl.close();
  }, 60_000);
});
