/**
 * node-redis 5 (the `redis` package, pinned in package.json) through its own
 * public API, unchanged: the same scenario against redis-server 7.0.15 and a
 * single raftis node, side by side, in RESP2 and RESP3 (with client-side
 * caching, which is RESP3 only), results compared whole; then a 3-node raftis
 * cluster through node-redis's cluster client (createCluster: CLUSTER SLOTS,
 * MOVED), and a new cluster client after a kill -9 of the leader.
 *
 * What node-redis sends on its own is part of the comparison: HELLO on
 * connect, CLIENT SETINFO (which raftis accepts as Redis 7.2 does and
 * redis-server 7.0 refuses; node-redis ignores the answer either way),
 * SCAN/HSCAN/SSCAN/ZSCAN cursors, EVALSHA then EVAL on NOSCRIPT, FCALL,
 * CLIENT TRACKING for the cache.
 */
import { createClient, createCluster, createClientPool, defineScript, type RedisClusterType } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { useSideBySide, until, type Recorder } from '../helpers/lib-side-by-side.js';

const env = useSideBySide();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A script node-redis loads by EVALSHA (EVAL once on NOSCRIPT), as users define them. */
const incrTwice = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: "return redis.call('INCRBY', KEYS[1], ARGV[1]) * 2",
  parseCommand(parser, key: string, n: number) {
    parser.pushKey(key);
    parser.push(String(n));
  },
  transformReply: (r: unknown) => r as number,
});

const LIB = "#!lua name=mylib\nredis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)\nredis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";

async function scenario(port: number, rec: Recorder, RESP: 2 | 3): Promise<void> {
  const url = `redis://127.0.0.1:${port}`;
  const client = createClient({
    url,
    RESP,
    ...(RESP === 3 ? { clientSideCache: { ttl: 0, maxEntries: 0, evictPolicy: 'LRU' as const } } : {}),
    scripts: { incrTwice },
    functions: {
      mylib: {
        bump: {
          NUMBER_OF_KEYS: 1,
          parseCommand(parser, key: string, n: number) {
            parser.pushKey(key);
            parser.push(String(n));
          },
          transformReply: (r: unknown) => r as number,
        },
        peek: {
          NUMBER_OF_KEYS: 1,
          IS_READ_ONLY: true,
          parseCommand(parser, key: string) {
            parser.pushKey(key);
          },
          transformReply: (r: unknown) => r as string | null,
        },
      },
    },
  });
  const errors: string[] = [];
  client.on('error', (e: Error) => errors.push(e.message));
  await client.connect();
  try {
    await rec.step('set', () => client.set('k', 'v'));
    await rec.step('set options', () => client.set('k2', 'v2', { expiration: { type: 'EX', value: 100 }, condition: 'NX' }));
    await rec.step('get', () => client.get('k'));
    await rec.step('mget', () => client.mGet(['k', 'nokey', 'k2']));
    await rec.step('incr', () => client.incrBy('n', 5));
    await rec.step('hset', () => client.hSet('h', { a: '1', b: '2' }));
    await rec.step('hgetall', () => client.hGetAll('h'));
    await rec.step('hincrbyfloat', () => client.hIncrByFloat('h', 'a', 1.5));
    await rec.step('multi', () => client.multi().set('a', '1').incr('a').get('a').hGetAll('h').exec());
    await rec.step('pipeline', () => client.multi().set('b', '1').incr('b').get('nokey').execAsPipeline());
    await rec.step('multi error inside', () => client.multi().set('s', 'x').incr('s').get('s').exec());
    await rec.step('watch conflict', async () => {
      const other = client.duplicate();
      await other.connect();
      try {
        await client.watch('w');
        await other.set('w', '1');
        return await client.multi().set('w', '2').exec();
      } finally {
        other.destroy();
      }
    });
    await rec.step('wrongtype', () => client.lPush('h', 'x'));
    for (let i = 0; i < 50; i++) await client.set(`scan:${i}`, String(i));
    await rec.step('scanIterator', async () => {
      const seen: string[] = [];
      for await (const keys of client.scanIterator({ MATCH: 'scan:*', COUNT: 7 })) seen.push(...keys);
      return seen.sort();
    });
    await rec.step('scanIterator TYPE', async () => {
      const seen: string[] = [];
      for await (const keys of client.scanIterator({ TYPE: 'hash' })) seen.push(...keys);
      return seen.sort();
    });
    await client.hSet('hh', Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, `${i}`])));
    await client.sAdd('ss', Array.from({ length: 300 }, (_, i) => `m${i}`));
    await client.zAdd('zz', Array.from({ length: 300 }, (_, i) => ({ score: i, value: `m${i}` })));
    await rec.step('hScanIterator', async () => {
      let n = 0;
      for await (const entries of client.hScanIterator('hh', { COUNT: 50 })) n += entries.length;
      return n;
    });
    await rec.step('sScanIterator', async () => {
      const seen = new Set<string>();
      for await (const members of client.sScanIterator('ss')) for (const m of members) seen.add(m);
      return seen.size;
    });
    await rec.step('zScanIterator', async () => {
      let n = 0;
      for await (const members of client.zScanIterator('zz', { MATCH: 'm1*' })) n += members.length;
      return n;
    });
    await rec.step('zRangeWithScores', () => client.zRangeWithScores('zz', 0, 2));
    await rec.step('zmpop', () => client.zmPop(['zz'], 'MIN', { COUNT: 2 }));
    await rec.step('script', () => client.incrTwice('ctr', 5));
    await rec.step('script again (EVALSHA)', () => client.incrTwice('ctr', 5));
    await rec.step('script after SCRIPT FLUSH (NOSCRIPT, then EVAL)', async () => {
      await client.scriptFlush();
      return client.incrTwice('ctr', 1);
    });
    await rec.step('eval error', () => client.eval("return redis.call('INCR', KEYS[1])", { keys: ['s'] }));
    await rec.step('functionLoad', () => client.functionLoad(LIB, { REPLACE: true }));
    await rec.step('fcall', () => client.mylib.bump('fk', 3));
    await rec.step('fcall_ro', () => client.mylib.peek('fk'));
    await rec.step('functionList', async () => (await client.functionList()).map((l) => [l.library_name, l.engine, l.functions.map((f) => f.name).sort()]));
    await rec.step('functionStats engines', async () => Object.keys((await client.functionStats()).engines ?? {}));
    await rec.step('scriptExists', () => client.scriptExists(['0000000000000000000000000000000000000000']));

    // Pub/sub on a second connection: channels, patterns, shard channels, introspection.
    const sub = client.duplicate();
    await sub.connect();
    const heard: string[] = [];
    await sub.subscribe('ch', (m: string) => heard.push(`ch ${m}`));
    await sub.pSubscribe('p*', (m: string, c: string) => heard.push(`p ${c} ${m}`));
    await sub.sSubscribe('sch', (m: string) => heard.push(`s ${m}`));
    await rec.step('publish', () => client.publish('ch', 'hello'));
    await rec.step('publish pattern', () => client.publish('px', 'pat'));
    await rec.step('spublish', () => client.sPublish('sch', 'shard'));
    await until(() => heard.length >= 3, 5000);
    await rec.step('heard', () => [...heard].sort());
    await rec.step('pubsub numsub', () => client.pubSubNumSub(['ch', 'none']));
    await rec.step('pubsub channels', () => client.pubSubChannels());
    await rec.step('pubsub numpat', () => client.pubSubNumPat());
    await rec.step('pubsub shardnumsub', () => client.pubSubShardNumSub(['sch']));
    await sub.unsubscribe('ch');
    await sub.pUnsubscribe();
    await sub.sUnsubscribe();
    await sub.close();

    // Blocking commands on their own connection, and a client pool.
    await rec.step('blPop', async () => {
      const b = client.duplicate();
      await b.connect();
      try {
        const p = b.blPop('bl', 5);
        await until(async () => (await client.clientList()).some((c) => c.cmd === 'blpop'), 5000);
        await client.rPush('bl', 'x');
        return await p;
      } finally {
        b.destroy();
      }
    });
    await rec.step('pool', async () => {
      const pool = createClientPool({ url, RESP });
      await pool.connect();
      try {
        return await Promise.all([pool.blPop('nothing', 0.1), pool.get('k'), pool.incr('poolctr')]);
      } finally {
        await pool.close();
      }
    });

    // Streams with a consumer group.
    await rec.step('xGroupCreate MKSTREAM', () => client.xGroupCreate('st', 'g', '$', { MKSTREAM: true }));
    await client.xAdd('st', '1-1', { a: '1' });
    await client.xAdd('st', '1-2', { b: '2' });
    await rec.step('xReadGroup', () => client.xReadGroup('g', 'c1', { key: 'st', id: '>' }, { COUNT: 1 }));
    await rec.step('xPending', () => client.xPending('st', 'g'));
    await rec.step('xAck', () => client.xAck('st', 'g', '1-1'));
    await rec.step('xReadGroup rest', () => client.xReadGroup('g', 'c1', { key: 'st', id: '>' }));
    await rec.step('xAutoClaim', () => client.xAutoClaim('st', 'g', 'c2', 0, '0-0'));
    await rec.step('xInfoGroups', async () => (await client.xInfoGroups('st')).map((g) => [g.name, g.consumers, g.pending, g['last-delivered-id']]));
    await rec.step('xInfoStream length', async () => (await client.xInfoStream('st')).length);
    await rec.step('xRange', () => client.xRange('st', '-', '+'));

    // Client-side caching (RESP3): a cached read, then the invalidation after a write.
    await rec.step('cached get', async () => {
      await client.set('cached', '1');
      const a = await client.get('cached');
      const b = await client.get('cached');
      await client.set('cached', '2');
      // The invalidation push arrives after the write's reply: wait for the fresh value.
      await until(async () => (await client.get('cached')) === '2', 5000);
      return [a, b, await client.get('cached')];
    });

    // Introspection that node-redis wraps.
    await rec.step('objectEncoding', () => client.objectEncoding('hh'));
    await rec.step('memoryUsage > 0', async () => ((await client.memoryUsage('hh')) ?? 0) > 0);
    await rec.step('configGet', () => client.configGet('maxmemory-policy'));
    await rec.step('info keyspace', async () => (await client.info('keyspace')).split('\r\n')[0]);
    await rec.step('clientInfo keys', async () => Object.keys(await client.clientInfo()).sort());
    await rec.step('clientSetName/GetName', async () => [await client.clientSetName('me'), await client.clientGetName()]);
    await rec.step('ping', () => client.ping());
    await rec.step('echo', () => client.echo('x'));
    await rec.step('type', () => client.type('st'));
    await rec.step('copy', () => client.copy('hh', 'hh2'));
    await rec.step('expire + ttl', async () => [await client.expire('hh2', 100), await client.ttl('hh2')]);
    await rec.step('getEx PERSIST', () => client.getEx('k2', { type: 'PERSIST' }));
    await rec.step('lcs', async () => {
      await client.mSet({ l1: 'ohmytext', l2: 'mynewtext' });
      return client.lcs('l1', 'l2');
    });
    await rec.step('geo', async () => {
      await client.geoAdd('geo', [
        { longitude: 13.361389, latitude: 38.115556, member: 'Palermo' },
        { longitude: 15.087269, latitude: 37.502669, member: 'Catania' },
      ]);
      return client.geoSearch('geo', { longitude: 15, latitude: 37 }, { radius: 200, unit: 'km' });
    });
    await rec.step('pfCount', async () => {
      await client.pfAdd('hll', ['a', 'b', 'c', 'a']);
      return client.pfCount('hll');
    });
    await rec.step('bitField', () => client.bitField('bf', [{ operation: 'INCRBY', encoding: 'u8', offset: 0, increment: 5 }]));
    await rec.step('sortRo', async () => {
      await client.rPush('sl', ['3', '1', '2']);
      return client.sortRo('sl');
    });
    await rec.step('lmPop', () => client.lmPop(['sl'], 'LEFT', { COUNT: 2 }));
    await rec.step('dbSize', () => client.dbSize());
    await rec.step('flushAll SYNC', () => client.flushAll('SYNC'));
    await rec.step('errors emitted', () => errors);
  } finally {
    client.destroy();
  }
}

describe('node-redis 5 against redis-server 7.0 and raftis, side by side', () => {
  for (const RESP of [2, 3] as const) {
    it(`RESP${RESP}: every step gives the same result`, async () => {
      const { redis, raftis } = await env.run((port, rec) => scenario(port, rec, RESP));
      // redis-server's own record is what a working run looks like: only the expected failures.
      expect(redis.failures()).toEqual([
        expect.stringMatching(/^multi error inside: MultiErrorReply/),
        expect.stringMatching(/^watch conflict: WatchError/),
        expect.stringMatching(/^wrongtype: .*WRONGTYPE/),
        expect.stringMatching(/^eval error: .*not an integer/),
      ]);
      expect(raftis.steps).toEqual(redis.steps);
      expect(redis.get('heard')).toEqual({ ok: ['ch hello', 'p px pat', 's shard'] });
      expect(redis.get('scanIterator')).toEqual({ ok: Array.from({ length: 50 }, (_, i) => `scan:${i}`).sort() });
      expect(redis.get('cached get')).toEqual({ ok: ['1', '1', '2'] });
    }, 60_000);
  }
});

describe('node-redis 5 cluster client against a 3-node raftis cluster', () => {
  let cluster: TestCluster | undefined;
  let client: RedisClusterType | undefined;
  afterEach(async () => {
    // destroy() throws on a client that closed itself: the cluster must be stopped all the same.
    try {
      client?.destroy();
    } catch {
      /* already closed */
    }
    await cluster?.destroy();
    cluster = undefined;
    client = undefined;
  });

  it('discovers the leader by CLUSTER SLOTS; pub/sub, MULTI, scripts, SCAN per master; a new client after a leader kill -9', async () => {
    const c = (cluster = await TestCluster.start({ size: 3 }));
    await c.waitForSettledLeader();
    // Every node as a root node: node-redis asks one for the slot map.
    client = createCluster({
      rootNodes: c.nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })),
      defaults: { socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => (retries > 100 ? false : 100) } },
    });
    client.on('error', () => {});
    await client.connect();
    const cl = client;

    for (let i = 0; i < 30; i++) await cl.set(`k${i}`, String(i));
    expect(await cl.get('k7')).toBe('7');
    expect(await cl.hSet('{h}map', { a: '1', b: '2' })).toBe(2);
    expect(await cl.hGetAll('{h}map')).toEqual({ a: '1', b: '2' });
    expect(await cl.multi().set('{t}a', '1').incr('{t}a').get('{t}a').exec()).toEqual(['OK', 2, '2']);
    expect(await cl.eval("return redis.call('GET', KEYS[1])", { keys: ['k3'] })).toBe('3');

    const heard: string[] = [];
    await cl.subscribe('ch', (m: string) => heard.push(m));
    await cl.sSubscribe('sch', (m: string) => heard.push(m));
    await cl.publish('ch', 'hello');
    await cl.sPublish('sch', 'shard');
    expect(await until(() => heard.length >= 2, 5000)).toBe(true);
    expect([...heard].sort()).toEqual(['hello', 'shard']);

    // SCAN over every master node-redis knows (connect-redis does this too).
    const seen: string[] = [];
    for (const m of cl.masters) {
      const nc = await cl.nodeClient(m);
      for await (const keys of nc.scanIterator({ MATCH: 'k*' })) seen.push(...keys);
    }
    expect(new Set(seen).size).toBe(30);

    // kill -9 of the leader. node-redis 5 asks for the slot map again only
    // on MOVED or ASK, never when a node's connection dies (node-redis issue
    // #2806; ioredis refreshes it on a timer): against a redis-server cluster
    // too, the client keeps reconnecting to the dead master. An application
    // recreates its cluster client with the same root nodes, the dead one
    // first: node-redis skips it and finds the new leader.
    const old = await c.waitForLeader();
    client.destroy();
    client = undefined;
    await c.kill9(old);
    await c.waitForLeader(20_000, [old]);
    const dead = c.node(old);
    const fresh = (client = createCluster({
      rootNodes: [dead, ...c.nodes.filter((n) => n.id !== old)].map((n) => ({ url: `redis://${n.host}:${n.port}` })),
      defaults: { socket: { connectTimeout: 1000, reconnectStrategy: false } },
    }));
    fresh.on('error', () => {});
    let connected = false;
    for (let i = 0; i < 50 && !connected; i++) {
      try {
        await withTimeout(fresh.connect(), 5000);
        connected = true;
      } catch {
        await sleep(200);
      }
    }
    expect(connected).toBe(true);
    expect(await fresh.set('after', 'kill')).toBe('OK');
    expect(await fresh.get('after')).toBe('kill');
    expect(await fresh.get('k29')).toBe('29');
    expect(await fresh.multi().incr('{t}a').exec()).toEqual([3]);
  }, 90_000);
});
