/**
 * maxmemory-clients (client eviction), side by side with redis-server
 * 7.0.15: who is evicted and who is not, and INFO's evicted_clients. The
 * byte counts behind it differ between the two servers (raftis counts a
 * fixed part, the query buffer and the unsent replies:
 * src/server/client-eviction.ts), so the clients here are far from the
 * limit one way or the other.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();
const opened: { close(): void }[] = [];
afterAll(() => {
  for (const c of opened) c.close();
});

async function connect(port: number, name: string, noEvict = false): Promise<RawClient> {
  const c = await RawClient.connect(port);
  opened.push(c);
  expect(await c.call('CLIENT', 'SETNAME', name)).toBe('+OK\r\n');
  if (noEvict) expect(await c.call('CLIENT', 'NO-EVICT', 'on')).toBe('+OK\r\n');
  return c;
}

/** A connection that never reads what it is sent. */
async function deafSocket(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  opened.push({ close: () => s.destroy() });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  s.pause();
  return s;
}

const names = async (ctl: RawClient): Promise<string[]> =>
  (await ctl.call('CLIENT', 'LIST'))
    .split('\n')
    .map((l) => / name=(\S*) /.exec(l)?.[1] ?? '')
    .filter((n) => n !== '')
    .sort();

const ids = async (ctl: RawClient): Promise<string[]> => [...(await ctl.call('CLIENT', 'LIST')).matchAll(/^id=(\d+) /gm)].map((m) => m[1]!);

/**
 * INFO's evicted_clients, less the clients that were there before the test
 * and are gone (the test harness's own connections are evictable too: with
 * a NO-EVICT client past the limit, redis-server evicts them as well).
 */
async function evictedClients(ctl: RawClient, before: string[]): Promise<number> {
  const n = Number(/evicted_clients:(\d+)/.exec(await ctl.call('INFO', 'stats'))![1]);
  const now = new Set(await ids(ctl));
  return n - before.filter((id) => !now.has(id)).length;
}

/** Polls CLIENT LIST until `name` is there (`present`) or not, within a bound. */
async function untilListed(ctl: RawClient, name: string, present: boolean): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if ((await names(ctl)).includes(name) === present) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** Polls CLIENT LIST until `name`'s qbuf is at least `bytes`, within a bound. */
async function untilQbuf(ctl: RawClient, name: string, bytes: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const line = (await ctl.call('CLIENT', 'LIST')).split('\n').find((l) => l.includes(` name=${name} `));
    if (line !== undefined && Number(/ qbuf=(\d+) /.exec(line)![1]) >= bytes) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** A SET whose value has not all arrived: its query buffer holds `bytes`. */
const partialSet = (bytes: number): string => `*3\r\n$3\r\nSET\r\n$6\r\npartly\r\n$${bytes * 2}\r\n` + 'x'.repeat(bytes);

describe('maxmemory-clients', () => {
  it('evicts a client with a large query buffer or output buffer, spares NO-EVICT ones, counts evicted_clients', async () => {
    const outcomes: string[][] = [];
    for (const port of [env.diff.redis.port, env.raftis.port]) {
      const got: string[] = [];
      const ctl = await connect(port, 'ctl', true);
      got.push(`ctl flags ${/ flags=(\S+) /.exec(await ctl.call('CLIENT', 'INFO'))![1]}`);
      await ctl.call('CONFIG', 'RESETSTAT');
      await ctl.call('SET', 'big', 'v'.repeat(200_000));
      const ctlId = (await ctl.call('CLIENT', 'ID')).slice(1).trim();
      const others = (await ids(ctl)).filter((id) => id !== ctlId);
      try {
        expect(await ctl.call('CONFIG', 'SET', 'maxmemory-clients', '1mb')).toBe('+OK\r\n');
        const bystander = await connect(port, 'bystander');
        const spared = await connect(port, 'spared', true);

        // A query buffer past the limit.
        const qbuf = await connect(port, 'qbuf');
        void qbuf.send(partialSet(1_500_000)).catch(() => {});
        got.push(`qbuf closed ${await qbuf.closedPromise(10_000)}`);
        got.push(`listed ${(await names(ctl)).join(' ')}`, `evicted_clients ${await evictedClients(ctl, others)}`);

        // Replies piling up for a client that does not read them.
        const deaf = await deafSocket(port);
        deaf.write('*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$4\r\ndeaf\r\n' + '*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n'.repeat(200));
        got.push(`deaf gone ${await untilListed(ctl, 'deaf', false)}`);
        got.push(`listed ${(await names(ctl)).join(' ')}`, `evicted_clients ${await evictedClients(ctl, others)}`);

        // A NO-EVICT client past the limit stays; the total is still over it, so the evictable one left goes.
        void spared.send(partialSet(1_500_000)).catch(() => {});
        got.push(`bystander closed ${await bystander.closedPromise(10_000)}`);
        got.push(`listed ${(await names(ctl)).join(' ')}`, `evicted_clients ${await evictedClients(ctl, others)}`);
        spared.close();
        got.push(`spared gone ${await untilListed(ctl, 'spared', false)}`);

        // A percentage of maxmemory.
        expect(await ctl.call('CONFIG', 'SET', 'maxmemory', '20mb', 'maxmemory-clients', '5%')).toBe('+OK\r\n');
        const pct = await connect(port, 'pct');
        void pct.send(partialSet(1_500_000)).catch(() => {});
        got.push(`pct closed ${await pct.closedPromise(10_000)}`, `evicted_clients ${await evictedClients(ctl, others)}`);

        // Off: the same client stays.
        expect(await ctl.call('CONFIG', 'SET', 'maxmemory-clients', '0')).toBe('+OK\r\n');
        const kept = await connect(port, 'kept');
        void kept.send(partialSet(1_500_000)).catch(() => {});
        got.push(`kept holds its query buffer ${await untilQbuf(ctl, 'kept', 1_500_000)}`);
        got.push(`kept closed ${kept.isClosed}`);
        kept.close();
      } finally {
        await ctl.call('CONFIG', 'SET', 'maxmemory-clients', '0', 'maxmemory', '0');
        await ctl.call('DEL', 'big', 'partly');
      }
      outcomes.push(got);
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[0]).toEqual([
      'ctl flags e',
      'qbuf closed true',
      'listed bystander ctl spared',
      'evicted_clients 1',
      'deaf gone true',
      'listed bystander ctl spared',
      'evicted_clients 2',
      'bystander closed true',
      'listed ctl spared',
      'evicted_clients 3',
      'spared gone true',
      'pct closed true',
      'evicted_clients 4',
      'kept holds its query buffer true',
      'kept closed false',
    ]);
  });
});
