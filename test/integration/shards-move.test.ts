/**
 * Moving slots that hold keys between groups (issue 21, phase 2): two
 * groups of three nodes, then a third group added empty. RAFT.SHARDS MOVE
 * ships keys of every type with their TTLs; ranges move back and forth while
 * an ioredis Cluster client keeps writing (following MOVED and ASK, retrying
 * TRYAGAIN); afterwards every acknowledged write is there exactly once, no
 * key is in two groups, each group's replicas have one digest; REBALANCE
 * spreads the slots onto the new empty group.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHashSlot } from '../../src/commands/routing.js';
import { TestCluster } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';
import { ShardedCluster } from '../helpers/sharded-cluster.js';

const run = promisify(execFile);

let sc: ShardedCluster;
const clients: Cluster[] = [];

beforeAll(async () => {
  sc = await ShardedCluster.start({ shards: 2, size: 3 });
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await sc?.destroy();
});

/** The group that owns a slot, from group 0's map. */
async function ownerOf(slot: number): Promise<number> {
  const map = JSON.parse(String(await sc.toConfig('RAFT.SHARDS', 'MAP'))) as { slots: [number, number, number][]; moving?: unknown[] };
  for (const [from, to, g] of map.slots) if (slot >= from && slot <= to) return g;
  return -1;
}

/** Every key of every group (from each group's leader), and the keys each group holds. */
async function keysByGroup(): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let g = 0; g < sc.groups.length; g++) out.set(g, ((await sc.call(await sc.leader(g), 'KEYS', '*')) as string[]).sort());
  return out;
}

/** Each group's running replicas have applied everything their leader acknowledged and have one digest. */
async function digestsAgree(): Promise<void> {
  for (let g = 0; g < sc.groups.length; g++) {
    const grp = sc.groups[g]!;
    await until(
      `group ${g}'s replicas to have one RAFT.DIGEST`,
      async () => {
        const ds = await Promise.all(grp.nodes.filter((n) => grp.isRunning(n.id)).map((n) => sc.call(n, 'RAFT.DIGEST').catch(() => 'unreachable')));
        return new Set(ds).size === 1;
      },
      30_000,
    );
  }
}

describe('RAFT.SHARDS MOVE', () => {
  it('moves a slot with keys of every type, their TTLs and values, from one group to the other', async () => {
    sc.dumpLogsOnFailure();
    const tag = '{typed}';
    const slot = keyHashSlot(tag);
    const from = await ownerOf(slot);
    const to = 1 - from;
    const src = await sc.leader(from);
    const k = (name: string): string => `${tag}:${name}`;
    await sc.call(src, 'SET', k('str'), 'hello', 'PX', '600000');
    await sc.call(src, 'SET', k('plain'), 'x');
    await sc.call(src, 'HSET', k('hash'), 'a', '1', 'b', '2');
    await sc.call(src, 'RPUSH', k('list'), 'a', 'b', 'c');
    await sc.call(src, 'SADD', k('set'), 'x', 'y');
    await sc.call(src, 'ZADD', k('zset'), '1', 'one', '2', 'two');
    await sc.call(src, 'XADD', k('stream'), '1-1', 'f', 'v');
    await sc.call(src, 'PEXPIREAT', k('hash'), String(Date.now() + 3_600_000));
    const names = ['str', 'plain', 'hash', 'list', 'set', 'zset', 'stream'];
    const dumps = await Promise.all(names.map((n) => sc.call(src, 'DUMP', k(n))));
    const expiries = await Promise.all(names.map((n) => sc.call(src, 'PEXPIRETIME', k(n))));
    expect(await sc.call(src, 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(7);

    expect(await sc.toConfig('RAFT.SHARDS', 'MOVE', to, slot)).toBe('OK');
    expect(await ownerOf(slot)).toBe(to);
    await sc.waitConverged();
    const dst = await sc.leader(to);
    expect(await sc.call(src, 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
    expect(await sc.call(dst, 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(7);
    expect(await Promise.all(names.map((n) => sc.call(dst, 'DUMP', k(n))))).toEqual(dumps);
    expect(await Promise.all(names.map((n) => sc.call(dst, 'PEXPIRETIME', k(n))))).toEqual(expiries);
    expect(await Promise.all(names.map((n) => sc.call(dst, 'TYPE', k(n))))).toEqual(['string', 'string', 'hash', 'list', 'set', 'zset', 'stream']);
    // The source now redirects for the slot.
    await expect(sc.call(src, 'GET', k('plain'))).rejects.toThrow(`MOVED ${slot} ${dst.host}:${dst.port}`);
    const status = String(await sc.toConfig('RAFT.SHARDS', 'STATUS'));
    expect(status).toContain('moving_slots:0');
    expect(status).toContain('frozen_keys:0');
    await digestsAgree();
  }, 120_000);

  it('refuses what it cannot do: an unknown group, a node outside group 0', async () => {
    await expect(sc.toConfig('RAFT.SHARDS', 'MOVE', 9, '0-10')).rejects.toThrow('ERR no group 9: add it first (RAFT.SHARDS ADDGROUP)');
    await expect(sc.call(await sc.leader(1), 'RAFT.SHARDS', 'MOVE', 0, '0-10')).rejects.toThrow(/^ERR the slot map is changed on group 0/);
  });

  it('moves ranges back and forth under a concurrent ioredis Cluster writer: every acknowledged write is there exactly once', async () => {
    sc.dumpLogsOnFailure();
    const entry = sc.groups[1]!.nodes[1]!;
    const client = new Cluster([{ host: entry.host, port: entry.port }], {
      maxRedirections: 200,
      retryDelayOnTryAgain: 20,
      retryDelayOnMoved: 5,
      retryDelayOnClusterDown: 100,
      redisOptions: { maxRetriesPerRequest: 2 },
      slotsRefreshTimeout: 2000,
    });
    clients.push(client);
    const LISTS = 120;
    const acked: number[][] = Array.from({ length: LISTS }, () => []);
    const maybe: Set<number>[] = Array.from({ length: LISTS }, () => new Set());
    const lastSet: (string | undefined)[] = new Array(LISTS).fill(undefined);
    const errors: string[] = [];
    let stop = false;
    let rounds = 0;
    const writer = (async () => {
      for (let r = 0; !stop && r < 100_000; r++) {
        await Promise.all(
          Array.from({ length: LISTS }, async (_, i) => {
            try {
              await client.rpush(`l:${i}`, String(r));
              acked[i]!.push(r);
            } catch (e) {
              maybe[i]!.add(r);
              errors.push((e as Error).message);
            }
            try {
              await client.set(`s:${i}`, `v${r}`, 'PX', 600_000);
              lastSet[i] = `v${r}`;
            } catch (e) {
              errors.push((e as Error).message);
            }
          }),
        );
        rounds = r + 1;
      }
    })();
    // The keys' slots are all over: move a third of the slot space one way and back, then a range across both groups.
    await until('the writer to have written a few rounds', async () => rounds >= 2, 30_000);
    const moves: [number, string][] = [
      [1, '0-5460'],
      [0, '0-5460'],
      [0, '10000-12000'],
      [1, '4000-12000'],
    ];
    for (const [g, range] of moves) {
      const before = rounds;
      expect(await sc.toConfig('RAFT.SHARDS', 'MOVE', g, range)).toBe('OK');
      // Writes went on during the move, and on after it.
      await until(`writes after moving ${range} to group ${g}`, async () => rounds > before, 60_000);
    }
    stop = true;
    await writer;
    await sc.waitConverged();

    // No error that a client could not retry: every failure was a TRYAGAIN/ASK that ran out of retries, if any.
    expect(errors.filter((m) => !/TRYAGAIN|Too many Cluster redirections/.test(m))).toEqual([]);
    for (let i = 0; i < LISTS; i++) {
      const got = (await client.lrange(`l:${i}`, 0, -1)).map(Number);
      // Exactly once and in order: every acknowledged push, no other but the unacknowledged ones.
      expect(new Set(got).size, `l:${i} has duplicates`).toBe(got.length);
      for (const v of acked[i]!) expect(got, `l:${i} lost ${v}`).toContain(v);
      for (const v of got) expect(acked[i]!.includes(v) || maybe[i]!.has(v), `l:${i} has ${v}, never written`).toBe(true);
      expect([...got].sort((a, b) => a - b)).toEqual(got);
      if (lastSet[i] !== undefined) {
        expect(await client.get(`s:${i}`)).toMatch(/^v\d+$/);
        expect(Number((await client.get(`s:${i}`))!.slice(1))).toBeGreaterThanOrEqual(Number(lastSet[i]!.slice(1)));
        expect(await client.pttl(`s:${i}`)).toBeGreaterThan(0);
      }
    }
    // Each key in exactly one group: the one that owns its slot.
    const byGroup = await keysByGroup();
    const seen = new Map<string, number>();
    for (const [g, keys] of byGroup) {
      for (const key of keys) {
        expect(seen.has(key), `${key} is in groups ${seen.get(key)} and ${g}`).toBe(false);
        seen.set(key, g);
        expect(await ownerOf(keyHashSlot(key)), `${key} is in group ${g}`).toBe(g);
      }
    }
    for (let i = 0; i < LISTS; i++) expect(seen.has(`l:${i}`)).toBe(true);
    await digestsAgree();
  }, 300_000);
});

describe('a move through failures', () => {
  it("ends with every key once when the source group's leader (also group 0's, the driver) is killed -9 while keys are frozen", async () => {
    sc.dumpLogsOnFailure();
    // Slots 0-999 are group 0's (after the moves above): they move to group 1.
    for (let s = 0; s <= 999; s += 333) expect(await ownerOf(s)).toBe(0);
    const values = new Map<string, string>();
    for (let i = 0; values.size < 1500 && i < 1_000_000; i++) {
      const k = `f${i}`;
      if (keyHashSlot(k) <= 999) values.set(k, `v${i}-${'x'.repeat(200)}`);
    }
    const l0 = await sc.leader(0);
    for (const [k, v] of values) await sc.call(l0, 'SET', k, v);
    const entry = sc.groups[1]!.nodes[0]!;
    const client = new Cluster([{ host: entry.host, port: entry.port }], {
      maxRedirections: 200,
      retryDelayOnTryAgain: 20,
      retryDelayOnClusterDown: 100,
      redisOptions: { maxRetriesPerRequest: 0, connectTimeout: 1000 },
    });
    clients.push(client);
    // A writer on 30 keys of the moving slots: SET of increasing values (idempotent), acknowledged or not.
    const W = [...values.keys()].slice(0, 30);
    const acked = new Map<string, number>();
    const tried = new Map<string, number>();
    let stop = false;
    const writer = (async () => {
      for (let r = 1; !stop && r < 100_000; r++) {
        await Promise.all(
          W.map(async (k) => {
            tried.set(k, r);
            try {
              await client.set(k, `w${r}`);
              acked.set(k, r);
            } catch {
              // not acknowledged: either outcome is allowed
            }
          }),
        );
        await new Promise((res) => setTimeout(res, 10));
      }
    })();

    // Group 1's leader paused: the source's IMPORT calls hang, so keys stay frozen on group 0.
    const g1 = sc.groups[1]!;
    const paused = await g1.waitForLeader();
    g1.pause(paused);
    const move = sc.toConfig('RAFT.SHARDS', 'MOVE', 1, '0-999').then(
      (r) => String(r),
      (e: Error) => e.message,
    );
    await until('keys frozen on group 0', async () => /frozen_keys:[1-9]/.test(String(await sc.call(l0, 'RAFT.SHARDS', 'STATUS'))), 30_000);
    await sc.groups[0]!.kill9(l0.id);
    g1.resume(paused);
    // The move's client lost its connection (or got an error); the new leader of group 0 resumes the move.
    expect(await move).not.toBe('OK');
    await until(
      'slots 0-999 owned by group 1 and nothing moving',
      async () => {
        try {
          const map = JSON.parse(String(await sc.toConfig('RAFT.SHARDS', 'MAP'))) as { slots: [number, number, number][]; moving?: unknown[] };
          return map.moving === undefined && map.slots.some(([from, to, g]) => from <= 0 && to >= 999 && g === 1);
        } catch {
          return false;
        }
      },
      120_000,
    );
    stop = true;
    await writer;
    await sc.groups[0]!.startNode(l0.id);
    await sc.waitConverged(60_000);

    const l1 = await sc.leader(1);
    const n0 = await sc.leader(0);
    for (const [k, v] of values) {
      if (W.includes(k)) continue;
      expect(await sc.call(l1, 'GET', k), k).toBe(v);
    }
    for (const k of W) {
      const got = String(await sc.call(l1, 'GET', k));
      const n = got.startsWith('w') ? Number(got.slice(1)) : 0;
      expect(n, `${k} = ${got.slice(0, 20)}`).toBeGreaterThanOrEqual(acked.get(k) ?? 0);
      expect(n).toBeLessThanOrEqual(tried.get(k) ?? 0);
    }
    for (let s = 0; s <= 999; s++) expect(await sc.call(n0, 'CLUSTER', 'COUNTKEYSINSLOT', s)).toBe(0);
    expect(String(await sc.call(n0, 'RAFT.SHARDS', 'STATUS'))).toContain('frozen_keys:0');
    await digestsAgree();
  }, 300_000);
});

describe('RAFT.SHARDS REBALANCE', () => {
  it('spreads the slots evenly onto a group added empty, with their keys', async () => {
    sc.dumpLogsOnFailure();
    const keysBefore = [...(await keysByGroup()).values()].flat().sort();
    expect(keysBefore.length).toBeGreaterThan(100);
    const seeds = sc.groups[0]!.nodes.map((n) => `${n.host}:${n.port}`).join(',');
    const g2 = await TestCluster.start({ size: 1, multiAddr: false, args: ['--group', '2', '--shard-seeds', seeds] });
    sc.groups.push(g2);
    expect(await sc.toConfig('RAFT.SHARDS', 'ADDGROUP', 2, ...g2.nodes.map((n) => `${n.id}@${n.host}:${n.port}@${n.clusterPort}`))).toBe('OK');
    await sc.waitConverged();
    expect(await sc.toConfig('RAFT.SHARDS', 'REBALANCE')).toBe('OK');
    await sc.waitConverged();
    const map = JSON.parse(String(await sc.toConfig('RAFT.SHARDS', 'MAP'))) as { slots: [number, number, number][] };
    const counts = [0, 0, 0];
    for (const [from, to, g] of map.slots) counts[g]! += to - from + 1;
    expect(counts).toEqual([5462, 5461, 5461]);
    const after = await keysByGroup();
    expect(after.get(2)!.length).toBeGreaterThan(0);
    expect([...after.values()].flat().sort()).toEqual(keysBefore);
    for (const [g, keys] of after) for (const key of keys) expect(await ownerOf(keyHashSlot(key))).toBe(g);
    // Nothing left to do: a second REBALANCE changes nothing.
    const epoch = map as unknown as { epoch: number };
    expect(await sc.toConfig('RAFT.SHARDS', 'REBALANCE')).toBe('OK');
    expect((JSON.parse(String(await sc.toConfig('RAFT.SHARDS', 'MAP'))) as { epoch: number }).epoch).toBe(epoch.epoch);
    await digestsAgree();
  }, 240_000);
});

/** Slots per group in group 0's map. */
async function slotCounts(): Promise<number[]> {
  const map = JSON.parse(String(await sc.toConfig('RAFT.SHARDS', 'MAP'))) as { slots: [number, number, number][] };
  const counts = sc.groups.map(() => 0);
  for (const [from, to, g] of map.slots) counts[g]! += to - from + 1;
  return counts;
}

async function cliCluster(...args: string[]): Promise<string> {
  const r = await run('redis-cli', ['--cluster', ...args], { timeout: 240_000 }).then(
    (x) => ({ out: x.stdout + x.stderr, code: 0 }),
    (e: { stdout?: string; stderr?: string; code?: number }) => ({ out: `${e.stdout ?? ''}${e.stderr ?? ''}`, code: e.code ?? -1 }),
  );
  if (r.code !== 0) throw new Error(`redis-cli --cluster ${args.join(' ')} exited with ${r.code}:\n${r.out}`);
  return r.out;
}

describe('redis-cli --cluster reshard and rebalance', () => {
  it('reshard moves slots with their keys through CLUSTER SETSLOT, GETKEYSINSLOT and MIGRATE; rebalance evens them out', async () => {
    sc.dumpLogsOnFailure();
    // From slot 0's group to another; redis-cli takes the source's lowest slots: keys there, so that MIGRATE has something to ship.
    const from = await ownerOf(0);
    const to = from === 0 ? 1 : 0;
    for (let s = 0; s < 40; s++) expect(await ownerOf(s)).toBe(from);
    const low = [0, 39];
    const l0 = await sc.leader(from);
    const l1 = await sc.leader(to);
    const values = new Map<string, string>();
    for (let i = 0; values.size < 120 && i < 1_000_000; i++) {
      const k = `r${i}`;
      const s = keyHashSlot(k);
      if (s >= low[0]! && s <= low[1]!) values.set(k, `value-${i}`);
    }
    for (const [k, v] of values) await sc.call(l0, 'SET', k, v);
    const keysBefore = [...(await keysByGroup()).values()].flat().sort();
    const before = await slotCounts();
    const id0 = String(await sc.call(l0, 'CLUSTER', 'MYID'));
    const id1 = String(await sc.call(l1, 'CLUSTER', 'MYID'));
    const out = await cliCluster('reshard', `${l1.host}:${l1.port}`, '--cluster-from', id0, '--cluster-to', id1, '--cluster-slots', '40', '--cluster-yes');
    expect(out).toContain('Moving slot');
    expect(out).not.toContain('[ERR]');
    await sc.waitConverged();
    const after = await slotCounts();
    expect(after[from]).toBe(before[from]! - 40);
    expect(after[to]).toBe(before[to]! + 40);
    const moved = await keysByGroup();
    expect([...moved.values()].flat().sort()).toEqual(keysBefore);
    for (const [g, keys] of moved) for (const key of keys) expect(await ownerOf(keyHashSlot(key))).toBe(g);
    for (const [k, v] of values) expect(await sc.call(l1, 'GET', k)).toBe(v);
    expect(moved.get(to)).toEqual(expect.arrayContaining([...values.keys()]));
    // redis-cli's MIGRATE calls reached the source's leader (group 0's leader ships too: whichever comes first).
    expect(String(await sc.call(l0, 'INFO', 'commandstats'))).toMatch(/cmdstat_migrate:calls=[1-9]/);
    const check = await cliCluster('check', `${l0.host}:${l0.port}`);
    expect(check).toContain('[OK] All 16384 slots covered.');

    const bal = await cliCluster('rebalance', `${l0.host}:${l0.port}`, '--cluster-use-empty-masters', '--cluster-threshold', '0.1');
    expect(bal).toContain('Moving');
    expect(bal).not.toContain('[ERR]');
    await sc.waitConverged();
    const even = await slotCounts();
    expect(Math.max(...even) - Math.min(...even)).toBeLessThanOrEqual(2);
    const final = await keysByGroup();
    expect([...final.values()].flat().sort()).toEqual(keysBefore);
    for (const [g, keys] of final) for (const key of keys) expect(await ownerOf(keyHashSlot(key))).toBe(g);
    await digestsAgree();
  }, 400_000);
});

describe('RAFT.SHARDS REMOVEGROUP', () => {
  it('refuses a group that owns slots; once its slots moved away it leaves the map and the Redis Cluster view', async () => {
    sc.dumpLogsOnFailure();
    const keysBefore = [...(await keysByGroup()).values()].flat().sort();
    await expect(sc.toConfig('RAFT.SHARDS', 'REMOVEGROUP', 2)).rejects.toThrow(/^ERR group 2 still owns or receives \d+ slots: move them to other groups first/);
    await expect(sc.toConfig('RAFT.SHARDS', 'REMOVEGROUP', 0)).rejects.toThrow('ERR group 0 keeps the slot map: it cannot be removed');
    const map = JSON.parse(String(await sc.toConfig('RAFT.SHARDS', 'MAP'))) as { slots: [number, number, number][] };
    const ranges = map.slots.filter(([, , g]) => g === 2).map(([from, to]) => `${from}-${to}`);
    expect(await sc.toConfig('RAFT.SHARDS', 'MOVE', 1, ...ranges)).toBe('OK');
    expect(await sc.toConfig('RAFT.SHARDS', 'REMOVEGROUP', 2)).toBe('OK');
    const removed = sc.groups.pop()!;
    try {
      await sc.waitConverged();
      const after = (await keysByGroup()) as Map<number, string[]>;
      expect([...after.values()].flat().sort()).toEqual(keysBefore);
      const nodes = String(await sc.call(await sc.leader(1), 'CLUSTER', 'NODES'));
      expect(nodes).not.toContain(`:${removed.nodes[0]!.port}@`);
      expect(nodes.trim().split('\n')).toHaveLength(6);
      await expect(sc.toConfig('RAFT.SHARDS', 'REMOVEGROUP', 2)).rejects.toThrow('ERR no group 2');
    } finally {
      await removed.destroy();
    }
  }, 240_000);
});
