/**
 * The client-facing servers: accept connections and hand each one a
 * Client; stop cleanly (stop accepting, let replies flush, close sockets).
 * The TLS port (Redis's tls-port) is a second listener whose TLS sockets go
 * to the same Client code as plain ones.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Client, ReplyScheduler, type ClientHost } from './client.js';
import { createLogger } from '../util/log.js';
import { userBufferSocket } from '../util/socket-read.js';

const log = createLogger('server');

export class ListenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ListenError';
  }
}

/** Redis's tls-* settings for the client port. */
export interface ClientTlsOptions {
  cert: Buffer | string;
  key: Buffer | string;
  /** CA for client certificates (tls-ca-cert-file); required unless authClients is 'no'. */
  ca?: Buffer | string | Buffer[];
  /** tls-auth-clients: 'yes' requires a client certificate from `ca`, 'optional' checks one if presented. */
  authClients: 'yes' | 'no' | 'optional';
  /** The other tls-* parameters (protocols, ciphers, session resumption…): src/server/tls-params.ts. */
  params?: tls.TlsOptions;
}

export class RespServer {
  private readonly srv: net.Server;
  private tlsSrv: tls.Server | undefined;
  private readonly clients = new Set<Client>();
  private readonly replies = new ReplyScheduler();
  private readonly onSocket: (sock: net.Socket, unixPath?: string) => void;
  private unixSrv: net.Server | undefined;

  constructor(host: ClientHost) {
    this.onSocket = (accepted, unixPath) => {
      // A Unix socket connection has no remote address: protected mode lets it in, as Redis.
      const refused = host.refuseConnection(accepted.remoteAddress);
      if (refused !== undefined) {
        accepted.on('error', () => {});
        accepted.resume();
        accepted.end(`-${refused}\r\n`);
        return;
      }
      let c: Client | undefined;
      const sock = accepted instanceof tls.TLSSocket ? undefined : userBufferSocket(accepted, READ_BUFFER, (n, buf) => c!.read(buf, n));
      c = new Client(sock ?? accepted, host, this.replies, unixPath, sock !== undefined);
      if (sock === undefined) accepted.resume();
      const client = c;
      this.clients.add(client);
      (sock ?? accepted).once('close', () => this.clients.delete(client));
      host.addClient(client);
    };
    // Paused: the connection's handle is read through a user buffer (userBufferSocket).
    this.srv = net.createServer({ noDelay: true, pauseOnConnect: true }, (sock) => this.onSocket(sock));
    this.srv.on('error', (err) => log.error(`client listener: ${err.message}`));
  }

  listen(host: string, port: number): Promise<void> {
    return listenOn(this.srv, host, port, '--port', this.backlog);
  }

  /** tcp-backlog: the listen() backlog of the client ports (the kernel caps it at net.core.somaxconn), as Redis's. */
  backlog = 511;

  /**
   * unixsocket / unixsocketperm: also serves clients on a Unix socket at
   * `file` (a file left there is removed first, as redis-server's
   * listenToPort does), with mode `perm` when not 0; the file goes when the
   * server closes.
   */
  listenUnix(file: string, perm: number): Promise<void> {
    fs.rmSync(file, { force: true });
    const srv = net.createServer({ pauseOnConnect: true }, (sock) => this.onSocket(sock, file));
    srv.on('error', (err) => log.error(`unix socket listener: ${err.message}`));
    this.unixSrv = srv;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new ListenError(`cannot listen on the Unix socket ${file}: ${err.message}`, { cause: err }));
      srv.once('error', onError);
      srv.listen({ path: file, backlog: this.backlog }, () => {
        srv.off('error', onError);
        try {
          if (perm !== 0) fs.chmodSync(file, perm);
        } catch (e) {
          reject(new ListenError(`cannot set the mode of the Unix socket ${file}: ${(e as Error).message}`, { cause: e }));
          return;
        }
        resolve();
      });
    });
  }

  /** Serves TLS clients on host:port (Redis's tls-port) with the same Client code as the plain port. */
  listenTls(host: string, port: number, opts: ClientTlsOptions): Promise<void> {
    const srv = tls.createServer({
      cert: opts.cert,
      key: opts.key,
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      requestCert: opts.authClients !== 'no',
      rejectUnauthorized: opts.authClients === 'yes',
      minVersion: 'TLSv1.2',
      ...opts.params,
      handshakeTimeout: 10_000,
      noDelay: true,
    });
    srv.on('secureConnection', (sock: tls.TLSSocket) => {
      // 'optional': no certificate is fine, a certificate that does not verify is not (as Redis).
      if (opts.authClients === 'optional' && !sock.authorized && Object.keys(sock.getPeerCertificate()).length > 0) {
        sock.destroy();
        return;
      }
      this.onSocket(sock);
    });
    srv.on('tlsClientError', (err) => {
      if (log.debugEnabled) log.debug(`TLS client handshake failed: ${err.message}`);
    });
    srv.on('error', (err) => log.error(`TLS client listener: ${err.message}`));
    this.tlsSrv = srv;
    return listenOn(srv, host, port, '--tls-port', this.backlog);
  }

  /**
   * A CONFIG SET of a tls-* parameter: new connections get a context built
   * from `params` (as redis-server's tlsConfigure; connections already open
   * keep theirs). Returns the error when the context cannot be built; the
   * old one then stays.
   */
  updateTls(opts: ClientTlsOptions): string | undefined {
    if (this.tlsSrv === undefined) return undefined;
    try {
      this.tlsSrv.setSecureContext({ cert: opts.cert, key: opts.key, ...(opts.ca !== undefined ? { ca: opts.ca } : {}), minVersion: 'TLSv1.2', ...opts.params });
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** Stops accepting, flushes what every client is owed, then closes them. */
  async close(): Promise<void> {
    const tlsSrv = this.tlsSrv;
    const unixSrv = this.unixSrv;
    await Promise.all([
      new Promise<void>((resolve) => {
        if (!this.srv.listening) resolve();
        else this.srv.close(() => resolve());
        for (const c of this.clients) c.closeAfterReply();
        setTimeout(() => {
          for (const c of this.clients) c.kill();
        }, 1000).unref();
      }),
      tlsSrv !== undefined && tlsSrv.listening ? new Promise<void>((resolve) => tlsSrv.close(() => resolve())) : undefined,
      // Node removes the socket file as it closes the listener.
      unixSrv !== undefined && unixSrv.listening ? new Promise<void>((resolve) => unixSrv.close(() => resolve())) : undefined,
    ]);
  }
}

/**
 * The buffer every plain (TCP or Unix) client connection reads into: a read
 * is handed to its Client at once and consumed there (parsed, or copied
 * when it must wait), so one buffer serves all of them.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

function listenOn(srv: net.Server, host: string, port: number, flag: string, backlog = 511): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const what = `${host}:${port}`;
      if (err.code === 'EADDRINUSE') reject(new ListenError(`port ${what} is already in use; stop what listens there or choose another ${flag}`, { cause: err }));
      else if (err.code === 'EADDRNOTAVAIL') reject(new ListenError(`cannot bind ${what}: address not available on this machine; check --bind`, { cause: err }));
      else if (err.code === 'EACCES') reject(new ListenError(`cannot bind ${what}: permission denied`, { cause: err }));
      else reject(new ListenError(`cannot listen on ${what}: ${err.message}`, { cause: err }));
    };
    srv.once('error', onError);
    srv.listen({ host, port, backlog }, () => {
      srv.off('error', onError);
      resolve();
    });
  });
}
