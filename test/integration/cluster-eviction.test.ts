/**
 * maxmemory on a 3-node cluster: the leader chooses victims and replicates
 * its choice, so under every policy the nodes end with the same data
 * (RAFT.DIGEST), the same dataset size within the limit (INFO
 * used_memory_dataset, computed from the data on each node) and the same
 * evicted_keys; volatile-* evicts only keys with a TTL; allkeys-lru keeps
 * recently read keys more often than untouched ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { converged, sleep } from '../helpers/cluster-ops.js';
import type { RawClient } from '../helpers/raw-client.js';

let cluster: TestCluster | undefined;
beforeAll(async () => {
  cluster = await TestCluster.start();
}, 60_000);
afterAll(async () => {
  await cluster?.destroy();
});

const field = (info: string, name: string): number => {
  const line = info.split('\r\n').find((l) => l.startsWith(`${name}:`));
  if (line === undefined) throw new Error(`no ${name} in INFO`);
  return Number(line.slice(name.length + 1));
};

interface NodeState {
  digest: string;
  used: number;
  evicted: number;
}

/** Waits until every node has applied the same index; then each one's digest, dataset size and evicted_keys. */
async function nodeStates(c: TestCluster, timeoutMs = 20_000): Promise<NodeState[]> {
  return converged(c, undefined, timeoutMs, async (cl: RawClient): Promise<NodeState> => {
    const info = await cl.call('INFO');
    return { digest: await cl.call('RAFT.DIGEST'), used: field(info, 'used_memory_dataset'), evicted: field(info, 'evicted_keys') };
  });
}

const VALUE = 'x'.repeat(200);
const HOT = 100;
const COLD = 100;
const PERSISTENT = 30;
const FILL = 180;

async function used(cl: RawClient): Promise<number> {
  return field(await cl.call('INFO', 'memory'), 'used_memory_dataset');
}

async function countExisting(cl: RawClient, prefix: string, n: number): Promise<number> {
  let left = 0;
  for (let i = 0; i < n; i++) left += Number((await cl.call('EXISTS', `${prefix}${i}`)).slice(1, -2));
  return left;
}

describe('eviction on a cluster', () => {
  it.each(['allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl'])(
    '%s: the same keys evicted on every node, within maxmemory',
    async (policy) => {
      const c = cluster!;
      const leader = await c.waitForSettledLeader();
      const cl = await c.client(leader);
      try {
        expect(await cl.call('FLUSHALL')).toBe('+OK\r\n');
        expect(await cl.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', policy)).toBe('+OK\r\n');
        const before = (await nodeStates(c)).map((s) => s.evicted);
        const volatile = policy.startsWith('volatile-');
        const ttl = (i: number): string[] => (volatile ? ['EX', String(10_000 + i)] : []);
        for (let i = 0; i < PERSISTENT; i++) await cl.call('SET', `p:${i}`, VALUE);
        for (let i = 0; i < HOT; i++) await cl.call('SET', `h:${i}`, VALUE, ...ttl(i));
        for (let i = 0; i < COLD; i++) await cl.call('SET', `c:${i}`, VALUE, ...ttl(i));
        // The hot keys are read (LRU: a later clock, which moves every 100 ms; LFU: a higher counter).
        await sleep(400);
        for (let r = 0; r < 3; r++) for (let i = 0; i < HOT; i++) await cl.call('GET', `h:${i}`);
        await sleep(400);
        const limit = (await used(cl)) + 20 * 1024;
        expect(await cl.call('CONFIG', 'SET', 'maxmemory', String(limit))).toBe('+OK\r\n');
        let ooms = 0;
        for (let i = 0; i < FILL; i++) {
          const r = await cl.call('SET', `n:${i}`, VALUE, ...ttl(FILL + i));
          if (r.startsWith('-OOM')) ooms++;
        }
        expect(ooms).toBe(0);
        const states = await nodeStates(c);
        for (const s of states) {
          expect(s.digest).toBe(states[0]!.digest);
          expect(s.used).toBe(states[0]!.used);
          expect(s.evicted).toBe(states[0]!.evicted);
          // One write (a key of ~300 bytes) may go past the limit before the next one evicts.
          expect(s.used).toBeLessThanOrEqual(limit + 1024);
        }
        states.forEach((s, i) => expect(s.evicted).toBeGreaterThan(before[i]!));
        if (volatile) expect(await countExisting(cl, 'p:', PERSISTENT)).toBe(PERSISTENT);
        if (policy === 'allkeys-lru' || policy === 'allkeys-lfu') {
          const hot = await countExisting(cl, 'h:', HOT);
          const cold = await countExisting(cl, 'c:', COLD);
          // Statistical (sampling 5 keys at a time): the read keys survive more often, by a wide margin in practice.
          expect(hot).toBeGreaterThan(cold);
        }
      } finally {
        await cl.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction');
        cl.close();
      }
    },
    120_000,
  );

  it('allkeys-random over several databases: keys of every database are evicted, the same on every node', async () => {
    const c = cluster!;
    const leader = await c.waitForSettledLeader();
    const cl = await c.client(leader);
    try {
      expect(await cl.call('FLUSHALL')).toBe('+OK\r\n');
      expect(await cl.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'allkeys-random')).toBe('+OK\r\n');
      for (const db of ['0', '3']) {
        expect(await cl.call('SELECT', db)).toBe('+OK\r\n');
        for (let i = 0; i < 100; i++) await cl.call('SET', `d${db}:${i}`, VALUE);
      }
      const limit = (await used(cl)) + 4 * 1024;
      expect(await cl.call('CONFIG', 'SET', 'maxmemory', String(limit))).toBe('+OK\r\n');
      expect(await cl.call('SELECT', '5')).toBe('+OK\r\n');
      for (let i = 0; i < 120; i++) expect(await cl.call('SET', `d5:${i}`, VALUE)).toBe('+OK\r\n');
      const states = await nodeStates(c);
      for (const s of states) {
        expect(s.digest).toBe(states[0]!.digest);
        expect(s.used).toBe(states[0]!.used);
        expect(s.used).toBeLessThanOrEqual(limit + 1024);
      }
      const sizes: number[] = [];
      for (const db of ['0', '3']) {
        await cl.call('SELECT', db);
        sizes.push(Number((await cl.call('DBSIZE')).slice(1, -2)));
      }
      // 120 keys of ~300 bytes went into db 5 with room for ~13: most came out of dbs 0 and 3, some of each.
      expect(sizes[0]).toBeLessThan(100);
      expect(sizes[1]).toBeLessThan(100);
    } finally {
      await cl.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction');
      await cl.call('SELECT', '0');
      cl.close();
    }
  }, 120_000);

  it('noeviction: denyoom writes get -OOM on the leader, nothing is evicted', async () => {
    const c = cluster!;
    const leader = await c.waitForSettledLeader();
    const cl = await c.client(leader);
    try {
      await cl.call('FLUSHALL');
      for (let i = 0; i < 20; i++) await cl.call('SET', `k:${i}`, VALUE);
      expect(await cl.call('CONFIG', 'SET', 'maxmemory', String((await used(cl)) - 100), 'maxmemory-policy', 'noeviction')).toBe('+OK\r\n');
      const before = await nodeStates(c);
      expect(await cl.call('SET', 'more', VALUE)).toBe("-OOM command not allowed when used memory > 'maxmemory'.\r\n");
      expect(await cl.call('DEL', 'k:0')).toBe(':1\r\n');
      const after = await nodeStates(c);
      after.forEach((s, i) => {
        expect(s.digest).toBe(after[0]!.digest);
        expect(s.evicted).toBe(before[i]!.evicted);
      });
    } finally {
      await cl.call('CONFIG', 'SET', 'maxmemory', '0');
      cl.close();
    }
  });

  it('reads alone evict on the leader (allkeys-lru): the same keys on every node, within maxmemory', async () => {
    const c = cluster!;
    const leader = await c.waitForSettledLeader();
    const cl = await c.client(leader);
    try {
      await cl.call('FLUSHALL');
      expect(await cl.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'allkeys-lru')).toBe('+OK\r\n');
      for (let i = 0; i < 100; i++) await cl.call('SET', `r:${i}`, VALUE);
      const before = await nodeStates(c);
      const limit = (await used(cl)) - 100 * 150;
      expect(await cl.call('CONFIG', 'SET', 'maxmemory', String(limit))).toBe('+OK\r\n');
      // Only reads from here on: Redis's processCommand evicts before any command.
      for (let i = 0; i < 20; i++) await cl.call('GET', `r:${i}`);
      const states = await nodeStates(c);
      for (const s of states) {
        expect(s.digest).toBe(states[0]!.digest);
        expect(s.used).toBe(states[0]!.used);
        expect(s.used).toBeLessThanOrEqual(limit);
      }
      states.forEach((s, i) => expect(s.evicted).toBeGreaterThan(before[i]!.evicted));
    } finally {
      await cl.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction');
      cl.close();
    }
  });

  it('CONFIG SET maxmemory below the dataset: the leader evicts in the background, no further command, the same on every node', async () => {
    const c = cluster!;
    const leader = await c.waitForSettledLeader();
    const cl = await c.client(leader);
    const followers: RawClient[] = [];
    try {
      await cl.call('FLUSHALL');
      expect(await cl.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'allkeys-lru')).toBe('+OK\r\n');
      for (let i = 0; i < 2000; i += 100) {
        const args: string[] = [];
        for (let j = i; j < i + 100; j++) args.push(`b:${String(j).padStart(5, '0')}`, VALUE);
        expect(await cl.call('MSET', ...args)).toBe('+OK\r\n');
      }
      const before = await nodeStates(c);
      const limit = Math.floor(before[0]!.used / 2);
      expect(await cl.call('CONFIG', 'SET', 'maxmemory', String(limit))).toBe('+OK\r\n');
      // From here nothing goes to the leader: the followers are watched (they never evict by themselves).
      for (const n of c.nodes) if (n.id !== leader) followers.push(await c.client(n.id));
      const deadline = Date.now() + 30_000;
      let sizes: number[] = [];
      for (;;) {
        sizes = [];
        for (const f of followers) sizes.push(await used(f));
        if (sizes.every((u) => u <= limit) || Date.now() > deadline) break;
        await sleep(100);
      }
      expect(sizes.every((u) => u <= limit), `follower datasets ${sizes.join(', ')} over ${limit}`).toBe(true);
      const changes: number[] = [];
      for (const f of followers) changes.push(field(await f.call('INFO', 'persistence'), 'rdb_changes_since_last_save'));
      const states = await nodeStates(c);
      for (const s of states) {
        expect(s.digest).toBe(states[0]!.digest);
        expect(s.used).toBe(states[0]!.used);
        expect(s.used).toBeLessThanOrEqual(limit);
        expect(s.evicted).toBe(states[0]!.evicted);
      }
      states.forEach((s, i) => expect(s.evicted).toBeGreaterThan(before[i]!.evicted));
      // The changes since the last save are counted at apply time: the same on the leader as on the followers.
      const leaderChanges = field(await cl.call('INFO', 'persistence'), 'rdb_changes_since_last_save');
      for (const n of changes) expect(n).toBe(leaderChanges);
    } finally {
      for (const f of followers) f.close();
      await cl.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction');
      cl.close();
    }
  }, 120_000);

  it('a script without a shebang proposed over maxmemory gets -OOM at its first denyoom call on every node', async () => {
    const c = cluster!;
    const leader = await c.waitForSettledLeader();
    const cl = await c.client(leader);
    try {
      await cl.call('FLUSHALL');
      for (let i = 0; i < 20; i++) await cl.call('SET', `k:${i}`, VALUE);
      expect(await cl.call('CONFIG', 'SET', 'maxmemory', String((await used(cl)) - 100), 'maxmemory-policy', 'noeviction')).toBe('+OK\r\n');
      expect(await cl.call('EVAL', "redis.call('del', 'nokey'); return redis.call('set', 's', 'v')", '0')).toBe('+OK\r\n');
      expect(await cl.call('EVAL', "return redis.call('set', 's2', 'v')", '0')).toMatch(/^-OOM command not allowed when used memory > 'maxmemory'\. script: /);
      expect(await cl.call('EVAL', "#!lua\nreturn redis.call('set', 's3', 'v')", '0')).toBe("-OOM command not allowed when used memory > 'maxmemory'.\r\n");
      const states = await nodeStates(c);
      for (const s of states) expect(s.digest).toBe(states[0]!.digest);
      for (const n of c.nodes) {
        const nc = await c.client(n.id);
        try {
          await nc.call('READONLY');
          expect(await nc.call('MGET', 's', 's2', 's3')).toBe('*3\r\n$1\r\nv\r\n$-1\r\n$-1\r\n');
        } finally {
          nc.close();
        }
      }
    } finally {
      await cl.call('CONFIG', 'SET', 'maxmemory', '0');
      cl.close();
    }
  });
});

describe('eviction with --follower-writes proxy', () => {
  it("a follower's forwarded write gets the leader's -OOM, a forwarded transaction holding one EXECABORT", async () => {
    const proxied = await TestCluster.start({ size: 3, args: ['--follower-writes', 'proxy'] });
    try {
      const leader = await proxied.waitForSettledLeader();
      const follower = proxied.nodes.find((n) => n.id !== leader)!.id;
      const cl = await proxied.client(follower);
      try {
        expect(await cl.call('SET', 'k', VALUE)).toBe('+OK\r\n');
        expect(await cl.call('CONFIG', 'SET', 'maxmemory', '1', 'maxmemory-policy', 'noeviction')).toBe('+OK\r\n');
        expect(await cl.call('SET', 'x', 'y')).toBe("-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        expect(await cl.call('MULTI')).toBe('+OK\r\n');
        expect(await cl.call('SET', 'x', 'y')).toBe('+QUEUED\r\n');
        expect(await cl.call('EXEC')).toBe("-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n");
        expect(await cl.call('DEL', 'k')).toBe(':1\r\n');
        expect(await cl.call('CONFIG', 'SET', 'maxmemory', '0')).toBe('+OK\r\n');
      } finally {
        cl.close();
      }
    } finally {
      await proxied.destroy();
    }
  }, 60_000);
});
