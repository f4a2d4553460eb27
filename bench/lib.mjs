// Shared pieces of the side-by-side benchmarks: start raftis and
// redis-server on free loopback ports, run redis-benchmark, read RSS.
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The raftis entry point the benchmarks run: dist/cli/main.js of this checkout
 * unless RAFTIS_BIN names another build (e.g. of a `git archive` snapshot, so
 * that a rebuild of this tree during a long run does not change what runs).
 */
export const RAFTIS_BIN = process.env.RAFTIS_BIN ? path.resolve(process.env.RAFTIS_BIN) : path.join(ROOT, 'dist/cli/main.js');

/** A reader of `--name value` options in a bench script's arguments: opt(name, dflt) is the value after `name`, or dflt. */
export function optionReader(argv) {
  return (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
  };
}

/** Extra flags for the node that runs raftis (e.g. `--cpu-prof --cpu-prof-dir=…`; NODE_OPTIONS refuses --cpu-prof). */
const raftisNodeArgs = () => (process.env.RAFTIS_NODE_ARGS ?? '').split(' ').filter(Boolean);

const started = new Set();
/** Temporary directories removed when this process exits, however it exits. */
const tempDirs = new Set();
for (const sig of ['exit', 'SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const p of started) {
      try {
        p.kill('SIGCONT');
        p.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (sig !== 'exit') process.exit(1);
    for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  });
}

export async function freePort(host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * `n` different ports free on `host` a moment ago, all held open until every
 * one is chosen: two freePort calls in a row may be handed the same
 * just-closed port (test/helpers/ports.ts freePorts, for the same reason).
 */
export async function freePorts(n, host = '127.0.0.1') {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise((resolve, reject) => {
      const s = net.createServer();
      s.on('error', reject);
      s.listen(0, host, () => resolve(s));
    })),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Waits until `host:port` accepts a connection (tries × stepMs at most), or `proc` exits. */
export async function waitPort(port, proc, what, host = '127.0.0.1', tries = 400, stepMs = 50) {
  for (let i = 0; i < tries; i++) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${what} exited early`);
    const ok = await new Promise((r) => {
      const s = net.connect(port, host);
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`${what} did not listen on ${port} within ${(tries * stepMs) / 1000} s`);
}

function track(proc, dir) {
  started.add(proc);
  tempDirs.add(dir);
  return {
    proc,
    pid: proc.pid,
    async stop() {
      proc.kill('SIGKILL');
      if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once('exit', r));
      started.delete(proc);
      fs.rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}

export async function startRaftis(args = [], bin = RAFTIS_BIN) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-bench-'));
  const proc = spawn(process.execPath, [...raftisNodeArgs(), bin, '--port', String(port), '--dir', dir, '--log-level', 'warn', ...args], { stdio: 'inherit' });
  await waitPort(port, proc, 'raftis');
  return { port, ...track(proc, dir) };
}

/**
 * bench/ceiling-server.mjs in role `role` ('single', 'follower' or 'leader'
 * with its followers' ports) on a free port with a temporary data directory;
 * `mode` is its CEILING_MODE (any for single; 'level' or 'fs-sync' for the
 * leader and its followers, which must all have the same).
 */
export async function startCeiling(role, followerPorts = [], mode = 'level') {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-bench-ceiling-'));
  const script = path.join(ROOT, 'bench/ceiling-server.mjs');
  const proc = spawn(process.execPath, [script, role, String(port), path.join(dir, 'db'), ...followerPorts.map(String)], {
    stdio: 'inherit',
    env: { ...process.env, CEILING_MODE: mode },
  });
  await waitPort(port, proc, `ceiling-server ${role}`);
  return { port, ...track(proc, dir) };
}

/** redis-server with every write fsynced before the reply: the durability raftis gives. */
export async function startRedis(args = ['--appendonly', 'yes', '--appendfsync', 'always']) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-bench-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...args], { stdio: 'ignore' });
  await waitPort(port, proc, 'redis-server');
  return { port, ...track(proc, dir) };
}

/** Runs redis-benchmark -q --csv and returns { TEST: {rps, p50, p99, max} }. */
export async function redisBenchmark(port, args, host = '127.0.0.1') {
  const pending = run('redis-benchmark', ['-h', host, '-p', String(port), '--csv', ...args], { maxBuffer: 64 << 20, timeout: 600_000 });
  // Killed with the servers if this process is interrupted.
  started.add(pending.child);
  let stdout, stderr;
  try {
    ({ stdout, stderr } = await pending);
  } finally {
    started.delete(pending.child);
  }
  if (/error/i.test(stderr)) throw new Error(`redis-benchmark reported an error: ${stderr}`);
  const out = {};
  for (const line of stdout.split('\n')) {
    const cells = line.split(',').map((c) => c.replace(/"/g, ''));
    if (cells.length < 8 || cells[0] === 'test') continue;
    out[cells[0]] = { rps: Number(cells[1]), avg: Number(cells[2]), p50: Number(cells[4]), p99: Number(cells[6]), max: Number(cells[7]) };
  }
  return out;
}

export function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
}

/** Loads n keys key:0..n-1 with `valueSize`-byte values through one pipelined connection. */
export async function loadKeys(port, n, valueSize = 16, batch = 1000, host = '127.0.0.1') {
  const sock = net.connect(port, host);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const value = 'v'.repeat(valueSize);
  let pending = 0;
  let buf = '';
  let replies = 0;
  let waiting = null;
  sock.setEncoding('latin1');
  sock.on('data', (d) => {
    for (let i = 0; i < d.length; i++) if (d.charCodeAt(i) === 10) replies++;
    buf = '';
    if (waiting && replies >= pending) { const w = waiting; waiting = null; w(); }
  });
  for (let i = 0; i < n; i += batch) {
    let s = '';
    for (let j = i; j < Math.min(n, i + batch); j++) {
      const k = `key:${j}`;
      s += `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${valueSize}\r\n${value}\r\n`;
      pending++;
    }
    sock.write(s, 'latin1');
    if (pending - replies > batch * 8) await new Promise((r) => { waiting = r; if (replies >= pending) { waiting = null; r(); } });
  }
  await new Promise((r) => { waiting = r; if (replies >= pending) { waiting = null; r(); } });
  void buf;
  sock.destroy();
}

export function ratio(a, b) {
  return b === 0 ? 'n/a' : (a / b).toFixed(2) + '×';
}

/** A bench's `--out FILE` (default `dflt`) and its other arguments. */
export function outOption(args, dflt) {
  const at = args.indexOf('--out');
  return { out: at >= 0 ? args[at + 1] : dflt, argv: args.filter((a, i) => a !== '--out' && args[i - 1] !== '--out') };
}

/** Writes a bench's results to bench/results/<name>, or to `name` itself when it is an absolute path; returns the file. */
export function writeResult(name, text) {
  const file = path.isAbsolute(name) ? name : path.join(ROOT, 'bench/results', name);
  fs.writeFileSync(file, text);
  return file;
}

// ---------------------------------------------------------------------------
// Multi-node: a RESP client, RAFT.INFO, and an N-node raftis cluster.

/** RESP encoding of one command. */
export function encodeCommand(args) {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`;
  return s;
}

/**
 * Parses one RESP reply from `buf` at `pos`: { value, end } or undefined if
 * incomplete. Errors come back as { error: 'MOVED ...' }, verbatim strings
 * without their format prefix.
 */
export function parseReply(buf, pos = 0) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const type = buf[pos];
  const line = buf.slice(pos + 1, eol);
  switch (type) {
    case '+': return { value: line, end: eol + 2 };
    case '-': return { value: { error: line }, end: eol + 2 };
    case ':': return { value: Number(line), end: eol + 2 };
    case '_': return { value: null, end: eol + 2 };
    case '$':
    case '=': {
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + n + 2) return undefined;
      let v = buf.slice(eol + 2, eol + 2 + n);
      if (type === '=') v = v.slice(4);
      return { value: v, end: eol + 2 + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      const out = [];
      let p = eol + 2;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (!r) return undefined;
        out.push(r.value);
        p = r.end;
      }
      return { value: out, end: p };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

/** One connection, one request at a time in order; replies as parseReply values. */
export class RespConn {
  static connect(host, port, timeoutMs = 1000) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, host);
      const t = setTimeout(() => { sock.destroy(); reject(new Error(`connect ${host}:${port} timed out`)); }, timeoutMs);
      sock.once('connect', () => { clearTimeout(t); sock.setNoDelay(true); resolve(new RespConn(sock, host, port)); });
      sock.once('error', (e) => { clearTimeout(t); sock.destroy(); reject(e); });
    });
  }

  constructor(sock, host, port) {
    this.sock = sock;
    this.host = host;
    this.port = port;
    this.buf = '';
    this.waiters = [];
    this.closed = false;
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      this.buf += d;
      while (this.waiters.length > 0) {
        const r = parseReply(this.buf);
        if (!r) break;
        this.buf = this.buf.slice(r.end);
        const w = this.waiters.shift();
        clearTimeout(w.timer);
        w.resolve(r.value);
      }
    });
    const fail = (e) => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) { clearTimeout(w.timer); w.reject(e); }
    };
    sock.on('error', (e) => fail(e));
    sock.on('close', () => fail(new Error('connection closed')));
  }

  /** Sends a command; rejects on connection loss or if no reply within timeoutMs. */
  call(args, timeoutMs = 2000) {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      const w = { resolve, reject, timer: undefined };
      w.timer = setTimeout(() => {
        this.close();
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
      this.sock.write(encodeCommand(args), 'latin1');
    });
  }

  close() {
    this.closed = true;
    this.sock.destroy();
  }
}

/** RAFT.INFO of host:port as a field map, or undefined if it does not answer in time. */
export async function raftInfo(host, port, timeoutMs = 1000) {
  let c;
  try {
    c = await RespConn.connect(host, port, timeoutMs);
    const text = await c.call(['RAFT.INFO'], timeoutMs);
    if (typeof text !== 'string') return undefined;
    const out = {};
    for (const line of text.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  } catch {
    return undefined;
  } finally {
    c?.close();
  }
}

/**
 * Starts an n-node raftis cluster: node i on 127.0.0.i with free client and
 * cluster ports and its own temporary directory, `args` added to every node.
 * Waits until a leader is agreed on. Every process is SIGKILLed when this
 * process exits (normally, on an error, or on SIGINT/SIGTERM).
 */
export async function startRaftisCluster(n = 3, args = [], { logLevel = 'warn', leaderTimeoutMs = 20_000, bin = RAFTIS_BIN } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-bench-cluster-'));
  tempDirs.add(root);
  const nodes = [];
  for (let i = 1; i <= n; i++) {
    const host = `127.0.0.${i}`;
    const [port, clusterPort] = await freePorts(2, host);
    nodes.push({ id: i, host, port, clusterPort, dir: path.join(root, `node${i}`), proc: undefined, log: '' });
  }
  const peers = nodes.map((x) => `${x.id}=${x.host}:${x.port}@${x.clusterPort}`).join(',');
  const node = (id) => {
    const x = nodes.find((y) => y.id === id);
    if (!x) throw new Error(`no node ${id}`);
    return x;
  };
  const isRunning = (id) => {
    const p = node(id).proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  };
  const commandLine = (id) => {
    const x = node(id);
    return ['node', process.env.RAFTIS_BIN || bin !== RAFTIS_BIN ? bin : 'dist/cli/main.js', '--id', String(id), '--bind', x.host, '--port', String(x.port), '--cluster-port', String(x.clusterPort), '--dir', x.dir, '--peers', peers, '--log-level', logLevel, ...args];
  };

  const cluster = {
    nodes,
    peers,
    root,
    node,
    isRunning,
    commandLine,
    /** Starts (or restarts, on the same directory) node id; resolves when it listens. */
    async start(id) {
      if (isRunning(id)) throw new Error(`node ${id} is running`);
      const x = node(id);
      const proc = spawn(process.execPath, [...raftisNodeArgs(), bin, ...commandLine(id).slice(2)], { stdio: ['ignore', 'pipe', 'pipe'] });
      started.add(proc);
      proc.on('exit', () => started.delete(proc));
      const append = (d) => {
        x.log += d.toString();
        if (x.log.length > 100_000) x.log = x.log.slice(-50_000);
      };
      proc.stdout.on('data', append);
      proc.stderr.on('data', append);
      x.proc = proc;
      try {
        await waitPort(x.port, proc, `raftis node ${id}`, x.host);
      } catch (e) {
        throw new Error(`${e.message}\n${x.log.slice(-2000)}`);
      }
    },
    /** kill -9; resolves once the process is gone. Returns the time of the kill (performance.now()). */
    async kill(id) {
      const p = node(id).proc;
      if (!p || !isRunning(id)) return undefined;
      const exited = new Promise((r) => p.once('exit', r));
      const t = performance.now();
      p.kill('SIGKILL');
      await exited;
      return t;
    },
    info(id, timeoutMs = 1000) {
      const x = node(id);
      return raftInfo(x.host, x.port, timeoutMs);
    },
    /** The id of the one leader a majority of the running nodes agree on (excluding `exclude`). */
    async waitForLeader(timeoutMs = leaderTimeoutMs, exclude = []) {
      const deadline = Date.now() + timeoutMs;
      for (let i = 0; ; i++) {
        const infos = await Promise.all(nodes.filter((x) => isRunning(x.id)).map((x) => cluster.info(x.id, 500)));
        const leaders = infos.filter((f) => f?.role === 'leader').map((f) => Number(f.node_id)).filter((l) => !exclude.includes(l));
        if (leaders.length === 1) {
          const agree = infos.filter((f) => f && Number(f.leader) === leaders[0]).length;
          if (agree > n / 2) return leaders[0];
        }
        if (Date.now() > deadline) {
          throw new Error(`no leader after ${timeoutMs} ms: ${JSON.stringify(infos.map((f) => f && { id: f.node_id, role: f.role, term: f.term, leader: f.leader }))}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await Promise.all(nodes.map((x) => cluster.kill(x.id)));
      fs.rmSync(root, { recursive: true, force: true });
      tempDirs.delete(root);
    },
  };
  try {
    await Promise.all(nodes.map((x) => cluster.start(x.id)));
    cluster.leader = await cluster.waitForLeader();
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/** The benchmark targets startTargets knows, by id: what starts each one and its default label. */
const TARGETS = {
  redis: { label: 'redis-server', start: (o) => startRedis(o.redisArgs) },
  raft1: { label: 'raftis 1-node', start: (o) => startRaftis(o.raftisArgs ?? []) },
  raft3: { label: 'raftis 3-node', start: (o) => startRaftisCluster(3, o.clusterArgs ?? []) },
};

/**
 * Starts the servers a side-by-side benchmark compares, one after another,
 * by id: 'redis' (redis-server, every write fsynced unless `redisArgs` says
 * otherwise), 'raft1' (a single raftis node, `raftisArgs`) and 'raft3' (a
 * 3-node raftis cluster, `clusterArgs`, benchmarked through its leader).
 * Returns `servers` ({ id, label, host, port } in the order of `ids`, labels
 * overridable by `labels`), `byId`, the started processes as `redis`,
 * `single` and `cluster`, followLeader() (after a leader change: waits for
 * the new leader and points the 'raft3' entry at it) and stop(). If one fails
 * to start, those already started are stopped before the error is thrown.
 */
export async function startTargets(ids = ['redis', 'raft1', 'raft3'], opts = {}) {
  const up = [];
  const stop = async () => {
    for (const p of up.splice(0).reverse()) await p.stop();
  };
  const procs = {};
  try {
    for (const id of ids) {
      if (!TARGETS[id]) throw new Error(`unknown benchmark target ${id}`);
      procs[id] = await TARGETS[id].start(opts);
      up.push(procs[id]);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const cluster = procs.raft3;
  const servers = ids.map((id) => {
    const at = id === 'raft3' ? cluster.node(cluster.leader) : { host: '127.0.0.1', port: procs[id].port };
    return { id, label: opts.labels?.[id] ?? TARGETS[id].label, host: at.host, port: at.port };
  });
  const byId = Object.fromEntries(servers.map((s) => [s.id, s]));
  return {
    servers,
    byId,
    redis: procs.redis,
    single: procs.raft1,
    cluster,
    /** Waits for the cluster's leader (after a change under a run) and points the 'raft3' server at it; returns its id. */
    async followLeader() {
      cluster.leader = await cluster.waitForLeader();
      const l = cluster.node(cluster.leader);
      byId.raft3.host = l.host;
      byId.raft3.port = l.port;
      return cluster.leader;
    },
    stop,
  };
}

/**
 * Loads the keys redis-benchmark -r `range` uses (key:000000000000 …) with
 * `valueSize`-byte values, pipelined, so GET runs find what they ask for.
 */
export async function loadBenchmarkKeys(port, range = 100_000, valueSize = 16, host = '127.0.0.1') {
  const c = await RespConn.connect(host, port, 5000);
  try {
    const value = 'x'.repeat(valueSize);
    const batch = 1000;
    for (let i = 0; i < range; i += batch) {
      const replies = [];
      for (let j = i; j < Math.min(range, i + batch); j++) replies.push(c.call(['SET', `key:${String(j).padStart(12, '0')}`, value], 30_000));
      for (const r of await Promise.all(replies)) if (r !== 'OK') throw new Error(`load failed: ${JSON.stringify(r)}`);
    }
  } finally {
    c.close();
  }
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One line about the machine: CPU, cores, memory, kernel, node, redis, load, where the data lives. */
export async function machineFacts() {
  const cpus = os.cpus();
  let redisVersion = '?';
  try {
    redisVersion = /v=(\S+)/.exec((await run('redis-server', ['--version'])).stdout)?.[1] ?? '?';
  } catch {
    /* not installed */
  }
  let disk = '?';
  try {
    const df = (await run('df', ['-hT', os.tmpdir()])).stdout.trim().split('\n').pop().split(/\s+/);
    disk = `${os.tmpdir()} on ${df[0]} (${df[1]})`;
  } catch {
    /* no df */
  }
  return [
    `host: ${cpus[0]?.model ?? '?'} × ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}`,
    `node ${process.version}, redis ${redisVersion}, data dirs: ${disk}, load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  ].join('\n');
}

/** Which raftis build runs: the entry point, and this checkout's commit and whether src/ differs from it. */
export async function buildFacts() {
  let head = '?', dirty = '?';
  try {
    head = (await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
    dirty = (await run('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'])).stdout.trim() === '' ? 'no' : 'yes';
  } catch {
    /* not a git checkout */
  }
  if (process.env.RAFTIS_BIN) {
    // A snapshot build may say where it came from in BUILD_COMMIT next to its package.json.
    let from = '';
    try {
      from = `, built from ${fs.readFileSync(path.join(path.dirname(RAFTIS_BIN), '../../BUILD_COMMIT'), 'utf8').trim()}`;
    } catch {
      /* not recorded */
    }
    return `raftis: RAFTIS_BIN=${RAFTIS_BIN}${from} (this checkout is at ${head})`;
  }
  return `raftis: dist/cli/main.js of this checkout at ${head}, uncommitted changes under src/: ${dirty}`;
}

/** Machine-wide CPU ticks from /proc/stat: idle (+iowait), process time (user+nice+system), total (guest excluded, it is in user). */
function cpuTimes() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  return { idle, proc: f[0] + f[1] + f[2], steal: f[7] ?? 0, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** Fraction (0..1) of the machine's CPU time that was busy over the next `ms` milliseconds. */
export async function cpuBusy(ms = 1000) {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

/**
 * Waits (at most maxWaitMs) until the machine is quiet: CPU busy under
 * `threshold` over a 1 s sample. Returns the last sample, so a run can be
 * reported with how busy the machine was just before it.
 */
export async function waitQuiet(threshold = 0.25, maxWaitMs = 30_000) {
  const deadline = Date.now() + maxWaitMs;
  let busy = await cpuBusy(1000);
  while (busy >= threshold && Date.now() < deadline) busy = await cpuBusy(1000);
  return busy;
}

/** CPU ticks (1/CLK_TCK s, 100 Hz on Linux) of a process from /proc/<pid>/stat: self = utime + stime, children = cutime + cstime. */
export function procTicks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
  } catch {
    return { self: 0, children: 0 };
  }
}

/**
 * Read and write system calls a process has made (/proc/<pid>/io syscr, syscw):
 * counts, so unlike CPU time they do not move with other load on the machine
 * (sends, reads and fdatasyncs of sockets and files; fdatasync is neither).
 */
export function procIo(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    return { r: Number(/syscr: (\d+)/.exec(s)[1]), w: Number(/syscw: (\d+)/.exec(s)[1]) };
  } catch {
    return { r: 0, w: 0 };
  }
}

/**
 * Measures how much CPU other work on the machine took while something of
 * ours ran: call the returned function at the end. `pids` are our long-lived
 * children (servers); this process and its reaped children (redis-benchmark)
 * count as ours too. Fractions of the whole machine (all cores), 0..1:
 * busy = all non-idle time; others = process time (user+nice+system) not
 * charged to us, which includes kernel threads (e.g. the ext4 journal doing
 * our fsyncs) but not irq/softirq time (loopback networking); steal = time
 * the hypervisor gave to other VMs.
 */
export function cpuShare(pids) {
  const t0 = cpuTimes();
  const me0 = procTicks(process.pid);
  const p0 = pids.map((p) => procTicks(p).self);
  return () => {
    const t1 = cpuTimes();
    const me1 = procTicks(process.pid);
    const p1 = pids.map((p) => procTicks(p).self);
    const total = t1.total - t0.total;
    if (total <= 0) return { busy: 0, ours: 0, others: 0, steal: 0 };
    const busy = total - (t1.idle - t0.idle);
    let ours = me1.self - me0.self + (me1.children - me0.children);
    for (let i = 0; i < pids.length; i++) ours += Math.max(0, p1[i] - p0[i]);
    const others = Math.max(0, t1.proc - t0.proc - ours);
    return { busy: busy / total, ours: ours / total, others: others / total, steal: (t1.steal - t0.steal) / total };
  };
}

/**
 * Sends `batches` pipelined batches of `depth` copies of `args` on one
 * connection, one batch at a time, and returns the median time from sending
 * a batch to its first reply and to its last reply (ms). redis-benchmark -P
 * reports only the first (its latency clock stops at the first byte read).
 */
export async function pipelineSpread(host, port, args, depth = 16, batches = 200) {
  const c = await RespConn.connect(host, port, 2000);
  try {
    const first = [], last = [];
    for (let i = 0; i < batches; i++) {
      const t0 = performance.now();
      const ts = [];
      await Promise.all(Array.from({ length: depth }, () => c.call(args, 10_000).then(() => ts.push(performance.now() - t0))));
      first.push(ts[0]);
      last.push(ts[ts.length - 1]);
    }
    return { first: median(first), last: median(last) };
  } finally {
    c.close();
  }
}

/**
 * redis-benchmark SET (or `test`, the name redis-benchmark reports for the
 * `-t` in `base`) at -P 1 and -P 16 against every server ({ id, label,
 * host, port, cluster? }), `rounds` times, the servers in an order that
 * rotates between rounds. A cluster's run is repeated (at most 3 tries) if
 * its leader changed meanwhile. Returns the rps of every run, keyed
 * `${id} ${P}`.
 */
export async function runSetRounds(servers, { rounds, requests, base, log, test = 'SET' }) {
  async function runOne(s, P) {
    const args = [...base, '-n', String(requests[P]), '-P', String(P)];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const before = s.cluster && (await s.cluster.info(s.cluster.leader, 2000));
      const out = (await redisBenchmark(s.port, args, s.host))[test];
      if (!out) throw new Error(`no ${test} result from redis-benchmark against ${s.label}`);
      if (!s.cluster) return out;
      const after = await s.cluster.info(s.cluster.leader, 2000);
      if (before?.role === 'leader' && after?.role === 'leader' && before.term === after.term) return out;
      log(`${s.label}: the leader changed during the run; repeating`);
      s.cluster.leader = await s.cluster.waitForLeader();
      s.host = s.cluster.node(s.cluster.leader).host;
      s.port = s.cluster.node(s.cluster.leader).port;
    }
    throw new Error(`${s.label}: no run without a leader change in 3 tries`);
  }
  const results = {};
  for (let round = 0; round < rounds; round++) {
    const order = servers.map((_, i) => servers[(i + round) % servers.length]);
    for (const P of [1, 16]) {
      for (const s of order) {
        const r = await runOne(s, P);
        (results[`${s.id} ${P}`] ??= []).push(r.rps);
        log(`round ${round + 1} ${test} P${P} ${s.label.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} rps`);
      }
    }
  }
  return results;
}

/** The markdown table of runSetRounds' results: medians (every round's figure in brackets) and their ratio to server `ref`'s. */
export function setRatioTable(servers, results, ref = 'redis', test = 'SET') {
  const med = (id, P) => median(results[`${id} ${P}`]);
  const all = (id, P) => results[`${id} ${P}`].map((x) => x.toFixed(0)).join(', ');
  const lines = [`| server | ${test} -P 1 rps | / redis | ${test} -P 16 rps | / redis |`, '|---|---|---|---|---|'];
  for (const s of servers) {
    const cell = (P) => `${med(s.id, P).toFixed(0)} (${all(s.id, P)}) | ${(med(s.id, P) / med(ref, P)).toFixed(2)}×`;
    lines.push(`| ${s.label} | ${cell(1)} | ${cell(16)} |`);
  }
  return lines;
}

/** A bench's output: `say` prints a report line and keeps it for the results file (`lines`); `log` is progress on stderr. */
export function benchOutput(name) {
  const lines = [];
  return {
    lines,
    say: (s = '') => {
      console.log(s);
      lines.push(s);
    },
    log: (s) => console.error(`[${name} ${new Date().toISOString().slice(11, 19)}] ${s}`),
  };
}

/**
 * The servers a SET comparison runs against. add(id, label, started) records
 * a started server (a cluster from startRaftisCluster is addressed at its
 * leader) for runSetRounds and for stop(); keep(...) holds processes that
 * are not benchmarked themselves (a ceiling leader's followers).
 */
export function benchServers() {
  const procs = [];
  const servers = [];
  return {
    servers,
    add(id, label, p) {
      procs.push(p);
      if (typeof p.node === 'function') {
        const leader = p.node(p.leader);
        servers.push({ id, label, host: leader.host, port: leader.port, cluster: p });
      } else {
        servers.push({ id, label, host: '127.0.0.1', port: p.port });
      }
    },
    keep(...ps) {
      procs.push(...ps);
    },
    async stop() {
      for (const p of procs) await p.stop();
    },
  };
}

/**
 * The outer side of bench/leader-path.mjs and bench/follower-path.mjs: runs
 * `self --run DIST ROUNDS ENTRIES` under callgrind for two round counts per
 * build (--a DIST, --b DIST defaulting to this checkout's dist) and prints
 * the instructions per entry between them (start-up and one-off compiler
 * work cancel out), and B / A.
 */
export function perEntryAB(self, argv, defaultRounds, unit) {
  const opt = optionReader(argv);
  const builds = [
    ['A', opt('--a', undefined)],
    ['B', opt('--b', path.join(ROOT, 'dist'))],
  ].filter(([, d]) => d !== undefined);
  const E = Number(opt('--entries', 50));
  const [r1, r2] = opt('--rounds', defaultRounds).split(',').map(Number);
  const instructions = (dist, rounds) => {
    const r = execFileSync('sh', ['-c', `valgrind --tool=callgrind --callgrind-out-file=/dev/null "${process.execPath}" "${self}" --run "${dist}" ${rounds} ${E} 2>&1 >/dev/null`], { encoding: 'utf8' });
    const m = /Collected : (\d+)/.exec(r);
    if (!m) throw new Error(`no count from valgrind:\n${r}`);
    return Number(m[1]);
  };
  const results = [];
  for (const [name, dist] of builds) {
    const a = instructions(path.resolve(dist), r1);
    const b = instructions(path.resolve(dist), r2);
    const per = (b - a) / ((r2 - r1) * E);
    results.push(per);
    console.log(`${name} ${dist}: ${per.toFixed(0)} instructions per entry (${E} entries per ${unit}, rounds ${r1} and ${r2})`);
  }
  if (results.length === 2) console.log(`B / A: ${(results[1] / results[0]).toFixed(3)}`);
}
