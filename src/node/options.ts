/**
 * The driver's options and the transport it is given: what the layer above
 * and the command line choose (src/commands/engine/engine.ts, src/cli/start.ts).
 */
import type { Message } from '../raft/index.js';
import type { Databases } from '../keyspace/databases.js';
import type { RaftStorage } from '../storage/raft-storage.js';
import type { Clock } from '../util/clock.js';
import type { Member } from './membership.js';
import type { Proposal, StateMachine } from './state-machine.js';

/** What the transport hands the driver (src/transport implements the other side). */
export interface TransportEvents {
  /** A Raft message arrived. */
  deliver(m: Message): void;
  /** A peer could not be reached (and a snapshot to it failed, when `snapshot`). */
  unreachable(id: number, snapshot: boolean): void;
  /** An application frame (forwarded commands, snapshot chunks) arrived. */
  frame(type: number, body: Buffer, from: number): void;
  /** A pub/sub frame arrived. */
  pubsub(body: Buffer, from: number): void;
  isMember(id: number): boolean;
  /** A peer refused our handshake with this code. */
  rejected(id: number, code: number): void;
}

/** A peer link as the transport reports it (src/transport's PeerStatus has more). */
export interface PeerLinkStatus {
  /** Our outgoing connection is up and past the handshake. */
  connected: boolean;
  /** The peer's connection to us is up. */
  inbound?: boolean;
  /** Why our outgoing connection last failed. */
  lastError?: string | undefined;
}

/** The peer transport as the driver uses it (src/transport implements it). */
export interface PeerTransport {
  start?(): Promise<void>;
  addPeer?(id: number, addr: { host: string; clusterPort: number }): void;
  removePeer?(id: number): void;
  send(msgs: readonly Message[]): void;
  /** Sends an application frame (FrameType.ForwardCommand/ForwardReply, snapshot chunks); false if there is no link. */
  forward?(to: number, type: number, body: Buffer): boolean;
  /** Sends a frame to every connected peer (pub/sub fan-out); how many peers it went to. */
  broadcast?(type: number, body: Buffer): number;
  close(): Promise<void>;
  status?(): ReadonlyMap<number, PeerLinkStatus>;
}

export interface NodeOptions<P extends Proposal> {
  id: number;
  dir: string;
  /** The state machine's data: snapshots are taken of it and loaded into it. */
  dbs: Databases;
  /** Applies committed entries (the layer above). */
  stateMachine: StateMachine<P>;
  /** The founding members (from --peers), this node included; a node that joins: the members it learned. */
  members: Member[];
  /** Joining an existing cluster (--join): start with an empty log instead of bootstrapping one. */
  joining?: boolean;
  /** This node was removed from the cluster: the process should stop. */
  onRemoved?: () => void;
  /** Called when the node cannot go on safely (e.g. the disk failed); the process should exit. */
  onFatal: (err: Error) => void;
  /** Builds the transport. Absent for a one-member cluster that never grows. */
  transport?: (events: TransportEvents) => PeerTransport;
  /** Receives application frames that are not the driver's own (forwarded commands). */
  onPeerFrame?: (type: number, body: Buffer, from: number) => void;
  /** Receives pub/sub frames from peers. */
  onPubSub?: (body: Buffer, from: number) => void;
  /** Opens the Raft log (default: RaftStorage.open on `dir`); the driver harness passes a fake one. */
  openStorage?: (dir: string, unsafeNoFsync: boolean) => Promise<RaftStorage>;
  /** Time and timers (default: the real ones). */
  clock?: Clock;
  /** Length of a Raft tick in ms. */
  tickMs?: number;
  electionTick?: number;
  heartbeatTick?: number;
  readMode?: 'readindex' | 'lease';
  /** Take a snapshot once this many entries were applied since the last one (0: never automatically). */
  snapshotEntries?: number;
  /** …or once the entries applied since the last one hold this many bytes. */
  snapshotBytes?: number;
  /** Entries kept in the log behind a snapshot, for followers that are only a little behind. */
  snapshotKeepEntries?: number;
  /** The state machine's count of changes (Redis's dirty counter), for save points and rdb_changes_since_last_save. */
  changes?: () => number;
  /** Write the log without fsync (--unsafe-no-fsync: measurement only). */
  unsafeNoFsync?: boolean;
  /** How long a deposed leader keeps waiting for the fate of its in-flight writes. */
  uncertainWaitMs?: number;
  rng?: () => number;
}
