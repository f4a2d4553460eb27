// Shared pieces of the side-by-side benchmarks: start raftis and
// redis-server on free loopback ports, run redis-benchmark, read RSS.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const started = new Set();
for (const sig of ['exit', 'SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const p of started) p.kill('SIGKILL');
    if (sig !== 'exit') process.exit(1);
  });
}

export async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port, proc, what) {
  for (let i = 0; i < 400; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited early`);
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on ${port}`);
}

function track(proc, dir) {
  started.add(proc);
  return {
    proc,
    pid: proc.pid,
    async stop() {
      proc.kill('SIGKILL');
      if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
      started.delete(proc);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startRaftis(args = []) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-bench-'));
  const proc = spawn(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), '--port', String(port), '--dir', dir, '--log-level', 'warn', ...args], { stdio: 'inherit' });
  await waitPort(port, proc, 'raftis');
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
export async function redisBenchmark(port, args) {
  const { stdout, stderr } = await run('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '--csv', ...args], { maxBuffer: 64 << 20, timeout: 600_000 });
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
export async function loadKeys(port, n, valueSize = 16, batch = 1000) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
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

export function writeResult(name, text) {
  const file = path.join(ROOT, 'bench/results', name);
  fs.writeFileSync(file, text);
  return file;
}
