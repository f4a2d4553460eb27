/**
 * Client-side caching through ioredis's public API. ioredis 6 drops RESP3
 * pushes other than pub/sub messages (no event for `invalidate`), so its
 * clients take invalidations the RESP2 way: tracking redirected to a
 * subscriber connection on `__redis__:invalidate`, whose `messageBuffer`
 * events carry the invalidated keys (null after a flush). The tracking
 * connection itself speaks RESP3 or RESP2.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

let srv: RaftisProcess;

beforeAll(async () => {
  srv = await startRaftis();
});
afterAll(async () => {
  await srv?.destroy();
});

/** Waits for the next `n` invalidation messages (keys, or null for a flush). */
function invalidations(sub: Redis, n: number, timeoutMs = 5000): Promise<(string[] | null)[]> {
  return new Promise((resolve, reject) => {
    const got: (string[] | null)[] = [];
    const on = (channel: Buffer, message: unknown): void => {
      if (channel.toString() !== '__redis__:invalidate') return;
      got.push(Array.isArray(message) ? message.map((k: Buffer) => k.toString()) : null);
      if (got.length === n) {
        clearTimeout(t);
        sub.off('messageBuffer', on);
        resolve(got);
      }
    };
    const t = setTimeout(() => {
      sub.off('messageBuffer', on);
      reject(new Error(`only ${got.length} of ${n} invalidations: ${JSON.stringify(got)}`));
    }, timeoutMs);
    sub.on('messageBuffer', on);
  });
}

for (const protocol of [2, 3] as const) {
  describe(`ioredis client-side caching (RESP${protocol} tracking connection)`, () => {
    it('invalidates keys the connection read, by redirect to a subscriber', async () => {
      const sub = new Redis({ port: srv.port, host: '127.0.0.1', protocol: 2 });
      const tracker = new Redis({ port: srv.port, host: '127.0.0.1', protocol });
      const writer = new Redis({ port: srv.port, host: '127.0.0.1' });
      try {
        await writer.flushall();
        const subId = await sub.client('ID');
        expect(await sub.subscribe('__redis__:invalidate')).toBe(1);
        expect(await tracker.client('TRACKING', 'ON', 'REDIRECT', String(subId))).toBe('OK');
        expect(await tracker.client('GETREDIR')).toBe(subId);
        await writer.set(`io${protocol}:a`, '1');
        expect(await tracker.get(`io${protocol}:a`)).toBe('1');
        expect(await tracker.mget(`io${protocol}:b`, `io${protocol}:c`)).toEqual([null, null]);

        let next = invalidations(sub, 2);
        await writer.set(`io${protocol}:a`, '2');
        await writer.mset(`io${protocol}:c`, 'x', `io${protocol}:unread`, 'y');
        expect(await next).toEqual([[`io${protocol}:a`], [`io${protocol}:c`]]);

        // Read again: tracked again; a flush invalidates everything (null).
        expect(await tracker.get(`io${protocol}:a`)).toBe('2');
        next = invalidations(sub, 1);
        await writer.flushall();
        expect(await next).toEqual([null]);

        expect(await tracker.client('TRACKING', 'OFF')).toBe('OK');
        expect(await tracker.client('GETREDIR')).toBe(-1);
      } finally {
        sub.disconnect();
        tracker.disconnect();
        writer.disconnect();
      }
    });

    it('BCAST with prefixes: every write under a prefix, batched per turn', async () => {
      const sub = new Redis({ port: srv.port, host: '127.0.0.1', protocol: 2 });
      const tracker = new Redis({ port: srv.port, host: '127.0.0.1', protocol });
      const writer = new Redis({ port: srv.port, host: '127.0.0.1' });
      try {
        const subId = await sub.client('ID');
        await sub.subscribe('__redis__:invalidate');
        expect(await tracker.client('TRACKING', 'ON', 'BCAST', 'PREFIX', 'user:', 'REDIRECT', String(subId))).toBe('OK');
        const info = (await tracker.client('TRACKINGINFO')) as unknown as unknown[];
        expect(info).toEqual(['flags', ['on', 'bcast'], 'redirect', subId, 'prefixes', ['user:']]);
        const next = invalidations(sub, 1);
        await writer.mset('user:2', 'a', 'item:1', 'b', 'user:1', 'c');
        expect(await next).toEqual([['user:1', 'user:2']]);
      } finally {
        sub.disconnect();
        tracker.disconnect();
        writer.disconnect();
      }
    });
  });
}

describe('ioredis RESP3 connection tracking without a redirect', () => {
  it('takes the invalidate pushes in its stride: replies stay paired with their commands', async () => {
    const tracker = new Redis({ port: srv.port, host: '127.0.0.1', protocol: 3 });
    const writer = new Redis({ port: srv.port, host: '127.0.0.1' });
    try {
      expect(await tracker.client('TRACKING', 'ON')).toBe('OK');
      for (let i = 0; i < 20; i++) {
        await writer.set(`r3:${i}`, String(i));
        expect(await tracker.get(`r3:${i}`)).toBe(String(i));
        // Each SET now sends the tracker an invalidate push between its replies.
        await writer.set(`r3:${i}`, `x${i}`);
        expect(await tracker.get(`r3:${i}`)).toBe(`x${i}`);
      }
      expect(await tracker.client('TRACKINGINFO')).toEqual(['flags', ['on'], 'redirect', 0, 'prefixes', []]);
    } finally {
      tracker.disconnect();
      writer.disconnect();
    }
  });
});
