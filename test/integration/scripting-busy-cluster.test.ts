/**
 * A long script on a 3-node cluster: it pauses between slices, so the Raft
 * loop keeps its heartbeats (no election, the same term and leader after a
 * script of several seconds), other clients of the leader get -BUSY past
 * busy-reply-threshold, SCRIPT KILL of the replicated script that wrote
 * answers -UNKILLABLE, and every replica ends with the same state (equal
 * RAFT.DIGEST). A read-only script on a READONLY follower is killed there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { converged } from '../helpers/cluster-ops.js';
import { untilBusy } from '../helpers/poll.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/** Writes, runs ~3e8 instructions (seconds), writes again. */
const LONG = "redis.call('set', KEYS[1], 'started') local i = 0 while i < 100000000 do i = i + 1 end redis.call('set', KEYS[1], i) return i";
const SPIN = 'while true do end';

describe('a long script on a 3-node cluster', () => {
  it('keeps the leader and its term, answers BUSY and UNKILLABLE, and leaves equal replicas', async () => {
    cluster = await TestCluster.start({});
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const before = (await c.raftInfo(leader))!;
    const a = await c.client(leader);
    const b = await c.client(leader);
    try {
      expect(await b.call('CONFIG', 'SET', 'busy-reply-threshold', '200')).toBe('+OK\r\n');
      const reply = withTimeout(a.call('EVAL', LONG, '1', '{b}long'), 120_000);
      expect(await untilBusy(b)).toBe('-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
      expect(await b.call('SCRIPT', 'KILL')).toBe(
        '-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n',
      );
      expect(await reply).toBe(':100000000\r\n');
      expect(await b.call('GET', '{b}long')).toBe('$9\r\n100000000\r\n');
    } finally {
      a.close();
      b.close();
    }
    const after = (await c.raftInfo(leader))!;
    expect(after.role).toBe('leader');
    expect(after.term).toBe(before.term);
    const digests = await converged(c);
    expect(new Set(digests).size).toBe(1);
  });

  it('kills a read-only script on a READONLY follower, whose client gets Redis\'s text', async () => {
    cluster = await TestCluster.start({});
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const follower = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const f1 = await c.client(follower);
    const f2 = await c.client(follower);
    try {
      expect(await f2.call('CONFIG', 'SET', 'busy-reply-threshold', '100')).toBe('+OK\r\n');
      expect(await f2.call('SCRIPT', 'KILL')).toBe('-NOTBUSY No scripts in execution right now.\r\n');
      expect(await f1.call('READONLY')).toBe('+OK\r\n');
      const reply = withTimeout(f1.call('EVAL_RO', SPIN, '0'), 60_000);
      expect(await untilBusy(f2)).toBe('-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
      expect(await f2.call('SCRIPT', 'KILL')).toBe('+OK\r\n');
      expect(await reply).toBe('-ERR Script killed by user with SCRIPT KILL... script: 694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7, on @user_script:1.\r\n');
      expect(await f2.call('PING')).toBe('+PONG\r\n');
    } finally {
      f1.close();
      f2.close();
    }
    const digests = await converged(c);
    expect(new Set(digests).size).toBe(1);
  });
});
