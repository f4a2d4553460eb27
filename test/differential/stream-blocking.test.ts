/**
 * XREAD BLOCK and XREADGROUP BLOCK over TCP: each scenario runs against
 * redis-server and against a raftis process, and the replies must be the
 * same bytes (RESP2 and RESP3). Stream IDs are explicit so the replies do
 * not depend on the clock.
 */
import { describe, expect, it } from 'vitest';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { blockedClients, untilBlocked, within } from '../helpers/poll.js';

const env = useProcessDifferential();


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
      await untilBlocked(admin, 0);
      await admin.call('FLUSHALL');
      return await body(() => connect(proto));
    } finally {
      for (const c of opened) c.close();
    }
  };
}

/** Sends commands in one write (a pipeline) and returns their replies. */
async function pipeline(c: RawClient, ...cmds: string[][]): Promise<string[]> {
  const first = c.send(cmds.map((a) => encodeCommand(a)).join(''));
  const rest = cmds.slice(1).map(() => c.next());
  return Promise.all([first, ...rest]);
}

/** Idle times blanked (XINFO CONSUMERS). */
const noIdle = (r: string): string => r.replace(/\$4\r\nidle\r\n:\d+\r\n/g, '$4\r\nidle\r\n:_\r\n');

const scenarios: Record<string, Scenario> = {
  'XREAD BLOCK $ is served by a later XADD, with only that key': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    await b.call('XADD', 's1', '1-1', 'old', 'x');
    const r = a.call('XREAD', 'BLOCK', '0', 'STREAMS', 's1', 's2', '$', '$');
    const before = await within(r, 150);
    await untilBlocked(b, 1);
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
    await untilBlocked(b, 1);
    await b.call('MULTI');
    await b.call('XADD', 's', '2-1', 'f', '2');
    await b.call('XADD', 's', '3-1', 'f', '3');
    const exec = await b.call('EXEC');
    return [now, exec, await r];
  }),
  'XREAD BLOCK times out with the null array; XADD to another key does not wake it': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const r = a.call('XREAD', 'BLOCK', '1000', 'STREAMS', 's', '$');
    await untilBlocked(b, 1);
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
    await untilBlocked(p, 1);
    const rb = b.call('XREADGROUP', 'GROUP', 'g', 'bob', 'COUNT', '5', 'BLOCK', '0', 'STREAMS', 's', '>');
    await untilBlocked(p, 2);
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
    await untilBlocked(p, 1);
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
    await untilBlocked(p, 2);
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
    await untilBlocked(p, 1);
    const u1 = await p.call('CLIENT', 'UNBLOCK', id);
    const g1 = await r1;
    const r2 = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>');
    await untilBlocked(p, 1);
    const u2 = await p.call('CLIENT', 'UNBLOCK', id, 'ERROR');
    const g2 = await r2;
    return [u1, g1, u2, g2, await p.call('CLIENT', 'UNBLOCK', id), await p.call('XINFO', 'GROUPS', 's')];
  }),
  'a reader blocked on two keys is served by the first one a transaction writes': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    const r = a.call('XREAD', 'BLOCK', '0', 'STREAMS', 'k1', 'k2', '$', '$');
    await untilBlocked(p, 1);
    await p.call('MULTI');
    await p.call('XADD', 'k2', '1-1', 'two', '2');
    await p.call('XADD', 'k1', '1-1', 'one', '1');
    const exec = await p.call('EXEC');
    return [exec, await r];
  }),
  'an XADD that leaves no entry (MAXLEN 0) serves a blocked XREADGROUP and XREAD an empty list': scenario(async (conn) => {
    const a = await conn();
    const x = await conn();
    const p = await conn();
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    const ra = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>');
    const rx = x.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$');
    await untilBlocked(p, 2);
    const added = await p.call('XADD', 's', 'MAXLEN', '0', '5-1', 'f', 'v');
    return [added, await within(ra, 2000), await within(rx, 2000), noIdle(await p.call('XINFO', 'CONSUMERS', 's', 'g')), await p.call('XINFO', 'GROUPS', 's')];
  }),
  'an XADD and an XDEL of it in one transaction serve a blocked XREADGROUP an empty list': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    const ra = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '3', 'BLOCK', '0', 'STREAMS', 's', '>');
    await untilBlocked(p, 1);
    const exec = await pipeline(p, ['MULTI'], ['XADD', 's', '5-1', 'f', 'v'], ['XDEL', 's', '5-1'], ['EXEC']);
    const trimmed = await pipeline(p, ['MULTI'], ['XADD', 's', '6-1', 'f', 'v'], ['XADD', 's', '7-1', 'f', 'v'], ['XTRIM', 's', 'MAXLEN', '1'], ['EXEC']);
    const rb = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>');
    return [...exec, await within(ra, 2000), ...trimmed, await within(rb, 150), await p.call('XADD', 's', '8-1', 'f', 'v'), await within(rb, 2000)];
  }),
  'pipelined XADDs: each blocked reader is served after the XADD that woke it, as Redis does after each command': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const x = await conn();
    const y = await conn();
    const p = await conn();
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    const ra = a.call('XREADGROUP', 'GROUP', 'g', 'alice', 'BLOCK', '0', 'STREAMS', 's', '>');
    await untilBlocked(p, 1);
    const rb = b.call('XREADGROUP', 'GROUP', 'g', 'bob', 'BLOCK', '0', 'STREAMS', 's', '>');
    await untilBlocked(p, 2);
    const rx = x.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$');
    const ry = y.call('XREAD', 'COUNT', '5', 'BLOCK', '0', 'STREAMS', 's', '$');
    await untilBlocked(p, 4);
    const added = await pipeline(p, ['XADD', 's', '1-1', 'f', '1'], ['XADD', 's', '2-1', 'f', '2'], ['XADD', 's', '3-1', 'f', '3']);
    return [...added, await within(ra, 2000), await within(rb, 2000), await within(rx, 2000), await within(ry, 2000), await p.call('XPENDING', 's', 'g'), await p.call('XINFO', 'GROUPS', 's')];
  }),
  'readers of two groups woken by one transaction: COUNT 1 leaves the rest to the next reader of its group': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const c = await conn();
    const p = await conn();
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    await p.call('XGROUP', 'CREATE', 's', 'h', '$');
    const ra = a.call('XREADGROUP', 'GROUP', 'g', 'a', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', 's', '>');
    await untilBlocked(p, 1);
    const rb = b.call('XREADGROUP', 'GROUP', 'h', 'b', 'BLOCK', '0', 'STREAMS', 's', '>');
    await untilBlocked(p, 2);
    const rc = c.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>');
    await untilBlocked(p, 3);
    const exec = await pipeline(p, ['MULTI'], ['XADD', 's', '1-1', 'f', '1'], ['XADD', 's', '2-1', 'f', '2'], ['XADD', 's', '3-1', 'f', '3'], ['EXEC']);
    return [...exec, await within(ra, 2000), await within(rb, 2000), await within(rc, 2000), await p.call('XINFO', 'GROUPS', 's')];
  }),
  'FLUSHALL and FLUSHDB answer a blocked XREADGROUP UNBLOCKED; a blocked XREAD waits on': scenario(async (conn) => {
    const a = await conn();
    const x = await conn();
    const p = await conn();
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    const ra = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>');
    const rx = x.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$');
    await untilBlocked(p, 2);
    const flushed = await p.call('FLUSHALL');
    const gotA = await within(ra, 1000);
    const stillX = await within(rx, 150);
    await p.call('XGROUP', 'CREATE', 't', 'g', '$', 'MKSTREAM');
    const rb = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 't', '>');
    await untilBlocked(p, 2);
    const flushedDb = await p.call('FLUSHDB');
    const gotB = await within(rb, 1000);
    const added = await p.call('XADD', 's', '1-1', 'f', 'v');
    return [flushed, gotA, stillX, flushedDb, gotB, added, await within(rx, 2000), await blockedClients(p)];
  }),
  'XSETID and XGROUP SETID wake no blocked reader; the next XADD serves them from there': scenario(async (conn) => {
    const a = await conn();
    const x = await conn();
    const p = await conn();
    await p.call('XADD', 's', '1-1', 'f', 'v');
    await p.call('XGROUP', 'CREATE', 's', 'g', '$');
    const ra = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>');
    const rx = x.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$');
    await untilBlocked(p, 2);
    const setid = await p.call('XSETID', 's', '5-5');
    const groupSetid = await p.call('XGROUP', 'SETID', 's', 'g', '0');
    const pendingA = await within(ra, 150);
    const pendingX = await within(rx, 50);
    const added = await p.call('XADD', 's', '6-1', 'f', 'w');
    return [setid, groupSetid, pendingA, pendingX, added, await within(ra, 2000), await within(rx, 2000)];
  }),
  'a blocked XREADGROUP whose key is overwritten, renamed over or expires gets Redis 7.0.15\'s error': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    const out: string[] = [];
    // (Wrapped: an async function returning the pending reply itself would wait for it.)
    const block = async (key: string): Promise<{ reply: Promise<string> }> => {
      await p.call('XGROUP', 'CREATE', key, 'g', '$', 'MKSTREAM');
      const reply = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', key, '>');
      await untilBlocked(p, 1);
      return { reply };
    };
    let r = await block('s1');
    out.push(await p.call('SET', 's1', 'x'), await within(r.reply, 1000));
    await p.call('XADD', 'other', '1-1', 'f', 'v');
    r = await block('s2');
    out.push(await p.call('RENAME', 'other', 's2'), await within(r.reply, 1000));
    r = await block('s3');
    out.push(await p.call('RENAME', 's3', 'moved'), await within(r.reply, 1000));
    r = await block('s4');
    out.push(await p.call('PEXPIRE', 's4', '20'), await within(r.reply, 3000));
    return [...out, await blockedClients(p)];
  }),
  'a group destroyed and created again in one transaction keeps its blocked reader': scenario(async (conn) => {
    const a = await conn();
    const p = await conn();
    await p.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    const ra = a.call('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>');
    await untilBlocked(p, 1);
    const exec = await pipeline(p, ['MULTI'], ['XGROUP', 'DESTROY', 's', 'g'], ['XGROUP', 'CREATE', 's', 'g', '$'], ['EXEC']);
    const still = await within(ra, 150);
    const exec2 = await pipeline(p, ['MULTI'], ['DEL', 's'], ['XADD', 's', '1-1', 'f', 'v'], ['EXEC']);
    return [...exec, still, ...exec2, await within(ra, 1000)];
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
