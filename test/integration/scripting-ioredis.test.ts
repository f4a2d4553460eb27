/**
 * ioredis's public scripting API (defineCommand: EVALSHA, falling back to
 * EVAL on NOSCRIPT) against raftis: a standalone node and a 3-node cluster
 * through ioredis Cluster, with pipelines and MULTI; the same sequence of
 * uses (after SCRIPT FLUSH, script error replies, a readOnly command) as
 * redis-server gives it; a readOnly no-writes command on the followers
 * through ioredis Cluster's scaleReads.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { untilApplied } from '../helpers/cluster-ops.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { sha1hex } from '../../src/util/lua/vm.js';

const LUA = "local n = redis.call('incrby', KEYS[1], ARGV[1]) redis.call('set', KEYS[2], n) return {n, redis.call('get', KEYS[2])}";

interface Scripted {
  addAndCopy(a: string, b: string, by: number): Promise<[number, string]>;
}

let raftis: RaftisProcess | undefined;
let cluster: TestCluster | undefined;
let redis: RedisServer | undefined;
let raftis2: RaftisProcess | undefined;
const clients: (Redis | Cluster)[] = [];
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.allSettled([raftis?.destroy(), cluster?.destroy(), redis?.stop(), raftis2?.destroy()]);
});

const BUMP = "return redis.call('incrby', KEYS[1], ARGV[1])";

/** What one ioredis client sees from a sequence of defineCommand uses, as JSON (errors as their message). */
async function sequence(r: Redis): Promise<string[]> {
  const out: string[] = [];
  const settle = async (p: Promise<unknown>): Promise<void> => {
    try {
      out.push(JSON.stringify(await p, (_k, x: unknown) => (x instanceof Error ? `error: ${x.message}` : x)));
    } catch (e) {
      out.push(`error: ${(e as Error).message}`);
    }
  };
  type Cmds = {
    bump(k: string, by: number): Promise<number>;
    failing(k: string): Promise<unknown>;
    peek(k: string): Promise<string | null>;
  };
  r.defineCommand('bump', { numberOfKeys: 1, lua: BUMP });
  r.defineCommand('failing', { numberOfKeys: 1, lua: "redis.call('set', KEYS[1], 'x') return redis.error_reply('MYERR custom failure')" });
  r.defineCommand('peek', { numberOfKeys: 1, readOnly: true, lua: "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])" });
  const s = r as unknown as Redis & Cmds;
  await settle(s.bump('{d}n', 1));
  await settle(s.failing('{d}f'));
  await settle(s.peek('{d}n'));
  // After SCRIPT FLUSH the connection still believes its scripts are loaded: EVALSHA, NOSCRIPT, then EVAL.
  await settle(r.script('FLUSH'));
  const p = r.pipeline() as ReturnType<Redis['pipeline']> & { [K in keyof Cmds]: (...a: Parameters<Cmds[K]>) => unknown };
  p.bump('{d}n', 10);
  p.failing('{d}f');
  p.peek('{d}n');
  p.get('{d}f');
  await settle(p.exec());
  await settle(r.script('FLUSH'));
  const m = r.multi() as ReturnType<Redis['multi']> & { [K in keyof Cmds]: (...a: Parameters<Cmds[K]>) => unknown };
  m.bump('{d}n', 100);
  m.peek('{d}n');
  await settle(m.exec());
  await settle(s.bump('{d}n', 1000));
  await settle(r.script('EXISTS', sha1hex(BUMP)));
  // A wrong number of arguments (numberOfKeys) is the server's error.
  await settle((s.bump as unknown as (...a: unknown[]) => Promise<number>)('{d}n'));
  await settle(r.get('{d}n'));
  return out;
}

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

  it('pipelines and MULTI after SCRIPT FLUSH, a script error reply, a read-only command: what redis-server gives', async () => {
    // A one-node raftis is a standalone redis-server for scripts (docs/decisions.md).
    [redis, raftis2] = await Promise.all([startRedisServer(), startRaftis()]);
    const a = new Redis({ port: redis.port, host: '127.0.0.1' });
    const b = new Redis({ port: raftis2.port, host: '127.0.0.1' });
    clients.push(a, b);
    const want = await sequence(a);
    expect(want.some((x) => x.startsWith('error: MYERR'))).toBe(true);
    expect(await sequence(b)).toEqual(want);
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

  it('ioredis Cluster with scaleReads: slave: a readOnly no-writes command runs on the followers (READONLY), writes go to the leader', async () => {
    cluster ??= await TestCluster.start({ size: 3 });
    const leader = await cluster.waitForSettledLeader();
    const rc = new Cluster([{ host: cluster.node(leader).host, port: cluster.node(leader).port }], {
      scaleReads: 'slave',
      clusterRetryStrategy: (times) => (times > 100 ? null : 100),
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      retryDelayOnFailover: 100,
      maxRedirections: 300,
      redisOptions: { connectTimeout: 2000 },
    });
    clients.push(rc);
    rc.on('error', () => {});
    rc.defineCommand('peek', { numberOfKeys: 1, readOnly: true, lua: "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])" });
    const peek = (k: string): Promise<string | null> => (rc as unknown as { peek(k: string): Promise<string | null> }).peek(k);
    await retrying(() => rc.set('{r}k', 'v1'));
    const evalCalls = async (): Promise<number[]> =>
      Promise.all(
        cluster!.nodes.map(async (n) => {
          const r = new Redis({ host: n.host, port: n.port });
          clients.push(r);
          const stats = await r.info('commandstats');
          r.disconnect();
          return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
        }),
      );
    const before = await evalCalls();
    // READONLY reads are a replica's reads: wait until every follower has applied the write.
    await untilApplied(cluster);
    expect(await retrying(() => peek('{r}k'))).toBe('v1');
    const after = await evalCalls();
    const ranOn = cluster.nodes.filter((_n, i) => after[i]! > before[i]!).map((n) => n.id);
    expect(ranOn.length).toBeGreaterThan(0);
    expect(ranOn).not.toContain(leader);
  });
});
