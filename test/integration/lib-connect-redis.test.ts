/**
 * connect-redis 9 (the express-session store on node-redis 5; connect-redis
 * 10 and later need Node 22) and express-session, pinned in package.json,
 * through their own public APIs, unchanged: the store's API (set, get,
 * touch, destroy, length, ids, all, clear: SET EX, GET, EXPIRE, DEL, SCAN
 * with MATCH and COUNT, MGET) and express-session's middleware serving real
 * HTTP requests with a session cookie — the same steps against
 * redis-server 7.0.15 and a single raftis node side by side, results compared
 * whole; then on a 3-node raftis cluster through node-redis's cluster client
 * (connect-redis then scans every master).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisStore } from 'connect-redis';
import session, { type SessionData } from 'express-session';
import { createClient, createCluster } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { Recorder, useSideBySide } from '../helpers/lib-side-by-side.js';

const env = useSideBySide();

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

declare module 'express-session' {
  interface SessionData {
    views: number;
    user: string;
  }
}

/** Calls a callback-style store method as a promise. */
function cb<T>(fn: (done: (err?: unknown, v?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(v))));
}

function sess(user: string, maxAgeMs: number): SessionData {
  return { cookie: { originalMaxAge: maxAgeMs, maxAge: maxAgeMs, expires: new Date(Date.now() + maxAgeMs), httpOnly: true, path: '/' }, user, views: 0 } as SessionData;
}

/** The store API's steps (the ttl of a key read back through `ttl`). */
async function storeSteps(rec: Recorder, store: RedisStore, ttl: (key: string) => Promise<number>, prefix: string): Promise<void> {
  await rec.step('set', () => cb((d) => store.set('s1', sess('ann', 60_000), d)));
  await rec.step('set another', () => cb((d) => store.set('s2', sess('bob', 60_000), d)));
  await rec.step('ttl from the cookie', async () => {
    const t = await ttl(`${prefix}s1`);
    return t > 50 && t <= 60;
  });
  await rec.step('get', async () => (await cb<SessionData>((d) => store.get('s1', d)))?.user);
  await rec.step('get unknown', () => cb((d) => store.get('nobody', d)));
  await rec.step('touch', () => cb((d) => store.touch('s1', sess('ann', 600_000), d)));
  await rec.step('ttl after touch', async () => {
    const t = await ttl(`${prefix}s1`);
    return t > 590 && t <= 600;
  });
  await rec.step('length', () => cb((d) => store.length(d)));
  await rec.step('ids', async () => ((await cb<string[]>((d) => store.ids(d))) ?? []).sort());
  await rec.step('all', async () => ((await cb<(SessionData & { id: string })[]>((d) => store.all(d))) ?? []).map((s) => [s.id, s.user]).sort());
  await rec.step('destroy', () => cb((d) => store.destroy('s1', d)));
  await rec.step('get destroyed', () => cb((d) => store.get('s1', d)));
  await rec.step('set expired session (deleted instead)', () => cb((d) => store.set('s3', sess('old', -1000), d)));
  await rec.step('get expired', () => cb((d) => store.get('s3', d)));
  await rec.step('clear', () => cb((d) => store.clear(d)));
  await rec.step('length after clear', () => cb((d) => store.length(d)));
}

/** express-session's middleware on a plain HTTP server: /view counts views, /logout destroys the session. */
async function httpSteps(rec: Recorder, store: RedisStore): Promise<void> {
  const mw = session({ store, secret: 'test secret', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } });
  const server = http.createServer((req, res) => {
    mw(req as never, res as never, () => {
      const s = (req as unknown as { session: session.Session & Partial<SessionData> }).session;
      if (req.url === '/logout') {
        s.destroy(() => res.end('bye'));
        return;
      }
      s.views = (s.views ?? 0) + 1;
      res.end(String(s.views));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  let cookie = '';
  const get = async (path: string): Promise<string> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers: cookie ? { cookie } : {} });
    const set = r.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    return r.text();
  };
  try {
    await rec.step('http views', async () => [await get('/view'), await get('/view'), await get('/view')]);
    await rec.step('http sessions stored', () => cb((d) => store.length(d)));
    await rec.step('http logout', () => get('/logout'));
    await rec.step('http sessions after logout', () => cb((d) => store.length(d)));
    await rec.step('http old cookie starts over', () => get('/view'));
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe('connect-redis and express-session against redis-server 7.0 and raftis, side by side', () => {
  it("the store's API and the session middleware over HTTP: the same results", async () => {
    const { redis, raftis } = await env.run(async (port, rec) => {
      const client = createClient({ url: `redis://127.0.0.1:${port}` });
      client.on('error', () => {});
      await client.connect();
      try {
        // A small scanCount: SCAN cursors go round several times.
        const store = new RedisStore({ client, prefix: 'sess:', scanCount: 1 });
        await storeSteps(rec, store, (k) => client.ttl(k), 'sess:');
        await httpSteps(rec, store);
      } finally {
        client.destroy();
      }
    });
    expect(redis.failures()).toEqual([]);
    expect(raftis.steps).toEqual(redis.steps);
    expect(redis.get('ids')).toEqual({ ok: ['s1', 's2'] });
    expect(redis.get('http views')).toEqual({ ok: ['1', '2', '3'] });
    expect(redis.get('http old cookie starts over')).toEqual({ ok: '1' });
  }, 60_000);
});

describe('connect-redis on a 3-node raftis cluster', () => {
  it("node-redis's cluster client: the store's API and the middleware", async () => {
    const c = (cluster = await TestCluster.start({ size: 3 }));
    await c.waitForSettledLeader();
    const client = createCluster({ rootNodes: c.nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })) });
    client.on('error', () => {});
    await client.connect();
    try {
      const rec = new Recorder();
      const store = new RedisStore({ client, prefix: 'sess:', scanCount: 1 });
      await storeSteps(rec, store, (k) => client.ttl(k), 'sess:');
      await httpSteps(rec, store);
      expect(rec.failures()).toEqual([]);
      expect(rec.steps.map(([n, o]) => [n, (o as { ok: unknown }).ok])).toEqual([
        ['set', null],
        ['set another', null],
        ['ttl from the cookie', true],
        ['get', 'ann'],
        ['get unknown', null],
        ['touch', null],
        ['ttl after touch', true],
        ['length', 2],
        ['ids', ['s1', 's2']],
        ['all', [['s1', 'ann'], ['s2', 'bob']]],
        ['destroy', null],
        ['get destroyed', null],
        ['set expired session (deleted instead)', null],
        ['get expired', null],
        ['clear', null],
        ['length after clear', 0],
        ['http views', ['1', '2', '3']],
        ['http sessions stored', 1],
        ['http logout', 'bye'],
        ['http sessions after logout', 0],
        ['http old cookie starts over', '1'],
      ]);
    } finally {
      try {
        client.destroy();
      } catch {
        /* already closed; afterEach stops the cluster */
      }
    }
  }, 60_000);
});
