import net from 'node:net';
import { encodeCommand, replyEnd } from './raw-client.js';

/**
 * A RESP connection that keeps every frame the server sends, replies and
 * pushed pub/sub messages alike, as raw latin1 strings in arrival order.
 * (RawClient pairs each request with one reply; a subscriber gets frames
 * nobody asked for.)
 */
export class PushClient {
  private buf = '';
  private readonly frames: string[] = [];
  private wake: (() => void) | undefined;
  closed = false;

  private constructor(readonly sock: net.Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (;;) {
        const end = replyEnd(this.buf, 0);
        if (end < 0) break;
        this.frames.push(this.buf.slice(0, end));
        this.buf = this.buf.slice(end);
      }
      this.wake?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    sock.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<PushClient> {
    const sock = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    sock.setNoDelay(true);
    return new PushClient(sock);
  }

  send(...args: string[]): void {
    this.sock.write(Buffer.from(encodeCommand(args), 'latin1'));
  }

  /** Frames received so far and not yet taken. */
  get available(): number {
    return this.frames.length;
  }

  /** Takes every frame received so far. */
  takeAll(): string[] {
    return this.frames.splice(0);
  }

  /**
   * Waits until `n` frames are in (or the connection closed, or the time is
   * up) and takes at most `n`; fewer means they did not come.
   */
  async take(n: number, timeoutMs = 3000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.frames.splice(0, n);
  }

  /** Sends a command and waits for `n` frames on this connection. */
  async call(n: number, ...args: string[]): Promise<string[]> {
    this.send(...args);
    return this.take(n);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** A RESP push/array frame as a list of its bulk/int items, for readable assertions. */
export function frameItems(frame: string): (string | number | null)[] {
  const out: (string | number | null)[] = [];
  let p = frame.indexOf('\r\n') + 2;
  while (p < frame.length) {
    const nl = frame.indexOf('\r\n', p);
    const t = frame[p];
    const n = Number(frame.slice(p + 1, nl));
    if (t === '$') {
      if (n < 0) {
        out.push(null);
        p = nl + 2;
      } else {
        out.push(frame.slice(nl + 2, nl + 2 + n));
        p = nl + 2 + n + 2;
      }
    } else if (t === ':') {
      out.push(n);
      p = nl + 2;
    } else if (t === '_') {
      out.push(null);
      p = nl + 2;
    } else {
      throw new Error(`frameItems: unexpected ${JSON.stringify(frame.slice(p))}`);
    }
  }
  return out;
}
