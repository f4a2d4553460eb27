/**
 * Redis 7.0 functions on a 3-node cluster: FUNCTION LOAD / DELETE / RESTORE
 * are log entries and the libraries state-machine state, so FCALL works on
 * a new leader after kill -9, on nodes restarted from their snapshots, and
 * on a follower whose data directory was wiped (brought back by the
 * leader's snapshot); an FCALL that may write is one entry run on every
 * replica (the same RAFT.DIGEST everywhere), a no-writes one is a read that
 * a READONLY follower serves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { converged, onLeader, wipeNode } from '../helpers/cluster-ops.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/** What a READONLY client of node `id` gets for each command (served locally). */
async function onNode(c: TestCluster, id: number, cmds: string[][]): Promise<string[]> {
  const cl = await c.client(id);
  try {
    expect(await cl.call('READONLY')).toBe('+OK\r\n');
    const out: string[] = [];
    for (const cmd of cmds) out.push(await cl.call(...cmd));
    return out;
  } finally {
    cl.close();
  }
}

const LIB = [
  '#!lua name=counters',
  "redis.register_function('add', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)",
  "redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}",
  "redis.register_function('draw', function(keys) redis.call('set', keys[1], math.random(1000000000)) return redis.call('get', keys[1]) end)",
  "redis.register_function('spin', function(keys) redis.call('set', keys[1], 'before') while true do end end)",
].join('\n');
const LIB2 = "#!lua name=extra\nredis.register_function('twice', function(keys, args) return args[1] .. args[1] end)";

describe('functions on a 3-node cluster', () => {
  it('libraries replicate, survive kill -9 of the leader, snapshots + restarts and a wiped follower; FCALL leaves the same state everywhere', async () => {
    cluster = await TestCluster.start({ args: ['--snapshot-entries', '40', '--snapshot-keep-entries', '10', '--lua-instruction-budget', '5000000'] });
    const c = cluster;
    const all = c.nodes.map((n) => n.id);

    expect(await onLeader(c, 'FUNCTION', 'LOAD', LIB)).toBe('$8\r\ncounters\r\n');
    expect(await onLeader(c, 'FUNCTION', 'LOAD', LIB2)).toBe('$5\r\nextra\r\n');
    expect(await onLeader(c, 'FCALL', 'add', '1', 'counter', '5')).toBe(':5\r\n');
    // math.random is reseeded from each entry: every replica draws the same, the draws differ between entries.
    const draws = new Set<string>();
    for (let i = 0; i < 10; i++) draws.add(await onLeader(c, 'FCALL', 'draw', '1', 'drawn'));
    expect(draws.size).toBeGreaterThan(5);
    // A runaway function is stopped by the budget after its first write, on every replica alike.
    expect(await onLeader(c, 'FCALL', 'spin', '1', 'spun')).toMatch(/^-ERR Script exceeded its instruction budget script: spin, on @user_function:5\.\r\n$/);
    expect(await onLeader(c, 'GET', 'spun')).toBe('$6\r\nbefore\r\n');
    let digests = await converged(c, all);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
    // Every node has the libraries: a READONLY client of each runs the no-writes function and lists them.
    const list = await onLeader(c, 'FUNCTION', 'LIST', 'WITHCODE');
    for (const id of all) expect(await onNode(c, id, [['FCALL_RO', 'peek', '1', 'counter'], ['FCALL', 'peek', '1', 'counter'], ['FUNCTION', 'LIST', 'WITHCODE']])).toEqual(['$1\r\n5\r\n', '$1\r\n5\r\n', list]);

    // kill -9 the leader: the new leader has the libraries.
    const old = await c.waitForLeader();
    await c.kill9(old);
    await c.waitForLeader(15_000, [old]);
    expect(await onLeader(c, 'FCALL', 'add', '1', 'counter', '2')).toBe(':7\r\n');
    expect(await onLeader(c, 'FUNCTION', 'DELETE', 'extra')).toBe('+OK\r\n');
    // Enough entries for snapshots (every 40) on the survivors; the old leader catches up.
    for (let i = 0; i < 60; i++) await onLeader(c, 'FCALL', 'add', '1', 'counter', '1');
    await c.startNode(old);
    digests = await converged(c, all);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
    expect(await onNode(c, old, [['FCALL', 'twice', '0', 'x'], ['FCALL_RO', 'peek', '1', 'counter']])).toEqual(['-ERR Function not found\r\n', '$2\r\n67\r\n']);

    // Restart every node: each starts from its snapshot (and the log after it) and still has the library.
    for (const id of all) await c.kill9(id);
    for (const id of all) await c.startNode(id);
    expect(await onLeader(c, 'FCALL', 'add', '1', 'counter', '100')).toBe(':167\r\n');
    expect(await onLeader(c, 'FUNCTION', 'LIST', 'WITHCODE')).toBe(await onLeader(c, 'FUNCTION', 'LIST', 'LIBRARYNAME', 'counters', 'WITHCODE'));
    for (const id of all) expect(c.logs(id)).toMatch(/snapshot/i);

    // A follower with a wiped data directory gets the libraries with the leader's snapshot.
    const leader = await c.waitForLeader();
    const wiped = all.find((id) => id !== leader)!;
    await wipeNode(c, wiped);
    for (let i = 0; i < 60; i++) await onLeader(c, 'FCALL', 'add', '1', 'counter', '1');
    await c.startNode(wiped);
    digests = await converged(c, all);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
    expect(c.logs(wiped)).toMatch(/installed the leader's snapshot at index \d+/);
    expect(await onNode(c, wiped, [['FCALL_RO', 'peek', '1', 'counter'], ['FUNCTION', 'STATS']])).toEqual([
      '$3\r\n227\r\n',
      '*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:4\r\n',
    ]);

    // FUNCTION FLUSH is replicated: FCALL answers "Function not found" on any leader and every follower.
    expect(await onLeader(c, 'FUNCTION', 'FLUSH')).toBe('+OK\r\n');
    expect(await onLeader(c, 'FCALL', 'add', '1', 'counter', '1')).toBe('-ERR Function not found\r\n');
    await converged(c, all);
    for (const id of all) expect(await onNode(c, id, [['FCALL_RO', 'peek', '1', 'counter']])).toEqual(['-ERR Function not found\r\n']);
  });

  it('a follower answers MOVED for FCALL of a function that may write, and a READONLY client runs a no-writes one there', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    expect(await onLeader(c, 'FUNCTION', 'LOAD', LIB)).toBe('$8\r\ncounters\r\n');
    expect(await onLeader(c, 'SET', 'k', 'v')).toBe('+OK\r\n');
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    await converged(c, c.nodes.map((n) => n.id));
    const f = await c.client(follower);
    try {
      expect(await f.call('FCALL', 'add', '1', 'k', '1')).toMatch(/^-MOVED 7629 /);
      expect(await f.call('FUNCTION', 'LOAD', LIB2)).toMatch(/^-(MOVED|CLUSTERDOWN) /);
      expect(await f.call('READONLY')).toBe('+OK\r\n');
      expect(await f.call('FCALL', 'add', '1', 'k', '1')).toMatch(/^-MOVED 7629 /);
      expect(await f.call('FCALL_RO', 'peek', '1', 'k')).toBe('$1\r\nv\r\n');
      expect(await f.call('FCALL', 'peek', '1', 'k')).toBe('$1\r\nv\r\n');
      expect(await f.call('FCALL_RO', 'add', '1', 'k', '1')).toBe('-ERR Can not execute a script with write flag using *_ro command.\r\n');
    } finally {
      f.close();
    }
  });
});
