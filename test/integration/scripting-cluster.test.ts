/**
 * Scripts on a 3-node cluster: a script that may write is one log entry run
 * on every replica, so every node ends with the same state (RAFT.DIGEST at
 * the same applied index) — with math.random and SRANDMEMBER inside, with a
 * script that fails midway, and with a runaway script stopped by the
 * instruction budget. The script cache is replicated and kept in snapshots:
 * EVALSHA works on a new leader after kill -9 and on nodes restarted from a
 * snapshot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { converged, onLeader } from '../helpers/cluster-ops.js';
import { sha1hex } from '../../src/util/lua/vm.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

const RANDOM_WRITE =
  "redis.call('set', KEYS[1], math.random(1000000000)) " +
  "redis.call('sadd', KEYS[2], ARGV[1]) " +
  "redis.call('set', KEYS[3], redis.call('srandmember', KEYS[2])) " +
  "local t = redis.call('time') redis.call('set', KEYS[4], t[1] .. '.' .. t[2]) " +
  "return redis.call('incr', KEYS[5])";
const INCR = "return redis.call('incrby', KEYS[1], ARGV[1])";

describe('scripting on a 3-node cluster', () => {
  it('EVAL and EVALSHA replicate, survive kill -9 of the leader and snapshots + restarts; failing and runaway scripts leave the same state everywhere', async () => {
    cluster = await TestCluster.start({ args: ['--snapshot-entries', '40', '--snapshot-keep-entries', '10', '--lua-instruction-budget', '5000000'] });
    const c = cluster;
    const all = c.nodes.map((n) => n.id);

    // Scripts that draw random numbers, random members and the time, as entries.
    const replies = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await onLeader(c, 'EVAL', RANDOM_WRITE, '5', '{s}r', '{s}set', '{s}pick', '{s}time', '{s}n', `m${i}`);
      expect(r).toBe(`:${i + 1}\r\n`);
      replies.add(await onLeader(c, 'GET', '{s}r'));
    }
    // math.random is reseeded from each entry: the draws differ from one entry to the next.
    expect(replies.size).toBeGreaterThan(20);

    const sha = (await onLeader(c, 'SCRIPT', 'LOAD', INCR)).split('\r\n')[1]!;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await onLeader(c, 'EVALSHA', sha, '1', 'counter', '5')).toBe(':5\r\n');

    // A script that fails after a write keeps the write (as Redis), everywhere.
    expect(await onLeader(c, 'EVAL', "redis.call('set', KEYS[1], 'partial') redis.call('incr', KEYS[2]) return 1", '2', '{p}a', '{p}b')).toBe(':1\r\n');
    expect(await onLeader(c, 'SET', '{p}b', 'notanumber')).toBe('+OK\r\n');
    const failed = await onLeader(c, 'EVAL', "redis.call('set', KEYS[1], 'again') redis.call('incr', KEYS[2]) return 1", '2', '{p}a', '{p}b');
    expect(failed).toMatch(/^-ERR value is not an integer or out of range script: /);
    expect(await onLeader(c, 'GET', '{p}a')).toBe('$5\r\nagain\r\n');

    // A runaway script is stopped by the budget after its first write, on every replica alike.
    const runaway = await onLeader(c, 'EVAL', "redis.call('set', KEYS[1], 'before') local i = 0 while true do i = i + 1 end", '1', 'runaway');
    expect(runaway).toMatch(/^-ERR Script exceeded its instruction budget script: /);
    expect(await onLeader(c, 'GET', 'runaway')).toBe('$6\r\nbefore\r\n');

    let digests = await converged(c, all);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);

    // kill -9 the leader: the new leader knows the script (replicated cache).
    const old = await c.waitForLeader();
    await c.kill9(old);
    const survivors = all.filter((id) => id !== old);
    await c.waitForLeader(15_000, [old]);
    expect(await onLeader(c, 'EVALSHA', sha, '1', 'counter', '2')).toBe(':7\r\n');
    // Enough entries for snapshots (every 40) on the survivors.
    for (let i = 0; i < 60; i++) await onLeader(c, 'EVALSHA', sha, '1', 'counter', '1');
    await c.startNode(old);
    digests = await converged(c, all);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);

    // Restart every node: each starts from its snapshot (and the log after it) and still knows the script.
    for (const id of all) await c.kill9(id);
    for (const id of all) await c.startNode(id);
    expect(await onLeader(c, 'EVALSHA', sha, '1', 'counter', '100')).toBe(':167\r\n');
    expect(await onLeader(c, 'SCRIPT', 'EXISTS', sha)).toBe('*1\r\n:1\r\n');
    for (const id of all) expect(c.logs(id)).toMatch(/snapshot/i);

    // SCRIPT FLUSH is replicated: EVALSHA answers NOSCRIPT on any leader.
    expect(await onLeader(c, 'SCRIPT', 'FLUSH')).toBe('+OK\r\n');
    expect(await onLeader(c, 'EVALSHA', sha, '1', 'counter', '1')).toBe('-NOSCRIPT No matching script. Please use EVAL.\r\n');
    digests = await converged(c, all);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
  });

  it('a follower answers MOVED for a script that may write, and runs a read-only one for a READONLY client', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    expect(await onLeader(c, 'SET', 'k', 'v')).toBe('+OK\r\n');
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    await converged(c, c.nodes.map((n) => n.id));
    const f = await c.client(follower);
    try {
      expect(await f.call('EVAL', "return redis.call('set', KEYS[1], 'x')", '1', 'k')).toMatch(/^-MOVED 7629 /);
      expect(await f.call('READONLY')).toBe('+OK\r\n');
      expect(await f.call('EVAL', "return redis.call('set', KEYS[1], 'x')", '1', 'k')).toMatch(/^-MOVED 7629 /);
      expect(await f.call('EVAL_RO', "return redis.call('get', KEYS[1])", '1', 'k')).toBe('$1\r\nv\r\n');
      expect(await f.call('EVAL', "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", '1', 'k')).toBe('$1\r\nv\r\n');
    } finally {
      f.close();
    }
  });

  it('a script without a shebang that provably only reads costs no log entry on EVALSHA, and a READONLY follower runs it', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    expect(await onLeader(c, 'SET', '{r}k', 'v')).toBe('+OK\r\n');
    const READ = "local v = redis.call('get', KEYS[1]) return {v, redis.call('exists', KEYS[1])}";
    const WRITE = "local v = redis.call('get', KEYS[1]) redis.call('set', KEYS[1], v .. '!') return v";
    // EVAL of a body not cached yet is an entry (it caches the body, as Redis's EVAL does).
    expect(await onLeader(c, 'EVAL', READ, '1', '{r}k')).toBe('*2\r\n$1\r\nv\r\n:1\r\n');
    const readSha = (await onLeader(c, 'SCRIPT', 'LOAD', READ)).split('\r\n')[1]!;
    const writeSha = (await onLeader(c, 'SCRIPT', 'LOAD', WRITE)).split('\r\n')[1]!;
    const all = c.nodes.map((n) => n.id);
    await converged(c, all);
    const applied = async (): Promise<number> => Number((await c.raftInfo(leader))!.applied_index);
    const before = await applied();
    for (let i = 0; i < 20; i++) expect(await onLeader(c, 'EVALSHA', readSha, '1', '{r}k')).toBe('*2\r\n$1\r\nv\r\n:1\r\n');
    expect(await onLeader(c, 'EVAL', READ, '1', '{r}k')).toBe('*2\r\n$1\r\nv\r\n:1\r\n');
    expect(await applied()).toBe(before);
    // A script that writes is still one entry per call, applied everywhere.
    expect(await onLeader(c, 'EVALSHA', writeSha, '1', '{r}k')).toBe('$1\r\nv\r\n');
    expect(await applied()).toBeGreaterThan(before);
    await converged(c, all);
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    const f = await c.client(follower);
    try {
      expect(await f.call('EVALSHA', readSha, '1', '{r}k')).toMatch(/^-MOVED \d+ /);
      expect(await f.call('READONLY')).toBe('+OK\r\n');
      expect(await f.call('EVALSHA', readSha, '1', '{r}k')).toBe('*2\r\n$2\r\nv!\r\n:1\r\n');
      expect(await f.call('EVALSHA', writeSha, '1', '{r}k')).toMatch(/^-MOVED \d+ /);
    } finally {
      f.close();
    }
  });

  it('a read-path EVAL_RO on the leader caches its body on every node (pipelined SCRIPT EXISTS answers 1); a READONLY follower cannot', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    expect(await onLeader(c, 'SET', 'k', 'v')).toBe('+OK\r\n');
    const BODY = "return redis.call('get', KEYS[1])";
    const sha = sha1hex(BODY);
    const l = await c.client(leader);
    try {
      // One write: the replies of a pipeline, in order (the leader's reads go through ReadIndex rounds here).
      const cmds = [['EVAL_RO', BODY, '1', 'k'], ['SCRIPT', 'EXISTS', sha], ['EVALSHA_RO', sha, '1', 'k']];
      let raw = '';
      for (const argv of cmds) raw += `*${argv.length}\r\n` + argv.map((a) => `$${a.length}\r\n${a}\r\n`).join('');
      const replies = [await withTimeout(l.send(raw), 10_000)];
      while (replies.length < cmds.length) replies.push(await withTimeout(l.next(), 10_000));
      expect(replies).toEqual(['$1\r\nv\r\n', '*1\r\n:1\r\n', '$1\r\nv\r\n']);
      // A cached body costs no further entry.
      const before = Number((await c.raftInfo(leader))!.applied_index);
      expect(await l.call('EVAL_RO', BODY, '1', 'k')).toBe('$1\r\nv\r\n');
      expect(Number((await c.raftInfo(leader))!.applied_index)).toBe(before);
    } finally {
      l.close();
    }
    const all = c.nodes.map((n) => n.id);
    await converged(c, all);
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    const f = await c.client(follower);
    try {
      expect(await f.call('READONLY')).toBe('+OK\r\n');
      expect(await f.call('SCRIPT', 'EXISTS', sha)).toBe('*1\r\n:1\r\n');
      // On a follower the body is run but not cached (it cannot propose): docs/decisions.md.
      expect(await f.call('EVAL_RO', 'return 3', '0')).toBe(':3\r\n');
      expect(await f.call('SCRIPT', 'EXISTS', sha1hex('return 3'))).toBe('*1\r\n:0\r\n');
    } finally {
      f.close();
    }
  });
});
