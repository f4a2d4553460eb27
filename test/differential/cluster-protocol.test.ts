/**
 * The Redis Cluster commands of a 3-node raftis cluster: CLUSTER KEYSLOT and
 * the argument errors compared with a real cluster-enabled redis-server; the
 * shape of CLUSTER SLOTS/SHARDS/NODES/INFO/MYID, COUNTKEYSINSLOT and
 * GETKEYSINSLOT, INFO replication and RAFT.INFO checked against the cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { createPrng } from '../../src/util/prng.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let cluster: TestCluster;
let redis: RedisServer;
const confDir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-rc-'));

beforeAll(async () => {
  [cluster, redis] = await Promise.all([
    TestCluster.start({ size: 3 }),
    startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', path.join(confDir, 'nodes.conf')]),
  ]);
});
afterAll(async () => {
  await Promise.all([cluster?.destroy(), redis?.stop()]);
  fs.rmSync(confDir, { recursive: true, force: true });
});

describe('cluster protocol', () => {
  it('CLUSTER KEYSLOT and argument errors match redis-server', async () => {
    const leader = await cluster.waitForLeader();
    const a = await RawClient.connect(redis.port);
    const b = await cluster.client(leader);
    const r = createPrng(99);
    const keys = ['foo', 'bar', '{user1000}.following', '{user1000}.followers', 'foo{}{bar}', 'foo{{bar}}zap', 'foo{bar}{zap}', '{', '}', '{}', 'a{b', ''];
    for (let i = 0; i < 200; i++) {
      let k = '';
      const n = Math.floor(r() * 12);
      for (let j = 0; j < n; j++) k += String.fromCharCode(r() < 0.2 ? [123, 125][Math.floor(r() * 2)]! : Math.floor(r() * 256));
      keys.push(k);
    }
    for (const k of keys) expect(await b.call('CLUSTER', 'KEYSLOT', k), JSON.stringify(k)).toBe(await a.call('CLUSTER', 'KEYSLOT', k));
    for (const args of [
      ['COUNTKEYSINSLOT', '99999'],
      ['COUNTKEYSINSLOT', '-1'],
      ['COUNTKEYSINSLOT', 'x'],
      ['GETKEYSINSLOT', 'x', '1'],
      ['GETKEYSINSLOT', '1', '-1'],
      ['GETKEYSINSLOT', '16384', '1'],
      ['KEYSLOT'],
      ['NOSUCH'],
    ]) {
      expect(await b.call('CLUSTER', ...args), args.join(' ')).toBe(await a.call('CLUSTER', ...args));
    }
    a.close();
    b.close();
  });

  it('describes the one Raft group as one shard: leader master, followers replicas', async () => {
    const leader = await cluster.waitForSettledLeader();
    const l = cluster.node(leader);
    const c = await cluster.client(leader);
    for (let i = 0; i < 20; i++) await c.call('SET', `{slot}k${i}`, 'v');
    const slot = Number((await c.call('CLUSTER', 'KEYSLOT', '{slot}')).slice(1, -2));
    expect(await c.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe(':20\r\n');
    const got = await c.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '5');
    expect(got.startsWith('*5\r\n')).toBe(true);
    const myid = (await c.call('CLUSTER', 'MYID')).split('\r\n')[1]!;
    expect(myid).toMatch(/^[0-9a-f]{40}$/);
    const nodes = (await c.call('CLUSTER', 'NODES')).split('\r\n')[1]!.split('\n').filter(Boolean);
    expect(nodes).toHaveLength(3);
    const mine = nodes.find((n) => n.startsWith(myid))!;
    expect(mine).toContain(`${l.host}:${l.port}@${l.clusterPort} myself,master - 0 0 `);
    expect(mine.endsWith('connected 0-16383')).toBe(true);
    for (const line of nodes.filter((n) => n !== mine)) expect(line.split(' ').slice(2, 4)).toEqual(['slave', myid]);
    const info = await c.call('CLUSTER', 'INFO');
    expect(info).toContain('cluster_state:ok\r\n');
    expect(info).toContain('cluster_known_nodes:3\r\n');
    const shards = await c.call('CLUSTER', 'SHARDS');
    expect(shards.startsWith('*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*3\r\n')).toBe(true);
    expect((shards.match(/\$6\r\nmaster\r\n/g) ?? []).length).toBe(1);
    expect((shards.match(/\$7\r\nreplica\r\n/g) ?? []).length).toBe(2);
    const repl = await c.call('INFO', 'replication');
    expect(repl).toContain('role:master');
    expect(repl).toContain('connected_slaves:2');
    const raft = await c.call('RAFT.INFO');
    expect(raft).toContain(`node_id:${leader}\r\n`);
    expect(raft).toContain('role:leader\r\n');
    expect(raft).toMatch(/peer_\d:id=\d,addr=[\d.]+:\d+,cluster_addr=[\d.]+:\d+,connected=yes,match=\d+,next=\d+,state=StateReplicate/);
    const follower = cluster.nodes.find((n) => n.id !== leader)!;
    const f = await cluster.client(follower.id);
    const frepl = await f.call('INFO', 'replication');
    expect(frepl).toContain('role:slave');
    expect(frepl).toContain(`master_host:${l.host}`);
    expect(frepl).toContain(`master_port:${l.port}`);
    f.close();
    c.close();
  });

  it('ROLE: the leader is master with the followers as replicas; WAIT counts the followers that hold a write', async () => {
    const leader = await cluster.waitForLeader();
    const l = cluster.node(leader);
    const c = await cluster.client(leader);
    expect(await c.call('SET', 'role-k', 'v')).toBe('+OK\r\n');
    // Both followers hold the write (WAIT waits for them, bounded), then ROLE lists their match indexes.
    expect(await c.call('WAIT', '2', '5000')).toBe(':2\r\n');
    expect(await c.call('WAIT', '3', '50')).toBe(':2\r\n');
    const role = await c.call('ROLE');
    const m = /^\*3\r\n\$6\r\nmaster\r\n:(\d+)\r\n\*2\r\n((?:\*3\r\n\$\d+\r\n[\d.]+\r\n\$\d+\r\n\d+\r\n\$\d+\r\n\d+\r\n){2})$/.exec(role);
    expect(m, role).not.toBeNull();
    const ports = [...m![2]!.matchAll(/\$\d+\r\n([\d.]+)\r\n\$\d+\r\n(\d+)\r\n\$\d+\r\n(\d+)\r\n/g)];
    const followers = cluster.nodes.filter((n) => n.id !== leader);
    expect(ports.map((p) => `${p[1]}:${p[2]}`).sort()).toEqual(followers.map((n) => `${n.host}:${n.port}`).sort());
    for (const p of ports) expect(Number(p[3])).toBeGreaterThan(0);
    const f = await cluster.client(followers[0]!.id);
    expect(await f.call('ROLE')).toMatch(new RegExp(`^\\*5\\r\\n\\$5\\r\\nslave\\r\\n\\$${l.host.length}\\r\\n${l.host.replace(/\./g, '\\.')}\\r\\n:${l.port}\\r\\n\\$9\\r\\nconnected\\r\\n:\\d+\\r\\n$`));
    expect(await f.call('WAIT', '1', '0')).toMatch(/^-ERR WAIT cannot be used with replica instances/);
    f.close();
    c.close();
  });
});
