/**
 * The status frames (0x80 StatusRequest, 0x81 StatusReply) of the cluster
 * page: body codec, malformed input, and a round of requests and answers
 * between real Transports through the engine's ClusterStatus.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterStatus, type StatusPort } from '../../../src/commands/engine/cluster-status.js';
import type { MemberStatus } from '../../../src/server/cluster-view.js';
import { FrameError } from '../../../src/transport/errors.js';
import { FIRST_SKIPPABLE_FRAME_TYPE, FrameDecoder, FrameType, encodeFrame } from '../../../src/transport/frame.js';
import { MAX_STATUS_JSON_BYTES, decodeStatusReply, decodeStatusRequest, encodeStatusReply, encodeStatusRequest } from '../../../src/transport/status-frame.js';
import { Transport } from '../../../src/transport/transport.js';
import { writeVarint } from '../../../src/transport/varint.js';
import { CapturingLogger, waitFor } from './helpers.js';

function expectFrameError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FrameError);
    expect((e as FrameError).code).toBe(code);
    return;
  }
  throw new Error('expected a FrameError');
}

describe('status frame bodies', () => {
  it('are skippable types, so builds without them ignore them', () => {
    expect(FrameType.StatusRequest).toBeGreaterThanOrEqual(FIRST_SKIPPABLE_FRAME_TYPE);
    expect(FrameType.StatusReply).toBeGreaterThanOrEqual(FIRST_SKIPPABLE_FRAME_TYPE);
  });

  it('round-trip request ids and reply objects, through the frame decoder', () => {
    for (const id of [0, 1, 127, 128, 2 ** 31, Number.MAX_SAFE_INTEGER]) expect(decodeStatusRequest(encodeStatusRequest(id))).toBe(id);
    const status = { id: 3, role: 'leader', term: 7, name: 'nœud ✓', links: [{ id: 1, connected: true }] };
    const frame = encodeFrame(FrameType.StatusReply, encodeStatusReply(42, status));
    const { frames, error } = new FrameDecoder().decode(frame);
    expect(error).toBeUndefined();
    expect(frames[0]!.type).toBe(0x81);
    expect(decodeStatusReply(frames[0]!.body)).toEqual({ id: 42, status });
  });

  it('reject malformed bodies with a FrameError', () => {
    expectFrameError(() => decodeStatusRequest(Buffer.alloc(0)), 'truncated');
    expectFrameError(() => decodeStatusRequest(Buffer.from([1, 0])), 'trailing');
    const reply = (json: Buffer | string): Buffer => {
      const j = typeof json === 'string' ? Buffer.from(json) : json;
      const b = Buffer.alloc(1 + 5 + j.length);
      let off = writeVarint(b, 0, 1);
      off = writeVarint(b, off, j.length);
      j.copy(b, off);
      return b.subarray(0, off + j.length);
    };
    expectFrameError(() => decodeStatusReply(reply('{"id":')), 'value');
    expectFrameError(() => decodeStatusReply(reply('[1,2]')), 'value');
    expectFrameError(() => decodeStatusReply(reply('null')), 'value');
    expectFrameError(() => decodeStatusReply(reply(Buffer.from([0x7b, 0xff, 0x7d]))), 'value');
    expectFrameError(() => decodeStatusReply(Buffer.concat([reply('{}'), Buffer.from([0])])), 'trailing');
    const big = Buffer.alloc(4);
    writeVarint(big, writeVarint(big, 0, 1), MAX_STATUS_JSON_BYTES + 1);
    expectFrameError(() => decodeStatusReply(big), 'value');
  });
});

const transports: Transport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

function fakeStatus(id: number, extra: Partial<MemberStatus> = {}): MemberStatus {
  return {
    id, version: 'test', time: Date.now(), uptimeSec: 1, addr: `127.0.0.${id}:1`, clusterAddr: `127.0.0.${id}:2`,
    role: 'follower', membership: 'voter', term: 2, leader: 1, commit: 10, applied: 10, lastIndex: 10, firstIndex: 1,
    snapshotIndex: 0, logBytes: 100, opsPerSec: 0, totalCommands: 0, usedMemory: 1, rss: 1, keys: 0, clients: 0,
    links: [], leaderChanges: [], ...extra,
  };
}

/** A node: a Transport whose status frames go to a ClusterStatus (answering: false drops them, as a build without them). */
function makeNode(id: number, answering = true): { t: Transport; cs: ClusterStatus; members: Map<number, { host: string; port: number; clusterPort: number }> } {
  const members = new Map<number, { host: string; port: number; clusterPort: number }>();
  let cs!: ClusterStatus;
  const t = new Transport({
    selfId: id,
    clusterId: 'status-test',
    bindHost: `127.0.0.${id}`,
    port: 0,
    peers: new Map(),
    onMessage: () => {},
    logger: new CapturingLogger(),
    ...(answering ? { onForward: (type: number, body: Buffer, from: number) => cs.onFrame(type, body, from) } : {}),
  });
  const port: StatusPort = {
    selfId: id,
    members,
    send: (to, type, body) => t.forward(to, type, body),
    linkDown: (p) => (t.status().get(p)?.connected ? undefined : 'no connection'),
    local: () => fakeStatus(id, { applied: 10 + id }),
    now: () => Date.now(),
  };
  cs = new ClusterStatus(port, 300);
  transports.push(t);
  return { t, cs, members };
}

describe('ClusterStatus over real transports', () => {
  it('gathers every peer, then reports one that stops answering with since-when and its last answer', async () => {
    const nodes = [makeNode(1), makeNode(2), makeNode(3, false)];
    await Promise.all(nodes.map((n) => n.t.start()));
    for (const a of nodes) {
      for (const b of nodes) {
        a.members.set(b.t.selfId, { host: b.t.bindHost, port: 1, clusterPort: b.t.port });
        if (a !== b) a.t.addPeer(b.t.selfId, { host: b.t.bindHost, clusterPort: b.t.port });
      }
    }
    await waitFor(() => nodes.every((a) => nodes.every((b) => a === b || a.t.status().get(b.t.selfId)?.connected === true)), 'full mesh');
    const g = await nodes[0]!.cs.gather();
    expect(g.self.id).toBe(1);
    expect(g.peers.map((p) => [p.id, p.ok])).toEqual([[2, true], [3, false]]);
    const p2 = g.peers[0]!;
    expect(p2.ok && p2.status.applied).toBe(12);
    const p3 = g.peers[1]!;
    expect(!p3.ok && p3.reason).toBe('no answer within 300 ms');
    const firstSince = !p3.ok ? p3.since : 0;
    // A peer that does not take the frames (as a build before them) drops them and keeps the link.
    expect(nodes[0]!.t.status().get(3)?.connected).toBe(true);
    expect(!p3.ok && p3.lastSeen).toBeUndefined();

    // Node 2 goes away: the next round says so at once (its link is down), and keeps its last answer's time.
    await nodes[1]!.t.close();
    await waitFor(() => nodes[0]!.t.status().get(2)?.connected === false, 'link to 2 down');
    await new Promise((r) => setTimeout(r, 300));
    const g2 = await nodes[0]!.cs.gather();
    const q2 = g2.peers[0]!;
    expect(q2.ok).toBe(false);
    if (!q2.ok) {
      expect(q2.reason).toBe('no connection');
      expect(q2.lastSeen).toBe(g.time);
      expect(q2.since).toBe(g2.time);
    }
    const q3 = g2.peers[1]!;
    // Still failing: since stays at the first failure.
    expect(!q3.ok && q3.since).toBe(firstSince);
  });
});
