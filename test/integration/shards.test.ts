/**
 * A sharded cluster (issue 21, phase 1): three groups of one node each. The
 * slot map made through group 0, the Redis Cluster view the same on every
 * node, MOVED to the owning group, CROSSSLOT for keys, transactions and
 * scripts across slots, moving an empty slot and refusing to move one that
 * holds keys, and redis-cli -c / --cluster check / redis-benchmark --cluster.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRaftis } from '../helpers/raftis-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { call, ShardedCluster } from '../helpers/sharded-cluster.js';

const run = promisify(execFile);

let sc: ShardedCluster;

beforeAll(async () => {
  sc = await ShardedCluster.start({ shards: 3, size: 1 });
});
afterAll(async () => {
  await sc?.destroy();
});

/** Group g's only node. */
const node = (g: number): { host: string; port: number } => sc.groups[g]!.nodes[0]!;

/** The error text a request gets (or the reply, as a string, when it succeeds). */
async function outcome(n: { host: string; port: number }, ...argv: (string | number)[]): Promise<string> {
  try {
    return JSON.stringify(await call(n, ...argv));
  } catch (e) {
    return (e as Error).message;
  }
}

async function cli(n: { host: string; port: number }, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', n.host, '-p', String(n.port), ...args], { timeout: 20_000 });
  return stdout.trim();
}

/** The group that owns a slot under the initial even split (group g: floor(16384 g / 3) onwards). */
function groupOf(slot: number): number {
  let g = 0;
  while (g < 2 && slot >= Math.floor((16384 * (g + 1)) / 3)) g++;
  return g;
}

/** A key whose slot group g owns under the initial split. */
function keyOf(g: number, prefix = 'k'): string {
  for (let i = 0; ; i++) {
    const k = `${prefix}${i}`;
    if (groupOf(slotOf(k)) === g) return k;
  }
}

// The slot of a key without hash tags, as the server computes it (CLUSTER KEYSLOT checks it below).
function slotOf(k: string): number {
  let crc = 0;
  for (const ch of Buffer.from(k, 'latin1')) {
    crc ^= ch << 8;
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc & 16383;
}

describe('the Redis Cluster view', () => {
  it('is the same on every node: one master per group with its slot ranges', async () => {
    sc.dumpLogsOnFailure(4000);
    const slots = await Promise.all([0, 1, 2].map((g) => call(node(g), 'CLUSTER', 'SLOTS')));
    expect(slots[1]).toEqual(slots[0]);
    expect(slots[2]).toEqual(slots[0]);
    const rows = slots[0] as [number, number, [string, number, string]][];
    expect(rows.map((r) => [r[0], r[1], r[2][1]])).toEqual([
      [0, 5460, node(0).port],
      [5461, 10921, node(1).port],
      [10922, 16383, node(2).port],
    ]);
    const nodes = await Promise.all([0, 1, 2].map((g) => call(node(g), 'CLUSTER', 'NODES')));
    const strip = (s: unknown): string => String(s).replace('myself,', '');
    expect(strip(nodes[1])).toBe(strip(nodes[0]));
    expect(strip(nodes[2])).toBe(strip(nodes[0]));
    const lines = String(nodes[0]).trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`^[0-9a-f]{40} 127\\.0\\.0\\.1:${node(1).port}@\\d+ master - 0 0 \\d+ connected 5461-10921$`));
    // CLUSTER MYID is this node's line in CLUSTER NODES.
    const myid = String(await call(node(1), 'CLUSTER', 'MYID'));
    expect(String(nodes[1]).split('\n').find((l) => l.includes('myself'))!.startsWith(myid)).toBe(true);
    const info = String(await call(node(2), 'CLUSTER', 'INFO'));
    expect(info).toMatch(/cluster_state:ok\r\n/);
    expect(info).toMatch(/cluster_slots_assigned:16384\r\n/);
    expect(info).toMatch(/cluster_known_nodes:3\r\n/);
    expect(info).toMatch(/cluster_size:3\r\n/);
    const shards = (await call(node(0), 'CLUSTER', 'SHARDS')) as unknown[][];
    expect(shards).toHaveLength(3);
    expect(shards[2]![1]).toEqual([10922, 16383]);
  });
});

describe('routing', () => {
  it('serves the slots of its group, sends the others to their group with MOVED, and refuses keys across slots', async () => {
    sc.dumpLogsOnFailure(4000);
    const k1 = keyOf(1);
    expect(await call(node(0), 'CLUSTER', 'KEYSLOT', k1)).toBe(slotOf(k1));
    expect(await outcome(node(0), 'SET', k1, 'v')).toBe(`MOVED ${slotOf(k1)} 127.0.0.1:${node(1).port}`);
    expect(await outcome(node(1), 'SET', k1, 'v')).toBe('"OK"');
    expect(await outcome(node(2), 'GET', k1)).toBe(`MOVED ${slotOf(k1)} 127.0.0.1:${node(1).port}`);
    expect(await outcome(node(1), 'GET', k1)).toBe('"v"');
    // Keys in different slots: CROSSSLOT, even when one group owns both (Redis Cluster's rule).
    const k0 = keyOf(0);
    const k0b = keyOf(0, 'other');
    expect(await outcome(node(0), 'MSET', k0, '1', k0b, '2')).toBe("CROSSSLOT Keys in request don't hash to the same slot");
    expect(await outcome(node(0), 'MSET', k1, '1', k0, '2')).toBe("CROSSSLOT Keys in request don't hash to the same slot");
    // Hash tags put keys in one slot.
    const tag = `{${keyOf(2)}}`;
    expect(await outcome(node(2), 'MSET', `${tag}a`, '1', `${tag}b`, '2')).toBe('"OK"');
    expect(await outcome(node(2), 'EVAL', "return redis.call('GET', KEYS[1])", 2, `${tag}a`, k1)).toBe("CROSSSLOT Keys in request don't hash to the same slot");
    expect(await outcome(node(2), 'EVAL', "return redis.call('GET', KEYS[1])", 1, `${tag}a`)).toBe('"1"');
    // WATCH's keys and shard channels are routed by slot too (Redis Cluster).
    expect(await outcome(node(0), 'WATCH', k1)).toBe(`MOVED ${slotOf(k1)} 127.0.0.1:${node(1).port}`);
    expect(await outcome(node(0), 'SPUBLISH', k1, 'm')).toBe(`MOVED ${slotOf(k1)} 127.0.0.1:${node(1).port}`);
    expect(await outcome(node(1), 'SPUBLISH', k1, 'm')).toBe('0');
    expect(await outcome(node(1), 'WATCH', k1, k0)).toBe("CROSSSLOT Keys in request don't hash to the same slot");
    // Commands without keys are the node's own.
    expect(await call(node(2), 'DBSIZE')).toBe(2);
  });

  it('refuses a transaction across slots at EXEC (CROSSSLOT) and runs one within a slot', async () => {
    sc.dumpLogsOnFailure(4000);
    const r = new Redis({ host: node(0).host, port: node(0).port });
    try {
      const a = keyOf(0, 'tx');
      const b = keyOf(0, 'ty');
      expect(slotOf(a)).not.toBe(slotOf(b));
      await expect(r.multi().set(a, '1').set(b, '2').exec()).rejects.toThrow(/CROSSSLOT/);
      expect(await r.exists(a, a)).toBe(0);
      const res = await r.multi().set(`{${a}}x`, '1').incr(`{${a}}y`).exec();
      expect(res).toEqual([
        [null, 'OK'],
        [null, 1],
      ]);
    } finally {
      r.disconnect();
    }
  });
});

describe('moving slots (phase 1: empty slots only)', () => {
  it('moves an empty slot to another group, and refuses to move a slot that holds keys', async () => {
    sc.dumpLogsOnFailure(4000);
    const full = keyOf(0, 'full');
    expect(await call(node(0), 'SET', full, 'x')).toBe('OK');
    const s = slotOf(full);
    expect(await outcome(node(0), 'RAFT.SHARDS', 'ASSIGN', 1, s)).toBe(`ERR slot ${s} holds keys in group 0 (key '${full}'): move it with RAFT.SHARDS MOVE`);
    // Nothing moved: the key is still served where it was.
    expect(await call(node(0), 'GET', full)).toBe('x');
    expect(await outcome(node(1), 'GET', full)).toBe(`MOVED ${s} 127.0.0.1:${node(0).port}`);

    // An empty slot of group 2 goes to group 1.
    const empty = keyOf(2, 'empty');
    const e = slotOf(empty);
    const before = await sc.waitConverged();
    expect(await call(node(0), 'RAFT.SHARDS', 'ASSIGN', 1, e)).toBe('OK');
    const after = await sc.waitConverged();
    expect(after).toBeGreaterThan(before);
    expect(await outcome(node(2), 'SET', empty, 'moved')).toBe(`MOVED ${e} 127.0.0.1:${node(1).port}`);
    expect(await call(node(1), 'SET', empty, 'moved')).toBe('OK');
    expect(await call(node(1), 'CLUSTER', 'COUNTKEYSINSLOT', e)).toBe(1);
    expect(await call(node(1), 'CLUSTER', 'GETKEYSINSLOT', e, 10)).toEqual([empty]);
    const slots = (await call(node(2), 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    expect(slots.find((r) => r[0] === e && r[1] === e)?.[2][1]).toBe(node(1).port);
    // The slot is group 1's now, and holds a key there: it cannot go back in phase 1.
    expect(await outcome(node(0), 'RAFT.SHARDS', 'ASSIGN', 2, e)).toMatch(/^ERR slot \d+ holds keys in group 1/);
    await call(node(1), 'DEL', empty);
    expect(await call(node(0), 'RAFT.SHARDS', 'ASSIGN', 2, e)).toBe('OK');
    await sc.waitConverged();
    expect(await call(node(2), 'SET', empty, 'back')).toBe('OK');
  });

  it('checks its arguments', async () => {
    expect(await outcome(node(0), 'RAFT.SHARDS', 'ASSIGN', 9, '1-2')).toBe('ERR no group 9: add it first (RAFT.SHARDS ADDGROUP)');
    expect(await outcome(node(0), 'RAFT.SHARDS', 'ASSIGN', 1, '7-3')).toBe("ERR Invalid slot range '7-3': slots are 0 to 16383, FROM <= TO");
    expect(await outcome(node(1), 'RAFT.SHARDS', 'ASSIGN', 1, '3')).toBe('ERR the slot map is changed on group 0 (the configuration group): send this to one of its nodes');
    expect(await outcome(node(0), 'RAFT.SHARDS', 'ADDGROUP', 1, '5@127.0.0.1:1')).toBe('ERR group 1 already exists');
    expect(await outcome(node(0), 'RAFT.SHARDS', 'SETMAP', 0, '{}')).toMatch(/^ERR RAFT.SHARDS SETMAP is proposed by group 0's leader itself/);
    // Not in a transaction: a replicated step of a client's MULTI would bypass these checks.
    const raw = await RawClient.connect(node(1).port);
    try {
      expect(await raw.call('MULTI')).toBe('+OK\r\n');
      expect(await raw.call('RAFT.SHARDS', 'ADOPT', '{}')).toBe('-ERR Command not allowed inside a transaction\r\n');
      expect(await raw.call('EXEC')).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    } finally {
      raw.close();
    }
  });
});

describe('a restart', () => {
  it('serves its slots again from its own log at once, and the view converges', async () => {
    sc.dumpLogsOnFailure(4000);
    const k = keyOf(1, 'restart');
    expect(await call(node(1), 'SET', k, 'kept')).toBe('OK');
    const g1 = sc.groups[1]!;
    await g1.kill9(g1.nodes[0]!.id);
    await g1.startNode(g1.nodes[0]!.id);
    await g1.waitForLeader();
    // The map it adopted is in its log: it knows its slots and the others' before polling group 0.
    const info = String(await call(node(1), 'RAFT.SHARDS', 'STATUS'));
    expect(info).toMatch(/adopted_configuration:[1-9]/);
    expect(await call(node(1), 'GET', k)).toBe('kept');
    expect(await outcome(node(1), 'GET', keyOf(0))).toBe(`MOVED ${slotOf(keyOf(0))} 127.0.0.1:${node(0).port}`);
    await sc.waitConverged();
    const slots = await Promise.all([0, 1, 2].map((g) => call(node(g), 'CLUSTER', 'SLOTS')));
    expect(slots[1]).toEqual(slots[0]);
    expect(slots[2]).toEqual(slots[0]);
  });
});

describe('with --requirepass', () => {
  it('the groups talk to each other authenticated with the default user’s password', async () => {
    const pw = await ShardedCluster.start({ shards: 2, size: 1, args: ['--requirepass', 'shard secret'] });
    try {
      const [a, b] = [pw.groups[0]!.nodes[0]!, pw.groups[1]!.nodes[0]!];
      // Group 1 fetched the map from group 0 and adopted it (waitConverged), and MOVED names group 1.
      const k = keyOf(2, 'pw');
      expect(await cli(a, 'GET', k)).toBe('NOAUTH Authentication required.');
      await expect(pw.call(a, 'SET', k, 'v')).rejects.toThrow(`MOVED ${slotOf(k)} 127.0.0.1:${b.port}`);
      expect(await pw.call(b, 'SET', k, 'v')).toBe('OK');
    } finally {
      await pw.destroy();
    }
  });
});

describe('a node without --group', () => {
  it('refuses RAFT.SHARDS', async () => {
    const p = await startRaftis();
    try {
      expect(await outcome({ host: '127.0.0.1', port: p.port }, 'RAFT.SHARDS', 'MAP')).toBe('ERR this node is not part of a sharded cluster (started without --group)');
      const help = (await call({ host: '127.0.0.1', port: p.port }, 'RAFT.SHARDS', 'HELP')) as string[];
      expect(help[0]).toBe('RAFT.SHARDS <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
      expect(help).toContain('ASSIGN <gid> <slot|from-to> [...]');
    } finally {
      await p.destroy();
    }
  });
});

describe('Redis tools', () => {
  it('redis-cli -c follows MOVED between groups', async () => {
    sc.dumpLogsOnFailure(4000);
    const k = keyOf(2, 'cli');
    expect(await cli(node(0), '-c', 'SET', k, 'hello')).toBe('OK');
    expect(await cli(node(1), '-c', 'GET', k)).toBe('hello');
    expect(await cli(node(2), 'GET', k)).toBe('hello');
  });

  it('redis-cli --cluster check finds every slot covered and every node agreeing', async () => {
    sc.dumpLogsOnFailure(4000);
    await sc.waitConverged();
    const out = await cli(node(1), '--cluster', 'check', `127.0.0.1:${node(1).port}`).catch((e: { stdout?: string }) => String(e.stdout));
    expect(out).toContain('[OK] All nodes agree about slots configuration.');
    expect(out).toContain('[OK] All 16384 slots covered.');
    expect(out).not.toContain('[ERR]');
  });

  it('redis-benchmark --cluster runs SET and GET without an error reply', async () => {
    sc.dumpLogsOnFailure(4000);
    const { stdout, stderr } = await run('redis-benchmark', ['--cluster', '-h', '127.0.0.1', '-p', String(node(0).port), '-t', 'set,get', '-n', '2000', '-c', '8', '-q'], {
      timeout: 120_000,
    });
    const out = stdout + stderr;
    expect(out).toMatch(/SET: [\d.]+ requests per second/);
    expect(out).toMatch(/GET: [\d.]+ requests per second/);
    expect(out).not.toMatch(/error|MOVED|CROSSSLOT|CLUSTERDOWN/i);
    // The keys went to the group that owns their slot (redis-benchmark's key:{tag} per node).
    const sizes = await Promise.all([0, 1, 2].map((g) => call(node(g), 'DBSIZE') as Promise<number>));
    expect(sizes.every((n) => n >= 1)).toBe(true);
  });
});
