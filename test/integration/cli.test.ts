/**
 * The command line: --help/--version, and one-line errors with exit code 1
 * for a port in use, a data directory held by another node, corrupt data,
 * bad flags. SIGTERM shuts down cleanly.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { runRaftisCli, startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of cleanup) await f();
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-cli-'));
  cleanup.push(async () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('raftis CLI', () => {
  it('prints help and version', async () => {
    const help = await runRaftisCli(['--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--id', '--bind', '--port', '--cluster-port', '--dir', '--peers', '--log-level']) expect(help.out).toContain(flag);
    const ver = await runRaftisCli(['--version']);
    expect(ver.code).toBe(0);
    expect(ver.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('rejects bad flags with one line and exit code 1', async () => {
    for (const args of [['--port', '70000'], ['--port', 'abc'], ['--nonsense'], ['--peers', 'garbage'], ['--id', '0'], ['--peers', '2=127.0.0.1:7002']]) {
      const r = await runRaftisCli([...args, '--dir', tmpDir()]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.out.trim().split('\n').filter((l) => l.startsWith('raftis:')).length, r.out).toBe(1);
    }
  });

  it('exits 1 with a clear message when the port is in use', async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const r = await runRaftisCli(['--port', String(port), '--dir', tmpDir()]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/raftis: port 127\.0\.0\.1:\d+ is already in use/);
    } finally {
      blocker.close();
    }
  });

  it('exits 1 when another node holds the data directory', async () => {
    const dir = tmpDir();
    const a: RaftisProcess = await startRaftis({ dir });
    cleanup.push(() => a.destroy());
    const r = await runRaftisCli(['--port', String(await freePort()), '--dir', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/already in use by another raftis process/);
  });

  it('exits 1 on unreadable or corrupt data', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'raft-log'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'raft-log', 'CURRENT'), 'MANIFEST-999999\n');
    const r = await runRaftisCli(['--port', String(await freePort()), '--dir', dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/raftis: cannot open the raft log .* unreadable or corrupt/);
  });

  it('shuts down cleanly on SIGTERM and keeps its data', async () => {
    const a = await startRaftis();
    cleanup.push(() => a.destroy());
    const sock = net.connect(a.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n');
    await new Promise((r) => sock.once('data', r));
    sock.destroy();
    const code = await a.stop();
    // A CI run once saw null here (the process ended by a signal); say which, with its logs.
    expect(code, `exit signal ${a.proc.signalCode}; logs:\n${a.logs()}`).toBe(0);
    await a.restart();
    const s2 = net.connect(a.port, '127.0.0.1');
    await new Promise((r) => s2.once('connect', r));
    s2.write('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
    const reply = await new Promise<string>((r) => s2.once('data', (d: Buffer) => r(d.toString())));
    s2.destroy();
    expect(reply).toBe('$1\r\nv\r\n');
  });
});
