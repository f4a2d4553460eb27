/**
 * ./cluster.sh with --shards, as a user drives it: start two groups of one
 * node in a temporary directory on free ports, status (groups, leaders,
 * slot ranges), a write through redis-cli -c landing on the group that owns
 * its slot, add-shard and an ASSIGN of empty slots to the new group, clean.
 * Every node it started is killed after the test, whatever happened.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = path.resolve('cluster.sh');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-cluster-sh-shards-'));

afterAll(() => {
  const entries = fs.existsSync(dir) ? fs.readdirSync(dir).map((e) => path.join(dir, e)) : [];
  for (const entry of entries) {
    const pidFile = path.join(entry, 'pid');
    if (!fs.existsSync(pidFile)) continue;
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

async function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port B with B+1..B+3, their HTTP ports (+1000) and cluster ports (+10000) free. */
async function freeBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    let ok = true;
    for (let i = 1; i <= 3 && ok; i++) ok = (await free(base + i)) && (await free(base + i + 1000)) && (await free(base + i + 10_000));
    if (ok) return base;
  }
  throw new Error('no free port range for cluster.sh');
}

let env: NodeJS.ProcessEnv;

async function sh(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('bash', [SCRIPT, ...args], { env, timeout: 90_000 });
  return stdout + stderr;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { timeout: 10_000 });
  return stdout.trim();
}

describe('./cluster.sh start --shards', () => {
  it('starts groups with the slots split, shows them in status, adds a shard that takes empty slots', async () => {
    const base = await freeBase();
    env = { ...process.env, RAFTIS_CLUSTER_DIR: dir, RAFTIS_BASE_PORT: String(base) };
    const started = await sh('start', '--shards', '2', '1');
    expect(started).toContain('group 0: slots 0-8191');
    expect(started).toContain('group 1: slots 8192-16383');
    expect(started).toContain('sharded cluster: 2 groups of 1 nodes');

    // Node 1 learns the other group's leader by polling it (once a second): wait for it, bounded.
    let status = await sh('status');
    for (let i = 0; i < 20 && !status.includes(`group 1  leader 2@`); i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = await sh('status');
    }
    expect(status).toMatch(/group 0:\n1 +127\.0\.0\.1:\d+ +\d+ +leader/);
    expect(status).toMatch(/group 1:\n2 +127\.0\.0\.1:\d+ +\d+ +leader/);
    expect(status).toContain(`group 0  leader 1@127.0.0.1:${base + 1}  slots 0-8191`);
    expect(status).toContain(`group 1  leader 2@127.0.0.1:${base + 2}  slots 8192-16383`);

    // foo is in slot 12182: group 1's.
    expect(await cli(base + 1, '-c', 'SET', 'foo', 'bar')).toBe('OK');
    expect(await cli(base + 2, 'GET', 'foo')).toBe('bar');
    expect(await cli(base + 1, 'GET', 'foo')).toBe(`MOVED 12182 127.0.0.1:${base + 2}`);

    expect(await sh('add-shard')).toContain('group 2 added with no slots');
    expect(await cli(base + 1, '-c', 'RAFT.SHARDS', 'ASSIGN', '2', '0-99')).toBe('OK');
    const deadline = Date.now() + 30_000;
    let after = '';
    while (!after.includes(`group 2  leader 3@127.0.0.1:${base + 3}  slots 0-99`)) {
      if (Date.now() > deadline) throw new Error(`status never showed group 2's slots:\n${after}`);
      await new Promise((r) => setTimeout(r, 200));
      after = await sh('status');
    }
    expect(after).toContain('slots 100-8191');
    // Slot 0's key goes to the new group (redis-cli -c from group 1).
    expect(await cli(base + 3, 'CLUSTER', 'KEYSLOT', '{06S}')).toBe('0');
    let got = '';
    for (let attempt = 0; attempt < 50 && got !== 'OK'; attempt++) {
      got = await cli(base + 2, '-c', 'SET', '{06S}x', 'new');
      if (got !== 'OK') await new Promise((r) => setTimeout(r, 200));
    }
    expect(got).toBe('OK');
    expect(await cli(base + 3, 'GET', '{06S}x')).toBe('new');

    // One line spreads the slots evenly over the three groups, keys with them (issue 21, phase 2).
    expect(await sh('rebalance')).toContain('group 2  leader 3@');
    const map = JSON.parse(await cli(base + 1, '-c', 'RAFT.SHARDS', 'MAP')) as { slots: [number, number, number][] };
    const counts = [0, 0, 0];
    for (const [from, to, g] of map.slots) counts[g]! += to - from + 1;
    expect(counts).toEqual([5462, 5461, 5461]);
    expect(await cli(base + 1, '-c', 'GET', 'foo')).toBe('bar');
    expect(await cli(base + 1, '-c', 'GET', '{06S}x')).toBe('new');

    expect(await sh('clean')).toContain('stopped 3 node(s)');
  }, 180_000);
});
