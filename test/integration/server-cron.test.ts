/**
 * The parameters that drive raftis's periodic and node-local work, on one
 * node: hz (how often the active expiry cycle runs), loglevel (what the
 * node's logger prints, changed live) and save (Redis's save points taking
 * snapshots, and INFO persistence following them). No timing is asserted:
 * waits are bounded and their margins generous.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

let srv: RaftisProcess;
const clients: RawClient[] = [];
beforeAll(async () => {
  srv = await startRaftis();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await srv?.destroy();
});

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(srv.port);
  clients.push(c);
  return c;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const infoField = (info: string, field: string): string | undefined => info.split('\r\n').find((l) => l.startsWith(`${field}:`))?.slice(field.length + 1);

async function eventually(fn: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(50);
  }
  return false;
}

describe('server cron and node-local parameters', () => {
  it('hz: the active expiry cycle runs hz times a second (1 removes a little, 100 all)', async () => {
    const c = await connect();
    await c.call('CONFIG', 'RESETSTAT');
    // At hz 1 the cycle runs once a second and removes at most 200 keys each time: 1000 keys take 5 cycles.
    expect(await c.call('CONFIG', 'SET', 'hz', '1')).toBe('+OK\r\n');
    const n = 1000;
    const batch = Array.from({ length: n }, (_, i) => encodeCommand(['SET', `hz:${i}`, 'v', 'PX', '1'])).join('');
    const replies = Array.from({ length: n }, () => c.next());
    c.sock.write(batch);
    await Promise.all(replies);
    // Ticks at 1, 2 s… after the CONFIG SET: 5 of them are needed (at hz 10 this would be 0.5 s).
    await sleep(1500);
    const expired = async (): Promise<number> => Number(infoField(await c.call('INFO', 'stats'), 'expired_keys'));
    const atHz1 = await expired();
    expect(atHz1).toBeLessThan(n);
    expect(await c.call('CONFIG', 'SET', 'hz', '100')).toBe('+OK\r\n');
    expect(infoField(await c.call('INFO', 'server'), 'hz')).toBe('100');
    expect(await eventually(async () => (await expired()) === n)).toBe(true);
    expect(await c.call('DBSIZE')).toBe(':0\r\n');
    // Out of range: kept within 1..500, as Redis keeps it.
    await c.call('CONFIG', 'SET', 'hz', '0');
    expect(await c.call('CONFIG', 'GET', 'hz')).toBe('*2\r\n$2\r\nhz\r\n$1\r\n1\r\n');
    await c.call('CONFIG', 'SET', 'hz', '10');
  });

  it('loglevel: what the node logs follows it, live', async () => {
    const c = await connect();
    // Started with --log-level info: Redis's notice.
    expect(await c.call('CONFIG', 'GET', 'loglevel')).toBe('*2\r\n$8\r\nloglevel\r\n$6\r\nnotice\r\n');
    const saves = async (): Promise<string[]> => srv.logs().split('\n').filter((l) => / info raftis:snapshot snapshot at index \d+ written/.test(l));
    const bgsave = async (): Promise<void> => {
      await c.call('SET', 'loglevel-key', String(Math.random()));
      const before = Number(infoField(await c.call('INFO', 'persistence'), 'rdb_saves'));
      await c.call('BGSAVE');
      expect(await eventually(async () => Number(infoField(await c.call('INFO', 'persistence'), 'rdb_saves')) > before)).toBe(true);
    };
    await c.call('CONFIG', 'SET', 'loglevel', 'warning');
    const quiet = (await saves()).length;
    await bgsave();
    expect((await saves()).length).toBe(quiet);
    await c.call('CONFIG', 'SET', 'loglevel', 'notice');
    await bgsave();
    expect(await eventually(async () => (await saves()).length === quiet + 1)).toBe(true);
    // debug: the debug lines too (a protocol error is one).
    const debugLines = (): number => srv.logs().split('\n').filter((l) => l.includes(' debug raftis:server ') && l.includes('protocol error')).length;
    expect(debugLines()).toBe(0);
    await c.call('CONFIG', 'SET', 'loglevel', 'debug');
    const bad = await connect();
    await bad.send('*1\r\n$x\r\n').catch(() => '');
    expect(await eventually(async () => debugLines() === 1)).toBe(true);
    await c.call('CONFIG', 'SET', 'loglevel', 'notice');
    const again = await connect();
    await again.send('*1\r\n$x\r\n').catch(() => '');
    await again.closedPromise(5000);
    expect(debugLines()).toBe(1);
  });

  it('save: a save point takes a snapshot once its seconds and changes are reached; "" turns them off', async () => {
    const c = await connect();
    const persistence = async (f: string): Promise<number> => Number(infoField(await c.call('INFO', 'persistence'), f));
    const files = (): string[] => fs.readdirSync(path.join(srv.dir, 'snapshots')).filter((f) => f.endsWith('.rsnap'));
    expect(await c.call('CONFIG', 'GET', 'save')).toBe('*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
    // With no save points, writes alone take no snapshot (the log is far from --snapshot-bytes).
    const saves0 = await persistence('rdb_saves');
    const changes0 = await persistence('rdb_changes_since_last_save');
    // Changes are counted per write command, as Redis counts them (not per log entry: the transaction is one).
    await c.call('MULTI');
    for (let i = 0; i < 3; i++) await c.call('SET', `save:${i}`, 'v');
    await c.call('EXEC');
    for (let i = 3; i < 5; i++) await c.call('SET', `save:${i}`, 'v');
    await c.call('GET', 'save:0');
    expect(await persistence('rdb_changes_since_last_save')).toBe(changes0 + 5);
    await sleep(2500);
    expect(await persistence('rdb_saves')).toBe(saves0);
    // "1 1": more than a second since the last snapshot and at least one change.
    expect(await c.call('CONFIG', 'SET', 'save', '1 1')).toBe('+OK\r\n');
    expect(await c.call('CONFIG', 'GET', 'save')).toBe('*2\r\n$4\r\nsave\r\n$3\r\n1 1\r\n');
    expect(await eventually(async () => (await persistence('rdb_saves')) > saves0)).toBe(true);
    expect(await persistence('rdb_changes_since_last_save')).toBe(0);
    expect(files().length).toBeGreaterThan(0);
    const saved = await persistence('rdb_saves');
    const lastSave = await persistence('rdb_last_save_time');
    // No change, no snapshot; one change, one more.
    await sleep(2500);
    expect(await persistence('rdb_saves')).toBe(saved);
    await c.call('SET', 'save:after', 'v');
    expect(await persistence('rdb_changes_since_last_save')).toBe(1);
    expect(await eventually(async () => (await persistence('rdb_saves')) > saved)).toBe(true);
    expect(await persistence('rdb_last_save_time')).toBeGreaterThan(lastSave);
    expect(await c.call('LASTSAVE')).toBe(`:${await persistence('rdb_last_save_time')}\r\n`);
    await c.call('CONFIG', 'SET', 'save', '');
  });
});
