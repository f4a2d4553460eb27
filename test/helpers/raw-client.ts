import net from 'node:net';

/**
 * A RESP client that returns replies as raw bytes (latin1 strings), so tests
 * can compare raftis with redis-server byte for byte.
 */
export class RawClient {
  private buf = '';
  private waiters: { resolve: (s: string) => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  readonly sock: net.Socket;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.drain();
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error('connection closed'));
    });
    sock.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const sock = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    sock.setNoDelay(true);
    return new RawClient(sock);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one command (args are latin1 strings) and returns the raw reply. */
  call(...args: string[]): Promise<string> {
    return this.send(encodeCommand(args));
  }

  /** Sends raw bytes and waits for one complete reply. */
  send(raw: string | Buffer): Promise<string> {
    const p = this.next();
    this.sock.write(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
    return p;
  }

  /** Waits for the next complete reply (e.g. after a pipelined write). */
  next(): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      this.waiters.push({ resolve, reject });
      this.drain();
    });
  }

  /** Resolves when the server closes the connection. */
  closedPromise(timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.sock.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private drain(): void {
    while (this.waiters.length > 0) {
      const end = replyEnd(this.buf, 0);
      if (end < 0) return;
      const reply = this.buf.slice(0, end);
      this.buf = this.buf.slice(end);
      this.waiters.shift()!.resolve(reply);
    }
  }
}

export function encodeCommand(args: readonly string[]): string {
  let s = '*' + args.length + '\r\n';
  for (const a of args) s += '$' + a.length + '\r\n' + a + '\r\n';
  return s;
}

/** End offset of the complete RESP2/RESP3 reply starting at pos, or -1. */
export function replyEnd(buf: string, pos: number): number {
  if (pos >= buf.length) return -1;
  const nl = buf.indexOf('\r\n', pos);
  if (nl < 0) return -1;
  const t = buf[pos];
  const n = Number(buf.slice(pos + 1, nl));
  let p = nl + 2;
  switch (t) {
    case '$':
    case '=':
    case '!':
      if (n < 0) return p;
      return buf.length >= p + n + 2 ? p + n + 2 : -1;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      if (n < 0) return p;
      const items = t === '%' || t === '|' ? 2 * n : n;
      for (let i = 0; i < items; i++) {
        p = replyEnd(buf, p);
        if (p < 0) return -1;
      }
      return p;
    }
    default:
      return p;
  }
}
