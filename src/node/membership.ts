/**
 * The cluster's members as this node knows them: ids with their client and
 * peer addresses, kept in step with the applied configuration. Addresses
 * travel in conf-change contexts ("host:port@clusterPort") and in snapshots;
 * founding members' come from --peers. Also the clients waiting for a
 * membership change they asked for to be applied.
 *
 * What a change means for the process (peer links, the membership record on
 * disk, our own removal) is done through the MembershipPort.
 */
import { NodeRefusal } from './errors.js';
import { ConfChangeType, type ConfChange } from '../raft/index.js';
import type { StoredMember } from '../storage/log-store.js';

export type Member = StoredMember;

const lostChange = (): NodeRefusal => new NodeRefusal('lost', 'the membership change was lost in a leader change; retry it');

export interface MembershipPort {
  /** A member other than this node now exists (or moved): make sure there is a link to it. */
  peerUp(m: Member): void;
  /** A member other than this node left: drop its link. */
  peerGone(id: number): void;
  /** Record the members durably. */
  persist(list: Member[]): void;
  /** This node was removed by the conf change at `index`. */
  removedSelf(index: number): void;
}

/** A conf change's context for a member's address. */
export function memberAddressContext(m: Member): Buffer {
  return Buffer.from(`${m.host}:${m.port}@${m.clusterPort}`, 'utf8');
}

/** Parses a member address "host:port@clusterPort" from a conf change. */
export function parseMemberAddress(id: number, s: string): Member | undefined {
  const m = /^(.+):(\d+)@(\d+)$/.exec(s);
  if (!m) return undefined;
  return { id, host: m[1]!, port: Number(m[2]), clusterPort: Number(m[3]) };
}


export class Membership {
  readonly members = new Map<number, Member>();
  private readonly waiters = new Map<number, { term: number; done: (err?: Error) => void }>();

  constructor(
    private readonly selfId: number,
    private readonly port: MembershipPort,
  ) {}

  /** Replaces the members (at start: from the record on disk or --peers). */
  load(list: readonly Member[]): void {
    this.members.clear();
    for (const m of list) this.members.set(m.id, { ...m });
  }

  list(): Member[] {
    return [...this.members.values()];
  }

  hasPeers(): boolean {
    for (const id of this.members.keys()) if (id !== this.selfId) return true;
    return false;
  }

  /** Resolves when the conf change proposed at (index, term) is applied; rejects if another entry took its place. */
  waitApplied(index: number, term: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.set(index, { term, done: (err) => (err ? reject(err) : resolve()) });
    });
  }

  /** A conf change was applied at (index, term). */
  applied(cc: ConfChange, index: number, term: number): void {
    const w = this.waiters.get(index);
    if (w !== undefined) {
      this.waiters.delete(index);
      w.done(w.term === term ? undefined : lostChange());
    }
    for (const [i, other] of this.waiters) {
      if (i < index) {
        this.waiters.delete(i);
        other.done(lostChange());
      }
    }
    if (cc.context.length > 0) {
      const addr = parseMemberAddress(cc.nodeId, cc.context.toString('utf8'));
      if (addr !== undefined) this.members.set(cc.nodeId, addr);
    }
    if (cc.type === ConfChangeType.RemoveNode) {
      if (cc.nodeId === this.selfId) {
        this.port.removedSelf(index);
        return;
      }
      this.members.delete(cc.nodeId);
      this.port.peerGone(cc.nodeId);
    } else {
      const m = this.members.get(cc.nodeId);
      if (m !== undefined && cc.nodeId !== this.selfId) this.port.peerUp(m);
    }
    this.port.persist(this.list());
  }

  /** A snapshot from the leader names the members: take its addresses, keep our own entry. */
  adopt(list: readonly Member[]): void {
    if (list.length === 0) return;
    const self = this.members.get(this.selfId);
    const next = new Map<number, Member>();
    for (const m of list) next.set(m.id, { ...m });
    if (self !== undefined && !next.has(this.selfId)) next.set(this.selfId, self);
    for (const id of this.members.keys()) if (!next.has(id)) this.port.peerGone(id);
    this.members.clear();
    for (const [id, m] of next) this.members.set(id, m);
    for (const m of this.members.values()) if (m.id !== this.selfId) this.port.peerUp(m);
    this.port.persist(this.list());
  }
}
