/**
 * A sharded raftis cluster for tests (issue 21): S groups of N processes on
 * 127.0.0.1, each group a TestCluster started with --group g (the others
 * with --shard-seeds naming group 0's nodes), and the slot map made through
 * group 0's leader as ./cluster.sh does: every group, then the 16384 slots
 * split evenly. Every process is stopped by destroy() or at exit.
 */
import { Redis } from 'ioredis';
import { onTestFailed } from 'vitest';
import { TestCluster, type ClusterNode } from './cluster.js';

export interface ShardedOptions {
  shards: number;
  size?: number;
  args?: string[];
  /** The peer port a node of group g is told a member of its group listens on (TestCluster's peerPort: a proxy). */
  peerPort?: (group: number, self: ClusterNode, peer: ClusterNode) => Promise<number>;
  /** TestCluster's stablePorts: node ports below the ephemeral range (tests that restart nodes). */
  stablePorts?: boolean;
}

/** One request on a short-lived connection; error replies are thrown as Errors. */
export async function call(n: { host: string; port: number }, ...argv: (string | number)[]): Promise<unknown> {
  return callAs(undefined, n, ...argv);
}

/** The same, after AUTH with `password` when there is one. */
export async function callAs(password: string | undefined, n: { host: string; port: number }, ...argv: (string | number)[]): Promise<unknown> {
  const r = new Redis({
    host: n.host,
    port: n.port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    ...(password !== undefined ? { password } : {}),
  });
  try {
    await r.connect();
    return await r.call(String(argv[0]), ...argv.slice(1).map(String));
  } finally {
    r.disconnect();
  }
}

export class ShardedCluster {
  /** --requirepass, when the nodes were started with it. */
  readonly password: string | undefined;

  private constructor(
    readonly groups: TestCluster[],
    args: string[],
  ) {
    const i = args.indexOf('--requirepass');
    this.password = i >= 0 ? args[i + 1] : undefined;
  }

  /** A request to node n (authenticated when the nodes have a password). */
  call(n: { host: string; port: number }, ...argv: (string | number)[]): Promise<unknown> {
    return callAs(this.password, n, ...argv);
  }

  static async start(opts: ShardedOptions): Promise<ShardedCluster> {
    const size = opts.size ?? 1;
    const args = opts.args ?? [];
    const groups: TestCluster[] = [];
    try {
      const perGroup = (g: number): { peerPort?: (self: ClusterNode, peer: ClusterNode) => Promise<number>; stablePorts?: boolean } => {
        const f = opts.peerPort;
        return { ...(f !== undefined ? { peerPort: (self: ClusterNode, peer: ClusterNode) => f(g, self, peer) } : {}), ...(opts.stablePorts === true ? { stablePorts: true } : {}) };
      };
      groups.push(await TestCluster.start({ size, multiAddr: false, args: ['--group', '0', ...args], ...perGroup(0) }));
      const seeds = groups[0]!.nodes.map((n) => `${n.host}:${n.port}`).join(',');
      for (let g = 1; g < opts.shards; g++) {
        groups.push(await TestCluster.start({ size, multiAddr: false, args: ['--group', String(g), '--shard-seeds', seeds, ...args], ...perGroup(g) }));
      }
      const c = new ShardedCluster(groups, args);
      for (let g = 0; g < opts.shards; g++) {
        await c.toConfig('RAFT.SHARDS', 'ADDGROUP', g, ...groups[g]!.nodes.map((n) => `${n.id}@${n.host}:${n.port}@${n.clusterPort}`));
      }
      for (let g = 0; g < opts.shards; g++) {
        await c.toConfig('RAFT.SHARDS', 'ASSIGN', g, `${Math.floor((16384 * g) / opts.shards)}-${Math.floor((16384 * (g + 1)) / opts.shards) - 1}`);
      }
      await c.waitConverged();
      return c;
    } catch (e) {
      await Promise.all(groups.map((g) => g.destroy()));
      throw e;
    }
  }

  /** Every node of every group, group by group. */
  get nodes(): (ClusterNode & { group: number })[] {
    return this.groups.flatMap((g, i) => g.nodes.map((n) => Object.assign(n, { group: i })));
  }

  /** The node that serves as group g's leader now. */
  async leader(g: number): Promise<ClusterNode> {
    return this.groups[g]!.node(await this.groups[g]!.waitForLeader());
  }

  /** A request to group 0's leader (the slot map changes there). */
  async toConfig(...argv: (string | number)[]): Promise<unknown> {
    return this.call(await this.leader(0), ...argv);
  }

  /**
   * Waits until every running node reports the same configuration number as
   * group 0's leader, has adopted it, and its group's leader is known to it.
   */
  async waitConverged(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let epoch = -1;
      let ok = true;
      for (const n of this.nodes) {
        if (!this.groups[n.group]!.isRunning(n.id)) continue;
        let st = '';
        try {
          st = String(await this.call(n, 'RAFT.SHARDS', 'STATUS'));
        } catch {
          ok = false;
          break;
        }
        const conf = Number(/configuration:(\d+)/.exec(st)?.[1]);
        const adopted = Number(/adopted_configuration:(\d+)/.exec(st)?.[1]);
        if (epoch === -1) epoch = conf;
        if (conf !== epoch || adopted !== conf || conf === 0 || /leader=-/.test(st)) {
          ok = false;
          break;
        }
      }
      if (ok) return epoch;
      if (Date.now() > deadline) throw new Error(`the groups did not converge on one slot configuration within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** In a test: if it fails, every node's log tail (the last `chars`) goes to stderr, by group. */
  dumpLogsOnFailure(chars = 3000): void {
    onTestFailed(() => {
      for (const n of this.nodes) console.error(`----- group ${n.group} node ${n.id} (${n.port}) log tail -----\n${n.log.slice(-chars)}`);
    });
  }

  async destroy(): Promise<void> {
    await Promise.all(this.groups.map((g) => g.destroy()));
  }
}
