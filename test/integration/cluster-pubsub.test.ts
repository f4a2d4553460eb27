/**
 * Pub/sub across a 3-node cluster: a PUBLISH (or an SPUBLISH to a shard
 * channel) on any node, a follower included, reaches subscribers on every
 * node over the peer protocol, as in Redis Cluster; its reply counts only
 * the receiving node's subscribers, and PUBSUB introspection is node-local.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { PushClient, frameItems } from '../helpers/push-client.js';

let cluster: TestCluster;
let leader: number;

/** Every node's outgoing links to all its peers are up (RAFT.INFO peer_N connected=yes). */
async function waitForFullMesh(timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const infos = await Promise.all(cluster.nodes.map((n) => cluster.raftInfo(n.id)));
    const ok = infos.every((info, i) => {
      if (!info) return false;
      return cluster.nodes.every((p) => p.id === cluster.nodes[i]!.id || info[`peer_${p.id}`]?.includes('connected=yes'));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`peer links not all up: ${JSON.stringify(infos)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function connect(id: number): Promise<PushClient> {
  const n = cluster.node(id);
  return PushClient.connect(n.port, n.host);
}

beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3 });
  leader = await cluster.waitForLeader();
  await waitForFullMesh();
}, 60_000);
afterAll(async () => {
  await cluster?.destroy();
});

describe('cluster pub/sub', () => {
  it('a PUBLISH on a follower reaches subscribers on every node', async () => {
    const follower = cluster.nodes.find((n) => n.id !== leader)!.id;
    const subs: PushClient[] = [];
    const psubs: PushClient[] = [];
    const publisher = await connect(follower);
    try {
      for (const n of cluster.nodes) {
        const s = await connect(n.id);
        expect((await s.call(1, 'SUBSCRIBE', 'news')).map(frameItems)).toEqual([['subscribe', 'news', 1]]);
        subs.push(s);
        const p = await connect(n.id);
        await p.call(1, 'HELLO', '3');
        expect((await p.call(1, 'PSUBSCRIBE', 'ne*')).map(frameItems)).toEqual([['psubscribe', 'ne*', 1]]);
        psubs.push(p);
      }
      // Local receivers only, as Redis Cluster: the follower's subscriber and pattern subscriber.
      expect(await publisher.call(1, 'PUBLISH', 'news', 'from a follower')).toEqual([':2\r\n']);
      for (const s of subs) expect((await s.take(1)).map(frameItems)).toEqual([['message', 'news', 'from a follower']]);
      for (const p of psubs) {
        expect(await p.take(1)).toEqual(['>4\r\n$8\r\npmessage\r\n$3\r\nne*\r\n$4\r\nnews\r\n$15\r\nfrom a follower\r\n']);
      }

      // And from the leader, binary-safe, in publish order.
      const onLeader = await connect(leader);
      try {
        for (let i = 0; i < 20; i++) expect(await onLeader.call(1, 'PUBLISH', 'news', `m${i}\r\n\x00\xff`)).toEqual([':2\r\n']);
      } finally {
        onLeader.close();
      }
      for (const s of subs) {
        const got = await s.take(20);
        expect(got.map((f) => frameItems(f)[2])).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}\r\n\x00\xff`));
      }
      for (const p of psubs) expect(await p.take(20)).toHaveLength(20);

      // Introspection is node-local: each node sees its own subscribers only.
      expect(await publisher.call(1, 'PUBSUB', 'NUMSUB', 'news')).toEqual(['*2\r\n$4\r\nnews\r\n:1\r\n']);
      expect(await publisher.call(1, 'PUBSUB', 'NUMPAT')).toEqual([':1\r\n']);

      // Nothing else arrived anywhere (no echo of a message back from a peer).
      await new Promise((r) => setTimeout(r, 200));
      for (const c of [...subs, ...psubs]) expect(c.takeAll()).toEqual([]);
    } finally {
      for (const c of [...subs, ...psubs, publisher]) c.close();
    }
  });

  it('an SPUBLISH on any node reaches shard-channel subscribers on every node, and only them', async () => {
    const follower = cluster.nodes.find((n) => n.id !== leader)!.id;
    const shardSubs: PushClient[] = [];
    const plain: PushClient[] = [];
    const publisher = await connect(follower);
    try {
      for (const n of cluster.nodes) {
        const s = await connect(n.id);
        expect((await s.call(1, 'SSUBSCRIBE', 'orders')).map(frameItems)).toEqual([['ssubscribe', 'orders', 1]]);
        shardSubs.push(s);
        const p = await connect(n.id);
        expect((await p.call(1, 'SUBSCRIBE', 'orders')).map(frameItems)).toEqual([['subscribe', 'orders', 1]]);
        plain.push(p);
      }
      // Local shard subscribers only, as PUBLISH counts.
      expect(await publisher.call(1, 'SPUBLISH', 'orders', 'o1\r\n\x00')).toEqual([':1\r\n']);
      for (const s of shardSubs) expect((await s.take(1)).map(frameItems)).toEqual([['smessage', 'orders', 'o1\r\n\x00']]);
      const onLeader = await connect(leader);
      try {
        for (let i = 0; i < 10; i++) expect(await onLeader.call(1, 'SPUBLISH', 'orders', `o${i}`)).toEqual([':1\r\n']);
        expect(await onLeader.call(1, 'PUBSUB', 'SHARDNUMSUB', 'orders')).toEqual(['*2\r\n$6\r\norders\r\n:1\r\n']);
      } finally {
        onLeader.close();
      }
      for (const s of shardSubs) expect((await s.take(10)).map((f) => frameItems(f)[2])).toEqual(Array.from({ length: 10 }, (_, i) => `o${i}`));
      // A PUBLISH to the same name reaches the channel subscribers, never the shard ones.
      expect(await publisher.call(1, 'PUBLISH', 'orders', 'plain')).toEqual([':1\r\n']);
      for (const p of plain) expect((await p.take(1)).map(frameItems)).toEqual([['message', 'orders', 'plain']]);
      await new Promise((r) => setTimeout(r, 200));
      for (const c of [...shardSubs, ...plain]) expect(c.takeAll()).toEqual([]);
    } finally {
      for (const c of [...shardSubs, ...plain, publisher]) c.close();
    }
  });

  it('ioredis: subscribers on every node, an ioredis Cluster client publishes', async () => {
    const subs = cluster.nodes.map((n) => new Redis({ port: n.port, host: n.host }));
    const first = cluster.nodes[0]!;
    const pub = new Cluster([{ host: first.host, port: first.port }], { slotsRefreshTimeout: 2000 });
    try {
      const got = subs.map(
        (s) =>
          new Promise<string[]>((resolve) => {
            const msgs: string[] = [];
            s.on('pmessage', (_p: string, ch: string, m: string) => {
              msgs.push(`${ch}=${m}`);
              if (msgs.length === 3) resolve(msgs);
            });
          }),
      );
      for (const s of subs) expect(await s.psubscribe('io.*')).toBe(1);
      let receivers = 0;
      for (const m of ['a', 'b', 'c']) receivers += (await pub.publish(`io.${m}`, m)) as number;
      // Each PUBLISH counts the subscriber of whichever node ioredis sent it to.
      expect(receivers).toBe(3);
      // Sorted: two PUBLISHes sent to different nodes travel on different links.
      for (const g of got) expect((await g).sort()).toEqual(['io.a=a', 'io.b=b', 'io.c=c']);
    } finally {
      for (const s of subs) s.disconnect();
      pub.disconnect();
    }
  });

  it('a disconnected subscriber stops receiving and is forgotten by its node', async () => {
    const ids = cluster.nodes.map((n) => n.id);
    const a = await connect(ids[0]!);
    const b = await connect(ids[1]!);
    const pub = await connect(ids[2]!);
    try {
      await a.call(1, 'SUBSCRIBE', 'gone');
      await b.call(1, 'SUBSCRIBE', 'gone');
      a.close();
      // The node notices the close asynchronously.
      const deadline = Date.now() + 5000;
      const numsub = async (): Promise<string[]> => {
        const q = await connect(ids[0]!);
        try {
          return await q.call(1, 'PUBSUB', 'NUMSUB', 'gone');
        } finally {
          q.close();
        }
      };
      while ((await numsub())[0] !== '*2\r\n$4\r\ngone\r\n:0\r\n' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await numsub()).toEqual(['*2\r\n$4\r\ngone\r\n:0\r\n']);
      expect(await pub.call(1, 'PUBLISH', 'gone', 'x')).toEqual([':0\r\n']);
      expect((await b.take(1)).map(frameItems)).toEqual([['message', 'gone', 'x']]);
    } finally {
      for (const c of [a, b, pub]) c.close();
    }
  });
});
