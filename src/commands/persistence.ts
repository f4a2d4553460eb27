/**
 * Persistence commands: BGSAVE, SAVE and LASTSAVE drive the node's
 * copy-on-write snapshots (src/node/snapshotter.ts) as they drive RDB saves
 * in Redis; RAFT.DIGEST fingerprints the keyspace so replicas can be
 * compared. All act on the node they are sent to: every node snapshots its
 * own state machine, none of this is replicated.
 */
import crypto from 'node:crypto';
import type { Keyspace } from '../keyspace/keyspace.js';
import type { Databases } from '../keyspace/databases.js';
import type { ConnHandler, ConnCtx } from './table.js';

const ERR_IN_PROGRESS = 'ERR Background save already in progress';

function bgsave({ c, w }: ConnCtx, argv: string[]): void {
  const node = c.server.node;
  const schedule = argv.length === 2 && argv[1]!.toLowerCase() === 'schedule';
  if (argv.length > 2 || (argv.length === 2 && !schedule)) return w.error('ERR syntax error');
  if (node.snapshotter.inProgress) {
    if (!schedule) return w.error(ERR_IN_PROGRESS);
    // Redis runs the scheduled save after the current one.
    void node.snapshotter.current?.then(() => node.snapshot());
    return w.simple('Background saving scheduled');
  }
  void node.snapshot();
  w.simple('Background saving started');
}

/** SAVE: answers once a snapshot is durable (never blocking other clients). */
function save({ c, w }: ConnCtx, _argv: string[]): void {
  const node = c.server.node;
  if (node.snapshotter.inProgress) return w.error(ERR_IN_PROGRESS);
  // Inside MULTI the reply goes to the transaction's writer, which must be filled now.
  if (w !== c.out()) {
    void node.snapshot();
    return w.simple('OK');
  }
  const slot = c.defer();
  void node.snapshot().then((m) => {
    if (m === undefined) slot.error('ERR');
    else slot.simple('OK');
    c.complete(slot);
  });
}

function lastsave({ c, w }: ConnCtx, _argv: string[]): void {
  w.int(c.server.node.snapshotter.stats.lastSaveTime);
}

/**
 * An order-independent digest of the keyspace: the XOR of a SHA-1 per key
 * over its name, type, value (collections as their items, which iterate in
 * the same order on every replica) and expiry time. Equal on two nodes that
 * applied the same log prefix.
 */
export function keyspaceDigest(db: Keyspace, acc = Buffer.alloc(20), dbIndex = 0): string {
  if (db.size === 0) return acc.toString('hex');
  const lenBuf = Buffer.allocUnsafe(4);
  const dbTag = dbIndex === 0 ? undefined : `db${dbIndex}`;
  for (const key of db.keys()) {
    const v = db.get(key, Number.NEGATIVE_INFINITY)!;
    const h = crypto.createHash('sha1');
    const part = (s: string): void => {
      lenBuf.writeUInt32LE(s.length, 0);
      h.update(lenBuf);
      h.update(s, 'latin1');
    };
    // A key of db 0 hashes as it did before databases existed; others with their database's number.
    if (dbTag !== undefined) part(dbTag);
    part(key);
    if (typeof v === 'string') {
      part('string');
      part(v);
    } else {
      part(v.type);
      for (const it of v.items()) part(it);
    }
    part(String(db.expireAt(key) ?? -1));
    const d = h.digest();
    for (let i = 0; i < 20; i++) acc[i]! ^= d[i]!;
  }
  return acc.toString('hex');
}

/** RAFT.DIGEST: every database's keys, XORed into one digest (equal on replicas holding the same data). */
export function databasesDigest(dbs: Databases): string {
  const acc = Buffer.alloc(20);
  for (let i = 0; i < dbs.count; i++) keyspaceDigest(dbs.get(i), acc, i);
  return acc.toString('hex');
}

export const persistenceCommands: Record<string, ConnHandler> = {
  bgsave,
  save,
  lastsave,
  'raft.digest': ({ c, w }, _argv) => w.bulk(databasesDigest(c.server.dbs)),
};
