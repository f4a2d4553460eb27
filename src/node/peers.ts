/**
 * The driver's links to its peers: the transport (created once there is a
 * peer to talk to), Raft messages out (a MsgSnap only after its snapshot
 * file has been streamed, snapshot-transfer.ts), application frames and
 * pub/sub fan-out. What arrives is handed to the driver through
 * TransportEvents.
 */
import { MessageType, type Message, type RawNode } from '../raft/index.js';
import { FrameType } from '../transport/frame.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Member } from './membership.js';
import type { PeerLinkStatus, PeerTransport, TransportEvents } from './options.js';
import { SnapshotReceiver, SnapshotSender } from './snapshot-transfer.js';

export interface PeersHost {
  readonly dir: string;
  readonly clock: Clock;
  readonly closed: boolean;
  readonly rn: RawNode;
  scheduleReady(): void;
}

/**
 * How long a leader holds an append that carries no entries (a commit index
 * for a follower, or a probe) hoping that an append with entries to the same
 * follower, which carries the commit index too, makes it unnecessary (see
 * Peers.send).
 */
export const HOLD_EMPTY_APPEND_MS = 2;

export class Peers {
  private transport: PeerTransport | undefined;
  /** Empty appends held back (see send), at most one per follower: the latest. */
  private readonly held = new Map<number, Message>();
  private holdTimer: TimerHandle | undefined;
  private readonly sendHeld = (): void => {
    this.holdTimer = undefined;
    if (this.held.size === 0 || this.host.closed) return;
    const msgs = [...this.held.values()];
    this.held.clear();
    this.transport?.send(msgs);
  };
  private sender: SnapshotSender | undefined;
  private receiver: SnapshotReceiver | undefined;
  /** The transport's start (listening for peers), once created. */
  starting: Promise<void> | undefined;

  constructor(
    private readonly host: PeersHost,
    private readonly build: ((events: TransportEvents) => PeerTransport) | undefined,
    /** The driver's handlers; snapshot chunks are taken here, other frames passed on. */
    private readonly events: TransportEvents,
  ) {}

  /** Creates and starts the transport (at most once), linking to `members` other than `self`. */
  ensure(self: number, members: Iterable<Member>): void {
    if (this.transport !== undefined || this.build === undefined || this.host.closed) return;
    const h = this.host;
    const t = this.build({
      ...this.events,
      frame: (type, body, from) => {
        if (type === FrameType.SnapshotChunk) this.receiver?.onChunk(from, body);
        else if (type === FrameType.SnapshotChunkAck) this.sender?.onAck(from, body);
        else this.events.frame(type, body, from);
      },
    });
    this.transport = t;
    for (const m of members) if (m.id !== self) t.addPeer?.(m.id, { host: m.host, clusterPort: m.clusterPort });
    const sendFrame = (to: number, type: FrameType.SnapshotChunk | FrameType.SnapshotChunkAck, body: Buffer): boolean =>
      this.transport?.forward?.(to, type, body) ?? false;
    this.sender = new SnapshotSender(
      h.dir,
      sendFrame,
      (to, msg, ok) => {
        if (h.closed) return;
        if (ok) this.transport?.send([msg]);
        h.rn.reportSnapshot(to, ok ? 'finish' : 'failure');
        h.scheduleReady();
      },
      () => h.clock.now(),
    );
    this.receiver = new SnapshotReceiver(h.dir, sendFrame);
    this.starting = t.start?.();
  }

  /** Snapshot transfers ended here: sent (or failed) as leader, received as follower. */
  get snapshotTransfers(): { sent: number; failed: number; received: number } {
    return { sent: this.sender?.sent ?? 0, failed: this.sender?.failed ?? 0, received: this.receiver?.received ?? 0 };
  }

  get created(): boolean {
    return this.transport !== undefined;
  }

  addPeer(m: Member): void {
    this.transport?.addPeer?.(m.id, { host: m.host, clusterPort: m.clusterPort });
  }

  removePeer(id: number): void {
    this.held.delete(id);
    this.transport?.removePeer?.(id);
  }

  /** On every tick: snapshot transfers that stalled are given up. */
  tick(): void {
    this.sender?.check();
  }

  /**
   * Raft messages to peers; a MsgSnap goes out only after its file has been
   * streamed.
   *
   * An append without entries is held for up to HOLD_EMPTY_APPEND_MS and
   * dropped if an append with entries to the same follower goes out first
   * (or a heartbeat carrying a commit index at least as new).
   * The leader sends one to each follower whenever its commit index moves
   * (etcd's bcastAppend): under load that is once per batch, in the Ready
   * between a batch's commit and the next batch's proposals (the replies
   * must reach the clients before they send more), so every batch cost a
   * second round of messages, socket writes, follower Readies and answers.
   * Held, it is nearly always overtaken by the next batch's append, whose
   * commit index is as new. The leader's own commit and replies do not
   * wait for it: only a follower's apply, by at most the hold when the
   * cluster goes idle. Raft allows any message to be lost; the core's
   * heartbeats carry the commit index too.
   */
  send(msgs: readonly Message[]): void {
    let snaps = false;
    let hold = false;
    for (const m of msgs) {
      if (m.type === MessageType.Snap) snaps = true;
      else if (m.type === MessageType.App && m.entries.length === 0) hold = true;
    }
    if (hold || this.held.size > 0) msgs = this.holdEmptyAppends(msgs);
    if (msgs.length === 0) return;
    if (!snaps) {
      this.transport?.send(msgs);
      return;
    }
    const rest: Message[] = [];
    for (const m of msgs) {
      if (m.type !== MessageType.Snap) rest.push(m);
      else if (this.sender) this.sender.start(m);
    }
    if (rest.length > 0) this.transport?.send(rest);
  }

  /** send's filter: holds empty appends, drops held ones that an append with entries, or a heartbeat with as new a commit index, overtakes. */
  private holdEmptyAppends(msgs: readonly Message[]): Message[] {
    const out: Message[] = [];
    for (const m of msgs) {
      if (m.type === MessageType.App) {
        if (m.entries.length === 0) {
          // A later one replaces an earlier: its commit index is at least as new.
          this.held.set(m.to, m);
          continue;
        }
        this.held.delete(m.to);
      } else if (m.type === MessageType.Heartbeat && this.held.size > 0) {
        // A heartbeat carries the commit index too (no further than the follower's match).
        const h = this.held.get(m.to);
        if (h !== undefined && m.commit >= h.commit) this.held.delete(m.to);
      }
      out.push(m);
    }
    if (this.held.size > 0 && this.holdTimer === undefined) this.holdTimer = this.host.clock.timeout(this.sendHeld, HOLD_EMPTY_APPEND_MS);
    return out;
  }

  /** Sends an application frame to a peer; false when it cannot be sent. */
  forward(to: number, type: number, body: Buffer): boolean {
    return this.transport?.forward?.(to, type, body) ?? false;
  }

  /** Sends a frame to every connected peer (best effort); how many peers it went to. */
  broadcast(type: number, body: Buffer): number {
    return this.transport?.broadcast?.(type, body) ?? 0;
  }

  /** Our links with peer id, as the transport sees them (undefined: no transport or no such peer). */
  link(id: number): PeerLinkStatus | undefined {
    return this.transport?.status?.().get(id);
  }

  connected(id: number): boolean {
    return this.transport?.status?.().get(id)?.connected ?? false;
  }

  async close(): Promise<void> {
    this.host.clock.clear(this.holdTimer);
    this.holdTimer = undefined;
    this.held.clear();
    this.sender?.close();
    this.receiver?.close();
    await this.transport?.close();
  }
}
