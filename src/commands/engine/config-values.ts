/**
 * How redis-server 7.0.15 reads a parameter's value and reports it back
 * (config.c): one codec per parameter, made from its entry in the generated
 * table (generated/redis-config.json: type, bounds, enum values, error texts,
 * all probed from redis-server by scripts/gen-config-table.mjs) or, for the
 * parameters config.c parses by hand (save, client-output-buffer-limit,
 * notify-keyspace-events…), written after its parser here.
 *
 * A codec's parse() returns the value as it is kept (what format() turns into
 * CONFIG GET's answer), or a Refusal: its error text and whether redis-server
 * refuses it while setting values (in order, the first bad one answered) or
 * while applying them (after every value was set).
 */
import { parseDouble } from '../../util/double.js';
import { LLONG_MAX, LLONG_MIN, cstr, string2ll, strtoStart } from '../../util/number.js';

export type ParamType = 'bool' | 'enum' | 'integer' | 'memory' | 'string' | 'special';
export type Phase = 'set' | 'apply';

/** One parameter of the generated table. */
export interface ParamDef {
  name: string;
  aliases: string[];
  type: ParamType;
  /** redis-server's default; null for this instance's own (port, bind, dir). */
  default: string | null;
  flags: ('immutable' | 'protected' | 'sensitive')[];
  errors?: { parse?: string; bounds?: string; percent?: string; apply?: string; probe?: string | null; phase?: Phase };
  values?: string[];
  multi?: boolean;
  bits?: Record<string, number>;
  exclusive?: [string, string, string][];
  reads?: Record<string, string>;
  min?: string;
  max?: string;
  percent?: boolean;
  octal?: boolean;
  range?: [string, string];
  /** A string kept whole, NUL bytes included (an sds); otherwise cut at the first NUL (a C string). */
  binary?: boolean;
  rejects?: Record<string, { error: string; phase: Phase }>;
  scope: 'cluster' | 'node';
  raftis: 'applied' | 'fixed' | 'later' | 'never';
  raftisValue?: string | null;
  raftisRefuses?: { unless: string; error: string };
}

export class Refusal {
  constructor(
    readonly error: string,
    readonly phase: Phase = 'set',
  ) {}
}

export interface Codec<T = unknown> {
  /**
   * The value as kept, or why redis-server refuses it. `current` is the
   * value before (some parsers merge into it, some refuse a change);
   * undefined for the initial value, which nothing refuses for a change.
   */
  parse(text: string, current: T | undefined): T | Refusal;
  format(value: T): string;
}

const ULLONG_MAX = 18446744073709551615n;

/** sdssplitlen(value, " "): the arguments of a multi-argument parameter ("" is none; two spaces make an empty one). */
export function splitArgs(v: string): string[] {
  return v === '' ? [] : v.split(' ');
}

/** C strtoll(s, &end, 10) on the C string: leading space, a sign, digits, saturating; `end` 0 when nothing was converted. */
export function strtoll(str: string): { value: bigint; end: number } {
  const s = cstr(str);
  const { start, neg } = strtoStart(s);
  let i = start;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  if (i === start) return { value: 0n, end: 0 };
  let v = BigInt(s.slice(start, i));
  if (neg) v = -v;
  if (v > LLONG_MAX) v = LLONG_MAX;
  if (v < LLONG_MIN) v = LLONG_MIN;
  return { value: v, end: i };
}

/** strtoll with nothing left after the number (`*eptr == '\0'`): null otherwise. */
function wholeStrtoll(s: string): bigint | null {
  const c = cstr(s);
  const r = strtoll(c);
  return (r.end === 0 ? c.length === 0 : r.end === c.length) ? r.value : null;
}

const UNITS: Record<string, bigint> = { '': 1n, b: 1n, k: 1000n, kb: 1024n, m: 1000n ** 2n, mb: 1024n ** 2n, g: 1000n ** 3n, gb: 1024n ** 3n };

/**
 * memtoull: digits then an optional unit (b k kb m mb g gb, any case), on
 * the C string. No sign, no spaces; "" and "kb" are 0; the digits saturate
 * at 2^64-1 and the product wraps, as in redis-server.
 */
export function memtoull(str: string): bigint | null {
  const s = cstr(str);
  if (s.charCodeAt(0) === 45) return null;
  let i = 0;
  while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  const mul = UNITS[s.slice(i).toLowerCase()];
  if (mul === undefined || i >= 128) return null;
  let v = i === 0 ? 0n : BigInt(s.slice(0, i));
  if (v > ULLONG_MAX) v = ULLONG_MAX;
  return BigInt.asUintN(64, v * mul);
}

/** C's "%f" (six decimals, the exact binary value rounded half to even) with trailing zeros and dot removed (trimDoubleString). */
export function formatPercentile(x: number): string {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const neg = buf.getUint32(0) >>> 31 === 1;
  const exp = (buf.getUint32(0) >>> 20) & 0x7ff;
  let mant = (BigInt(buf.getUint32(0) & 0xfffff) << 32n) | BigInt(buf.getUint32(4));
  let e = exp - 1075;
  if (exp === 0) e = -1074;
  else mant |= 1n << 52n;
  // x = mant * 2^e; scaled = x * 10^6 rounded half to even.
  let num = mant * 10n ** 6n;
  let den = 1n;
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  let q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q++;
  const digits = q.toString().padStart(7, '0');
  let s = `${digits.slice(0, -6)}.${digits.slice(-6)}`.replace(/0+$/, '').replace(/\.$/, '');
  if (neg) s = '-' + s;
  return s;
}

// ---- the generic types ------------------------------------------------------------

function boolCodec(def: ParamDef): Codec<boolean> {
  return {
    parse(text) {
      const v = cstr(text).toLowerCase();
      if (v !== 'yes' && v !== 'no') return new Refusal(def.errors!.parse!);
      const r = def.rejects?.[v];
      if (r) return new Refusal(r.error, r.phase);
      return v === 'yes';
    },
    format: (v) => (v ? 'yes' : 'no'),
  };
}

function enumCodec(def: ParamDef): Codec<string> {
  const values = def.values!;
  return {
    parse(text) {
      const v = cstr(text).toLowerCase();
      const found = values.find((x) => x === v);
      if (found === undefined) return new Refusal(def.errors!.parse!);
      const r = def.rejects?.[found];
      if (r) return new Refusal(r.error, r.phase);
      return def.reads?.[found] ?? found;
    },
    format: (v) => v,
  };
}

/** A flag enum (shutdown-on-sigint): values separated by spaces, or'ed; reported in the order listed. */
function flagEnumCodec(def: ParamDef): Codec<number> {
  const values = def.values!;
  const bits = def.bits!;
  return {
    parse(text) {
      const args = splitArgs(text);
      if (args.length === 0) return new Refusal(def.errors!.parse!);
      let v = 0;
      for (const a of args) {
        const found = values.find((x) => x === cstr(a).toLowerCase());
        if (found === undefined) return new Refusal(def.errors!.parse!);
        v |= bits[found]!;
      }
      for (const [a, b, error] of def.exclusive ?? []) if ((v & bits[a]!) !== 0 && (v & bits[b]!) !== 0) return new Refusal(error);
      return v;
    },
    format(v) {
      const exact = values.find((x) => bits[x] === v);
      if (exact !== undefined) return exact;
      const names: string[] = [];
      let left = v;
      for (const x of values) {
        const b = bits[x]!;
        if (b !== 0 && (left & b) === b) {
          names.push(x);
          left &= ~b;
        }
      }
      return left !== 0 || names.length === 0 ? 'unknown' : names.join(' ');
    },
  };
}

/**
 * Integers and memory values (numericConfigSet): memory units first, then a
 * percentage ("50%", kept as -50), then a plain integer; then the bounds
 * (unsigned when the upper one passes 2^63-1); then what applying it does
 * (hz is kept within 1..500) or refuses (a port it cannot listen on).
 */
function numericCodec(def: ParamDef): Codec<bigint> {
  // An octal parameter's bounds are written in octal, as redis-server reports them (unixsocketperm: 0 and 777).
  const min = BigInt(def.octal ? `0o${def.min!}` : def.min!);
  const max = BigInt(def.octal ? `0o${def.max!}` : def.max!);
  const unsigned = max > LLONG_MAX;
  const memory = def.type === 'memory';
  const range = def.range && ([BigInt(def.range[0]), BigInt(def.range[1])] as const);
  return {
    parse(text, current) {
      let v: bigint | null = null;
      if (memory) {
        const u = memtoull(text);
        if (u !== null) v = unsigned ? u : BigInt.asIntN(64, u);
      }
      if (v === null && def.percent && text.length > 1 && text.endsWith('%')) {
        const n = string2ll(text.slice(0, -1));
        if (n !== null && n >= 0) v = -BigInt(n);
      }
      if (v === null && def.octal) {
        // numericParseString's strtoll(value, &end, 8) with nothing left over ("" reads as 0).
        const m = /^\s*([+-]?)([0-7]*)$/.exec(text);
        if (m !== null && (m[2] !== '' || m[1] === '')) v = (m[1] === '-' ? -1n : 1n) * BigInt(`0o${m[2] || '0'}`);
      }
      if (v === null && !memory && !def.percent && !def.octal) {
        const n = string2ll(text);
        if (n !== null) v = BigInt(n);
      }
      if (v === null) return new Refusal(def.errors!.parse!);
      if (unsigned) {
        if (BigInt.asUintN(64, v) < min || BigInt.asUintN(64, v) > max) return new Refusal(def.errors!.bounds!);
      } else if (def.percent && v < 0n) {
        if (v < min) return new Refusal(def.errors!.percent!);
      } else if (v < min || v > max) {
        return new Refusal(def.errors!.bounds!);
      }
      if (def.errors?.apply !== undefined && current !== undefined && v !== current) return new Refusal(def.errors.apply, 'apply');
      if (range) v = v < range[0] ? range[0] : v > range[1] ? range[1] : v;
      return v;
    },
    format(v) {
      if (def.percent && v < 0n) return `${-v}%`;
      if (def.octal) return v.toString(8);
      return memory ? BigInt.asUintN(64, v).toString() : v.toString();
    },
  };
}

/** String parameters keep the C string (what zstrdup copies) or the whole value (an sds); some check it first. */
function stringCodec(def: ParamDef, check?: (v: string) => string | undefined): Codec<string> {
  return {
    parse(text) {
      const v = def.binary ? text : cstr(text);
      const error = check?.(v);
      return error === undefined ? v : new Refusal(error);
    },
    format: (v) => v,
  };
}

// ---- string checks (isValid… in config.c) --------------------------------------------

const NET_HOST_STR_LEN = 256;

function validHostname(v: string): string | undefined {
  if (v.length >= NET_HOST_STR_LEN) return `Hostnames must be less than ${NET_HOST_STR_LEN} characters`;
  if (!/^[A-Za-z0-9.-]*$/.test(v)) return 'Hostnames may only contain alphanumeric characters, hyphens or dots';
  return undefined;
}

/**
 * validateProcTitleTemplate: the template expanded (sdstemplate: {name} is
 * a variable, {{ a literal brace, an unknown name or an unclosed brace is an
 * error) with an empty title must not be empty once spaces are trimmed. The
 * variables are raftis's: listen-addr, port, tls-port and config-file are
 * never empty; server-mode is "[cluster]" (cluster-enabled yes); unixsocket
 * is empty (raftis has none).
 */
function validProcTitle(v: string): string | undefined {
  const vars: Record<string, string> = {
    title: '',
    'listen-addr': '*',
    'server-mode': '[cluster]',
    port: '0',
    'tls-port': '0',
    unixsocket: '',
    'config-file': '-',
  };
  const bad = 'template format is invalid or contains unknown variables';
  let out = '';
  let p = 0;
  while (p < v.length) {
    const sv = v.indexOf('{', p);
    if (sv < 0) {
      out += v.slice(p);
      break;
    }
    out += v.slice(p, sv);
    if (sv + 1 >= v.length) return bad;
    if (v[sv + 1] === '{') {
      out += '{';
      p = sv + 2;
      continue;
    }
    const ev = v.indexOf('}', sv + 1);
    if (ev < 0) return bad;
    const value = vars[v.slice(sv + 1, ev)];
    if (value === undefined) return bad;
    out += value;
    p = ev + 1;
  }
  return out.replace(/^ +| +$/g, '') === '' ? bad : undefined;
}

function validFilename(what: string, kind: string, allowEmpty: boolean): (v: string) => string | undefined {
  return (v) => {
    if (!allowEmpty && v === '') return `${what} can't be empty`;
    if (v.includes('/')) return `${what} can't be a path, just a ${kind}`;
    return undefined;
  };
}

const STRING_CHECKS: Record<string, (v: string) => string | undefined> = {
  'cluster-announce-hostname': validHostname,
  'proc-title-template': validProcTitle,
  dbfilename: validFilename('dbfilename', 'filename', true),
  appendfilename: validFilename('appendfilename', 'filename', false),
  appenddirname: validFilename('appenddirname', 'dirname', false),
};

// ---- the special parameters -----------------------------------------------------------

/** save: "<seconds> <changes> …", seconds at least 1, changes at least 0 (kept as a C int). */
function saveCodec(def: ParamDef): Codec<[bigint, bigint][]> {
  const bad = def.errors!.probe!;
  return {
    parse(text) {
      const args = splitArgs(text);
      if (args.length === 1 && cstr(args[0]!) === '') args.length = 0;
      if (args.length % 2 !== 0) return new Refusal(bad);
      const out: [bigint, bigint][] = [];
      for (let j = 0; j < args.length; j += 2) {
        const seconds = wholeStrtoll(args[j]!);
        const changes = wholeStrtoll(args[j + 1]!);
        if (seconds === null || seconds < 1n || changes === null || changes < 0n) return new Refusal(bad);
        out.push([seconds, BigInt.asIntN(32, changes)]);
      }
      return out;
    },
    format: (v) => v.map(([s, c]) => `${s} ${c}`).join(' '),
  };
}

interface BufferLimit {
  hard: bigint;
  soft: bigint;
  seconds: bigint;
}
const CLIENT_CLASSES = ['normal', 'slave', 'pubsub'] as const;

/** client-output-buffer-limit: "<class> <hard> <soft> <seconds>" groups; the classes named are replaced, the others kept. */
function outputBufferCodec(): Codec<BufferLimit[]> {
  return {
    parse(text, current) {
      const args = splitArgs(text);
      if (args.length % 4 !== 0) return new Refusal('Wrong number of arguments in buffer limit configuration.');
      const next = (current ?? CLIENT_CLASSES.map(() => ({ hard: 0n, soft: 0n, seconds: 0n }))).map((l) => ({ ...l }));
      for (let j = 0; j < args.length; j += 4) {
        const name = cstr(args[j]!).toLowerCase();
        const cls = name === 'replica' ? 1 : CLIENT_CLASSES.indexOf(name as (typeof CLIENT_CLASSES)[number]);
        if (cls < 0) return new Refusal('Invalid client class specified in buffer limit configuration.');
        const hard = memtoull(args[j + 1]!);
        const soft = memtoull(args[j + 2]!);
        const secs = wholeStrtoll(args[j + 3]!);
        const seconds = secs === null ? -1n : BigInt.asIntN(32, secs);
        if (hard === null || soft === null || seconds < 0n) {
          return new Refusal('Error in hard, soft or soft_seconds setting in buffer limit configuration.');
        }
        next[cls] = { hard, soft, seconds };
      }
      return next;
    },
    format: (v) => v.map((l, i) => `${CLIENT_CLASSES[i]} ${l.hard} ${l.soft} ${l.seconds}`).join(' '),
  };
}

/** oom-score-adj-values: three integers from -2000 to 2000. */
function oomValuesCodec(def: ParamDef): Codec<bigint[]> {
  return {
    parse(text) {
      const args = splitArgs(text);
      if (args.length !== 3) return new Refusal(def.errors!.probe!);
      const out: bigint[] = [];
      for (const a of args) {
        const v = wholeStrtoll(a);
        if (v === null || v < -2000n || v > 2000n) return new Refusal('Invalid oom-score-adj-values, elements must be between -2000 and 2000.');
        out.push(v);
      }
      return out;
    },
    format: (v) => v.join(' '),
  };
}

// notify.c's classes.
const NOTIFY: Record<string, number> = { K: 1, E: 2, g: 4, $: 8, l: 16, s: 32, h: 64, z: 128, x: 256, e: 512, t: 1024, m: 2048, d: 4096, n: 8192 };
const NOTIFY_ALL = NOTIFY.g! | NOTIFY.$! | NOTIFY.l! | NOTIFY.s! | NOTIFY.h! | NOTIFY.z! | NOTIFY.x! | NOTIFY.e! | NOTIFY.t! | NOTIFY.d!;

/** notify-keyspace-events: keyspaceEventsStringToFlags / keyspaceEventsFlagsToString. */
function notifyCodec(def: ParamDef): Codec<number> {
  return {
    parse(text) {
      let flags = 0;
      for (const ch of cstr(text)) {
        const f = ch === 'A' ? NOTIFY_ALL : NOTIFY[ch];
        if (f === undefined) return new Refusal(def.errors!.probe!);
        flags |= f;
      }
      return flags;
    },
    format(flags) {
      let s = '';
      if ((flags & NOTIFY_ALL) === NOTIFY_ALL) s += 'A';
      else for (const ch of 'g$lshzxetdn') if (flags & NOTIFY[ch]!) s += ch;
      if (flags & NOTIFY.K!) s += 'K';
      if (flags & NOTIFY.E!) s += 'E';
      if (flags & NOTIFY.m!) s += 'm';
      return s;
    },
  };
}

/** latency-tracking-info-percentiles: doubles from 0 to 100 (string2d), reported with "%f" trimmed. */
function percentilesCodec(def: ParamDef): Codec<number[]> {
  return {
    parse(text) {
      const out: number[] = [];
      for (const a of splitArgs(text)) {
        const v = parseDouble(a);
        if (v === null) return new Refusal(def.errors!.probe!);
        if (v > 100 || v < 0) return new Refusal('latency-tracking-info-percentiles parameters should sit between [0.0,100.0]');
        out.push(v);
      }
      return out;
    },
    format: (v) => v.map(formatPercentile).join(' '),
  };
}

/** bind: at most 16 addresses; raftis cannot listen elsewhere at run time, so another list gets the failure to bind. */
function bindCodec(def: ParamDef): Codec<string[]> {
  return {
    parse(text, current) {
      const args = splitArgs(text);
      if (args.length > 16) return new Refusal('Too many bind addresses specified.');
      if (current !== undefined && args.join(' ') !== current.join(' ')) return new Refusal(def.errors!.probe!, def.errors!.phase);
      return args;
    },
    format: (v) => v.join(' '),
  };
}

/** replicaof (immutable: never parsed) and dir (protected: never parsed, as enable-protected-configs is no). */
function textCodec(): Codec<string> {
  return { parse: (text) => text, format: (v) => v };
}

const SPECIALS = {
  save: saveCodec,
  'client-output-buffer-limit': outputBufferCodec,
  'oom-score-adj-values': oomValuesCodec,
  'notify-keyspace-events': notifyCodec,
  'latency-tracking-info-percentiles': percentilesCodec,
  bind: bindCodec,
  replicaof: textCodec,
  dir: textCodec,
} as unknown as Record<string, (def: ParamDef) => Codec>;

/** The special parameters raftis parses (a test checks it covers every one in the table). */
export const SPECIAL_NAMES: readonly string[] = Object.keys(SPECIALS);

export function codecFor(def: ParamDef): Codec {
  switch (def.type) {
    case 'bool':
      return boolCodec(def) as Codec;
    case 'enum':
      return (def.multi ? flagEnumCodec(def) : enumCodec(def)) as Codec;
    case 'integer':
    case 'memory':
      return numericCodec(def) as Codec;
    case 'string':
      return stringCodec(def, STRING_CHECKS[def.name]) as Codec;
    case 'special': {
      const make = SPECIALS[def.name];
      if (!make) throw new Error(`no parser for the special parameter ${def.name}`);
      return make(def) as Codec;
    }
  }
}
