/**
 * Unchanged Redis Cluster clients against a sharded raftis cluster of three
 * groups of three nodes (issue 21, phase 1): redis-cli --cluster check,
 * redis-benchmark --cluster, and ioredis Cluster: keys over all slots,
 * pipelines, a transaction with hash tags, and a kill -9 of one group's
 * leader while writes run: the group elects, the client follows MOVED, and
 * every acknowledged write reads back afterwards.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../helpers/cluster.js';
import { call, ShardedCluster } from '../helpers/sharded-cluster.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const run = promisify(execFile);

let sc: ShardedCluster;
const clients: Cluster[] = [];

beforeAll(async () => {
  sc = await ShardedCluster.start({ shards: 3, size: 3 });
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await sc?.destroy();
});

/** Retries an idempotent operation through a leader change (loaded machine). */
async function retrying<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      const msg = (e as Error).message;
      if (attempt >= 5 || !/aborted|Connection is closed|CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections/.test(msg)) throw e;
      await sleep(300);
    }
  }
}

describe('Redis tools on three groups of three', () => {
  it('redis-cli --cluster check sees three masters with two replicas each, every slot covered', async () => {
    sc.dumpLogsOnFailure();
    const n = sc.groups[1]!.nodes[2]!;
    const out = await run('redis-cli', ['--cluster', 'check', `${n.host}:${n.port}`], { timeout: 30_000 }).then(
      (r) => r.stdout,
      (e: { stdout?: string }) => String(e.stdout),
    );
    expect(out).toContain('[OK] All nodes agree about slots configuration.');
    expect(out).toContain('[OK] All 16384 slots covered.');
    expect(out.match(/2 additional replica\(s\)/g)).toHaveLength(3);
    expect(out).not.toContain('[ERR]');
  });

  it('redis-benchmark --cluster runs SET and GET without an error reply', async () => {
    sc.dumpLogsOnFailure();
    const n = sc.groups[0]!.nodes[1]!;
    const { stdout, stderr } = await run('redis-benchmark', ['--cluster', '-h', n.host, '-p', String(n.port), '-t', 'set,get', '-n', '2000', '-c', '8', '-q'], { timeout: 120_000 });
    const out = stdout + stderr;
    expect(out).toMatch(/SET: [\d.]+ requests per second/);
    expect(out).toMatch(/GET: [\d.]+ requests per second/);
    expect(out).not.toMatch(/error|MOVED|CROSSSLOT|CLUSTERDOWN/i);
    // Done: its keys are not part of the next test's counts.
    for (let g = 0; g < 3; g++) await call(await sc.leader(g), 'FLUSHALL');
  }, 180_000);
});

describe('ioredis Cluster on three groups of three', () => {
  it('writes and reads keys over every group, pipelines and a hash-tagged transaction, and rides through a kill -9 of a group leader', async () => {
    sc.dumpLogsOnFailure();
    // Started from one follower of group 2: the client learns every group from it.
    const l2 = await sc.leader(2);
    const seed = sc.groups[2]!.nodes.find((n) => n.id !== l2.id)!;
    const rc = new Cluster([{ host: seed.host, port: seed.port }], {
      clusterRetryStrategy: (times) => (times > 100 ? null : 100),
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      retryDelayOnFailover: 100,
      maxRedirections: 300,
      slotsRefreshTimeout: 2000,
      slotsRefreshInterval: 1000,
      redisOptions: { connectTimeout: 2000 },
    });
    clients.push(rc);
    rc.on('error', () => {});

    const N = 600;
    for (let i = 0; i < N; i += 100) {
      const replies = await retrying(() => Promise.all(Array.from({ length: 100 }, (_, j) => rc.set(`io:${i + j}`, `val-${i + j}`))));
      expect(replies.every((r) => r === 'OK')).toBe(true);
    }
    for (let i = 0; i < N; i += 100) {
      const got = await retrying(() => Promise.all(Array.from({ length: 100 }, (_, j) => rc.get(`io:${i + j}`))));
      expect(got).toEqual(Array.from({ length: 100 }, (_, j) => `val-${i + j}`));
    }
    // The keys are spread over the three groups (each group's leader holds its own).
    const sizes = await Promise.all([0, 1, 2].map(async (g) => (await call(await sc.leader(g), 'DBSIZE')) as number));
    expect(sizes.every((n) => n > N / 6)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(N);
    // {a}…{f}: slots 15495, 3300, 7365, 11298, 15363, 3168: every group.
    expect(new Set(await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map(async (t) => (await call(seed, 'CLUSTER', 'KEYSLOT', t)) as number)))).toEqual(new Set([15495, 3300, 7365, 11298, 15363, 3168]));
    // Pipelines, one per slot (ioredis sends a pipeline to one node), for slots of every group.
    for (const tag of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const pl = await retrying(() => {
        const p = rc.pipeline();
        for (let j = 0; j < 10; j++) p.set(`{${tag}}:${j}`, `${tag}${j}`);
        for (let j = 0; j < 10; j++) p.get(`{${tag}}:${j}`);
        return p.exec();
      });
      expect(pl!.map(([e, v]) => (e === null ? v : e.message))).toEqual([...Array<string>(10).fill('OK'), ...Array.from({ length: 10 }, (_, j) => `${tag}${j}`)]);
    }
    expect(await retrying(() => rc.multi().set('{acct}:a', '10').incrby('{acct}:a', 5).get('{acct}:a').exec())).toEqual([
      [null, 'OK'],
      [null, 15],
      [null, '15'],
    ]);

    // Writes from several workers while group 1's leader is killed.
    const WORKERS = 4;
    const KEYS = 60;
    const lastAcked = new Map<string, number>();
    const attempted = new Map<string, Set<number>>();
    const failures: string[] = [];
    let acks = 0;
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let seq = 0; !stop; seq++) {
        const key = `loop:${w}:${seq % KEYS}`;
        let s = attempted.get(key);
        if (!s) attempted.set(key, (s = new Set()));
        s.add(seq);
        try {
          const r = await rc.set(key, String(seq));
          if (r === 'OK') {
            lastAcked.set(key, seq);
            acks++;
          } else {
            failures.push(`SET ${key}: ${String(r)}`);
          }
        } catch (e) {
          failures.push(`SET ${key}: ${(e as Error).message}`);
          await sleep(50);
        }
      }
    };
    const running = Array.from({ length: WORKERS }, (_, w) => worker(w));
    const waitAcks = async (n: number, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (acks < n) {
        if (Date.now() > deadline) throw new Error(`only ${acks} of ${n} loop writes acknowledged after ${ms} ms; failures: ${failures.slice(0, 5).join('; ')}`);
        await sleep(20);
      }
    };
    const g1 = sc.groups[1]!;
    const oldLeader = await g1.waitForLeader();
    let killedAt = 0;
    try {
      await waitAcks(200, 30_000);
      killedAt = acks;
      await g1.kill9(oldLeader);
      const newLeader = await g1.waitForLeader(20_000, [oldLeader]);
      expect(newLeader).not.toBe(oldLeader);
      await waitAcks(killedAt + 300, 60_000);
    } finally {
      stop = true;
      await Promise.all(running);
    }
    expect(failures).toEqual([]);

    // Every acknowledged write reads back: the value it wrote or a later one its loop sent.
    const wrong: string[] = [];
    const keys = [...attempted.keys()];
    const values = await withTimeout(retrying(() => Promise.all(keys.map((k) => rc.get(k)))), 30_000);
    keys.forEach((k, i) => {
      const v = values[i];
      const acked = lastAcked.get(k);
      if (acked === undefined) return;
      const seq = v === null || v === undefined ? NaN : Number(v);
      if (!(seq >= acked) || !attempted.get(k)!.has(seq)) wrong.push(`${k}: last acknowledged ${acked}, holds ${JSON.stringify(v)}`);
    });
    expect(wrong).toEqual([]);
    const early = await retrying(() => Promise.all(Array.from({ length: N }, (_, j) => rc.get(`io:${j}`))));
    expect(early).toEqual(Array.from({ length: N }, (_, j) => `val-${j}`));
    // Every surviving node shows group 1's new leader as the master of its slots.
    const newLeader = g1.node(await g1.waitForLeader());
    for (let attempt = 0; ; attempt++) {
      const views = await Promise.all(
        sc.nodes.filter((n) => sc.groups[n.group]!.isRunning(n.id)).map(async (n) => (await call(n, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][]),
      );
      const masters = views.map((rows) => rows.find((r) => r[0] === 5461)?.[2][1]);
      if (masters.every((p) => p === newLeader.port)) break;
      if (attempt > 100) throw new Error(`group 1's master as the nodes see it: ${JSON.stringify(masters)}, leader ${newLeader.port}`);
      await sleep(100);
    }

    // With group 1's old leader dead, group 0 still moves an empty slot of group 1 to group 2:
    // the release reaches group 1's new leader, and the client follows the new owner.
    let moving = '';
    let slot = -1;
    for (let i = 0; i < 10_000 && moving === ''; i++) {
      const s = (await call(newLeader, 'CLUSTER', 'KEYSLOT', `mv:${i}`)) as number;
      if (s >= 5461 && s <= 10921 && (await call(newLeader, 'CLUSTER', 'COUNTKEYSINSLOT', s)) === 0) [moving, slot] = [`mv:${i}`, s];
    }
    expect(await sc.toConfig('RAFT.SHARDS', 'ASSIGN', 2, slot)).toBe('OK');
    await sc.waitConverged();
    expect(await retrying(() => rc.set(moving, 'here'))).toBe('OK');
    const l2now = await sc.leader(2);
    expect(await call(l2now, 'GET', moving)).toBe('here');
    expect(await call(newLeader, 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
    rc.disconnect();
  }, 240_000);
});
