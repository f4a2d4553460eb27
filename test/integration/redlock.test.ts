/**
 * redlock 5 (distributed locks: SET NX PX and GET-compare scripts, by
 * EVALSHA with EVAL on NOSCRIPT) through its public API against raftis: a
 * single node, and a 3-node cluster used as ONE redlock "server".
 *
 * Redlock's quorum assumes independent Redis masters. The nodes of a raftis
 * cluster are not independent: they are replicas of one Raft log, and the
 * cluster is already what redlock's quorum tries to build (a lock is written
 * once a majority has it on disk, and survives the leader's death). So the
 * cluster is given to redlock as one client — an ioredis Cluster over every
 * node, which follows the leader — and redlock's quorum is 1 of 1. Giving
 * redlock one standalone client per node does not work: followers answer
 * MOVED, and with proxied writes every "instance" is the same key anyway.
 */
import Redlock, { ExecutionError, Lock } from 'redlock';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { clusterOptions } from '../helpers/ioredis-cluster.js';
import { bulk, onLeader } from '../helpers/cluster-ops.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

let raftis: RaftisProcess | undefined;
let cluster: TestCluster | undefined;
let clients: (Redis | Cluster)[] = [];

afterEach(async () => {
  for (const c of clients) c.disconnect();
  await Promise.allSettled([raftis?.destroy(), cluster?.destroy()]);
  raftis = undefined;
  cluster = undefined;
  clients = [];
});

function track<T extends Redis | Cluster>(c: T): T {
  c.on('error', () => {});
  clients.push(c);
  return c;
}

/** An ioredis Cluster over every node of the raftis cluster: redlock's one "server". */
function clusterClient(c: TestCluster): Cluster {
  return track(
    new Cluster(
      c.nodes.map((n) => ({ host: n.host, port: n.port })),
      clusterOptions({ redisOptions: { maxRetriesPerRequest: 20 } }),
    ),
  );
}

/** The messages of the votes against, from a failed redlock operation. */
async function against(e: unknown): Promise<string[]> {
  expect(e).toBeInstanceOf(ExecutionError);
  const stats = await Promise.all((e as ExecutionError).attempts);
  return stats.flatMap((s) => [...s.votesAgainst.values()].map((err) => err.message));
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the operation to fail');
}

/**
 * Acquire, extend, release; a second client contending (no retries, then
 * retries that succeed once the first releases); a stale lock's release and
 * extend refused; several resources in one slot, and in two slots (taken
 * on one node, a standalone redis-server for scripts; CROSSSLOT on a
 * cluster, as Redis Cluster); `using` with automatic extension past the
 * lock's first duration.
 */
async function lockScenario(a: Redis | Cluster, b: Redis | Cluster, read: (k: string) => Promise<[string | null, number]>, standalone: boolean): Promise<void> {
  const first = new Redlock([a], { retryCount: 0 });
  const second = new Redlock([b], { retryCount: 0 });
  const patient = new Redlock([b], { retryCount: 40, retryDelay: 50, retryJitter: 10 });
  for (const r of [first, second, patient]) r.on('error', () => {});

  const lock = await first.acquire(['rl:res'], 2000);
  let [value, ttl] = await read('rl:res');
  expect(value).toBe(lock.value);
  // PX set (a loaded machine may take a while between the two reads).
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(2000);

  // Contention: the other client cannot take it.
  expect(await against(await rejection(second.acquire(['rl:res'], 1000)))).toEqual(['The operation was applied to: 0 of the 1 requested resources.']);

  const extended = await lock.extend(5000);
  [value, ttl] = await read('rl:res');
  expect(value).toBe(lock.value);
  expect(ttl).toBeGreaterThan(2000);

  // The patient client gets it once the holder releases.
  const waiting = patient.acquire(['rl:res'], 1000);
  await new Promise((r) => setTimeout(r, 200));
  await extended.release();
  const taken: Lock = await waiting;
  expect((await read('rl:res'))[0]).toBe(taken.value);
  expect(taken.value).not.toBe(lock.value);

  // The first lock is stale: neither its release nor its extension touches the new holder's.
  expect(await against(await rejection(extended.release()))).toEqual(['The operation was applied to: 0 of the 1 requested resources.']);
  const stale = new Lock(first, ['rl:res'], lock.value, [], Date.now() + 10_000);
  expect(await against(await rejection(stale.extend(1000)))).toEqual(['The operation was applied to: 0 of the 1 requested resources.']);
  expect((await read('rl:res'))[0]).toBe(taken.value);
  await taken.release();
  expect((await read('rl:res'))[0]).toBeNull();

  // Several resources: one script over several keys, so in one slot (hash tags) as in Redis Cluster.
  const multi = await first.acquire(['{rl}a', '{rl}b'], 1000);
  expect(await against(await rejection(second.acquire(['{rl}b', '{rl}c'], 1000)))).toEqual(['The operation was applied to: 0 of the 2 requested resources.']);
  expect((await read('{rl}c'))[0]).toBeNull();
  await multi.release();
  if (standalone) {
    const two = await first.acquire(['x', 'y'], 1000);
    expect((await read('x'))[0]).toBe(two.value);
    expect((await read('y'))[0]).toBe(two.value);
    await two.release();
    expect((await read('y'))[0]).toBeNull();
  } else {
    expect(await against(await rejection(first.acquire(['x', 'y'], 1000)))).toEqual(["CROSSSLOT Keys in request don't hash to the same slot"]);
  }

  // using(): the lock is extended automatically while the routine runs past its first duration.
  const result = await first.using(['rl:auto'], 1000, { automaticExtensionThreshold: 500 }, async (signal) => {
    await new Promise((r) => setTimeout(r, 2500));
    return { aborted: signal.aborted, held: (await read('rl:auto'))[0] !== null };
  });
  expect(result).toEqual({ aborted: false, held: true });
  expect((await read('rl:auto'))[0]).toBeNull();
}

describe('redlock 5 on raftis', () => {
  it('a single node: acquire, extend, release, contention between two clients, using()', async () => {
    raftis = await startRaftis();
    const a = track(new Redis({ port: raftis.port, host: '127.0.0.1' }));
    const b = track(new Redis({ port: raftis.port, host: '127.0.0.1' }));
    await lockScenario(a, b, async (k) => [await a.get(k), await a.pttl(k)], true);
  }, 30_000);

  it('a 3-node cluster as one redlock server: the same, a lock that survives kill -9 of the leader, and why one client per node fails', async () => {
    cluster = await TestCluster.start({ size: 3 });
    const c = cluster;
    await c.waitForSettledLeader();
    const a = clusterClient(c);
    const b = clusterClient(c);
    await lockScenario(a, b, async (k) => [await a.get(k), await a.pttl(k)], false);

    // One standalone client per node, as redlock's own docs would have it: the followers vote against (MOVED).
    const perNode = new Redlock(
      c.nodes.map((n) => track(new Redis({ host: n.host, port: n.port, maxRetriesPerRequest: 2 }))),
      { retryCount: 0 },
    );
    perNode.on('error', () => {});
    const votes = await against(await rejection(perNode.acquire(['rl:pernode'], 1000)));
    expect(votes).toHaveLength(2);
    for (const v of votes) expect(v).toMatch(/^MOVED \d+ /);

    // The cluster's lock survives its leader: the contender is still refused, the holder extends and releases.
    // Until the clients have found the new leader a vote may be a connection error: retried (bounded), never taken as an answer.
    const holder = new Redlock([a], { retryCount: 0 });
    const contender = new Redlock([b], { retryCount: 0 });
    const lock = await holder.acquire(['rl:failover'], 20_000);
    const old = await c.waitForLeader();
    await c.kill9(old);
    await c.waitForLeader(15_000, [old]);
    const REFUSED = 'The operation was applied to: 0 of the 1 requested resources.';
    let refusal: string[] = [];
    for (let i = 0; i < 40 && refusal[0] !== REFUSED; i++) {
      refusal = await against(await rejection(contender.acquire(['rl:failover'], 1000)));
      if (refusal[0] !== REFUSED) await new Promise((r) => setTimeout(r, 250));
    }
    expect(refusal).toEqual([REFUSED]);
    let extended: Lock | undefined;
    for (let i = 0; i < 40 && extended === undefined; i++) {
      try {
        extended = await lock.extend(20_000);
      } catch (e) {
        // Only a transient error may be retried: a refusal would mean the lock was lost.
        expect(await against(e)).not.toContain(REFUSED);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    expect(extended).toBeDefined();
    // Read through the leader, not through b: until ioredis refreshes its slot map (it does on a MOVED, and
    // nothing here answers one), b still names the dead leader as the slot's master and sends a command for
    // that slot to any connection it has — also its READONLY connections to the followers, where raftis,
    // like a Redis replica, answers from local state, which may not have applied the release yet (seen under
    // load: the lock's value read 1 ms after release() resolved, null on every node a moment later).
    expect(await onLeader(c, 'GET', 'rl:failover')).toBe(bulk(lock.value));
    await extended!.release();
    expect(await onLeader(c, 'GET', 'rl:failover')).toBe('$-1\r\n');
    const next = await contender.acquire(['rl:failover'], 1000);
    await next.release();
  }, 45_000);
});
