import { constants as bufferConstants } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { ERR, protoExpectedDollar } from '../../../src/commands/errors.js';
import { latin1, parseLL, splitInlineArgs } from '../../../src/server/inline.js';
import {
  PROTO_UNAUTH_BULK,
  PROTO_UNAUTH_MULTIBULK,
  PROTO_TOO_MANY_ARGS,
  PROTO_TOO_MANY_INLINE_ARGS,
  RequestParser,
  type ParserLimits,
} from '../../../src/server/request-parser.js';
import { redisModel, sdssplitargsModel, string2llModel } from './redis-model.js';
import { createPrng } from '../../../src/util/prng.js';

const DEFAULTS: ParserLimits = { maxBulkLen: 512 * 1024 * 1024, maxInlineLen: 64 * 1024, maxArgs: 1024 * 1024 };

interface Outcome {
  cmds: string[][];
  error: string | null;
}

function b(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

function resp(...args: string[]): string {
  let s = '*' + args.length + '\r\n';
  for (const a of args) s += '$' + a.length + '\r\n' + a + '\r\n';
  return s;
}

/** Feeds the chunks and records what the parser emits; checks the "one error, then nothing" contract. */
function run(chunks: readonly Buffer[], limits?: Partial<ParserLimits>): Outcome & { parser: RequestParser } {
  const out: Outcome & { parser?: RequestParser } = { cmds: [], error: null };
  const parser = new RequestParser(
    {
      onCommand(argv) {
        if (out.error !== null) throw new Error('command after protocol error');
        out.cmds.push(argv);
      },
      onProtocolError(text) {
        if (out.error !== null) throw new Error('second protocol error');
        out.error = text;
      },
    },
    limits,
  );
  out.parser = parser;
  for (const c of chunks) parser.feed(c);
  return out as Outcome & { parser: RequestParser };
}

/** The commands and error of a model run (without its queryBuf). */
function outcome(r: Outcome): Outcome {
  return { cmds: r.cmds, error: r.error };
}

function whole(s: string | Buffer, limits?: Partial<ParserLimits>): Outcome {
  const { cmds, error } = run([typeof s === 'string' ? b(s) : s], limits);
  return { cmds, error };
}

function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

function byteByByte(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1));
  return out;
}


const ALL_BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));

describe('multibulk requests', () => {
  it('parses one command', () => {
    expect(whole(resp('SET', 'key', 'value'))).toEqual({ cmds: [['SET', 'key', 'value']], error: null });
  });

  it('delivers pipelined commands in order', () => {
    let s = '';
    const want: string[][] = [];
    for (let i = 0; i < 16; i++) {
      s += resp('SET', `key:${i}`, `v${i}`);
      want.push(['SET', `key:${i}`, `v${i}`]);
    }
    expect(whole(s)).toEqual({ cmds: want, error: null });
  });

  it('is binary safe: all 256 byte values, CRLF and NUL inside bulks, empty bulks', () => {
    const args = [ALL_BYTES, '\r\n', 'a\r\nb\r\n', '\0\0', '', '*1\r\n$4\r\nPING\r\n', ALL_BYTES + ALL_BYTES];
    const out = whole(resp('SET', ...args));
    expect(out.error).toBeNull();
    expect(out.cmds).toEqual([['SET', ...args]]);
  });

  it('arguments of every length from 0 to 40 with every byte value come out as latin1 (strings up to 16 bytes are made in JS)', () => {
    const args: string[] = [];
    for (let len = 0; len <= 40; len++) {
      let a = '';
      for (let i = 0; i < len; i++) a += String.fromCharCode((len * 37 + i * 101) & 255);
      args.push(a);
    }
    args.push(ALL_BYTES.slice(0, 16), ALL_BYTES.slice(240, 256));
    const out = whole(resp('RPUSH', ...args));
    expect(out.error).toBeNull();
    expect(out.cmds).toEqual([['RPUSH', ...args]]);
    expect(latin1(b(ALL_BYTES), 240, 256)).toBe(Buffer.from(ALL_BYTES, 'latin1').toString('latin1', 240, 256));
  });

  it('keeps the order of requests sliced by the scan, read by redis-parser (over 64 arguments, or begun in an earlier chunk) and inline', () => {
    const many = Array.from({ length: 70 }, (_, i) => `m${i}`);
    const first = resp('SET', 'a', '1') + resp('RPUSH', 'l', ...many) + resp('RPUSH', 'l', ...many, 'x') + resp('GET', 'b') + 'PING x\r\n' + resp('DEL', 'a');
    const split = resp('MSET', 'k1', 'v1', 'k2', 'v2');
    const second = resp('GET', 'k1') + resp('RPUSH', 'l', ...many) + resp('PING');
    const want = [['SET', 'a', '1'], ['RPUSH', 'l', ...many], ['RPUSH', 'l', ...many, 'x'], ['GET', 'b'], ['PING', 'x'], ['DEL', 'a'], ['MSET', 'k1', 'v1', 'k2', 'v2'], ['GET', 'k1'], ['RPUSH', 'l', ...many], ['PING']];
    expect(whole(first + split + second)).toEqual({ cmds: want, error: null });
    const cut = first.length + 9;
    const all = b(first + split + second);
    expect(outcome(run([all.subarray(0, cut), all.subarray(cut)]))).toEqual({ cmds: want, error: null });
  });

  it('ignores *0, *-1 and any count <= 0 down to LLONG_MIN', () => {
    const s = '*0\r\n*-1\r\n*-10\r\n*-9223372036854775808\r\n' + resp('PING') + '*0\r\n';
    const r = run([b(s)]);
    expect(r).toMatchObject({ cmds: [['PING']], error: null });
    expect(r.parser.pendingBytes).toBe(0);
  });

  it('does not check the byte after \\r in headers nor the 2 bytes after bulk data (like Redis)', () => {
    expect(whole('*1\rX$4\r\nPING\r\n')).toEqual({ cmds: [['PING']], error: null });
    expect(whole('*1\r\n$4\rxPINGab*1\r\n$1\r\nx\n\n')).toEqual({ cmds: [['PING'], ['x']], error: null });
  });

  it('accepts a header line that ends in the same chunk even past 64 KB', () => {
    // Redis judges what one read brought: the \r is there, so the count is parsed (and is invalid).
    expect(whole('*' + '1'.repeat(70_000) + '\r\n').error).toBe(ERR.protoInvalidMultibulk);
  });

  it('returns strings that do not depend on the chunks after feed() returns', () => {
    const cmds: string[][] = [];
    const p = new RequestParser({ onCommand: (a) => cmds.push(a), onProtocolError: () => {} });
    const c1 = b('*2\r\n$3\r\nGET\r\n$5\r\nab');
    const c2 = b('cde\r\n' + resp('ECHO', 'hello'));
    p.feed(c1);
    c1.fill(0x7a); // the caller may reuse its buffer: the parser must have copied the tail
    p.feed(c2);
    c2.fill(0x7a);
    expect(cmds).toEqual([
      ['GET', 'abcde'],
      ['ECHO', 'hello'],
    ]);
  });
});

describe('inline requests', () => {
  it('splits on blanks, strips one \\r before \\n, ignores empty and blank lines', () => {
    expect(whole('PING\r\n\r\n\n   \t \r\nSET  a   b\nGET a\r\r\n')).toEqual({
      cmds: [['PING'], ['SET', 'a', 'b'], ['GET', 'a']],
      error: null,
    });
  });

  it('mixes with multibulk requests in order', () => {
    const s = 'PING\r\n' + resp('SET', 'k', 'v') + 'GET k\r\n' + '*0\r\n' + resp('DEL', 'k') + 'QUIT\n';
    expect(whole(s).cmds).toEqual([['PING'], ['SET', 'k', 'v'], ['GET', 'k'], ['DEL', 'k'], ['QUIT']]);
  });

  const quoting: [string, string[] | null][] = [
    ['set "a b" c', ['set', 'a b', 'c']],
    ['set "" \'\'', ['set', '', '']],
    ['echo "\\n\\r\\t\\b\\a\\\\\\"\\q"', ['echo', '\n\r\t\b\x07\\"q']],
    ['echo "\\x41\\x7a\\xff\\x00\\xZZ\\x4"', ['echo', 'Az\xff\x00xZZx4']],
    ['echo \'it\\\'s\' \'a\\b\'', ['echo', "it's", 'a\\b']],
    ['echo a"b c"', ['echo', 'ab c']],
    ["echo a'b c'", ['echo', 'ab c']],
    ['echo "a"\tb', ['echo', 'a', 'b']],
    ['echo "a"\x0bb', ['echo', 'a', 'b']], // \v after a closing quote counts as a blank (isspace)
    ['echo a\x0bb\x0c', ['echo', 'a\x0bb\x0c']], // but does not end an unquoted argument
    ['\x0b\x0cecho x', ['echo', 'x']],
    ['echo a\rb', ['echo', 'a', 'b']],
    ['echo \\x41 \\n', ['echo', '\\x41', '\\n']], // no escapes outside quotes
    ['echo \\"a b"', ['echo', '\\a b']], // a quote opens even after a backslash
    ['echo \xe9\xff', ['echo', '\xe9\xff']],
    ['echo "abc', null],
    ['echo "abc"d', null],
    ["echo 'abc", null],
    ["echo 'abc'd", null],
    ['echo "abc\\"', null],
    ['echo "abc\\', null],
    ['"', null],
  ];
  it.each(quoting)('splits %j like sdssplitargs', (line, want) => {
    const got = splitInlineArgs(b(line), 0, line.length);
    expect(got).toEqual(want);
    expect(got).toEqual(sdssplitargsModel(line));
    const out = whole(line + '\r\n');
    if (want === null) expect(out).toEqual({ cmds: [], error: ERR.protoUnbalancedQuotes });
    else expect(out).toEqual({ cmds: [want], error: null });
  });

  it('delivers commands before an unbalanced line, then the error', () => {
    expect(whole('PING\r\nECHO "x\r\nPING\r\n')).toEqual({ cmds: [['PING']], error: ERR.protoUnbalancedQuotes });
  });
});

describe('protocol errors (texts from errors.ts)', () => {
  const cases: [string, string, string[][]?][] = [
    ['*\r\n', ERR.protoInvalidMultibulk],
    ['*abc\r\n', ERR.protoInvalidMultibulk],
    ['*01\r\n', ERR.protoInvalidMultibulk],
    ['*-0\r\n', ERR.protoInvalidMultibulk],
    ['*+1\r\n', ERR.protoInvalidMultibulk],
    ['* 1\r\n', ERR.protoInvalidMultibulk],
    ['*1 \r\n', ERR.protoInvalidMultibulk],
    ['*1\n$4\r\nPING\r\n', ERR.protoInvalidMultibulk],
    ['*2147483648\r\n', ERR.protoInvalidMultibulk],
    ['*99999999999999999999\r\n', ERR.protoInvalidMultibulk],
    ['*-9223372036854775809\r\n', ERR.protoInvalidMultibulk],
    ['*1\r\nfoo\r\n', protoExpectedDollar('f')],
    ['*1\r\n\r\n', protoExpectedDollar(' ')],
    ['*1\r\n\n\r\n', protoExpectedDollar(' ')],
    ['*1\r\n\xe9\r\n', protoExpectedDollar('\xe9')],
    ['*1\r\n*1\r\n', protoExpectedDollar('*')],
    ['*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n', protoExpectedDollar('f')],
    ['*1\r\n$-1\r\n', ERR.protoInvalidBulk],
    ['*1\r\n$\r\n', ERR.protoInvalidBulk],
    ['*1\r\n$abc\r\n', ERR.protoInvalidBulk],
    ['*1\r\n$01\r\n', ERR.protoInvalidBulk],
    ['*1\r\n$-0\r\n', ERR.protoInvalidBulk],
    ['*1\r\n$ 1\r\n', ERR.protoInvalidBulk],
    ['*1\r\n$536870913\r\n', ERR.protoInvalidBulk],
    ['*1\r\n$9223372036854775808\r\n', ERR.protoInvalidBulk],
    ['PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n', ERR.protoInvalidMultibulk, [['PING'], ['PING']]],
    [resp('SET', 'a', 'b') + 'GET a\r\n' + '*2\r\n$3\r\nGET\r\n*1\r\n', protoExpectedDollar('*'), [['SET', 'a', 'b'], ['GET', 'a']]],
  ];

  it.each(cases)('%j', (input, text, before = []) => {
    const buf = b(input);
    const want = { cmds: before, error: text };
    expect(whole(buf)).toEqual(want);
    expect(outcome(redisModel([buf], DEFAULTS))).toEqual(want);
    // Same outcome however the bytes are split (these inputs are far below the 64 KB rules).
    const { cmds, error } = run(byteByByte(buf));
    expect({ cmds, error }).toEqual(want);
    for (let i = 1; i < buf.length; i++) {
      const r = run(splitAt(buf, [i]));
      expect({ cmds: r.cmds, error: r.error }).toEqual(want);
    }
  });

  it('stops after an error: later feed() calls are ignored', () => {
    const r = run([b('*1\r\nx\r\n'), b(resp('PING')), b('PING\r\n')]);
    expect(r.cmds).toEqual([]);
    expect(r.error).toBe(protoExpectedDollar('x'));
    expect(r.parser.pendingBytes).toBe(0);
  });

  it('delivers the complete commands of the same chunk first, also when the error is a size limit', () => {
    const r = run([b('PING\r\n' + resp('ECHO', 'a') + '*' + '9'.repeat(70_000))]);
    expect(r.cmds).toEqual([['PING'], ['ECHO', 'a']]);
    expect(r.error).toBe(ERR.protoTooBigMbulkCount);
  });
});

describe('64 KB line limits', () => {
  const L = 64 * 1024;

  it('multibulk header without \\r: too big mbulk count string past 64 KB of buffered bytes', () => {
    const r = run([b('*' + '1'.repeat(L - 1))]);
    expect(r.error).toBeNull();
    expect(r.parser.pendingBytes).toBe(L);
    r.parser.feed(b('1'));
    expect(r.error).toBe(ERR.protoTooBigMbulkCount);
  });

  it('bulk header without \\r: too big bulk count string (counted from the bulk header)', () => {
    const r = run([b('*1\r\n'), b('$' + '1'.repeat(L - 1))]);
    expect(r.error).toBeNull();
    r.parser.feed(b('x'));
    expect(r.error).toBe(ERR.protoTooBigBulkCount);
    // The '$' check happens only once the line has ended.
    expect(whole('*1\r\nx' + 'y'.repeat(L)).error).toBe(ERR.protoTooBigBulkCount);
  });

  it('inline line without \\n: too big inline request', () => {
    const r = run([b('x'.repeat(L))]);
    expect(r.error).toBeNull();
    r.parser.feed(b('\r'));
    expect(r.error).toBe(ERR.protoTooBigInline);
  });

  it('a \\r as the last buffered byte defers the check (Redis waits for the byte after it)', () => {
    const r = run([b('*' + '1'.repeat(L + 10) + '\r')]);
    expect(r.error).toBeNull();
    r.parser.feed(b('\n'));
    expect(r.error).toBe(ERR.protoInvalidMultibulk);
  });

  it('honours a smaller maxInlineLen', () => {
    expect(whole('x'.repeat(11), { maxInlineLen: 10 }).error).toBe(ERR.protoTooBigInline);
    expect(whole('x'.repeat(10), { maxInlineLen: 10 }).error).toBeNull();
    expect(whole('*12345678901', { maxInlineLen: 10 }).error).toBe(ERR.protoTooBigMbulkCount);
  });

  it('a NUL before the line end hides the end forever (strchr), until the limit', () => {
    // Header lines.
    let r = run([b('*1\0\r\n$4\r\nPING\r\n')]);
    expect(r).toMatchObject({ cmds: [], error: null });
    expect(r.parser.pendingBytes).toBe(0); // such bytes are counted, not kept
    r.parser.feed(Buffer.alloc(L, 0x0d));
    expect(r.error).toBe(ERR.protoTooBigMbulkCount);
    r = run([b('*1\r\n$3\0\r\nabc\r\n'), Buffer.alloc(L, 0x0a)]);
    expect(r.error).toBe(ERR.protoTooBigBulkCount);
    // Inline line.
    r = run([b('PING\r\nPI\0NG\r\nPING\r\n')]);
    expect(r).toMatchObject({ cmds: [['PING']], error: null });
    r.parser.feed(Buffer.alloc(L, 0x0a));
    expect(r.error).toBe(ERR.protoTooBigInline);
    // NUL inside bulk data is ordinary data.
    expect(whole(resp('ECHO', '\0\r\n\0'))).toEqual({ cmds: [['ECHO', '\0\r\n\0']], error: null });
  });
});

describe('limits and huge headers', () => {
  it('*2147483648 is invalid; counts above maxArgs fail without allocating', () => {
    expect(whole('*2147483648\r\n').error).toBe(ERR.protoInvalidMultibulk);
    expect(whole('*2147483647\r\n').error).toBe(PROTO_TOO_MANY_ARGS);
    expect(whole('*1048577\r\n').error).toBe(PROTO_TOO_MANY_ARGS);
    expect(whole('*3\r\n', { maxArgs: 2 }).error).toBe(PROTO_TOO_MANY_ARGS);
    expect(whole(resp('a', 'b'), { maxArgs: 2 })).toEqual({ cmds: [['a', 'b']], error: null });
    expect(whole('a b c\r\n', { maxArgs: 2 }).error).toBe(PROTO_TOO_MANY_INLINE_ARGS);
  });

  it('a huge count with maxArgs raised is accepted and waits without reserving anything', () => {
    const before = process.memoryUsage().arrayBuffers;
    const r = run([b('*2147483647\r\n$1\r\nx\r\n')], { maxArgs: 2147483647 });
    expect(r).toMatchObject({ cmds: [], error: null });
    expect(r.parser.pendingBytes).toBe(20);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('$536870913 is invalid; a bulk length above maxBulkLen is invalid', () => {
    expect(whole('*1\r\n$536870913\r\n').error).toBe(ERR.protoInvalidBulk);
    expect(whole('*1\r\n$11\r\n', { maxBulkLen: 10 }).error).toBe(ERR.protoInvalidBulk);
    expect(whole(resp('x'.repeat(10)), { maxBulkLen: 10 }).cmds).toEqual([['x'.repeat(10)]]);
  });

  it('clamps maxBulkLen to the longest JS string', () => {
    const max = bufferConstants.MAX_STRING_LENGTH;
    expect(whole(`*1\r\n$${max + 1}\r\n`).error).toBe(ERR.protoInvalidBulk);
    const r = run([b(`*1\r\n$${max}\r\n`)]);
    expect(r.error).toBeNull();
  });

  it('$500000000 then nothing: no big allocation, pendingBytes is what arrived', () => {
    const before = process.memoryUsage().arrayBuffers;
    const head = '*2\r\n$3\r\nSET\r\n$500000000\r\n';
    const r = run([b(head)]);
    expect(r).toMatchObject({ cmds: [], error: null });
    expect(r.parser.pendingBytes).toBe(head.length);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 16; i++) r.parser.feed(chunk);
    expect(r.parser.pendingBytes).toBe(head.length + 16 * 64 * 1024);
    // Redis's query buffer holds the bulk's data only: its header and SET are consumed.
    expect(r.parser.queryBufferBytes).toBe(16 * 64 * 1024);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    expect(r.error).toBeNull();
  });

  it('reads maxBulkLen from the limits object at every header (CONFIG SET proto-max-bulk-len)', () => {
    const limits = { maxBulkLen: 10 };
    const r = run([b(resp('x'.repeat(10)) + '*1\r\n$10\r\n')], limits);
    expect(r.cmds).toEqual([['x'.repeat(10)]]);
    limits.maxBulkLen = 9;
    // A header already read keeps its length; the next one is checked against 9.
    r.parser.feed(b('y'.repeat(10) + '\r\n' + resp('z'.repeat(9))));
    expect(r.cmds).toEqual([['x'.repeat(10)], ['y'.repeat(10)], ['z'.repeat(9)]]);
    expect(r.error).toBeNull();
    r.parser.feed(b(resp('x'.repeat(10))));
    expect(r.error).toBe(ERR.protoInvalidBulk);
  });

  it("queryBufferBytes counts the element in progress, as Redis's query buffer", () => {
    const r = run([b('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n' + 'v'.repeat(30))]);
    expect(r.parser.queryBufferBytes).toBe(30);
    r.parser.feed(b('v'.repeat(70) + '\r\n*1\r\n$5\r'));
    expect(r.cmds.length).toBe(1);
    expect(r.parser.queryBufferBytes).toBe(3);
    r.parser.feed(b('\nHELLO\r\nPING '));
    expect(r.cmds).toEqual([['SET', 'k', 'v'.repeat(100)], ['HELLO']]);
    expect(r.parser.queryBufferBytes).toBe(5);
    // A line with a NUL never ends: its bytes are counted, not kept.
    r.parser.feed(b('\0\r\n'.repeat(1000)));
    expect(r.parser.queryBufferBytes).toBe(3005);
    expect(r.parser.pendingBytes).toBe(0);
    r.parser.stop();
    r.parser.feed(b('PING\r\n'));
    expect(r.cmds.length).toBe(2);
    expect(r.parser.pendingBytes).toBe(0);
  });

  it('assembles a large bulk that arrives in many chunks', () => {
    const value = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < value.length; i++) value[i] = (i * 31 + 7) & 0xff;
    const req = Buffer.concat([b(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`), value, b('\r\n' + resp('PING'))]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < req.length; i += 65536) chunks.push(req.subarray(i, i + 65536));
    const r = run(chunks);
    expect(r.error).toBeNull();
    expect(r.cmds.length).toBe(2);
    expect(r.cmds[0]![2]!.length).toBe(value.length);
    expect(r.cmds[0]![2] === value.toString('latin1')).toBe(true);
    expect(r.cmds[1]).toEqual(['PING']);
    expect(r.parser.pendingBytes).toBe(0);
  });
});

describe('split at every byte', () => {
  const parts = [
    resp('SET', 'key:1', 'value'),
    'PING\r\n',
    '*0\r\n',
    resp('MSET', 'a', '\r\n', 'b', ''),
    '  ECHO "x y" \'z\'\r\n',
    '*-1\r\n',
    '\r\n',
    resp('ECHO', ALL_BYTES.slice(0, 64)),
    '*1\r\n$4\r\nPINGxy',
    'GET a\n',
    resp('ECHO', ALL_BYTES.slice(200)),
  ];
  const all = b(parts.join(''));
  const want = whole(all);

  it('the reference outcome is right', () => {
    expect(want.error).toBeNull();
    expect(want.cmds).toEqual([
      ['SET', 'key:1', 'value'],
      ['PING'],
      ['MSET', 'a', '\r\n', 'b', ''],
      ['ECHO', 'x y', 'z'],
      ['ECHO', ALL_BYTES.slice(0, 64)],
      ['PING'],
      ['GET', 'a'],
      ['ECHO', ALL_BYTES.slice(200)],
    ]);
    expect(outcome(redisModel([all], DEFAULTS))).toEqual(want);
  });

  it('byte by byte', () => {
    const r = run(byteByByte(all));
    expect({ cmds: r.cmds, error: r.error }).toEqual(want);
    expect(r.parser.pendingBytes).toBe(0);
  });

  it('every 2-way split', () => {
    for (let i = 0; i <= all.length; i++) {
      const r = run(splitAt(all, [i]));
      expect({ cmds: r.cmds, error: r.error }).toEqual(want);
    }
  });

  it("queryBufferBytes is what Redis's query buffer holds after every prefix", () => {
    for (let i = 0; i <= all.length; i++) {
      const prefix = all.subarray(0, i);
      const model = redisModel([prefix], DEFAULTS);
      const r = run(splitAt(prefix, [i >> 1]));
      expect(r.parser.queryBufferBytes, `prefix of ${i} bytes`).toBe(model.queryBuf);
    }
  });

  it('every 3-way split of a shorter buffer', () => {
    const small = b(resp('SET', 'k', '\r\n') + 'PING\r\n' + '*0\r\n' + resp('GET', 'k'));
    const w = whole(small);
    expect(w.cmds.length).toBe(3);
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const r = run(splitAt(small, [i, j]));
        expect({ cmds: r.cmds, error: r.error }).toEqual(w);
      }
    }
  });

  it('pendingBytes is the incomplete request only', () => {
    const one = b(resp('SET', 'key', 'value'));
    const r = run([Buffer.concat([one, one.subarray(0, 10)])]);
    expect(r.cmds.length).toBe(1);
    expect(r.parser.pendingBytes).toBe(10);
    r.parser.feed(one.subarray(10));
    expect(r.cmds.length).toBe(2);
    expect(r.parser.pendingBytes).toBe(0);
  });
});

describe('authRequired hook (Redis 7.0.15 limits before AUTH)', () => {
  function withAuth(input: string): Outcome & { asked: number } {
    const out = { cmds: [] as string[][], error: null as string | null, asked: 0 };
    let authed = false;
    const p = new RequestParser({
      onCommand(argv) {
        out.cmds.push(argv);
        if (argv[0] === 'AUTH') authed = true;
      },
      onProtocolError(text) {
        out.error = text;
      },
      authRequired() {
        out.asked++;
        return !authed;
      },
    });
    p.feed(b(input));
    return out;
  }

  it('refuses a count above 10 and a bulk above 16384 until authenticated', () => {
    expect(withAuth(resp(...Array<string>(10).fill('a')))).toMatchObject({ cmds: [Array<string>(10).fill('a')], error: null, asked: 0 });
    expect(withAuth('*11\r\n')).toMatchObject({ cmds: [], error: PROTO_UNAUTH_MULTIBULK, asked: 1 });
    expect(withAuth(resp('SET', 'k', 'x'.repeat(16384)))).toMatchObject({ error: null, asked: 0 });
    expect(withAuth('PING\r\n*1\r\n$16385\r\n')).toMatchObject({ cmds: [['PING']], error: PROTO_UNAUTH_BULK, asked: 1 });
    // Invalid lengths are reported as such first.
    expect(withAuth('*1\r\n$536870913\r\n').error).toBe(ERR.protoInvalidBulk);
  });

  it('asks only after the commands before the header were delivered (AUTH in the same chunk)', () => {
    const big = resp('SET', 'k', 'x'.repeat(20000));
    const r = withAuth('PING\r\n' + resp('AUTH', 'pw') + big + resp(...Array<string>(12).fill('b')));
    expect(r.error).toBeNull();
    expect(r.cmds.map((c) => c[0])).toEqual(['PING', 'AUTH', 'SET', 'b']);
    expect(r.asked).toBe(2);
  });
});

describe('handlers', () => {
  it('a throwing handler propagates out of feed() and stops the parser', () => {
    let n = 0;
    const p = new RequestParser({
      onCommand() {
        n++;
        throw new Error('boom');
      },
      onProtocolError() {},
    });
    expect(() => p.feed(b('PING\r\nPING\r\n'))).toThrow('boom');
    p.feed(b('PING\r\n'));
    expect(n).toBe(1);
  });

  it('feed() from a handler is refused', () => {
    const p: RequestParser = new RequestParser({
      onCommand() {
        p.feed(b('PING\r\n'));
      },
      onProtocolError() {},
    });
    expect(() => p.feed(b(resp('PING')))).toThrow(/handlers/);
  });
});

describe('string2ll', () => {
  const samples = [
    '0', '1', '-1', '9', '10', '01', '-0', '-', '', '+1', ' 1', '1 ', '1a', 'a',
    '2147483647', '2147483648', '9007199254740993', '9223372036854775807', '9223372036854775808',
    '-9223372036854775808', '-9223372036854775809', '18446744073709551616', '99999999999999999999',
    '-99999999999999999999', '00000000000000000001', '1'.repeat(21), '8999999999999999999', '-9223372036854775807',
  ];
  it.each(samples)('%j', (s) => {
    const ref = string2llModel(s);
    const got = parseLL(b(s), 0, s.length);
    if (ref === null) expect(got).toBeNaN();
    else if (ref >= -(2n ** 53n) && ref <= 2n ** 53n) expect(got).toBe(Number(ref));
    else expect(Math.sign(got)).toBe(Math.sign(Number(ref)));
  });
});

describe('fuzz (seeded, bounded)', () => {
  const alphabet = '*$\r\n0123456789-+ "\'\\xaAfF\t\0';
  function randomInput(rnd: () => number): Buffer {
    const pieces: string[] = [];
    const n = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < n; i++) {
      const k = rnd();
      if (k < 0.35) {
        const args = Array.from({ length: Math.floor(rnd() * 4) }, () =>
          String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 6) }, () => Math.floor(rnd() * 256))),
        );
        pieces.push(resp(...args));
      } else if (k < 0.55) {
        pieces.push(Array.from({ length: Math.floor(rnd() * 12) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('') + '\r\n');
      } else if (k < 0.75) {
        pieces.push(Array.from({ length: Math.floor(rnd() * 20) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(''));
      } else if (k < 0.85) {
        pieces.push(String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 256))));
      } else {
        pieces.push(['*0\r\n', '*-1\r\n', 'PING\r\n', '*1\r\n', '$3\r\n', '\r\n', '"a b"\n'][Math.floor(rnd() * 7)]!);
      }
    }
    const buf = b(pieces.join(''));
    // Mutate a few bytes.
    const m = Math.floor(rnd() * 3);
    for (let i = 0; i < m && buf.length > 0; i++) buf[Math.floor(rnd() * buf.length)] = Math.floor(rnd() * 256);
    return buf;
  }
  function randomCuts(rnd: () => number, len: number): number[] {
    const cuts: number[] = [];
    const k = Math.floor(rnd() * 5);
    for (let i = 0; i < k; i++) cuts.push(Math.floor(rnd() * (len + 1)));
    return cuts.sort((x, y) => x - y);
  }

  it('matches the Redis model with default limits, whole and split, and never throws', () => {
    const rnd = createPrng(0xc0ffee);
    let errors = 0;
    let commands = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const input = randomInput(rnd);
      const model = redisModel([input], DEFAULTS);
      const want = outcome(model);
      const got = run([input]);
      expect({ cmds: got.cmds, error: got.error }, JSON.stringify(input.toString('latin1'))).toEqual(want);
      if (want.error === null) expect(got.parser.queryBufferBytes).toBe(model.queryBuf);
      const chunks = splitAt(input, randomCuts(rnd, input.length));
      const split = run(chunks);
      expect({ cmds: split.cmds, error: split.error }).toEqual(want);
      if (want.error === null) expect(split.parser.queryBufferBytes).toBe(model.queryBuf);
      if (iter % 10 === 0) {
        const bb = run(byteByByte(input));
        expect({ cmds: bb.cmds, error: bb.error }).toEqual(want);
      }
      if (want.error) errors++;
      commands += want.cmds.length;
    }
    // The generator exercises both outcomes.
    expect(errors).toBeGreaterThan(300);
    expect(commands).toBeGreaterThan(1000);
  });

  it('matches the Redis model chunk for chunk with tiny limits', () => {
    const rnd = createPrng(42);
    const limits = { maxBulkLen: 4, maxInlineLen: 6, maxArgs: 3 };
    const seen = new Set<string>();
    for (let iter = 0; iter < 3000; iter++) {
      const input = randomInput(rnd);
      const chunks = splitAt(input, randomCuts(rnd, input.length));
      const model = redisModel(chunks, limits);
      const want = outcome(model);
      const got = run(chunks, limits);
      expect({ cmds: got.cmds, error: got.error }, JSON.stringify(chunks.map((c) => c.toString('latin1')))).toEqual(want);
      if (want.error === null) expect(got.parser.queryBufferBytes).toBe(model.queryBuf);
      if (want.error) seen.add(want.error.startsWith("ERR Protocol error: expected '$'") ? 'dollar' : want.error);
    }
    // Every rule was hit at least once.
    expect([...seen].sort()).toEqual(
      [
        ERR.protoInvalidBulk,
        ERR.protoInvalidMultibulk,
        ERR.protoTooBigBulkCount,
        ERR.protoTooBigInline,
        ERR.protoTooBigMbulkCount,
        ERR.protoUnbalancedQuotes,
        PROTO_TOO_MANY_INLINE_ARGS,
        'dollar',
      ].sort(),
    );
  });

  it('random bytes: never throws, at most one error and nothing after it', () => {
    const rnd = createPrng(7);
    for (let iter = 0; iter < 500; iter++) {
      const len = Math.floor(rnd() * 400);
      const buf = Buffer.alloc(len);
      for (let i = 0; i < len; i++) buf[i] = Math.floor(rnd() * 256);
      // run() throws if anything is emitted after an error.
      const r = run(splitAt(buf, randomCuts(rnd, len)));
      expect(r.parser.pendingBytes).toBeLessThanOrEqual(len);
    }
  });
});

describe('a plain SET offered as bytes (onPlainSet)', () => {
  /** Feeds the chunks; onPlainSet takes a request when `take` says so, recording its arguments made from the bytes. */
  function runOffering(chunks: readonly Buffer[], take: () => boolean): { cmds: string[][]; offered: string[][]; taken: boolean[] } {
    const cmds: string[][] = [];
    const offered: string[][] = [];
    const taken: boolean[] = [];
    const parser = new RequestParser({
      onCommand(argv) {
        cmds.push(argv);
      },
      onPlainSet(buf, nameAt, keyAt, keyEnd, valueAt, valueEnd) {
        const argv = [buf.toString('latin1', nameAt, nameAt + 3), buf.toString('latin1', keyAt, keyEnd), buf.toString('latin1', valueAt, valueEnd)];
        offered.push(argv);
        const t = take();
        taken.push(t);
        if (t) cmds.push(argv);
        return t;
      },
      onProtocolError(text) {
        throw new Error(text);
      },
    });
    for (const c of chunks) parser.feed(c);
    return { cmds, offered, taken };
  }

  it('offers exactly the whole 3-argument SET requests of its own scan, in order with everything else, taken or not', () => {
    const r = createPrng(41);
    const names = ['SET', 'set', 'Set', 'sEt', 'SETX', 'SE', 'SEU', 'RET', 'GET', 'DEL'];
    const arg = (max: number): string => {
      const n = Math.floor(r() * max);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(r() * 256));
      return s;
    };
    for (let round = 0; round < 200; round++) {
      const reqs: string[][] = [];
      let s = '';
      for (let i = 0; i < 20; i++) {
        const name = names[Math.floor(r() * names.length)]!;
        const argc = r() < 0.7 ? 3 : 1 + Math.floor(r() * 5);
        const argv = [name, ...Array.from({ length: argc - 1 }, () => arg(r() < 0.1 ? 100 : 20))];
        reqs.push(argv);
        s += resp(...argv);
      }
      const all = b(s);
      const cuts = round % 2 === 0 ? [] : [Math.floor(r() * all.length)];
      const expected = outcome(run(splitAt(all, cuts)));
      expect(expected).toEqual({ cmds: reqs, error: null });
      const got = runOffering(splitAt(all, cuts), () => r() < 0.7);
      // Every request once, in order, whichever way it came.
      expect(got.cmds).toEqual(reqs);
      // Offered: 3-argument requests named SET in any case, unless split across chunks (those come through redis-parser).
      const isSet = (a: string[]): boolean => a.length === 3 && a[0]!.toLowerCase() === 'set';
      if (cuts.length === 0) expect(got.offered).toEqual(reqs.filter(isSet));
      else {
        expect(got.offered.every(isSet)).toBe(true);
        expect(got.offered.length).toBeGreaterThanOrEqual(reqs.filter(isSet).length - 1);
      }
    }
  });

  it('without the handler, a SET comes as argv', () => {
    expect(whole(resp('SET', 'k', 'v') + resp('set', 'k', 'v'))).toEqual({ cmds: [['SET', 'k', 'v'], ['set', 'k', 'v']], error: null });
  });
});
