/**
 * The client-facing TCP server: accepts connections and hands each one a
 * Client; stops cleanly (stop accepting, let replies flush, close sockets).
 */
import net from 'node:net';
import { Client, ReplyScheduler, type ClientHost } from './client.js';
import { createLogger } from '../util/log.js';

const log = createLogger('server');

export class ListenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ListenError';
  }
}

export class RespServer {
  private readonly srv: net.Server;
  private readonly clients = new Set<Client>();
  private readonly replies = new ReplyScheduler();

  constructor(host: ClientHost) {
    this.srv = net.createServer({ noDelay: true }, (sock) => {
      const refused = host.refuseConnection(sock.remoteAddress);
      if (refused !== undefined) {
        sock.on('error', () => {});
        sock.end(`-${refused}\r\n`);
        return;
      }
      const c = new Client(sock, host, this.replies);
      this.clients.add(c);
      sock.once('close', () => this.clients.delete(c));
      host.addClient(c);
    });
    this.srv.on('error', (err) => log.error(`client listener: ${err.message}`));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const what = `${host}:${port}`;
        if (err.code === 'EADDRINUSE') reject(new ListenError(`port ${what} is already in use; stop what listens there or choose another --port`, { cause: err }));
        else if (err.code === 'EADDRNOTAVAIL') reject(new ListenError(`cannot bind ${what}: address not available on this machine; check --bind`, { cause: err }));
        else if (err.code === 'EACCES') reject(new ListenError(`cannot bind ${what}: permission denied`, { cause: err }));
        else reject(new ListenError(`cannot listen on ${what}: ${err.message}`, { cause: err }));
      };
      this.srv.once('error', onError);
      this.srv.listen({ host, port, backlog: 511 }, () => {
        this.srv.off('error', onError);
        resolve();
      });
    });
  }

  /** Stops accepting, flushes what every client is owed, then closes them. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.srv.close(() => resolve());
      for (const c of this.clients) c.closeAfterReply();
      setTimeout(() => {
        for (const c of this.clients) c.kill();
      }, 1000).unref();
    });
  }
}
