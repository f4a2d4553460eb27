/**
 * ./cluster.sh, as a user drives it: start a 3-node cluster in a temporary
 * directory on free ports, status (one leader, two followers), a write
 * through redis-cli -c, kill -9 of the leader (status shows it down and
 * another leader), restart, pause / resume, stop (and a second stop that
 * says nothing was running), clean. Every node it started is killed after
 * the test, whatever happened.
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
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-cluster-sh-'));
const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-cluster-sh-tls-'));

afterAll(() => {
  const entries = [dir, tlsDir].flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).map((e) => path.join(d, e)) : []));
  for (const entry of entries) {
    const pidFile = path.join(entry, 'pid');
    if (!fs.existsSync(pidFile)) continue;
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(tlsDir, { recursive: true, force: true });
});

async function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port B with B+1..B+3, their HTTP ports (+1000) and cluster ports (+10000) free (and their TLS ports, +20000, if asked). */
async function freeBase(tls = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    let ok = true;
    for (let i = 1; i <= 3 && ok; i++) ok = (await free(base + i)) && (await free(base + i + 1000)) && (await free(base + i + 10_000)) && (!tls || (await free(base + i + 20_000)));
    if (ok) return base;
  }
  throw new Error('no free port range for cluster.sh');
}

let env: NodeJS.ProcessEnv;

async function sh(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('bash', [SCRIPT, ...args], { env, timeout: 60_000 });
  return stdout + stderr;
}

/** cluster.sh status as { id: role }. */
async function roles(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await sh('status')).split('\n').slice(1)) {
    const cells = line.trim().split(/\s+/);
    if (cells.length >= 4) out[cells[0]!] = cells[3]!;
  }
  return out;
}

async function waitFor(what: string, ok: (r: Record<string, string>) => boolean, ms = 20_000): Promise<Record<string, string>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await roles();
    if (ok(r)) return r;
    if (Date.now() > deadline) throw new Error(`cluster.sh status never showed ${what}: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

const leaderOf = (r: Record<string, string>): string | undefined => Object.keys(r).find((id) => r[id] === 'leader');

describe('cluster.sh', () => {
  it('starts, reports, survives a leader kill, restarts, pauses, stops and cleans a 3-node cluster', async () => {
    const base = await freeBase();
    env = { ...process.env, RAFTIS_CLUSTER_DIR: dir, RAFTIS_BASE_PORT: String(base) };
    expect(await sh('start', '3')).toContain('cluster of 3 up');
    // Every node serves the operator HTTP port (client port + 1000).
    for (let i = 1; i <= 3; i++) expect((await fetch(`http://127.0.0.1:${base + i + 1000}/healthz`)).status).toBe(200);
    const first = await waitFor('a leader and two followers', (r) => Object.values(r).filter((x) => x === 'leader').length === 1 && Object.values(r).filter((x) => x === 'follower').length === 2);
    const leader = leaderOf(first)!;
    const follower = Object.keys(first).find((id) => id !== leader)!;

    // redis-cli -c against a follower follows the MOVED to the leader.
    const set = await run('redis-cli', ['-c', '-p', String(base + Number(follower)), 'SET', 'sh:k', 'v']);
    expect(set.stdout.trim()).toBe('OK');

    expect(await sh('kill', leader)).toContain(`node ${leader} killed`);
    const after = await waitFor('the old leader down and a new one', (r) => r[leader] === 'down' && leaderOf(r) !== undefined);
    const next = leaderOf(after)!;
    const got = await run('redis-cli', ['-c', '-p', String(base + Number(next)), 'GET', 'sh:k']);
    expect(got.stdout.trim()).toBe('v');

    await sh('restart', leader);
    await waitFor('every node up', (r) => Object.values(r).every((x) => x === 'leader' || x === 'follower'));

    const paused = Object.keys(after).find((id) => id !== next)!;
    expect(await sh('pause', paused)).toContain(`node ${paused} paused`);
    await waitFor(`node ${paused} paused`, (r) => r[paused] === 'paused');
    expect(await sh('resume', paused)).toContain(`node ${paused} resumed`);

    expect(await sh('stop')).toContain('stopped 3 node(s)');
    expect(await sh('stop')).toContain('was running');
    expect(await sh('clean')).toContain('removed');
    expect(fs.existsSync(dir)).toBe(false);
  }, 120_000);

  it('starts a cluster with --tls --secret: peers prove the secret over mutual TLS, clients can use TLS', async () => {
    const base = await freeBase(true);
    env = { ...process.env, RAFTIS_CLUSTER_DIR: tlsDir, RAFTIS_BASE_PORT: String(base) };
    const out = await sh('start', '3', '--tls', '--secret');
    expect(out).toContain('cluster of 3 up');
    expect(out).toContain(`redis-cli --tls --cacert ${tlsDir}/tls/ca.crt`);
    expect(fs.statSync(path.join(tlsDir, 'secret')).mode & 0o077).toBe(0);
    expect(fs.readFileSync(path.join(tlsDir, 'secret'), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    const r = await waitFor('a leader and two followers', (x) => Object.values(x).filter((v) => v === 'leader').length === 1 && Object.values(x).filter((v) => v === 'follower').length === 2);
    const leader = Number(leaderOf(r));
    const tls = ['--tls', '--cacert', path.join(tlsDir, 'tls', 'ca.crt'), '-p', String(base + leader + 20_000)];
    expect((await run('redis-cli', [...tls, 'SET', 'sh:tls', 'yes'])).stdout.trim()).toBe('OK');
    expect((await run('redis-cli', [...tls, 'GET', 'sh:tls'])).stdout.trim()).toBe('yes');
    for (let i = 1; i <= 3; i++) expect(fs.readFileSync(path.join(tlsDir, `node${i}`, 'log'), 'utf8')).toMatch(/listening for peers on .* \(mutual TLS, cluster secret\)/);
    // A restart keeps the settings (they live in the cluster directory).
    await sh('restart', String(leader));
    await waitFor('every node up again', (x) => Object.values(x).filter((v) => v === 'leader' || v === 'follower').length === 3);
    expect(await sh('clean')).toContain('removed');
    expect(fs.existsSync(tlsDir)).toBe(false);
  }, 120_000);
});
