/**
 * ioredis as a subscriber and a publisher on raftis: `message` and
 * `pmessage` events, subscription counts, leaving subscriber mode, and the
 * same through a cluster follower.
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

/** Collects events until `n` have arrived. */
function collect<T>(n: number, on: (push: (v: T) => void) => void, timeoutMs = 5000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    const t = setTimeout(() => reject(new Error(`only ${got.length} of ${n} events: ${JSON.stringify(got)}`)), timeoutMs);
    on((v) => {
      got.push(v);
      if (got.length === n) {
        clearTimeout(t);
        resolve(got);
      }
    });
  });
}

for (const protocol of [2, 3] as const) {
  describe(`ioredis pub/sub (RESP${protocol} subscriber)`, () => {
    it('delivers message and pmessage events', async () => {
      const sub = new Redis({ port: srv.port, host: '127.0.0.1', protocol });
      const pub = new Redis({ port: srv.port, host: '127.0.0.1' });
      try {
        expect(await sub.subscribe('io:news', 'io:sport')).toBe(2);
        expect(await sub.psubscribe('io:*')).toBe(3);
        const messages = collect<[string, string]>(2, (push) => sub.on('message', (ch: string, msg: string) => push([ch, msg])));
        const pmessages = collect<[string, string, string]>(3, (push) => sub.on('pmessage', (p: string, ch: string, msg: string) => push([p, ch, msg])));
        expect(await pub.publish('io:news', 'hello')).toBe(2);
        expect(await pub.publish('io:sport', 'goal')).toBe(2);
        expect(await pub.publish('io:other', 'only the pattern')).toBe(1);
        expect(await pub.publish('elsewhere', 'nobody')).toBe(0);
        expect(await messages).toEqual([
          ['io:news', 'hello'],
          ['io:sport', 'goal'],
        ]);
        expect(await pmessages).toEqual([
          ['io:*', 'io:news', 'hello'],
          ['io:*', 'io:sport', 'goal'],
          ['io:*', 'io:other', 'only the pattern'],
        ]);
        expect(await pub.pubsub('NUMSUB', 'io:news', 'io:none')).toEqual(['io:news', 1, 'io:none', 0]);
        expect(await pub.pubsub('NUMPAT')).toBe(1);
        expect(((await pub.pubsub('CHANNELS', 'io:*')) as string[]).sort()).toEqual(['io:news', 'io:sport']);

        // Leaving subscriber mode: normal commands work again on the same connection.
        // (Named: ioredis 6's argument-less unsubscribe() never resolves, against redis-server too.)
        expect(await sub.unsubscribe('io:news', 'io:sport')).toBe(1);
        expect(await sub.punsubscribe('io:*')).toBe(0);
        expect(await sub.set('io:after', 'v')).toBe('OK');
        expect(await sub.get('io:after')).toBe('v');
        expect(await pub.publish('io:news', 'late')).toBe(0);
      } finally {
        sub.disconnect();
        pub.disconnect();
      }
    });

    it('binary messages arrive unchanged (messageBuffer)', async () => {
      const sub = new Redis({ port: srv.port, host: '127.0.0.1', protocol });
      const pub = new Redis({ port: srv.port, host: '127.0.0.1' });
      try {
        await sub.subscribe('io:bin');
        const payload = Buffer.from([0, 255, 13, 10, 128, 1, 2]);
        const got = collect<Buffer>(1, (push) => sub.on('messageBuffer', (_ch: Buffer, msg: Buffer) => push(msg)));
        expect(await pub.publish('io:bin', payload)).toBe(1);
        expect((await got)[0]!.equals(payload)).toBe(true);
      } finally {
        sub.disconnect();
        pub.disconnect();
      }
    });
  });
}
