/**
 * Expiry: an expired key is invisible at once; the leader's active expiry
 * cycle then removes it through the log (a conditional delete), so DBSIZE
 * drops and a restart replays to the same state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

let srv: RaftisProcess;
beforeAll(async () => {
  srv = await startRaftis();
});
afterAll(async () => {
  await srv?.destroy();
});

async function eventually(fn: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('expiry', () => {
  it('hides expired keys at once and deletes them through the log', async () => {
    const c = await RawClient.connect(srv.port);
    try {
      for (let i = 0; i < 300; i++) await c.call('SET', `e:${i}`, 'v', 'PX', '100');
      await c.call('SET', 'keep', 'v');
      await c.call('SET', 'later', 'v', 'EX', '1000');
      await new Promise((r) => setTimeout(r, 150));
      expect(await c.call('GET', 'e:0')).toBe('$-1\r\n');
      expect(await c.call('EXISTS', 'e:1', 'e:2', 'keep')).toBe(':1\r\n');
      // The active cycle removes them (DBSIZE counts expired keys until then, as in Redis).
      expect(await eventually(async () => (await c.call('DBSIZE')) === ':2\r\n')).toBe(true);
      // A key re-set after expiring is not removed by a stale delete.
      await c.call('SET', 'e:0', 'again');
      expect(await c.call('GET', 'e:0')).toBe('$5\r\nagain\r\n');
    } finally {
      c.close();
    }
    expect(await srv.stop()).toBe(0);
    await srv.restart();
    const c2 = await RawClient.connect(srv.port);
    try {
      expect(await c2.call('DBSIZE')).toBe(':3\r\n');
      expect(await c2.call('GET', 'e:0')).toBe('$5\r\nagain\r\n');
      const ttl = Number((await c2.call('TTL', 'later')).slice(1, -2));
      expect(ttl).toBeGreaterThan(990);
    } finally {
      c2.close();
    }
  });
});
