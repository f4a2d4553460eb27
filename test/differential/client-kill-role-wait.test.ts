/**
 * CLIENT KILL / UNBLOCK / NO-EVICT / PAUSE / UNPAUSE, CONFIG REWRITE, ROLE
 * and WAIT on a single node, against redis-server: the
 * same replies (errors byte for byte), the same connections closed. ROLE's
 * offset is each server's own (raftis: its applied index), so only its
 * shape is compared. The cluster side of ROLE and WAIT is in
 * cluster-protocol.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient } from '../helpers/raw-client.js';
import { untilBlocked } from '../helpers/poll.js';
import { sha1hex } from '../../src/util/lua/vm.js';

const env = useProcessDifferential();


/** A second connection to the server `main` talks to, with its id and address as that server sees them. */
async function other(main: RawClient, port: number): Promise<{ c: RawClient; id: string; addr: string }> {
  const c = await RawClient.connect(port);
  const info = await c.call('CLIENT', 'INFO');
  const id = /id=(\d+)/.exec(info)![1]!;
  const addr = / addr=(\S+)/.exec(info)![1]!;
  expect(await main.call('CLIENT', 'LIST', 'ID', id)).toContain(`addr=${addr}`);
  return { c, id, addr };
}

describe('CLIENT KILL', () => {
  it('refuses bad arguments with redis-server\'s errors', async () => {
    const [a, b] = await env.pair();
    for (const cmd of [
      ['CLIENT', 'KILL', 'ID'],
      ['CLIENT', 'KILL', 'ID', '0', 'TYPE'],
      ['CLIENT', 'KILL', 'ID', '0'],
      ['CLIENT', 'KILL', 'ID', 'x'],
      ['CLIENT', 'KILL', 'ID', '-5'],
      ['CLIENT', 'KILL', 'TYPE', 'nosuch'],
      ['CLIENT', 'KILL', 'USER', 'nosuch'],
      ['CLIENT', 'KILL', 'SKIPME', 'maybe'],
      ['CLIENT', 'KILL', 'NOSUCH', 'x'],
      ['CLIENT', 'KILL', '1.2.3.4:5'],
      ['CLIENT', 'KILL', 'ADDR', '1.2.3.4:5'],
      ['CLIENT', 'KILL', 'LADDR', '1.2.3.4:5', 'SKIPME', 'no'],
      ['CLIENT', 'KILL', 'TYPE', 'master'],
      ['CLIENT', 'KILL', 'TYPE', 'replica'],
      ['CLIENT', 'KILL', 'TYPE', 'pubsub'],
      ['CLIENT', 'KILL', 'USER', 'default', 'ID', '999999'],
    ]) {
      await same(a, b, ...cmd);
    }
  });

  it('closes the connections it matches, by ID, ADDR, TYPE and the old addr form, sparing the caller unless SKIPME no', async () => {
    const [a, b] = await env.pair();
    const servers = [
      { main: a, port: env.diff.redis.port },
      { main: b, port: env.raftis.port },
    ];
    const results: string[][] = [];
    for (const { main, port } of servers) {
      const out: string[] = [];
      const x = await other(main, port);
      out.push(await main.call('CLIENT', 'KILL', 'ID', x.id, 'SKIPME', 'yes'));
      out.push(String(await x.c.closedPromise(3000)));
      const y = await other(main, port);
      out.push(await main.call('CLIENT', 'KILL', 'ADDR', y.addr));
      out.push(String(await y.c.closedPromise(3000)));
      const z = await other(main, port);
      out.push(await main.call('CLIENT', 'KILL', z.addr));
      out.push(String(await z.c.closedPromise(3000)));
      out.push(await main.call('CLIENT', 'KILL', z.addr));
      // TYPE pubsub matches a subscribed connection only.
      const s = await other(main, port);
      await s.c.call('SUBSCRIBE', 'ch');
      out.push(await main.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
      out.push(String(await s.c.closedPromise(3000)));
      out.push(String(main.isClosed));
      results.push(out);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[1]).toEqual([':1\r\n', 'true', ':1\r\n', 'true', '+OK\r\n', 'true', '-ERR No such client\r\n', ':1\r\n', 'true', 'false']);
  });

  it('a caller that kills itself gets its reply, then the connection closes', async () => {
    const replies: string[] = [];
    for (const port of [env.diff.redis.port, env.raftis.port]) {
      const c = await RawClient.connect(port);
      const id = (await c.call('CLIENT', 'ID')).slice(1, -2);
      replies.push(await c.call('CLIENT', 'KILL', 'ID', id, 'SKIPME', 'no'));
      expect(await c.closedPromise(3000)).toBe(true);
    }
    expect(replies).toEqual([':1\r\n', ':1\r\n']);
  });
});

describe('CLIENT LIST flags', () => {
  it('b for a blocked client, d for one whose WATCHed key changed, in redis-server\'s order', async () => {
    const [a, b] = await env.pair();
    const flags = async (main: RawClient, port: number): Promise<string[]> => {
      const blocked = await other(main, port);
      const watcher = await other(main, port);
      const popped = blocked.c.call('BLPOP', 'clflags-list', '0');
      await untilBlocked(main, 1);
      expect(await watcher.c.call('WATCH', 'clflags-key')).toBe('+OK\r\n');
      await main.call('SET', 'clflags-key', 'v');
      const line = (id: string): Promise<string> => main.call('CLIENT', 'LIST', 'ID', id).then((l) => / flags=(\S+)/.exec(l)![1]!);
      const seen = [await line(blocked.id), await line(watcher.id)];
      await watcher.c.call('UNWATCH');
      seen.push(await line(watcher.id));
      await main.call('LPUSH', 'clflags-list', 'x');
      await popped;
      seen.push(await line(blocked.id));
      await main.call('DEL', 'clflags-key', 'clflags-list');
      blocked.c.close();
      watcher.c.close();
      return seen;
    };
    const onRedis = await flags(a, env.diff.redis.port);
    expect(await flags(b, env.raftis.port)).toEqual(onRedis);
    expect(onRedis).toEqual(['b', 'd', 'N', 'N']);
  });
});

describe('ROLE and WAIT on a single node', () => {
  it('ROLE: a master with no replicas', async () => {
    const [a, b] = await env.pair();
    const shape = (r: string): string => r.replace(/^(\*3\r\n\$6\r\nmaster\r\n):\d+\r\n/, '$1:<offset>\r\n');
    expect(shape(await b.call('ROLE'))).toBe(shape(await a.call('ROLE')));
    expect(shape(await b.call('ROLE'))).toBe('*3\r\n$6\r\nmaster\r\n:<offset>\r\n*0\r\n');
  });

  it('WAIT: no replicas to wait for, its argument errors, and inside MULTI', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'SET', 'w', '1');
    await same(a, b, 'WAIT', '0', '0');
    const started = Date.now();
    await same(a, b, 'WAIT', '1', '100');
    // Both servers waited out the timeout (twice 100 ms, one after the other).
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    for (const cmd of [['WAIT', 'x', '0'], ['WAIT', '1', 'x'], ['WAIT', '1', '-1'], ['WAIT', '1', '1.5'], ['WAIT', '-1', '0'], ['WAIT', '1']]) await same(a, b, ...cmd);
    await same(a, b, 'MULTI');
    await same(a, b, 'WAIT', '1', '0');
    await same(a, b, 'EXEC');
  });
});

describe('CLIENT UNBLOCK, CLIENT NO-EVICT, CONFIG REWRITE, DEBUG and MODULE', () => {
  it('answer as redis-server: argument errors, and a parked BLPOP unblocked as if timed out or with an error', async () => {
    const [a, b] = await env.pair();
    for (const cmd of [
      ['CLIENT', 'UNBLOCK', 'x'],
      ['CLIENT', 'UNBLOCK', '1', 'nope'],
      ['CLIENT', 'UNBLOCK', 'x', 'nope'],
      ['CLIENT', 'UNBLOCK', '1', 'timeout', 'extra'],
      ['CLIENT', 'UNBLOCK', '999999'],
      ['CLIENT', 'UNBLOCK', '999999', 'ERROR'],
      ['CLIENT', 'NO-EVICT', 'on'],
      ['CLIENT', 'NO-EVICT', 'OFF'],
      ['CLIENT', 'NO-EVICT', 'maybe'],
      ['CONFIG', 'REWRITE'],
      ['DEBUG'],
      ['DEBUG', 'SLEEP', '0'],
      ['DEBUG', 'OBJECT', 'k'],
      ['MODULE', 'LIST'],
      ['MODULE', 'FOO'],
      ['MODULE', 'LOAD', '/x.so'],
      ['MODULE', 'LOADEX', '/x.so'],
      ['MODULE', 'UNLOAD', 'x'],
      ['MODULE', 'HELP'],
      ['CONFIG', 'GET', 'enable-debug-command'],
      ['CONFIG', 'GET', 'enable-module-command'],
    ]) {
      await same(a, b, ...cmd);
    }
    const got: string[][] = [];
    for (const [main, port] of [[a, env.diff.redis.port], [b, env.raftis.port]] as const) {
      const out: string[] = [];
      for (const reason of ['TIMEOUT', 'ERROR']) {
        const x = await other(main, port);
        const popped = x.c.call('BLPOP', 'unblock-list', '0');
        await untilBlocked(main, 1);
        out.push(await main.call('CLIENT', 'UNBLOCK', x.id, reason));
        out.push(await popped);
        out.push(await main.call('CLIENT', 'UNBLOCK', x.id, reason));
        out.push(await x.c.call('PING'));
        x.c.close();
      }
      got.push(out);
    }
    expect(got[1]).toEqual(got[0]);
    expect(got[1]).toEqual([':1\r\n', '*-1\r\n', ':0\r\n', '+PONG\r\n', ':1\r\n', '-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n', ':0\r\n', '+PONG\r\n']);
  });
});

describe('CLIENT PAUSE and UNPAUSE', () => {
  it('hold writes (WRITE) or everything (ALL) until the pause ends or UNPAUSE, as redis-server does', async () => {
    const [a, b] = await env.pair();
    for (const cmd of [
      ['CLIENT', 'PAUSE', 'x'],
      ['CLIENT', 'PAUSE', '-1'],
      ['CLIENT', 'PAUSE', '1.5'],
      ['CLIENT', 'PAUSE', '10', 'FOO'],
      ['CLIENT', 'PAUSE', 'x', 'FOO'],
      ['CLIENT', 'PAUSE', '10', 'ALL', 'x'],
      ['CLIENT', 'UNPAUSE'],
    ]) {
      await same(a, b, ...cmd);
    }
    /** Whether the command waited for the pause (1 s; held: at least 0.7 s; at once: under 0.5 s, far above a normal reply). */
    const timed = async (c: RawClient, ...cmd: string[]): Promise<string> => {
      const t0 = Date.now();
      const r = await c.call(...cmd);
      const ms = Date.now() - t0;
      return `${cmd.join(' ')} -> ${r.trim()} ${ms >= 700 ? 'held' : ms < 500 ? 'at once' : `unclear (${ms} ms)`}`;
    };
    const got: string[][] = [];
    for (const [main, port] of [[a, env.diff.redis.port], [b, env.raftis.port]] as const) {
      const x = await RawClient.connect(port);
      const out: string[] = [];
      try {
        out.push(await main.call('CLIENT', 'PAUSE', '1000', 'WRITE'));
        out.push(await timed(x, 'GET', 'pk'), await timed(x, 'SET', 'pk', 'v'));
        out.push(await main.call('CLIENT', 'PAUSE', '1000', 'WRITE'));
        out.push(await timed(x, 'PUBLISH', 'pc', 'm'));
        out.push(await main.call('CLIENT', 'PAUSE', '1000', 'ALL'));
        out.push(await timed(x, 'PING'));
        // UNPAUSE (not a write) ends a WRITE pause at once, and the held write runs.
        out.push(await main.call('CLIENT', 'PAUSE', '5000', 'WRITE'));
        const held = x.call('SET', 'pk', 'w');
        await new Promise((r) => setTimeout(r, 50));
        out.push(await timed(main, 'CLIENT', 'UNPAUSE'));
        const t0 = Date.now();
        out.push((await held).trim(), String(Date.now() - t0 < 2000));
        out.push(await timed(x, 'GET', 'pk'));
      } finally {
        x.close();
      }
      got.push(out);
    }
    expect(got[1]).toEqual(got[0]);
    expect(got[1]).toContain('SET pk v -> +OK held');
    expect(got[1]).toContain('GET pk -> $-1 at once');
    expect(got[1]).toContain('PING -> +PONG held');
  });

  it('WRITE holds scripts that may write, not those that declare no-writes, as redis-server does', async () => {
    const [a, b] = await env.pair();
    const ro = "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])";
    const rw = "return redis.call('GET', KEYS[1])";
    for (const body of [ro, rw]) await same(a, b, 'SCRIPT', 'LOAD', body);
    const timed = async (c: RawClient, ...cmd: string[]): Promise<string> => {
      const t0 = Date.now();
      const r = await c.call(...cmd);
      const ms = Date.now() - t0;
      return `${cmd[0]} ${cmd[1]!.length > 12 ? cmd[1]!.slice(0, 12) : cmd[1]} -> ${r.trim()} ${ms >= 700 ? 'held' : ms < 500 ? 'at once' : `unclear (${ms} ms)`}`;
    };
    const got: string[][] = [];
    for (const [main, port] of [[a, env.diff.redis.port], [b, env.raftis.port]] as const) {
      const x = await RawClient.connect(port);
      const out: string[] = [];
      try {
        for (const cmd of [
          ['EVAL', ro, '1', 'pk'],
          ['EVALSHA', sha1hex(ro), '1', 'pk'],
          ['EVAL_RO', rw, '1', 'pk'],
          ['EVAL', rw, '1', 'pk'],
          ['EVALSHA', sha1hex(rw), '1', 'pk'],
        ]) {
          out.push(await main.call('CLIENT', 'PAUSE', '1000', 'WRITE'));
          out.push(await timed(x, ...cmd));
          await main.call('CLIENT', 'UNPAUSE');
        }
      } finally {
        x.close();
      }
      got.push(out);
    }
    expect(got[1]).toEqual(got[0]);
    expect(got[1]!.filter((l) => l.endsWith('at once')).length).toBe(3);
  });

  it('hold active expiry while clients are paused, as redis-server does', async () => {
    const [a, b] = await env.pair();
    const before = Number((await same(a, b, 'DBSIZE')).slice(1, -2));
    // The TTL leaves room for the PAUSE to reach both servers on a loaded machine before the key expires.
    await same(a, b, 'SET', 'pause-ttl', 'v', 'PX', '400');
    await same(a, b, 'CLIENT', 'PAUSE', '2500', 'WRITE');
    await new Promise((r) => setTimeout(r, 900));
    // Expired (invisible) but not deleted while the pause lasts; deleted after it.
    await same(a, b, 'GET', 'pause-ttl');
    expect(await b.call('EXISTS', 'pause-ttl')).toBe(':0\r\n');
    await same(a, b, 'DBSIZE');
    expect(await b.call('DBSIZE')).toBe(`:${before + 1}\r\n`);
    await same(a, b, 'CLIENT', 'UNPAUSE');
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && (await b.call('DBSIZE')) !== `:${before}\r\n`) await new Promise((r) => setTimeout(r, 50));
    expect(await b.call('DBSIZE')).toBe(`:${before}\r\n`);
  });
});
