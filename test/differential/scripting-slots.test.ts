/**
 * The slot rules of scripts follow the size of the Raft group: a raftis of
 * one voter is a standalone redis-server (keys of any slots, declared or
 * not; `no-cluster` scripts run), a group of several is Redis Cluster (one
 * shard owning every slot: CROSSSLOT, "non local key", "do not hash to the
 * same slot", no-cluster refused). The same commands run on a one-node
 * raftis and a standalone redis-server, and on the leader of a 3-node raftis
 * and a redis-server in cluster mode; replies compared byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { startRedisCluster } from '../helpers/redis-cluster-server.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { allStarted } from '../helpers/settled.js';
import { TestCluster } from '../helpers/cluster.js';

const Z40 = '0'.repeat(40);
const LIBRARY =
  '#!lua name=slots\n' +
  "redis.register_function('two', function(keys) return redis.call('mset', keys[1], '1', keys[2], '2') end)\n" +
  "redis.register_function{function_name='nc', callback=function() return 1 end, flags={'no-cluster'}}";

/** Commands whose replies depend on the slot rule; run in order on one connection. */
const COMMANDS: string[][] = [
  ['EVAL', "return redis.call('mset', KEYS[1], '1', KEYS[2], '2')", '2', 'a', 'b'],
  ['GET', 'b'],
  ['EVAL', 'return 1', '2', 'a', 'b'],
  ['EVALSHA', Z40, '2', 'a', 'b'],
  ['EVAL', 'return 1', '2', '{a}1', '{a}2'],
  ['EVAL', "#!lua\nredis.call('set', 'a', '1') return redis.call('set', 'b', '1')", '0'],
  ['EVAL', "#!lua\nreturn redis.call('get', 'b')", '1', 'a'],
  ['EVAL', "#!lua flags=allow-cross-slot-keys\nreturn redis.call('get', 'b')", '1', 'a'],
  ['EVAL', "redis.call('set', 'a', 'x') return redis.call('set', 'b', 'y')", '0'],
  ['EVAL', "return redis.call('mset', 'a', '1', 'b', '2')", '0'],
  ['EVAL', "return redis.pcall('mget', 'a', 'b')", '0'],
  ['EVAL_RO', "return redis.call('mget', KEYS[1], KEYS[2])", '2', 'a', 'b'],
  ['EVAL', '#!lua flags=no-cluster\nreturn 1', '0'],
  ['EVAL', "#!lua\nreturn redis.call('spublish', 'a', 'x')", '1', 'b'],
  ['MULTI'],
  ['EVAL', "return redis.call('mset', KEYS[1], 'm1', KEYS[2], 'm2')", '2', 'a', 'b'],
  ['EXEC'],
  ['FUNCTION', 'LOAD', 'REPLACE', LIBRARY],
  ['FCALL', 'two', '2', 'a', 'b'],
  ['FCALL', 'nc', '0'],
  ['MGET', '{a}1', '{a}2'],
  ['GET', 'a'],
  ['GET', 'b'],
];

async function run(port: number, cmds: readonly string[][], host = '127.0.0.1'): Promise<string[]> {
  const c = await RawClient.connect(port, host);
  try {
    const out: string[] = [];
    for (const cmd of cmds) out.push(await c.call(...cmd));
    return out;
  } finally {
    c.close();
  }
}

/** The commands whose replies differ: [command, reference, raftis]. */
function mismatches(ref: string[], got: string[]): [string, string, string][] {
  return COMMANDS.flatMap((cmd, i) => (ref[i] === got[i] ? [] : [[JSON.stringify(cmd), ref[i]!, got[i]!] as [string, string, string]]));
}

describe('script slot rules: one voter is a standalone redis-server, several are Redis Cluster', () => {
  let standalone: RedisServer | undefined;
  let clusterMode: RedisServer | undefined;
  let single: RaftisProcess | undefined;
  let cluster: TestCluster | undefined;

  beforeAll(async () => {
    await allStarted([
      startRedisServer().then((s) => (standalone = s)),
      startRedisCluster().then((s) => (clusterMode = s)),
      startRaftis().then((s) => (single = s)),
      TestCluster.start().then((c) => (cluster = c)),
    ]);
  });
  afterAll(async () => {
    await Promise.all([standalone?.stop(), clusterMode?.stop(), single?.destroy(), cluster?.destroy()]);
  });

  it('a one-node raftis answers as a standalone redis-server: keys in two slots work', async () => {
    const [ref, got] = await Promise.all([run(standalone!.port, COMMANDS), run(single!.port, COMMANDS)]);
    expect(mismatches(ref, got)).toEqual([]);
    expect(got[0]).toBe('+OK\r\n');
    expect(got[1]).toBe('$1\r\n2\r\n');
  });

  it('the leader of a 3-node raftis answers as Redis Cluster: CROSSSLOT', async () => {
    const leader = await cluster!.waitForSettledLeader();
    // Each node of a TestCluster listens on its own loopback address (127.0.0.<id>).
    const { port, host } = cluster!.nodes.find((n) => n.id === leader)!;
    const [ref, got] = await Promise.all([run(clusterMode!.port, COMMANDS), run(port, COMMANDS, host)]);
    expect(mismatches(ref, got)).toEqual([]);
    expect(got[0]).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
  });
});
