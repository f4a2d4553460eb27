/**
 * rate-limiter-flexible (pinned in package.json) through its own public API,
 * unchanged: RateLimiterRedis on ioredis (EVALSHA of its consume script,
 * SET NX EX, MULTI GET PTTL, DEL), on node-redis (useRedisPackage), the
 * non-atomic variant (MULTI SET/INCRBY/PTTL) and a BurstyRateLimiter — the
 * same steps against redis-server 7.0.15 and a single raftis node side by
 * side, results compared whole (remaining points and consumed counts exactly;
 * msBeforeNext, which depends on the clock, only as within its duration);
 * then on a 3-node raftis cluster through an ioredis Cluster client.
 */
import { BurstyRateLimiter, RateLimiterRedis, RateLimiterRedisNonAtomic, RateLimiterRes } from 'rate-limiter-flexible';
import { createClient } from 'redis';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { Recorder, useSideBySide } from '../helpers/lib-side-by-side.js';

const env = useSideBySide();

let clients: (Redis | Cluster)[] = [];
let cluster: TestCluster | undefined;
afterEach(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.destroy();
  clients = [];
  cluster = undefined;
});

/** A limiter's answer without its clock-dependent part (msBeforeNext: only whether it is within the window). */
function shape(r: unknown, windowMs: number): unknown {
  if (!(r instanceof RateLimiterRes)) return r instanceof Error ? `Error: ${r.message}` : r;
  return { remaining: r.remainingPoints, consumed: r.consumedPoints, first: r.isFirstInDuration, inWindow: r.msBeforeNext > 0 && r.msBeforeNext <= windowMs };
}

/** consume() n times: each resolved or rejected answer, shaped. */
async function consumeN(l: { consume(key: string, points?: number): Promise<RateLimiterRes> }, key: string, n: number, windowMs: number, points = 1): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    try {
      out.push(['ok', shape(await l.consume(key, points), windowMs)]);
    } catch (e) {
      out.push(['rejected', shape(e, windowMs)]);
    }
  }
  return out;
}

type Store = Redis | Cluster;

/** The steps of one limiter over a given store client. */
async function limiterSteps(rec: Recorder, storeClient: unknown, tag: string, extra: Record<string, unknown> = {}): Promise<void> {
  const limiter = new RateLimiterRedis({ storeClient, points: 3, duration: 10, keyPrefix: `rl-${tag}`, ...extra });
  await rec.step(`${tag} consume until rejected`, () => consumeN(limiter, 'user1', 5, 10_000));
  await rec.step(`${tag} get`, async () => shape(await limiter.get('user1'), 10_000));
  await rec.step(`${tag} get unknown`, () => limiter.get('nobody'));
  await rec.step(`${tag} delete (the reset)`, () => limiter.delete('user1'));
  await rec.step(`${tag} after reset`, () => consumeN(limiter, 'user1', 1, 10_000));
  await rec.step(`${tag} consume 2 points`, () => consumeN(limiter, 'user2', 2, 10_000, 2));
  await rec.step(`${tag} penalty`, async () => shape(await limiter.penalty('user1', 1), 10_000));
  await rec.step(`${tag} reward`, async () => shape(await limiter.reward('user1', 2), 10_000));
  await rec.step(`${tag} block`, async () => shape(await limiter.block('user3', 20), 20_000));
  await rec.step(`${tag} consume blocked`, () => consumeN(limiter, 'user3', 1, 20_000));
  await rec.step(`${tag} set`, async () => shape(await limiter.set('user4', 2, 30), 30_000));
  await rec.step(`${tag} consume after set`, () => consumeN(limiter, 'user4', 2, 30_000));
}

async function scenario(port: number, rec: Recorder): Promise<void> {
  const io = new Redis({ host: '127.0.0.1', port, enableOfflineQueue: false });
  clients.push(io);
  await new Promise((r) => io.once('ready', r));
  await limiterSteps(rec, io, 'ioredis');
  await limiterSteps(rec, io, 'blockDuration', { blockDuration: 30 });

  const nonAtomic = new RateLimiterRedisNonAtomic({ storeClient: io, points: 2, duration: 10, keyPrefix: 'rl-na' });
  await rec.step('non-atomic consume', () => consumeN(nonAtomic, 'u', 3, 10_000));

  const bursty = new BurstyRateLimiter(
    new RateLimiterRedis({ storeClient: io, points: 2, duration: 10, keyPrefix: 'rl-b1' }),
    new RateLimiterRedis({ storeClient: io, points: 2, duration: 60, keyPrefix: 'rl-b2' }),
  );
  await rec.step('bursty consume', () => consumeN(bursty, 'u', 5, 60_000));

  const nr = createClient({ url: `redis://127.0.0.1:${port}` });
  nr.on('error', () => {});
  await nr.connect();
  try {
    await limiterSteps(rec, nr, 'node-redis', { useRedisPackage: true });
  } finally {
    nr.destroy();
  }
  await rec.step('keys', async () => (await io.keys('rl-*')).sort());
}

describe('rate-limiter-flexible against redis-server 7.0 and raftis, side by side', () => {
  it('RateLimiterRedis (ioredis and node-redis), the non-atomic and bursty limiters: the same answers', async () => {
    const { redis, raftis } = await env.run(scenario);
    expect(redis.failures()).toEqual([]);
    expect(raftis.steps).toEqual(redis.steps);
    const inWindow = { remaining: 0, consumed: 4, first: false, inWindow: true };
    expect(redis.get('ioredis consume until rejected')).toEqual({
      ok: [
        ['ok', { remaining: 2, consumed: 1, first: true, inWindow: true }],
        ['ok', { remaining: 1, consumed: 2, first: false, inWindow: true }],
        ['ok', { remaining: 0, consumed: 3, first: false, inWindow: true }],
        ['rejected', inWindow],
        ['rejected', { ...inWindow, consumed: 5 }],
      ],
    });
  }, 60_000);
});

describe('rate-limiter-flexible on a 3-node raftis cluster', () => {
  it('RateLimiterRedis on an ioredis Cluster client', async () => {
    const c = (cluster = await TestCluster.start({ size: 3 }));
    await c.waitForSettledLeader();
    const cl: Store = new Cluster(
      c.nodes.map((n) => ({ host: n.host, port: n.port })),
      { maxRedirections: 20, retryDelayOnClusterDown: 100, retryDelayOnTryAgain: 100, redisOptions: { connectTimeout: 1000 } },
    );
    cl.on('error', () => {});
    clients.push(cl);
    await new Promise((r) => cl.once('ready', r));
    const rec = new Recorder();
    await limiterSteps(rec, cl, 'cluster');
    expect(rec.failures()).toEqual([]);
    expect(rec.get('cluster consume until rejected')).toEqual({
      ok: [
        ['ok', { remaining: 2, consumed: 1, first: true, inWindow: true }],
        ['ok', { remaining: 1, consumed: 2, first: false, inWindow: true }],
        ['ok', { remaining: 0, consumed: 3, first: false, inWindow: true }],
        ['rejected', { remaining: 0, consumed: 4, first: false, inWindow: true }],
        ['rejected', { remaining: 0, consumed: 5, first: false, inWindow: true }],
      ],
    });
    expect(rec.get('cluster after reset')).toEqual({ ok: [['ok', { remaining: 2, consumed: 1, first: true, inWindow: true }]] });
    expect(rec.get('cluster consume blocked')).toEqual({ ok: [['rejected', { remaining: 0, consumed: 5, first: false, inWindow: true }]] });
  }, 60_000);
});
