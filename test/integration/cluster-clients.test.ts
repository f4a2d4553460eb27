/**
 * Cluster-aware clients against a real 3-node raftis cluster: redis-cli -c
 * follows MOVED from a follower; an ioredis Cluster client discovers the
 * leader from a follower, reads and writes many keys, and rides through a
 * kill -9 of the leader without losing an acknowledged write.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let cluster: TestCluster;
const clients: Cluster[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3 });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.destroy();
});

function dumpLogsOnFailure(): void {
  onTestFailed(() => {
    for (const n of cluster.nodes) console.error(`----- node ${n.id} (${n.host}:${n.port}) log tail -----\n${cluster.logs(n.id).slice(-5000)}`);
  });
}

async function cli(id: number, ...args: string[]): Promise<string> {
  const n = cluster.node(id);
  const { stdout } = await run('redis-cli', ['-h', n.host, '-p', String(n.port), ...args], { timeout: 10_000 });
  return stdout.trim();
}

/**
 * redis-cli -c, run again (bounded) while the cluster answers CLUSTERDOWN or
 * TRYAGAIN, which redis-cli does not retry: on a loaded machine an election
 * may be under way.
 */
async function cliC(id: number, ...args: string[]): Promise<string> {
  let out = '';
  for (let attempt = 0; attempt < 30; attempt++) {
    out = await cli(id, '-c', ...args);
    if (!/^(CLUSTERDOWN|TRYAGAIN) /.test(out)) return out;
    await sleep(200);
  }
  return out;
}

/** Retries an idempotent operation of the ioredis client through a leader change (loaded machine). */
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

describe('redis-cli -c', () => {
  it('follows MOVED from a follower for a write and for a read through another follower', async () => {
    dumpLogsOnFailure();
    // Without -c a follower's redirect is shown as is: MOVED <slot> <leader address>.
    let plain = '';
    let leaderAddr = '';
    for (let attempt = 0; attempt < 10; attempt++) {
      const leader = await cluster.waitForLeader();
      const l = cluster.node(leader);
      leaderAddr = `${l.host}:${l.port}`;
      plain = await cli(cluster.nodes.find((n) => n.id !== leader)!.id, 'GET', 'cli:k');
      if (plain.startsWith('MOVED ')) break;
      await sleep(200);
    }
    expect(plain).toMatch(/^MOVED \d+ \S+$/);
    expect(plain.split(' ')[2]).toBe(leaderAddr);

    const leader = await cluster.waitForLeader();
    const [f1, f2] = cluster.nodes.filter((n) => n.id !== leader).map((n) => n.id);
    expect(await cliC(f1!, 'SET', 'cli:k', 'v1')).toBe('OK');
    expect(await cliC(f2!, 'GET', 'cli:k')).toBe('v1');
    // A hash-tagged key in another slot, and an overwrite.
    expect(await cliC(f2!, 'SET', '{user1000}.following', 'a')).toBe('OK');
    expect(await cliC(f1!, 'SET', 'cli:k', 'v2')).toBe('OK');
    expect(await cliC(f1!, 'GET', '{user1000}.following')).toBe('a');
    expect(await cliC(f2!, 'GET', 'cli:k')).toBe('v2');
    expect(await cliC(leader, 'GET', 'cli:k')).toBe('v2');
  });
});

describe('ioredis Cluster', () => {
  it('reads and writes many keys, then rides through a kill -9 of the leader without losing an acknowledged write', async () => {
    dumpLogsOnFailure();
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader)!;
    // Started from one follower only: the client must discover the leader itself.
    const rc = new Cluster([{ host: follower.host, port: follower.port }], {
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

    // Many keys over many slots, concurrently (each operation idempotent, so it may be
    // retried should a loaded machine see an election meanwhile).
    const N = 1000;
    for (let i = 0; i < N; i += 100) {
      const replies = await retrying(() => Promise.all(Array.from({ length: 100 }, (_, j) => rc.set(`io:${i + j}`, `val-${i + j}`))));
      expect(replies.every((r) => r === 'OK')).toBe(true);
    }
    for (let i = 0; i < N; i += 100) {
      const got = await retrying(() => Promise.all(Array.from({ length: 100 }, (_, j) => rc.get(`io:${i + j}`))));
      expect(got).toEqual(Array.from({ length: 100 }, (_, j) => `val-${i + j}`));
    }
    expect(await retrying(() => rc.get('io:missing'))).toBeNull();
    // Multi-key commands, a pipeline and a transaction within one slot (hash tag).
    expect(await retrying(() => rc.mset('{tag}:a', '1', '{tag}:b', '2'))).toBe('OK');
    expect(await retrying(() => rc.mget('{tag}:a', '{tag}:b', '{tag}:c'))).toEqual(['1', '2', null]);
    const pl = await retrying(() => rc.pipeline().set('{tag}:n', '5').get('{tag}:n').strlen('{tag}:a').exec());
    expect(pl).toEqual([
      [null, 'OK'],
      [null, '5'],
      [null, 1],
    ]);
    expect(await retrying(() => rc.multi().set('{tag}:m', 'x').get('{tag}:m').exec())).toEqual([
      [null, 'OK'],
      [null, 'x'],
    ]);

    // A loop of writes per worker, each worker on its own keys, one write in flight at a time.
    const WORKERS = 4;
    const KEYS = 50;
    const lastAcked = new Map<string, number>(); // key → highest acknowledged sequence number
    const attempted = new Map<string, Set<number>>(); // key → every sequence number sent
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
    let killedAt = 0;
    try {
      await waitAcks(300, 20_000);
      killedAt = acks;
      await cluster.kill9(leader);
      const newLeader = await cluster.waitForLeader(15_000, [leader]);
      expect(newLeader).not.toBe(leader);
      await waitAcks(killedAt + 300, 40_000);
    } finally {
      stop = true;
      await Promise.all(running);
    }
    // The client rode through: no write was given up on.
    expect(failures).toEqual([]);
    expect(acks).toBeGreaterThanOrEqual(killedAt + 300);

    // Every acknowledged write is readable: the key holds that value or a later one the same loop sent.
    const wrong: string[] = [];
    const keys = [...attempted.keys()];
    const values = await withTimeout(Promise.all(keys.map((k) => rc.get(k))), 20_000);
    keys.forEach((k, i) => {
      const v = values[i];
      const acked = lastAcked.get(k);
      if (acked === undefined) return;
      const seq = v === null || v === undefined ? NaN : Number(v);
      if (!(seq >= acked) || !attempted.get(k)!.has(seq)) wrong.push(`${k}: last acknowledged ${acked}, holds ${JSON.stringify(v)}`);
    });
    expect(wrong).toEqual([]);
    // And the keys written before the failover are still there.
    const early = await Promise.all(Array.from({ length: 100 }, (_, j) => rc.get(`io:${j * 10}`)));
    expect(early).toEqual(Array.from({ length: 100 }, (_, j) => `val-${j * 10}`));
    rc.disconnect();
  });
});
