/**
 * bull 4 (a job queue built on Lua scripts, pub/sub and BRPOPLPUSH) through
 * its own public API against raftis: a single node, the leader of a 3-node
 * cluster, and a 3-node cluster whose leader is killed while jobs wait.
 *
 * On a single node bull runs with its default options: a raftis of one
 * voter is a standalone redis-server for scripts (no slot rule). On a
 * cluster of several nodes the queue's `prefix` carries a hash tag
 * (`{bull}`), as bull's documentation asks for Redis Cluster — raftis is then
 * a Redis Cluster of one shard and refuses a script whose keys are in
 * different slots (CROSSSLOT). To survive a leader change, bull's clients
 * are ioredis `Cluster` clients given through `createClient` (every node as
 * a seed): they follow MOVED to the new leader by themselves.
 */
import Queue, { type Job, type QueueOptions } from 'bull';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { clusterOptions } from '../helpers/ioredis-cluster.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

/** bull's timers, short so each test stays within seconds (defaults: 30 s locks, 5 s block). */
const SETTINGS: QueueOptions['settings'] = {
  lockDuration: 2000,
  lockRenewTime: 500,
  stalledInterval: 1000,
  guardInterval: 500,
  drainDelay: 1,
  retryProcessDelay: 100,
};

let raftis: RaftisProcess | undefined;
let cluster: TestCluster | undefined;
let queues: Queue.Queue[] = [];
let clients: (Redis | Cluster)[] = [];

afterEach(async () => {
  await Promise.allSettled(queues.map((q) => withTimeout(q.close(), 5000)));
  for (const c of clients) c.disconnect();
  await Promise.allSettled([raftis?.destroy(), cluster?.destroy()]);
  raftis = undefined;
  cluster = undefined;
  queues = [];
  clients = [];
});

/** A queue with a hash-tagged prefix (what Redis Cluster needs), or bull's default options when `prefix` is null. */
function queue(name: string, host: string, port: number, prefix: string | null = '{bull}'): Queue.Queue {
  const q = new Queue(name, prefix === null ? { redis: { host, port }, settings: SETTINGS } : { prefix, redis: { host, port }, settings: SETTINGS });
  q.on('error', () => {});
  queues.push(q);
  return q;
}

type Event = string;

/**
 * The scenario every deployment runs: jobs that complete, one that fails
 * twice and is retried with exponential backoff, one that fails for good,
 * a delayed one, removeOnComplete, progress, queue counts, local events and
 * global events heard by a second Queue instance (bull's pub/sub, published
 * from its scripts).
 */
async function runScenario(q: Queue.Queue, watcher: Queue.Queue): Promise<void> {
  const local: Event[] = [];
  const global: Event[] = [];
  for (const e of ['completed', 'failed', 'progress', 'active', 'waiting'] as const) {
    watcher.on(`global:${e}`, (id: string) => global.push(`${e} ${id}`));
  }
  q.on('completed', (j: Job, r: unknown) => local.push(`completed ${j.id} ${String(r)}`));
  q.on('failed', (j: Job, err: Error) => local.push(`failed ${j.id} ${err.message}`));
  await Promise.all([q.isReady(), watcher.isReady()]);

  const tries = new Map<string, number>();
  void q.process(2, async (job: Job<{ x: number; failTimes?: number }>) => {
    const n = (tries.get(String(job.id)) ?? 0) + 1;
    tries.set(String(job.id), n);
    await job.progress(n * 10);
    if (n <= (job.data.failTimes ?? 0)) throw new Error(`boom ${n}`);
    return job.data.x * 2;
  });

  const plain = await q.add({ x: 1 }, { removeOnComplete: true });
  const retried = await q.add({ x: 2, failTimes: 2 }, { attempts: 3, backoff: { type: 'exponential', delay: 50 } });
  const delayedAt = Date.now();
  const delayed = await q.add({ x: 3 }, { delay: 400 });
  const doomed = await q.add({ x: 4, failTimes: 9 }, { attempts: 2, backoff: 20 });
  const kept = await q.add({ x: 5 });

  // A job removed on completion cannot be waited for with finished() once gone (bull's own race): its local event is.
  for (let i = 0; i < 100 && !local.includes(`completed ${plain.id} 2`); i++) await new Promise((res) => setTimeout(res, 100));
  expect(local).toContain(`completed ${plain.id} 2`);
  expect(await retried.finished()).toBe(4);
  expect(await delayed.finished()).toBe(6);
  expect(Date.now() - delayedAt).toBeGreaterThanOrEqual(400);
  await expect(doomed.finished()).rejects.toThrow('boom 2');
  expect(await kept.finished()).toBe(10);

  // removeOnComplete: the job is gone; the others are kept with their outcome.
  expect(await q.getJob(plain.id)).toBeNull();
  const r = (await q.getJob(retried.id))!;
  expect(r.attemptsMade).toBe(2);
  expect(r.returnvalue).toBe(4);
  expect(await r.getState()).toBe('completed');
  const d = (await q.getJob(doomed.id))!;
  expect(await d.getState()).toBe('failed');
  expect(d.failedReason).toBe('boom 2');
  expect(d.stacktrace).toHaveLength(2);
  expect(await q.getJobCounts()).toEqual({ waiting: 0, active: 0, completed: 3, failed: 1, delayed: 0, paused: 0 });
  expect(await q.getCompletedCount()).toBe(3);
  expect((await q.getFailed()).map((j) => j.id)).toEqual([doomed.id]);

  // Pause and resume (a script and a published event); a job added while paused waits.
  await q.pause();
  expect(await q.isPaused()).toBe(true);
  const late = await q.add({ x: 6 });
  expect(await q.getJobCounts()).toMatchObject({ paused: 1, waiting: 0 });
  await q.resume();
  expect(await late.finished()).toBe(12);

  // Local events, in order per job.
  expect(local.filter((e) => e.startsWith(`completed ${retried.id} `))).toEqual([`completed ${retried.id} 4`]);
  expect(local.filter((e) => e.startsWith(`failed ${retried.id} `))).toEqual([`failed ${retried.id} boom 1`, `failed ${retried.id} boom 2`]);
  expect(local).toContain(`failed ${doomed.id} boom 2`);
  // Global events: published by bull's scripts, heard by the other instance (allow the last message time to arrive).
  const want = [plain, retried, delayed, kept, late].map((j) => `completed ${j.id}`);
  for (let i = 0; i < 50 && !want.every((w) => global.includes(w)); i++) await new Promise((res) => setTimeout(res, 100));
  expect(global.filter((e) => e.startsWith('completed ')).sort()).toEqual([...want].sort());
  expect(global).toContain(`failed ${doomed.id}`);
  expect(global).toContain(`progress ${retried.id}`);
  expect(global).toContain(`waiting ${kept.id}`);
  expect(global).toContain(`active ${delayed.id}`);

  // clean and obliterate (SCAN and DEL inside scripts).
  expect(await q.clean(0, 'completed')).toHaveLength(4);
  expect(await q.clean(0, 'failed')).toEqual([String(doomed.id)]);
  expect(await q.getJobCounts()).toEqual({ waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0, paused: 0 });
  // getWorkers uses CLIENT LIST and the name bull gives its blocking connection (CLIENT SETNAME).
  expect((await q.getWorkers()).length).toBeGreaterThanOrEqual(1);
}

describe('bull 4 on raftis', () => {
  it('a single node: jobs, retries with backoff, delays, removeOnComplete, counts and events', async () => {
    raftis = await startRaftis();
    await runScenario(queue('single', '127.0.0.1', raftis.port), queue('single', '127.0.0.1', raftis.port));
  }, 30_000);

  it("a single node with bull's default options (prefix 'bull', keys in many slots), as on a standalone redis-server", async () => {
    raftis = await startRaftis();
    await runScenario(queue('plain', '127.0.0.1', raftis.port, null), queue('plain', '127.0.0.1', raftis.port, null));
    // The keys are bull's own, untagged: scripts over several slots ran.
    const r = new Redis({ host: '127.0.0.1', port: raftis.port });
    clients.push(r);
    const keys = await r.keys('bull:plain:*');
    const slots = new Set(await Promise.all(keys.map((k) => r.call('CLUSTER', 'KEYSLOT', k))));
    expect(keys.length).toBeGreaterThan(1);
    expect(slots.size).toBeGreaterThan(1);
  }, 30_000);

  it('the leader of a 3-node cluster; events published by scripts reach a subscriber on a follower exactly once', async () => {
    cluster = await TestCluster.start({ size: 3 });
    const leader = cluster.node(await cluster.waitForSettledLeader());
    const follower = cluster.nodes.find((n) => n.id !== leader.id)!;
    // Every replica applies the script and delivers to its own subscribers: one message per event.
    const sub = new Redis({ host: follower.host, port: follower.port });
    clients.push(sub);
    const heard: string[] = [];
    sub.on('message', (_ch: string, m: string) => heard.push(m));
    await sub.subscribe('{bull}:clustered:completed');
    await runScenario(queue('clustered', leader.host, leader.port), queue('clustered', leader.host, leader.port));
    for (let i = 0; i < 50 && heard.length < 5; i++) await new Promise((res) => setTimeout(res, 100));
    await new Promise((res) => setTimeout(res, 300));
    const ids = heard.map((m) => (JSON.parse(m) as { jobId: string }).jobId);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
  }, 30_000);

  it('kill -9 of the leader while jobs wait: bull on ioredis Cluster clients follows the new leader and every job completes', async () => {
    cluster = await TestCluster.start({ size: 3 });
    const c = cluster;
    await c.waitForSettledLeader();
    const seeds = c.nodes.map((n) => ({ host: n.host, port: n.port }));
    // What a user writes: bull's clients as ioredis Cluster clients over every node (bclient and subscriber as bull requires them).
    const createClient = (type: string): Cluster => {
      const blocking = type === 'bclient' || type === 'subscriber';
      const cl = new Cluster(seeds, clusterOptions({ enableReadyCheck: !blocking, redisOptions: { maxRetriesPerRequest: blocking ? null : 20 } }));
      cl.on('error', () => {});
      clients.push(cl);
      return cl;
    };
    // (bull's types name its own ioredis 5; ioredis 6's Cluster is the same at run time.)
    const q = new Queue('failover', { prefix: '{bull}', createClient: createClient as unknown as NonNullable<QueueOptions['createClient']>, settings: SETTINGS });
    q.on('error', () => {});
    queues.push(q);
    await q.isReady();

    const before: Job[] = [];
    for (let i = 0; i < 20; i++) before.push(await q.add({ i }, { attempts: 5, backoff: 100 }));
    const done = new Map<string, number>();
    let processing = 0;
    void q.process(async (job: Job<{ i: number }>) => {
      processing++;
      // Slow enough that the kill lands while jobs are active and others wait.
      await new Promise((res) => setTimeout(res, 50));
      done.set(String(job.id), job.data.i);
      return job.data.i;
    });
    for (let i = 0; i < 100 && processing < 3; i++) await new Promise((res) => setTimeout(res, 20));

    const old = await c.waitForLeader();
    await c.kill9(old);
    const atKill = done.size;
    await c.waitForLeader(15_000, [old]);
    const after = await q.add({ i: 20 });

    for (const j of [...before, after]) expect(await withTimeout(j.finished(), 20_000)).toBe((j.data as { i: number }).i);
    expect(done.size).toBe(21);
    // The kill landed with jobs still waiting: most completed on the new leader.
    expect(atKill).toBeLessThan(15);
    const counts = await q.getJobCounts();
    expect(counts).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    expect(counts.completed).toBe(21);
  }, 60_000);
});
