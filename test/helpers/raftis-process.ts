import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The server under test; RAFTIS_BIN runs the tests against another build (e.g. to show a test fails there). */
export const RAFTIS_BIN = process.env.RAFTIS_BIN ?? path.join(ROOT, 'dist/cli/main.js');

/** Every raftis process a test started, so none outlives the test run. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface RaftisProcess {
  port: number;
  dir: string;
  proc: ChildProcess;
  /** stderr so far (logs), for failure messages. */
  logs(): string;
  /** kill -9, keep the data directory. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for a clean exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** Starts again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops (kill -9 if needed) and removes the data directory. */
  destroy(): Promise<void>;
}

export interface StartOptions {
  port?: number;
  dir?: string;
  args?: string[];
}

function launch(port: number, dir: string, args: string[]): { proc: ChildProcess; out: { s: string } } {
  const out = { s: '' };
  const proc = spawn(process.execPath, [RAFTIS_BIN, '--port', String(port), '--dir', dir, '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  proc.stdout!.on('data', (d: Buffer) => (out.s += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out.s += d.toString()));
  return { proc, out };
}

async function waitExit(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

export async function startRaftis(opts: StartOptions = {}): Promise<RaftisProcess> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-test-'));
  const args = opts.args ?? [];
  let cur = launch(port, dir, args);
  const ready = async (): Promise<void> => {
    const exited = waitExit(cur.proc).then((code) => {
      throw new Error(`raftis exited with ${code} before listening:\n${cur.out.s}`);
    });
    await Promise.race([waitForPort(port, '127.0.0.1', 30_000), exited]);
  };
  const handle: RaftisProcess = {
    port,
    dir,
    get proc() {
      return cur.proc;
    },
    logs: () => cur.out.s,
    async kill9() {
      cur.proc.kill('SIGKILL');
      await waitExit(cur.proc);
    },
    async stop() {
      cur.proc.kill('SIGTERM');
      const t = setTimeout(() => cur.proc.kill('SIGKILL'), 10_000);
      const code = await waitExit(cur.proc);
      clearTimeout(t);
      return code;
    },
    async restart() {
      cur = launch(port, dir, args);
      await ready();
    },
    async destroy() {
      cur.proc.kill('SIGKILL');
      await waitExit(cur.proc);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await ready();
  } catch (e) {
    await handle.destroy();
    throw e;
  }
  return handle;
}

/** Runs the CLI to completion (for --help, bad flags…) and returns its output. */
export async function runRaftisCli(args: string[], timeoutMs = 15_000): Promise<{ code: number | null; out: string }> {
  const p = spawn(process.execPath, [RAFTIS_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(p);
  let s = '';
  p.stdout!.on('data', (d: Buffer) => (s += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (s += d.toString()));
  const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const code = await waitExit(p);
  clearTimeout(t);
  live.delete(p);
  return { code, out: s };
}
