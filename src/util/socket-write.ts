/**
 * A write straight to a socket's libuv handle, as Node's own stream code
 * does it (lib/internal/stream_base_commons.js: writeGeneric) but without the
 * Writable machinery around it: no write request object per write when the
 * kernel takes all of it (one is kept and reused), no buffered-chunk
 * bookkeeping, no afterWrite callback on the next tick. The hot writes (a
 * client's replies, a peer link's frame) go this way when nothing else is
 * pending on the socket; everything else (TLS, a socket still connecting or
 * ending, data already queued in the Writable) takes socket.write.
 *
 * The caller accounts for a write that the kernel did not take whole
 * ('async': libuv holds the rest, in order before anything written later):
 * `done` is called once it has left, or with the error that destroyed the socket.
 */
import type net from 'node:net';
import util from 'node:util';

interface WriteReq {
  handle: unknown;
  oncomplete: ((status: number) => void) | null;
  async: boolean;
  bytes: number;
  buffer: unknown;
}

interface StreamHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  writeLatin1String(req: WriteReq, data: string): number;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

function load(): StreamWrapBinding | undefined {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || !(b.streamBaseState instanceof Int32Array) || typeof b.kLastWriteWasAsync !== 'number') return undefined;
    return b as StreamWrapBinding;
  } catch {
    return undefined;
  }
}

const binding = load();
const WriteWrap = binding?.WriteWrap;
const streamBaseState = binding?.streamBaseState ?? new Int32Array(1);
const LAST_WRITE_WAS_ASYNC = binding?.kLastWriteWasAsync ?? 0;
/**
 * net.Socket's own key for its handle: `socket._handle` is a getter reading
 * `this[kHandle]` at one site shared by every socket, server and stream of
 * the process, a megamorphic keyed load (~190 instructions) per read; read
 * here, the site sees only the sockets written this way. Found on the first
 * socket; undefined (use `_handle`) if this Node has no such key.
 */
let kHandle: symbol | undefined | null = null;
function handleOf(sock: net.Socket): StreamHandle | null | undefined {
  if (kHandle === null) kHandle = Object.getOwnPropertySymbols(sock).find((k) => k.description === 'kHandle');
  return kHandle !== undefined ? (sock as unknown as Record<symbol, StreamHandle | null | undefined>)[kHandle] : (sock as unknown as { _handle?: StreamHandle | null })._handle;
}

/** A failed write's error, as socket.write's (errno, code, syscall 'write'). */
function writeError(status: number): Error {
  const name = util.getSystemErrorName(status);
  return Object.assign(new Error(`write ${name}`), { errno: status, code: name, syscall: 'write' });
}

/** The request object handed to every write that completes at once (libuv binds it only to a write it has to queue). */
let spare: WriteReq | undefined;

/** Turns the direct path off (tests: the fallback is socket.write). */
export let directWritesEnabled = binding !== undefined;
export function setDirectWrites(on: boolean): void {
  directWritesEnabled = on && binding !== undefined;
}

/** What writeDirect did: not written (use socket.write), written whole, or partly queued by libuv (`done` follows). */
export type DirectWrite = undefined | 'sync' | 'async';

/**
 * Writes `data` (a Buffer, or a latin1 string) to the socket's handle when
 * nothing is pending in the socket's Writable and it is a plain, open,
 * connected socket; undefined otherwise (nothing was written). The caller
 * has not ended the socket (end()): that is not checked here, as the
 * Writable's getters for it (writableEnded, destroyed) read its state
 * through a symbol key, a megamorphic load on every call; a destroyed
 * socket has no handle. A write that fails at once destroys the socket with
 * the error (as socket.write's would) and counts as written.
 */
export function writeDirect(sock: net.Socket, data: Buffer | string, done: (err?: Error) => void): DirectWrite {
  if (!directWritesEnabled) return undefined;
  const raw = sock as unknown as { _writableState?: { length: number; corked: number }; encrypted?: boolean };
  const handle = handleOf(sock);
  const ws = raw._writableState;
  if (handle == null || ws === undefined || ws.length !== 0 || ws.corked !== 0 || sock.connecting || raw.encrypted === true || typeof handle.writeBuffer !== 'function') {
    return undefined;
  }
  const req = spare ?? new WriteWrap!();
  spare = undefined;
  const err = typeof data === 'string' ? handle.writeLatin1String(req, data) : handle.writeBuffer(req, data);
  if (err !== 0) {
    spare = req;
    sock.destroy(writeError(err));
    return 'sync';
  }
  if (streamBaseState[LAST_WRITE_WAS_ASYNC] === 0) {
    spare = req;
    return 'sync';
  }
  // libuv queued the rest; this request object now belongs to that write.
  req.handle = handle;
  req.async = true;
  if (typeof data !== 'string') req.buffer = data;
  req.oncomplete = (status: number): void => {
    req.buffer = null;
    if (status < 0) {
      const e = writeError(status);
      if (!sock.destroyed) sock.destroy(e);
      done(e);
      return;
    }
    done();
  };
  return 'async';
}
