/**
 * BullMQ (queues on streams, sorted sets and ~60 Lua scripts, pinned in
 * package.json) through its own public API, unchanged, on ioredis: the same
 * scenario against redis-server 7.0.15 and a single raftis node side by side,
 * results compared whole; then a 3-node raftis cluster through ioredis
 * Cluster connections, whose leader is killed with kill -9 while jobs wait
 * and run: every job added completes exactly once (a job that was active at
 * the kill may run again: BullMQ's stalled-job check retries it, its
 * at-least-once promise).
 *
 * What BullMQ sends: HELLO 3 (ioredis), CLIENT SETNAME and CLIENT LIST
 * (getWorkers), INFO (redis_version, maxmemory_policy), EVAL/EVALSHA with
 * cmsgpack-packed arguments, BZPOPMIN on the marker key, XREAD BLOCK on the
 * events stream (QueueEvents), XADD with MAXLEN ~ from scripts.
 */
import { FlowProducer, Job, Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { clusterOptions } from '../helpers/ioredis-cluster.js';
import { useSideBySide, until, type Recorder } from '../helpers/lib-side-by-side.js';

const env = useSideBySide();

interface Closable {
  close(): Promise<unknown>;
}

let closables: Closable[] = [];
let clients: (Redis | Cluster)[] = [];
let cluster: TestCluster | undefined;

afterEach(async () => {
  await Promise.allSettled(closables.reverse().map((c) => withTimeout(c.close(), 10_000)));
  for (const c of clients) c.disconnect();
  await cluster?.destroy();
  closables = [];
  clients = [];
  cluster = undefined;
});

function own<T extends Closable>(c: T): T {
  closables.push(c);
  return c;
}

type Data = { x: number; fail?: number };

/** The events QueueEvents reports, per job id, in the order they came. */
function listen(events: QueueEvents): Map<string, string[]> {
  const byJob = new Map<string, string[]>();
  const names = ['added', 'waiting', 'active', 'progress', 'completed', 'failed', 'delayed', 'deduplicated', 'retries-exhausted', 'waiting-children', 'removed'] as const;
  for (const name of names) {
    events.on(name, (args: { jobId: string }) => {
      const l = byJob.get(args.jobId) ?? [];
      l.push(name);
      byJob.set(args.jobId, l);
    });
  }
  return byJob;
}

async function scenario(port: number, rec: Recorder): Promise<void> {
  const connection: ConnectionOptions = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const q = own(new Queue<Data>('jobs', { connection }));
  const events = own(new QueueEvents('jobs', { connection }));
  await events.waitUntilReady();
  const byJob = listen(events);

  const runs = new Map<string, number>();
  const worker = own(
    new Worker<Data>(
      'jobs',
      async (job) => {
        runs.set(String(job.id), (runs.get(String(job.id)) ?? 0) + 1);
        await job.updateProgress(50);
        await job.log(`log of ${job.name}`);
        if (job.data.fail !== undefined && job.attemptsMade < job.data.fail) throw new Error(`boom ${job.attemptsMade + 1}`);
        if (job.name === 'parent') {
          const values = await job.getChildrenValues<number>();
          return Object.values(values).reduce((a, b) => a + b, 0);
        }
        return job.data.x * 2;
      },
      { connection, concurrency: 2, autorun: false },
    ),
  );
  worker.on('error', () => {});

  // Jobs added to a paused queue wait; prioritized ones are kept apart.
  await rec.step('pause', () => q.pause());
  await rec.step('isPaused', () => q.isPaused());
  const plain = await q.add('plain', { x: 1 });
  const high = await q.add('prio', { x: 2 }, { priority: 1 });
  const low = await q.add('prio', { x: 3 }, { priority: 5 });
  const bulk = await q.addBulk([
    { name: 'bulk', data: { x: 4 } },
    { name: 'bulk', data: { x: 5 }, opts: { lifo: true } },
  ]);
  const dedup = await q.add('dedup', { x: 6 }, { deduplication: { id: 'd1' } });
  await rec.step('deduplicated: same job', async () => (await q.add('dedup', { x: 7 }, { deduplication: { id: 'd1' } })).id === dedup.id);
  const retried = await q.add('retried', { x: 8, fail: 2 }, { attempts: 3, backoff: { type: 'fixed', delay: 20 } });
  const doomed = await q.add('doomed', { x: 9, fail: 9 }, { attempts: 2, backoff: 10 });
  const delayed = await q.add('delayed', { x: 10 }, { delay: 300 });
  await rec.step('counts while paused', () => q.getJobCounts());
  await rec.step('waiting names', async () => (await q.getWaiting()).map((j) => j.name));
  await rec.step('prioritized ids', async () => (await q.getPrioritized()).map((j) => [j.id === high.id, j.id === low.id]));
  await rec.step('delayed count', () => q.getDelayedCount());

  void worker.run();
  await worker.waitUntilReady();
  await rec.step('resume', () => q.resume());
  const finished = [plain, high, low, ...bulk, dedup, retried, delayed];
  await rec.step('results', () => Promise.all(finished.map((j) => j.waitUntilFinished(events, 20_000))));
  await rec.step('doomed', () => doomed.waitUntilFinished(events, 20_000));

  // A flow: a parent waits for its children, then sums their results.
  const flow = own(new FlowProducer({ connection }));
  const tree = await flow.add({
    name: 'parent',
    queueName: 'jobs',
    data: { x: 0 },
    children: [
      { name: 'child', queueName: 'jobs', data: { x: 20 } },
      { name: 'child', queueName: 'jobs', data: { x: 30 } },
    ],
  });
  await rec.step('flow result', () => tree.job.waitUntilFinished(events, 20_000));
  await rec.step('flow children states', async () => (await Promise.all((tree.children ?? []).map((c) => c.job.getState()))).sort());

  // A job scheduler (repeatable job): three runs, every 100 ms.
  await rec.step('upsertJobScheduler', async () => (await q.upsertJobScheduler('tick', { every: 100, limit: 3 }, { name: 'tick', data: { x: 100 } }))?.name);
  await rec.step('scheduled runs', async () => {
    await until(async () => (await q.getCompleted()).filter((j) => j.name === 'tick').length >= 3, 15_000);
    return (await q.getCompleted()).filter((j) => j.name === 'tick').map((j) => j.returnvalue as number);
  });
  await rec.step('removeJobScheduler', () => q.removeJobScheduler('tick'));

  // A delayed job promoted by hand.
  const later = await q.add('later', { x: 11 }, { delay: 600_000 });
  await rec.step('promote', () => later.promote());
  await rec.step('promoted result', () => later.waitUntilFinished(events, 20_000));

  // Reading jobs back.
  await rec.step('job fields', async () => {
    const j = await Job.fromId<Data>(q, retried.id!);
    return [j?.name, j?.data, j?.returnvalue, j?.progress, j?.attemptsMade, j?.attemptsStarted, j?.stacktrace?.length, await j?.getState()];
  });
  await rec.step('failed job', async () => {
    const j = await Job.fromId<Data>(q, doomed.id!);
    return [j?.failedReason, j?.attemptsMade, j?.stacktrace?.length, await j?.getState(), await j?.isFailed()];
  });
  await rec.step('logs', async () => (await q.getJobLogs(plain.id!)).logs);
  await rec.step('counts', () => q.getJobCounts());
  await rec.step('completed names', async () => (await q.getCompleted()).map((j) => j.name).sort());
  await rec.step('getJobs', async () => (await q.getJobs(['failed'])).map((j) => j.name));
  await rec.step('workers', async () => (await q.getWorkers()).length);
  await rec.step('workers count', () => q.getWorkersCount());
  await rec.step('global concurrency', async () => {
    await q.setGlobalConcurrency(4);
    return q.getGlobalConcurrency();
  });
  await rec.step('retry a failed job', async () => {
    const j = await Job.fromId<Data>(q, doomed.id!);
    await j!.retry();
    return [await j!.getState().then((s) => s === 'waiting' || s === 'active' || s === 'failed'), await doomed.waitUntilFinished(events, 20_000).catch((e: Error) => e.message)];
  });
  await rec.step('clean failed', async () => (await q.clean(0, 100, 'failed')).length);
  await rec.step('runs per job', () => [plain, high, low, ...bulk, dedup, retried, delayed].map((j) => runs.get(String(j.id))));
  // The events of each job, as QueueEvents (XREAD BLOCK) heard them.
  await until(() => (byJob.get(String(later.id)) ?? []).includes('completed'), 5000);
  await rec.step('events', () => [plain, high, retried, doomed, delayed, dedup].map((j) => byJob.get(String(j.id))));
  await rec.step('drain', () => q.drain(true));
  await worker.close();
  await rec.step('obliterate', () => q.obliterate({ force: true }));
  const r = new Redis({ port, maxRetriesPerRequest: 3 });
  clients.push(r);
  await rec.step('keys left', () => r.keys('bull:jobs:*'));
}

describe('BullMQ against redis-server 7.0 and raftis, side by side', () => {
  it('jobs, priorities, deduplication, retries with backoff, delays, flows, a job scheduler, events: the same results', async () => {
    const { redis, raftis } = await env.run(async (port, rec) => {
      await scenario(port, rec);
      await Promise.allSettled(closables.reverse().map((c) => withTimeout(c.close(), 10_000)));
      closables = [];
    });
    expect(redis.failures()).toEqual([
      expect.stringMatching(/^doomed: Error: boom 2/),
    ]);
    expect(raftis.steps).toEqual(redis.steps);
    expect(redis.get('results')).toEqual({ ok: [2, 4, 6, 8, 10, 12, 16, 20] });
    expect(redis.get('flow result')).toEqual({ ok: 100 });
  }, 90_000);
});

describe('BullMQ on a 3-node raftis cluster (ioredis Cluster connections)', () => {
  it('kill -9 of the leader while jobs wait and run: every job completes exactly once', async () => {
    const c = (cluster = await TestCluster.start({ size: 3 }));
    await c.waitForSettledLeader();
    const seeds = c.nodes.map((n) => ({ host: n.host, port: n.port }));
    // BullMQ's documented Redis Cluster set-up: a hash-tagged prefix, Cluster connections.
    const connection = (): Cluster => {
      const cl = new Cluster(seeds, clusterOptions({ redisOptions: { maxRetriesPerRequest: null } }));
      cl.on('error', () => {});
      clients.push(cl);
      return cl;
    };
    const prefix = '{bullmq}';
    const q = own(new Queue<Data>('failover', { connection: connection(), prefix }));
    const events = own(new QueueEvents('failover', { connection: connection(), prefix }));
    await events.waitUntilReady();
    const completedHeard = new Set<string>();
    events.on('completed', ({ jobId }) => completedHeard.add(jobId));

    const completions = new Map<string, number>();
    const runs = new Map<string, number>();
    const worker = own(
      new Worker<Data>(
        'failover',
        async (job) => {
          runs.set(String(job.id), (runs.get(String(job.id)) ?? 0) + 1);
          // Slow enough that the kill lands while jobs are active and others wait.
          await new Promise((r) => setTimeout(r, 40));
          return job.data.x;
        },
        // Short locks so a job active on the dead leader's watch is found stalled soon.
        { connection: connection(), prefix, concurrency: 2, lockDuration: 3000, stalledInterval: 1000, maxStalledCount: 5 },
      ),
    );
    const workerErrors: string[] = [];
    worker.on('error', (e) => workerErrors.push(String(e)));
    worker.on('completed', (job) => completions.set(String(job.id), (completions.get(String(job.id)) ?? 0) + 1));

    const jobs: Job<Data>[] = [];
    for (let i = 0; i < 30; i++) jobs.push(await q.add('j', { x: i }, { attempts: 5, backoff: 100 }));
    expect(await until(() => runs.size >= 3, 10_000)).toBe(true);

    const old = await c.waitForLeader();
    await c.kill9(old);
    const atKill = completions.size;
    await c.waitForLeader(20_000, [old]);
    // Added after the kill: reaches the new leader.
    for (let i = 30; i < 35; i++) jobs.push(await withTimeout(q.add('j', { x: i }, { attempts: 5, backoff: 100 }), 20_000));

    for (const j of jobs) expect(await withTimeout(j.waitUntilFinished(events, 30_000), 35_000)).toBe(j.data.x);
    expect(atKill).toBeLessThan(30);
    const counts = await q.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
    expect(counts).toEqual({ completed: 35, failed: 0, waiting: 0, active: 0, delayed: 0 });
    // Exactly once: the server has one completion per job (above and below), none twice in the worker.
    expect([...completions.values()].every((n) => n === 1)).toBe(true);
    // A completion whose reply died with the leader was applied (the job is completed, with its value),
    // but its worker retried moveToFinished, was told the job is no longer active, and reported that as an
    // error instead of 'completed' (seen under load: 33 or 34 of 35 heard; the errors read 'Missing lock for job 18. moveToFinished' and '… moveToDelayed'). Allowed only with such an
    // error naming the job.
    for (const j of jobs) {
      const id = String(j.id);
      if (!completions.has(id)) expect(workerErrors.filter((e) => new RegExp(`\\b${id}\\b`).test(e)), `job ${id}: no 'completed' and no error`).not.toEqual([]);
    }
    for (const j of jobs) expect((await q.getJob(j.id!))?.returnvalue).toBe(j.data.x);
  }, 120_000);
});
