/**
 * Bodies of the frames that carry a client's command from a follower to the
 * leader and the reply back (--follower-writes proxy). See
 * docs/peer-protocol.md.
 *
 *   ForwardCommand: varint id · u8 proto (2|3) · u8 flags (bit 0: MULTI/EXEC,
 *                   bit 1: a database number follows, bit 2: a user name
 *                   follows) · [varint db: the client's SELECTed database;
 *                   absent: 0] · [varint length, bytes: the client's ACL
 *                   user, whose permissions the leader checks; absent: a
 *                   sender older than ACLs, which checked them itself] ·
 *                   varint command count · per command: varint argc ·
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
  /** The client's SELECTed database (undefined: 0). */
  db?: number;
  /** The client's ACL user: the leader checks the commands against it. */
  user?: string;
}

export interface ForwardReply {
  id: number;
  /** The reply as RESP bytes (latin1 string). */
  reply: string;
}

export function encodeForwardCommand(f: ForwardCommand): Buffer {
  const db = f.db ?? 0;
  const user = f.user;
  let size = varintSize(f.id) + 2 + varintSize(f.cmds.length) + (db !== 0 ? varintSize(db) : 0);
  if (user !== undefined) size += varintSize(user.length) + user.length;
  for (const argv of f.cmds) {
    size += varintSize(argv.length);
    for (const a of argv) size += varintSize(a.length) + a.length;
  }
  const b = Buffer.allocUnsafe(size);
  let off = writeVarint(b, 0, f.id);
  b[off++] = f.proto;
  b[off++] = (f.multi ? 1 : 0) | (db !== 0 ? 2 : 0) | (user !== undefined ? 4 : 0);
  if (db !== 0) off = writeVarint(b, off, db);
  if (user !== undefined) {
    off = writeVarint(b, off, user.length);
    off += b.write(user, off, 'latin1');
  }
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
  const db = (flags & 2) !== 0 ? r.varint('forward db') : 0;
  const user = (flags & 4) !== 0 ? r.lengthPrefixed('forward user').toString('latin1') : undefined;
  const n = r.count('forward command count', 1);
  const cmds: string[][] = [];
  for (let i = 0; i < n; i++) {
    const argc = r.count('forward argc', 1);
    const argv: string[] = [];
    for (let j = 0; j < argc; j++) argv.push(r.lengthPrefixed('forward arg').toString('latin1'));
    cmds.push(argv);
  }
  r.expectEnd('ForwardCommand');
  const f: ForwardCommand = { id, proto: proto === 3 ? 3 : 2, multi: (flags & 1) !== 0, cmds };
  if (db !== 0) f.db = db;
  if (user !== undefined) f.user = user;
  return f;
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
