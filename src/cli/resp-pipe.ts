/**
 * A small pipelined RESP client for the import tool: commands of Buffers
 * sent in batches, replies (bulk strings as Buffers, errors as Error)
 * matched in order.
 */
import net from 'node:net';
import RedisParser from 'redis-parser';

export type Arg = string | Buffer;
export type Reply = Buffer | number | null | Error | Reply[];

function encode(args: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export class RespPipe {
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;

  private constructor(
    readonly host: string,
    readonly port: number,
    private readonly sock: net.Socket,
  ) {
    const parser = new RedisParser({
      returnBuffers: true,
      returnReply: (r: unknown) => this.waiting.shift()?.resolve(r as Reply),
      returnError: (e: Error) => this.waiting.shift()?.resolve(e),
      returnFatalError: (e: Error) => this.fail(e),
    });
    sock.on('data', (d) => parser.execute(d));
    sock.on('error', (e) => this.fail(new Error(`${host}:${port}: ${e.message}`)));
    sock.on('close', () => this.fail(new Error(`${host}:${port} closed the connection`)));
  }

  static connect(host: string, port: number, timeoutMs = 10_000): Promise<RespPipe> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`cannot connect to ${host}:${port} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.setNoDelay(true);
        resolve(new RespPipe(host, port, sock));
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${host}:${port}: ${e.message}`));
      });
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  /** Sends every command in one write; resolves with the replies in order. */
  batch(cmds: readonly (readonly Arg[])[]): Promise<Reply[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const ps = cmds.map(
      () =>
        new Promise<Reply>((resolve, reject) => {
          this.waiting.push({ resolve, reject });
        }),
    );
    this.sock.write(Buffer.concat(cmds.map(encode)));
    return Promise.all(ps);
  }

  async call(...args: Arg[]): Promise<Reply> {
    return (await this.batch([args]))[0]!;
  }

  close(): void {
    this.sock.destroy();
  }
}
