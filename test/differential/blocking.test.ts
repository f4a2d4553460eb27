/**
 * Blocking pops over TCP: each scenario runs against redis-server and
 * against a raftis process, and the replies must be the same bytes. Then
 * on a 3-node cluster: a client blocked on the leader is served by a push
 * and every replica ends with the same list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { untilApplied } from '../helpers/cluster-ops.js';
import { blockedClients, untilBlocked, within } from '../helpers/poll.js';

const env = useProcessDifferential();


type Scenario = (port: number, proto: 2 | 3) => Promise<string[]>;

async function connect(port: number, proto: 2 | 3, opened: RawClient[]): Promise<RawClient> {
  const c = await RawClient.connect(port);
  opened.push(c);
  if (proto === 3) await c.call('HELLO', '3');
  return c;
}

/** Runs a scenario with fresh connections (once no client of an earlier one is still blocked) and closes them afterwards. */
function scenario(body: (conn: () => Promise<RawClient>) => Promise<string[]>): Scenario {
  return async (port, proto) => {
    const opened: RawClient[] = [];
    try {
      const admin = await connect(port, 2, opened);
      await untilBlocked(admin, 0);
      await admin.call('FLUSHALL');
      return await body(() => connect(port, proto, opened));
    } finally {
      for (const c of opened) c.close();
    }
  };
}

const scenarios: Record<string, Scenario> = {
  'BLPOP is served by a later RPUSH from another client': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const popped = a.call('BLPOP', 'k1', 'k2', '0');
    const before = await within(popped, 150);
    await untilBlocked(b, 1);
    const blocked = await blockedClients(b);
    const pushed = await b.call('RPUSH', 'k2', 'x', 'y');
    const got = await popped;
    const after = await blockedClients(b);
    return [before, got, pushed, await b.call('LRANGE', 'k2', '0', '-1'), `blocked ${blocked} then ${after}`];
  }),
  'a timeout answers the null array': scenario(async (conn) => {
    const a = await conn();
    const t0 = Date.now();
    const r = await a.call('BLPOP', 'k', '0.2');
    const r2 = await a.call('BLMOVE', 'k', 'd', 'LEFT', 'LEFT', '0.1');
    const r3 = await a.call('BZPOPMIN', 'z', '0.1');
    return [r, r2, r3, String(Date.now() - t0 >= 380)];
  }),
  'two blocked clients are served in FIFO order': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const p = await conn();
    const ra = a.call('BRPOP', 'q', '0');
    await untilBlocked(p, 1);
    const rb = b.call('BRPOP', 'q', '0');
    await untilBlocked(p, 2);
    const first = await p.call('LPUSH', 'q', 'one');
    const got1 = await ra;
    const stillB = await within(rb, 150);
    await p.call('LPUSH', 'q', 'two');
    return [first, got1, stillB, await rb, await p.call('EXISTS', 'q')];
  }),
  'BLMOVE and BRPOPLPUSH wait for the source': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const p = await conn();
    const ra = a.call('BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', '0');
    const rb = b.call('BRPOPLPUSH', 'src2', 'dst', '5');
    await untilBlocked(p, 2);
    await p.call('RPUSH', 'src', 'v1', 'v2');
    await p.call('RPUSH', 'src2', 'w');
    return [await ra, await rb, await p.call('LRANGE', 'dst', '0', '-1'), await p.call('LRANGE', 'src', '0', '-1')];
  }),
  'BLMPOP and BZMPOP take up to COUNT once data arrives': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const p = await conn();
    const ra = a.call('BLMPOP', '0', '2', 'l1', 'l2', 'RIGHT', 'COUNT', '2');
    const rb = b.call('BZMPOP', '0', '1', 'z', 'MAX', 'COUNT', '5');
    await untilBlocked(p, 2);
    await p.call('RPUSH', 'l2', 'a', 'b', 'c');
    await p.call('ZADD', 'z', '1', 'm1', '2', 'm2');
    return [await ra, await rb, await p.call('LRANGE', 'l2', '0', '-1'), await p.call('EXISTS', 'z')];
  }),
  'BZPOPMIN and BZPOPMAX are served by ZADD': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const p = await conn();
    const ra = a.call('BZPOPMIN', 'z1', 'z2', '0');
    await untilBlocked(p, 1);
    const rb = b.call('BZPOPMAX', 'z2', '0');
    await untilBlocked(p, 2);
    await p.call('ZADD', 'z2', '1.5', 'x', '2.5', 'y', 'inf', 'z');
    return [await ra, await rb, await p.call('ZRANGE', 'z2', '0', '-1', 'WITHSCORES')];
  }),
  'commands sent after a blocked one wait for it': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    const ra = a.call('BLPOP', 'k', '0');
    const rl = a.next();
    a.sock.write('*2\r\n$4\r\nLLEN\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n');
    const rp = a.next();
    const early = await within(rl, 150);
    await p.call('RPUSH', 'k', 'a', 'b');
    return [early, await ra, await rl, await rp];
  }),
  'inside MULTI a blocking pop on an empty key answers at once': scenario(async (conn) => {
    const a = await conn();
    const out = [await a.call('MULTI')];
    for (const cmd of [['BLPOP', 'k', '0'], ['BLMOVE', 'k', 'd', 'LEFT', 'LEFT', '0'], ['BZPOPMIN', 'z', '0'], ['BLMPOP', '0', '1', 'k', 'LEFT'], ['RPUSH', 'k', 'v'], ['BRPOP', 'k', '0']]) out.push(await a.call(...cmd));
    out.push(await a.call('EXEC'));
    return out;
  }),
  'a client that disconnects while blocked takes nothing': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    void a.call('BLPOP', 'k', '0').catch(() => '');
    await untilBlocked(p, 1);
    a.close();
    await untilBlocked(p, 0);
    await p.call('RPUSH', 'k', 'kept');
    return [await p.call('LRANGE', 'k', '0', '-1')];
  }),
  'a client blocking on a key does not dirty a WATCH on it': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const out = [await a.call('WATCH', 'k')];
    out.push(await b.call('BLPOP', 'k', '0.1'));
    out.push(await a.call('MULTI'), await a.call('SET', 'x', '1'), await a.call('EXEC'));
    out.push(await b.call('BLPOP', 'k', 'x'), await b.call('BLMPOP', '0', '-1', 'k', 'LEFT'));
    return out;
  }),
  'BLMOVE woken while its destination holds another type': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    const ra = a.call('BLMOVE', 'src', 'dst', 'LEFT', 'LEFT', '0.5');
    await untilBlocked(p, 1);
    await p.call('SET', 'dst', 'str');
    await p.call('RPUSH', 'src', 'v');
    return [await ra, await p.call('LRANGE', 'src', '0', '-1'), await p.call('GET', 'dst')];
  }),
  'ten waiters on two keys, served by pushes of different sizes, in FIFO order': scenario(async (conn) => {
    const waiters: Promise<string>[] = [];
    const p = await conn();
    for (let i = 0; i < 10; i++) {
      const c = await conn();
      waiters.push(i % 3 === 0 ? c.call('BRPOP', 'k1', 'k2', '0') : c.call('BLPOP', i % 2 === 0 ? 'k1' : 'k2', '0'));
      await untilBlocked(p, i + 1);
    }
    const out = [await p.call('RPUSH', 'k1', 'a1', 'a2', 'a3')];
    await untilBlocked(p, 7);
    out.push(await p.call('RPUSH', 'k2', 'b1'));
    await untilBlocked(p, 6);
    out.push(await p.call('RPUSH', 'k2', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8'));
    await untilBlocked(p, 2);
    out.push(await p.call('LPUSH', 'k1', 'c1', 'c2', 'c3', 'c4'));
    out.push(...(await Promise.all(waiters)));
    out.push(await p.call('LRANGE', 'k1', '0', '-1'), await p.call('LRANGE', 'k2', '0', '-1'));
    return out;
  }),
  'a key of the wrong type does not wake a list waiter': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    const ra = a.call('BLPOP', 'k', '1');
    await untilBlocked(p, 1);
    await p.call('SET', 'k', 'str');
    const early = await within(ra, 100);
    await p.call('DEL', 'k');
    await p.call('RPUSH', 'k', 'v');
    return [early, await ra];
  }),
};

describe('blocking pops: raftis process vs redis-server', () => {
  for (const [name, run] of Object.entries(scenarios)) {
    for (const proto of [2, 3] as const) {
      it(`${name} (RESP${proto})`, async () => {
        const [expected, got] = await Promise.all([run(env.diff.redis.port, proto), run(env.raftis.port, proto)]);
        expect(got).toEqual(expected);
      });
    }
  }
});

describe('blocking pops on a 3-node cluster', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('a client blocked on the leader is served by a push; every replica pops the same element', async () => {
    const leader = await cluster.waitForLeader();
    const a = await cluster.client(leader);
    const b = await cluster.client(leader);
    const p = await cluster.client(leader);
    const ra = a.call('BLPOP', 'list', '0');
    const rb = b.call('BRPOP', 'list', '0');
    await untilBlocked(p, 2);
    expect(await p.call('RPUSH', 'list', 'e1', 'e2', 'e3', 'e4')).toBe(':4\r\n');
    expect(await withTimeout(ra, 5000)).toBe('*2\r\n$4\r\nlist\r\n$2\r\ne1\r\n');
    expect(await withTimeout(rb, 5000)).toBe('*2\r\n$4\r\nlist\r\n$2\r\ne4\r\n');
    const want = '*2\r\n$2\r\ne2\r\n$2\r\ne3\r\n';
    expect(await p.call('LRANGE', 'list', '0', '-1')).toBe(want);
    await untilApplied(cluster);
    for (const n of cluster.nodes) {
      const c = await cluster.client(n.id);
      expect(await c.call('READONLY')).toBe('+OK\r\n');
      expect(await c.call('LRANGE', 'list', '0', '-1')).toBe(want);
      c.close();
    }
    for (const c of [a, b, p]) c.close();
  });

  it('a blocking pop sent to a follower is redirected like any write', async () => {
    const leader = await cluster.waitForLeader();
    const l = cluster.node(leader);
    const f = cluster.nodes.find((n) => n.id !== leader)!;
    const c = await cluster.client(f.id);
    const slot = (await c.call('CLUSTER', 'KEYSLOT', 'list')).slice(1, -2);
    expect(await c.call('BLPOP', 'list', '0')).toBe(`-MOVED ${slot} ${l.host}:${l.port}\r\n`);
    c.close();
  });

  it('a client parked on a leader that loses leadership is redirected to the new leader, having popped nothing', async () => {
    const old = await cluster.waitForLeader();
    const a = await cluster.client(old);
    const ra = a.call('BLPOP', 'moving', '0');
    const watcher = await cluster.client(old);
    await untilBlocked(watcher, 1);
    watcher.close();
    cluster.pause(old);
    let fresh: number;
    try {
      fresh = await cluster.waitForLeader(15_000, [old]);
    } finally {
      cluster.resume(old);
    }
    const n = cluster.node(fresh);
    const reply = await withTimeout(ra, 10_000);
    expect(reply).toMatch(new RegExp(`^-MOVED \\d+ ${n.host.replace(/\./g, '\\.')}:${n.port}\r\n$`));
    const p = await cluster.client(fresh);
    expect(await p.call('RPUSH', 'moving', 'v')).toBe(':1\r\n');
    expect(await p.call('LRANGE', 'moving', '0', '-1')).toBe('*1\r\n$1\r\nv\r\n');
    a.close();
    p.close();
  });
});

describe('blocking pops through a follower in proxy mode', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, args: ['--follower-writes', 'proxy'] });
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('are redirected to the leader (a forwarded command cannot wait), but run inside a forwarded MULTI', async () => {
    const leader = await cluster.waitForLeader();
    const l = cluster.node(leader);
    const f = cluster.nodes.find((n) => n.id !== leader)!;
    const c = await cluster.client(f.id);
    const slot = (await c.call('CLUSTER', 'KEYSLOT', 'q')).slice(1, -2);
    expect(await c.call('BLPOP', 'q', '0')).toBe(`-MOVED ${slot} ${l.host}:${l.port}\r\n`);
    expect(await c.call('RPUSH', 'q', 'a')).toBe(':1\r\n');
    expect(await c.call('MULTI')).toBe('+OK\r\n');
    expect(await c.call('BLPOP', 'q', '0')).toBe('+QUEUED\r\n');
    expect(await c.call('BLPOP', 'q', '0')).toBe('+QUEUED\r\n');
    expect(await c.call('EXEC')).toBe('*2\r\n*2\r\n$1\r\nq\r\n$1\r\na\r\n*-1\r\n');
    c.close();
  });
});
