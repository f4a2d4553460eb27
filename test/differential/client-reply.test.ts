/**
 * CLIENT REPLY ON | OFF | SKIP against redis-server: the same pipelined
 * requests sent to both, every byte each connection receives compared —
 * replies dropped while OFF and for the command after SKIP (writes and
 * reads, immediate and deferred, errors, a blocking pop answered later,
 * MULTI/EXEC), RESET turning replies back on, and pub/sub confirmations
 * and messages, which Redis sends whatever CLIENT REPLY says.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';

const env = useProcessDifferential();

/** A raw connection that keeps every byte it receives. */
async function rawConn(port: number): Promise<{ send(s: string): void; received(): string; until(text: string): Promise<string>; close(): void }> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  sock.setEncoding('latin1');
  let got = '';
  const waiters: (() => void)[] = [];
  sock.on('data', (d: string) => {
    got += d;
    for (const w of waiters.splice(0)) w();
  });
  return {
    send: (s) => sock.write(s.replace(/\n/g, '\r\n'), 'latin1'),
    received: () => got,
    // Resolves once `text` has arrived; fails after 10 s, saying what did.
    until: (text) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${JSON.stringify(text)} after 10 s; received ${JSON.stringify(got)}`)), 10_000);
        const check = (): void => {
          if (got.includes(text)) {
            clearTimeout(t);
            resolve(got);
          } else waiters.push(check);
        };
        check();
      }),
    close: () => sock.destroy(),
  };
}

/** Sends the same inline script to both servers on fresh connections; returns what each received up to `end`. */
async function both(script: string, end = '$5\r\n__end\r\n'): Promise<[string, string]> {
  const out: string[] = [];
  for (const port of [env.diff.redis.port, env.raftis.port]) {
    const c = await rawConn(port);
    c.send(script);
    out.push(await c.until(end));
    c.close();
  }
  return [out[0]!, out[1]!];
}

const END = 'CLIENT REPLY ON\nECHO __end\n';

describe('CLIENT REPLY', () => {
  it('OFF, SKIP and ON drop and restore replies as redis-server does', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'FLUSHALL');
    for (const script of [
      `CLIENT REPLY OFF\nSET a 1\nINCR a\nGET a\nNOSUCH\nINCR\n${END}GET a\n`,
      `CLIENT REPLY SKIP\nSET b 1\nSET b 2\nGET b\nCLIENT REPLY SKIP\nGET b\nPING x\n${END}`,
      `CLIENT REPLY SKIP\nCLIENT REPLY SKIP\nPING one\nPING two\n${END}`,
      `CLIENT REPLY OFF\nCLIENT REPLY SKIP\nPING one\nPING two\n${END}`,
      `CLIENT REPLY SKIP\nNOSUCH\nPING after\nCLIENT REPLY FOO\nCLIENT REPLY\n${END}`,
      `CLIENT REPLY OFF\nMULTI\nSET m 1\nINCR m\nEXEC\n${END}GET m\n`,
      `CLIENT REPLY SKIP\nMULTI\nSET n 1\nEXEC\nGET n\n${END}`,
      `CLIENT REPLY OFF\nRESET\nPING\nECHO __end\n`,
      // HELLO's reply (it carries the client id) skipped; then RESP3 replies.
      `CLIENT REPLY SKIP\nHELLO 3\nCLIENT REPLY SKIP\nHGETALL nohash\nHGETALL nohash\nSET r 1\n${END}`,
    ]) {
      const [redis, raftis] = await both(script);
      expect(raftis, script).toBe(redis);
    }
  });

  it('a blocking pop after SKIP is answered to nobody when it is served', async () => {
    const results: string[] = [];
    for (const port of [env.diff.redis.port, env.raftis.port]) {
      const c = await rawConn(port);
      const pusher = await rawConn(port);
      c.send('DEL q\nCLIENT REPLY SKIP\nBLPOP q 0\n');
      await c.until(':');
      pusher.send('RPUSH q x\n');
      await pusher.until(':1\r\n');
      c.send('PING done\n');
      results.push(await c.until('$4\r\ndone\r\n'));
      c.close();
      pusher.close();
    }
    expect(results[1]).toBe(results[0]);
    expect(results[0]).toMatch(/^:[01]\r\n\$4\r\ndone\r\n$/);
  });

  it('pub/sub confirmations and messages arrive under CLIENT REPLY OFF (RESP2 and RESP3)', async () => {
    for (const hello of ['', 'CLIENT REPLY SKIP\nHELLO 3\n']) {
      const results: string[] = [];
      for (const port of [env.diff.redis.port, env.raftis.port]) {
        const sub = await rawConn(port);
        const pub = await rawConn(port);
        sub.send(`${hello}CLIENT REPLY OFF\nSUBSCRIBE ch1 ch2\nPSUBSCRIBE p*\n`);
        await sub.until('p*');
        pub.send('PUBLISH ch1 hello\nPUBLISH pz world\n');
        await pub.until(':1\r\n:1\r\n');
        sub.send('UNSUBSCRIBE ch2\n');
        // The UNSUBSCRIBE reply (the SUBSCRIBE reply for ch2 also ends in $3 ch2 :2).
        results.push(await sub.until('$11\r\nunsubscribe\r\n$3\r\nch2\r\n:2\r\n'));
        sub.close();
        pub.close();
      }
      expect(results[1], hello || 'RESP2').toBe(results[0]);
      expect(results[0]).toContain('hello');
    }
  });
});
