/**
 * Peers.send holds appends without entries (a commit index for a follower,
 * or a probe) for HOLD_EMPTY_APPEND_MS, and drops one when an append with
 * entries to the same follower goes out first (src/node/peers.ts). A fake
 * transport records what leaves; a fake clock fires the hold's timer.
 */
import { describe, expect, it } from 'vitest';
import { HOLD_EMPTY_APPEND_MS, Peers, type PeersHost } from '../../../src/node/peers.js';
import type { PeerTransport, TransportEvents } from '../../../src/node/options.js';
import { EntryType, MessageType, newMessage, type Message, type RawNode } from '../../../src/raft/index.js';
import type { Clock, TimerHandle } from '../../../src/util/clock.js';

interface Timer extends TimerHandle {
  fn: () => void;
  ms: number;
  cleared: boolean;
}

function setup(): { peers: Peers; sent: Message[][]; timers: Timer[]; host: { closed: boolean } } {
  const timers: Timer[] = [];
  const clock: Clock = {
    now: () => 0,
    monotonic: () => 0,
    immediate: (fn) => fn(),
    timeout: (fn, ms) => {
      const t: Timer = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    interval: () => ({}),
    clear: (h) => {
      if (h !== undefined) (h as Timer).cleared = true;
    },
  };
  const host = { dir: '/nonexistent', clock, closed: false, rn: {} as RawNode, scheduleReady: () => {} };
  const sent: Message[][] = [];
  const transport: PeerTransport = { send: (msgs) => void sent.push([...msgs]), close: async () => {} };
  const events: TransportEvents = {
    deliver: () => {},
    unreachable: () => {},
    frame: () => {},
    pubsub: () => {},
    isMember: () => true,
    rejected: () => {},
  };
  const peers = new Peers(host as PeersHost, () => transport, events);
  peers.ensure(1, []);
  return { peers, sent, timers, host };
}

const app = (to: number, commit: number, entries = 0): Message =>
  newMessage({
    type: MessageType.App,
    from: 1,
    to,
    term: 2,
    index: 10,
    logTerm: 2,
    commit,
    entries: Array.from({ length: entries }, (_, i) => ({ index: 11 + i, term: 2, type: EntryType.Normal, data: Buffer.from('x') })),
  });
const beat = (to: number, commit = 5): Message => newMessage({ type: MessageType.Heartbeat, from: 1, to, term: 2, commit });

/** Runs the timers that are due and not cleared. */
function fire(timers: Timer[]): void {
  for (const t of timers.splice(0)) if (!t.cleared) t.fn();
}

describe('Peers: appends without entries are held', () => {
  it('holds them for HOLD_EMPTY_APPEND_MS, then sends the latest per follower', () => {
    const { peers, sent, timers } = setup();
    peers.send([app(2, 5), app(3, 5), beat(2)]);
    // Only the heartbeat left; one timer for both held appends.
    expect(sent).toEqual([[beat(2)]]);
    expect(timers.map((t) => t.ms)).toEqual([HOLD_EMPTY_APPEND_MS]);
    peers.send([app(2, 6)]);
    expect(timers).toHaveLength(1);
    fire(timers);
    expect(sent).toHaveLength(2);
    const late = sent[1]!;
    expect(late.map((m) => [m.to, m.commit]).sort()).toEqual([
      [2, 6],
      [3, 5],
    ]);
  });

  it('drops a held one when an append with entries to the same follower goes first', () => {
    const { peers, sent, timers } = setup();
    peers.send([app(2, 5), app(3, 5)]);
    expect(sent).toEqual([]);
    const withEntries = app(2, 7, 3);
    peers.send([withEntries]);
    expect(sent).toEqual([[withEntries]]);
    fire(timers);
    // Follower 3's still went; follower 2's was overtaken.
    expect(sent).toHaveLength(2);
    expect(sent[1]!.map((m) => [m.to, m.commit])).toEqual([[3, 5]]);
  });

  it('within one batch: an empty append before an append with entries to the same follower is dropped', () => {
    const { peers, sent, timers } = setup();
    const withEntries = app(2, 7, 2);
    peers.send([app(2, 7), withEntries]);
    expect(sent).toEqual([[withEntries]]);
    fire(timers);
    expect(sent).toHaveLength(1);
  });

  it('drops a held one when a heartbeat with a commit index as new goes out, not one with an older commit', () => {
    const { peers, sent, timers } = setup();
    peers.send([app(2, 5), app(3, 5)]);
    peers.send([beat(2, 5), beat(3, 4)]);
    expect(sent).toEqual([[beat(2, 5), beat(3, 4)]]);
    fire(timers);
    expect(sent[1]!.map((m) => [m.to, m.commit])).toEqual([[3, 5]]);
  });

  it('sends appends with entries at once and arms no timer for them', () => {
    const { peers, sent, timers } = setup();
    const a = app(2, 5, 1);
    const b = app(3, 5, 1);
    peers.send([a, b]);
    expect(sent).toEqual([[a, b]]);
    expect(timers).toEqual([]);
  });

  it('forgets what it holds for a removed peer', () => {
    const { peers, sent, timers } = setup();
    peers.send([app(2, 5), app(3, 5)]);
    peers.removePeer(2);
    fire(timers);
    expect(sent.map((b) => b.map((m) => m.to))).toEqual([[3]]);
  });

  it('close() clears the timer and sends nothing held', async () => {
    const { peers, sent, timers } = setup();
    peers.send([app(2, 5)]);
    await peers.close();
    expect(timers[0]!.cleared).toBe(true);
    expect(sent).toEqual([]);
  });
});
