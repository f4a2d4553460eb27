/**
 * Durability: every write acknowledged before a kill -9 is there after the
 * restart (the log is fsynced before any reply).
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { until } from '../helpers/poll.js';

let srv: RaftisProcess | undefined;
afterAll(async () => {
  await srv?.destroy();
});

describe('kill -9 and restart', () => {
  it('loses no acknowledged write from concurrent clients', async () => {
    srv = await startRaftis();
    const CLIENTS = 8;
    const clients = Array.from({ length: CLIENTS }, () => new Redis({ port: srv!.port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null }));
    for (const r of clients) r.on('error', () => {}); // the kill resets their connections
    const acked = new Map<string, string>();
    const appended = new Map<string, string>();
    let counterAcks = 0;
    let stop = false;
    const workers = clients.map(async (r, ci) => {
      await new Promise<void>((res) => (r.status === 'ready' ? res() : r.once('ready', () => res())));
      for (let i = 0; !stop && i < 100_000; i++) {
        const key = `c${ci}:k${i % 50}`;
        const val = `v${i}`;
        try {
          await r.set(key, val);
          acked.set(key, val);
          const s = await r.append(`c${ci}:log`, `${i},`);
          appended.set(`c${ci}:log`, String(s));
          await r.incr('counter');
          counterAcks++;
        } catch {
          return; // connection gone: the server was killed
        }
      }
    });
    // Killed under load: once every client is writing (bounded), not after a time a loaded machine may spend starting them.
    await until('acknowledged writes from the clients', () => counterAcks >= 200, 30_000);
    await srv.kill9();
    stop = true;
    await Promise.all(workers);
    for (const r of clients) r.disconnect();
    expect(acked.size).toBeGreaterThan(0);

    await srv.restart();
    const r = new Redis({ port: srv.port, host: '127.0.0.1' });
    try {
      for (const [key, val] of acked) {
        // A later write to the same key may have been applied without its ack arriving; it is then newer.
        const got = await r.get(key);
        expect(got, key).not.toBeNull();
        expect(Number(got!.slice(1)), key).toBeGreaterThanOrEqual(Number(val.slice(1)));
      }
      for (const [key, len] of appended) {
        const got = await r.strlen(key);
        expect(got, key).toBeGreaterThanOrEqual(Number(len));
      }
      expect(Number(await r.get('counter'))).toBeGreaterThanOrEqual(counterAcks);
      // The node keeps serving writes after the restart.
      expect(await r.set('after', 'restart')).toBe('OK');
    } finally {
      r.disconnect();
    }
  });
});
