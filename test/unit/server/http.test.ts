import { afterEach, describe, expect, it } from 'vitest';
import { HttpServer, send } from '../../../src/server/http.js';

describe('HttpServer', () => {
  let srv: HttpServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  async function started(): Promise<string> {
    srv = new HttpServer()
      .route('/healthz', (_req, res) => send(res, 200, 'text/plain; charset=utf-8', 'ok\n'))
      .route('/boom', () => {
        throw new Error('boom');
      });
    await srv.listen('127.0.0.1', 0);
    return `http://127.0.0.1:${srv.port}`;
  }

  it('serves a route, 404 for others, 405 for other methods, 500 when a handler throws', async () => {
    const base = await started();
    const ok = await fetch(`${base}/healthz?x=1`);
    expect([ok.status, await ok.text(), ok.headers.get('content-type')]).toEqual([200, 'ok\n', 'text/plain; charset=utf-8']);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(`${base}/boom`)).status).toBe(500);
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect([head.status, await head.text(), head.headers.get('content-length')]).toEqual([200, '', '3']);
  });

  it('refuses a path registered twice and reports a port in use', async () => {
    const base = await started();
    expect(() => srv!.route('/healthz', () => {})).toThrow(/twice/);
    const other = new HttpServer();
    await expect(other.listen('127.0.0.1', Number(new URL(base).port))).rejects.toThrow(/already in use.*--http-port/);
  });
});
