/**
 * The driver's links to its peers: the transport (created once there is a
 * peer to talk to), Raft messages out (a MsgSnap only after its snapshot
 * file has been streamed, snapshot-transfer.ts), application frames and
 * pub/sub fan-out. What arrives is handed to the driver through
 * TransportEvents.
 */
import { MessageType, type Message, type RawNode } from '../raft/index.js';
import { FrameType } from '../transport/frame.js';
import type { Clock } from '../util/clock.js';
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

export class Peers {
  private transport: PeerTransport | undefined;
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
    this.transport?.removePeer?.(id);
  }

  /** On every tick: snapshot transfers that stalled are given up. */
  tick(): void {
    this.sender?.check();
  }

  /** Raft messages to peers; a MsgSnap goes out only after its file has been streamed. */
  send(msgs: readonly Message[]): void {
    let snaps = false;
    for (const m of msgs) if (m.type === MessageType.Snap) snaps = true;
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
    this.sender?.close();
    this.receiver?.close();
    await this.transport?.close();
  }
}
