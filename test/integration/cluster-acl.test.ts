/**
 * ACL users are cluster state: ACL SETUSER on the leader is a log entry, so
 * the user can AUTH on a follower (and read with READONLY), on the leader
 * elected after the old one is killed, and on a node that lost its data
 * directory and got the leader's snapshot; the entries carry the password's
 * SHA-256, never the password; a follower redirects SETUSER; DELUSER on the
 * leader closes the deleted user's connections on every node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { fillLog, untilApplied, wipeNode } from '../helpers/cluster-ops.js';
import { until } from '../helpers/poll.js';
import type { RawClient } from '../helpers/raw-client.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

async function withClient<T>(c: TestCluster, id: number, fn: (cl: RawClient) => Promise<T>): Promise<T> {
  const cl = await c.client(id);
  try {
    return await fn(cl);
  } finally {
    cl.close();
  }
}

/** A connection to node id authenticated as `user` (the node has applied the user). */
async function authed(c: TestCluster, id: number, user: string, password: string): Promise<RawClient> {
  const cl = await c.client(id);
  expect(await cl.call('AUTH', user, password)).toBe('+OK\r\n');
  return cl;
}

/** Every file under dir, read as latin1. */
function allBytes(dir: string): string {
  let out = '';
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out += allBytes(p);
    else if (e.isFile()) out += fs.readFileSync(p, 'latin1');
  }
  return out;
}

describe('ACL users in a 3-node cluster', () => {
  it('a user set on the leader authenticates on a follower, after failover and from a snapshot; DELUSER closes its connections everywhere', async () => {
    cluster = await TestCluster.start({ args: ['--snapshot-entries', '200', '--snapshot-keep-entries', '20'] });
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const followers = c.nodes.map((n) => n.id).filter((id) => id !== leader);

    // A follower does not take it: users change only through the log.
    await withClient(c, followers[0]!, async (cl) => {
      expect(await cl.call('ACL', 'SETUSER', 'alice', 'on', '>pw1')).toMatch(/^-MOVED \d+ [0-9.]+:\d+\r\n$/);
      // Checked before it is sent anywhere.
      expect(await cl.call('ACL', 'SETUSER', 'alice', 'bogus')).toBe("-ERR Error in ACL SETUSER modifier 'bogus': Syntax error\r\n");
    });
    await withClient(c, leader, async (cl) => {
      expect(await cl.call('ACL', 'SETUSER', 'alice', 'on', '>pw-in-clear-1', '~app:*', '+@read', '+@write', '+readonly', '-del')).toBe('+OK\r\n');
      expect(await cl.call('SET', 'app:1', 'one')).toBe('+OK\r\n');
      expect(await cl.call('SET', 'other', 'x')).toBe('+OK\r\n');
    });

    // On a follower, once it has applied them: AUTH, READONLY, a read of a permitted key, NOPERM for the others.
    const written = await untilApplied(c, { ids: [followers[0]!] });
    const f = await authed(c, followers[0]!, 'alice', 'pw-in-clear-1');
    expect(await f.call('READONLY')).toBe('+OK\r\n');
    expect(await f.call('GET', 'app:1')).toBe('$3\r\none\r\n');
    expect(await f.call('GET', 'other')).toBe('-NOPERM this user has no permissions to access one of the keys used as arguments\r\n');
    expect(await f.call('DEL', 'app:1')).toBe("-NOPERM this user has no permissions to run the 'del' command\r\n");
    expect(await f.call('ACL', 'WHOAMI')).toBe("-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n");
    f.close();

    // Only the hash travels: no node's files hold the password.
    for (const n of c.nodes) expect(allBytes(n.dir)).not.toContain('pw-in-clear-1');

    // The leader is killed: the user works on the new one, for writes too.
    await c.kill9(leader);
    const next = await c.waitForLeader(20_000, [leader]);
    await untilApplied(c, { ids: [next], index: written });
    const l2 = await authed(c, next, 'alice', 'pw-in-clear-1');
    expect(await l2.call('SET', 'app:2', 'two')).toBe('+OK\r\n');
    expect(await l2.call('SET', 'nope', 'x')).toBe('-NOPERM this user has no permissions to access one of the keys used as arguments\r\n');
    l2.close();
    await c.startNode(leader);

    // A node that lost its data gets the user from the leader's snapshot (enough entries to compact the log).
    const wiped = c.nodes.map((n) => n.id).find((id) => id !== next)!;
    await wipeNode(c, wiped);
    await fillLog(c, next);
    await withClient(c, next, async (cl) => expect(await cl.call('ACL', 'SETUSER', 'alice', '>pw2')).toBe('+OK\r\n'));
    await c.startNode(wiped);
    await untilApplied(c, { ids: [wiped], timeoutMs: 30_000 });
    const w = await authed(c, wiped, 'alice', 'pw2');
    expect(await w.call('AUTH', 'alice', 'pw-in-clear-1')).toBe('+OK\r\n');
    expect(c.logs(wiped)).toMatch(/installed the leader's snapshot at index \d+/);

    // DELUSER on the leader: alice's connection on another node is closed.
    await withClient(c, next, async (cl) => expect(await cl.call('ACL', 'DELUSER', 'alice')).toBe(':1\r\n'));
    expect(await w.closedPromise(10_000)).toBe(true);
  }, 90_000);

  it('CONFIG SET requirepass is replicated as the default user password hash', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    await withClient(c, leader, async (cl) => {
      expect(await cl.call('CONFIG', 'SET', 'requirepass', 'cluster-secret')).toBe('+OK\r\n');
      // Connected before the password: still authenticated, so the test can undo it. (RAFT.INFO,
      // which untilApplied reads, now needs the password too: wait for the follower to ask for it.)
      let seen = '';
      await until(
        () => `node ${follower} to ask for the password (last: ${JSON.stringify(seen)})`,
        async () => {
          const probe = await c.client(follower);
          seen = await probe.call('PING');
          probe.close();
          return seen.startsWith('-NOAUTH');
        },
        10_000,
        50,
      );
      const fc = await c.client(follower);
      expect(await fc.call('PING')).toBe('-NOAUTH Authentication required.\r\n');
      expect(await fc.call('AUTH', 'cluster-secret')).toBe('+OK\r\n');
      expect(await fc.call('PING')).toBe('+PONG\r\n');
      fc.close();
      for (const n of c.nodes) expect(allBytes(n.dir)).not.toContain('cluster-secret');
      expect(await cl.call('CONFIG', 'SET', 'requirepass', '')).toBe('+OK\r\n');
    });
  }, 60_000);
});

describe('ACL users with --follower-writes proxy', () => {
  it("the leader checks a forwarded command's user with its own copy, scripts included", async () => {
    cluster = await TestCluster.start({ args: ['--follower-writes', 'proxy'] });
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const follower = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    await withClient(c, leader, async (cl) => expect(await cl.call('ACL', 'SETUSER', 'carol', 'on', '>pw', '~k*', '+@all')).toBe('+OK\r\n'));
    await untilApplied(c, { ids: [follower] });
    const cl = await authed(c, follower, 'carol', 'pw');
    try {
      // Forwarded and allowed; refused by the follower's own check.
      expect(await cl.call('SET', 'k1', 'v')).toBe('+OK\r\n');
      expect(await cl.call('SET', 'other', 'v')).toBe('-NOPERM this user has no permissions to access one of the keys used as arguments\r\n');
      // A script declaring no key passes the follower's check; on the leader (and every replica
      // applying the entry) its redis.call is checked against carol, not run as the default user.
      const r = await cl.call('EVAL', "return redis.call('SET', 'other', 'v')", '0');
      expect(r).toMatch(/^-ERR The user executing the script can't access .* keys/);
      expect(await cl.call('EVAL', "return redis.call('SET', 'k2', 'v')", '0')).toBe('+OK\r\n');
    } finally {
      cl.close();
    }
    await untilApplied(c);
    for (const n of c.nodes) {
      await withClient(c, n.id, async (x) => {
        await x.call('READONLY');
        expect(await x.call('EXISTS', 'other')).toBe(':0\r\n');
      });
    }
  });
});
