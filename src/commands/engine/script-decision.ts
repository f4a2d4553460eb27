/**
 * The leader's side of killing a script of a log entry (docs/decisions.md
 * "Killing a replicated script"): it proposes KillScript(N) on SCRIPT KILL /
 * FUNCTION KILL, and ProceedScript(N) while the script waits at its first
 * write (its own run, or the run of a node that became leader meanwhile).
 * The first of the two committed after N decides on every replica; the
 * entries themselves change nothing when applied, and nobody waits for
 * their reply.
 */
import type { Outcome } from '../../node/node.js';
import { DISCARD } from '../../server/resp-writer.js';
import type { Engine } from './engine.js';
import { EntryKind, type ScriptDecisionEntry } from './entry.js';
import { Write } from './write.js';

class DecisionWrite extends Write<ScriptDecisionEntry> {
  constructor(
    entry: ScriptDecisionEntry,
    private readonly done: (outcome: Outcome) => void,
  ) {
    super(entry, DISCARD);
  }

  settle(outcome: Outcome): void {
    this.done(outcome);
  }
}

export class ScriptDecisions {
  /** Per script entry, the decision entry this node has in flight and the term it was proposed in. */
  private readonly inFlight = new Map<number, { kill: boolean; term: number }>();

  constructor(private readonly server: Engine) {}

  /**
   * Proposes KillScript(index) (kill) or ProceedScript(index). A Proceed is
   * proposed at most once per term while one is in flight (the caller asks
   * at every turn while the script waits); a Kill always (SCRIPT KILL asks
   * once); none while this node's own Kill of this term is in flight. One
   * not applied (lost, unknown, deposed) may be proposed again. Returns
   * which is in flight now for the script (true: a Kill; undefined: none).
   */
  propose(index: number, kill: boolean): boolean | undefined {
    const node = this.server.node;
    if (!node.isLeader) return undefined;
    const term = node.term;
    const prev = this.inFlight.get(index);
    if (!kill && prev !== undefined && prev.term === term) return prev.kill;
    const entry: ScriptDecisionEntry = { kind: kill ? EntryKind.KillScript : EntryKind.ProceedScript, time: this.server.applier.entryTime(), keys: [String(index)] };
    const mark = { kill, term };
    const p = new DecisionWrite(entry, () => {
      if (this.inFlight.get(index) === mark) this.inFlight.delete(index);
    });
    this.inFlight.set(index, mark);
    if (node.propose(p)) return kill;
    this.inFlight.delete(index);
    return undefined;
  }
}
