/**
 * The parameters that take effect in raftis, side by side with
 * redis-server: proto-max-bulk-len (on connections already open and new
 * ones), timeout (idle clients closed; subscribed and blocked ones kept),
 * and the values INFO reports (maxmemory, maxmemory-policy, hz, maxclients).
 * SLOWLOG's and the latency monitor's parameters have their own tests.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient } from '../helpers/raw-client.js';
import { untilBlocked } from '../helpers/poll.js';

const env = useProcessDifferential();
const extra: RawClient[] = [];
afterAll(() => {
  for (const c of extra) c.close();
});

async function connect(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  extra.push(c);
  return c;
}

const infoLines = (info: string, fields: string[]): string[] => info.split('\r\n').filter((l) => fields.includes(l.split(':')[0]!));

describe('parameters that take effect', () => {
  it('proto-max-bulk-len: a longer bulk is a protocol error, on this connection and new ones', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'CONFIG', 'SET', 'proto-max-bulk-len', '1mb');
    const big = '*2\r\n$3\r\nGET\r\n$2000000\r\n';
    const [ra, rb] = [await a.send(big), await b.send(big)];
    expect(rb).toBe(ra);
    expect(ra).toBe('-ERR Protocol error: invalid bulk length\r\n');
    const [na, nb] = [await connect(env.diff.redis.port), await connect(env.raftis.port)];
    expect(await nb.send(big)).toBe(await na.send(big));
    const [ca, cb] = [await connect(env.diff.redis.port), await connect(env.raftis.port)];
    await same(ca, cb, 'CONFIG', 'SET', 'proto-max-bulk-len', '512mb');
    await same(ca, cb, 'CONFIG', 'GET', 'proto-max-bulk-len');
    const ok = '*2\r\n$3\r\nGET\r\n$2000000\r\n' + 'k'.repeat(2_000_000) + '\r\n';
    expect(await cb.send(ok)).toBe(await ca.send(ok));
  });

  it('timeout: an idle client is closed, a subscribed or blocked one is not', async () => {
    const [a, b] = await env.pair();
    const clients = async (port: number, control: RawClient): Promise<{ sub: RawClient; blocked: RawClient; popped: Promise<string>; idle: RawClient }> => {
      const sub = await connect(port);
      const blocked = await connect(port);
      const idle = await connect(port);
      // The subscribed and the blocked client are idle for longer than the plain one.
      await sub.call('SUBSCRIBE', 'config-timeout');
      const popped = blocked.call('BLPOP', 'config-timeout-list', '0').catch((e: Error) => e.message);
      await untilBlocked(control, 1);
      await idle.call('PING');
      return { sub, blocked, popped, idle };
    };
    const onRedis = await clients(env.diff.redis.port, a);
    const onRaftis = await clients(env.raftis.port, b);
    await same(a, b, 'CONFIG', 'SET', 'timeout', '1');
    try {
      for (const side of [onRedis, onRaftis]) {
        expect(await side.idle.closedPromise(20_000)).toBe(true);
        expect(side.sub.isClosed).toBe(false);
        expect(side.blocked.isClosed).toBe(false);
      }
      expect(await onRaftis.sub.call('PING')).toBe(await onRedis.sub.call('PING'));
    } finally {
      // a and b were idle too: new connections put timeout back.
      const [na, nb] = [await connect(env.diff.redis.port), await connect(env.raftis.port)];
      await same(na, nb, 'CONFIG', 'SET', 'timeout', '0');
      await same(na, nb, 'LPUSH', 'config-timeout-list', 'x');
    }
    expect(await onRaftis.popped).toBe(await onRedis.popped);
  });

  it('INFO reports maxmemory, maxmemory-policy, hz and maxclients as set', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'CONFIG', 'SET', 'maxmemory', '3gb', 'maxmemory-policy', 'allkeys-lfu', 'hz', '1000', 'maxclients', '5000');
    const fields = ['maxmemory', 'maxmemory_human', 'maxmemory_policy', 'hz', 'configured_hz', 'maxclients'];
    const lines = async (c: RawClient): Promise<string[]> => infoLines(await c.call('INFO'), fields);
    expect(await lines(b)).toEqual(await lines(a));
    expect(await lines(b)).toContain('maxmemory_policy:allkeys-lfu');
    await same(a, b, 'CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction', 'hz', '10', 'maxclients', '10000');
    expect(await lines(b)).toEqual(await lines(a));
  });

  it('encoding thresholds: OBJECT ENCODING converts where redis-server converts, by the old names too', async () => {
    const [a, b] = await env.pair();
    const params = ['hash-max-listpack-entries', 'hash-max-listpack-value', 'zset-max-listpack-entries', 'zset-max-listpack-value', 'set-max-intset-entries'];
    const before = await Promise.all(params.map((p) => b.call('CONFIG', 'GET', p)));
    try {
      await same(a, b, 'FLUSHALL');
      await same(a, b, 'CONFIG', 'SET', 'hash-max-ziplist-entries', '3', 'hash-max-listpack-value', '5', 'zset-max-ziplist-entries', '2');
      await same(a, b, 'CONFIG', 'SET', 'zset-max-listpack-value', '4', 'set-max-intset-entries', '3');
      const steps: string[][] = [
        ['HSET', 'h', 'a', '1', 'b', '2', 'c', '3'],
        ['OBJECT', 'ENCODING', 'h'],
        ['HSET', 'h', 'd', '4'],
        ['OBJECT', 'ENCODING', 'h'],
        ['HSET', 'hv', 'f', '12345'],
        ['OBJECT', 'ENCODING', 'hv'],
        ['HSET', 'hv', 'g', '123456'],
        ['OBJECT', 'ENCODING', 'hv'],
        ['ZADD', 'z', '1', 'a', '2', 'b'],
        ['OBJECT', 'ENCODING', 'z'],
        ['ZADD', 'z', '3', 'c'],
        ['OBJECT', 'ENCODING', 'z'],
        ['ZADD', 'zv', '1', 'abcde'],
        ['OBJECT', 'ENCODING', 'zv'],
        ['ZADD', 'zw', '1', 'abcd'],
        ['OBJECT', 'ENCODING', 'zw'],
        ['ZRANGESTORE', 'zs', 'z', '0', '1'],
        ['OBJECT', 'ENCODING', 'zs'],
        ['SADD', 's', '1', '2', '3'],
        ['OBJECT', 'ENCODING', 's'],
        ['SADD', 's', '4'],
        ['OBJECT', 'ENCODING', 's'],
        ['SCARD', 's'],
        ['HLEN', 'h'],
      ];
      for (const cmd of steps) await same(a, b, ...cmd);
    } finally {
      const pairs: string[] = [];
      for (const r of before) pairs.push(...r.split('\r\n').filter((l, i) => i % 2 === 0 && i > 0));
      await a.call('CONFIG', 'SET', ...pairs);
      await b.call('CONFIG', 'SET', ...pairs);
    }
  });

  it('hll-sparse-max-bytes: a sparse HLL becomes dense where redis-server makes it dense (the bytes GET returns)', async () => {
    const [a, b] = await env.pair();
    const before = await b.call('CONFIG', 'GET', 'hll-sparse-max-bytes');
    try {
      await same(a, b, 'CONFIG', 'SET', 'hll-sparse-max-bytes', '60');
      for (let i = 0; i < 40; i += 4) {
        await same(a, b, 'PFADD', 'hll-sparse', `m${i}`, `m${i + 1}`, `m${i + 2}`, `m${i + 3}`);
        // The encoding byte (0 dense, 1 sparse) and the whole value.
        await same(a, b, 'GETRANGE', 'hll-sparse', '4', '4');
        await same(a, b, 'GET', 'hll-sparse');
      }
      await same(a, b, 'PFCOUNT', 'hll-sparse');
      await same(a, b, 'PFADD', 'hll-other', 'x', 'y');
      await same(a, b, 'PFMERGE', 'hll-merged', 'hll-other', 'hll-sparse');
      await same(a, b, 'GET', 'hll-merged');
      await same(a, b, 'PFSELFTEST');
    } finally {
      const v = before.split('\r\n')[4]!;
      await a.call('CONFIG', 'SET', 'hll-sparse-max-bytes', v);
      await b.call('CONFIG', 'SET', 'hll-sparse-max-bytes', v);
      await a.call('DEL', 'hll-sparse', 'hll-other', 'hll-merged');
      await b.call('DEL', 'hll-sparse', 'hll-other', 'hll-merged');
    }
  });

  it('stream-node-max-entries / -bytes: XADD starts nodes where redis-server does (XINFO radix-tree-keys, XTRIM ~)', async () => {
    const [a, b] = await env.pair();
    const before = await Promise.all(['stream-node-max-entries', 'stream-node-max-bytes'].map((p) => b.call('CONFIG', 'GET', p)));
    try {
      for (const [entries, bytes] of [['10', '4096'], ['0', '120'], ['7', '0']] as const) {
        await same(a, b, 'DEL', 'sn');
        await same(a, b, 'CONFIG', 'SET', 'stream-node-max-entries', entries, 'stream-node-max-bytes', bytes);
        for (let i = 1; i <= 50; i++) await same(a, b, 'XADD', 'sn', `${i}-1`, 'f', 'v'.repeat(i % 7), ...(i % 5 === 0 ? ['g', 'w'] : []));
        await same(a, b, 'XDEL', 'sn', '3-1', '4-1');
        await same(a, b, 'XINFO', 'STREAM', 'sn');
        await same(a, b, 'XTRIM', 'sn', 'MAXLEN', '~', '25');
        await same(a, b, 'XLEN', 'sn');
        await same(a, b, 'XINFO', 'STREAM', 'sn');
      }
    } finally {
      const pairs: string[] = [];
      for (const r of before) pairs.push(...r.split('\r\n').filter((l, i) => i % 2 === 0 && i > 0));
      await a.call('CONFIG', 'SET', ...pairs);
      await b.call('CONFIG', 'SET', ...pairs);
      await a.call('DEL', 'sn');
      await b.call('DEL', 'sn');
    }
  });

  it('list-max-listpack-size / list-compress-depth: DUMP splits and LZF-compresses a list as redis-server (byte for byte), RESTORE reads its payloads', async () => {
    const [a, b] = await env.pair();
    const before = await Promise.all(['list-max-listpack-size', 'list-compress-depth'].map((p) => b.call('CONFIG', 'GET', p)));
    // Deterministic elements: small integers, repetitive text (compresses), scrambled text (does not), a few long ones.
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const scrambled = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(33 + (rnd() % 90))).join('');
    const elements = (n: number, kind: number): string[] =>
      Array.from({ length: n }, (_, i) =>
        kind === 0 ? String(i * 37 - 500) : kind === 1 ? `item:${i % 13}:${'ab'.repeat(i % 40)}` : kind === 2 ? scrambled(5 + (i % 70)) : i % 9 === 0 ? 'L'.repeat(300 + i * 40) : `e${i}`,
      );
    try {
      for (const [fill, depth] of [
        ['-2', '1'],
        ['-1', '2'],
        ['-3', '1'],
        ['-4', '3'],
        ['-5', '1'],
        ['-9', '1'],
        ['0', '0'],
        ['1', '1'],
        ['5', '2'],
        ['100', '1'],
        ['40000', '1'],
        ['-2', '0'],
      ] as const) {
        await same(a, b, 'CONFIG', 'SET', 'list-max-listpack-size', fill, 'list-compress-depth', depth);
        for (const [kind, n] of [[0, 400], [1, 600], [2, 300], [3, 120], [1, 3], [1, 40]] as const) {
          const els = elements(n, kind);
          await same(a, b, 'DEL', 'ql-r', 'ql-l', 'ql-rp', 'ql-lp');
          await same(a, b, 'RPUSH', 'ql-r', ...els);
          await same(a, b, 'LPUSH', 'ql-l', ...els);
          for (let i = 0; i < els.length; i += 50) await same(a, b, 'RPUSH', 'ql-rp', ...els.slice(i, i + 50));
          await same(a, b, 'RPOP', 'ql-rp', String(Math.floor(n / 3)));
          for (let i = 0; i < els.length; i += 50) await same(a, b, 'LPUSH', 'ql-lp', ...els.slice(i, i + 50));
          await same(a, b, 'LPOP', 'ql-lp', String(Math.floor(n / 3)));
          for (const key of ['ql-r', 'ql-l', 'ql-rp', 'ql-lp']) {
            const dump = await same(a, b, 'DUMP', key);
            await same(a, b, 'MEMORY', 'USAGE', key);
            await same(a, b, 'MEMORY', 'USAGE', key, 'SAMPLES', '0');
            // redis-server's payload, compressed nodes included, reads back the same list in raftis.
            const payload = dump.slice(dump.indexOf('\r\n') + 2, -2);
            expect(await b.call('RESTORE', 'ql-copy', '0', payload, 'REPLACE')).toBe('+OK\r\n');
            expect(await b.call('LRANGE', 'ql-copy', '0', '-1')).toBe(await a.call('LRANGE', key, '0', '-1'));
          }
        }
      }
      // A list keeps the fill and depth it was created with (quicklistCreate); COPY keeps them too.
      await same(a, b, 'CONFIG', 'SET', 'list-max-listpack-size', '3', 'list-compress-depth', '1');
      await same(a, b, 'RPUSH', 'ql-old', ...elements(40, 1));
      await same(a, b, 'CONFIG', 'SET', 'list-max-listpack-size', '-2', 'list-compress-depth', '0');
      await same(a, b, 'RPUSH', 'ql-old', ...elements(40, 2));
      await same(a, b, 'COPY', 'ql-old', 'ql-old2');
      await same(a, b, 'RPUSH', 'ql-new', ...elements(80, 1));
      for (const key of ['ql-old', 'ql-old2', 'ql-new']) {
        await same(a, b, 'DUMP', key);
        await same(a, b, 'MEMORY', 'USAGE', key);
      }
    } finally {
      const pairs: string[] = [];
      for (const r of before) pairs.push(...r.split('\r\n').filter((l, i) => i % 2 === 0 && i > 0));
      await a.call('CONFIG', 'SET', ...pairs);
      await b.call('CONFIG', 'SET', ...pairs);
      await a.call('DEL', 'ql-r', 'ql-l', 'ql-rp', 'ql-lp', 'ql-old', 'ql-old2', 'ql-new');
      await b.call('DEL', 'ql-old', 'ql-old2', 'ql-new');
      await b.call('DEL', 'ql-r', 'ql-l', 'ql-rp', 'ql-lp', 'ql-copy');
    }
  });

  it('acl-pubsub-default: the channels a new user, a selector and `reset` start with', async () => {
    const [a, b] = await env.pair();
    try {
      await same(a, b, 'CONFIG', 'SET', 'acl-pubsub-default', 'allchannels');
      await same(a, b, 'ACL', 'SETUSER', 'pd-u1');
      await same(a, b, 'ACL', 'SETUSER', 'pd-u2', '(+get ~k)');
      await same(a, b, 'ACL', 'SETUSER', 'pd-u3', '&foo');
      await same(a, b, 'ACL', 'SETUSER', 'pd-u4', 'resetchannels', '&foo', 'reset');
      await same(a, b, 'ACL', 'LIST');
      await same(a, b, 'CONFIG', 'SET', 'acl-pubsub-default', 'resetchannels');
      await same(a, b, 'ACL', 'SETUSER', 'pd-u5', '(+get)');
      await same(a, b, 'ACL', 'SETUSER', 'pd-u1', 'reset');
      await same(a, b, 'ACL', 'LIST');
      await same(a, b, 'ACL', 'GETUSER', 'pd-u2');
    } finally {
      for (const c of [a, b]) {
        await c.call('CONFIG', 'SET', 'acl-pubsub-default', 'resetchannels');
        await c.call('ACL', 'DELUSER', 'pd-u1', 'pd-u2', 'pd-u3', 'pd-u4', 'pd-u5');
      }
    }
  });

  it('tcp-keepalive: a new connection gets TCP keepalive after that many idle seconds, none with 0 (/proc/net/tcp)', async () => {
    const [a, b] = await env.pair();
    // The server side of a client's connection: local port = the server's, remote port = the client's.
    const timer = async (serverPort: number, c: RawClient): Promise<string> => {
      const info = await c.call('CLIENT', 'INFO');
      const clientPort = Number(/addr=[^ ]*:(\d+) /.exec(info)![1]);
      const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
      const line = (await import('node:fs')).readFileSync('/proc/net/tcp', 'utf8').split('\n').find((l) => {
        const f = l.trim().split(/\s+/);
        return f[1]?.endsWith(`:${hex(serverPort)}`) && f[2]?.endsWith(`:${hex(clientPort)}`);
      });
      if (line === undefined) throw new Error(`no socket ${serverPort} <- ${clientPort} in /proc/net/tcp`);
      const [active, when] = line.trim().split(/\s+/)[5]!.split(':');
      // timer_active 2: the keepalive timer; its expiry in jiffies (USER_HZ 100 as /proc shows it), as whole seconds, rounded up.
      return active === '02' ? `keepalive ~${Math.ceil(parseInt(when!, 16) / 100 / 10) * 10}s` : `timer ${active}`;
    };
    try {
      for (const secs of ['100', '0']) {
        await same(a, b, 'CONFIG', 'SET', 'tcp-keepalive', secs);
        const [na, nb] = [await connect(env.diff.redis.port), await connect(env.raftis.port)];
        const [ta, tb] = [await timer(env.diff.redis.port, na), await timer(env.raftis.port, nb)];
        expect(tb).toBe(ta);
        expect(ta).toBe(secs === '0' ? 'timer 00' : 'keepalive ~100s');
      }
    } finally {
      await a.call('CONFIG', 'SET', 'tcp-keepalive', '300');
      await b.call('CONFIG', 'SET', 'tcp-keepalive', '300');
    }
  });

  it('maxclients: a connection beyond it gets the error and is closed, counted in rejected_connections', async () => {
    const [a, b] = await env.pair();
    const outcomes: string[][] = [];
    for (const [main, port] of [[a, env.diff.redis.port], [b, env.raftis.port]] as const) {
      const list = await main.call('CLIENT', 'LIST');
      const open = list.split('\n').filter((l) => l.startsWith('id=')).length;
      expect(await main.call('CONFIG', 'SET', 'maxclients', String(open + 2))).toBe('+OK\r\n');
      const rejectedBefore = Number(/rejected_connections:(\d+)/.exec(await main.call('INFO', 'stats'))![1]);
      const got: string[] = [];
      const conns: RawClient[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const c = await RawClient.connect(port);
          conns.push(c);
          got.push((await c.call('PING').catch((e: Error) => `closed: ${e.message}`)).trim());
        }
      } finally {
        for (const c of conns) c.close();
        await main.call('CONFIG', 'SET', 'maxclients', '10000');
      }
      const rejectedAfter = Number(/rejected_connections:(\d+)/.exec(await main.call('INFO', 'stats'))![1]);
      got.push(`rejected +${rejectedAfter - rejectedBefore}`);
      outcomes.push(got);
    }
    expect(outcomes[0]).toEqual(['+PONG', '+PONG', '-ERR max number of clients reached', 'rejected +1']);
    // raftis runs in cluster mode: Redis Cluster's text.
    expect(outcomes[1]).toEqual(['+PONG', '+PONG', '-ERR max number of clients + cluster connections reached', 'rejected +1']);
  });
});
