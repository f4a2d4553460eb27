/**
 * Hashes and sets on a 3-node cluster: writes through the leader reach
 * every replica (READONLY reads on followers converge to the leader's
 * state), and SPOP, whose choice is drawn at apply time from the entry's
 * index and time, removes the same members on every replica.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { untilApplied } from '../helpers/cluster-ops.js';
import { parseReply, type Reply } from '../helpers/engine-diff.js';
import { encodeCommand, type RawClient } from '../helpers/raw-client.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3 });
});
afterAll(async () => {
  await cluster?.destroy();
});

/** A reply's strings, sorted (hash-order-free view of SMEMBERS/HKEYS/…); pairs kept together for HGETALL. */
function sortedItems(raw: string, pairs = false): string[] {
  const [r] = parseReply(raw);
  if (!('items' in r)) return [raw];
  const flat = r.items.map((x: Reply) => ('v' in x ? x.v : '?'));
  if (!pairs) return flat.sort();
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push(`${flat[i]}=${flat[i + 1]}`);
  return out.sort();
}

/** Runs commands pipelined and returns the replies in order. */
async function pipeline(c: RawClient, cmds: string[][]): Promise<string[]> {
  const replies = cmds.map(() => c.next());
  c.sock.write(cmds.map(encodeCommand).join(''));
  return Promise.all(replies);
}

/** The state the test compares across nodes, read on one connection. */
async function snapshot(c: RawClient): Promise<string> {
  return JSON.stringify([
    sortedItems(await c.call('SMEMBERS', 'pool')),
    sortedItems(await c.call('HGETALL', 'user'), true),
    await c.call('SMEMBERS', 'ints'),
    sortedItems(await c.call('SMEMBERS', 'moved')),
    sortedItems(await c.call('SMEMBERS', 'inter')),
    await c.call('OBJECT', 'ENCODING', 'pool'),
    await c.call('HLEN', 'counters'),
    await c.call('HGET', 'counters', 'c7'),
    await c.call('GET', 'bits'),
    await c.call('DBSIZE'),
  ]);
}

describe('hashes and sets on a 3-node cluster', () => {
  it('replicates hash and set writes, and SPOP pops the same members on every replica', async () => {
    const leader = await cluster.waitForLeader();
    const c = await cluster.client(leader);

    const pool: string[] = [];
    for (let i = 0; i < 1000; i++) pool.push(`member:${i}`);
    expect(await c.call('SADD', 'pool', ...pool)).toBe(':1000\r\n');
    const writes: string[][] = [];
    for (let i = 0; i < 200; i++) writes.push(['HSET', 'user', `field:${i}`, `value:${i}`]);
    for (let i = 0; i < 300; i++) writes.push(['HINCRBY', 'counters', `c${i % 20}`, String(i)]);
    writes.push(['SADD', 'ints', '5', '-3', '12', '7'], ['SREM', 'ints', '12'], ['HDEL', 'user', 'field:0', 'field:1']);
    for (let i = 0; i < 100; i++) writes.push(['SETBIT', 'bits', String(i * 13), '1']);
    const writeReplies = await pipeline(c, writes);
    expect(writeReplies.filter((r) => r.startsWith('-'))).toEqual([]);

    // Many SPOPs, single and with counts, pipelined and inside MULTI.
    const pops: string[][] = [];
    for (let i = 0; i < 300; i++) pops.push(i % 4 === 0 ? ['SPOP', 'pool', '3'] : ['SPOP', 'pool']);
    pops.push(['MULTI'], ['SPOP', 'pool'], ['SPOP', 'pool', '2'], ['SMOVE', 'pool', 'moved', 'member:999'], ['EXEC']);
    const popReplies = await pipeline(c, pops);
    const popped = new Set<string>();
    for (const r of popReplies.slice(0, 300)) for (const m of sortedItems(r)) popped.add(m);
    expect(popped.size).toBe(225 + 75 * 3);
    expect(await c.call('SINTERSTORE', 'inter', 'pool', 'pool')).toMatch(/^:\d+\r\n$/);

    const expected = await snapshot(c);
    const remaining = JSON.parse(expected)[0] as string[];
    expect(remaining.length).toBeGreaterThan(400);
    for (const m of remaining) expect(popped.has(m)).toBe(false);
    expect(remaining.length + popped.size).toBeLessThanOrEqual(1000);

    await untilApplied(cluster);
    for (const n of cluster.nodes.filter((x) => x.id !== leader)) {
      const f = await cluster.client(n.id);
      expect(await f.call('READONLY')).toBe('+OK\r\n');
      expect(await snapshot(f)).toBe(expected);
      f.close();
    }
    c.close();
  });
});
