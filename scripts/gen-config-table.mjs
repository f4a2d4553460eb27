#!/usr/bin/env node
// Generates src/commands/generated/redis-config.json: every parameter that
// `CONFIG GET *` lists on a redis-server 7.0, with its default, aliases,
// flags, type and rules, all found by asking redis-server itself:
//
//   - names and defaults: CONFIG GET * on a server started with nothing but
//     --port, --bind and --dir (those three are this instance's, so the table
//     has no default for them);
//   - immutable / protected: CONFIG SET <name> <its own value> (before a name
//     that does not exist, so that nothing is applied) and the error;
//   - sensitive: the same calls logged with slowlog-log-slower-than 0 show
//     "(redacted)" in place of the value;
//   - the type and its rules: CONFIG SET with probe values and the errors it
//     answers ("argument must be 'yes' or 'no'", "argument(s) must be one of
//     the following: …", "argument must be between A and B inclusive", …),
//     and CONFIG GET after values it accepts (how it reports them back: hz's
//     range, "relative" read back as "yes", flag enums' order). Parameters
//     CONFIG SET cannot change are probed by starting redis-server with the
//     value on its command line followed by a directive that does not exist:
//     it stops at the first bad line and says why, so no server runs;
//   - whether a refusal comes from parsing the value (CONFIG SET stops at the
//     first bad value) or from applying it (after every value is set): the
//     refused value sent before a bad value of another parameter;
//   - aliases: setting one name changes the other; CONFIG REWRITE on a server
//     with a config file writes the primary name only.
//
// Parameters CONFIG SET cannot change and share their value with another are
// not told apart by probing; their aliases are listed below (IMMUTABLE_ALIASES)
// and checked on a server started with the alias set.
//
// What raftis makes of each parameter (cluster-wide or per node, what it does
// with it) is raftis's decision, in scripts/config-policy.mjs, merged in here.
//
// Usage: node scripts/gen-config-table.mjs [output]   (redis-server on PATH, or REDIS_SERVER=path)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectResp } from './resp3-read.mjs';
import { POLICY } from './config-policy.mjs';

const REDIS = process.env.REDIS_SERVER ?? 'redis-server';
const dest = process.argv[2] ?? new URL('../src/commands/generated/redis-config.json', import.meta.url);

/** Immutable aliases (CONFIG SET cannot show them): primary → aliases, and a value to start a server with. */
const IMMUTABLE_ALIASES = { replicaof: { aliases: ['slaveof'], value: '127.0.0.1 1' } };
/** Values that bind ports or raise the process's file limit on this machine: not probed with extremes. */
const NO_EXTREMES = new Set(['port', 'tls-port', 'maxclients']);

const LLONG_MIN = '-9223372036854775808';
const LLONG_MAX = '9223372036854775807';
const ULLONG_MAX = '18446744073709551615';
const END_DIRECTIVE = 'raftis-probe-end';

// ---- servers and connections -------------------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-gen-config-'));
const started = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startServer(name, args, configFile) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const port = await freePort();
  const base = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  let argv = [...base, ...args];
  if (configFile) {
    const file = path.join(dir, 'redis.conf');
    fs.writeFileSync(file, '');
    argv = [file, ...argv];
  }
  const proc = spawn(REDIS, argv, { cwd: dir, stdio: 'ignore' });
  started.push(proc);
  for (let i = 0; ; i++) {
    try {
      const conn = await connectResp(port);
      return { port, dir, proc, conn, configFile: configFile ? path.join(dir, 'redis.conf') : undefined };
    } catch (e) {
      if (i > 200 || proc.exitCode !== null) throw new Error(`${REDIS} ${argv.join(' ')} did not start: ${e.message}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}


const errText = (r) => (r && typeof r === 'object' && 'err' in r ? r.err : undefined);
const CONFIG_SET_ERR = /^ERR CONFIG SET failed \(possibly related to argument '([^']*)'\)(?: - (.*))?$/s;

/** CONFIG SET on a live server: { ok, read } with the value CONFIG GET reports after it, or { err, about }. */
async function liveSet(conn, name, value) {
  const r = await conn.call('CONFIG', 'SET', name, value);
  const e = errText(r);
  if (e !== undefined) {
    const m = CONFIG_SET_ERR.exec(e);
    if (!m) throw new Error(`CONFIG SET ${name} ${JSON.stringify(value)}: unexpected ${e}`);
    return { err: m[2] ?? '', about: m[1] };
  }
  return { ok: true, read: await liveGet(conn, name) };
}

async function liveGet(conn, name) {
  const r = await conn.call('CONFIG', 'GET', name);
  if (!Array.isArray(r) || r.length !== 2) throw new Error(`CONFIG GET ${name}: ${JSON.stringify(r)}`);
  return r[1];
}

/** A value on redis-server's command line, then a directive that does not exist: either the value's error, or { ok }. */
function startupSet(name, value) {
  const r = spawnSync(REDIS, ['--port', '0', `--${name}`, value, `--${END_DIRECTIVE}`, 'x'], { cwd: tmp, encoding: 'latin1', timeout: 10_000 });
  const out = `${r.stdout}${r.stderr}`;
  const lines = out.split('\n').map((l) => l.trim());
  const at = lines.findIndex((l) => l.startsWith('>>> '));
  if (r.status === 0 || at < 0) throw new Error(`redis-server --${name} ${value}: no configuration error: ${out}`);
  if (lines[at].startsWith(`>>> '${END_DIRECTIVE} `)) return { ok: true };
  return { err: lines[at + 1] };
}

// ---- probing ------------------------------------------------------------------------

const A = await startServer('a', []);
const B = await startServer('b', ['--enable-protected-configs', 'yes'], true);
let C;
const info = await A.conn.call('INFO', 'server');
const version = /redis_version:(\S+)/.exec(info)[1];

try {
  // Names and defaults.
  const all = await A.conn.call('CONFIG', 'GET', '*');
  const defaults = new Map();
  for (let i = 0; i < all.length; i += 2) defaults.set(all[i], all[i + 1]);
  const names = [...defaults.keys()].sort();
  const instance = new Set(['port', 'bind', 'dir']);

  // Flags, with every call logged.
  await A.conn.call('CONFIG', 'SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '100000');
  await A.conn.call('SLOWLOG', 'RESET');
  const flags = new Map();
  for (const n of names) {
    // Followed by a name that does not exist: nothing is set or applied (A keeps listening as it was),
    // and the first error is this one's when it cannot be set at all.
    const e = errText(await A.conn.call('CONFIG', 'SET', n, defaults.get(n), END_DIRECTIVE, 'x'));
    const m = CONFIG_SET_ERR.exec(e ?? '');
    const f = [];
    if (m?.[2] === "can't set immutable config") f.push('immutable');
    else if (m?.[2] === "can't set protected config") f.push('protected');
    else if (e !== `ERR Unknown option or number of arguments for CONFIG SET - '${END_DIRECTIVE}'`) throw new Error(`CONFIG SET ${n} <its value>: ${e}`);
    flags.set(n, f);
  }
  for (const e of await A.conn.call('SLOWLOG', 'GET', '-1')) {
    const argv = e[3];
    if (argv[0] === 'CONFIG' && argv[1] === 'SET' && argv[3] === '(redacted)') flags.get(argv[2]).push('sensitive');
  }
  await A.conn.call('CONFIG', 'SET', 'slowlog-log-slower-than', defaults.get('slowlog-log-slower-than'), 'slowlog-max-len', defaults.get('slowlog-max-len'));

  // B's values to restore after each accepted probe.
  const bAll = await B.conn.call('CONFIG', 'GET', '*');
  const bValues = new Map();
  for (let i = 0; i < bAll.length; i += 2) bValues.set(bAll[i], bAll[i + 1]);
  const mutable = (n) => !flags.get(n).includes('immutable');

  /** One probe: on B (restored after), or at start-up for what CONFIG SET cannot change. */
  async function probe(n, value) {
    if (!mutable(n)) return startupSet(n, value);
    const r = await liveSet(B.conn, n, value);
    if (r.ok) {
      const back = await liveSet(B.conn, n, bValues.get(n));
      if (!back.ok || back.read !== bValues.get(n)) throw new Error(`could not restore ${n} to ${bValues.get(n)}: ${JSON.stringify(back)}`);
    }
    return r;
  }

  // A parameter whose values are parsed as integers: a bad value for it fails while values are set, before any is applied.
  let parseFailer;

  /** Where a refusal of `value` comes from: 'set' (parsing, checked in order) or 'apply' (after every value is set). */
  async function phase(n, value) {
    const r = await B.conn.call('CONFIG', 'SET', n, value, parseFailer, '__probe__');
    const m = CONFIG_SET_ERR.exec(errText(r) ?? '');
    if (!m) throw new Error(`phase of ${n} ${value}: ${JSON.stringify(r)}`);
    return m[1] === n ? 'set' : 'apply';
  }

  const table = new Map();
  for (const n of names) {
    const p = { name: n };
    const r = await probe(n, '__probe__');
    const e = r.err ?? '';
    let m;
    if (e === "argument must be 'yes' or 'no'") {
      p.type = 'bool';
      p.errors = { parse: e };
    } else if ((m = /^argument\(s\) must be one of the following: (.*)$/.exec(e))) {
      p.type = 'enum';
      p.values = m[1].split(', ');
      p.errors = { parse: e };
    } else if (e === "argument couldn't be parsed into an integer") {
      p.type = 'integer';
      p.errors = { parse: e };
    } else if (e === 'argument must be a memory value' || e === 'argument must be a memory or percent value') {
      p.type = 'memory';
      p.errors = { parse: e };
    } else if (e === "argument couldn't be parsed as an octal number") {
      p.type = 'integer';
      p.octal = true;
      p.errors = { parse: e };
    } else {
      const r2 = await probe(n, 'probe');
      if (r2.ok && (r2.read === undefined || r2.read === 'probe')) p.type = 'string';
      else {
        p.type = 'special';
        p.errors = { probe: e || null };
      }
    }
    table.set(n, p);
    if (!parseFailer && p.type === 'integer' && mutable(n)) parseFailer = n;
  }

  // Rules of each type.
  for (const n of names) {
    const p = table.get(n);
    const rejects = {};
    const reject = async (value, r) => {
      if (r.err === undefined) return;
      rejects[value] = { error: r.err, phase: mutable(n) ? await phase(n, value) : 'set' };
    };
    if (p.type === 'bool') {
      if (mutable(n)) for (const v of ['yes', 'no']) await reject(v, await probe(n, v));
    } else if (p.type === 'enum') {
      const pair = await probe(n, `${p.values[0]} ${p.values[1]}`);
      if (pair.ok) p.multi = true;
      if (mutable(n)) {
        const reads = {};
        const single = new Map();
        for (const v of p.values) {
          const r = await probe(n, v);
          await reject(v, r);
          if (r.ok) single.set(v, r.read);
          if (r.ok && r.read !== v) reads[v] = r.read;
        }
        if (Object.keys(reads).length) p.reads = reads;
        if (p.multi) flagEnum(n, p, single, await pairs(n, p.values));
      }
    } else if (p.type === 'integer' || p.type === 'memory') {
      const accepted = new Map();
      for (const v of [LLONG_MIN, ULLONG_MAX, '-1', '0', LLONG_MAX]) {
        const r = await probe(n, v);
        let m;
        if (r.ok) accepted.set(v, r.read);
        else if ((m = /^argument must be between (-?\d+) and (-?\d+) inclusive$/.exec(r.err))) {
          p.min = m[1];
          p.max = m[2];
          p.errors.bounds = r.err;
        } else if ((m = /^percentage argument must be less or equal to (\d+)$/.exec(r.err))) {
          p.errors.percent = r.err;
        }
      }
      const pct = await probe(n, '50%');
      if (pct.ok) {
        p.percent = true;
        const over = await probe(n, `${LLONG_MAX}%`);
        if (over.err !== undefined) p.errors.percent = over.err;
      }
      // 2^64-1 read back as a percentage: the value is a signed one, so 2^63-1 is the most it holds.
      if (accepted.has(ULLONG_MAX) && accepted.get(ULLONG_MAX) !== ULLONG_MAX) accepted.delete(ULLONG_MAX);
      const nums = [...accepted.keys()].map(BigInt);
      if ((p.min === undefined || p.max === undefined) && nums.length === 0) throw new Error(`${n}: no bounds found`);
      if (p.min === undefined) p.min = String(nums.reduce((a, b) => (b < a ? b : a)));
      if (p.max === undefined) p.max = String(nums.reduce((a, b) => (b > a ? b : a)));
      if (p.percent) {
        const m = /(\d+)$/.exec(p.errors.percent ?? '');
        if (!m) throw new Error(`${n}: percentages but no percentage bound`);
        p.min = `-${m[1]}`;
      }
      if (mutable(n) && !NO_EXTREMES.has(n)) {
        // How the extremes read back: a range narrower than the bounds is applied after the value is set (hz).
        const loValue = p.percent ? '0' : p.min;
        const lo = await probe(n, loValue);
        const hi = await probe(n, p.max);
        const shown = (v) => (p.type === 'memory' ? BigInt.asUintN(64, BigInt(v)).toString() : v);
        const readLo = lo.ok ? lo.read : undefined;
        const readHi = hi.ok ? hi.read : undefined;
        if ((readLo !== undefined && readLo !== shown(loValue)) || (readHi !== undefined && readHi !== shown(p.max))) {
          p.range = [readLo ?? loValue, readHi ?? p.max];
        }
        await reject(loValue, lo);
        await reject(p.max, hi);
      }
      if (mutable(n) && (n === 'port' || n === 'tls-port')) {
        // A port that is taken (A's): what redis-server answers when it cannot listen there.
        const busy = await probe(n, String(A.port));
        if (busy.err === undefined || (await phase(n, String(A.port))) !== 'apply') throw new Error(`${n}: a busy port was not refused when applied`);
        p.errors.apply = busy.err;
      }
    } else if (p.type === 'string' && mutable(n)) {
      for (const v of ['', 'probe', '__probe__', 'a b', '{x}', 'a/b', 'x'.repeat(300)]) await reject(v, await probe(n, v));
      // Kept whole (an sds), or cut at the first NUL (a C string).
      const nul = await probe(n, 'a\0b');
      if (nul.ok && nul.read === 'a\0b') p.binary = true;
    } else if (p.type === 'special' && mutable(n) && p.errors.probe !== null) {
      p.errors.phase = await phase(n, '__probe__');
    }
    if (Object.keys(rejects).length) p.rejects = rejects;
  }

  /** Every pair of a flag enum's values, set together: the value read back, or the refusal. */
  async function pairs(n, values) {
    const out = new Map();
    for (let i = 0; i < values.length; i++) {
      for (let j = i + 1; j < values.length; j++) out.set(`${values[i]} ${values[j]}`, await probe(n, `${values[i]} ${values[j]}`));
    }
    return out;
  }

  /**
   * A flag enum's bits, from how values read back: a value that disappears
   * next to any other is 0, the others one bit each in the order listed.
   * Checked against every pair; refused pairs are kept with their error.
   */
  function flagEnum(n, p, single, both) {
    const pair = (a, b) => both.get(`${a} ${b}`) ?? both.get(`${b} ${a}`);
    const zero = p.values.filter((v) => single.get(v) === v && p.values.every((w) => w === v || !pair(v, w).ok || pair(v, w).read === single.get(w)));
    const bits = {};
    let next = 1;
    for (const v of p.values) bits[v] = zero.includes(v) ? 0 : (next <<= 1) >> 1;
    const show = (val) => {
      const exact = p.values.find((v) => bits[v] === val);
      if (exact !== undefined) return exact;
      const names = [];
      let left = val;
      for (const v of p.values) {
        if (bits[v] !== 0 && (left & bits[v]) === bits[v]) {
          names.push(v);
          left &= ~bits[v];
        }
      }
      return names.join(' ');
    };
    const exclusive = [];
    for (const [pair, r] of both) {
      const [a, b] = pair.split(' ');
      if (!r.ok) exclusive.push([a, b, r.err]);
      else if (show(bits[a] | bits[b]) !== r.read) throw new Error(`${n}: "${pair}" reads back as "${r.read}", not "${show(bits[a] | bits[b])}"`);
    }
    p.bits = bits;
    if (exclusive.length) p.exclusive = exclusive;
  }

  // Aliases: names whose values move together; the primary is the one CONFIG REWRITE writes.
  const aliasOf = new Map();
  const groups = new Map();
  for (const n of names) {
    const k = `${table.get(n).type}\0${bValues.get(n)}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(n);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    for (const n of group) {
      if (aliasOf.has(n) || !mutable(n) || NO_EXTREMES.has(n)) continue;
      const alt = alternative(table.get(n), bValues.get(n));
      if (alt === undefined) continue;
      const r = await liveSet(B.conn, n, alt);
      if (!r.ok) continue;
      const moved = [];
      for (const m of group) if (m !== n && (await liveGet(B.conn, m)) === r.read) moved.push(m);
      if (moved.length) {
        await B.conn.call('CONFIG', 'REWRITE');
        const written = fs.readFileSync(B.configFile, 'latin1').split('\n').map((l) => l.split(' ')[0]);
        const members = [n, ...moved];
        const primary = members.filter((m) => written.includes(m));
        if (primary.length !== 1) throw new Error(`aliases ${members.join(', ')}: CONFIG REWRITE wrote ${primary.join(', ') || 'none of them'}`);
        for (const m of members) if (m !== primary[0]) aliasOf.set(m, primary[0]);
      }
      const back = await liveSet(B.conn, n, bValues.get(n));
      if (!back.ok || back.read !== bValues.get(n)) throw new Error(`could not restore ${n}`);
    }
  }
  C = await startServer('c', Object.entries(IMMUTABLE_ALIASES).flatMap(([, { aliases, value }]) => [`--${aliases[0]}`, ...value.split(' ')]));
  for (const [primary, { aliases, value }] of Object.entries(IMMUTABLE_ALIASES)) {
    for (const a of aliases) {
      if (!table.has(a) || !table.has(primary) || mutable(a) || mutable(primary)) throw new Error(`IMMUTABLE_ALIASES: ${primary}/${a} are not two immutable parameters`);
      if ((await liveGet(C.conn, primary)) !== value || (await liveGet(C.conn, a)) !== value) throw new Error(`IMMUTABLE_ALIASES: ${a} does not set ${primary}`);
      aliasOf.set(a, primary);
    }
  }

  // One entry per primary name.
  const params = [];
  for (const n of names) {
    if (aliasOf.has(n)) continue;
    const p = table.get(n);
    const aliases = names.filter((a) => aliasOf.get(a) === n);
    for (const a of aliases) {
      const q = { ...table.get(a), name: n };
      if (JSON.stringify(q) !== JSON.stringify(p)) throw new Error(`alias ${a} of ${n} probes differently`);
      if (JSON.stringify(flags.get(a)) !== JSON.stringify(flags.get(n))) throw new Error(`alias ${a} of ${n} has other flags`);
    }
    const policy = POLICY[n] ?? (process.env.RAFTIS_GEN_NO_POLICY ? {} : undefined);
    if (!policy) throw new Error(`scripts/config-policy.mjs says nothing of ${n}`);
    const entry = {
      name: n,
      aliases,
      type: p.type,
      default: instance.has(n) ? null : defaults.get(n),
      flags: flags.get(n),
      ...Object.fromEntries(Object.entries(p).filter(([k]) => k !== 'name' && k !== 'type')),
      scope: policy.scope,
      raftis: policy.raftis,
      ...(policy.value !== undefined ? { raftisValue: policy.value } : {}),
      ...(policy.refuse !== undefined ? { raftisRefuses: policy.refuse } : {}),
    };
    params.push(entry);
  }
  if (!process.env.RAFTIS_GEN_NO_POLICY) for (const n of Object.keys(POLICY)) if (!table.has(n) || aliasOf.has(n)) throw new Error(`scripts/config-policy.mjs names ${n}, which is not a primary parameter`);

  const out = {
    generatedBy: `scripts/gen-config-table.mjs from redis-server ${version} (probed); scope and raftis from scripts/config-policy.mjs; do not edit`,
    params,
  };
  fs.writeFileSync(dest, JSON.stringify(out, null, 1) + '\n');
  console.log(`wrote ${params.length} parameters (${names.length} names with aliases) from redis-server ${version}`);
} finally {
  for (const s of [A, B, C]) s?.conn.close();
  for (const p of started) {
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** A value other than `current` that the parameter accepts, to see which names move with it. */
function alternative(p, current) {
  if (p.type === 'bool') return current === 'yes' ? 'no' : 'yes';
  if (p.type === 'enum') return p.values.find((v) => v !== current && !p.rejects?.[v]);
  // The largest value (or the smallest): a small one could be applied at once
  // (maxmemory-clients 1 would evict the probing connection).
  if (p.type === 'integer' || p.type === 'memory') return current === p.max ? (p.percent ? '0' : p.min) : p.max;
  if (p.type === 'string') return current === 'probe' ? 'probe2' : 'probe';
  return undefined;
}
