/**
 * A simulated cluster for Raft tests (raft-rs harness style): RawNodes with
 * MemoryStorage as their durable disk, a pool of messages on the wire, and a
 * driver that follows the Ready contract to the letter, so a crash loses
 * exactly what a real node would lose.
 *
 * Two ways to drive it:
 *   - synchronously: send(msgs) / stabilize() deliver messages and handle
 *     Readies until nothing is left (FIFO, deterministic);
 *     dispatch(msgs) delivers one hop and nothing else;
 *   - step by step, for randomized runs: beginReady / finishReady split a
 *     Ready around its durable write, deliverAt picks any message on the wire
 *     (reordering), crash/restart at any point.
 *
 * Faults: cut(a,b), isolate(id), drop(from,to,p), ignore(type), duplicate(p),
 * recover(). All randomness comes from one seeded PRNG.
 *
 * Every node's state machine is a digest of the entries it applied; the
 * SafetyChecker sees every apply and every snapshot restore.
 */
import { type ConfChange, decodeConfChange } from '../../src/raft/conf-change.js';
import type { RaftConfig } from '../../src/raft/config.js';
import { describeMessage } from '../../src/raft/describe.js';
import {
  ProposalDroppedError,
  ReadIndexDroppedError,
  StepLocalMsgError,
  StepPeerNotFoundError,
} from '../../src/raft/errors.js';
import { bootstrapState } from '../../src/raft/bootstrap.js';
import type { Logger } from '../../src/raft/logger.js';
import { type ConfState, type Entry, EntryType, type Message, MessageType } from '../../src/raft/messages.js';
import { createPrng } from '../../src/util/prng.js';
import type { Raft } from '../../src/raft/raft.js';
import { type ProposalRef, RawNode, type Ready } from '../../src/raft/rawnode.js';
import type { ReadState } from '../../src/raft/read-only.js';
import { Role } from '../../src/raft/role.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { SafetyChecker, SafetyViolation } from './checker.js';

export interface NetworkOptions {
  /** Initial voters. */
  ids: number[];
  seed?: number;
  /** Config shared by all nodes (id, storage, applied, rng are set by the network). */
  config?: Partial<RaftConfig>;
  /** Per-node config overrides. */
  configFor?: (id: number) => Partial<RaftConfig>;
  /**
   * 'log' (default): every initial member starts from bootstrapState(ids), the
   * production path. 'config': membership comes from RaftConfig.voters.
   */
  bootstrap?: 'log' | 'config';
  logger?: (id: number) => Logger;
  /** Breaks the Ready contract by sending persistedMessages before the write; only for tests that prove it matters. */
  unsafeSendBeforePersist?: boolean;
  /** Keep the last N events for failure reports (0 = off). */
  traceSize?: number;
}

/** FNV-1a over a string, continuing from `h`. */
function fnv(h: number, s: string): number {
  let x = h >>> 0 || 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

export interface SnapshotPayload {
  applied: number;
  digest: number;
}

export class SimNode {
  raw: RawNode | undefined = undefined;
  outstanding: Ready | undefined = undefined;
  /** How many of the outstanding Ready's committed entries were applied before its write finished. */
  earlyApplied = 0;
  /** Index of the last applied entry, and a digest of everything applied. */
  applied = 0;
  /** Term of the entry at `applied` (a snapshot must record that term). */
  appliedTerm = 0;
  digest = 0;
  confState: ConfState = { voters: [], learners: [] };
  readonly readStates: ReadState[] = [];
  restarts = 0;

  constructor(
    readonly id: number,
    /** The node's disk: only what finishReady wrote survives a crash. */
    readonly storage: MemoryStorage,
  ) {}

  get up(): boolean {
    return this.raw !== undefined;
  }

  get raft(): Raft {
    if (this.raw === undefined) throw new Error(`node ${this.id} is down`);
    return this.raw.raft;
  }
}

export class Network {
  readonly nodes = new Map<number, SimNode>();
  readonly checker = new SafetyChecker();
  readonly rng: () => number;
  readonly seed: number;
  /** Messages on the wire. */
  pool: Message[] = [];
  private readonly dropRates = new Map<string, number>();
  private readonly ignored = new Set<MessageType>();
  private duplicateRate = 0;
  private readonly trace: string[] = [];
  private readonly traceSize: number;
  /** What happened, for tests that must prove they exercised something. */
  readonly stats = { delivered: new Map<MessageType, number>(), dropped: 0, crashes: 0, restarts: 0, compactions: 0, readStates: 0, takenWhileWriting: 0, sentWhileWriting: 0, sentBetweenReadies: 0 };
  /** Reads asked through readIndex(): the lowest index a linearizable answer may carry. */
  private readonly readFloor = new Map<string, number>();

  constructor(private readonly opts: NetworkOptions) {
    this.seed = opts.seed ?? 1;
    this.rng = createPrng(this.seed);
    this.traceSize = opts.traceSize ?? 0;
    for (const id of opts.ids) this.addNode(id, { bootstrap: true });
    this.stabilize();
  }

  // ---- membership of the simulation -----------------------------------

  /**
   * Creates a node. Founding members (bootstrap) get the initial log; a node
   * joining later starts empty and learns everything from the leader.
   */
  addNode(id: number, { bootstrap = false }: { bootstrap?: boolean } = {}): SimNode {
    if (this.nodes.has(id)) throw new Error(`node ${id} exists`);
    const storage = new MemoryStorage();
    if (bootstrap && (this.opts.bootstrap ?? 'log') === 'log') {
      const b = bootstrapState(this.opts.ids);
      storage.append(b.entries);
      storage.setHardState(b.hardState);
    }
    const node = new SimNode(id, storage);
    this.nodes.set(id, node);
    this.start(node);
    return node;
  }

  node(id: number): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: number): Raft {
    return this.node(id).raft;
  }

  ids(): number[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  upNodes(): SimNode[] {
    return this.ids()
      .map((id) => this.node(id))
      .filter((n) => n.up);
  }

  /** Ids of nodes that currently believe they lead. */
  leaders(): number[] {
    return this.upNodes()
      .filter((n) => n.raft.role === Role.Leader)
      .map((n) => n.id);
  }

  /** The leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.upNodes()) {
      if (n.raft.role === Role.Leader && (best === undefined || n.raft.term > best.raft.term)) best = n;
    }
    return best;
  }

  private start(node: SimNode): void {
    const snap = node.storage.snapshot();
    const payload = snap.metadata.index > 0 ? (JSON.parse(snap.data.toString('utf8')) as SnapshotPayload) : undefined;
    node.applied = snap.metadata.index;
    node.appliedTerm = snap.metadata.term;
    node.digest = payload?.digest ?? 0;
    node.confState = { voters: [...snap.metadata.confState.voters], learners: [...snap.metadata.confState.learners] };
    node.outstanding = undefined;
    // In 'config' mode membership lives only in the config until a snapshot records it.
    const useConfig = (this.opts.bootstrap ?? 'log') === 'config' && this.opts.ids.includes(node.id) && snap.metadata.index === 0;
    const config: RaftConfig = {
      ...this.opts.config,
      ...this.opts.configFor?.(node.id),
      id: node.id,
      storage: node.storage,
      applied: snap.metadata.index,
      voters: useConfig ? this.opts.ids : [],
      rng: createPrng((this.seed * 1_000_003 + node.id * 7919 + node.restarts * 104_729) >>> 0),
    };
    if (this.opts.logger !== undefined) config.logger = this.opts.logger(node.id);
    if (useConfig) node.confState = { voters: [...this.opts.ids], learners: [] };
    node.raw = new RawNode(config);
  }

  // ---- faults ------------------------------------------------------------

  /** Drops messages from → to with probability p. */
  drop(from: number, to: number, p: number): void {
    this.dropRates.set(`${from}-${to}`, p);
  }

  /** No messages between a and b, either way. */
  cut(a: number, b: number): void {
    this.drop(a, b, 1);
    this.drop(b, a, 1);
  }

  isolate(id: number): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  /** Splits the cluster into groups that cannot talk to each other. */
  partition(...groups: number[][]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        for (const a of groups[i] as number[]) for (const b of groups[j] as number[]) this.cut(a, b);
      }
    }
  }

  ignore(t: MessageType): void {
    this.ignored.add(t);
  }

  /** Each message posted is duplicated with probability p. */
  duplicate(p: number): void {
    this.duplicateRate = p;
  }

  recover(): void {
    this.dropRates.clear();
    this.ignored.clear();
    this.duplicateRate = 0;
  }

  private filtered(m: Message): boolean {
    if (this.ignored.has(m.type)) return true;
    const p = this.dropRates.get(`${m.from}-${m.to}`);
    return p !== undefined && p > 0 && (p >= 1 || this.rng() < p);
  }

  // ---- crashes -----------------------------------------------------------

  /** The process dies: memory is lost, the disk (MemoryStorage) keeps what was written. */
  crash(id: number): void {
    const node = this.node(id);
    if (!node.up) return;
    this.stats.crashes++;
    this.log(`crash ${id}`);
    node.raw = undefined;
    node.outstanding = undefined;
  }

  restart(id: number): void {
    const node = this.node(id);
    if (node.up) return;
    node.restarts++;
    this.stats.restarts++;
    this.log(`restart ${id}`);
    this.start(node);
  }

  /**
   * The node's disk is wiped and it starts again as a founding member would
   * (bootstrap log from the founding ids), having forgotten everything it
   * acknowledged.
   */
  wipe(id: number): void {
    const old = this.node(id);
    this.crash(id);
    const storage = new MemoryStorage();
    const b = bootstrapState(this.opts.ids);
    storage.append(b.entries);
    storage.setHardState(b.hardState);
    const node = new SimNode(id, storage);
    node.restarts = old.restarts + 1;
    this.nodes.set(id, node);
    this.log(`wipe ${id}`);
    this.start(node);
  }

  // ---- messages ------------------------------------------------------------

  /** Puts messages on the wire (possibly twice). */
  post(msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.pool.push(m);
      if (this.duplicateRate > 0 && this.rng() < this.duplicateRate) this.pool.push(m);
    }
  }

  /**
   * Delivers one message now, unless a fault filters it or its target is
   * down. Like a real transport, it tells the sender how a snapshot fared and
   * when a peer cannot be reached.
   */
  deliver(m: Message): void {
    const p = this.dropRates.get(`${m.from}-${m.to}`);
    if (this.filtered(m)) {
      this.lose(m, p !== undefined && p >= 1);
      return;
    }
    const node = this.nodes.get(m.to);
    if (node?.raw === undefined) {
      this.lose(m, true);
      return;
    }
    this.stats.delivered.set(m.type, (this.stats.delivered.get(m.type) ?? 0) + 1);
    this.log(`deliver ${describeMessage(m)}`);
    try {
      node.raw.step(m);
    } catch (err) {
      if (err instanceof StepPeerNotFoundError || err instanceof StepLocalMsgError || err instanceof ReadIndexDroppedError) return;
      throw err;
    }
    if (m.type === MessageType.Snap) this.nodes.get(m.from)?.raw?.reportSnapshot(m.to, 'finish');
  }

  /** A message that will never arrive; `unreachable` when the sender's transport would notice. */
  lose(m: Message, unreachable = false): void {
    this.stats.dropped++;
    this.log(`drop ${describeMessage(m)}`);
    const sender = this.nodes.get(m.from)?.raw;
    if (sender === undefined) return;
    if (m.type === MessageType.Snap) sender.reportSnapshot(m.to, 'failure');
    if (unreachable) sender.reportUnreachable(m.to);
  }

  /** Takes the message at position i off the wire and delivers it. */
  deliverAt(i: number): void {
    const [m] = this.pool.splice(i, 1);
    if (m !== undefined) this.deliver(m);
  }

  /** One hop: delivers msgs (subject to faults) without handling any Ready. */
  dispatch(msgs: readonly Message[]): void {
    for (const m of msgs) this.deliver(m);
  }

  /** Delivers msgs and everything they cause until the cluster is quiet. */
  send(msgs: readonly Message[]): void {
    this.post(msgs);
    this.stabilize();
  }

  /**
   * Handles every Ready and delivers every message (FIFO) until nothing is
   * left. Bounded: a livelock fails the test instead of hanging it.
   */
  stabilize(maxSteps = 100_000): void {
    for (let step = 0; step < maxSteps; step++) {
      let busy = false;
      for (const node of this.upNodes()) {
        while (this.handleReady(node.id)) busy = true;
      }
      const m = this.pool.shift();
      if (m !== undefined) {
        this.deliver(m);
        busy = true;
      }
      if (!busy) return;
    }
    throw new Error(`network did not stabilize within ${maxSteps} steps`);
  }

  /** Handles the node's pending Ready, if any, start to finish. Returns whether there was one. */
  handleReady(id: number): boolean {
    if (!this.beginReady(id)) return false;
    this.finishReady(id);
    return true;
  }

  /** Ready contract steps 1–2: take the Ready, put its immediate messages on the wire. */
  beginReady(id: number): boolean {
    const node = this.node(id);
    if (node.raw === undefined || node.outstanding !== undefined || !node.raw.hasReady()) return false;
    const rd = node.raw.ready();
    node.outstanding = rd;
    this.post(rd.messages);
    if (this.opts.unsafeSendBeforePersist === true) this.post(rd.persistedMessages);
    // Like the driver: committed entries already on disk are applied while the write runs.
    node.earlyApplied = 0;
    if (rd.snapshot === undefined) {
      // Stable entries only: the core may be replacing a conflicting suffix the disk still holds.
      const durable = Math.min(node.storage.lastIndex(), node.raw.stableIndex());
      while (node.earlyApplied < rd.committedEntries.length && rd.committedEntries[node.earlyApplied]!.index <= durable) {
        this.apply(node, rd.committedEntries[node.earlyApplied]!);
        node.earlyApplied++;
      }
    }
    return true;
  }

  /**
   * Like the driver while a write is in flight: messages that may leave at
   * once go out, confirmed reads are answered, and entries that committed
   * since and are durable here are applied (RawNode.takeMessages,
   * takeReadStates, takeCommitted).
   */
  workWhileWriting(id: number): number {
    const node = this.node(id);
    const rd = node.outstanding;
    if (node.raw === undefined || rd === undefined) return 0;
    const msgs = node.raw.takeMessages();
    this.stats.sentWhileWriting += msgs.length;
    this.post(msgs);
    for (const rs of node.raw.takeReadStates()) this.onReadState(node, rs);
    if (node.earlyApplied < rd.committedEntries.length || rd.snapshot !== undefined) return 0;
    const ents = node.raw.takeCommitted(node.storage.lastIndex());
    for (const e of ents) this.apply(node, e);
    this.stats.takenWhileWriting += ents.length;
    return ents.length;
  }

  /**
   * Like the driver when a heartbeat or its answer arrives: whether or not a
   * write is in flight, messages that may leave at once go out and confirmed
   * reads are answered, without waiting for the next Ready.
   */
  sendAndAnswerNow(id: number): void {
    const node = this.node(id);
    if (node.raw === undefined) return;
    const msgs = node.raw.takeMessages();
    this.stats.sentBetweenReadies += msgs.length;
    this.post(msgs);
    for (const rs of node.raw.takeReadStates()) this.onReadState(node, rs);
  }

  /** Ready contract steps 3–6: write, send persisted messages, apply, advance. */
  finishReady(id: number): boolean {
    const node = this.node(id);
    const rd = node.outstanding;
    if (node.raw === undefined || rd === undefined) return false;
    const storage = node.storage;
    // 3. the durable write
    if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
    // 4.
    if (this.opts.unsafeSendBeforePersist !== true) this.post(rd.persistedMessages);
    // 5.
    if (rd.snapshot !== undefined) {
      const payload = JSON.parse(rd.snapshot.data.toString('utf8')) as SnapshotPayload;
      node.applied = rd.snapshot.metadata.index;
      node.appliedTerm = rd.snapshot.metadata.term;
      node.digest = payload.digest;
      node.confState = rd.snapshot.metadata.confState;
      this.checker.onRestore(id, node.applied, node.digest);
    }
    for (let i = node.earlyApplied; i < rd.committedEntries.length; i++) this.apply(node, rd.committedEntries[i]!);
    for (const rs of rd.readStates) this.onReadState(node, rs);
    // 6.
    node.outstanding = undefined;
    node.raw.advance(rd);
    return true;
  }

  private apply(node: SimNode, e: Entry): void {
    if (e.index !== node.applied + 1) throw new SafetyViolation(`node ${node.id} applied ${e.index} after ${node.applied}`);
    if (e.type === EntryType.ConfChange) {
      const cc: ConfChange = decodeConfChange(e.data);
      node.confState = (node.raw as RawNode).applyConfChange(cc);
    }
    node.applied = e.index;
    node.appliedTerm = e.term;
    node.digest = fnv(node.digest, `${e.index}:${e.term}:${e.type}:${e.data.toString('hex')}`);
    this.checker.onApply(node.id, e, node.digest);
  }

  private onReadState(node: SimNode, rs: ReadState): void {
    node.readStates.push(rs);
    this.stats.readStates++;
    const key = rs.requestCtx.toString('hex');
    const floor = this.readFloor.get(key);
    if (floor !== undefined && rs.index < floor) {
      throw new SafetyViolation(`linearizable read: node ${node.id} read at index ${rs.index} but ${floor} was acknowledged before the read began`);
    }
  }

  // ---- client operations ---------------------------------------------------

  /** Proposes on node id; returns where it landed, or undefined if dropped or forwarded. */
  propose(id: number, data: string | Buffer): ProposalRef | undefined {
    const node = this.node(id);
    if (node.raw === undefined) return undefined;
    try {
      return node.raw.propose(typeof data === 'string' ? Buffer.from(data) : data);
    } catch (err) {
      if (err instanceof ProposalDroppedError) return undefined;
      throw err;
    }
  }

  proposeConfChange(id: number, cc: ConfChange): ProposalRef | undefined {
    const node = this.node(id);
    if (node.raw === undefined) return undefined;
    try {
      return node.raw.proposeConfChange(cc);
    } catch (err) {
      if (err instanceof ProposalDroppedError) return undefined;
      throw err;
    }
  }

  /** Starts a read on node id; a linearizable answer must not be below what was acknowledged before now. */
  readIndex(id: number, ctx: Buffer): boolean {
    const node = this.node(id);
    if (node.raw === undefined) return false;
    this.readFloor.set(ctx.toString('hex'), this.checker.maxApplied);
    try {
      node.raw.readIndex(ctx);
      return true;
    } catch (err) {
      if (err instanceof ReadIndexDroppedError) return false;
      throw err;
    }
  }

  campaign(id: number): void {
    this.node(id).raw?.campaign();
    this.stabilize();
  }

  tick(id: number, n = 1): void {
    const raw = this.node(id).raw;
    for (let i = 0; i < n; i++) raw?.tick();
  }

  /** Ticks every live node n times, stabilizing after each round of ticks. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.upNodes()) node.raw?.tick();
      this.stabilize();
    }
  }

  /**
   * Snapshots node id's state machine at its applied index and compacts its
   * log up to there (what a driver does to bound its log).
   */
  compact(id: number): boolean {
    const node = this.node(id);
    const snapIndex = node.storage.snapshot().metadata.index;
    if (!node.up || node.applied <= snapIndex || node.applied > node.storage.lastIndex()) return false;
    const payload: SnapshotPayload = { applied: node.applied, digest: node.digest };
    // The disk must hold, at the applied index, the entry that was applied (an
    // entry applied before its write replaced a conflicting one would not be).
    const onDisk = node.storage.term(node.applied);
    if (onDisk !== node.appliedTerm) {
      throw new SafetyViolation(`node ${id} would snapshot index ${node.applied} with term ${onDisk} from its disk, but applied the entry of term ${node.appliedTerm}`);
    }
    node.storage.createSnapshot(node.applied, node.confState, Buffer.from(JSON.stringify(payload)));
    node.storage.compact(node.applied);
    this.stats.compactions++;
    this.log(`compact ${id} to ${node.applied}`);
    return true;
  }

  // ---- checks and reports -------------------------------------------------

  /** Checks the safety properties across all live nodes. */
  check(): void {
    this.checker.checkNodes(this.upNodes().map((n) => n.raft));
  }

  log(line: string): void {
    if (this.traceSize === 0) return;
    this.trace.push(line);
    if (this.trace.length > this.traceSize) this.trace.shift();
  }

  traceText(): string {
    return this.trace.join('\n');
  }
}
