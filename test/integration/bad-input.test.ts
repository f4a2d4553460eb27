/**
 * Hostile and broken clients: garbage, truncated frames, huge headers, a
 * client that never reads its replies. The server survives, answers with
 * Redis's protocol errors, and every other client carries on.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { createPrng } from '../../src/util/prng.js';

let srv: RaftisProcess;
let watcher: RawClient;

beforeAll(async () => {
  srv = await startRaftis();
  watcher = await RawClient.connect(srv.port);
});
afterAll(async () => {
  watcher?.close();
  await srv?.destroy();
});


async function rssOf(pid: number): Promise<number> {
  const fs = await import('node:fs');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
}

describe('bad input', () => {
  it('answers protocol errors and closes only the offending connection', async () => {
    const cases: [string, RegExp][] = [
      ['*1\r\n+PING\r\n', /^-ERR Protocol error: expected '\$', got '\+'\r\n$/],
      ['*abc\r\n', /^-ERR Protocol error: invalid multibulk length\r\n$/],
      ['*1\r\n$-5\r\n', /^-ERR Protocol error: invalid bulk length\r\n$/],
      ['*1\r\n$999999999999\r\n', /^-ERR Protocol error: invalid bulk length\r\n$/],
      ['SET "unbalanced\r\n', /^-ERR Protocol error: unbalanced quotes in request\r\n$/],
    ];
    for (const [input, expected] of cases) {
      const c = await RawClient.connect(srv.port);
      const reply = await c.send(input);
      expect(reply, JSON.stringify(input)).toMatch(expected);
      expect(await c.closedPromise(), JSON.stringify(input)).toBe(true);
    }
    expect(await watcher.call('PING')).toBe('+PONG\r\n');
  });

  it('closes for good a client that keeps sending after a protocol error', async () => {
    const s = net.connect(srv.port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    const port = s.localPort!;
    s.on('data', () => {});
    s.on('error', () => {});
    const closed = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 10_000);
      s.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    let done = false;
    void closed.then(() => (done = true));
    s.write('*x\r\n');
    // Keep sending, as a client that does not look at its replies would (64 MB at most).
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let sent = 0; !done && sent < 64 * 1024 * 1024; sent += chunk.length) {
      await new Promise<void>((resolve) => {
        s.write(chunk, () => resolve());
        void closed.then(() => resolve());
      });
    }
    // Half-closed (FIN sent, the client's bytes never read), the connection
    // would stay open: the client could not finish sending to see the FIN.
    expect(await closed).toBe(true);
    s.destroy();
    expect(await watcher.call('CLIENT', 'LIST')).not.toContain(`addr=127.0.0.1:${port} `);
  });

  it('survives seeded random garbage from many connections', async () => {
    const rand = createPrng(12345);
    for (let i = 0; i < 60; i++) {
      const len = 1 + Math.floor(rand() * 300);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rand() * 256);
      if (i % 3 === 0) buf[0] = 0x2a; // '*': exercise the multibulk path
      const s = net.connect(srv.port, '127.0.0.1');
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.on('error', () => {});
      s.write(buf);
      await new Promise((r) => setTimeout(r, 5));
      s.destroy();
    }
    expect(await watcher.call('SET', 'still', 'alive')).toBe('+OK\r\n');
    expect(await watcher.call('GET', 'still')).toBe('$5\r\nalive\r\n');
  });

  it('handles commands split at every byte', async () => {
    const c = await RawClient.connect(srv.port);
    const payload = encodeCommand(['SET', 'split', 'a\r\nb']) + encodeCommand(['GET', 'split']) + 'PING\r\n';
    const replies: Promise<string>[] = [c.next(), c.next(), c.next()];
    for (let i = 0; i < payload.length; i++) {
      c.sock.write(Buffer.from(payload[i]!, 'latin1'));
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(replies)).toEqual(['+OK\r\n', '$4\r\na\r\nb\r\n', '+PONG\r\n']);
    c.close();
  });

  it('does not reserve memory for a huge bulk length that never arrives', async () => {
    const before = await rssOf(srv.proc.pid!);
    const socks: net.Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const s = net.connect(srv.port, '127.0.0.1');
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000000\r\nabc');
      socks.push(s);
    }
    await new Promise((r) => setTimeout(r, 300));
    const after = await rssOf(srv.proc.pid!);
    // 20 × 500 MB announced; nothing like it may be allocated.
    expect(after - before).toBeLessThan(200 * 1024 * 1024);
    expect(await watcher.call('PING')).toBe('+PONG\r\n');
    for (const s of socks) s.destroy();
  });

  it('stops reading from a client that does not read its replies (bounded memory)', async () => {
    await watcher.call('SET', 'big', 'x'.repeat(512 * 1024));
    const s = net.connect(srv.port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.pause(); // never read
    const cmd = Buffer.from(encodeCommand(['GET', 'big']).repeat(100), 'latin1');
    // Offer ~2 GB of replies' worth of requests (4000 × 100 GETs of 512 KB), bounded in time.
    const deadline = Date.now() + 3000;
    let sent = 0;
    while (Date.now() < deadline && sent < 4000) {
      if (!s.write(cmd)) await new Promise((r) => setTimeout(r, 10));
      sent++;
    }
    const rss = await rssOf(srv.proc.pid!);
    expect(rss).toBeLessThan(1024 * 1024 * 1024);
    expect(await watcher.call('PING')).toBe('+PONG\r\n');
    s.destroy();
  });
});
