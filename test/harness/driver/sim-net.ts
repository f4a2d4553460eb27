/**
 * The peer network of the driver harness: a PeerTransport per node
 * (src/node/options.ts) over the virtual Scheduler. Each Raft message is
 * encoded and decoded with the real codec (src/transport/codec.ts) when it
 * is sent, so nodes share no objects, and delivered as a task in the lane of
 * its link (from → to): FIFO per link, like the TCP connection of the real
 * transport, after a seeded delay. Application frames (snapshot chunks and
 * their acknowledgements) travel the same links.
 *
 * Faults, all drawn from the cluster's PRNG: drop (a Raft message is lost),
 * duplicate (delivered twice), reorder (it leaves its link's order: its own
 * lane, a longer delay), slow (extra delay on a link), and cuts (a link is
 * down: messages and frames on it are lost, even those already on the wire
 * when it was cut, and the sender is told the peer is unreachable, as the
 * real transport does when a connection fails). A node that is down (its
 * endpoint closed) receives nothing.
 */
import { MessageType, type Message } from '../../../src/raft/index.js';
import type { PeerTransport, TransportEvents } from '../../../src/node/options.js';
import { decodeMessage, encodeMessage } from '../../../src/transport/codec.js';
import type { ClockView, Scheduler } from './scheduler.js';

export interface NetFaults {
  /** One-way delay of a message, uniform in [min, max] virtual ms. */
  delay: [number, number];
  /** Probability that a Raft message is lost. */
  drop: number;
  /** Probability that a Raft message is delivered twice. */
  duplicate: number;
  /** Probability that a Raft message leaves its link's order. */
  reorder: number;
}

export const DEFAULT_FAULTS: NetFaults = { delay: [1, 3], drop: 0, duplicate: 0, reorder: 0 };

export class SimNet {
  faults: NetFaults;
  private readonly endpoints = new Map<number, SimEndpoint>();
  private readonly cuts = new Set<string>();
  private readonly slow = new Map<string, number>();
  /** When the last in-order delivery on each link is due (keeps links FIFO). */
  private readonly linkDue = new Map<string, number>();
  private reorderSeq = 0;
  readonly stats = { sent: 0, delivered: 0, dropped: 0, cutOff: 0, duplicated: 0, reordered: 0, frames: 0 };

  constructor(
    private readonly sched: Scheduler,
    private readonly rng: () => number,
    faults: Partial<NetFaults> = {},
  ) {
    this.faults = { ...DEFAULT_FAULTS, ...faults };
  }

  /** The transport of node `id`'s current process (replaces the one of an earlier process). */
  attach(id: number, view: ClockView, events: TransportEvents): SimEndpoint {
    const ep = new SimEndpoint(this, id, view, events);
    this.endpoints.set(id, ep);
    return ep;
  }

  /** Node id's process died: its endpoint receives nothing more. */
  detach(id: number): void {
    const ep = this.endpoints.get(id);
    if (ep !== undefined) ep.closed = true;
  }

  // ---- faults ------------------------------------------------------------

  cutOneWay(from: number, to: number): void {
    this.cuts.add(`${from}>${to}`);
  }

  cut(a: number, b: number): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** No link between `id` and any other node. */
  isolate(id: number, ids: readonly number[]): void {
    for (const other of ids) if (other !== id) this.cut(id, other);
  }

  /** Groups that cannot talk to each other. */
  partition(...groups: number[][]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) for (const a of groups[i]!) for (const b of groups[j]!) this.cut(a, b);
    }
  }

  /** Every cut and slow link repaired (rates stay). */
  heal(): void {
    this.cuts.clear();
    this.slow.clear();
  }

  /** Extra delay on the link from → to. */
  slowLink(from: number, to: number, ms: number): void {
    this.slow.set(`${from}>${to}`, ms);
  }

  isCut(from: number, to: number): boolean {
    return this.cuts.has(`${from}>${to}`);
  }

  /** Whether a frame can go from → to now (the link is up and the peer's process is). */
  linked(from: number, to: number): boolean {
    const ep = this.endpoints.get(to);
    return !this.isCut(from, to) && ep !== undefined && !ep.closed;
  }

  // ---- the wire --------------------------------------------------------------

  private delay(from: number, to: number): number {
    const [lo, hi] = this.faults.delay;
    return lo + Math.floor(this.rng() * (hi - lo + 1)) + (this.slow.get(`${from}>${to}`) ?? 0);
  }

  /** Schedules a delivery on the link (in order, or out of it). */
  private put(from: number, to: number, inOrder: boolean, deliver: () => void): void {
    const link = `${from}>${to}`;
    let delay = this.delay(from, to);
    let lane = `net:${link}`;
    if (inOrder) {
      const due = Math.max(this.sched.now + delay, this.linkDue.get(link) ?? 0);
      this.linkDue.set(link, due);
      delay = due - this.sched.now;
    } else {
      lane = `net:${link}:r${this.reorderSeq++}`;
      delay += Math.floor(this.rng() * 4 * (this.faults.delay[1] + 1));
    }
    // A stopped receiver (ClockView.frozen) takes it once it runs again, as from its socket buffer.
    this.sched.schedule(lane, delay, deliver, undefined, undefined, this.endpoints.get(to)?.view);
  }

  send(from: SimEndpoint, msgs: readonly Message[]): void {
    const unreachable = new Map<number, boolean>();
    for (const m of msgs) {
      this.stats.sent++;
      const to = m.to;
      if (!this.linked(from.id, to)) {
        this.stats.cutOff++;
        unreachable.set(to, (unreachable.get(to) ?? false) || m.type === MessageType.Snap);
        continue;
      }
      if (this.faults.drop > 0 && this.rng() < this.faults.drop) {
        this.stats.dropped++;
        continue;
      }
      const bytes = encodeMessage(m);
      const copies = this.faults.duplicate > 0 && this.rng() < this.faults.duplicate ? 2 : 1;
      if (copies === 2) this.stats.duplicated++;
      for (let c = 0; c < copies; c++) {
        const inOrder = !(this.faults.reorder > 0 && this.rng() < this.faults.reorder);
        if (!inOrder) this.stats.reordered++;
        this.put(from.id, to, inOrder, () => {
          const ep = this.endpoints.get(to);
          if (this.isCut(from.id, to) || ep === undefined || ep.closed) {
            this.stats.cutOff++;
            this.tellUnreachable(from.id, to, m.type === MessageType.Snap);
            return;
          }
          this.stats.delivered++;
          ep.events.deliver(decodeMessage(bytes));
        });
      }
    }
    for (const [to, snap] of unreachable) this.tellUnreachable(from.id, to, snap);
  }

  forward(from: SimEndpoint, to: number, type: number, body: Buffer): boolean {
    if (!this.linked(from.id, to)) return false;
    this.stats.frames++;
    const copy = Buffer.from(body);
    this.put(from.id, to, true, () => {
      const ep = this.endpoints.get(to);
      if (this.isCut(from.id, to) || ep === undefined || ep.closed) return;
      ep.events.frame(type, copy, from.id);
    });
    return true;
  }

  /** The sender's transport notices it cannot reach `to` (a task of the sender's process). */
  private tellUnreachable(from: number, to: number, snapshot: boolean): void {
    const ep = this.endpoints.get(from);
    if (ep === undefined || ep.closed) return;
    ep.view.add(`${ep.view.name}:transport`, 0, () => {
      if (!ep.closed) ep.events.unreachable(to, snapshot);
    });
  }

  status(from: number): ReadonlyMap<number, { connected: boolean }> {
    const m = new Map<number, { connected: boolean }>();
    for (const id of this.endpoints.keys()) if (id !== from) m.set(id, { connected: this.linked(from, id) && this.linked(id, from) });
    return m;
  }
}

export class SimEndpoint implements PeerTransport {
  closed = false;
  readonly peers = new Set<number>();

  constructor(
    private readonly net: SimNet,
    readonly id: number,
    readonly view: ClockView,
    readonly events: TransportEvents,
  ) {}

  addPeer(id: number): void {
    this.peers.add(id);
  }

  removePeer(id: number): void {
    this.peers.delete(id);
  }

  send(msgs: readonly Message[]): void {
    if (this.closed) return;
    this.net.send(this, msgs);
  }

  forward(to: number, type: number, body: Buffer): boolean {
    if (this.closed) return false;
    return this.net.forward(this, to, type, body);
  }

  broadcast(): number {
    return 0;
  }

  status(): ReadonlyMap<number, { connected: boolean }> {
    return this.net.status(this.id);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
