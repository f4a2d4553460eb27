/**
 * Fault injection for the chaos test: kill -9 and restart, SIGSTOP and
 * SIGCONT, one node at a time so a majority always stays up. The schedule
 * (delays, fault kinds, whether to aim at the leader) comes from a seeded
 * PRNG; which node is the leader at that moment depends on the run.
 */
import { CrashReviver, type Crash } from './revive.js';
import type { TestCluster } from '../helpers/cluster.js';

/** The seeded PRNG the whole project uses (mulberry32, src/util/prng.ts). */
export { createPrng as prng } from '../../src/util/prng.js';

export interface NemesisEvent {
  /** performance.now() */
  t: number;
  what: string;
}

export interface NemesisOptions {
  rng: () => number;
  /** No new fault starts after this performance.now() time... */
  until: number;
  /** ...nor after this many faults. */
  maxFaults: number;
  /** Gap between faults. */
  gapMs: [number, number];
  /** How long a killed node stays down. */
  downMs: [number, number];
  /** How long a paused node stays stopped (longer than the election timeout). */
  pauseMs: [number, number];
  /** Probability of aiming at the current leader rather than a random node. */
  leaderBias: number;
  /** Probability that a fault is a kill -9 rather than a pause. */
  killRatio: number;
  /** Kinds of the first faults, aimed at the leader (so every run has both kinds and leader changes). */
  opening: ('kill' | 'pause')[];
  /** Stops early (test aborted). */
  stopped: () => boolean;
}

export interface NemesisReport {
  events: NemesisEvent[];
  kills: number;
  pauses: number;
  /** Faults aimed at the node that was leader at that moment. */
  leaderFaults: number;
  /** Leader ids the nemesis observed (RAFT.INFO), in order, repeats collapsed. */
  leaders: number[];
  /** Nodes that exited without being killed (each was restarted). */
  crashes: Crash[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const between = (rng: () => number, [lo, hi]: [number, number]): number => lo + rng() * (hi - lo);

export class Nemesis {
  readonly report: NemesisReport = { events: [], kills: 0, pauses: 0, leaderFaults: 0, leaders: [], crashes: [] };
  /** The node the nemesis has down or paused right now (the crash watcher leaves it alone). */
  private faulty: { id: number; kind: 'kill' | 'pause' } | undefined;

  constructor(
    private readonly cluster: TestCluster,
    private readonly opts: NemesisOptions,
  ) {
    this.reviver = new CrashReviver(this.cluster, (id) => this.faulty?.id === id, this.report.crashes, (what) => this.log(what));
  }

  private log(what: string): void {
    this.report.events.push({ t: performance.now(), what });
  }

  /** The leader according to the running nodes (undefined if none answers as leader). */
  async observeLeader(): Promise<number | undefined> {
    const ids = this.cluster.nodes.map((n) => n.id).filter((id) => this.cluster.isRunning(id) && this.faulty?.id !== id);
    const infos = await Promise.all(ids.map((id) => this.cluster.raftInfo(id, 400)));
    const leaders = infos.filter((i) => i?.role === 'leader').map((i) => Number(i!.node_id));
    // Several nodes may believe they lead for a moment (different terms); take the highest term.
    let best: number | undefined;
    let bestTerm = -1;
    for (const i of infos) {
      if (i?.role === 'leader' && Number(i.term) > bestTerm) {
        bestTerm = Number(i.term);
        best = Number(i.node_id);
      }
    }
    if (best !== undefined && this.report.leaders[this.report.leaders.length - 1] !== best) this.report.leaders.push(best);
    if (leaders.length > 1) this.log(`several nodes report role=leader: ${leaders.join(',')}`);
    return best;
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
      // Never more than one node down: wait for a crashed node to be back first.
      await this.reviveCrashed();
      // Draw every random number up front so the schedule does not depend on what the cluster answers.
      const opening = this.opts.opening[i];
      const aimAtLeader = rng() < this.opts.leaderBias || opening !== undefined;
      const randomVictim = ids[Math.floor(rng() * ids.length)]!;
      const kill = opening !== undefined ? opening === 'kill' : rng() < this.opts.killRatio;
      const duration = between(rng, kill ? this.opts.downMs : this.opts.pauseMs);
      const leader = await this.observeLeader();
      const victim = aimAtLeader && leader !== undefined ? leader : randomVictim;
      if (victim === leader) this.report.leaderFaults++;
      const role = leader === undefined ? 'no leader seen' : victim === leader ? 'leader' : 'follower';
      if (kill) {
        this.faulty = { id: victim, kind: 'kill' };
        this.log(`kill -9 node ${victim} (${role}), restart in ${Math.round(duration)} ms`);
        await cluster.kill9(victim);
        this.report.kills++;
        await sleep(duration);
        if (this.opts.stopped()) return;
        await cluster.startNode(victim);
        this.faulty = undefined;
        this.log(`restarted node ${victim}`);
      } else {
        this.faulty = { id: victim, kind: 'pause' };
        this.log(`SIGSTOP node ${victim} (${role}) for ${Math.round(duration)} ms`);
        cluster.pause(victim);
        this.report.pauses++;
        await sleep(duration);
        cluster.resume(victim);
        this.faulty = undefined;
        this.log(`SIGCONT node ${victim}`);
      }
      await this.observeLeader();
    }
  }

  /** Brings every node back: resumes paused nodes, restarts dead ones. */
  async heal(): Promise<void> {
    for (const n of this.cluster.nodes) if (this.cluster.isRunning(n.id)) this.cluster.resume(n.id);
    this.faulty = undefined;
    await this.reviveCrashed();
  }
}
