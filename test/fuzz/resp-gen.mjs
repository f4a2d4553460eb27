/**
 * Seeded generator of hostile RESP requests (issue 20, "bad input cannot
 * hurt"). Plain JavaScript so that the vitest slice (test/fuzz/*.test.ts)
 * and the long run (bench/fuzz.mjs) share it; types in resp-gen.d.mts.
 *
 * Every request is derived from the command table Redis 7.0.15 itself
 * describes (src/commands/generated/redis-commands.json, plus raftis's own
 * RAFT.* commands): argument lists built from each command's documented
 * argument tree, then made hostile (numbers at and past every integer and
 * float edge, empty, binary and very long strings, option words in the
 * wrong places, random arities), and, for a share of the requests, frames
 * broken on purpose (truncated, bit-flipped, length fields changed, inline
 * garbage, oversized headers).
 *
 * Commands that legitimately destroy or hide data (FLUSHALL, SHUTDOWN,
 * DEBUG, CONFIG SET of maxmemory or requirepass, RAFT.NODE REMOVE, …) are
 * never generated: the harness checks that keys under RESERVED_PREFIX,
 * written before the fuzzing, are still there value for value, and those
 * commands would make that check meaningless rather than find a bug. Keys
 * the generator makes never start with RESERVED_PREFIX.
 */
import { createRequire } from 'node:module';
import { createPrng } from '../../dist/util/prng.js';

const require = createRequire(import.meta.url);
const TABLE = require('../../src/commands/generated/redis-commands.json').commands;
const EXTRA = require('../../src/commands/extra-commands.json');

export const RESERVED_PREFIX = '__fuzz_reserved__:';

/**
 * Never generated (whole command or command|subcommand): they destroy data
 * on purpose, stop the server, pause every client, change who may connect,
 * change the cluster's membership, stream forever, or are slow by design.
 */
export const DENIED = new Set([
  'flushall',
  'flushdb',
  'swapdb',
  'shutdown',
  'debug',
  'monitor',
  'module',
  'sync',
  'psync',
  'replicaof',
  'slaveof',
  'failover',
  'acl',
  'config|set',
  'config|rewrite',
  'client|pause',
  'client|kill',
  'raft.node',
  'raft.transfer_leader',
  'cluster|reset',
  'cluster|failover',
  'cluster|forget',
  'cluster|meet',
  // Legitimately slow (about a second of CPU, as in Redis): it would stall every
  // other connection and the fuzzer's throughput, and find nothing.
  'pfselftest',
]);

/**
 * Commands after which a pipeline's later requests may wait forever or get
 * no reply (blocking pops with timeout 0, subscribe mode, CLIENT REPLY
 * OFF, QUIT): generated only as a connection's last request, so the others
 * are all executed.
 */
const LAST_ONLY = new Set([
  'blpop', 'brpop', 'blmove', 'brpoplpush', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'xread', 'xreadgroup',
  'wait', 'subscribe', 'psubscribe', 'ssubscribe', 'quit', 'client|reply', 'client|pause',
]);

const INTS = [
  '0', '1', '-1', '2', '-2', '3', '10', '100', '-100', '65535', '65536',
  '2147483647', '2147483648', '-2147483648', '-2147483649', '4294967295', '4294967296',
  '9223372036854775807', '-9223372036854775808', '9223372036854775808', '-9223372036854775809',
  '18446744073709551615', '18446744073709551616', '99999999999999999999999999999',
  '1048575', '1048576', '8388607', '8388608', '536870911', '536870912', '4611686018427387904',
  '1.5', '-0', '+1', ' 1', '1 ', '0x10', '010', '1e3', '', 'abc', '1\x00', '٣',
];
const FLOATS = [
  '0', '-0', '0.0', '1.5', '-1.5', '1e308', '1.7976931348623157e308', '1.8e308', '-1e309', '1e-320', '5e-324',
  'inf', '-inf', '+inf', 'INF', 'infinity', '-infinity', 'nan', 'NaN', '-nan', '1e', '.5', '5.', '0x1p3',
  '1_000', '  2', '3  ', '', '(1', '(inf', '-', '+', '1e+400', '123456789012345678901234567890',
];
const STRINGS = [
  '', ' ', '\x00', '\r\n', '\r', '\n', '"', "'", '\\', '*', '$', '*1\r\n$4\r\nPING\r\n', '$-1\r\n', '-ERR x\r\n',
  'a', 'value', '\xff\xfe\x00\x01', '🔥', 'é', 'NX', 'XX', 'GET', 'COUNT', 'LIMIT', '$', '>', '-', '+', '0-0', '0-1',
  '18446744073709551615-18446744073709551615', '1-', '-1-1', '*-*',
];
const PATTERNS = [
  '*', '?', '[', ']', '[]', '[^]', '[a-', '[z-a]', '\\', '\\*', 'fz:*', '*fz*', '**********',
  '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', '[[[[[[[[[', 'a\\', '[\\', '', '\x00*',
];

/** Every option word the table knows, for "tokens in the wrong place". */
const TOKENS = [];
/** name -> { arity, args (doc argument trees), subs: Map(name -> {arity, args}) } */
const COMMANDS = new Map();

function mapOf(node) {
  const m = new Map();
  if (node && Array.isArray(node.map)) for (const [k, v] of node.map) m.set(k, v);
  return m;
}

function collectTokens(args) {
  for (const a of args ?? []) {
    const m = mapOf(a);
    const tok = m.get('token');
    if (typeof tok === 'string' && !TOKENS.includes(tok)) TOKENS.push(tok);
    collectTokens(m.get('arguments'));
  }
}

function addCommand(name, entry) {
  const info = entry.info;
  const docs = mapOf(entry.docs);
  const args = docs.get('arguments') ?? [];
  collectTokens(args);
  const subs = new Map();
  const subDocs = mapOf(docs.get('subcommands'));
  for (const s of Array.isArray(info[9]) ? info[9] : []) {
    const full = s[0];
    const sd = mapOf(subDocs.get(full));
    const sargs = sd.get('arguments') ?? [];
    collectTokens(sargs);
    subs.set(full.split('|')[1], { full, arity: s[1], args: sargs });
  }
  COMMANDS.set(name, { name, arity: info[1], args, subs });
}

for (const [name, entry] of Object.entries(TABLE)) addCommand(name, entry);
for (const [name, entry] of Object.entries(EXTRA.commands ?? {})) addCommand(name, entry);
for (const [parent, list] of Object.entries(EXTRA.subcommands ?? {})) {
  const p = COMMANDS.get(parent);
  for (const entry of list) {
    const full = entry.info[0];
    const sargs = mapOf(entry.docs).get('arguments') ?? [];
    collectTokens(sargs);
    p?.subs.set(full.split('|')[1], { full, arity: entry.info[1], args: sargs });
  }
}

const NAMES = [...COMMANDS.keys()].filter((n) => !DENIED.has(n));

export function commandNames() {
  return NAMES.slice();
}

export class RespGenerator {
  constructor(seed) {
    this.rng = createPrng(seed);
    this.count = 0;
  }

  int(n) {
    return Math.floor(this.rng() * n);
  }

  chance(p) {
    return this.rng() < p;
  }

  pick(arr) {
    return arr[this.int(arr.length)];
  }

  binary(len) {
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(this.int(256));
    return s;
  }

  /** A pool key most of the time, so commands meet each other's data; never the reserved prefix. */
  key() {
    const r = this.rng();
    if (r < 0.8) return (this.chance(0.3) ? '{fz}:' : 'fz:') + this.int(24);
    if (r < 0.9) return this.pick(STRINGS);
    const k = this.binary(1 + this.int(40));
    return k.startsWith(RESERVED_PREFIX) ? 'x' + k : k;
  }

  str() {
    const r = this.rng();
    if (r < 0.35) return this.pick(STRINGS);
    if (r < 0.6) return String(this.int(1000));
    if (r < 0.85) return this.binary(this.int(64));
    if (r < 0.97) return 'v'.repeat(this.int(4096));
    // Very long: up to 256 KiB in one argument.
    return this.pick(['x', '\x00', '*']).repeat(this.int(256 * 1024));
  }

  intArg() {
    const r = this.rng();
    if (r < 0.55) return this.pick(INTS);
    if (r < 0.85) return String(this.int(200) - 50);
    return this.pick(FLOATS);
  }

  floatArg() {
    const r = this.rng();
    if (r < 0.6) return this.pick(FLOATS);
    if (r < 0.8) return this.pick(INTS);
    return String((this.rng() - 0.5) * 10 ** this.int(20));
  }

  /** Values for one documented argument (its token first, repeated if `multiple`). */
  argValues(spec, out, depth) {
    const m = mapOf(spec);
    const flags = JSON.stringify(m.get('flags') ?? '');
    if (flags.includes('optional') && this.chance(0.5)) return;
    const times = flags.includes('multiple') ? (this.chance(0.9) ? 1 + this.int(4) : this.int(60)) : 1;
    for (let t = 0; t < times; t++) {
      const tok = m.get('token');
      if (typeof tok === 'string') out.push(this.chance(0.9) ? (this.chance(0.5) ? tok : tok.toLowerCase()) : this.pick(TOKENS));
      const type = m.get('type');
      switch (type) {
        case 'key':
          out.push(this.key());
          break;
        case 'integer':
        case 'unix-time':
          out.push(this.intArg());
          break;
        case 'double':
          out.push(this.floatArg());
          break;
        case 'pattern':
          out.push(this.chance(0.7) ? this.pick(PATTERNS) : this.str());
          break;
        case 'pure-token':
          break;
        case 'oneof': {
          const kids = m.get('arguments') ?? [];
          if (kids.length > 0 && depth < 8) this.argValues(this.pick(kids), out, depth + 1);
          break;
        }
        case 'block':
          if (depth < 8) for (const k of m.get('arguments') ?? []) this.argValues(k, out, depth + 1);
          break;
        default:
          out.push(this.str());
      }
    }
  }

  /** Random arities, tokens where values belong, values where tokens belong. */
  mangle(args) {
    const n = 1 + this.int(3);
    for (let i = 0; i < n; i++) {
      const r = this.rng();
      const at = this.int(args.length + 1);
      if (r < 0.25 && args.length > 0) args.splice(this.int(args.length), 1);
      else if (r < 0.5) args.splice(at, 0, this.pick(TOKENS));
      else if (r < 0.65) args.splice(at, 0, this.intArg());
      else if (r < 0.8) args.splice(at, 0, this.str());
      else if (r < 0.9 && args.length > 0) args.push(...args.slice(0, this.int(args.length) + 1));
      else args.length = this.int(args.length + 1);
    }
    return args;
  }

  /** One command as an argv of latin1 strings. */
  command(last = false) {
    let name = this.pick(NAMES);
    while (!last && LAST_ONLY.has(name)) name = this.pick(NAMES);
    const c = COMMANDS.get(name);
    const argv = [this.chance(0.5) ? name.toUpperCase() : name];
    let args = c.args;
    if (c.subs.size > 0) {
      const subs = [...c.subs.keys()].filter((s) => !DENIED.has(`${name}|${s}`) && (last || !LAST_ONLY.has(`${name}|${s}`)));
      if (subs.length === 0 || this.chance(0.05)) argv.push(this.str());
      else {
        const s = this.pick(subs);
        argv.push(this.chance(0.5) ? s.toUpperCase() : s);
        args = c.subs.get(s).args;
      }
    }
    const rest = [];
    for (const spec of args) this.argValues(spec, rest, 0);
    if (this.chance(0.35)) this.mangle(rest);
    if (this.chance(0.03)) {
      // An arity nowhere near the table's.
      const extra = this.int(200);
      for (let i = 0; i < extra; i++) rest.push(this.chance(0.5) ? this.key() : this.intArg());
    }
    argv.push(...rest);
    return argv;
  }

  /**
   * The bytes of one "request": usually one well-formed multibulk, sometimes
   * a broken frame, inline garbage or a pipelined burst. `safe` tells the
   * harness whether the bytes are a valid frame sequence (a broken one ends
   * the connection with a protocol error, so nothing after it is sent).
   */
  request(safeOnly = false, last = true) {
    this.count++;
    const r = safeOnly ? this.rng() * 0.8 : this.rng();
    if (r < 0.72) return { bytes: encodeArgv(this.command(last)), safe: true, commands: 1 };
    if (r < 0.8) {
      // A pipelined burst.
      const n = 2 + this.int(30);
      const parts = [];
      for (let i = 0; i < n; i++) parts.push(encodeArgv(this.command()));
      return { bytes: Buffer.concat(parts), safe: true, commands: n };
    }
    if (r < 0.85) return { bytes: this.inline(), safe: false, commands: 1 };
    return { bytes: this.broken(), safe: false, commands: 1 };
  }

  inline() {
    const r = this.rng();
    if (r < 0.4) {
      // An inline command, with quotes and escapes, balanced or not.
      const argv = this.command().slice(0, 6).map((a) => {
        const clean = a.replace(/[\r\n]/g, ' ').slice(0, 200);
        return this.chance(0.3) ? `"${clean.replace(/"/g, '\\"')}"` : clean.replace(/\s/g, '') || 'x';
      });
      const tail = this.pick(['', '"', "'", '\\x', '"\\x4', '"a"b', "'a'b"]);
      return Buffer.from(argv.join(' ') + tail + '\r\n', 'latin1');
    }
    if (r < 0.7) return Buffer.from(this.binary(1 + this.int(300)), 'latin1');
    // A very long inline line (beyond the inline limit 64 KiB sometimes).
    return Buffer.from('PING ' + 'a'.repeat(this.int(80 * 1024)) + (this.chance(0.5) ? '\r\n' : ''), 'latin1');
  }

  /** A valid frame made invalid: cut, bit-flipped, lengths changed, or hostile headers. */
  broken() {
    const frame = encodeArgv(this.command());
    const r = this.rng();
    if (r < 0.2) return frame.subarray(0, this.int(frame.length));
    if (r < 0.45) {
      const b = Buffer.from(frame);
      const flips = 1 + this.int(4);
      for (let i = 0; i < flips; i++) b[this.int(b.length)] ^= 1 << this.int(8);
      return b;
    }
    if (r < 0.7) {
      // Change one length field (multibulk count or a bulk length).
      const s = frame.toString('latin1');
      const fields = [...s.matchAll(/[*$](\d+)\r\n/g)];
      const f = this.pick(fields);
      const v = this.pick(['-1', '-2', '0', '1', String(Number(f[1]) + 1), String(Math.max(0, Number(f[1]) - 1)), '2147483648', '9223372036854775807', '99999999999999999999', '', 'x', '1.5', '+1']);
      return Buffer.from(s.slice(0, f.index + 1) + v + s.slice(f.index + 1 + f[1].length), 'latin1');
    }
    const headers = [
      '*1048577\r\n', '*2147483648\r\n', '*-5\r\n', '*0\r\n', '*-1\r\n', '*1\r\n$536870913\r\n', '*1\r\n$536870912\r\n',
      '*1\r\n$0\r\n\r\n', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\nab', '$5\r\nhello\r\n', ':1\r\n', '+PING\r\n', '*1\r\n:1\r\n',
      '*1\r\n$4\r\nPING', '*1\r\n$4\r\nPINGXX', '*1\r\r\n', '*' + '9'.repeat(40) + '\r\n', '*1\r\n$' + '9'.repeat(40) + '\r\n',
      '*1' + '0'.repeat(70000), '\r\n\r\n\r\n', '*\r\n', '*1\n$4\nPING\n', '\x00\x00\x00',
    ];
    return Buffer.from(this.pick(headers), 'latin1');
  }
}

export function encodeArgv(argv) {
  const parts = [Buffer.from(`*${argv.length}\r\n`, 'latin1')];
  for (const a of argv) {
    const b = Buffer.from(a, 'latin1');
    parts.push(Buffer.from(`$${b.length}\r\n`, 'latin1'), b, Buffer.from('\r\n', 'latin1'));
  }
  return Buffer.concat(parts);
}
