/**
 * Real clients against a real raftis process: ioredis with its default
 * handshake (HELLO 3, CLIENT SETINFO, INFO ready check), redis-cli one-shot
 * and interactive start-up (COMMAND DOCS), redis-benchmark.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { until, untilBlocked } from '../helpers/poll.js';

const run = promisify(execFile);
let srv: RaftisProcess;

beforeAll(async () => {
  srv = await startRaftis();
});
afterAll(async () => {
  await srv?.destroy();
});

describe('ioredis', () => {
  it('connects with its default handshake and runs commands (RESP3 negotiated)', async () => {
    const r = new Redis({ port: srv.port, host: '127.0.0.1', lazyConnect: true });
    try {
      await r.connect();
      expect(await r.set('io:k', 'v1')).toBe('OK');
      expect(await r.get('io:k')).toBe('v1');
      expect(await r.incr('io:n')).toBe(1);
      expect(await r.incrby('io:n', 41)).toBe(42);
      expect(await r.mget('io:k', 'io:missing', 'io:n')).toEqual(['v1', null, '42']);
      expect(await r.set('io:ttl', 'x', 'EX', 100)).toBe('OK');
      const ttl = await r.ttl('io:ttl');
      expect(ttl).toBeGreaterThan(90);
      expect(ttl).toBeLessThanOrEqual(100);
      const res = await r.multi().set('io:m', '1').incr('io:m').get('io:m').exec();
      expect(res).toEqual([
        [null, 'OK'],
        [null, 2],
        [null, '2'],
      ]);
      await expect(r.incr('io:k')).rejects.toThrow('ERR value is not an integer or out of range');
      const list = (await r.client('LIST')) as string;
      expect(list).toMatch(/lib-name=ioredis/);
      expect(await r.exists('io:k', 'io:n', 'nope')).toBe(2);
      expect(await r.del('io:k', 'io:n')).toBe(2);
    } finally {
      r.disconnect();
    }
  });

  it('pipelines many commands in order', async () => {
    const r = new Redis({ port: srv.port, host: '127.0.0.1' });
    try {
      const p = r.pipeline();
      for (let i = 0; i < 500; i++) {
        p.set(`pl:${i}`, String(i));
        p.get(`pl:${i}`);
        p.incr('pl:count');
      }
      const out = await p.exec();
      expect(out).toHaveLength(1500);
      for (let i = 0; i < 500; i++) {
        expect(out![3 * i]).toEqual([null, 'OK']);
        expect(out![3 * i + 1]).toEqual([null, String(i)]);
        expect(out![3 * i + 2]).toEqual([null, i + 1]);
      }
    } finally {
      r.disconnect();
    }
  });

  it('WATCH aborts EXEC when another client writes the key', async () => {
    const a = new Redis({ port: srv.port, host: '127.0.0.1' });
    const b = new Redis({ port: srv.port, host: '127.0.0.1' });
    try {
      await a.set('w:k', '1');
      await a.watch('w:k');
      await b.set('w:k', '2');
      const res = await a.multi().set('w:k', '3').exec();
      expect(res).toBeNull();
      expect(await a.get('w:k')).toBe('2');
      await a.watch('w:k');
      const ok = await a.multi().set('w:k', '4').exec();
      expect(ok).toEqual([[null, 'OK']]);
      expect(await b.get('w:k')).toBe('4');
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});

describe('redis-cli', () => {
  it('runs one-shot commands', async () => {
    const cli = (...args: string[]) => run('redis-cli', ['-p', String(srv.port), ...args]).then((r) => r.stdout);
    expect(await cli('PING')).toBe('PONG\n');
    expect(await cli('SET', 'cli:k', 'hello world')).toBe('OK\n');
    expect(await cli('GET', 'cli:k')).toBe('hello world\n');
    expect(await cli('INCR', 'cli:n')).toBe('1\n');
    expect(await cli('GET', 'cli:nothing')).toBe('\n');
    expect(await cli('--no-raw', 'GET', 'cli:nothing')).toBe('(nil)\n');
    expect(await cli('--no-raw', 'MGET', 'cli:k', 'cli:n')).toBe('1) "hello world"\n2) "1"\n');
    expect(await cli('DBSIZE')).toMatch(/^\d+\n$/);
  });

  it('starts interactively (COMMAND DOCS for hints) and runs typed commands', async () => {
    const { spawn } = await import('node:child_process');
    const p = spawn('redis-cli', ['-p', String(srv.port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stdin.write('SET cli:i 42\nGET cli:i\nQUIT\n');
    p.stdin.end();
    const code = await new Promise((r) => p.on('exit', r));
    expect(code).toBe(0);
    expect(out).toContain('OK');
    expect(out).toContain('42');
  });
});

describe('redis-benchmark', () => {
  it('completes ping_inline,ping_mbulk,set,get,incr,mset -P 16 with no error reply', async () => {
    const { stdout, stderr } = await run(
      'redis-benchmark',
      ['-p', String(srv.port), '-t', 'ping_inline,ping_mbulk,set,get,incr,mset', '-n', '20000', '-P', '16', '-q'],
      { timeout: 120_000 },
    );
    const text = stdout + stderr;
    expect(text).not.toMatch(/error/i);
    for (const t of ['PING_INLINE', 'PING_MBULK', 'SET', 'GET', 'INCR', 'MSET']) {
      expect(text).toMatch(new RegExp(`${t}( \\(10 keys\\))?: [\\d.]+ requests per second`));
    }
  });
});

describe('connections read into one shared buffer', () => {
  it("keeps a blocked client's later bytes intact while other connections read", async () => {
    const a = await RawClient.connect(srv.port);
    const b = await RawClient.connect(srv.port);
    const c = await RawClient.connect(srv.port);
    try {
      expect(await c.call('CLIENT', 'SETNAME', 'observer')).toBe('+OK\r\n');
      expect(await a.call('CLIENT', 'SETNAME', 'held')).toBe('+OK\r\n');
      const qbuf = async (): Promise<number> => Number(/name=held .*?qbuf=(\d+)/.exec(await c.call('CLIENT', 'LIST'))?.[1] ?? -1);
      const popped = a.send('BLPOP shared:q 0\r\n');
      await untilBlocked(c, 1);
      // A request read while A is blocked waits parsed in its inbox; what
      // A's next read brings waits as raw bytes, which must be A's own
      // copy: the read buffer is reused by every other connection's reads.
      a.sock.write('PING\r\n');
      await until('the PING held behind the BLPOP', async () => (await qbuf()) > 0);
      const before = await qbuf();
      a.sock.write('*3\r\n$3\r\nSET\r\n$8\r\nshared:a\r\n$8\r\nAAAAAAAA\r\n*2\r\n$3\r\nGET\r\n$8\r\nshared:a\r\n');
      await until('the SET and GET held as raw bytes', async () => (await qbuf()) > before);
      // Other connections' reads go through the same buffer meanwhile.
      for (let i = 0; i < 20; i++) expect(await b.call('SET', `shared:b${i}`, 'B'.repeat(100 + i))).toBe('+OK\r\n');
      expect(await b.call('RPUSH', 'shared:q', 'x')).toBe(':1\r\n');
      expect(await popped).toBe('*2\r\n$8\r\nshared:q\r\n$1\r\nx\r\n');
      expect(await a.next()).toBe('+PONG\r\n');
      expect(await a.next()).toBe('+OK\r\n');
      expect(await a.next()).toBe('$8\r\nAAAAAAAA\r\n');
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });
});

describe('replies written straight to the socket (util/socket-write.ts)', () => {
  it('a reply the kernel does not take whole counts as output: one GET past the hard limit closes a client that does not read', async () => {
    const r = new Redis({ port: srv.port, host: '127.0.0.1', lazyConnect: true });
    await r.connect();
    const sock = net.connect(srv.port, '127.0.0.1');
    sock.on('error', () => {});
    try {
      await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
      expect(await r.set('direct:big', 'x'.repeat(32 << 20))).toBe('OK');
      await r.config('SET', 'client-output-buffer-limit', 'normal 1mb 0 0');
      const named = new Promise<void>((resolve) => sock.once('data', () => resolve()));
      sock.write('CLIENT SETNAME direct\r\n');
      await named;
      sock.pause();
      const listed = async (): Promise<boolean> => /name=direct /.test((await r.client('LIST')) as string);
      expect(await listed()).toBe(true);
      // Its next write: 32 MB, with nothing queued before it. The connection is closed (it does not read: seen in CLIENT LIST).
      sock.write('GET direct:big\r\n');
      await until('the client closed for its output', async () => !(await listed()));
    } finally {
      sock.destroy();
      await r.config('SET', 'client-output-buffer-limit', 'normal 0 0 0');
      await r.del('direct:big');
      r.disconnect();
    }
  });
});
