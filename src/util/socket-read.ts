/**
 * A connection accepted paused (net.Server's pauseOnConnect), re-made as a
 * socket that reads with net.Socket's `onread` option: libuv reads into
 * `buffer` and `callback` gets each read's length, one call per read,
 * instead of a new Buffer (and its ArrayBuffer) per read pushed through the
 * Readable stream ('data', and a process.nextTick per read). Used by the
 * client port (src/server/server.ts) and the peer port
 * (src/transport/transport.ts); the callback must consume the read at once,
 * as the next read overwrites the buffer.
 */
import net from 'node:net';

type RawSocket = { _handle?: { useUserBuffer?: unknown } | null; _server?: unknown; server?: unknown };

/**
 * net.Server has no option for `onread`, so the accepted socket's handle
 * moves to a new Socket made with it (the old object gives the handle and
 * its place in the server's connection count up, and is dropped).
 * Undefined when the handle cannot do this (the accepted socket is then
 * used as it is, resumed by the caller).
 */
export function userBufferSocket(accepted: net.Socket, buffer: Buffer, callback: (n: number, buf: Buffer) => void): net.Socket | undefined {
  const raw = accepted as unknown as RawSocket;
  const handle = raw._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function') return undefined;
  raw._handle = null;
  const sock = new net.Socket({ handle, onread: { buffer, callback }, readable: true, writable: true } as net.SocketConstructorOpts);
  const moved = sock as unknown as RawSocket;
  moved._server = raw._server;
  moved.server = raw.server;
  raw._server = null;
  return sock;
}
