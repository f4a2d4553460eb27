import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { setDirectWrites, writeDirect } from '../../../src/util/socket-write.js';

/** A connected pair on 127.0.0.1: [the dialer, the accepted socket]. */
async function pair(): Promise<{ a: net.Socket; b: net.Socket; server: net.Server }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const a = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => a.once('connect', r));
  return { a, b: await accepted, server };
}

const open: Array<{ a: net.Socket; b: net.Socket; server: net.Server }> = [];
afterEach(async () => {
  for (const p of open.splice(0)) {
    p.a.destroy();
    p.b.destroy();
    await new Promise((r) => p.server.close(r));
  }
});

function readAll(s: net.Socket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) resolve(Buffer.concat(chunks));
    });
  });
}

describe('writeDirect', () => {
  it('writes strings and buffers straight to the handle, in order with socket.write', async () => {
    const p = await pair();
    open.push(p);
    const got = readAll(p.b, 9);
    expect(writeDirect(p.a, '+OK\r\n', () => {})).toBe('sync');
    expect(writeDirect(p.a, Buffer.from('ab'), () => {})).toBe('sync');
    p.a.write('cd');
    expect((await got).toString('latin1')).toBe('+OK\r\nabcd');
  });

  it('declines while the Writable holds data, while corked, on a connecting or destroyed socket', async () => {
    const p = await pair();
    open.push(p);
    p.a.cork();
    p.a.write('x');
    expect(writeDirect(p.a, 'y', () => {})).toBeUndefined();
    p.a.uncork();
    const connecting = net.connect((p.server.address() as net.AddressInfo).port, '127.0.0.1');
    expect(writeDirect(connecting, 'z', () => {})).toBeUndefined();
    connecting.destroy();
    p.a.destroy();
    expect(writeDirect(p.a, 'w', () => {})).toBeUndefined();
  });

  it('a write the kernel does not take whole completes later, in order, and calls done', async () => {
    const p = await pair();
    open.push(p);
    p.b.pause();
    const big = Buffer.alloc(64 << 20, 7);
    let done = false;
    expect(writeDirect(p.a, big, () => (done = true))).toBe('async');
    // Nothing pending in the Writable: the next socket.write queues behind it in libuv.
    p.a.write(Buffer.from([1, 2, 3]));
    expect(done).toBe(false);
    p.b.resume();
    const all = await readAll(p.b, big.length + 3);
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(true);
    expect(all.length).toBe(big.length + 3);
    expect(all.subarray(big.length).equals(Buffer.from([1, 2, 3]))).toBe(true);
    expect(all[big.length - 1]).toBe(7);
  });

  it('turned off, it declines every write (the callers fall back to socket.write)', async () => {
    const p = await pair();
    open.push(p);
    setDirectWrites(false);
    try {
      expect(writeDirect(p.a, '+OK\r\n', () => {})).toBeUndefined();
    } finally {
      setDirectWrites(true);
    }
    expect(writeDirect(p.a, '+OK\r\n', () => {})).toBe('sync');
  });

  it('a queued write on a socket that is destroyed reports an error to done', async () => {
    const p = await pair();
    open.push(p);
    p.b.pause();
    let err: Error | undefined | null = null;
    p.a.on('error', () => {});
    expect(writeDirect(p.a, Buffer.alloc(64 << 20), (e) => (err = e))).toBe('async');
    p.a.destroy();
    await new Promise((r) => setTimeout(r, 20));
    expect(err).toBeInstanceOf(Error);
  });
});
