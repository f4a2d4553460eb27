/**
 * The cluster page's aggregation (src/server/cluster-view.ts): one view of
 * the cluster from the serving node's round of answers.
 */
import { describe, expect, it } from 'vitest';
import { aggregate, type Gathered, type MemberStatus, type PeerAnswer } from '../../../src/server/cluster-view.js';

const T0 = Date.UTC(2026, 0, 2, 12, 0, 0);

function st(id: number, extra: Partial<MemberStatus> = {}): MemberStatus {
  return {
    id, version: 'test', time: T0, uptimeSec: 60, addr: `127.0.0.${id}:6379`, clusterAddr: `127.0.0.${id}:16379`,
    role: 'follower', membership: 'voter', term: 3, leader: 2, commit: 100, applied: 100, lastIndex: 100, firstIndex: 1,
    snapshotIndex: 0, logBytes: 1000, opsPerSec: 5, totalCommands: 50, usedMemory: 1 << 20, rss: 1 << 24, keys: 10, clients: 1,
    links: [], leaderChanges: [], ...extra,
  };
}

const ok = (s: MemberStatus, rttMs = 1): PeerAnswer => ({ id: s.id, ok: true, status: s, rttMs });
const known = new Map([1, 2, 3].map((id) => [id, { host: `127.0.0.${id}`, port: 6379, clusterPort: 16379 }]));

describe('aggregate', () => {
  it('shows every member, the leader, and lag from the leader\'s progress', () => {
    const leader = st(2, {
      role: 'leader', commit: 120, lastIndex: 125,
      progress: [
        { id: 1, match: 125, next: 126, state: 'replicate', active: true, learner: false },
        { id: 2, match: 125, next: 126, state: 'replicate', active: true, learner: false },
        { id: 3, match: 90, next: 91, state: 'probe', active: false, learner: false },
      ],
      leaderChanges: [{ time: T0 - 5000, term: 3, leader: 2 }],
    });
    const g: Gathered = {
      self: st(1, { links: [{ id: 2, connected: true, inbound: true }, { id: 3, connected: false, inbound: true, error: 'ECONNREFUSED' }], leaderChanges: [{ time: T0 - 4990, term: 3, leader: 2 }] }),
      peers: [ok(leader, 3), ok(st(3, { applied: 80, commit: 90 }))],
      time: T0,
    };
    const v = aggregate(g, known);
    expect(v).toMatchObject({ servedBy: 1, leader: 2, term: 3, reachable: 3, total: 3, quorum: true, notes: [] });
    expect(v.members.map((m) => [m.id, m.reachable, m.lag, m.lagSource])).toEqual([
      [1, true, 0, 'leader'],
      [2, true, 0, 'leader'],
      [3, true, 35, 'leader'],
    ]);
    expect(v.members[2]!.progress).toEqual({ state: 'probe', match: 90, active: false });
    expect(v.members[2]!.link).toEqual({ connected: false, inbound: true, error: 'ECONNREFUSED' });
    expect(v.members[1]!.rttMs).toBe(3);
    // One change, seen by two nodes: listed once at the earliest time.
    expect(v.leaderChanges).toEqual([{ time: T0 - 5000, term: 3, leader: 2, seenBy: [1, 2] }]);
  });

  it('says since when and why a member is unreachable, and keeps its address', () => {
    const g: Gathered = {
      self: st(1, { leader: 2 }),
      peers: [ok(st(2, { role: 'leader', progress: [{ id: 3, match: 40, next: 41, state: 'probe', active: false, learner: false }] })), { id: 3, ok: false, reason: 'no answer within 700 ms', since: T0 - 65_000, lastSeen: T0 - 66_000 }],
      time: T0,
    };
    const v = aggregate(g, known);
    const m3 = v.members[2]!;
    expect(m3).toMatchObject({ id: 3, reachable: false, addr: '127.0.0.3:6379', clusterAddr: '127.0.0.3:16379', since: T0 - 65_000, lastSeen: T0 - 66_000, lag: 60, lagSource: 'leader' });
    expect(m3.status).toBeUndefined();
    expect(v.quorum).toBe(true);
    expect(v.notes).toEqual(['node 3: unreachable since 11:58:55 UTC (from node 1): no answer within 700 ms; last answer at 11:58:54 UTC']);
  });

  it('without the leader\'s answer measures lag against the highest commit and says so', () => {
    const g: Gathered = {
      self: st(1, { leader: 2, commit: 200, applied: 190 }),
      peers: [{ id: 2, ok: false, reason: 'no connection (connect ECONNREFUSED 127.0.0.2:16379)', since: T0 - 1000 }, ok(st(3, { leader: 2, commit: 150, applied: 150 }))],
      time: T0,
    };
    const v = aggregate(g, known);
    expect(v.leader).toBe(2);
    expect(v.members.map((m) => m.lag)).toEqual([10, undefined, 50]);
    expect(v.members[0]!.lagSource).toBe('commit');
    expect(v.notes).toContain('leader node 2 did not answer: lag is measured against the highest commit index reported');
    expect(v.notes[0]).toMatch(/^node 2: unreachable since 11:59:59 UTC \(from node 1\): no connection/);
  });

  it('a node cut off from the majority sees no leader and says it reaches no majority', () => {
    const g: Gathered = {
      self: st(1, { role: 'precandidate', leader: 0 }),
      peers: [2, 3].map((id): PeerAnswer => ({ id, ok: false, reason: 'no answer within 700 ms', since: T0 - 3000, lastSeen: T0 - 4000 })),
      time: T0,
    };
    const v = aggregate(g, known);
    expect(v).toMatchObject({ leader: 0, reachable: 1, total: 3, quorum: false });
    expect(v.notes).toHaveLength(3);
    expect(v.notes[2]).toBe('no leader visible from node 1: it reaches 1 of 3 members, not a majority; the other side may have a leader this node cannot see');
  });

  it('a deposed leader still claiming its old term loses to the leader of a higher term', () => {
    const g: Gathered = {
      self: st(1, { role: 'leader', term: 3, leader: 1 }),
      peers: [ok(st(2, { role: 'leader', term: 4, leader: 2 })), ok(st(3, { term: 4, leader: 2 }))],
      time: T0,
    };
    expect(aggregate(g, known)).toMatchObject({ leader: 2, term: 4 });
  });

  it('merges leader changes from every node, ordered by term, bounded, tolerating a reply without the field', () => {
    const changes = Array.from({ length: 30 }, (_, i) => ({ time: T0 + i * 1000, term: i + 1, leader: (i % 3) + 1 }));
    const odd = st(3) as Partial<MemberStatus>;
    delete odd.leaderChanges;
    const g: Gathered = {
      self: st(1, { leaderChanges: changes.slice(0, 20) }),
      peers: [ok(st(2, { leaderChanges: changes.slice(10).map((c) => ({ ...c, time: c.time + 7 })) })), ok(odd as MemberStatus)],
      time: T0,
    };
    const v = aggregate(g, known);
    expect(v.leaderChanges).toHaveLength(20);
    expect(v.leaderChanges.map((c) => c.term)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    expect(v.leaderChanges[0]).toEqual({ time: T0 + 10_000, term: 11, leader: 2, seenBy: [1, 2] });
    expect(v.leaderChanges[19]).toEqual({ time: T0 + 29_007, term: 30, leader: 3, seenBy: [2] });
  });
});
