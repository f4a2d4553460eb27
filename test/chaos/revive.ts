/**
 * The chaos tests' crash watcher: restarts nodes that exited by themselves
 * (not the one a nemesis has down on purpose), recording why, so a majority
 * stays up; and runs a fault schedule with the watcher beside it.
 */
import type { TestCluster } from '../helpers/cluster.js';

/** A node that exited without being killed (it was restarted). */
export interface Crash {
  id: number;
  /** performance.now() */
  t: number;
  exit: string;
  logTail: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class CrashReviver {
  private reviving: Promise<void> | undefined;

  constructor(
    private readonly cluster: TestCluster,
    /** Nodes to leave alone now (the one the nemesis has down). */
    private readonly leaveAlone: (id: number) => boolean,
    private readonly crashes: Crash[],
    private readonly log: (what: string) => void,
  ) {}

  /** Restarts the nodes that died by themselves; one revival at a time (the watcher, the fault loop and heal all call this). */
  revive(): Promise<void> {
    this.reviving ??= this.reviveOnce().finally(() => {
      this.reviving = undefined;
    });
    return this.reviving;
  }

  private async reviveOnce(): Promise<void> {
    for (const n of this.cluster.nodes) {
      if (this.leaveAlone(n.id) || this.cluster.isRunning(n.id)) continue;
      const p = n.proc;
      const exit = p ? `exit code ${p.exitCode}, signal ${p.signalCode}` : 'not started';
      this.crashes.push({ id: n.id, t: performance.now(), exit, logTail: n.log.split('\n').slice(-40).join('\n') });
      this.log(`node ${n.id} exited by itself (${exit}); restarting it`);
      try {
        await this.cluster.startNode(n.id);
      } catch (e) {
        this.log(`restarting node ${n.id} failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }

  /** Runs `faults`; meanwhile, every 100 ms until it ends or `stopped()`, restarts any node that crashed. */
  async around(faults: () => Promise<void>, stopped: () => boolean): Promise<void> {
    let done = false;
    const watcher = (async () => {
      while (!done && !stopped()) {
        await this.revive();
        await sleep(100);
      }
    })();
    try {
      await faults();
    } finally {
      done = true;
      await watcher;
    }
  }
}
