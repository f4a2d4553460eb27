/**
 * Bodies of the frames that carry a client's command from a follower to the
 * leader and the reply back (--follower-writes proxy). See
 * docs/peer-protocol.md.
 *
 *   ForwardCommand: varint id · u8 proto (2|3) · u8 flags (bit 0: MULTI/EXEC)
 *                   · varint command count · per command: varint argc ·
 *                   per arg: varint length, bytes (latin1)
 *   ForwardReply:   varint id · varint length · RESP bytes of the reply,
 *                   encoded in the client's protocol
 */
import { BodyReader } from './reader.js';
import { varintSize, writeVarint } from './varint.js';

export interface ForwardCommand {
  id: number;
  proto: 2 | 3;
  multi: boolean;
  cmds: string[][];
}

export interface ForwardReply {
  id: number;
  /** The reply as RESP bytes (latin1 string). */
  reply: string;
}

export function encodeForwardCommand(f: ForwardCommand): Buffer {
  let size = varintSize(f.id) + 2 + varintSize(f.cmds.length);
  for (const argv of f.cmds) {
    size += varintSize(argv.length);
    for (const a of argv) size += varintSize(a.length) + a.length;
  }
  const b = Buffer.allocUnsafe(size);
  let off = writeVarint(b, 0, f.id);
  b[off++] = f.proto;
  b[off++] = f.multi ? 1 : 0;
  off = writeVarint(b, off, f.cmds.length);
  for (const argv of f.cmds) {
    off = writeVarint(b, off, argv.length);
    for (const a of argv) {
      off = writeVarint(b, off, a.length);
      off += b.write(a, off, 'latin1');
    }
  }
  return b;
}

export function decodeForwardCommand(body: Buffer): ForwardCommand {
  const r = new BodyReader(body);
  const id = r.varint('forward id');
  const proto = r.u8('forward proto');
  const flags = r.u8('forward flags');
  const n = r.count('forward command count', 1);
  const cmds: string[][] = [];
  for (let i = 0; i < n; i++) {
    const argc = r.count('forward argc', 1);
    const argv: string[] = [];
    for (let j = 0; j < argc; j++) argv.push(r.lengthPrefixed('forward arg').toString('latin1'));
    cmds.push(argv);
  }
  r.expectEnd('ForwardCommand');
  return { id, proto: proto === 3 ? 3 : 2, multi: (flags & 1) !== 0, cmds };
}

export function encodeForwardReply(f: ForwardReply): Buffer {
  const b = Buffer.allocUnsafe(varintSize(f.id) + varintSize(f.reply.length) + f.reply.length);
  let off = writeVarint(b, 0, f.id);
  off = writeVarint(b, off, f.reply.length);
  b.write(f.reply, off, 'latin1');
  return b;
}

export function decodeForwardReply(body: Buffer): ForwardReply {
  const r = new BodyReader(body);
  const id = r.varint('forward id');
  const reply = r.lengthPrefixed('forward reply').toString('latin1');
  r.expectEnd('ForwardReply');
  return { id, reply };
}
