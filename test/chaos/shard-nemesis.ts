/**
 * Fault injection for the sharded chaos test: one nemesis per group, each
 * with at most one faulty member at a time (so every group keeps a
 * majority), doing kill -9 + restart, SIGSTOP + SIGCONT, and cutting a
 * member off from the rest of its group (PeerProxies). While a slot range
 * moves, a group that is the move's source, or group 0 (which drives every
 * move), aims at its leader. The schedule (delays, kinds, durations, whether
 * to aim at the leader) comes from a seeded PRNG drawn up front; which node
 * leads and whether a move is running at that moment depend on the run.
 */
import { CrashReviver, type Crash } from './revive.js';
import type { TestCluster } from '../helpers/cluster.js';
import type { PeerProxies } from './peer-proxy.js';

export type FaultKind = 'kill' | 'pause' | 'cut';

export interface ShardEvent {
  t: number;
  what: string;
}

export interface ShardNemesisOptions {
  rng: () => number;
  until: number;
  maxFaults: number;
  gapMs: [number, number];
  downMs: [number, number];
  pauseMs: [number, number];
  cutMs: [number, number];
  leaderBias: number;
  /** Kinds of the first faults, aimed at the leader. */
  opening: FaultKind[];
  /** After the opening: probabilities of kill and pause (the rest are cuts). */
  killRatio: number;
  pauseRatio: number;
  /** Probability that a fault first waits (up to 2 s) for a move to be running, so faults land mid-move however fast moves are. */
  waitForMove: number;
  /** The move running now, if any. */
  moving: () => { from: number; to: number } | undefined;
  stopped: () => boolean;
  /** The test's shared event log. */
  log: (what: string) => void;
}

export interface ShardNemesisReport {
  kills: number;
  pauses: number;
  cuts: number;
  leaderFaults: number;
  /** Faults on the source group's leader or group 0's leader while a move ran. */
  leaderFaultsMidMove: number;
  leaders: number[];
  crashes: Crash[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const between = (rng: () => number, [lo, hi]: [number, number]): number => lo + rng() * (hi - lo);

/** The node of `cluster` that reports role=leader with the highest term, among `ids` (RAFT.INFO, short timeouts). */
export async function observeLeader(cluster: TestCluster, ids: number[]): Promise<number | undefined> {
  const infos = await Promise.all(ids.map((id) => cluster.raftInfo(id, 400)));
  let best: number | undefined;
  let bestTerm = -1;
  for (const i of infos) {
    if (i?.role === 'leader' && Number(i.term) > bestTerm) {
      bestTerm = Number(i.term);
      best = Number(i.node_id);
    }
  }
  return best;
}

export class ShardNemesis {
  readonly report: ShardNemesisReport = { kills: 0, pauses: 0, cuts: 0, leaderFaults: 0, leaderFaultsMidMove: 0, leaders: [], crashes: [] };
  private faulty: { id: number; kind: FaultKind } | undefined;
  private reviving: Promise<void> | undefined;

  constructor(
    private readonly cluster: TestCluster,
    private readonly group: number,
    private readonly proxies: PeerProxies,
    private readonly opts: ShardNemesisOptions,
  ) {
    this.reviver = new CrashReviver(this.cluster, (id) => this.faulty?.id === id && this.faulty.kind === 'kill', this.report.crashes, (what) => this.log(what));
  }

  private log(what: string): void {
    this.opts.log(`group ${this.group}: ${what}`);
  }

  async leader(): Promise<number | undefined> {
    const ids = this.cluster.nodes.map((n) => n.id).filter((id) => this.cluster.isRunning(id) && this.faulty?.id !== id);
    const l = await observeLeader(this.cluster, ids);
    if (l !== undefined && this.report.leaders[this.report.leaders.length - 1] !== l) this.report.leaders.push(l);
    return l;
  }

  /** Restarts nodes that died by themselves (not the one the nemesis has down), recording why. */
  private readonly reviver: CrashReviver;

  private reviveCrashed(): Promise<void> {
    return this.reviver.revive();
  }

  /** Runs the fault schedule; meanwhile restarts any node that crashes, so a majority stays up. */
  run(): Promise<void> {
    return this.reviver.around(() => this.faults(), () => this.opts.stopped());
  }

  private async faults(): Promise<void> {
    const { rng, cluster } = { rng: this.opts.rng, cluster: this.cluster };
    const ids = cluster.nodes.map((n) => n.id);
    for (let i = 0; !this.opts.stopped(); i++) {
      await sleep(between(rng, this.opts.gapMs));
      if (this.opts.stopped() || performance.now() >= this.opts.until || i >= this.opts.maxFaults) break;
      await this.reviveCrashed();
      const opening = this.opts.opening[i];
      const bias = rng();
      const randomVictim = ids[Math.floor(rng() * ids.length)]!;
      const r = rng();
      const kind: FaultKind = opening ?? (r < this.opts.killRatio ? 'kill' : r < this.opts.killRatio + this.opts.pauseRatio ? 'pause' : 'cut');
      const duration = between(rng, kind === 'kill' ? this.opts.downMs : kind === 'pause' ? this.opts.pauseMs : this.opts.cutMs);
      if (rng() < this.opts.waitForMove) {
        const until = performance.now() + 2000;
        while (this.opts.moving() === undefined && performance.now() < until && !this.opts.stopped()) await sleep(20);
      }
      const move = this.opts.moving();
      const hot = move !== undefined && (move.from === this.group || this.group === 0);
      const aimAtLeader = opening !== undefined || hot || bias < this.opts.leaderBias;
      const leader = await this.leader();
      const victim = aimAtLeader && leader !== undefined ? leader : randomVictim;
      if (victim === leader) this.report.leaderFaults++;
      if (victim === leader && hot) this.report.leaderFaultsMidMove++;
      const role = leader === undefined ? 'no leader seen' : victim === leader ? 'leader' : 'follower';
      const during = move !== undefined ? ` during a move ${move.from}->${move.to}` : '';
      this.faulty = { id: victim, kind };
      if (kind === 'kill') {
        this.log(`kill -9 node ${victim} (${role})${during}, restart in ${Math.round(duration)} ms`);
        await cluster.kill9(victim);
        this.report.kills++;
        await sleep(duration);
        if (this.opts.stopped()) return;
        await cluster.startNode(victim);
        this.log(`restarted node ${victim}`);
      } else if (kind === 'pause') {
        this.log(`SIGSTOP node ${victim} (${role})${during} for ${Math.round(duration)} ms`);
        cluster.pause(victim);
        this.report.pauses++;
        await sleep(duration);
        cluster.resume(victim);
        this.log(`SIGCONT node ${victim}`);
      } else {
        this.log(`cut node ${victim} (${role})${during} off from its group for ${Math.round(duration)} ms`);
        this.proxies.cut(this.group, [victim]);
        this.report.cuts++;
        await sleep(duration);
        this.proxies.heal(this.group);
        this.log(`healed the cut of node ${victim}`);
      }
      this.faulty = undefined;
      await this.leader();
    }
  }

  /** Resumes paused nodes, ends the group's cut, restarts dead nodes. */
  async heal(): Promise<void> {
    for (const n of this.cluster.nodes) if (this.cluster.isRunning(n.id)) this.cluster.resume(n.id);
    this.proxies.heal(this.group);
    const f = this.faulty;
    if (f?.kind === 'kill' && !this.cluster.isRunning(f.id)) await this.cluster.startNode(f.id);
    this.faulty = undefined;
    await this.reviveCrashed();
  }
}
