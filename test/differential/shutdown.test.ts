/**
 * SHUTDOWN: its refusals byte for byte against redis-server (syntax, ABORT,
 * inside MULTI, as SAVE is refused there too), and what it does to a raftis
 * process: redis-cli's `shutdown` stops it with exit code 0 and no reply,
 * every acknowledged write is there after a restart, and SAVE takes a
 * snapshot first. In a cluster only the node that gets it stops.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { TestCluster } from '../helpers/cluster.js';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

const run = promisify(execFile);
const env = useProcessDifferential();
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const f of cleanup) await f();
});

async function exitCode(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

describe('SHUTDOWN', () => {
  it('refuses bad flags, ABORT and MULTI as redis-server does (and the server keeps running)', async () => {
    const [a, b] = await env.pair();
    for (const cmd of [
      ['SHUTDOWN', 'ABORT'],
      ['shutdown', 'abort'],
      ['SHUTDOWN', 'FOO'],
      ['SHUTDOWN', 'NOSAVE', 'SAVE'],
      ['SHUTDOWN', 'SAVE', 'NOW', 'NOSAVE'],
      ['SHUTDOWN', 'ABORT', 'NOW'],
      ['SHUTDOWN', 'NOW', 'ABORT'],
      ['SHUTDOWN', 'ABORT', 'ABORT'],
      ['SHUTDOWN', 'FORCE', 'ABORT'],
      ['SHUTDOWN', 'ABORT', 'NOSAVE'],
      ['SHUTDOWN', 'SAVE', 'ABORT'],
      ['SHUTDOWN', 'NOW', 'FORCE', 'BOGUS'],
    ]) {
      await same(a, b, ...cmd);
    }
    // SHUTDOWN and SAVE carry the no_multi flag: refused while queuing, and EXEC aborts.
    await same(a, b, 'MULTI');
    await same(a, b, 'SET', 'x', '1');
    await same(a, b, 'SHUTDOWN');
    await same(a, b, 'SAVE');
    await same(a, b, 'EXEC');
    await same(a, b, 'GET', 'x');
    await same(a, b, 'PING');
  });

  it('redis-cli shutdown stops the node with exit code 0; acknowledged writes survive the restart', async () => {
    const p = await startRaftis();
    cleanup.push(() => p.destroy());
    const c = await RawClient.connect(p.port);
    for (let i = 0; i < 50; i++) expect(await c.call('SET', `k${i}`, `v${i}`)).toBe('+OK\r\n');
    c.close();
    const cli = await run('redis-cli', ['-p', String(p.port), 'shutdown']);
    // As against redis-server: nothing printed, success.
    expect(cli.stdout).toBe('');
    expect(await exitCode(p.proc), p.logs()).toBe(0);
    expect(p.logs()).toMatch(/raftis: SHUTDOWN from client id=\d+ addr=127\.0\.0\.1:\d+, shutting down/);
    await p.restart();
    const c2 = await RawClient.connect(p.port);
    for (let i = 0; i < 50; i++) expect(await c2.call('GET', `k${i}`)).toBe(`$${`v${i}`.length}\r\nv${i}\r\n`);
    c2.close();
  });

  it('SHUTDOWN SAVE takes a snapshot first; the restart loads it', async () => {
    const p = await startRaftis();
    cleanup.push(() => p.destroy());
    const c = await RawClient.connect(p.port);
    expect(await c.call('SET', 'saved', 'yes')).toBe('+OK\r\n');
    const snapDir = path.join(p.dir, 'snapshots');
    const before = fs.existsSync(snapDir) ? fs.readdirSync(snapDir).length : 0;
    // The connection closes without a reply.
    await expect(c.call('SHUTDOWN', 'SAVE')).rejects.toThrow();
    expect(await exitCode(p.proc), p.logs()).toBe(0);
    expect(p.logs()).toMatch(/snapshot at index \d+ written: 1 keys/);
    expect(fs.readdirSync(snapDir).length).toBeGreaterThan(before);
    await p.restart();
    const c2 = await RawClient.connect(p.port);
    expect(await c2.call('GET', 'saved')).toBe('$3\r\nyes\r\n');
    c2.close();
  });

  it('in a cluster, only the node that gets it stops; the others elect a leader and keep every write', async () => {
    const cl = await TestCluster.start();
    cleanup.push(() => cl.destroy());
    const leader = await cl.waitForLeader();
    const c = await cl.client(leader);
    expect(await c.call('SET', 'before', '1')).toBe('+OK\r\n');
    await expect(c.call('SHUTDOWN')).rejects.toThrow();
    expect(await exitCode(cl.node(leader).proc!), cl.logs(leader)).toBe(0);
    const next = await cl.waitForLeader(15_000, [leader]);
    expect(next).not.toBe(leader);
    const c2 = await cl.client(next);
    expect(await c2.call('GET', 'before')).toBe('$1\r\n1\r\n');
    expect(await c2.call('SET', 'after', '2')).toBe('+OK\r\n');
    c2.close();
  });
});
