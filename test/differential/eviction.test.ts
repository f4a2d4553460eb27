/**
 * maxmemory and eviction beside redis-server 7.0: the -OOM texts (a denyoom
 * command, any command queued in MULTI, EXEC of a transaction holding a
 * denyoom command), OBJECT IDLETIME / FREQ under every policy, the
 * parameters and INFO fields, and eviction itself under each policy (the
 * `evicted` event, volatile-* sparing keys without a TTL). What counts as
 * used memory differs (redis-server: its allocator; raftis: the dataset's
 * estimated size), so each server gets its limit just above its own measure.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();
const extra: (RawClient | net.Socket)[] = [];
afterAll(() => {
  for (const c of extra) if (c instanceof RawClient) c.close();
  else c.destroy();
});

async function connect(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  extra.push(c);
  return c;
}

const OOM = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
const POLICIES = ['noeviction', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl'];

const infoField = (info: string, field: string): string | undefined => info.split('\r\n').find((l) => l.startsWith(`${field}:`))?.slice(field.length + 1);
const int = (reply: string): number => {
  expect(reply).toMatch(/^:\d+\r\n$/);
  return Number(reply.slice(1, -2));
};

describe('maxmemory and eviction', () => {
  it('-OOM for denyoom commands, for any command queued in MULTI, EXECABORT at EXEC', async () => {
    const [a, b] = await env.pair();
    const [a2, b2] = [await connect(env.diff.redis.port), await connect(env.raftis.port)];
    try {
      await same(a, b, 'FLUSHALL');
      await same(a, b, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await same(a, b, 'SET', 'k', 'value');
      await same(a, b, 'CONFIG', 'SET', 'maxmemory', '1');
      expect(await same(a, b, 'SET', 'x', 'y')).toBe(OOM);
      expect(await same(a, b, 'APPEND', 'k', 'more')).toBe(OOM);
      await same(a, b, 'GET', 'k');
      // Not denyoom: runs.
      await same(a, b, 'DEL', 'nokey');
      await same(a, b, 'EXPIRE', 'k', '1000');
      await same(a, b, 'PERSIST', 'k');
      // Queued commands are refused whatever they are, EXEC then aborts.
      await same(a, b, 'MULTI');
      expect(await same(a, b, 'GET', 'k')).toBe(OOM);
      expect(await same(a, b, 'SET', 'x', 'y')).toBe(OOM);
      expect(await same(a, b, 'PING')).toBe(OOM);
      await same(a, b, 'EXEC');
      await same(a, b, 'MULTI');
      await same(a, b, 'GET', 'k');
      await same(a, b, 'DISCARD');
      await same(a, b, 'CONFIG', 'SET', 'maxmemory', '0');
      // Queued under the limit, over it at EXEC: a transaction holding a denyoom command is discarded.
      await same(a, b, 'MULTI');
      await same(a, b, 'SET', 'x', 'y');
      await same(a, b, 'GET', 'k');
      await same(a2, b2, 'CONFIG', 'SET', 'maxmemory', '1');
      expect(await same(a, b, 'EXEC')).toBe(`-EXECABORT Transaction discarded because of: ${OOM.slice(1)}`);
      await same(a, b, 'EXEC');
      await same(a, b, 'GET', 'x');
      await same(a2, b2, 'CONFIG', 'SET', 'maxmemory', '0');
      // A transaction without a denyoom command runs.
      await same(a, b, 'MULTI');
      await same(a, b, 'GET', 'k');
      await same(a, b, 'DEL', 'k');
      await same(a2, b2, 'CONFIG', 'SET', 'maxmemory', '1');
      await same(a, b, 'EXEC');
    } finally {
      await same(a2, b2, 'CONFIG', 'SET', 'maxmemory', '0');
    }
  });

  it('OBJECT IDLETIME and FREQ under every policy, with Redis errors for the other clock', async () => {
    const [a, b] = await env.pair();
    try {
      for (const policy of POLICIES) {
        await same(a, b, 'CONFIG', 'SET', 'maxmemory-policy', policy);
        await same(a, b, 'DEL', 'k');
        await same(a, b, 'SET', 'k', 'abc');
        await same(a, b, 'OBJECT', 'FREQ', 'nokey');
        await same(a, b, 'OBJECT', 'IDLETIME', 'nokey');
        if (policy.endsWith('-lfu')) {
          await same(a, b, 'OBJECT', 'IDLETIME', 'k');
          // A new key starts at LFU_INIT_VAL; the first access always counts; lfu-log-factor 0 makes every access count.
          expect(await same(a, b, 'OBJECT', 'FREQ', 'k')).toBe(':5\r\n');
          await same(a, b, 'GET', 'k');
          expect(await same(a, b, 'OBJECT', 'FREQ', 'k')).toBe(':6\r\n');
          await same(a, b, 'CONFIG', 'SET', 'lfu-log-factor', '0');
          for (let i = 0; i < 3; i++) await same(a, b, 'GET', 'k');
          expect(await same(a, b, 'OBJECT', 'FREQ', 'k')).toBe(':9\r\n');
          await same(a, b, 'CONFIG', 'SET', 'lfu-log-factor', '10');
        } else {
          await same(a, b, 'OBJECT', 'FREQ', 'k');
          const [ia, ib] = [int(await a.call('OBJECT', 'IDLETIME', 'k')), int(await b.call('OBJECT', 'IDLETIME', 'k'))];
          expect(ia).toBeLessThanOrEqual(2);
          expect(ib).toBeLessThanOrEqual(2);
        }
      }
      // Idle time grows while the key is left alone, and an access resets it.
      await same(a, b, 'CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      await same(a, b, 'SET', 'idle', 'abc');
      await new Promise((r) => setTimeout(r, 2300));
      const [ia, ib] = [int(await a.call('OBJECT', 'IDLETIME', 'idle')), int(await b.call('OBJECT', 'IDLETIME', 'idle'))];
      expect(ia).toBeGreaterThanOrEqual(1);
      expect(ib).toBeGreaterThanOrEqual(1);
      expect(ib).toBeLessThanOrEqual(ia + 2);
      await same(a, b, 'GET', 'idle');
      expect(int(await b.call('OBJECT', 'IDLETIME', 'idle'))).toBeLessThanOrEqual(1);
    } finally {
      await same(a, b, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('CONFIG SET / GET of the eviction parameters and the INFO fields', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'CONFIG', 'SET', 'maxmemory', '10mb', 'maxmemory-policy', 'volatile-ttl', 'maxmemory-samples', '7', 'maxmemory-eviction-tenacity', '20', 'lfu-log-factor', '5', 'lfu-decay-time', '2');
    for (const p of ['maxmemory', 'maxmemory-policy', 'maxmemory-samples', 'maxmemory-eviction-tenacity', 'lfu-log-factor', 'lfu-decay-time']) await same(a, b, 'CONFIG', 'GET', p);
    await same(a, b, 'CONFIG', 'SET', 'maxmemory-policy', 'lru');
    await same(a, b, 'CONFIG', 'SET', 'maxmemory-samples', '0');
    await same(a, b, 'CONFIG', 'SET', 'maxmemory', '-1');
    const [infoA, infoB] = [await a.call('INFO', 'memory'), await b.call('INFO', 'memory')];
    for (const f of ['maxmemory', 'maxmemory_human', 'maxmemory_policy']) expect(infoField(infoB, f), f).toBe(infoField(infoA, f));
    expect(Number(infoField(infoB, 'used_memory_dataset'))).toBeGreaterThanOrEqual(0);
    expect(infoField(await b.call('INFO', 'stats'), 'evicted_keys')).toMatch(/^\d+$/);
    await same(a, b, 'CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction', 'maxmemory-samples', '5', 'maxmemory-eviction-tenacity', '10', 'lfu-log-factor', '10', 'lfu-decay-time', '1');
  });

  /** A subscriber to __keyevent@0__:evicted that counts the events. */
  async function evictedEvents(port: number): Promise<{ count(): number }> {
    const s = net.connect(port, '127.0.0.1');
    extra.push(s);
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (data += d));
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
    s.write('*2\r\n$9\r\nSUBSCRIBE\r\n$22\r\n__keyevent@0__:evicted\r\n');
    for (let i = 0; i < 200 && !data.includes('subscribe'); i++) await new Promise((r) => setTimeout(r, 10));
    return { count: () => data.split('message\r\n$22\r\n__keyevent@0__:evicted\r\n').length - 1 };
  }

  /** Fills one server past a limit just above what it holds now; returns evicted_keys, the persistent keys left and OOM replies. */
  async function fill(c: RawClient, policy: string, measure: string): Promise<{ evicted: number; persistentLeft: number; ooms: number }> {
    await c.call('FLUSHALL');
    await c.call('CONFIG', 'RESETSTAT');
    await c.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', policy, 'notify-keyspace-events', 'Ee');
    // Keys without a TTL first (a volatile policy must leave them), then keys with one.
    const value = 'v'.repeat(300);
    for (let i = 0; i < 40; i++) await c.call('SET', `p:${i}`, value);
    const used = Number(infoField(await c.call('INFO', 'memory'), measure));
    await c.call('CONFIG', 'SET', 'maxmemory', String(used + 64 * 1024));
    let ooms = 0;
    for (let i = 0; i < 700; i++) {
      const r = await c.call('SET', `t:${i}`, value, 'EX', String(10000 + i));
      if (r === OOM) ooms++;
    }
    let persistentLeft = 0;
    for (let i = 0; i < 40; i++) persistentLeft += int(await c.call('EXISTS', `p:${i}`));
    // Read once the limit is gone: redis-server goes on evicting in the background (evictionTimeProc) and before each command.
    await c.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction');
    const evicted = Number(infoField(await c.call('INFO', 'stats'), 'evicted_keys'));
    return { evicted, persistentLeft, ooms };
  }

  it.each(POLICIES)('fills past maxmemory under %s: evicts (evicted events), volatile-* spare keys without a TTL', async (policy) => {
    const [a, b] = await env.pair();
    const [subA, subB] = [await evictedEvents(env.diff.redis.port), await evictedEvents(env.raftis.port)];
    try {
      const ra = await fill(a, policy, 'used_memory');
      const rb = await fill(b, policy, 'used_memory_dataset');
      for (const r of [ra, rb]) {
        if (policy === 'noeviction') {
          expect(r.evicted).toBe(0);
          expect(r.ooms).toBeGreaterThan(0);
        } else {
          expect(r.evicted).toBeGreaterThan(0);
          expect(r.ooms).toBe(0);
        }
        if (policy.startsWith('volatile-') || policy === 'noeviction') expect(r.persistentLeft).toBe(40);
      }
      // Every eviction is an `evicted` event (raftis's come as its entries are applied).
      for (let i = 0; i < 100 && subB.count() < rb.evicted; i++) await new Promise((r) => setTimeout(r, 20));
      expect(subA.count()).toBe(ra.evicted);
      expect(subB.count()).toBe(rb.evicted);
    } finally {
      await same(a, b, 'CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction', 'notify-keyspace-events', '');
    }
  });
});
