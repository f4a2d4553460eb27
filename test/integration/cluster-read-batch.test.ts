/**
 * A 3-node leader's plain reads wait for their ReadIndex round as one batch
 * per turn, one reply slot per client for its consecutive reads, served
 * into the client's own writer when nothing before them waits
 * (commands/engine/read-batch.ts). Pipelines mixing reads with writes,
 * SELECT, CLIENT REPLY, MULTI and errors, from one client and from several
 * at once, get byte for byte what redis-server answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

let cluster: TestCluster | undefined;
let redis: RedisServer | undefined;
let leader: { host: string; port: number };

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await TestCluster.start({ size: 3 });
  const n = cluster.node(await cluster.waitForLeader());
  leader = { host: n.host, port: n.port };
}, 60_000);

afterAll(async () => {
  await Promise.all([cluster?.destroy(), redis?.stop()]);
});

const END = 'end-of-pipeline';

/**
 * Sends `cmds` in one write (then ECHO END) and returns every reply before
 * END's, raw. Bounded: at most `cmds.length + 1` replies are waited for.
 */
async function pipeline(port: number, host: string, cmds: readonly string[][]): Promise<string[]> {
  const c = await RawClient.connect(port, host);
  try {
    const last = `$${END.length}\r\n${END}\r\n`;
    const first = c.send(cmds.map(encodeCommand).join('') + encodeCommand(['ECHO', END]));
    const out: string[] = [];
    let r = await first;
    for (let i = 0; i <= cmds.length && r !== last; i++) {
      out.push(r);
      r = await c.next();
    }
    expect(r).toBe(last);
    return out;
  } finally {
    c.close();
  }
}

/** The same pipeline against redis-server and the raftis leader. */
async function same(cmds: readonly string[][]): Promise<void> {
  const want = await pipeline(redis!.port, '127.0.0.1', cmds);
  const got = await pipeline(leader.port, leader.host, cmds);
  expect(got).toEqual(want);
}

describe('a 3-node leader batches its reads', () => {
  it('answers reads pipelined with writes in order, each after the writes sent before it', async () => {
    const cmds: string[][] = [];
    for (let i = 0; i < 40; i++) cmds.push(['SET', `rb:k${i}`, `v${i}`], ['GET', `rb:k${i}`], ['GET', `rb:k${i - 1}`], ['STRLEN', `rb:k${i}`]);
    cmds.push(['MGET', 'rb:k1', 'rb:k2', 'rb:nokey', 'rb:k3'], ['EXISTS', 'rb:k1', 'rb:k2', 'rb:no'], ['HGET', 'rb:k1', 'f'], ['TTL', 'rb:k1'], ['GET', 'rb:k1', 'extra']);
    await same(cmds);
  }, 30_000);

  it('answers reads of keys of every length and of any bytes, noted or not', async () => {
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'x'.repeat(15), 'y'.repeat(16), 'z'.repeat(17), 'w'.repeat(64), 'v'.repeat(65), 'u'.repeat(300), '\x00\xff\x80key', 'key\x00'];
    const cmds: string[][] = [];
    keys.forEach((k, i) => cmds.push(['SET', k, `value-${i}-\x00\xfe`]));
    // Reads only: each key read after the others were noted by the parser.
    for (let r = 0; r < 3; r++) for (const k of keys) cmds.push(['GET', k]);
    for (const k of keys) cmds.push(['GET', k + '-missing']);
    await same(cmds);
    await same(keys.map((k) => ['GET', k]));
  }, 30_000);

  it('keeps the database a read was sent in', async () => {
    await same([
      ['SELECT', '3'],
      ['SET', 'rb:db', 'three'],
      ['GET', 'rb:db'],
      ['SELECT', '0'],
      ['GET', 'rb:db'],
      ['SET', 'rb:db', 'zero'],
      ['GET', 'rb:db'],
      ['SELECT', '3'],
      ['GET', 'rb:db'],
      ['GET', 'rb:db'],
      ['SELECT', '0'],
      ['GET', 'rb:db'],
    ]);
  }, 30_000);

  it('leaves out the replies CLIENT REPLY mutes, and only those', async () => {
    await same([
      ['SET', 'rb:m', '1'],
      ['GET', 'rb:m'],
      ['CLIENT', 'REPLY', 'SKIP'],
      ['GET', 'rb:m'],
      ['GET', 'rb:m'],
      ['GET', 'rb:nokey'],
      ['CLIENT', 'REPLY', 'OFF'],
      ['GET', 'rb:m'],
      ['GET', 'rb:m'],
      ['CLIENT', 'REPLY', 'ON'],
      ['GET', 'rb:m'],
      ['CLIENT', 'REPLY', 'SKIP'],
      ['SET', 'rb:m', '2'],
      ['GET', 'rb:m'],
    ]);
  }, 30_000);

  it('orders reads with transactions and rejected commands', async () => {
    await same([
      ['SET', 'rb:t', 'a'],
      ['GET', 'rb:t'],
      ['MULTI'],
      ['GET', 'rb:t'],
      ['SET', 'rb:t', 'b'],
      ['GET', 'rb:t'],
      ['EXEC'],
      ['GET', 'rb:t'],
      ['NOSUCHCOMMAND', 'x'],
      ['GET', 'rb:t'],
      ['GET'],
      ['GET', 'rb:t'],
      ['WATCH', 'rb:t'],
      ['GET', 'rb:t'],
      ['MULTI'],
      ['GET', 'rb:t'],
      ['EXEC'],
      ['INCR', 'rb:t'],
      ['GET', 'rb:t'],
    ]);
  }, 30_000);

  it('resolves the requests a held client sends after a read as it would at once (subcommands, refusals)', async () => {
    await same([
      ['SET', 'rb:s', 'abc'],
      ['GET', 'rb:s'],
      ['OBJECT', 'ENCODING', 'rb:s'],
      ['GET', 'rb:s'],
      ['OBJECT', 'NOSUCHSUB', 'rb:s'],
      ['GET', 'rb:s'],
      ['OBJECT'],
      ['STRLEN', 'rb:s'],
      ['GETRANGE', 'rb:s', '0'],
      ['GETRANGE', 'rb:s', '0', '1'],
      ['get', 'rb:s'],
      ['gEt', 'rb:s'],
      ['SET', 'rb:s', 'de'],
      ['Get', 'rb:s'],
    ]);
  }, 30_000);

  it("runs a held client's reads held back by CLIENT PAUSE once it ends, in order", async () => {
    const cmds = [['SET', 'rb:p', '1'], ['GET', 'rb:p'], ['GET', 'rb:p'], ['INCR', 'rb:p'], ['GET', 'rb:p'], ['OBJECT', 'ENCODING', 'rb:p'], ['GET', 'rb:p']];
    const run = async (port: number, host: string): Promise<string[]> => {
      const p = await RawClient.connect(port, host);
      try {
        expect(await p.send(encodeCommand(['CLIENT', 'PAUSE', '300', 'ALL']))).toBe('+OK\r\n');
        return await pipeline(port, host, cmds);
      } finally {
        p.close();
      }
    };
    expect(await run(leader.port, leader.host)).toEqual(await run(redis!.port, '127.0.0.1'));
  }, 30_000);

  it('answers many clients at once, each in its order (reads of several clients in one round)', async () => {
    const clients = 12;
    const per = (id: number): string[][] => {
      const cmds: string[][] = [];
      for (let i = 0; i < 60; i++) {
        const k = `rb:c${id}:${i % 7}`;
        if (i % 5 === 0) cmds.push(['SET', k, `${id}-${i}`]);
        else if (i % 11 === 0) cmds.push(['MGET', k, `rb:c${id}:${(i + 1) % 7}`]);
        else cmds.push(['GET', k]);
      }
      return cmds;
    };
    // Against redis one client after another (their keys are disjoint), against raftis all at once.
    const want: string[][] = [];
    for (let id = 0; id < clients; id++) want.push(await pipeline(redis!.port, '127.0.0.1', per(id)));
    const got = await Promise.all(Array.from({ length: clients }, (_, id) => pipeline(leader.port, leader.host, per(id))));
    expect(got).toEqual(want);
  }, 60_000);

  it('answers a pipeline that arrives over several reads and turns', async () => {
    const cmds: string[][] = [['SET', 'rb:big', 'x'.repeat(100)]];
    for (let i = 0; i < 3000; i++) cmds.push(i % 500 === 250 ? ['APPEND', 'rb:big', 'y'] : ['GET', 'rb:big']);
    await same(cmds);
  }, 60_000);
});
