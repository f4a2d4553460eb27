/**
 * ioredis's public scripting API (defineCommand: EVALSHA, falling back to
 * EVAL on NOSCRIPT) against raftis: a standalone node and a 3-node cluster
 * through ioredis Cluster, with pipelines and MULTI.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

const LUA = "local n = redis.call('incrby', KEYS[1], ARGV[1]) redis.call('set', KEYS[2], n) return {n, redis.call('get', KEYS[2])}";

interface Scripted {
  addAndCopy(a: string, b: string, by: number): Promise<[number, string]>;
}

let raftis: RaftisProcess | undefined;
let cluster: TestCluster | undefined;
const clients: (Redis | Cluster)[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all([raftis?.destroy(), cluster?.destroy()]);
});

/** Retries an idempotent-enough operation while a loaded machine sees an election (bounded). */
async function retrying<T>(f: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 30; i++) {
    try {
      return await f();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}

describe('ioredis defineCommand', () => {
  it('standalone (keys in one slot, as raftis is a Redis Cluster of one shard): direct calls, a pipeline, MULTI, and after SCRIPT FLUSH', async () => {
    raftis = await startRaftis();
    const r = new Redis({ port: raftis.port, host: '127.0.0.1' });
    clients.push(r);
    r.defineCommand('addAndCopy', { numberOfKeys: 2, lua: LUA });
    const s = r as unknown as Redis & Scripted;
    expect(await s.addAndCopy('{s}n', '{s}copy', 2)).toEqual([2, '2']);
    expect(await s.addAndCopy('{s}n', '{s}copy', 3)).toEqual([5, '5']);
    const p = r.pipeline() as ReturnType<Redis['pipeline']> & { addAndCopy(a: string, b: string, by: number): unknown };
    p.addAndCopy('{s}n', '{s}copy', 10);
    p.get('{s}copy');
    p.addAndCopy('{s}m', '{s}copy2', 1);
    expect(await p.exec()).toEqual([
      [null, [15, '15']],
      [null, '15'],
      [null, [1, '1']],
    ]);
    const m = r.multi() as ReturnType<Redis['multi']> & { addAndCopy(a: string, b: string, by: number): unknown };
    m.addAndCopy('{s}n', '{s}copy', 4);
    m.incr('{s}n');
    expect(await m.exec()).toEqual([
      [null, [19, '19']],
      [null, 20],
    ]);
    expect(await r.script('FLUSH')).toBe('OK');
    // EVALSHA answers NOSCRIPT; ioredis sends EVAL.
    expect(await s.addAndCopy('{s}n', '{s}copy', 1)).toEqual([21, '21']);
  });

  it('ioredis Cluster: calls over many slots, a pipeline and MULTI in one slot', async () => {
    cluster = await TestCluster.start({ size: 3 });
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader)!;
    const rc = new Cluster([{ host: follower.host, port: follower.port }], {
      clusterRetryStrategy: (times) => (times > 100 ? null : 100),
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      retryDelayOnFailover: 100,
      maxRedirections: 300,
      slotsRefreshTimeout: 2000,
      redisOptions: { connectTimeout: 2000 },
    });
    clients.push(rc);
    rc.on('error', () => {});
    rc.defineCommand('addAndCopy', { numberOfKeys: 2, lua: LUA });
    const s = rc as unknown as Cluster & Scripted;
    for (let i = 0; i < 20; i++) {
      expect(await retrying(() => s.addAndCopy(`{t${i}}n`, `{t${i}}c`, i))).toEqual([i, String(i)]);
    }
    // Keys in two slots: Redis Cluster's CROSSSLOT (ioredis sends it to the first key's node).
    await expect(s.addAndCopy('a', 'b', 1)).rejects.toThrow(/CROSSSLOT/);
    const p = rc.pipeline() as ReturnType<Cluster['pipeline']> & { addAndCopy(a: string, b: string, by: number): unknown };
    p.addAndCopy('{x}n', '{x}c', 5);
    p.get('{x}c');
    expect(await retrying(() => p.exec())).toEqual([
      [null, [5, '5']],
      [null, '5'],
    ]);
    const m = rc.multi() as ReturnType<Cluster['multi']> & { addAndCopy(a: string, b: string, by: number): unknown };
    m.addAndCopy('{x}n', '{x}c', 1);
    m.get('{x}c');
    expect(await retrying(() => m.exec())).toEqual([
      [null, [6, '6']],
      [null, '6'],
    ]);
  });
});
