/**
 * client-output-buffer-limit beside redis-server 7.0: a normal client that
 * pipelines big GETs and does not read its replies is closed when they pass
 * the hard limit, or stay over the soft limit for longer than its seconds;
 * under the default (normal 0 0 0) it gets every reply. The client sees the
 * connection close after some of its replies, never all of them.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeCommand } from '../helpers/raw-client.js';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';

const env = useProcessDifferential();
const socks: net.Socket[] = [];
afterAll(() => {
  for (const s of socks) s.destroy();
});

const VALUE = 'x'.repeat(100 * 1024);
const GETS = 200;

interface Flood {
  /** Complete GET replies read. */
  replies: number;
  /** The server closed the connection. */
  closed: boolean;
}

/**
 * Sends GETs of the big value without reading, `pipelined` at once and then
 * one every 100 ms for `trickleMs`; then reads until the connection closes
 * or every reply has come (within a bounded wait).
 */
async function flood(port: number, pipelined: number, trickleMs: number): Promise<Flood> {
  const sock = net.connect(port, '127.0.0.1');
  socks.push(sock);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.on('error', () => {});
  sock.pause();
  let closed = false;
  sock.once('close', () => (closed = true));
  const get = encodeCommand(['GET', 'big']);
  sock.write(get.repeat(pipelined));
  let sent = pipelined;
  for (const until = Date.now() + trickleMs; Date.now() < until && !closed; sent++) {
    await new Promise((r) => setTimeout(r, 100));
    if (!sock.destroyed) sock.write(get);
  }
  // Now read everything there is.
  const header = `$${VALUE.length}\r\n`;
  const replySize = header.length + VALUE.length + 2;
  let bytes = 0;
  sock.on('data', (d: Buffer) => (bytes += d.length));
  sock.resume();
  for (let i = 0; i < 300 && !closed && bytes < sent * replySize; i++) await new Promise((r) => setTimeout(r, 50));
  return { replies: Math.floor(bytes / replySize), closed };
}

describe('client-output-buffer-limit', () => {
  it('the normal class has no limit by default: every reply arrives', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'CONFIG', 'GET', 'client-output-buffer-limit');
    await same(a, b, 'SET', 'big', VALUE);
    for (const port of [env.diff.redis.port, env.raftis.port]) {
      const r = await flood(port, GETS, 500);
      expect(r.closed).toBe(false);
      expect(r.replies).toBeGreaterThanOrEqual(GETS);
    }
  });

  it('past the hard limit the client is closed with replies unread', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'SET', 'big', VALUE);
    await same(a, b, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 1mb 0 0');
    try {
      await same(a, b, 'CONFIG', 'GET', 'client-output-buffer-limit');
      for (const port of [env.diff.redis.port, env.raftis.port]) {
        const r = await flood(port, GETS, 500);
        expect(r.closed, `port ${port}`).toBe(true);
        expect(r.replies).toBeLessThan(GETS);
      }
      // Other clients are not affected.
      await same(a, b, 'STRLEN', 'big');
    } finally {
      await same(a, b, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
    }
  });

  it('over the soft limit for longer than its seconds the client is closed', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'SET', 'big', VALUE);
    await same(a, b, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 1mb 1');
    try {
      for (const port of [env.diff.redis.port, env.raftis.port]) {
        // One GET every 100 ms after the pipeline, for up to 8 s: closed once more than a second has passed over the limit.
        const r = await flood(port, GETS, 8000);
        expect(r.closed, `port ${port}`).toBe(true);
        expect(r.replies).toBeLessThan(GETS);
      }
    } finally {
      await same(a, b, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
    }
  });
});
