/**
 * One RESP2 request to a Redis-protocol server and its reply: what a node of
 * a sharded cluster uses to ask nodes of other groups for the slot map, their
 * leader and members, and to have a group release slots (shard-router.ts).
 * A new connection per call: these calls are rare (a few a second at most).
 */
import net from 'node:net';

export type RespReply = string | number | null | RespError | RespReply[];

export class RespError {
  constructor(readonly message: string) {}
}

/** Parses one reply at `off`; undefined when the buffer does not hold all of it yet. */
function parse(b: Buffer, off: number): { v: RespReply; end: number } | undefined {
  if (off >= b.length) return undefined;
  const eol = b.indexOf('\r\n', off);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(b[off]!);
  const line = b.toString('latin1', off + 1, eol);
  switch (type) {
    case '+':
      return { v: line, end: eol + 2 };
    case '-':
      return { v: new RespError(line), end: eol + 2 };
    case ':':
      return { v: Number(line), end: eol + 2 };
    case '$': {
      const n = Number(line);
      if (n < 0) return { v: null, end: eol + 2 };
      if (b.length < eol + 2 + n + 2) return undefined;
      return { v: b.toString('latin1', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { v: null, end: eol + 2 };
      const out: RespReply[] = [];
      let at = eol + 2;
      for (let i = 0; i < n; i++) {
        const r = parse(b, at);
        if (r === undefined) return undefined;
        out.push(r.v);
        at = r.end;
      }
      return { v: out, end: at };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

export function encodeRequest(argv: readonly string[]): Buffer {
  let s = `*${argv.length}\r\n`;
  for (const a of argv) s += `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`;
  return Buffer.from(s, 'latin1');
}

/**
 * Sends argv to host:port and resolves with the reply (a RespError for an
 * error reply); rejects on connection failure or timeout. With `password`,
 * `AUTH <password>` goes first, and its error, if any, is the reply.
 */
export function respCall(host: string, port: number, argv: readonly string[], timeoutMs: number, password?: string): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | undefined, v?: RespReply): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolve(v!);
    };
    const timer = setTimeout(() => finish(new Error(`${host}:${port}: no reply within ${timeoutMs} ms`)), timeoutMs);
    sock.setNoDelay(true);
    const authFirst = password !== undefined && password !== '';
    sock.on('connect', () => sock.write(authFirst ? Buffer.concat([encodeRequest(['AUTH', password]), encodeRequest(argv)]) : encodeRequest(argv)));
    sock.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      try {
        let r = parse(buf, 0);
        if (r !== undefined && authFirst) {
          if (r.v instanceof RespError) return finish(undefined, r.v);
          r = parse(buf, r.end);
        }
        if (r !== undefined) finish(undefined, r.v);
      } catch (e) {
        finish(e as Error);
      }
    });
    sock.on('error', (e) => finish(new Error(`${host}:${port}: ${e.message}`)));
    sock.on('close', () => finish(new Error(`${host}:${port}: connection closed before the reply`)));
  });
}
