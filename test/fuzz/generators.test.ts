/**
 * The fuzzers' own guarantees, without a server: the reply checker accepts
 * every RESP2/RESP3 form and rejects malformed ones; the generators are
 * reproducible from their seed and never produce what the harness promises
 * they avoid (reserved keys, commands that destroy data by design, a Hello
 * the node would accept before the handshake, a well-formed Raft message
 * for a member or a non-read forwarded command after it).
 */
import { describe, expect, it } from 'vitest';
import { MalformedReply, replyEnd } from './harness.mjs';
import { DENIED, RESERVED_PREFIX, RespGenerator } from './resp-gen.mjs';
import { PeerFrameGenerator } from './peer-gen.mjs';
import { FrameDecoder, FrameType } from '../../src/transport/frame.js';
import { decodeBatch } from '../../src/transport/codec.js';
import { decodeForwardCommand } from '../../src/transport/forward.js';
import { HANDSHAKE_MAX_FRAME_SIZE, checkHello, decodeHello } from '../../src/transport/handshake.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('replyEnd', () => {
  it('finds the end of every RESP2 and RESP3 reply form', () => {
    const ok = [
      '+OK\r\n', '-ERR x\r\n', ':-12\r\n', '$3\r\na\r\n\r\n', '$-1\r\n', '*-1\r\n', '*2\r\n:1\r\n$0\r\n\r\n',
      '_\r\n', '#t\r\n', ',1.5e-3\r\n', ',inf\r\n', ',-inf\r\n', ',nan\r\n', '(123456789012345678901234567890\r\n',
      '%1\r\n+a\r\n:1\r\n', '~1\r\n+a\r\n', '>2\r\n+message\r\n+x\r\n', '=7\r\ntxt:abc\r\n', '!3\r\nERR\r\n',
      '|1\r\n+k\r\n+v\r\n:5\r\n',
    ];
    for (const s of ok) {
      expect(replyEnd(b(s), 0), JSON.stringify(s)).toBe(s.length);
      expect(replyEnd(b(s.slice(0, -1)), 0), JSON.stringify(s)).toBe(-1);
    }
  });

  it('rejects what a Redis client could not parse', () => {
    const bad = ['?x\r\n', ':1.5\r\n', ':01\r\n', '$3\r\nabcd\r\n', '$-2\r\n', '*x\r\n', '_x\r\n', '#x\r\n', ',1e\r\n', '+a\nb\r\n', '*1\r\n?\r\n'];
    for (const s of bad) expect(() => replyEnd(b(s), 0), JSON.stringify(s)).toThrow(MalformedReply);
  });
});

describe('RespGenerator', () => {
  it('is reproducible from its seed', () => {
    const a = new RespGenerator(7);
    const c = new RespGenerator(7);
    for (let i = 0; i < 300; i++) expect(a.request().bytes.equals(c.request().bytes)).toBe(true);
  });

  it('never names a reserved key or a denied command', () => {
    const g = new RespGenerator(11);
    const names = new Set<string>();
    const wrong: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const argv = g.command(i % 2 === 0);
      const name = argv[0]!.toLowerCase();
      names.add(name);
      if (DENIED.has(name)) wrong.push(name);
      if (argv.length > 1 && DENIED.has(`${name}|${argv[1]!.toLowerCase()}`)) wrong.push(argv.slice(0, 2).join(' '));
      if (argv.some((a) => a.startsWith(RESERVED_PREFIX))) wrong.push(`reserved key in ${name}`);
    }
    expect(wrong).toEqual([]);
    // The table is covered, not a handful of commands.
    expect(names.size).toBeGreaterThan(170);
  });
});

describe('PeerFrameGenerator', () => {
  const members = [1, 2, 3];

  it('never produces a Hello the node would accept before the handshake', () => {
    const g = new PeerFrameGenerator(5, { clusterId: 'c', memberIds: members });
    let closes = 0;
    for (let i = 0; i < 2000; i++) {
      const target = members[i % 3]!;
      const batch = g.preHandshake(target, 1);
      if (batch.mustClose) closes++;
      const d = new FrameDecoder({ maxFrameSize: HANDSHAKE_MAX_FRAME_SIZE });
      d.push(batch.bytes);
      const f = d.next();
      if (f === undefined || f instanceof Error || f.type !== FrameType.Hello) continue;
      let ok = false;
      try {
        ok = checkHello(decodeHello(f.body), { clusterId: 'c', selfId: target, isMember: (id) => members.includes(id) }).ok;
      } catch {
        /* malformed */
      }
      expect(ok).toBe(false);
    }
    expect(closes).toBeGreaterThan(1000);
  });

  it('never sends a well-formed Raft message for a member or a non-read forwarded command after it', () => {
    const g = new PeerFrameGenerator(6, { clusterId: 'c', memberIds: members });
    let frames = 0;
    for (let i = 0; i < 500; i++) {
      const batch = g.postHandshake(2, 1 + (i % 20));
      const d = new FrameDecoder();
      d.push(batch.bytes);
      for (let f = d.next(); f !== undefined && !(f instanceof Error); f = d.next()) {
        frames++;
        try {
          if (f.type === FrameType.RaftBatch) for (const m of decodeBatch(f.body)) expect(members.includes(m.to) || members.includes(m.from)).toBe(false);
          if (f.type === FrameType.ForwardCommand) {
            for (const c of decodeForwardCommand(f.body).cmds) expect(['ping', 'echo', 'get', 'exists', 'strlen']).toContain(c[0]!.toLowerCase());
          }
        } catch (e) {
          if ((e as Error).name === 'AssertionError') throw e;
        }
      }
    }
    expect(frames).toBeGreaterThan(2000);
  });
});
