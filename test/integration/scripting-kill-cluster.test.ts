/**
 * Killing a script of a log entry on a 3-node cluster (docs/decisions.md
 * "Killing a replicated script"). Every replica runs the script; one that
 * has run KILLABLE_AFTER instructions without writing waits at its first
 * write for the log's decision: KillScript(N), proposed by the leader on
 * SCRIPT KILL, or ProceedScript(N), proposed by the leader when its own run
 * (or, after a failover, the new leader's) reaches that write. Every case
 * ends with equal replicas (RAFT.DIGEST).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sha1hex } from '../../src/util/lua/vm.js';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { converged } from '../helpers/cluster-ops.js';
import { untilBusy } from '../helpers/poll.js';
import type { RawClient } from '../helpers/raw-client.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/** May write, never does before SCRIPT KILL (1e12 iterations are far past the instruction budget). */
const WOULD_WRITE = "local i = 0 while true do i = i + 1 if i == 1e12 then redis.call('set', KEYS[1], 'v') end end";
/** ~20M instructions without writing (past the kill threshold), then a write. */
const LATE_WRITE = "local i = 0 while i < 5000000 do i = i + 1 end redis.call('set', KEYS[1], i) return i";
/** The same, seconds long: time to kill the leader before it reaches its write. */
const LONG_LATE_WRITE = "local i = 0 while i < 100000000 do i = i + 1 end redis.call('set', KEYS[1], i) return i";

/** Polls `c` with `cmd` until the reply is `want` (bounded); returns the last reply. */
async function until(c: RawClient, want: string, cmd: string[], tries = 600): Promise<string> {
  let r = '';
  for (let i = 0; i < tries; i++) {
    r = await withTimeout(c.call(...cmd), 20_000);
    if (r === want) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  return r;
}

describe('killing a script of a log entry on a 3-node cluster', () => {
  it('SCRIPT KILL on the leader stops it on every replica before any write; a follower sends SCRIPT KILL to the leader', async () => {
    cluster = await TestCluster.start({});
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const follower = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const a = await c.client(leader);
    const b = await c.client(leader);
    const f = await c.client(follower);
    try {
      expect(await b.call('CONFIG', 'SET', 'busy-reply-threshold', '100')).toBe('+OK\r\n');
      expect(await f.call('CONFIG', 'SET', 'busy-reply-threshold', '100')).toBe('+OK\r\n');
      const reply = withTimeout(a.call('EVAL', WOULD_WRITE, '1', '{k}a'), 120_000);
      expect(await untilBusy(b)).toBe('-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
      await untilBusy(f);
      const ln = c.node(leader);
      expect(await f.call('SCRIPT', 'KILL')).toBe(`-MOVED 0 ${ln.host}:${ln.port}\r\n`);
      expect(await b.call('FUNCTION', 'KILL')).toBe('-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
      expect(await b.call('SCRIPT', 'KILL')).toBe('+OK\r\n');
      expect(await reply).toBe(`-ERR Script killed by user with SCRIPT KILL... script: ${sha1hex(WOULD_WRITE)}, on @user_script:1.\r\n`);
      expect(await b.call('SCRIPT', 'KILL')).toBe('-NOTBUSY No scripts in execution right now.\r\n');
      expect(await b.call('EXISTS', '{k}a')).toBe(':0\r\n');
      expect(await b.call('SET', '{k}after', '1')).toBe('+OK\r\n');
      // The body was cached by its entry: EVALSHA runs it again, and it is killed again.
      const again = withTimeout(a.call('EVALSHA', sha1hex(WOULD_WRITE), '1', '{k}a'), 120_000);
      await untilBusy(b);
      expect(await b.call('SCRIPT', 'KILL')).toBe('+OK\r\n');
      expect(await again).toBe(`-ERR Script killed by user with SCRIPT KILL... script: ${sha1hex(WOULD_WRITE)}, on @user_script:1.\r\n`);
    } finally {
      a.close();
      b.close();
      f.close();
    }
    const digests = await converged(c);
    expect(new Set(digests).size).toBe(1);
  });

  it('a script that writes after the threshold goes on (ProceedScript): the write is on every replica', async () => {
    cluster = await TestCluster.start({});
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const a = await c.client(leader);
    try {
      expect(await withTimeout(a.call('EVAL', LATE_WRITE, '1', '{p}a'), 120_000)).toBe(':5000000\r\n');
      expect(await a.call('GET', '{p}a')).toBe('$7\r\n5000000\r\n');
      // Cached now: the same through EVALSHA, and a write after it.
      expect(await withTimeout(a.call('EVALSHA', sha1hex(LATE_WRITE), '1', '{p}b'), 120_000)).toBe(':5000000\r\n');
      expect(await a.call('SET', '{p}c', '1')).toBe('+OK\r\n');
    } finally {
      a.close();
    }
    const digests = await converged(c);
    expect(new Set(digests).size).toBe(1);
    for (const n of c.nodes) {
      const cl = await c.client(n.id);
      try {
        expect(await cl.call('READONLY')).toBe('+OK\r\n');
        expect(await cl.call('GET', '{p}b')).toBe('$7\r\n5000000\r\n');
      } finally {
        cl.close();
      }
    }
  });

  it('the leader killed while the replicas run the script: the new leader decides (Proceed), replicas equal', async () => {
    cluster = await TestCluster.start({});
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const a = await c.client(leader);
    const b = await c.client(leader);
    try {
      expect(await b.call('CONFIG', 'SET', 'busy-reply-threshold', '100')).toBe('+OK\r\n');
      void a.call('EVAL', LONG_LATE_WRITE, '1', '{l}a').catch(() => undefined);
      await untilBusy(b);
    } finally {
      b.close();
    }
    await c.kill9(leader);
    a.close();
    const survivors = c.nodes.map((n) => n.id).filter((id) => id !== leader);
    const next = await c.waitForLeader(60_000, [leader]);
    const nl = await c.client(next);
    try {
      expect(await until(nl, '$9\r\n100000000\r\n', ['GET', '{l}a'])).toBe('$9\r\n100000000\r\n');
      expect(await nl.call('SET', '{l}b', '1')).toBe('+OK\r\n');
    } finally {
      nl.close();
    }
    expect(new Set(await converged(c, survivors, 120_000)).size).toBe(1);
    // The old leader replays its log: it runs the script again, waits at the same write, and finds Proceed.
    await c.startNode(leader);
    expect(new Set(await converged(c, c.nodes.map((n) => n.id), 180_000)).size).toBe(1);
  });
});
