/**
 * A follower's Ready (src/node/ready-loop.ts processReady): its answer to
 * the leader leaves once the write is durable, and the committed entries
 * already on disk are applied after it. With the write on this thread
 * (storage.writesInline) that all happens at the write's completion, in the
 * same turn of the loop: no immediate is scheduled for the early apply. With
 * a write that may still be in flight when the loop turns (the thread pool),
 * the early apply is an immediate, and runs while the write is in flight.
 * The loop's parts are stubs that record what is done to them.
 */
import { describe, expect, it } from 'vitest';
import { ReadyLoop, type ReadyHost, type ReadyParts } from '../../../src/node/ready-loop.js';
import { MessageType, newEntry, newMessage, type Ready } from '../../../src/raft/index.js';
import type { Proposal } from '../../../src/node/state-machine.js';

function follower(writesInline: boolean, write: () => Promise<void>) {
  const calls: string[] = [];
  const immediates: Array<() => void> = [];
  const rd: Ready = {
    number: 1,
    readStates: [],
    entries: [newEntry(3, 1, Buffer.from('c'))],
    committedEntries: [newEntry(1, 1, Buffer.from('a')), newEntry(2, 1, Buffer.from('b'))],
    messages: [],
    persistedMessages: [newMessage({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 3 })],
    mustSync: true,
  };
  let pending = true;
  const nop = (): void => {};
  const rn = {
    hasReady: () => pending,
    ready: () => {
      pending = false;
      return rd;
    },
    isLeader: () => false,
    term: () => 1,
    leader: () => 1,
    stableIndex: () => 2,
    advance: () => calls.push('advance'),
    // What the Ready loop sends or answers before asking for a Ready (sendAndAnswerNow): nothing here.
    peekMessages: () => [],
    takeMessages: () => [],
    takeReadStates: () => [],
  };
  const parts = {
    rn,
    storage: {
      writesInline,
      lastStoredIndex: 2,
      persistReady: () => {
        calls.push('write');
        return write();
      },
      appliedTo: nop,
    },
    sm: {
      apply: (index: number) => {
        calls.push(`apply ${index}`);
        return false;
      },
    },
    writes: { flush: nop, at: () => undefined, appliedTo: nop, queued: false, deposed: nop },
    reads: { flush: nop, answer: nop, applied: nop, appliedUpTo: nop, queued: false, deposed: nop },
    snapshots: { applied: nop, maybeSnapshot: nop },
    peers: { send: (msgs: unknown[]) => calls.push(`send ${msgs.length}`) },
    membership: {},
    clock: { immediate: (fn: () => void) => immediates.push(fn) },
  } as unknown as ReadyParts<Proposal>;
  const host = {
    appliedIndex: 0,
    confState: { voters: [1, 2, 3], learners: [] },
    lastKnownLeader: 1,
    leaderHistory: { observe: nop },
    closed: false,
    failed: false,
    onFatal: (e: Error) => {
      throw e;
    },
  } as unknown as ReadyHost;
  return { loop: new ReadyLoop(host, parts), calls, immediates, host };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ReadyLoop: a follower acknowledges, then applies', () => {
  it('with the write on this thread: the answer, then the applies, at the write, and no immediate for them', async () => {
    const f = follower(true, () => Promise.resolve());
    f.loop.schedule();
    expect(f.immediates).toHaveLength(1);
    f.immediates.shift()!();
    await turn();
    expect(f.calls).toEqual(['write', 'send 1', 'apply 1', 'apply 2', 'advance']);
    expect(f.host.appliedIndex).toBe(2);
    // Nothing was left for a later turn of the loop.
    expect(f.immediates).toHaveLength(0);
  });

  it('with the write on the thread pool: the applies run while the write is in flight, the answer at its end', async () => {
    let done!: () => void;
    const f = follower(false, () => new Promise<void>((resolve) => (done = resolve)));
    f.loop.schedule();
    f.immediates.shift()!();
    await turn();
    expect(f.calls).toEqual(['write']);
    expect(f.immediates).toHaveLength(1);
    f.immediates.shift()!();
    expect(f.calls).toEqual(['write', 'apply 1', 'apply 2']);
    done();
    await turn();
    expect(f.calls).toEqual(['write', 'apply 1', 'apply 2', 'send 1', 'advance']);
  });
});
