/** Inflights, Progress state transitions, ProgressTracker quorum questions. */
import { describe, expect, it } from 'vitest';
import { RaftInvariantError } from '../../../src/raft/errors.js';
import { Inflights } from '../../../src/raft/tracker/inflights.js';
import { Progress } from '../../../src/raft/tracker/progress.js';
import { ProgressState } from '../../../src/raft/tracker/state.js';
import { ProgressTracker } from '../../../src/raft/tracker/tracker.js';
import { VoteResult } from '../../../src/raft/quorum.js';

const progress = (match: number, next: number, maxInflight = 3): Progress =>
  new Progress({ match, next, maxInflight, maxInflightBytes: 0, isLearner: false });

describe('Inflights', () => {
  it('fills up by count, frees acknowledged messages, and wraps around its ring', () => {
    const inf = new Inflights(4, 0);
    for (let i = 1; i <= 4; i++) inf.add(i * 10, 1);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(50, 1)).toThrow(RaftInvariantError);
    inf.freeLE(25);
    expect(inf.count()).toBe(2);
    inf.add(50, 1);
    inf.add(60, 1); // wraps
    expect(inf.full()).toBe(true);
    inf.freeLE(55);
    expect(inf.count()).toBe(1);
    inf.freeLE(100);
    expect(inf.count()).toBe(0);
    inf.freeLE(5); // nothing to free
    expect(inf.count()).toBe(0);
  });

  it('fills up by bytes', () => {
    const inf = new Inflights(100, 1000);
    inf.add(1, 600);
    expect(inf.full()).toBe(false);
    inf.add(2, 400);
    expect(inf.full()).toBe(true);
    inf.freeLE(1);
    expect([inf.full(), inf.bytes()]).toEqual([false, 400]);
  });

  it('behaves like a plain queue under random use', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    const inf = new Inflights(16, 0);
    const model: number[] = [];
    let next = 1;
    for (let i = 0; i < 5000; i++) {
      if (rnd() < 0.55 && model.length < 16) {
        next += 1 + Math.floor(rnd() * 3);
        inf.add(next, 1);
        model.push(next);
      } else {
        const to = next - Math.floor(rnd() * 10);
        inf.freeLE(to);
        while (model.length > 0 && (model[0] as number) <= to) model.shift();
      }
      expect(inf.count()).toBe(model.length);
      expect(inf.full()).toBe(model.length === 16);
    }
  });
});

describe('Progress', () => {
  it('probe → replicate on an acknowledgement, even of what it already knew', () => {
    const pr = progress(5, 6);
    expect(pr.onAppendAccepted(5, 1)).toBe(true);
    expect([pr.state, pr.next]).toEqual([ProgressState.Replicate, 6]);
    expect(pr.onAppendAccepted(4, 1)).toBe(false);
  });

  it('replicate advances next optimistically and tracks what is in flight', () => {
    const pr = progress(5, 6);
    pr.becomeReplicate();
    pr.sentEntries(3, 30);
    pr.sentEntries(2, 20);
    expect([pr.next, pr.inflights.count()]).toEqual([11, 2]);
    pr.onAppendAccepted(8, 1);
    expect([pr.match, pr.inflights.count()]).toEqual([8, 1]);
  });

  it('replicate → probe on a genuine rejection; stale ones are ignored', () => {
    const pr = progress(5, 6);
    pr.becomeReplicate();
    pr.sentEntries(5, 50);
    expect(pr.onAppendRejected(4, 0)).toBe(false);
    expect(pr.onAppendRejected(8, 6)).toBe(true);
    expect([pr.state, pr.next, pr.inflights.count()]).toEqual([ProgressState.Probe, 6, 0]);
  });

  it('a probe rejection lowers next to the hint, never below match + 1', () => {
    const pr = progress(2, 10);
    pr.sentEntries(0, 0);
    expect(pr.isPaused()).toBe(true);
    expect(pr.onAppendRejected(8, 3)).toBe(false); // not the probe we sent
    expect(pr.onAppendRejected(9, 4)).toBe(true);
    expect([pr.next, pr.isPaused()]).toEqual([5, false]);
    pr.sentEntries(0, 0);
    expect(pr.onAppendRejected(4, 0)).toBe(true);
    expect(pr.next).toBe(3);
  });

  it('snapshot → probe after the pending snapshot on success, from match on failure; → replicate on a catching-up ack', () => {
    let pr = progress(2, 3);
    pr.becomeSnapshot(10);
    expect([pr.isPaused(), pr.next]).toEqual([true, 11]);
    pr.onSnapshotStatus(false);
    expect([pr.state, pr.next, pr.isPaused()]).toEqual([ProgressState.Probe, 11, true]);

    pr = progress(2, 3);
    pr.becomeSnapshot(10);
    pr.onSnapshotStatus(true);
    expect([pr.state, pr.next, pr.pendingSnapshot]).toEqual([ProgressState.Probe, 3, 0]);

    pr = progress(2, 3);
    pr.becomeSnapshot(10);
    expect(pr.onAppendAccepted(10, 8)).toBe(true);
    expect([pr.state, pr.match, pr.next]).toEqual([ProgressState.Replicate, 10, 11]);
  });

  it('heartbeat answers unpause probes; unreachable drops replicate to probe', () => {
    const pr = progress(5, 6);
    pr.sentEntries(0, 0);
    pr.onHeartbeatResponse();
    expect([pr.isPaused(), pr.recentActive]).toEqual([false, true]);
    pr.becomeReplicate();
    pr.onUnreachable();
    expect(pr.state).toBe(ProgressState.Probe);
  });

  it('prints like etcd', () => {
    const pr = progress(11, 12, 3);
    pr.becomeReplicate();
    for (let i = 0; i < 3; i++) pr.sentEntries(1, 1);
    pr.recentActive = true;
    expect(pr.toString()).toBe('StateReplicate match=11 next=15 paused inflight=3[full]');
  });

  it('never lets match reach next', () => {
    expect(() => progress(5, 5)).toThrow(RaftInvariantError);
  });
});

describe('ProgressTracker', () => {
  it('commits what a majority of voters holds; learners do not count', () => {
    const t = new ProgressTracker(10, 0);
    t.setConfig({ voters: [1, 2, 3], learners: [4] }, 1);
    const matches: Record<number, number> = { 1: 9, 2: 5, 3: 2, 4: 9 };
    for (const id of t.ids()) {
      const pr = t.get(id);
      if (pr) pr.match = matches[id] ?? 0;
      if (pr) pr.next = (matches[id] ?? 0) + 1;
    }
    expect(t.committed()).toBe(5);
    expect(t.get(4)?.isLearner).toBe(true);
  });

  it('tallies votes; a repeated answer does not change the first', () => {
    const t = new ProgressTracker(10, 0);
    t.setConfig({ voters: [1, 2, 3, 4, 5], learners: [] }, 1);
    t.recordVote(1, true);
    t.recordVote(2, false);
    t.recordVote(2, true);
    expect(t.tallyVotes()).toEqual({ granted: 1, rejected: 1, result: VoteResult.Pending });
    t.recordVote(3, true);
    t.recordVote(4, true);
    expect(t.tallyVotes().result).toBe(VoteResult.Won);
  });

  it('keeps progress of members that stay and starts new ones probing, recently active', () => {
    const t = new ProgressTracker(10, 0);
    t.setConfig({ voters: [1, 2], learners: [] }, 5);
    const pr2 = t.get(2);
    t.setConfig({ voters: [1, 2, 3], learners: [] }, 8);
    expect(t.get(2)).toBe(pr2);
    expect([t.get(3)?.next, t.get(3)?.recentActive]).toEqual([8, true]);
    t.setConfig({ voters: [1, 3], learners: [2] }, 8);
    expect(t.get(2)?.isLearner).toBe(true);
    expect(t.confState()).toEqual({ voters: [1, 3], learners: [2] });
  });
});
