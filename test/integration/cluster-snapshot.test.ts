/**
 * InstallSnapshot on a real cluster: a follower that was down while the
 * leader compacted its log, and a follower whose data directory was wiped,
 * are both brought up to date by a snapshot streamed from the leader while
 * clients keep writing; afterwards every node holds the same keyspace
 * (RAFT.DIGEST at the same applied index).
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { converged, wipeNode } from '../helpers/cluster-ops.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/** Writes strings, hashes, sets (SPOP included), lists and sorted sets through the leader for `ms`, counting acknowledged writes. */
/**
 * Writes pipelines of mixed commands to the leader for `ms`, and on until at
 * least `atLeast` were acknowledged (what the test needs to happen, e.g.
 * enough entries for a snapshot and a compaction) — but never past `capMs`,
 * so a slow machine makes the load last longer instead of too small.
 */
async function writeLoad(c: TestCluster, leader: number, ms: number, tag: string, atLeast = 0, capMs = 30_000): Promise<number> {
  const n = c.node(leader);
  const r = new Redis({ port: n.port, host: n.host, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  r.on('error', () => {});
  await new Promise<void>((res) => (r.status === 'ready' ? res() : r.once('ready', () => res())));
  let acked = 0;
  const started = Date.now();
  const more = (): boolean => {
    const t = Date.now() - started;
    return t < capMs && (t < ms || acked < atLeast);
  };
  try {
    for (let i = 0; more() && i < 1_000_000; i++) {
      const p = r.pipeline();
      for (let j = 0; j < 20; j++) {
        const k = i * 20 + j;
        p.set(`${tag}:s${k % 3000}`, `v${k}`);
        if (j % 5 === 0) p.hset(`${tag}:h${k % 17}`, `f${k % 200}`, `${k}`);
        if (j % 7 === 0) p.sadd(`${tag}:set${k % 11}`, `m${k % 300}`);
        // Random and order-dependent writes: replicas restored from a snapshot must choose alike.
        if (j % 9 === 0) p.spop(`${tag}:set${k % 11}`);
        if (j % 4 === 0) p.rpush(`${tag}:list${k % 5}`, `e${k}`);
        if (j % 6 === 0) p.lpop(`${tag}:list${(k + 1) % 5}`);
        if (j % 5 === 1) p.zadd(`${tag}:z${k % 3}`, k % 1000, `m${k % 500}`);
        if (j % 8 === 0) p.zpopmin(`${tag}:z${(k + 1) % 3}`);
      }
      const res = await p.exec();
      acked += res?.filter(([e]) => e === null).length ?? 0;
    }
  } finally {
    r.disconnect();
  }
  return acked;
}

describe('InstallSnapshot', () => {
  it('a follower behind the compacted log, then one with a wiped data directory, catch up by snapshot under load', async () => {
    cluster = await TestCluster.start({ args: ['--snapshot-entries', '2000', '--snapshot-keep-entries', '500'] });
    const c = cluster;
    let leader = await c.waitForLeader();
    const follower = c.nodes.find((n) => n.id !== leader)!.id;

    // 1. A follower is down while the leader snapshots and compacts past it.
    await c.kill9(follower);
    expect(await writeLoad(c, leader, 1500, 'a', 3001)).toBeGreaterThan(3000);
    // The log is compacted after the snapshot is durable (RAFT.INFO shows the
    // new snapshot index first): give the newest compaction a moment to land.
    let li = await c.raftInfo(leader);
    for (let i = 0; i < 50 && !(Number(li!.first_index) > Number(li!.snapshot_index) - 600); i++) {
      await new Promise((r) => setTimeout(r, 100));
      li = await c.raftInfo(leader);
    }
    expect(Number(li!.first_index)).toBeGreaterThan(Number(li!.snapshot_index) - 600);
    await c.startNode(follower);
    const during = writeLoad(c, leader, 1500, 'b', 501);
    expect(await during).toBeGreaterThan(500);
    let digests = await converged(c);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
    expect(c.logs(leader)).toMatch(new RegExp(`snapshot \\d+ sent to node ${follower}`));
    expect(c.logs(follower)).toMatch(/installed the leader's snapshot at index \d+/);

    // 2. A follower loses its whole data directory and restarts empty.
    leader = await c.waitForLeader();
    const wiped = c.nodes.find((n) => n.id !== leader)!.id;
    await wipeNode(c, wiped);
    await writeLoad(c, leader, 800, 'c');
    await c.startNode(wiped);
    expect(await writeLoad(c, leader, 1500, 'd', 501)).toBeGreaterThan(500);
    digests = await converged(c);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
    expect(c.logs(leader)).toMatch(new RegExp(`follower ${wiped} lost its log`));
    expect(c.logs(wiped)).toMatch(/installed the leader's snapshot at index \d+/);
    const cl = await c.client(wiped);
    expect(await cl.call('READONLY')).toBe('+OK\r\n');
    expect(await cl.call('HLEN', 'a:h3')).toMatch(/^:\d+\r\n$/);
    expect(await cl.call('HLEN', 'a:h3')).not.toBe(':0\r\n');
    cl.close();
  }, 90_000);
});
