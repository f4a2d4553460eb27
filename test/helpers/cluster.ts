/**
 * A real raftis cluster for tests: N processes on loopback, node i on
 * 127.0.0.i (so a test can tell nodes apart by address), each with its own
 * temporary data directory. Every process is stopped when the cluster is
 * destroyed or the test process exits, even after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RawClient } from './raw-client.js';
import { freePort, freePorts, freeStablePort, waitForPort } from './ports.js';
import { RAFTIS_BIN } from './raftis-process.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export interface ClusterNode {
  id: number;
  host: string;
  port: number;
  clusterPort: number;
  dir: string;
  proc: ChildProcess | undefined;
  log: string;
  /** Started with --join (added to a running cluster) instead of --peers. */
  joined?: boolean;
  /** --http-port, when the cluster was started with `http: true`. */
  httpPort?: number;
}

export interface ClusterOptions {
  size?: number;
  /** Extra CLI flags for every node. */
  args?: string[];
  /** One loopback address per node (127.0.0.i) instead of 127.0.0.1 for all. */
  multiAddr?: boolean;
  /** Give every node an operator HTTP port (--http-port, on its own address). */
  http?: boolean;
  /**
   * The peer port node `self` is told `peer` listens on (its --peers entry
   * for that peer): a test that puts a proxy between nodes' peer ports
   * (partitions) returns the proxy's port. Default: the peer's own port.
   */
  peerPort?: (self: ClusterNode, peer: ClusterNode) => Promise<number>;
  /** Ports for the nodes' client and peer ports below the ephemeral range (freeStablePort): for tests that restart nodes while other processes open connections. */
  stablePorts?: boolean;
}

/** Two different stable ports (freeStablePort picks at random: the same one twice is possible). */
async function twoStablePorts(host: string): Promise<[number, number]> {
  const a = await freeStablePort(host);
  for (;;) {
    const b = await freeStablePort(host);
    if (b !== a) return [a, b];
  }
}

export class TestCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly args: string[],
    private readonly root: string,
    private readonly peerPort?: (self: ClusterNode, peer: ClusterNode) => Promise<number>,
  ) {}

  static async start(opts: ClusterOptions = {}): Promise<TestCluster> {
    const size = opts.size ?? 3;
    const multi = opts.multiAddr ?? true;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-cluster-'));
    const nodes: ClusterNode[] = [];
    for (let i = 1; i <= size; i++) {
      const host = multi ? `127.0.0.${i}` : '127.0.0.1';
      // Free ports are checked on 127.0.0.1; loopback aliases share the port space per address.
      // Stable ports lie below the ephemeral range, so an HTTP port from it cannot be one of them.
      const [port, clusterPort, httpPort] = opts.stablePorts === true ? [...(await twoStablePorts(host)), await freePort(host)] : await freePorts(3, host);
      nodes.push({ id: i, host, port: port!, clusterPort: clusterPort!, dir: path.join(root, `node${i}`), proc: undefined, log: '' });
      if (opts.http) nodes[i - 1]!.httpPort = httpPort!;
    }
    const c = new TestCluster(nodes, opts.args ?? [], root, opts.peerPort);
    try {
      await Promise.all(nodes.map((n) => c.startNode(n.id)));
      await c.waitForLeader();
    } catch (e) {
      await c.destroy();
      throw e;
    }
    return c;
  }

  get peersFlag(): string {
    return this.nodes.filter((n) => !n.joined).map((n) => `${n.id}=${n.host}:${n.port}@${n.clusterPort}`).join(',');
  }

  /** --peers for founding members; --join through a running member for added ones. */
  private async membershipFlags(n: ClusterNode): Promise<string[]> {
    if (!n.joined && this.peerPort !== undefined) {
      const entries: string[] = [];
      for (const x of this.nodes.filter((m) => !m.joined)) entries.push(`${x.id}=${x.host}:${x.port}@${x.id === n.id ? x.clusterPort : await this.peerPort(n, x)}`);
      return ['--peers', entries.join(',')];
    }
    if (!n.joined) return ['--peers', this.peersFlag];
    const via = this.nodes.find((x) => x.id !== n.id && this.isRunning(x.id));
    if (via === undefined) throw new Error(`no running node for node ${n.id} to join through`);
    return ['--join', `${via.host}:${via.port}`];
  }

  node(id: number): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /**
   * A new node (next id) that joins the running cluster with --join through
   * a running member; resolves once it listens. The leader adds it as a
   * learner and promotes it once it has caught up.
   */
  async addNode(opts: { multiAddr?: boolean } = {}): Promise<ClusterNode> {
    // Ids are never reused: a removed node's id (and data directory) stay its own.
    const id = Math.max(this.maxId, ...this.nodes.map((n) => n.id)) + 1;
    this.maxId = id;
    const host = (opts.multiAddr ?? this.nodes[0]!.host !== '127.0.0.1') ? `127.0.0.${id}` : '127.0.0.1';
    const [port, clusterPort, httpPort] = await freePorts(3, host);
    const n: ClusterNode = { id, host, port: port!, clusterPort: clusterPort!, dir: path.join(this.root, `node${id}`), proc: undefined, log: '', joined: true };
    if (this.nodes.some((x) => x.httpPort !== undefined)) n.httpPort = httpPort!;
    this.nodes.push(n);
    await this.startNode(id);
    return n;
  }

  private maxId = 0;

  /** Forgets a node that left the cluster (it must not be running). */
  dropNode(id: number): void {
    this.maxId = Math.max(this.maxId, id);
    const i = this.nodes.findIndex((n) => n.id === id);
    if (i >= 0 && !this.isRunning(id)) this.nodes.splice(i, 1);
  }

  /** Starts (or restarts) node id on its address and data directory (`extra`: flags for this start only). */
  async startNode(id: number, extra: string[] = []): Promise<void> {
    const n = this.node(id);
    if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null) throw new Error(`node ${id} is running`);
    const membership = await this.membershipFlags(n);
    const proc = spawn(
      process.execPath,
      [RAFTIS_BIN, '--id', String(id), '--bind', n.host, '--port', String(n.port), '--cluster-port', String(n.clusterPort), '--dir', n.dir, ...membership, '--log-level', 'info', ...(n.httpPort !== undefined ? ['--http-port', String(n.httpPort)] : []), ...this.args, ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    live.add(proc);
    proc.on('exit', () => live.delete(proc));
    const append = (d: Buffer): void => {
      n.log += d.toString();
      if (n.log.length > 200_000) n.log = n.log.slice(-100_000);
    };
    proc.stdout!.on('data', append);
    proc.stderr!.on('data', append);
    n.proc = proc;
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`node ${id} exited with ${code} before listening:\n${n.log.slice(-3000)}`))),
    );
    exited.catch(() => {});
    await Promise.race([waitForPort(n.port, n.host, 20_000), exited]);
  }

  isRunning(id: number): boolean {
    const p = this.node(id).proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  async kill9(id: number): Promise<void> {
    const p = this.node(id).proc;
    if (!p || !this.isRunning(id)) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await exited;
  }

  pause(id: number): void {
    this.node(id).proc?.kill('SIGSTOP');
  }

  resume(id: number): void {
    this.node(id).proc?.kill('SIGCONT');
  }

  /** RAFT.INFO of a node as a field map, or undefined if it does not answer in time. */
  async raftInfo(id: number, timeoutMs = 1000): Promise<Record<string, string> | undefined> {
    const n = this.node(id);
    let c: RawClient | undefined;
    try {
      c = await withTimeout(RawClient.connect(n.port, n.host), timeoutMs);
      // Nodes started with --requirepass: authenticate first.
      const pw = this.args.indexOf('--requirepass');
      if (pw >= 0) await withTimeout(c.call('AUTH', this.args[pw + 1]!), timeoutMs);
      const reply = await withTimeout(c.call('RAFT.INFO'), timeoutMs);
      const out: Record<string, string> = {};
      for (const line of reply.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0 && !line.startsWith('$') && !line.startsWith('=')) out[line.slice(0, i)] = line.slice(i + 1);
      }
      return out;
    } catch {
      return undefined;
    } finally {
      c?.close();
    }
  }

  /** The id of the leader that a majority of running nodes agree on, waiting up to timeoutMs. */
  async waitForLeader(timeoutMs = 15_000, exclude: number[] = []): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(this.nodes.filter((n) => this.isRunning(n.id)).map((n) => this.raftInfo(n.id, 500)));
      const leaders = infos.filter((i) => i?.role === 'leader').map((i) => Number(i!.node_id));
      const candidates = leaders.filter((l) => !exclude.includes(l));
      if (candidates.length === 1) {
        const l = candidates[0]!;
        const agree = infos.filter((i) => i && Number(i.leader) === l).length;
        if (agree > this.nodes.length / 2) return l;
      }
      if (Date.now() > deadline) throw new Error(`no leader after ${timeoutMs} ms: ${JSON.stringify(infos.map((i) => i && { id: i.node_id, role: i.role, term: i.term, leader: i.leader }))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Waits for a leader that every running node knows, with a working link
   * from it to each of them (a test that asks every follower for a
   * redirect, or the leader for its view of every peer, needs all of them;
   * a majority is enough for a leader but not for that).
   */
  async waitForSettledLeader(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = await this.waitForLeader(Math.max(1, deadline - Date.now()));
      const running = this.nodes.filter((n) => this.isRunning(n.id));
      const infos = await Promise.all(running.map((n) => this.raftInfo(n.id, 500)));
      const known = infos.every((i) => i !== undefined && Number(i.leader) === l);
      const li = infos[running.findIndex((n) => n.id === l)];
      const linked = running.every((n) => n.id === l || (li?.[`peer_${n.id}`] ?? '').includes('connected=yes'));
      if (known && linked) return l;
      if (Date.now() > deadline) throw new Error(`leader ${l} not known by every running node with links to each after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async client(id: number): Promise<RawClient> {
    const n = this.node(id);
    return RawClient.connect(n.port, n.host);
  }

  logs(id: number): string {
    return this.node(id).log;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill9(n.id)));
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e as Error);
      },
    );
  });
}
