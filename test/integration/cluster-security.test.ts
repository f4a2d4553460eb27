/**
 * Peer authentication and TLS with real processes: a 3-node cluster with a
 * cluster secret and mutual TLS on the peer port elects a leader and
 * replicates; a node that claims a member's id with another secret, or with
 * a certificate of another CA, is refused and changes nothing; --join works
 * with the secret; redis-cli --tls and ioredis `tls` talk to the TLS client
 * port (Redis's tls-port) with and without client certificates.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { untilApplied } from '../helpers/cluster-ops.js';
import { until } from '../helpers/poll.js';
import { makeCerts, type CertFiles } from '../helpers/certs.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { RAFTIS_BIN, startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

const run = promisify(execFile);

let certs: CertFiles;
let tmp: string;
let secretFile: string;

beforeAll(() => {
  certs = makeCerts();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-security-'));
  secretFile = path.join(tmp, 'secret');
  fs.writeFileSync(secretFile, 'a cluster secret of enough bytes\n', { mode: 0o600 });
});
afterAll(() => {
  certs?.remove();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function peerTlsArgs(cert = certs.cert, key = certs.key): string[] {
  return ['--peer-tls-cert-file', cert, '--peer-tls-key-file', key, '--peer-tls-ca-file', certs.caCert];
}

describe('a cluster with a secret and peer mutual TLS', () => {
  let cluster: TestCluster;
  const intruders: ChildProcess[] = [];
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, args: ['--cluster-secret-file', secretFile, ...peerTlsArgs()] });
  }, 60_000);
  afterAll(async () => {
    for (const p of intruders) p.kill('SIGKILL');
    await cluster?.destroy();
  });

  it('elects a leader and replicates to every node', async () => {
    const leader = await cluster.waitForSettledLeader();
    const c = await cluster.client(leader);
    for (let i = 0; i < 20; i++) expect(await c.call('SET', `k${i}`, `v${i}`)).toBe('+OK\r\n');
    await untilApplied(cluster);
    const f = await cluster.client(cluster.nodes.find((n) => n.id !== leader)!.id);
    expect(await f.call('READONLY')).toBe('+OK\r\n');
    expect(await f.call('GET', 'k19')).toBe('$3\r\nv19\r\n');
    c.close();
    f.close();
    for (const n of cluster.nodes) expect(cluster.logs(n.id)).toMatch(/listening for peers on .* \(mutual TLS, cluster secret\)/);
  });

  it('refuses a node claiming a member id with another secret or a certificate of another CA, and changes nothing', async () => {
    const leader = await cluster.waitForSettledLeader();
    const before = await Promise.all(cluster.nodes.map((n) => cluster.raftInfo(n.id)));
    const wrongSecret = path.join(tmp, 'wrong-secret');
    fs.writeFileSync(wrongSecret, 'another secret, also long enough', { mode: 0o600 });
    // Impostors of a follower's id, on their own addresses (127.0.0.8/9), knowing every real member's address.
    const victim = cluster.nodes.find((n) => n.id !== leader)!;
    const logs: string[] = ['', ''];
    const variants = [
      { host: '127.0.0.8', args: ['--cluster-secret-file', wrongSecret, ...peerTlsArgs()] },
      { host: '127.0.0.9', args: ['--cluster-secret-file', secretFile, ...peerTlsArgs(certs.otherCert, certs.otherKey)] },
    ];
    for (const [i, v] of variants.entries()) {
      const port = await freePort(v.host);
      const cport = await freePort(v.host);
      const peers = cluster.nodes.map((n) => (n.id === victim.id ? `${n.id}=${v.host}:${port}@${cport}` : `${n.id}=${n.host}:${n.port}@${n.clusterPort}`)).join(',');
      const dir = path.join(tmp, `intruder${i}`);
      const p = spawn(process.execPath, [RAFTIS_BIN, '--id', String(victim.id), '--bind', v.host, '--port', String(port), '--cluster-port', String(cport), '--dir', dir, '--peers', peers, ...v.args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      intruders.push(p);
      p.stdout!.on('data', (d: Buffer) => (logs[i] += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (logs[i] += d.toString()));
      await waitForPort(port, v.host, 20_000);
    }
    const others = cluster.nodes.filter((n) => n.id !== victim.id);
    await until('the wrong-secret impostor is refused by every other member', () =>
      others.every((n) => new RegExp(`rejected connection from 127\\.0\\.0\\.8:\\d+ \\(Auth\\)`).test(cluster.logs(n.id))), 20_000, 100,
    );
    await until('the wrong-CA impostor is refused by every other member', () =>
      others.every((n) => /refused peer TLS connection from 127\.0\.0\.9:\d+/.test(cluster.logs(n.id))), 20_000, 100,
    );
    // Long enough for the impostors to time out their elections several times over.
    await new Promise((r) => setTimeout(r, 3000));
    expect(logs[0]).toMatch(/different --cluster-secret-file|rejected by peer \(Auth\)/);
    expect(logs[0]).not.toMatch(/connected to peer/);
    expect(logs[1]).not.toMatch(/connected to peer/);
    const after = await Promise.all(cluster.nodes.map((n) => cluster.raftInfo(n.id)));
    for (const [i, n] of cluster.nodes.entries()) {
      expect(after[i]?.term, `node ${n.id} term`).toBe(before[i]?.term);
      expect(after[i]?.leader, `node ${n.id} leader`).toBe(String(leader));
    }
    // The real cluster still serves writes.
    const c = await cluster.client(leader);
    expect(await c.call('SET', 'after-intruders', '1')).toBe('+OK\r\n');
    c.close();
  });

  it('adds a node with --join that holds the secret and a certificate of the CA', async () => {
    const leader = await cluster.waitForSettledLeader();
    const n = await cluster.addNode();
    await until(`node ${n.id} to become a voter`, async () => (await cluster.raftInfo(leader))?.voters?.split(',').includes(String(n.id)) === true, 30_000, 100);
    await untilApplied(cluster, { ids: [n.id] });
  }, 60_000);
});

describe('the TLS client port', () => {
  let strict: RaftisProcess;
  let open: RaftisProcess;
  let strictTls: number;
  let openTls: number;
  beforeAll(async () => {
    strictTls = await freePort();
    openTls = await freePort();
    const common = ['--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.caCert];
    strict = await startRaftis({ args: ['--tls-port', String(strictTls), ...common] });
    open = await startRaftis({ args: ['--tls-port', String(openTls), ...common, '--tls-auth-clients', 'no'] });
    await waitForPort(strictTls);
    await waitForPort(openTls);
  }, 60_000);
  afterAll(async () => {
    await strict?.destroy();
    await open?.destroy();
  });

  const cli = async (port: number, ...args: string[]): Promise<string> => {
    try {
      const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 20_000 });
      return stdout.trim();
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      return `failed: ${(err.stdout ?? '') + (err.stderr ?? '')}`.trim();
    }
  };

  it('serves redis-cli --tls --cacert, and the plain port next to it', async () => {
    expect(await cli(openTls, '--tls', '--cacert', certs.caCert, 'SET', 'tls-key', 'over-tls')).toBe('OK');
    expect(await cli(openTls, '--tls', '--cacert', certs.caCert, 'GET', 'tls-key')).toBe('over-tls');
    expect(await cli(open.port, 'GET', 'tls-key')).toBe('over-tls');
    // A client that does not trust the server's CA refuses it.
    expect(await cli(openTls, '--tls', '--cacert', certs.otherCaCert, 'PING')).toMatch(/failed|Could not connect|SSL/i);
  });

  it('serves ioredis with tls: { ca }', async () => {
    const r = new Redis({ host: '127.0.0.1', port: openTls, tls: { ca: certs.read(certs.caCert) }, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await r.connect();
      expect(await r.set('io', 'redis')).toBe('OK');
      expect(await r.get('io')).toBe('redis');
      expect(await r.incr('n')).toBe(1);
    } finally {
      r.disconnect();
    }
  });

  it('requires a client certificate from the CA with --tls-auth-clients yes (the default)', async () => {
    expect(await cli(strictTls, '--tls', '--cacert', certs.caCert, 'PING')).not.toBe('PONG');
    expect(await cli(strictTls, '--tls', '--cacert', certs.caCert, '--cert', certs.otherCert, '--key', certs.otherKey, 'PING')).not.toBe('PONG');
    expect(await cli(strictTls, '--tls', '--cacert', certs.caCert, '--cert', certs.clientCert, '--key', certs.clientKey, 'PING')).toBe('PONG');
    const r = new Redis({
      host: '127.0.0.1',
      port: strictTls,
      tls: { ca: certs.read(certs.caCert), cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) },
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    try {
      await r.connect();
      expect(await r.ping()).toBe('PONG');
    } finally {
      r.disconnect();
    }
  });

  it('serves TLS only with --port 0, advertising the TLS port', async () => {
    const port = await freePort();
    const dir = path.join(tmp, 'tls-only');
    const p = spawn(process.execPath, [RAFTIS_BIN, '--port', '0', '--tls-port', String(port), '--dir', dir, '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-auth-clients', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    p.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await waitForPort(port, '127.0.0.1', 20_000);
      await until('the node to answer over TLS', async () => (await cli(port, '--tls', '--cacert', certs.caCert, 'PING')) === 'PONG', 20_000, 100);
      expect(await cli(port, '--tls', '--cacert', certs.caCert, 'RAFT.INFO')).toContain(`member_1:role=voter,addr=127.0.0.1:${port},cluster_addr=127.0.0.1:${port + 10000}`);
      expect(log).toMatch(/no plain client port, TLS clients on 127\.0\.0\.1:\d+/);
    } finally {
      p.kill('SIGKILL');
    }
  });

  it('refuses to start with a secret file that is too short, and warns about one others can read', async () => {
    const short = path.join(tmp, 'short');
    fs.writeFileSync(short, '  tooshort \n', { mode: 0o600 });
    const r1 = await run(process.execPath, [RAFTIS_BIN, '--port', String(await freePort()), '--dir', path.join(tmp, 'd1'), '--cluster-secret-file', short]).then(
      () => 'started',
      (e: { code?: number; stderr?: string }) => `exit ${e.code}: ${e.stderr}`,
    );
    expect(r1).toMatch(/^exit 1: raftis: --cluster-secret-file: .*short holds 8 bytes after trimming whitespace; the cluster secret must be at least 16/);
    const r2 = await run(process.execPath, [RAFTIS_BIN, '--port', '1', '--tls-port', '2', '--dir', path.join(tmp, 'd2')]).then(
      () => 'started',
      (e: { code?: number; stderr?: string }) => `exit ${e.code}: ${e.stderr}`,
    );
    expect(r2).toMatch(/^exit 1: raftis: --tls-port needs --tls-cert-file and --tls-key-file/);
    const readable = path.join(tmp, 'readable');
    fs.writeFileSync(readable, 'a long enough secret for the test', { mode: 0o644 });
    fs.chmodSync(readable, 0o644);
    const node = await startRaftis({ args: ['--cluster-secret-file', readable] });
    try {
      expect(node.logs()).toMatch(/warning: --cluster-secret-file .*readable is readable by its group or by others \(mode 644\)/);
    } finally {
      await node.destroy();
    }
  });
});
