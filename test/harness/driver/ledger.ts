/**
 * What the driver harness checks, against a ground truth it builds as the
 * run goes: the committed log, read between every two tasks from each live
 * node's Raft log (index, term, type and data of every entry at or below
 * its commit index; two nodes disagreeing on one is itself a violation).
 *
 * Checked as things happen (recorded in `violations`):
 *   - an applied entry is durable on the applying node's disk (the same
 *     entry at that index) and on a quorum of disks: nothing is applied
 *     before it is durable;
 *   - a node process applies increasing indexes, and the proposal the driver
 *     passes as `mine` is the one at that index;
 *   - a proposal is settled at most once;
 *   - a proposal whose entry was in a write that failed is never 'applied'.
 *
 * Checked at the end (check()):
 *   - every process's applied (index, data) sequence is in the committed log
 *     and skips no entry with data between two of its applies (state
 *     machine safety: each is a prefix of the one committed sequence);
 *   - every proposal was settled exactly once, unless its process died
 *     first; 'applied' only if the committed log holds exactly that entry at
 *     p.index (same data, same term) and the state machine was given it as
 *     `mine`; 'lost' only if it holds a different entry there; 'lost',
 *     'not-leader' and 'dropped' only if its data was committed nowhere;
 *   - a live node's keyspace is the state of the committed log at its
 *     applied index (see Cluster.checkStates).
 */
import { EntryType } from '../../../src/raft/index.js';
import type { RaftisNode } from '../../../src/node/node.js';
import { decodeKv, type Incarnation, type TestProposal } from './kv.js';

export interface CommittedEntry {
  term: number;
  type: number;
  /** latin1 text of the data. */
  data: string;
  /** Which node it was first seen committed on. */
  by: number;
}

export class Ledger {
  readonly committed = new Map<number, CommittedEntry>();
  /** Entry data → index, for committed normal entries with data. */
  private readonly committedData = new Map<string, number>();
  /** Highest index known committed. */
  maxCommitted = 0;
  readonly proposals: TestProposal[] = [];
  readonly incarnations: Incarnation[] = [];
  readonly violations: string[] = [];
  private readonly watermark = new WeakMap<object, number>();

  violation(msg: string): void {
    this.violations.push(msg);
  }

  /** Reads the committed entries of a live node it has not read yet. */
  observe(id: number, node: RaftisNode<TestProposal>): void {
    const raw = node.rn as RaftisNode['rn'] | undefined;
    if (raw === undefined) return;
    const log = raw.raft.raftLog;
    const committed = log.committed;
    const from = Math.max(this.watermark.get(node) ?? 0, log.firstIndex() - 1) + 1;
    if (from > committed) return;
    const ents = log.slice(from, committed + 1, Number.POSITIVE_INFINITY);
    for (const e of ents) this.recordCommitted(e.index, e.term, e.type, e.data.toString('latin1'), id);
    this.watermark.set(node, committed);
  }

  private recordCommitted(index: number, term: number, type: number, data: string, by: number): void {
    const seen = this.committed.get(index);
    if (seen === undefined) {
      this.committed.set(index, { term, type, data, by });
      if (type === EntryType.Normal && data.length > 0) {
        const prev = this.committedData.get(data);
        if (prev !== undefined) this.violation(`entry ${data} committed twice: at ${prev} and at ${index}`);
        this.committedData.set(data, index);
      }
      if (index > this.maxCommitted) this.maxCommitted = index;
    } else if (seen.term !== term || seen.type !== type || seen.data !== data) {
      this.violation(`committed entry changed: index ${index} was ${seen.term}/${seen.data} on node ${seen.by}, node ${by} has ${term}/${data} committed`);
    }
  }

  /** Where `data` was committed, if it was. */
  committedAt(data: string): number | undefined {
    return this.committedData.get(data);
  }

  /** The key/value state after applying the committed log up to `index`; undefined if an entry is not known. */
  stateAt(index: number): Map<string, string> | undefined {
    const m = new Map<string, string>();
    for (let i = 1; i <= index; i++) {
      const e = this.committed.get(i);
      if (e === undefined) return undefined;
      if (e.type !== EntryType.Normal || e.data.length === 0) continue;
      const [k, v] = decodeKv(e.data);
      m.set(k, v);
    }
    return m;
  }

  /** All end-of-run checks; returns the problems found (empty: all good). */
  check(): string[] {
    const problems = [...this.violations];
    for (const inc of this.incarnations) this.checkApplied(inc, problems);
    for (const p of this.proposals) this.checkProposal(p, problems);
    return problems;
  }

  private checkApplied(inc: Incarnation, problems: string[]): void {
    let prev: number | undefined;
    let r = 0;
    for (let pos = 0; pos < inc.applied.length; pos++) {
      const { index, data } = inc.applied[pos]!;
      // A snapshot installed before this apply: the sequence goes on from its index.
      while (r < inc.restorePoints.length && inc.restorePoints[r]!.at <= pos) prev = inc.restorePoints[r++]!.index;
      const c = this.committed.get(index);
      if (c === undefined) problems.push(`node ${inc.id}#${inc.n} applied ${data} at ${index}, which is not known committed`);
      else if (c.data !== data || c.type !== EntryType.Normal) problems.push(`node ${inc.id}#${inc.n} applied ${data} at ${index}; the committed entry there is ${c.term}/${c.data}`);
      if (prev !== undefined) {
        for (let i = prev + 1; i < index; i++) {
          const s = this.committed.get(i);
          if (s === undefined) problems.push(`node ${inc.id}#${inc.n} applied ${prev} then ${index}; entry ${i} between them is not known`);
          else if (s.type === EntryType.Normal && s.data.length > 0) problems.push(`node ${inc.id}#${inc.n} applied ${prev} then ${index}, skipping ${s.data} at ${i}`);
        }
      }
      prev = index;
    }
  }

  private checkProposal(p: TestProposal, problems: string[]): void {
    const outs = p.outcomes;
    if (outs.length > 1) problems.push(`${p} was settled ${outs.length} times`);
    if (outs.length === 0) {
      if (!p.inc.dead) problems.push(`${p} was never settled (its process is alive)`);
      return;
    }
    const o = outs[0]!;
    const at = this.committedAt(p.text);
    const c = p.index > 0 ? this.committed.get(p.index) : undefined;
    switch (o) {
      case 'applied':
        if (c === undefined || c.data !== p.text || c.term !== p.term) {
          problems.push(`${p} settled applied, but the committed entry at ${p.index} is ${c ? `${c.term}/${c.data}` : 'not known'}`);
        }
        if (p.passedAsMine !== p.index) problems.push(`${p} settled applied, but the state machine was not given it as mine at ${p.index}`);
        if (p.inc.failedData.has(p.text)) problems.push(`${p} settled applied, but its entry was in a write that failed`);
        break;
      case 'lost':
        if (c === undefined) problems.push(`${p} settled lost, but no entry is known committed at ${p.index}`);
        else if (c.data === p.text && c.term === p.term) problems.push(`${p} settled lost, but it is the committed entry at ${p.index}`);
        if (at !== undefined) problems.push(`${p} settled lost, but it was committed at ${at}`);
        break;
      case 'not-leader':
      case 'dropped':
        if (at !== undefined) problems.push(`${p} settled ${o}, but it was committed at ${at}`);
        break;
      case 'unknown':
        break;
    }
  }
}
