/**
 * Writes that change nothing (PFADD of elements already counted, SADD of
 * members already there, GEOADD of members already in place or skipped by
 * NX/XX, DEL/UNLINK of missing keys, SREM/ZREM/HDEL of missing members) beside redis-server 7.0: a seeded sequence meeting existing,
 * missing, expired and wrong-typed keys, every reply byte-compared, and —
 * where redis-server's dirty counter did not move for a 0 reply (it neither
 * propagated nor persisted the call) — raftis's log did not grow either:
 * such a call is answered as a read (Dispatcher.answeredUnchanged).
 */
import { describe, expect, it } from 'vitest';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { encodeCommand, type RawClient } from '../helpers/raw-client.js';
import { createPrng } from '../../src/util/prng.js';

const env = useProcessDifferential();

const field = (info: string, name: string): number => Number(info.split('\r\n').find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1));
const dirty = async (c: RawClient): Promise<number> => field(await c.call('INFO', 'persistence'), 'rdb_changes_since_last_save');
const lastIndex = async (c: RawClient): Promise<number> => field(await c.call('RAFT.INFO'), 'last_log_index');

/** The writes raftis answers as reads when they change nothing (the others here are always entries). */
const CHECKED = new Set(['PFADD', 'SADD', 'GEOADD', 'DEL', 'UNLINK', 'SREM', 'ZREM', 'HDEL']);

const PLACES = [
  ['13.361389', '38.115556'],
  ['15.087269', '37.502669'],
  ['13.3613890', '38.1155560'],
  ['181', '10'],
  ['abc', '1'],
];

function steps(seed: number, n: number): string[][] {
  const r = createPrng(seed);
  const int = (m: number): number => Math.floor(r() * m);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const m = (): string => `m${int(4)}`;
  const key = (p: string): string => (r() < 0.1 ? 'str' : `${p}:${int(2)}`);
  const gens: (() => string[])[] = [
    () => ['PFADD', key('p'), ...Array.from({ length: int(3) }, m)],
    () => ['SADD', key('t'), m(), ...(r() < 0.3 ? [m()] : [])],
    () => ['GEOADD', key('g'), ...pick([[], ['NX'], ['XX'], ['CH'], ['XX', 'CH'], ['NX', 'XX']]), ...pick(PLACES), m(), ...(r() < 0.3 ? [...pick(PLACES), m()] : [])],
    () => ['DEL', key(pick(['p', 't', 'g', 'h']))],
    () => ['UNLINK', key(pick(['p', 't', 'g', 'h'])), ...(r() < 0.3 ? [key(pick(['p', 't', 'g', 'h']))] : [])],
    () => ['HSET', key('h'), m(), 'v'],
    () => ['HDEL', key('h'), m(), ...(r() < 0.3 ? [m()] : [])],
    () => ['SREM', key('t'), m()],
    () => ['ZREM', key('g'), m()],
  ];
  const out: string[][] = [['SET', 'str', 'plain'], ['SET', 'p:bad', 'HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff']];
  for (let i = 0; i < n; i++) out.push(pick(gens)());
  return out;
}

describe('writes that change nothing, beside redis-server', () => {
  for (const seed of [1, 2, 3]) {
    it(`replies as redis-server, and adds no log entry where redis-server's dirty counter stays (seed ${seed})`, async () => {
      const [redis, raftis] = await env.pair();
      await redis.call('FLUSHALL');
      await raftis.call('FLUSHALL');
      let unchanged = 0;
      let changed = 0;
      for (const cmd of steps(seed, 300)) {
        const [d0, i0] = [await dirty(redis), await lastIndex(raftis)];
        const want = await redis.call(...cmd);
        expect(await raftis.call(...cmd), cmd.join(' ')).toBe(want);
        const [d1, i1] = [await dirty(redis), await lastIndex(raftis)];
        if (d1 === d0 && want === ':0\r\n' && CHECKED.has(cmd[0]!)) {
          expect(i1, `log grew for ${cmd.join(' ')}`).toBe(i0);
          unchanged++;
        } else if (d1 !== d0) {
          expect(i1, `no entry for ${cmd.join(' ')}`).toBeGreaterThan(i0);
          changed++;
        }
      }
      // The sequence meets both cases often.
      expect(unchanged).toBeGreaterThan(30);
      expect(changed).toBeGreaterThan(30);
      // The values end the same: HLLs and geo sets byte for byte; sets by their members (a hash table's order is its own).
      for (const k of ['p:0', 'p:1', 'g:0', 'g:1']) expect(await raftis.call('DUMP', k), k).toBe(await redis.call('DUMP', k));
      for (const k of ['h:0', 'h:1']) expect(await raftis.call('HGETALL', k), k).toBe(await redis.call('HGETALL', k));
      for (const k of ['t:0', 't:1']) expect(await raftis.call('SMISMEMBER', k, 'm0', 'm1', 'm2', 'm3'), k).toBe(await redis.call('SMISMEMBER', k, 'm0', 'm1', 'm2', 'm3'));
    });
  }

  it('keeps the order of a pipeline: an unchanged-looking PFADD after the same client\'s DEL in flight adds', async () => {
    const [redis, raftis] = await env.pair();
    for (const c of [redis, raftis]) {
      await c.call('FLUSHALL');
      await c.call('PFADD', 'h', 'a');
    }
    const cmds = [['DEL', 'h'], ['PFADD', 'h', 'a'], ['PFCOUNT', 'h'], ['PFADD', 'h', 'a']];
    const run = async (c: RawClient): Promise<string[]> => {
      const replies = cmds.map(() => c.next());
      c.sock.write(cmds.map(encodeCommand).join(''));
      return Promise.all(replies);
    };
    expect(await run(raftis)).toEqual(await run(redis));
    expect(await run(raftis)).toEqual([':1\r\n', ':1\r\n', ':1\r\n', ':0\r\n']);
  });

  it('touches the key as a write does (OBJECT IDLETIME), counts the call, and leaves WATCH alone, as redis-server', async () => {
    const [redis, raftis] = await env.pair();
    for (const c of [redis, raftis]) {
      await c.call('FLUSHALL');
      await c.call('CONFIG', 'RESETSTAT');
      await c.call('SADD', 's', 'x');
      await c.call('DEBUG', 'SLEEP', '0');
    }
    await new Promise((r) => setTimeout(r, 2100));
    for (const c of [redis, raftis]) expect(Number(await c.call('OBJECT', 'IDLETIME', 's').then((x) => x.slice(1)))).toBeGreaterThanOrEqual(2);
    for (const c of [redis, raftis]) {
      await c.call('WATCH', 's');
      expect(await c.call('SADD', 's', 'x')).toBe(':0\r\n');
      expect(await c.call('OBJECT', 'IDLETIME', 's')).toBe(':0\r\n');
      await c.call('MULTI');
      await c.call('SCARD', 's');
      expect(await c.call('EXEC')).toBe('*1\r\n:1\r\n');
    }
    const calls = async (c: RawClient): Promise<string | undefined> => (await c.call('INFO', 'commandstats')).split('\r\n').find((l) => l.startsWith('cmdstat_sadd:'))?.split(',')[0];
    expect(await calls(raftis)).toBe(await calls(redis));
  });

  it('lets a write lookup delete an expired key as redis-server does (GEOADD XX on it is an entry)', async () => {
    const [redis, raftis] = await env.pair();
    for (const c of [redis, raftis]) {
      await c.call('FLUSHALL');
      await c.call('GEOADD', 'g', '13.361389', '38.115556', 'p');
      await c.call('PEXPIRE', 'g', '1');
    }
    await new Promise((r) => setTimeout(r, 5));
    for (const cmd of [['GEOADD', 'g', 'XX', '13.361389', '38.115556', 'p'], ['DBSIZE'], ['EXISTS', 'g']]) {
      expect(await raftis.call(...cmd), cmd.join(' ')).toBe(await redis.call(...cmd));
    }
  });
});
