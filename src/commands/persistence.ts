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

/**
 * BGREWRITEAOF's state, per node. The Raft log plays the AOF (INFO's
 * aof_current_size is its bytes, aof_base_size the newest snapshot's), so
 * rewriting the AOF is taking a snapshot, after which the log before it is
 * dropped. Counted and reported as Redis reports its AOF rewrites.
 */
export interface AofRewriteState {
  /** The snapshot a BGREWRITEAOF started, while it runs. */
  running: Promise<unknown> | undefined;
  startedAt: number;
  /** Asked for while another snapshot ran (aof_rewrite_scheduled). */
  scheduled: boolean;
  rewrites: number;
  lastDurationSec: number;
  lastStatus: 'ok' | 'err';
}

const aofStates = new WeakMap<object, AofRewriteState>();

export function aofRewriteState(node: object): AofRewriteState {
  let st = aofStates.get(node);
  if (st === undefined) {
    st = { running: undefined, startedAt: 0, scheduled: false, rewrites: 0, lastDurationSec: -1, lastStatus: 'ok' };
    aofStates.set(node, st);
  }
  return st;
}

type SnapshotNode = ConnCtx['c']['server']['node'];

function startRewrite(node: SnapshotNode, st: AofRewriteState): void {
  st.rewrites++;
  st.startedAt = Date.now();
  const p = node.snapshot().then(
    (m) => (st.lastStatus = m === undefined ? 'err' : 'ok'),
    () => (st.lastStatus = 'err'),
  );
  st.running = p;
  void p.finally(() => {
    st.lastDurationSec = Math.floor((Date.now() - st.startedAt) / 1000);
    st.running = undefined;
  });
}

/** BGREWRITEAOF (Redis's bgrewriteaofCommand): a snapshot, which compacts the log; scheduled after a snapshot already running or inside MULTI. */
function bgrewriteaof({ c, w }: ConnCtx, _argv: string[]): void {
  const node = c.server.node;
  const st = aofRewriteState(node);
  if (st.running !== undefined) return w.error('ERR Background append only file rewriting already in progress');
  if (node.snapshotter.inProgress || c.inExec) {
    if (!st.scheduled) {
      st.scheduled = true;
      // Redis's cron starts a scheduled rewrite once no child runs.
      const after = node.snapshotter.current ?? Promise.resolve(undefined);
      void after.then(() => {
        st.scheduled = false;
        if (st.running === undefined) startRewrite(node, st);
      });
    }
    return w.simple('Background append only file rewriting scheduled');
  }
  startRewrite(node, st);
  w.simple('Background append only file rewriting started');
}

function bgsave({ c, w }: ConnCtx, argv: string[]): void {
  const node = c.server.node;
  const schedule = argv.length === 2 && argv[1]!.toLowerCase() === 'schedule';
  if (argv.length > 2 || (argv.length === 2 && !schedule)) return w.error('ERR syntax error');
  if (node.snapshotter.inProgress && aofRewriteState(node).running !== undefined && !schedule) {
    return w.error('ERR Another child process is active (AOF?): can\'t BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.');
  }
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
  bgrewriteaof,
  save,
  lastsave,
  'raft.digest': ({ c, w }, _argv) => w.bulk(databasesDigest(c.server.dbs)),
};
