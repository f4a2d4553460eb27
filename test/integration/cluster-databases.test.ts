/**
 * Numbered databases on real processes: ioredis's `db` option on one node
 * (across a reconnect) and on a 3-node cluster through a leader failover
 * (--follower-writes proxy: the client stays on one node, which forwards
 * with its database); every node ends with the same data in every database
 * (RAFT.DIGEST covers them all); a node that catches up from a snapshot
 * has every database; active expiry deletes keys in a database other than 0;
 * --databases sets how many there are.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { converged } from '../helpers/cluster-ops.js';

let cluster: TestCluster | undefined;
let single: RaftisProcess | undefined;
const clients: Redis[] = [];
afterEach(async () => {
  for (const r of clients.splice(0)) r.disconnect();
  await Promise.all([cluster?.destroy(), single?.destroy()]);
  cluster = undefined;
  single = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ioredis(host: string, port: number, db: number): Redis {
  const r = new Redis({ host, port, db, maxRetriesPerRequest: 20, retryStrategy: (n) => (n > 100 ? null : 100) });
  r.on('error', () => {});
  clients.push(r);
  return r;
}

/** Retries an idempotent operation through a leader change (TRYAGAIN, CLUSTERDOWN, a closed connection), for at most ~20 s. */
async function retry<T>(op: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      return await op();
    } catch (e) {
      last = e;
      await sleep(200);
    }
  }
  throw last;
}

/** What node `id` holds (read locally, READONLY) under `key` in each database of `dbs`. */
async function valuesOn(c: TestCluster, id: number, key: string, dbs: number[]): Promise<string[]> {
  const cl = await c.client(id);
  try {
    await cl.call('READONLY');
    const out: string[] = [];
    for (const db of dbs) {
      await cl.call('SELECT', String(db));
      out.push(await cl.call('GET', key));
    }
    return out;
  } finally {
    cl.close();
  }
}

const bulk = (s: string): string => `$${s.length}\r\n${s}\r\n`;
const NIL = '$-1\r\n';

describe('numbered databases on one node', () => {
  it("ioredis's db option selects the database, again after a reconnect; --databases sets the count; active expiry works in any database", async () => {
    single = await startRaftis({ args: ['--databases', '6'] });
    const r4 = ioredis('127.0.0.1', single.port, 4);
    const r0 = ioredis('127.0.0.1', single.port, 0);
    expect(await r4.set('k', 'in4')).toBe('OK');
    expect(await r0.set('k', 'in0')).toBe('OK');
    expect(await r4.get('k')).toBe('in4');
    // The server closes r4's connection: ioredis reconnects and selects db 4 again.
    const id = await r4.client('ID');
    const admin = await RawClient.connect(single.port);
    try {
      expect(await admin.call('CLIENT', 'KILL', 'ID', String(id))).toBe(':1\r\n');
      expect(await retry(() => r4.get('k'))).toBe('in4');
      expect(await r4.client('ID')).not.toBe(id);
      expect(await r4.set('after', 'reconnect')).toBe('OK');
      expect(await admin.call('SELECT', '4')).toBe('+OK\r\n');
      expect(await admin.call('GET', 'after')).toBe(bulk('reconnect'));
      expect(await admin.call('SELECT', '0')).toBe('+OK\r\n');
      expect(await admin.call('GET', 'after')).toBe(NIL);
      // --databases 6: SELECT 5 is the last one.
      expect(await admin.call('CONFIG', 'GET', 'databases')).toBe('*2\r\n$9\r\ndatabases\r\n$1\r\n6\r\n');
      expect(await admin.call('SELECT', '5')).toBe('+OK\r\n');
      expect(await admin.call('SELECT', '6')).toBe('-ERR DB index is out of range\r\n');
      expect(await admin.call('MOVE', 'x', '6')).toBe('-ERR DB index is out of range\r\n');
      // Active expiry deletes in db 5 (DBSIZE counts keys until they are deleted).
      expect(await admin.call('SET', 'gone', 'v', 'PX', '30')).toBe('+OK\r\n');
      let size = '';
      for (let i = 0; i < 100 && size !== ':0\r\n'; i++) {
        await sleep(50);
        size = await admin.call('DBSIZE');
      }
      expect(size).toBe(':0\r\n');
      expect(await admin.call('INFO', 'keyspace')).toMatch(/db0:keys=1,expires=0,avg_ttl=0\r\ndb4:keys=2,expires=0,avg_ttl=0\r\n/);
    } finally {
      admin.close();
    }
  }, 60_000);
});

describe('numbered databases on a 3-node cluster', () => {
  it('writes in several databases survive a leader failover; an ioredis client with db on a proxying node keeps its database; every node holds the same data per database', async () => {
    cluster = await TestCluster.start({ args: ['--follower-writes', 'proxy'] });
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const follower = c.nodes.find((n) => n.id !== leader)!;
    const l = c.node(leader);
    const dbs = [0, 1, 2, 9];
    // The same key name in four databases, each with its own value; MULTI with SELECT inside; MOVE and SWAPDB.
    for (const db of dbs) {
      const r = ioredis(l.host, l.port, db);
      expect(await r.set('k', `v${db}`)).toBe('OK');
      expect(await r.hset('h', 'f', `${db}`)).toBe(1);
      expect(await r.expire('h', 100_000)).toBe(1);
      const tx = await r.multi().set('t', `tx${db}`).select(db === 9 ? 3 : db + 10).set('t', `moved-from-${db}`).exec();
      expect(tx).toEqual([
        [null, 'OK'],
        [null, 'OK'],
        [null, 'OK'],
      ]);
      // The transaction left the connection in the database it selected.
      expect(await r.get('t')).toBe(`moved-from-${db}`);
    }
    const admin = ioredis(l.host, l.port, 0);
    expect(await admin.set('m', 'mv')).toBe('OK');
    expect(await admin.move('m', 7)).toBe(1);
    expect(await admin.swapdb(1, 2)).toBe('OK');
    // A client with db 5 on a follower: writes are forwarded with their database.
    const viaFollower = ioredis(follower.host, follower.port, 5);
    expect(await viaFollower.set('p', 'before')).toBe('OK');

    let digests = await converged(c);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);

    // The leader dies; the follower's client keeps writing in db 5.
    await c.kill9(leader);
    const next = await c.waitForLeader(20_000, [leader]);
    expect(next).not.toBe(leader);
    expect(await retry(() => viaFollower.set('p', 'after'))).toBe('OK');
    expect(await retry(() => viaFollower.incr('n'))).toBeGreaterThanOrEqual(1);
    expect(await retry(() => viaFollower.get('p'))).toBe('after');
    await c.startNode(leader);
    digests = await converged(c);
    expect(digests.length).toBe(3);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);

    for (const n of c.nodes) {
      // SWAPDB 1 2 exchanged those two databases' contents.
      expect(await valuesOn(c, n.id, 'k', [0, 1, 2, 9, 3]), `node ${n.id}`).toEqual([bulk('v0'), bulk('v2'), bulk('v1'), bulk('v9'), NIL]);
      expect(await valuesOn(c, n.id, 't', [0, 10, 11, 12, 3]), `node ${n.id}`).toEqual([bulk('tx0'), bulk('moved-from-0'), bulk('moved-from-1'), bulk('moved-from-2'), bulk('moved-from-9')]);
      expect(await valuesOn(c, n.id, 'm', [0, 7]), `node ${n.id}`).toEqual([NIL, bulk('mv')]);
      expect(await valuesOn(c, n.id, 'p', [0, 5]), `node ${n.id}`).toEqual([NIL, bulk('after')]);
    }
  }, 120_000);

  it('a node that catches up from a snapshot has every database', async () => {
    cluster = await TestCluster.start({ args: ['--snapshot-entries', '200', '--snapshot-keep-entries', '20'] });
    const c = cluster;
    const leader = await c.waitForLeader();
    const l = c.node(leader);
    const lagging = c.nodes.find((n) => n.id !== leader)!.id;
    await c.kill9(lagging);
    // Enough entries in several databases for the leader to snapshot and compact past the stopped node.
    const dbs = [0, 3, 15];
    const writers = dbs.map((db) => ioredis(l.host, l.port, db));
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        writers.map(async (r, i) => {
          const p = r.pipeline();
          for (let j = 0; j < 60; j++) p.set(`s${j}`, `db${dbs[i]}-${round}-${j}`);
          p.rpush('list', `db${dbs[i]}-${round}`);
          p.zadd('z', round, `m${dbs[i]}`);
          await p.exec();
        }),
      );
    }
    expect(await writers[1]!.swapdb(3, 4)).toBe('OK');
    let li = await c.raftInfo(leader);
    for (let i = 0; i < 100 && !(Number(li?.first_index) > 30); i++) {
      await sleep(100);
      li = await c.raftInfo(leader);
    }
    expect(Number(li!.first_index)).toBeGreaterThan(30);
    await c.startNode(lagging);
    const digests = await converged(c);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
    expect(c.logs(lagging)).toMatch(/installed the leader's snapshot at index \d+/);
    expect(await valuesOn(c, lagging, 's7', [0, 3, 4, 15])).toEqual([bulk('db0-3-7'), NIL, bulk('db3-3-7'), bulk('db15-3-7')]);
    const cl = await c.client(lagging);
    try {
      await cl.call('READONLY');
      await cl.call('SELECT', '15');
      expect(await cl.call('LRANGE', 'list', '0', '-1')).toBe('*4\r\n' + [0, 1, 2, 3].map((r) => bulk(`db15-${r}`)).join(''));
      expect(await cl.call('DBSIZE')).toBe(':62\r\n');
      await cl.call('SELECT', '3');
      expect(await cl.call('DBSIZE')).toBe(':0\r\n');
    } finally {
      cl.close();
    }
  }, 120_000);

  it('a node started with another --databases is refused by its peers', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const other = c.nodes.find((n) => n.id !== leader)!.id;
    await c.kill9(other);
    await c.startNode(other, ['--databases', '32']);
    // Writes go on with the two nodes that agree; the third never applies them.
    const l = c.node(leader);
    const r = ioredis(l.host, l.port, 0);
    let log = '';
    for (let i = 0; i < 100 && !/cluster id mismatch/.test(log); i++) {
      await r.set('k', String(i));
      await sleep(100);
      log = c.logs(other) + c.logs(leader);
    }
    expect(log).toMatch(/cluster id mismatch: peer is in 'raftis( databases=32)?', this node in 'raftis( databases=32)?'/);
    const info = await c.raftInfo(other);
    expect(Number(info?.applied_index ?? 0)).toBeLessThan(Number((await c.raftInfo(leader))!.applied_index));
    const cl = await c.client(other);
    try {
      expect(await cl.call('CONFIG', 'GET', 'databases')).toBe('*2\r\n$9\r\ndatabases\r\n$2\r\n32\r\n');
    } finally {
      cl.close();
    }
  }, 60_000);
});
