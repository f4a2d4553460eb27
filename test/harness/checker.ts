/**
 * Raft's safety properties (paper Figure 3), checked against a simulated
 * cluster after every step:
 *
 *   election safety       at most one leader per term
 *   log matching          same index and term ⇒ same log up to there
 *   leader completeness   an entry committed in term T is in the log of every leader of a later term
 *   state machine safety  no two nodes apply different entries at one index
 *                         (also: committed entries never change)
 *
 * A violation throws SafetyViolation with a description.
 */
import type { Entry } from '../../src/raft/messages.js';
import type { Raft } from '../../src/raft/raft.js';
import { Role } from '../../src/raft/role.js';

export class SafetyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetyViolation';
  }
}

interface CommittedEntry {
  term: number;
  /** Lowest term of a node seen holding it as committed: an upper bound of the term it was committed in. */
  commitTerm: number;
}

export class SafetyChecker {
  private readonly leaders = new Map<number, number>();
  private readonly committed = new Map<number, CommittedEntry>();
  private readonly commitWatermark = new Map<number, number>();
  /** Applied entry at each index, and the state machine digest right after it. */
  private readonly appliedAt = new Map<number, string>();
  private readonly digestAt = new Map<number, number>();

  /** Highest index applied anywhere: everything up to it has been acknowledged to some client. */
  maxApplied = 0;

  checkNodes(rafts: readonly Raft[]): void {
    for (const r of rafts) this.checkElectionSafety(r);
    for (const r of rafts) this.recordCommitted(r);
    for (let i = 0; i < rafts.length; i++) {
      for (let j = i + 1; j < rafts.length; j++) this.checkLogMatching(rafts[i] as Raft, rafts[j] as Raft);
    }
    for (const r of rafts) if (r.role === Role.Leader) this.checkLeaderCompleteness(r);
  }

  /** Called for every entry a node applies, in order. */
  onApply(nodeId: number, e: Entry, digestAfter: number): void {
    const key = `${e.term}:${e.type}:${e.data.toString('hex')}`;
    const prev = this.appliedAt.get(e.index);
    if (prev === undefined) this.appliedAt.set(e.index, key);
    else if (prev !== key) throw new SafetyViolation(`state machine safety: node ${nodeId} applied ${key} at index ${e.index}, another node applied ${prev}`);
    this.checkDigest(nodeId, e.index, digestAfter);
    if (e.index > this.maxApplied) this.maxApplied = e.index;
  }

  /** Called when a node's state machine is restored from a snapshot. */
  onRestore(nodeId: number, index: number, digest: number): void {
    this.checkDigest(nodeId, index, digest);
  }

  private checkDigest(nodeId: number, index: number, digest: number): void {
    const prev = this.digestAt.get(index);
    if (prev === undefined) this.digestAt.set(index, digest);
    else if (prev !== digest) throw new SafetyViolation(`state machine safety: node ${nodeId} state at index ${index} differs from another node's`);
  }

  private checkElectionSafety(r: Raft): void {
    if (r.role !== Role.Leader) return;
    const other = this.leaders.get(r.term);
    if (other === undefined) this.leaders.set(r.term, r.id);
    else if (other !== r.id) throw new SafetyViolation(`election safety: nodes ${other} and ${r.id} both leader in term ${r.term}`);
  }

  private recordCommitted(r: Raft): void {
    const log = r.raftLog;
    const from = Math.max(this.commitWatermark.get(r.id) ?? 0, log.firstIndex() - 1) + 1;
    for (let i = from; i <= log.committed; i++) {
      const t = log.maybeTerm(i);
      if (t === undefined) continue;
      const seen = this.committed.get(i);
      if (seen === undefined) this.committed.set(i, { term: t, commitTerm: r.term });
      else if (seen.term !== t) {
        throw new SafetyViolation(`committed entry changed: index ${i} committed with term ${seen.term}, node ${r.id} has term ${t} committed`);
      } else if (r.term < seen.commitTerm) seen.commitTerm = r.term;
    }
    if (log.committed > (this.commitWatermark.get(r.id) ?? 0)) this.commitWatermark.set(r.id, log.committed);
  }

  private checkLogMatching(a: Raft, b: Raft): void {
    const lo = Math.max(a.raftLog.firstIndex(), b.raftLog.firstIndex());
    const hi = Math.min(a.raftLog.lastIndex(), b.raftLog.lastIndex());
    let k = hi;
    for (; k >= lo; k--) {
      if (a.raftLog.maybeTerm(k) === b.raftLog.maybeTerm(k)) break;
    }
    for (let j = lo; j < k; j++) {
      const ta = a.raftLog.maybeTerm(j);
      const tb = b.raftLog.maybeTerm(j);
      if (ta !== tb) {
        throw new SafetyViolation(`log matching: nodes ${a.id} and ${b.id} agree at index ${k} but differ at ${j} (terms ${ta} vs ${tb})`);
      }
    }
  }

  private checkLeaderCompleteness(r: Raft): void {
    const first = r.raftLog.firstIndex();
    for (const [i, c] of this.committed) {
      if (c.commitTerm >= r.term || i < first) continue;
      const t = r.raftLog.maybeTerm(i);
      if (t !== c.term) {
        throw new SafetyViolation(
          `leader completeness: leader ${r.id} of term ${r.term} has ${t === undefined ? 'no entry' : `term ${t}`} at index ${i}, committed with term ${c.term} by term ${c.commitTerm}`,
        );
      }
    }
  }
}
