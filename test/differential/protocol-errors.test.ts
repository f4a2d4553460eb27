/**
 * Differential tests: the same bytes go to a real redis-server and to
 * RequestParser; the parser must report exactly the error text redis-server
 * replied with (and redis-server must have closed the connection), after as
 * many commands as redis-server answered before the error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, encodeCommand, replyEnd } from '../helpers/raw-client.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { allStarted } from '../helpers/settled.js';
import { RequestParser } from '../../src/server/request-parser.js';

let server: RedisServer | undefined;
let authServer: RedisServer | undefined;
const PASSWORD = 'pw';

beforeAll(async () => {
  await allStarted([
    startRedisServer().then((s) => (server = s)),
    startRedisServer(['--requirepass', PASSWORD]).then((s) => (authServer = s)),
  ]);
});

afterAll(async () => {
  await Promise.all([server?.stop(), authServer?.stop()]);
});

function b(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Parses like a connection would; with `auth`, the client is unauthenticated until AUTH <PASSWORD>. */
function parse(input: Buffer, auth = false): { cmds: string[][]; error: string | null } {
  const out = { cmds: [] as string[][], error: null as string | null };
  let authed = false;
  const p = new RequestParser({
    onCommand: (argv) => {
      out.cmds.push(argv);
      if (argv[0] === 'AUTH' && argv[1] === PASSWORD) authed = true;
    },
    onProtocolError: (text) => {
      out.error = text;
    },
    ...(auth ? { authRequired: () => !authed } : {}),
  });
  p.feed(input);
  return out;
}

function splitReplies(raw: string): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const end = replyEnd(raw, pos);
    if (end < 0) throw new Error(`incomplete reply in ${JSON.stringify(raw)}`);
    out.push(raw.slice(pos, end));
    pos = end;
  }
  return out;
}

/** Sends `input` to redis-server and collects every byte until it closes the connection. */
async function redisRepliesUntilClose(input: Buffer, port = server!.port): Promise<{ replies: string[]; closed: boolean }> {
  const c = await RawClient.connect(port);
  try {
    let raw = '';
    c.sock.on('data', (d: string) => {
      raw += d;
    });
    const closing = c.closedPromise(10_000);
    c.sock.write(input);
    const closed = await closing;
    return { replies: splitReplies(raw), closed };
  } finally {
    c.close();
  }
}

/** What redis-server answers to a command raftis's parser delivered (only PING / ECHO / AUTH are used). */
function expectedReply(argv: string[]): string {
  if (argv.length === 1 && argv[0] === 'PING') return '+PONG\r\n';
  if (argv.length === 2 && argv[0] === 'AUTH' && argv[1] === PASSWORD) return '+OK\r\n';
  if (argv.length === 2 && argv[0] === 'ECHO') return '$' + argv[1]!.length + '\r\n' + argv[1] + '\r\n';
  throw new Error(`unexpected command in a differential case: ${JSON.stringify(argv)}`);
}

const big = 70_000; // past PROTO_INLINE_MAX_SIZE (64 KB) whatever redis-server's read sizes are

const malformed: [string, string][] = [
  ['count: empty', '*\r\n'],
  ['count: letters', '*abc\r\n'],
  ['count: leading zero', '*01\r\n'],
  ['count: -0', '*-0\r\n'],
  ['count: plus sign', '*+1\r\n'],
  ['count: space', '* 1\r\n'],
  ['count: trailing space', '*1 \r\n'],
  ['count: \\n only, \\r later', '*1\n$4\r\nPING\r\n'],
  ['count: INT_MAX + 1', '*2147483648\r\n'],
  ['count: 3000000000', '*3000000000\r\n'],
  ['count: 20 digits', '*99999999999999999999\r\n'],
  ['count: below LLONG_MIN', '*-9223372036854775809\r\n'],
  ['count: too big mbulk count string', '*' + '1'.repeat(big)],
  ['count: NUL before \\r', '*1\0\r\n$4\r\nPING\r\n' + '\r\n'.repeat(big / 2)],
  ['element: not $', '*1\r\nfoo\r\n'],
  ['element: CR', '*1\r\n\r\n'],
  ['element: LF', '*1\r\n\n\r\n'],
  ['element: latin1 byte', '*1\r\n\xe9\r\n'],
  ['element: star', '*1\r\n*1\r\n'],
  ['element: after args', '*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n'],
  ['bulk: -1', '*1\r\n$-1\r\n'],
  ['bulk: empty', '*1\r\n$\r\n'],
  ['bulk: letters', '*1\r\n$abc\r\n'],
  ['bulk: leading zero', '*1\r\n$01\r\n'],
  ['bulk: -0', '*1\r\n$-0\r\n'],
  ['bulk: space', '*1\r\n$ 1\r\n'],
  ['bulk: 512 MB + 1', '*1\r\n$536870913\r\n'],
  ['bulk: 2^63', '*1\r\n$9223372036854775808\r\n'],
  ['bulk: too big bulk count string', '*1\r\n$' + '1'.repeat(big)],
  ['bulk: too big, no $ yet', '*1\r\nx' + 'y'.repeat(big)],
  ['bulk: NUL before \\r', '*1\r\n$4\0\r\nPING\r\n' + '\r\n'.repeat(big / 2)],
  ['inline: too big inline request', 'x'.repeat(big)],
  ['inline: NUL before \\n', 'PI\0NG\r\n' + 'PING\r\n'.repeat(big / 6)],
  ['inline: unterminated "', 'ECHO "abc\r\n'],
  ['inline: "" followed by a byte', 'ECHO "abc"d\r\n'],
  ["inline: unterminated '", "ECHO 'abc\r\n"],
  ["inline: '' followed by a byte", "ECHO 'abc'd\r\n"],
  ['inline: escaped closing quote', 'ECHO "abc\\"\r\n'],
  ['inline: backslash at end', 'ECHO "abc\\\r\n'],
  ['inline: quote after backslash outside quotes', 'ECHO \\"a\r\n'],
  ['commands first, then the error', 'PING\r\n*1\r\n$4\r\nPING\r\nECHO x\r\n' + encodeCommand(['ECHO', 'a\r\nb']) + '*x\r\n'],
  ['ignored requests, then the error', '*0\r\n*-1\r\n*-9223372036854775808\r\n\r\n \t \r\nPING\r\n*-5\r\n*1\r\n$z\r\n'],
  ['unchecked terminators, then the error', '*1\rX$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nzAB*1\r\n$4\r\nPINGxx*1\r\n$q\r\n'],
  ['binary args, then the error', encodeCommand(['ECHO', '\0\xff\r\n\x7f']) + '*1\r\n$-2\r\n'],
];

describe('protocol errors match redis-server 7', () => {
  it.each(malformed)('%s', async (_name, input) => {
    const bytes = b(input);
    const redis = await redisRepliesUntilClose(bytes);
    expect(redis.closed).toBe(true);
    const last = redis.replies.at(-1);
    expect(last?.startsWith('-')).toBe(true);
    const ours = parse(bytes);
    expect(ours.error).toBe(last!.slice(1, -2));
    expect(ours.cmds.map(expectedReply)).toEqual(redis.replies.slice(0, -1));
  });
});

const beforeAuth: [string, string][] = [
  ['count above 10', '*11\r\n'],
  ['count above 10, after a NOAUTH reply', 'PING\r\n*12\r\n$1\r\n'],
  ['bulk above 16384', '*2\r\n$4\r\nECHO\r\n$16385\r\n'],
  ['limits lifted by AUTH in the same write', 'AUTH pw\r\n*12\r\n$z\r\n'],
  ['bulk limit lifted by AUTH', encodeCommand(['AUTH', PASSWORD]) + '*2\r\n$4\r\nECHO\r\n$16385\r\n' + 'x'.repeat(16385) + '\r\n*1\r\n$-3\r\n'],
];

describe('unauthenticated limits match redis-server 7 with requirepass', () => {
  it.each(beforeAuth)('%s', async (_name, input) => {
    const bytes = b(input);
    const redis = await redisRepliesUntilClose(bytes, authServer!.port);
    expect(redis.closed).toBe(true);
    const last = redis.replies.at(-1)!;
    expect(last.startsWith('-')).toBe(true);
    const ours = parse(bytes, true);
    expect(ours.error).toBe(last.slice(1, -2));
    // Before AUTH, PING gets NOAUTH; the other commands are those of expectedReply().
    const want = redis.replies.slice(0, -1);
    expect(ours.cmds.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      if (want[i]!.startsWith('-NOAUTH')) expect(ours.cmds[i]).toEqual(['PING']);
      else expect(expectedReply(ours.cmds[i]!)).toBe(want[i]);
    }
  });
});

/** Inline lines whose arguments are compared with what redis-server stored: RPUSH key <line>, then LRANGE. */
const inlineLines = [
  'a b c',
  '  a   b  ',
  '"a b" c',
  '"" \'\'',
  '"\\n\\r\\t\\b\\a\\\\\\"\\q\\z"',
  '"\\x41\\x7a\\xff\\x00\\xZZ\\x4" "\\X41"',
  "'it\\'s' 'a\\b' 'x\\y'",
  'a"b c"',
  "a'b c'",
  '"a"\tb',
  '"a"\x0bb',
  'a\x0bb\x0c c',
  'a\rb',
  '\\x41 \\n \\',
  '\xe9\xff\x80 \x01\x02',
  '"\\xe9" \'"\' "\'"',
  'tail\\',
];

describe('inline argument splitting matches redis-server 7', () => {
  it.each(inlineLines.map((l, i) => [i, l] as const))('line %i: %j', async (i, line) => {
    const c = await RawClient.connect(server!.port);
    try {
      const key = `inline:${i}`;
      await c.call('DEL', key);
      const request = `RPUSH ${key} ${line}\r\n`;
      const ours = parse(b(request));
      expect(ours.error).toBeNull();
      expect(ours.cmds.length).toBe(1);
      const argv = ours.cmds[0]!;
      const pushed = await c.send(request);
      expect(pushed).toBe(`:${argv.length - 2}\r\n`);
      const stored = await c.call('LRANGE', key, '0', '-1');
      let want = `*${argv.length - 2}\r\n`;
      for (const a of argv.slice(2)) want += `$${a.length}\r\n${a}\r\n`;
      expect(stored).toBe(want);
    } finally {
      c.close();
    }
  });

  it('blank and empty lines are ignored by both', async () => {
    const input = '\r\n\n   \r\n\t\x0b\x0c\r\n\r\r\nPING\r\n';
    const ours = parse(b(input));
    expect(ours).toEqual({ cmds: [['PING']], error: null });
    const c = await RawClient.connect(server!.port);
    try {
      expect(await c.send(input)).toBe('+PONG\r\n');
    } finally {
      c.close();
    }
  });
});
