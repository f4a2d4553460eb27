/**
 * CI's slice of the RESP fuzzer (the long run is bench/fuzz.mjs): seeded
 * hostile requests to one node and to a three-node cluster. Nothing crashes
 * or stops answering, every reply is well-formed RESP, keys acknowledged
 * before the fuzzing read back value for value, RSS stays bounded.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { TestCluster } from '../helpers/cluster.js';
import { Conn, checkReserved, cleanup, rssBytes, runRespFuzz, waitLeader, writeReserved, type Target } from './harness.mjs';

const RESERVED = 60;
const RSS_LIMIT = 768 * 1024 * 1024;

async function limit(t: Target): Promise<void> {
  const c = await Conn.open(t.host, t.port);
  try {
    // Redis's smallest proto-max-bulk-len: SETRANGE/SETBIT at the edge allocate 1 MiB, not 512.
    expect(await c.str(['CONFIG', 'SET', 'proto-max-bulk-len', '1048576'])).toBe('+OK\r\n');
  } finally {
    c.close();
  }
}

async function fuzzAndCheck(targets: Target[], seed: number, requests: number, logs: () => string): Promise<void> {
  const leader = await waitLeader(targets);
  await limit(leader);
  const expected = await writeReserved(leader, RESERVED);
  const stats = await runRespFuzz({ targets, seed, requests, batchRequests: 500, timeLimitMs: 25_000 });
  const why = `${JSON.stringify({ ...stats, malformed: stats.malformed.slice(0, 3) })}\n${logs().slice(-3000)}`;
  expect(stats.crashes, why).toEqual([]);
  expect(stats.hangs, why).toEqual([]);
  expect(stats.malformed, why).toEqual([]);
  // The slice is cut by time on a loaded machine, never below a useful size.
  expect(stats.requests, why).toBeGreaterThanOrEqual(Math.min(requests, 1000));
  expect(stats.replies, why).toBeGreaterThan(stats.requests / 4);
  const after = await waitLeader(targets);
  expect(await cleanup(after)).toBe(true);
  expect(await checkReserved(after, RESERVED, expected)).toEqual([]);
  for (const t of targets) expect(rssBytes(t.pid!), `node ${t.id}`).toBeLessThan(RSS_LIMIT);
  const c = await Conn.open(after.host, after.port);
  expect(await c.str(['SET', 'after-fuzz', 'ok'])).toBe('+OK\r\n');
  c.close();
}

describe('RESP fuzzer (seeded slice)', () => {
  let srv: RaftisProcess | undefined;
  let cluster: TestCluster | undefined;
  afterAll(async () => {
    await srv?.destroy();
    await cluster?.destroy();
  });

  it('one node survives hostile requests with its data', async () => {
    srv = await startRaftis();
    const s = srv;
    await fuzzAndCheck([{ id: 1, host: '127.0.0.1', port: s.port, pid: s.proc.pid! }], 20, 3000, () => s.logs());
    await s.destroy();
    srv = undefined;
  });

  it('a three-node cluster survives hostile requests to every node with its data', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const targets = c.nodes.map((n) => ({ id: n.id, host: n.host, port: n.port, pid: n.proc!.pid! }));
    await fuzzAndCheck(targets, 21, 2000, () => c.nodes.map((n) => `--- node ${n.id}\n${c.logs(n.id).slice(-1000)}`).join('\n'));
  });
});
