/**
 * The harness's state machine and proposals. An entry is a latin1
 * `key=value` string set into the node's Keyspace (so snapshots, which are
 * taken of the keyspace, carry the state); every proposal's value is unique
 * (`p<n>`), so an entry's data names the proposal it came from. Each node
 * process (an Incarnation) records the (index, data) sequence it applied;
 * each proposal records every outcome it was settled with.
 */
import type { Keyspace } from '../../../src/keyspace/keyspace.js';
import type { Outcome, Proposal, StateMachine } from '../../../src/node/state-machine.js';

export function encodeKv(key: string, value: string): Buffer {
  return Buffer.from(`${key}=${value}`, 'latin1');
}

export function decodeKv(data: string): [string, string] {
  const eq = data.indexOf('=');
  if (eq <= 0) throw new Error(`not a key=value entry: ${JSON.stringify(data)}`);
  return [data.slice(0, eq), data.slice(eq + 1)];
}

export interface Settlement {
  outcome: Outcome;
  /** Virtual time. */
  at: number;
  /** The process had reported a fatal error (onFatal) before. */
  afterFatal: boolean;
  /** The process was already dead (a simulation artefact: ignored by the checks). */
  afterDeath: boolean;
}

export class TestProposal implements Proposal {
  readonly data: Buffer;
  readonly text: string;
  index = 0;
  term = 0;
  readonly settlements: Settlement[] = [];
  /** StateMachine.apply received this proposal as `mine` (at this index). */
  passedAsMine = 0;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly value: string,
    /** The process it was proposed to. */
    readonly inc: Incarnation,
    private readonly now: () => number,
  ) {
    this.text = `${key}=${value}`;
    this.data = Buffer.from(this.text, 'latin1');
  }

  settle(outcome: Outcome): void {
    this.settlements.push({ outcome, at: this.now(), afterFatal: this.inc.fatal.length > 0, afterDeath: this.inc.dead });
  }

  /** The settlements that count (those made while its process was alive). */
  get outcomes(): Outcome[] {
    return this.settlements.filter((s) => !s.afterDeath).map((s) => s.outcome);
  }

  get outcome(): Outcome | undefined {
    return this.outcomes[0];
  }

  toString(): string {
    return `proposal ${this.id} (${this.text}) on node ${this.inc.id}#${this.inc.n} at ${this.index}/${this.term}: ${this.settlements.map((s) => s.outcome).join(',') || 'unsettled'}`;
  }
}

/** What the state machine reports to the cluster. */
export interface ApplyObserver {
  /** Called before the incarnation records the apply; `prev` is the index it applied last (0: none). */
  applied(inc: Incarnation, index: number, data: Buffer, mine: TestProposal | undefined, prev: number): void;
  restored(inc: Incarnation): void;
  /** A problem with an entry shown ahead of its apply (StateMachine.committedAhead). */
  aheadProblem(inc: Incarnation, problem: string): void;
}

/** One process of one node: its state machine, what it applied, how it ended. */
export class Incarnation implements StateMachine<TestProposal> {
  readonly applied: { index: number; data: string }[] = [];
  /** Errors reported through onFatal. */
  readonly fatal: Error[] = [];
  /** The process died (crash, or onFatal in 'crash' mode). */
  dead = false;
  /** Snapshot installs (restored() calls). */
  restores = 0;
  /** Where in `applied` a snapshot replaced the state, and its index when known. */
  readonly restorePoints: { at: number; index: number | undefined }[] = [];
  /** Data of the entries of this process's writes that failed: never to be settled 'applied'. */
  readonly failedData = new Set<string>();

  constructor(
    readonly id: number,
    readonly n: number,
    readonly keyspace: Keyspace,
    private readonly observer: ApplyObserver,
    /** Entries whose index is a multiple of it take several turns to apply (apply answers true, as a paused script's): 0 never. */
    private readonly pauseEvery = 0,
  ) {}

  /** An entry whose apply is not finished: the continueApply calls it still takes. */
  private pending: { index: number; data: Buffer; mine: TestProposal | undefined; turns: number } | undefined;
  /** Entries applied over several turns. */
  pausedApplies = 0;
  /** Entries shown ahead of their apply (committedAhead), by index, until applied. */
  private readonly ahead = new Map<number, string>();
  /** How many times an entry was shown ahead. */
  shownAhead = 0;

  /** Only while an apply is pending, only entries after it; each must be applied later as it was shown (committed entries are final). */
  committedAhead(index: number, data: Buffer): void {
    if (this.dead) return;
    this.shownAhead++;
    const p = this.pending;
    if (p === undefined || index <= p.index) this.observer.aheadProblem(this, `${index} shown ahead while applying ${p?.index ?? 'nothing'}`);
    const text = data.toString('latin1');
    const seen = this.ahead.get(index);
    if (seen !== undefined && seen !== text) this.observer.aheadProblem(this, `${index} shown ahead as ${seen}, then as ${text}`);
    this.ahead.set(index, text);
  }

  apply(index: number, data: Buffer, mine: TestProposal | undefined): boolean | void {
    if (this.dead) return;
    if (this.pending !== undefined) throw new Error(`apply(${index}) while the apply of ${this.pending.index} is not finished`);
    if (this.pauseEvery > 0 && index % this.pauseEvery === 0) {
      this.pending = { index, data, mine, turns: 1 + (index % 3) };
      return true;
    }
    this.applyNow(index, data, mine);
  }

  continueApply(): boolean {
    const p = this.pending;
    if (p === undefined || this.dead) return true;
    if (--p.turns > 0) return false;
    this.pending = undefined;
    this.pausedApplies++;
    this.applyNow(p.index, p.data, p.mine);
    return true;
  }

  private applyNow(index: number, data: Buffer, mine: TestProposal | undefined): void {
    const text = data.toString('latin1');
    const shown = this.ahead.get(index);
    if (shown !== undefined && shown !== text) this.observer.aheadProblem(this, `${index} shown ahead as ${shown}, applied as ${text}`);
    for (const i of this.ahead.keys()) if (i <= index) this.ahead.delete(i);
    const [key, value] = decodeKv(text);
    this.observer.applied(this, index, data, mine, this.lastApplied);
    this.keyspace.set(key, value);
    this.applied.push({ index, data: text });
    if (mine !== undefined) mine.passedAsMine = index;
  }

  restored(): void {
    if (this.dead) return;
    if (this.pending !== undefined) throw new Error(`snapshot installed while the apply of ${this.pending.index} is not finished`);
    this.restores++;
    this.observer.restored(this);
  }

  /** The keyspace as a plain map (string values only: the harness sets nothing else). */
  state(): Map<string, string> {
    const m = new Map<string, string>();
    for (const k of this.keyspace.keys()) {
      const v = this.keyspace.get(k, 0);
      if (typeof v === 'string') m.set(k, v);
    }
    return m;
  }

  get lastApplied(): number {
    return this.applied[this.applied.length - 1]?.index ?? 0;
  }
}
