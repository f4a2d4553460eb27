/**
 * XREAD BLOCK and XREADGROUP BLOCK over TCP: each scenario runs against
 * redis-server and against a raftis process, and the replies must be the
 * same bytes (RESP2 and RESP3). Stream IDs are explicit so the replies do
 * not depend on the clock.
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { useProcessDifferential } from '../helpers/process-differential.js';

const env = useProcessDifferential();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves to the reply, or to 'pending' if none came within ms. */
async function within(p: Promise<string>, ms: number): Promise<string> {
  return Promise.race([p, sleep(ms).then(() => 'pending')]);
}

type Scenario = (port: number, proto: 2 | 3) => Promise<string[]>;

function scenario(body: (conn: () => Promise<RawClient>) => Promise<string[]>): Scenario {
  return async (port, proto) => {
    const opened: RawClient[] = [];
    const connect = async (p: 2 | 3): Promise<RawClient> => {
      const c = await RawClient.connect(port);
      opened.push(c);
      if (p === 3) await c.call('HELLO', '3');
      return c;
    };
    try {
      const admin = await connect(2);
      await admin.call('FLUSHALL');
      return await body(() => connect(proto));
    } finally {
      for (const c of opened) c.close();
    }
  };
}

const blockedClients = async (c: RawClient): Promise<string> => /blocked_clients:(\d+)/.exec(await c.call('INFO', 'clients'))?.[1] ?? '?';

const scenarios: Record<string, Scenario> = {
  'XREAD BLOCK $ is served by a later XADD, with only that key': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    await b.call('XADD', 's1', '1-1', 'old', 'x');
    const r = a.call('XREAD', 'BLOCK', '0', 'STREAMS', 's1', 's2', '$', '$');
    const before = await within(r, 150);
    const blocked = await blockedClients(b);
    const added = await b.call('XADD', 's2', '5-1', 'f', 'v');
    const got = await r;
    return [before, blocked, added, got, await blockedClients(b)];
  }),
  'XREAD BLOCK with an old ID answers at once; COUNT bounds a served reply': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    await b.call('XADD', 's', '1-1', 'f', '1');
    const now = await a.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '0');
    const r = a.call('XREAD', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', 's', '1-1');
    await within(r, 100);
    await b.call('MULTI');
    await b.call('XADD', 's', '2-1', 'f', '2');
    await b.call('XADD', 's', '3-1', 'f', '3');
    const exec = await b.call('EXEC');
    return [now, exec, await r];
  }),
  'XREAD BLOCK times out with the null array; XADD to another key does not wake it': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const r = a.call('XREAD', 'BLOCK', '300', 'STREAMS', 's', '$');
    await sleep(50);
    await b.call('XADD', 'other', '1-1', 'f', 'v');
    const got = await r;
    const r2 = await a.call('XREAD', 'BLOCK', '50', 'STREAMS', 'nope', '0');
    return [got, r2];
  }),
  'XREAD BLOCK errors and the non-blocking forms in MULTI': scenario(async (conn) => {
    const a = await conn();
    const out = [
      await a.call('XREAD', 'BLOCK', '-1', 'STREAMS', 's', '$'),
      await a.call('XREAD', 'BLOCK', 'x', 'STREAMS', 's', '$'),
      await a.call('XREAD', 'BLOCK', '0', 'STREAMS', 's'),
      await a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>'),
      await a.call('MULTI'),
      await a.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$'),
      await a.call('EXEC'),
      await a.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM'),
      await a.call('MULTI'),
      await a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>'),
      await a.call('EXEC'),
      await a.call('EVAL', "return redis.pcall('xread', 'BLOCK', '0', 'STREAMS', KEYS[1], '$')", '1', 's'),
      await a.call('EVAL', "return redis.pcall('XReadGroup', 'GROUP', 'g', 'c', 'BLOCK', 'x', 'STREAMS', KEYS[1], '>')", '1', 's'),
      await a.call('EVAL', "return redis.call('XREAD', 'COUNT', '1', 'STREAMS', KEYS[1], '0')", '1', 's'),
    ];
    return out;
  }),
  'XREADGROUP BLOCK is served by XADD, fills the PEL, and the next consumer waits for the next entry': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const p = await conn();
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    const ra = a.call('XREADGROUP', 'GROUP', 'g', 'alice', 'BLOCK', '0', 'STREAMS', 's', '>');
    await sleep(50);
    const rb = b.call('XREADGROUP', 'GROUP', 'g', 'bob', 'COUNT', '5', 'BLOCK', '0', 'STREAMS', 's', '>');
    await sleep(50);
    const blocked = await blockedClients(p);
    const add1 = await p.call('XADD', 's', '1-1', 'f', 'one');
    const gotA = await ra;
    const stillB = await within(rb, 150);
    const add2 = await p.call('XADD', 's', '2-1', 'f', 'two');
    const gotB = await rb;
    return [blocked, add1, gotA, stillB, add2, gotB, await p.call('XPENDING', 's', 'g'), await p.call('XINFO', 'GROUPS', 's')];
  }),
  'XREADGROUP BLOCK NOACK, and a timeout': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    const t = await a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '100', 'STREAMS', 's', '>');
    const r = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'NOACK', 'BLOCK', '0', 'STREAMS', 's', '>');
    await within(r, 100);
    await p.call('XADD', 's', '7-7', 'k', 'v');
    return [t, await r, await p.call('XPENDING', 's', 'g'), await p.call('XINFO', 'GROUPS', 's')];
  }),
  'a blocked XREADGROUP gets NOGROUP when its group is destroyed, UNBLOCKED when its key is deleted': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const p = await conn();
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    await p.call('XGROUP', 'CREATE', 't', 'g', '$', 'MKSTREAM');
    const ra = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>');
    const rb = b.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 't', '>');
    await sleep(100);
    const destroyed = await p.call('XGROUP', 'DESTROY', 's', 'g');
    const gotA = await within(ra, 1000);
    const deleted = await p.call('DEL', 't');
    const gotB = await within(rb, 1000);
    return [destroyed, gotA, deleted, gotB, await blockedClients(p)];
  }),
  'CLIENT UNBLOCK answers a blocked XREAD / XREADGROUP with the null array or UNBLOCKED': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    const id = (await a.call('CLIENT', 'ID')).slice(1, -2);
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    const r1 = a.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$');
    await within(r1, 100);
    const u1 = await p.call('CLIENT', 'UNBLOCK', id);
    const g1 = await r1;
    const r2 = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>');
    await within(r2, 100);
    const u2 = await p.call('CLIENT', 'UNBLOCK', id, 'ERROR');
    const g2 = await r2;
    return [u1, g1, u2, g2, await p.call('CLIENT', 'UNBLOCK', id), await p.call('XINFO', 'GROUPS', 's')];
  }),
  'a reader blocked on two keys is served by the first one a transaction writes': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    const r = a.call('XREAD', 'BLOCK', '0', 'STREAMS', 'k1', 'k2', '$', '$');
    await within(r, 100);
    await p.call('MULTI');
    await p.call('XADD', 'k2', '1-1', 'two', '2');
    await p.call('XADD', 'k1', '1-1', 'one', '1');
    const exec = await p.call('EXEC');
    return [exec, await r];
  }),
};

describe('stream blocking reads: raftis process vs redis-server', () => {
  for (const [name, run] of Object.entries(scenarios)) {
    for (const proto of [2, 3] as const) {
      it(`${name} (RESP${proto})`, async () => {
        const [expected, got] = await Promise.all([run(env.diff.redis.port, proto), run(env.raftis.port, proto)]);
        expect(got).toEqual(expected);
      });
    }
  }
});
