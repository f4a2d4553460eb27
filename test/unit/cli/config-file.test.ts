import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigFileError, parseConfigText, readConfigFile, splitArgs } from '../../../src/cli/config-file.js';
import { interpretConfig } from '../../../src/cli/config-load.js';
import { Config } from '../../../src/commands/engine/config.js';
import { REWRITE_SIGNATURE, formatMemory, repr, rewriteConfigText } from '../../../src/commands/config-rewrite.js';

describe('splitArgs (sdssplitargs)', () => {
  it('splits on blanks and keeps quoted blanks', () => {
    expect(splitArgs('  save   900 1 ')).toEqual(['save', '900', '1']);
    expect(splitArgs('a "b c" \'d e\'')).toEqual(['a', 'b c', 'd e']);
    expect(splitArgs('x ""')).toEqual(['x', '']);
    expect(splitArgs('')).toEqual([]);
  });
  it('decodes double-quote escapes, and only \\\' in single quotes', () => {
    expect(splitArgs('"a\\nb\\tc\\x41\\x4a\\"\\\\"')).toEqual(['a\nb\tcAJ"\\']);
    expect(splitArgs('"\\xZZ"')).toEqual(['xZZ']);
    expect(splitArgs("'it\\'s \\n'")).toEqual(["it's \\n"]);
  });
  it('starts quoting in the middle of a token, as Redis does', () => {
    expect(splitArgs('ab"c d"')).toEqual(['abc d']);
  });
  it('refuses unbalanced quotes and a closing quote followed by a non-blank', () => {
    expect(splitArgs('"abc')).toBeNull();
    expect(splitArgs("'abc")).toBeNull();
    expect(splitArgs('"a"b')).toBeNull();
    expect(splitArgs("'a'b")).toBeNull();
  });
});

describe('config file reading', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-conf-unit-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('skips comments and blank lines, lower-cases names, keeps line numbers', () => {
    const ds = parseConfigText('# c\n\n  PORT 7000\r\n\tmaxmemory "10 mb"\n', 'f.conf');
    expect(ds.map((d) => [d.name, d.args, d.line])).toEqual([
      ['port', ['7000'], 3],
      ['maxmemory', ['10 mb'], 4],
    ]);
  });

  it('reads includes in place, with their own file and line', () => {
    const inner = path.join(dir, 'inner.conf');
    fs.writeFileSync(inner, '\nhz 20\n');
    const outer = path.join(dir, 'outer.conf');
    fs.writeFileSync(outer, `hz 5\ninclude ${inner}\ntimeout 7\n`);
    const ds = readConfigFile(outer);
    expect(ds.map((d) => [d.name, d.file, d.line])).toEqual([
      ['hz', outer, 1],
      ['hz', inner, 2],
      ['timeout', outer, 3],
    ]);
  });

  it('stops an include loop, naming the line', () => {
    const f = path.join(dir, 'loop.conf');
    fs.writeFileSync(f, `include ${f}\n`);
    expect(() => readConfigFile(f)).toThrow(/includes nested more than 16 deep/);
  });

  it("names the file and line in Redis's FATAL CONFIG FILE ERROR shape", () => {
    const f = path.join(dir, 'bad.conf');
    fs.writeFileSync(f, 'port 7000\n\nhz "20\n');
    let err: unknown;
    try {
      readConfigFile(f);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as Error).message).toBe(
      `\n*** FATAL CONFIG FILE ERROR (raftis) ***\nReading the configuration file ${f}, at line 3\n>>> 'hz "20'\nUnbalanced quotes in configuration line`,
    );
  });

  it('a missing include is reported at the include line', () => {
    const f = path.join(dir, 'inc.conf');
    fs.writeFileSync(f, 'include /nonexistent/raftis.conf\n');
    expect(() => readConfigFile(f)).toThrow(/at line 1\n>>> 'include \/nonexistent\/raftis.conf'\nFatal error, can't open config file '\/nonexistent\/raftis.conf': No such file or directory/);
  });
});

describe('interpretConfig', () => {
  const load = (text: string) => interpretConfig('t.conf', parseConfigText(text, 't.conf'));
  const error = (text: string): string => {
    try {
      load(text);
    } catch (e) {
      return (e as ConfigFileError).reason + ' @' + (e as ConfigFileError).line;
    }
    return 'no error';
  };

  it("sorts raftis's options from Redis parameters", () => {
    const c = load('id 3\npeers 1=127.0.0.1:7001\nport 7003\nmaxmemory 10mb\nsnapshot-bytes 1mb\nloglevel warning\nbind 127.0.0.2 -::1\ncluster-port 0\n');
    expect(c.options).toEqual({ id: 3, peers: '1=127.0.0.1:7001', port: 7003, 'snapshot-bytes': 1048576, 'log-level': 'warn', bind: '127.0.0.2' });
    expect(c.sources.port).toBe(`config file ${path.resolve('t.conf')}:3`);
    // bind is kept as the file gave it too (CONFIG REWRITE writes the list back).
    expect(c.params.map((p) => p.name)).toEqual(['maxmemory', 'bind']);
    expect(c.ignored.join('\n')).toMatch(/-::1/);
  });

  it("gives Redis's errors for bad values, with the line", () => {
    expect(error('hz 10\nmaxmemory lots\n')).toBe('argument must be a memory value @2');
    expect(error('appendonly maybe')).toBe("argument must be 'yes' or 'no' @1");
    expect(error('hz 1 2')).toBe('wrong number of arguments @1');
    expect(error('save 900')).toBe('Invalid save parameters @1');
    expect(error('no-such-thing 1')).toBe('Bad directive or wrong number of arguments @1');
    expect(error('rename-command FLUSHALL ""')).toBe("'rename-command' is not supported by raftis @1");
    expect(error('id x')).toBe("argument couldn't be parsed into an integer @1");
    expect(error('read-mode fast')).toBe('argument(s) must be one of the following: readindex, lease @1');
  });

  it('accepts the deprecated names redis-server skips', () => {
    expect(load('list-max-ziplist-entries 512\n').params).toEqual([]);
  });

  it('says what it ignores: daemonize, supervised (not pidfile: the node writes it)', () => {
    const c = load('daemonize yes\npidfile /run/x.pid\nsupervised systemd\n');
    expect(c.ignored.join('\n')).toMatch(/daemonize yes[\s\S]*supervised systemd/);
    expect(c.ignored.join('\n')).not.toMatch(/pidfile/);
  });
});

describe('Config.load (file semantics)', () => {
  it('save lines add up; the first replaces the default; save "" clears', () => {
    const c = new Config();
    expect(c.load('save', ['900', '1'], 'f:1')).toBeUndefined();
    expect(c.load('save', ['300', '10'], 'f:2')).toBeUndefined();
    expect(c.get('save')).toBe('900 1 300 10');
    expect(c.load('save', [''], 'f:3')).toBeUndefined();
    expect(c.get('save')).toBe('');
    expect(c.param('save').source).toBe('f:3');
  });
  it('a one-argument value of a multi-argument parameter is split again', () => {
    const c = new Config();
    expect(c.load('save', ['60 5 30 2'], 'f:1')).toBeUndefined();
    expect(c.get('save')).toBe('60 5 30 2');
  });
  it('client-output-buffer-limit lines set one class each', () => {
    const c = new Config();
    c.load('client-output-buffer-limit', ['pubsub', '1mb', '512kb', '10'], 'f:1');
    c.load('client-output-buffer-limit', ['normal', '1gb', '0', '0'], 'f:2');
    expect(c.get('client-output-buffer-limit')).toBe('normal 1073741824 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10');
  });
  it('immutable parameters are set from a file; aliases are their parameter', () => {
    const c = new Config();
    expect(c.load('daemonize', ['yes'], 'f:1')).toBeUndefined();
    expect(c.get('daemonize')).toBe('yes');
    expect(c.load('hash-max-ziplist-entries', ['99'], 'f:2')).toBeUndefined();
    expect(c.get('hash-max-listpack-entries')).toBe('99');
  });
});

describe('rewriteConfigText', () => {
  const own = new Set(['id', 'peers']);
  it('keeps comments and own options, replaces in place, blanks extra lines, appends under the marker', () => {
    const c = new Config({ port: '6379', bind: '127.0.0.1', dir: '/data', 'cluster-port': '0' });
    c.load('save', ['900', '1'], 'f');
    c.load('save', ['300', '10'], 'f');
    c.set([
      ['save', '60 5'],
      ['maxmemory', '20mb'],
      ['slave-read-only', 'yes'],
      ['notify-keyspace-events', 'KEA'],
    ]);
    const old = '# top\nid 2\nsave 900 1\nsave 300 10\nmaxmemory 10mb\n\n# tail\nslave-read-only yes\nfoo bar\n';
    expect(rewriteConfigText(old, c, own)).toBe(
      [
        '# top',
        'id 2',
        'save 60 5',
        '',
        'maxmemory 20mb',
        '',
        '# tail',
        'replica-read-only yes',
        '# ??? foo bar',
        '',
        REWRITE_SIGNATURE,
        'bind 127.0.0.1',
        'dir "/data"',
        'latency-tracking-info-percentiles 50 99 99.9',
        'notify-keyspace-events "AKE"',
        '',
      ].join('\n'),
    );
  });
  it('writes a default that was in the file, and no default that was not', () => {
    const c = new Config({ port: '6379', bind: '127.0.0.1', dir: '/d', 'cluster-port': '0' });
    const out = rewriteConfigText('hz 10\n', c, own);
    expect(out.split('\n')[0]).toBe('hz 10');
    expect(out).not.toMatch(/^timeout/m);
    expect(out).toMatch(/^save ""$/m);
  });
  it('formats memory and strings as redis-server', () => {
    expect(formatMemory(0n)).toBe('0');
    expect(formatMemory(3n * 1024n ** 3n)).toBe('3gb');
    expect(formatMemory(1536n * 1024n)).toBe('1536kb');
    expect(formatMemory(1000n)).toBe('1000');
    expect(repr('a "b"\n\\\x01')).toBe('"a \\"b\\"\\n\\\\\\x01"');
  });
});
