/**
 * Protocol limits as redis-server 7.0 enforces them, against a real
 * redis-server and a raftis process: header and inline lines that never end
 * (PROTO_INLINE_MAX_SIZE, 64 KB), bulk lengths past proto-max-bulk-len, and a
 * query buffer past client-query-buffer-limit (both set with CONFIG SET).
 * Each attack goes to both servers over a fresh connection; what each sent
 * back and whether it closed the connection must be the same, and are
 * checked against the expected bytes too. Afterwards raftis's memory (RSS)
 * has not grown by more than a bound far below what the attacks sent, and
 * every write acknowledged before them (on another connection) is there.
 *
 * Every attack is bounded: a fixed number of bytes at most, written one
 * piece at a time (each waits for the previous one to be taken), and it
 * stops as soon as the server closes. An attack that expects an error reply
 * sends only a little past the limit and then waits: a server that closes
 * with unread bytes resets the connection, and a write after the reset
 * would lose the reply still to be read.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { allStarted } from '../helpers/settled.js';

let redis: RedisServer;
let raftis: RaftisProcess;
let rssBefore = 0;

const ACKED = Array.from({ length: 5 }, (_, i) => [`acked:${i}`, `value-${i}-${'v'.repeat(i * 100)}`] as const);
const MB = 1024 * 1024;

function b(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

async function command(port: number, ...args: string[]): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    return await c.call(...args);
  } finally {
    c.close();
  }
}

/** raftis's resident set size, from its INFO memory. */
async function raftisRss(): Promise<number> {
  const info = await command(raftis.port, 'INFO', 'memory');
  const m = /used_memory_rss:(\d+)/.exec(info);
  if (!m) throw new Error(`no used_memory_rss in ${info}`);
  return Number(m[1]);
}

beforeAll(async () => {
  await allStarted([startRedisServer().then((s) => (redis = s)), startRaftis().then((s) => (raftis = s))]);
  for (const port of [redis.port, raftis.port]) {
    const c = await RawClient.connect(port);
    try {
      for (const [k, v] of ACKED) expect(await c.call('SET', k, v)).toBe('+OK\r\n');
    } finally {
      c.close();
    }
  }
  rssBefore = await raftisRss();
});

afterAll(async () => {
  await Promise.all([redis?.stop(), raftis?.destroy()]);
});

interface Attack {
  /** Sent first, in one write. */
  head: string;
  /** Then this, again and again, up to `more` bytes after the head. */
  chunk?: Buffer;
  more?: number;
}

interface Outcome {
  /** Every byte the server sent. */
  reply: string;
  /** The server closed the connection (FIN or reset) within the wait. */
  closed: boolean;
  sent: number;
}

/** Runs `a` on a new connection to `port` and waits (10 s at most) for the server to close it. */
async function runAttack(port: number, a: Attack): Promise<Outcome> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  let reply = '';
  let closed = false;
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => (reply += d));
  // A reset (ECONNRESET / EPIPE) is one way a server closes: nothing to report.
  sock.on('error', () => {});
  const gone = new Promise<void>((resolve) => {
    sock.once('end', () => resolve());
    sock.once('close', () => resolve());
  }).then(() => {
    closed = true;
  });
  const write = (buf: Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (closed || sock.destroyed) return resolve();
      sock.write(buf, () => resolve());
      void gone.then(resolve);
    });
  let sent = 0;
  try {
    const head = b(a.head);
    await write(head);
    sent += head.length;
    const total = head.length + (a.more ?? 0);
    while (a.chunk !== undefined && !closed && sent < total) {
      // A turn of the event loop between writes reads what the server sent
      // (a write may complete at once, with no turn in between).
      await new Promise((r) => setImmediate(r));
      if (closed) break;
      await write(a.chunk);
      sent += a.chunk.length;
    }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000).unref())]);
    return { reply, closed, sent };
  } finally {
    sock.destroy();
  }
}

/** Sets a parameter on both servers and returns a function that puts the default back. */
async function configBoth(name: string, value: string, restore: string): Promise<() => Promise<void>> {
  for (const port of [redis.port, raftis.port]) expect(await command(port, 'CONFIG', 'SET', name, value)).toBe('+OK\r\n');
  return async () => {
    for (const port of [redis.port, raftis.port]) expect(await command(port, 'CONFIG', 'SET', name, restore)).toBe('+OK\r\n');
  };
}

async function both(a: Attack): Promise<{ redis: Outcome; raftis: Outcome }> {
  const r = await runAttack(redis.port, a);
  const t = await runAttack(raftis.port, a);
  return { redis: r, raftis: t };
}

const LINE_PIECE = 8 * 1024;
/**
 * 8 pieces of 8 KB after a head that starts the line: the line passes
 * PROTO_INLINE_MAX_SIZE (64 KB) only with the last piece, so nothing is
 * written after the server can have given up on it.
 */
const PAST_64K = 64 * 1024;

const lineAttacks: [name: string, attack: Attack, error: string][] = [
  [
    'a multibulk header line with no newline growing past 64 KB',
    { head: '*', chunk: Buffer.alloc(LINE_PIECE, '1'), more: PAST_64K },
    'ERR Protocol error: too big mbulk count string',
  ],
  [
    'a bulk header line with no newline growing past 64 KB',
    { head: '*2\r\n$4\r\nECHO\r\n$', chunk: Buffer.alloc(LINE_PIECE, '9'), more: PAST_64K },
    'ERR Protocol error: too big bulk count string',
  ],
  [
    'an element line that is not a bulk, growing past 64 KB',
    { head: '*1\r\nx', chunk: Buffer.alloc(LINE_PIECE, 'y'), more: PAST_64K },
    'ERR Protocol error: too big bulk count string',
  ],
  [
    'an inline line with no newline growing past 64 KB',
    { head: 'SET k ', chunk: Buffer.alloc(LINE_PIECE, 'x'), more: PAST_64K },
    'ERR Protocol error: too big inline request',
  ],
  [
    'an inline line of CRs, no LF, growing past 64 KB',
    { head: 'GET ', chunk: Buffer.alloc(LINE_PIECE, '\r'), more: PAST_64K },
    'ERR Protocol error: too big inline request',
  ],
  [
    'an inline line whose newlines come after a NUL (strchr never finds them)',
    { head: 'PING\0', chunk: b('PING\r\n'.repeat(LINE_PIECE).slice(0, LINE_PIECE)), more: PAST_64K },
    'ERR Protocol error: too big inline request',
  ],
  [
    'a multibulk header whose \\r comes after a NUL',
    { head: '*1\0', chunk: b('\r\n'.repeat(LINE_PIECE / 2)), more: PAST_64K },
    'ERR Protocol error: too big mbulk count string',
  ],
];

describe('lines that never end are cut at 64 KB, as redis-server 7 does', () => {
  it.each(lineAttacks)('%s', async (_name, attack, error) => {
    const got = await both(attack);
    expect(got.redis).toEqual({ reply: `-${error}\r\n`, closed: true, sent: b(attack.head).length + PAST_64K });
    expect(got.raftis).toEqual(got.redis);
  });

  it('commands before the endless line are answered first', async () => {
    const attack = { head: 'PING\r\n' + encodeCommand(['ECHO', 'a\r\nb']) + '*', chunk: Buffer.alloc(LINE_PIECE, '1'), more: PAST_64K };
    const got = await both(attack);
    expect(got.redis).toEqual({
      reply: '+PONG\r\n$4\r\na\r\nb\r\n-ERR Protocol error: too big mbulk count string\r\n',
      closed: true,
      sent: attack.head.length + PAST_64K,
    });
    expect(got.raftis).toEqual(got.redis);
  });
});

describe('bulk lengths', () => {
  it.each([
    ['a huge bulk length', '*2\r\n$3\r\nGET\r\n$99999999999999\r\n'],
    ['LLONG_MAX', '*2\r\n$3\r\nGET\r\n$9223372036854775807\r\n'],
    ['past LLONG_MAX', '*2\r\n$3\r\nGET\r\n$9223372036854775808\r\n'],
    ['512 MB + 1 (the default proto-max-bulk-len + 1)', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870913\r\n'],
  ])('%s: invalid bulk length, connection closed', async (_name, head) => {
    const got = await both({ head });
    expect(got.redis).toEqual({ reply: '-ERR Protocol error: invalid bulk length\r\n', closed: true, sent: head.length });
    expect(got.raftis).toEqual(got.redis);
  });

  it('a bulk over a proto-max-bulk-len set with CONFIG SET is refused; one at the limit is accepted', async () => {
    const restore = await configBoth('proto-max-bulk-len', '1mb', '512mb');
    try {
      const over = '*3\r\n$3\r\nSET\r\n$4\r\nbulk\r\n$' + (MB + 1) + '\r\n';
      const got = await both({ head: over });
      expect(got.redis).toEqual({ reply: '-ERR Protocol error: invalid bulk length\r\n', closed: true, sent: over.length });
      expect(got.raftis).toEqual(got.redis);
      for (const port of [redis.port, raftis.port]) {
        const c = await RawClient.connect(port);
        try {
          expect(await c.call('SET', 'bulk', 'x'.repeat(MB))).toBe('+OK\r\n');
          expect(await c.call('STRLEN', 'bulk')).toBe(`:${MB}\r\n`);
        } finally {
          c.close();
        }
      }
    } finally {
      await restore();
    }
  });
});

describe('client-query-buffer-limit set with CONFIG SET', () => {
  const DATA = Buffer.alloc(64 * 1024, 'x');
  /** Far past the 1 MB limit: a server that kept it all would show it in its RSS. */
  const CAP = 128 * MB;

  it('a bulk growing past it: closed without a reply, nothing of it run', async () => {
    const restore = await configBoth('client-query-buffer-limit', '1mb', '1gb');
    try {
      const head = 'PING\r\n*3\r\n$3\r\nSET\r\n$5\r\nqbufk\r\n$104857600\r\n';
      const got = await both({ head, chunk: DATA, more: CAP });
      // The PING came in an earlier read: answered. Then the connection closes, no error.
      expect(got.redis).toMatchObject({ reply: '+PONG\r\n', closed: true });
      expect(got.raftis).toMatchObject({ reply: '+PONG\r\n', closed: true });
      expect(got.raftis.sent).toBeLessThan(CAP);
      for (const port of [redis.port, raftis.port]) expect(await command(port, 'EXISTS', 'qbufk')).toBe(':0\r\n');
    } finally {
      await restore();
    }
  });

  it('pipelined requests behind a blocked BLPOP: closed, and the BLPOP is gone with it', async () => {
    const restore = await configBoth('client-query-buffer-limit', '1mb', '1gb');
    try {
      const head = encodeCommand(['BLPOP', 'qbuflist', '0']);
      const got = await both({ head, chunk: b('PING\r\n'.repeat(10_000)), more: CAP });
      expect(got.redis).toMatchObject({ reply: '', closed: true });
      expect(got.raftis).toMatchObject({ reply: '', closed: true });
      for (const port of [redis.port, raftis.port]) {
        const c = await RawClient.connect(port);
        try {
          // Nobody pops what is pushed now.
          expect(await c.call('RPUSH', 'qbuflist', 'a')).toBe(':1\r\n');
          expect(await c.call('LLEN', 'qbuflist')).toBe(':1\r\n');
          expect(await c.call('DEL', 'qbuflist')).toBe(':1\r\n');
        } finally {
          c.close();
        }
      }
    } finally {
      await restore();
    }
  });

  it('below the limit, requests pipelined behind a blocked BLPOP run in order once it is served', async () => {
    const pieces = [
      encodeCommand(['BLPOP', 'qbufwait', '0']),
      'PING\r\n'.repeat(3000) + '*3\r\n$3\r\nSET\r\n$5\r\nqbufw\r\n$4\r\n',
      'ab',
      'cd\r\nGET qbu',
      'fw\r\n' + encodeCommand(['ECHO', 'x'.repeat(100_000)]) + 'PING\r\n'.repeat(3000),
    ];
    const replies: Record<string, string> = {};
    for (const [label, port] of [['redis', redis.port], ['raftis', raftis.port]] as const) {
      const c = await RawClient.connect(port);
      try {
        const first = c.next();
        for (const p of pieces) {
          await new Promise<void>((resolve) => c.sock.write(b(p), () => resolve()));
          await new Promise((r) => setImmediate(r));
        }
        expect(await command(port, 'RPUSH', 'qbufwait', 'served')).toBe(':1\r\n');
        let all = await first;
        for (let i = 0; i < 6003; i++) all += await c.next();
        replies[label] = all;
        expect(await command(port, 'DEL', 'qbufw')).toBe(':1\r\n');
      } finally {
        c.close();
      }
    }
    const want =
      '*2\r\n$8\r\nqbufwait\r\n$6\r\nserved\r\n' + '+PONG\r\n'.repeat(3000) + '+OK\r\n$4\r\nabcd\r\n' + `$100000\r\n${'x'.repeat(100_000)}\r\n` + '+PONG\r\n'.repeat(3000);
    expect(replies['redis'] === want).toBe(true);
    expect(replies['raftis'] === want).toBe(true);
  });

  it('a request larger than the limit whose arguments are each below it is accepted, as in Redis', async () => {
    const restore = await configBoth('client-query-buffer-limit', '1mb', '1gb');
    try {
      const value = 'm'.repeat(768 * 1024);
      for (const port of [redis.port, raftis.port]) {
        const c = await RawClient.connect(port);
        try {
          expect(await c.call('MSET', 'qbuf:a', value, 'qbuf:b', value)).toBe('+OK\r\n');
          expect(await c.call('STRLEN', 'qbuf:b')).toBe(`:${value.length}\r\n`);
          expect(await c.call('DEL', 'qbuf:a', 'qbuf:b')).toBe(':2\r\n');
        } finally {
          c.close();
        }
      }
    } finally {
      await restore();
    }
  });

  it('CONFIG GET / SET parse and refuse values as redis-server does', async () => {
    const values = ['1mb', '1048575', '1048576', '2G', '3g', '1.5mb', '-1', '', 'kb', '00005mb', ' 5mb', '17179869185gb', '18446744073709551616', '9223372036854775807', '1' + '0'.repeat(130), '2mb\0x'];
    for (const name of ['client-query-buffer-limit', 'proto-max-bulk-len']) {
      const steps = values.flatMap((v) => [
        ['CONFIG', 'SET', name, v],
        ['CONFIG', 'GET', name],
      ]);
      steps.push(['CONFIG', 'SET', name, '1mb', name.toUpperCase(), '2mb'], ['CONFIG', 'SET', name, '1gb', 'maxmemory', 'x'], ['CONFIG', 'GET', name]);
      const out: Record<string, string[]> = {};
      for (const [label, port] of [['redis', redis.port], ['raftis', raftis.port]] as const) {
        const c = await RawClient.connect(port);
        try {
          out[label] = [];
          for (const s of steps) out[label]!.push(await c.call(...s));
        } finally {
          c.close();
        }
      }
      expect(out['raftis']).toEqual(out['redis']);
      expect(out['redis']).toContain(`-ERR CONFIG SET failed (possibly related to argument '${name}') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n`);
      expect(out['redis']).toContain(`-ERR CONFIG SET failed (possibly related to argument '${name}') - argument must be a memory value\r\n`);
    }
    for (const port of [redis.port, raftis.port]) {
      expect(await command(port, 'CONFIG', 'SET', 'client-query-buffer-limit', '1gb', 'proto-max-bulk-len', '512mb')).toBe('+OK\r\n');
    }
  });
});

describe('after every attack', () => {
  it('raftis is up, its memory stayed flat, and every acknowledged write is there', async () => {
    for (const port of [redis.port, raftis.port]) {
      const c = await RawClient.connect(port);
      try {
        expect(await c.call('PING')).toBe('+PONG\r\n');
        for (const [k, v] of ACKED) expect(await c.call('GET', k)).toBe(`$${v.length}\r\n${v}\r\n`);
      } finally {
        c.close();
      }
    }
    const grown = (await raftisRss()) - rssBefore;
    // Each query-buffer attack offered 128 MB; a server that kept it would be far past this.
    expect(grown).toBeLessThan(64 * MB);
  });
});
