/**
 * A plain `SET key value` runs from the request's bytes (the parser offers
 * it, Dispatcher.plainSet proposes an entry copied from them, no argv) when
 * nothing needs its strings, and through onCommand otherwise. Against
 * redis-server, byte for byte: random pipelines mixing plain SETs (any name
 * case, binary keys, empty, integer, long values) with what makes the fast
 * path step aside — other SET shapes, TTLs, MULTI/EXEC, WATCH, SELECT,
 * CLIENT REPLY, other types — and, on other connections, the listeners that
 * must still hear of a plain SET: client-side caching, keyspace
 * notifications, MONITOR; plus what the server counts (commandstats,
 * SLOWLOG's arguments, CLIENT LIST's cmd).
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseReply, replyItems as items, replyValue as text } from '../helpers/engine-diff.js';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import { createPrng } from '../../src/util/prng.js';

const env = useProcessDifferential();

/** Sends `raw` in one write on a new connection and returns every byte received up to and including `end`. */
async function pipeline(port: number, raw: string, end: string, before: string[][] = []): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    for (const cmd of before) await c.call(...cmd);
    const sock = c.sock;
    let got = '';
    const done = new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${JSON.stringify(end)} within 20 s; got ${JSON.stringify(got.slice(-500))}`)), 20_000);
      sock.removeAllListeners('data');
      sock.on('data', (d: string) => {
        got += d;
        if (got.endsWith(end)) {
          clearTimeout(t);
          resolve(got);
        }
      });
    });
    sock.write(Buffer.from(raw, 'latin1'));
    return await done;
  } finally {
    c.close();
  }
}

const END = encodeCommand(['CLIENT', 'REPLY', 'ON']) + encodeCommand(['ECHO', '__end']);
const END_REPLY = '$5\r\n__end\r\n';

function randomScript(seed: number): string {
  const r = createPrng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const bytes = (min: number, max: number, alphabet?: string): string => {
    const n = min + Math.floor(r() * (max - min + 1));
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet !== undefined ? alphabet[Math.floor(r() * alphabet.length)] : String.fromCharCode(Math.floor(r() * 256));
    return s;
  };
  const keys = Array.from({ length: 30 }, (_, i) => (i % 4 === 0 ? bytes(0, 70) : `key:${i}`));
  const value = (): string => {
    const p = r();
    if (p < 0.6) return bytes(1, 24, 'abcdefxyz\xe9\xff\r\n');
    if (p < 0.7) return String(Math.floor(r() * 2000) - 1000);
    if (p < 0.75) return '';
    if (p < 0.8) return '-' + bytes(0, 5, 'ab');
    if (p < 0.9) return bytes(60, 200);
    return bytes(1, 16);
  };
  let s = '';
  const cmd = (...a: string[]): void => {
    s += encodeCommand(a);
  };
  for (let i = 0; i < 400; i++) {
    const key = pick(keys);
    const p = r();
    if (p < 0.55) cmd(pick(['SET', 'set', 'Set', 'sET']), key, value());
    else if (p < 0.62) cmd('GET', key);
    else if (p < 0.64) cmd('SET', key, value(), 'EX', '100000');
    else if (p < 0.66) cmd('PERSIST', key);
    else if (p < 0.68) cmd('SET', key, value(), pick(['NX', 'XX', 'GET', 'KEEPTTL']));
    else if (p < 0.7) cmd('SELECT', String(Math.floor(r() * 4)));
    else if (p < 0.74) {
      cmd('MULTI');
      cmd('SET', key, value());
      cmd('set', pick(keys), value());
      cmd('GET', key);
      cmd('EXEC');
    } else if (p < 0.79) {
      // A key no request writes: a client's pipelined write and its own WATCH are another matter (see the report of this branch).
      cmd('WATCH', `watched:${i}`);
      cmd('SET', key, value());
      cmd('MULTI');
      cmd('SET', key, value());
      cmd('GET', key);
      cmd('EXEC');
    } else if (p < 0.81) {
      cmd('CLIENT', 'REPLY', 'OFF');
      cmd('SET', key, value());
      cmd('CLIENT', 'REPLY', 'ON');
    } else if (p < 0.83) {
      cmd('CLIENT', 'REPLY', 'SKIP');
      cmd('SET', key, value());
    } else if (p < 0.85) cmd('LPUSH', key, 'x');
    else if (p < 0.87) cmd('APPEND', key, value());
    else if (p < 0.89) cmd('STRLEN', key);
    else if (p < 0.9) cmd('INCR', key);
    else if (p < 0.92) cmd('DEL', key);
    else if (p < 0.93) cmd('TYPE', key);
    else if (p < 0.94) cmd('SET', key);
    else if (p < 0.95) cmd('SETX', key, value());
    else cmd('EXISTS', key, pick(keys));
  }
  // What was left, in every database.
  for (let db = 0; db < 4; db++) {
    cmd('SELECT', String(db));
    cmd('DBSIZE');
    for (const k of keys) {
      cmd('TYPE', k);
      cmd('GET', k);
    }
  }
  return s + END;
}

describe('a plain SET from the request bytes', () => {
  it('random pipelines of SETs and what makes the fast path step aside give the same bytes as redis-server', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const script = randomScript(seed);
      for (const port of [env.diff.redis.port, env.raftis.port]) await pipeline(port, encodeCommand(['FLUSHALL']) + END, END_REPLY);
      const [a, b] = [await pipeline(env.diff.redis.port, script, END_REPLY), await pipeline(env.raftis.port, script, END_REPLY)];
      expect(b.length).toBeGreaterThan(1000);
      expect(b).toBe(a);
    }
  });

  // Each listener alone: any one of them turns a step of the fast path off (the dispatcher's for tracking, the apply's for the others).
  const SETS = encodeCommand(['SET', 'tracked', 'v1']) + encodeCommand(['set', 'other', 'v2']) + encodeCommand(['SET', 'tracked', 'v3']) + encodeCommand(['SET', '__end', 'x']);
  const OKS = '+OK\r\n'.repeat(4);
  const listeners: [string, (c: RawClient) => Promise<unknown>, (c: RawClient) => Promise<string>][] = [
    [
      'client-side caching (RESP3 invalidation before the reply to a later command)',
      async (c) => {
        await c.call('HELLO', '3');
        await c.call('CLIENT', 'TRACKING', 'ON');
        await c.call('GET', 'tracked');
      },
      async (c) => c.call('ECHO', 't-end'),
    ],
    [
      'keyspace notifications',
      async (c) => {
        await c.call('CONFIG', 'SET', 'notify-keyspace-events', 'KEA');
        await c.call('PSUBSCRIBE', '__key*__:*');
      },
      async (c) => {
        let notes = '';
        for (let i = 0; i < 8; i++) notes += await c.next();
        return notes;
      },
    ],
    [
      // Ends with a write: MONITOR shows raftis's writes when they apply (after a connection command sent behind them).
      'MONITOR',
      async (c) => c.call('MONITOR'),
      async (c) => {
        const lines: string[] = [];
        for (let i = 0; i < 10 && !lines.some((l) => l.includes('"__end"')); i++) lines.push((await c.next()).replace(/^\+\d+\.\d{6} \[0 [^\]]+\]/, '+<time> [0 <client>]'));
        return lines.join('');
      },
    ],
    ['WATCH (another client\'s)', async (c) => c.call('WATCH', 'tracked'), async (c) => (await c.call('MULTI')) + (await c.call('GET', 'tracked')) + (await c.call('EXEC'))],
  ];
  for (const [name, setUp, heard] of listeners) {
    it(`${name} hears of plain SETs as on redis-server`, async () => {
      const got: string[] = [];
      for (const port of [env.diff.redis.port, env.raftis.port]) {
        const c = await RawClient.connect(port);
        try {
          await c.call('FLUSHALL');
          await setUp(c);
          expect(await pipeline(port, SETS, OKS)).toBe(OKS);
          got.push(await heard(c));
        } finally {
          await pipeline(port, encodeCommand(['CONFIG', 'SET', 'notify-keyspace-events', '']), '+OK\r\n');
          c.close();
        }
      }
      expect(got[1]).toBe(got[0]);
      expect(got[1]).toMatch(/invalidate|__keyspace@0__:tracked|"set" "other" "v2"|^\+OK\r\n\+QUEUED\r\n\*-1\r\n$/);
    });
  }

  it('counts calls and commands, keeps SLOWLOG arguments and CLIENT LIST cmd as redis-server', async () => {
    const [a, b] = await env.pair();
    for (const c of [a, b]) await c.call('FLUSHALL');
    await same(a, b, 'CONFIG', 'RESETSTAT');
    await same(a, b, 'CONFIG', 'SET', 'slowlog-log-slower-than', '0');
    await same(a, b, 'SLOWLOG', 'RESET');
    const sets = Array.from({ length: 50 }, (_, i) => [['SET', 'set', 'SeT'][i % 3]!, `k${i % 7}`, `value-${i}\xff`]);
    const script = sets.map((argv) => encodeCommand(argv)).join('') + encodeCommand(['CLIENT', 'SETNAME', 'setter']) + encodeCommand(['SET', 'last', 'x']);
    const [pa, pb] = await Promise.all([pipelineKeep(env.diff.redis.port, script), pipelineKeep(env.raftis.port, script)]);
    try {
      await same(a, b, 'CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
      const calls = (info: string): string => /cmdstat_set:calls=(\d+)/.exec(info)?.[1] ?? 'none';
      expect(calls(await b.call('INFO', 'commandstats'))).toBe(calls(await a.call('INFO', 'commandstats')));
      expect(calls(await b.call('INFO', 'commandstats'))).toBe('51');
      const argvs = async (c: RawClient): Promise<string[][]> => items(parseReply(await c.call('SLOWLOG', 'GET', '-1'))[0]).map((e) => items(items(e)[3]!).map(text));
      const [sa, sb] = [await argvs(a), await argvs(b)];
      expect(sb.filter((x) => x[0]!.toLowerCase() === 'set')).toEqual(sa.filter((x) => x[0]!.toLowerCase() === 'set'));
      expect(sb.filter((x) => x[0]!.toLowerCase() === 'set')).toHaveLength(51);
      const cmdOf = (list: string): string | undefined => / name=setter .*? cmd=(\S+)/.exec(list)?.[1];
      expect(cmdOf(await b.call('CLIENT', 'LIST'))).toBe(cmdOf(await a.call('CLIENT', 'LIST')));
      expect(cmdOf(await b.call('CLIENT', 'LIST'))).toBe('set');
    } finally {
      pa.close();
      pb.close();
    }
  });
});

/** Sends the 52 requests of `raw` (each answered +OK) in one write; the connection stays open (closed by the caller) so CLIENT LIST still shows it. */
async function pipelineKeep(port: number, raw: string): Promise<{ close(): void }> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  sock.setEncoding('latin1');
  let got = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no reply to the pipeline within 20 s')), 20_000);
    sock.on('data', (d: string) => {
      got += d;
      if (got.endsWith('+OK\r\n'.repeat(52))) {
        clearTimeout(t);
        resolve();
      }
    });
    sock.write(Buffer.from(raw, 'latin1'));
  });
  return { close: () => sock.destroy() };
}
