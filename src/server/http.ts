/**
 * The operator's HTTP port (--http-port, off by default): a small router on
 * node:http. Routes are registered by path; observability features (metrics,
 * health, the cluster page) each add theirs. Bound like the client port.
 */
import http from 'node:http';
import { ListenError } from './server.js';
import { createLogger } from '../util/log.js';

const log = createLogger('http');

/** Handles one GET (or HEAD) on its path; the query string is in `url`. */
export type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void | Promise<void>;

export class HttpServer {
  private readonly srv: http.Server;
  private readonly routes = new Map<string, HttpHandler>();
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor() {
    this.srv = http.createServer((req, res) => void this.dispatch(req, res));
    this.srv.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.srv.on('error', (err) => log.error(`http listener: ${err.message}`));
  }

  /** Registers the handler of one exact path ("/metrics"). */
  route(path: string, handler: HttpHandler): this {
    if (this.routes.has(path)) throw new Error(`HTTP route ${path} registered twice`);
    this.routes.set(path, handler);
    return this;
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://raftis.invalid');
    const handler = this.routes.get(url.pathname);
    if (handler === undefined) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    try {
      await handler(req, res, url);
    } catch (e) {
      log.warn(`HTTP ${url.pathname}: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    }
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const what = `${host}:${port}`;
        if (err.code === 'EADDRINUSE') reject(new ListenError(`HTTP port ${what} is already in use; stop what listens there or choose another --http-port`, { cause: err }));
        else reject(new ListenError(`cannot listen for HTTP on ${what}: ${err.message}`, { cause: err }));
      };
      this.srv.once('error', onError);
      this.srv.listen({ host, port }, () => {
        this.srv.off('error', onError);
        resolve();
      });
    });
  }

  /** The port actually bound (useful with port 0 in tests). */
  get port(): number {
    const a = this.srv.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.srv.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }
}

/** Writes a whole response (HEAD gets the headers only). */
export function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
