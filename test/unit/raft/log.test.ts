/**
 * RaftLog and Unstable: the one view over durable and not-yet-durable
 * entries, conflict detection, and the invariants that throw.
 */
import { describe, expect, it } from 'vitest';
import { RaftInvariantError } from '../../../src/raft/errors.js';
import { RaftLog } from '../../../src/raft/log.js';
import { Unstable } from '../../../src/raft/log-unstable.js';
import { silentLogger } from '../../../src/raft/logger.js';
import type { Entry } from '../../../src/raft/messages.js';
import { CompactedError, MemoryStorage } from '../../../src/raft/storage.js';
import { ent, logIds } from '../../harness/builders.js';

const terms = (first: number, ts: number[]): Entry[] => ts.map((t, i) => ent(first + i, t));

function logWith(stable: number[], unstable: number[] = [], maxApplyingBytes = Infinity): RaftLog {
  const s = new MemoryStorage();
  s.append(terms(1, stable));
  const log = new RaftLog(s, silentLogger, maxApplyingBytes);
  log.append(terms(stable.length + 1, unstable));
  return log;
}

describe('Unstable', () => {
  it('knows the terms of its entries and of a pending snapshot', () => {
    const u = new Unstable(5, silentLogger);
    u.truncateAndAppend(terms(5, [1, 2]));
    expect([u.maybeTerm(4), u.maybeTerm(5), u.maybeTerm(6), u.maybeTerm(7)]).toEqual([undefined, 1, 2, undefined]);
    expect(u.maybeLastIndex()).toBe(6);
    expect(u.maybeFirstIndex()).toBeUndefined();
    u.restore({ metadata: { index: 9, term: 3, confState: { voters: [1], learners: [] } }, data: Buffer.alloc(0) });
    expect([u.maybeFirstIndex(), u.maybeLastIndex(), u.maybeTerm(9), u.maybeTerm(8)]).toEqual([10, 9, 3, undefined]);
  });

  it('truncateAndAppend appends, replaces from below the offset, or truncates inside', () => {
    const mk = (): Unstable => {
      const u = new Unstable(5, silentLogger);
      u.truncateAndAppend(terms(5, [1, 1, 1]));
      return u;
    };
    let u = mk();
    u.truncateAndAppend(terms(8, [2]));
    expect(logIds(u.entries)).toEqual(['1/5', '1/6', '1/7', '2/8']);
    u = mk();
    u.truncateAndAppend(terms(4, [3, 3]));
    expect([u.offset, ...logIds(u.entries)]).toEqual([4, '3/4', '3/5']);
    u = mk();
    u.truncateAndAppend(terms(6, [4]));
    expect(logIds(u.entries)).toEqual(['1/5', '4/6']);
  });

  it('entries handed out in a Ready are not handed out again; a truncation makes the replaced ones pending again', () => {
    const u = new Unstable(5, silentLogger);
    u.truncateAndAppend(terms(5, [1, 1, 1]));
    u.acceptInProgress();
    expect(u.nextEntries()).toEqual([]);
    u.truncateAndAppend(terms(8, [1]));
    expect(logIds(u.nextEntries())).toEqual(['1/8']);
    u.acceptInProgress();
    u.truncateAndAppend(terms(6, [2]));
    expect(logIds(u.nextEntries())).toEqual(['2/6']);
  });

  it('stableTo drops entries once durable, but not if they were replaced in the meantime', () => {
    const u = new Unstable(5, silentLogger);
    u.truncateAndAppend(terms(5, [1, 1, 1]));
    u.stableTo(6, 2); // wrong term: was replaced
    expect(u.offset).toBe(5);
    u.stableTo(6, 1);
    expect([u.offset, ...logIds(u.entries)]).toEqual([7, '1/7']);
    u.stableTo(9, 1); // not there
    expect(u.offset).toBe(7);
  });
});

describe('RaftLog', () => {
  it('reads across durable and unstable entries, with size limits', () => {
    const log = logWith([1, 1, 2], [2, 3]);
    expect(log.lastIndex()).toBe(5);
    expect(logIds(log.entries(2, Infinity))).toEqual(['1/2', '2/3', '2/4', '3/5']);
    expect(logIds(log.slice(2, 5, 0))).toEqual(['1/2']);
    expect([log.term(0), log.term(5), log.maybeTerm(6)]).toEqual([0, 3, undefined]);
  });

  it('after compaction, only the entry before the first keeps its term', () => {
    const s = new MemoryStorage();
    s.append(terms(1, [1, 2, 3, 4]));
    s.compact(2);
    const log = new RaftLog(s, silentLogger, Infinity);
    expect(log.firstIndex()).toBe(3);
    expect(log.term(2)).toBe(2);
    expect(() => log.term(1)).toThrow(CompactedError);
    expect(() => log.slice(2, 4, Infinity)).toThrow(CompactedError);
  });

  it('findConflict: the first entry that is new or has another term', () => {
    const log = logWith([1, 2, 3]);
    expect(log.findConflict(terms(1, [1, 2, 3]))).toBe(0);
    expect(log.findConflict(terms(2, [2, 3, 4]))).toBe(4);
    expect(log.findConflict(terms(2, [2, 4]))).toBe(3);
    expect(log.findConflict(terms(1, [4, 4]))).toBe(1);
  });

  it('findConflictByTerm: the last index at or below a given one whose term is not higher', () => {
    const log = logWith([1, 3, 3, 3, 5, 5, 5, 5, 5]);
    expect(log.findConflictByTerm(9, 2)).toEqual([1, 1]);
    expect(log.findConflictByTerm(9, 4)).toEqual([4, 3]);
    expect(log.findConflictByTerm(9, 5)).toEqual([9, 5]);
    expect(log.findConflictByTerm(3, 5)).toEqual([3, 3]);
    expect(log.findConflictByTerm(9, 0)).toEqual([0, 0]);
  });

  it('maybeAppend checks the anchor, truncates a conflicting tail, and commits up to the new entries', () => {
    const log = logWith([1, 2, 3]);
    expect(log.maybeAppend(3, 2, 3, terms(4, [4]))).toBeUndefined();
    expect(log.maybeAppend(2, 2, 10, terms(3, [4, 4]))).toBe(4);
    expect(logIds(log.allEntries())).toEqual(['1/1', '2/2', '4/3', '4/4']);
    expect(log.committed).toBe(4);
  });

  it('throws rather than replace a committed entry, commit past the log, or apply past the commit', () => {
    const log = logWith([1, 2, 3]);
    log.commitTo(2);
    expect(() => log.maybeAppend(1, 1, 2, terms(2, [9]))).toThrow(RaftInvariantError);
    expect(() => log.append(terms(2, [9]))).toThrow(RaftInvariantError);
    expect(() => log.commitTo(4)).toThrow(RaftInvariantError);
    expect(() => log.appliedTo(3)).toThrow(RaftInvariantError);
    log.commitTo(1); // never decreases
    expect(log.committed).toBe(2);
  });

  it('isUpToDate compares last terms, then last indexes (§5.4.1)', () => {
    const log = logWith([1, 2, 2]);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });

  it('maybeCommit commits only an entry of the given term (§5.4.2)', () => {
    const log = logWith([1, 2, 2]);
    expect(log.maybeCommit(1, 2)).toBe(false);
    expect(log.maybeCommit(3, 2)).toBe(true);
    expect(log.committed).toBe(3);
  });

  it('hands out committed entries within the per-Ready byte budget, and none while a snapshot is pending', () => {
    const log = logWith([1, 1, 1, 1], [], 2 * 24);
    log.commitTo(4);
    expect(logIds(log.nextCommittedEnts())).toEqual(['1/1', '1/2']);
    log.appliedTo(2);
    expect(logIds(log.nextCommittedEnts())).toEqual(['1/3', '1/4']);
    log.restore({ metadata: { index: 10, term: 2, confState: { voters: [1], learners: [] } }, data: Buffer.alloc(0) });
    expect(log.hasNextCommittedEnts()).toBe(false);
    expect(log.nextCommittedEnts()).toEqual([]);
  });
});
