/**
 * The node's small, rarely written state, in classic-level (LevelDB) under
 * `<dir>/raft-log` (the directory that held the whole log up to format 2,
 * so its lock still guards the data directory, and tools that look for it
 * still find it):
 *
 *   "m" → format (u32, big-endian): 1 and 2 are LogStore's formats (the
 *         log itself in this LevelDB, to be migrated); 3 means the log is
 *         in `<dir>/wal` (docs/log-format.md)
 *   "p" → the cluster members with their addresses (JSON)
 *
 * The Raft log, its hard state and its compaction point live in the
 * segment files, written on every request; see docs/decisions.md ("The
 * Raft log in segment files of its own") for what lives where and why.
 */
import type { ClassicLevel } from 'classic-level';
import { CorruptDataError } from '../errors.js';
import { openLevelDir, readMembers, writeMembers } from '../level-dir.js';
import type { StoredMember } from '../log-backend.js';

/** The format whose log lives in segment files. */
export const WAL_FORMAT = 3;

const META_KEY = Buffer.from('m');
/** Keys of LogStore's log, deleted once it is migrated: hard state, compaction point, records "b…" and format 1 entries "e…". */
const OLD_KEYS = [Buffer.from('h'), Buffer.from('c')];
const OLD_RANGES = [
  { gte: Buffer.from('b'), lt: Buffer.from('c') },
  { gte: Buffer.from('e'), lt: Buffer.from('f') },
];

export class NodeState {
  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    readonly dir: string,
  ) {}

  /** Opens `<dir>/raft-log`, creating it if needed; the LevelDB lock keeps a second process out of `dir`. */
  static async open(dir: string): Promise<NodeState> {
    const db = await openLevelDir(dir, 'the raft log metadata');
    return new NodeState(db, dir);
  }

  /** The format record (undefined in a new directory). */
  async format(): Promise<number | undefined> {
    const meta = await this.db.get(META_KEY);
    if (meta === undefined) return undefined;
    if (meta.length !== 4) throw new CorruptDataError(`raft log in ${this.dir} has an unknown format (meta record ${meta.toString('hex')}); it was not written by this raftis version`);
    return meta.readUInt32BE(0);
  }

  /**
   * Records that the log lives in segment files (durably), dropping in the
   * same batch what LogStore kept of the log; its entry records follow.
   */
  async setWalFormat(): Promise<void> {
    const meta = Buffer.alloc(4);
    meta.writeUInt32BE(WAL_FORMAT);
    await this.db.batch([{ type: 'put', key: META_KEY, value: meta }, ...OLD_KEYS.map((key) => ({ type: 'del' as const, key }))], { sync: true });
    await this.dropOldLog();
  }

  /** Deletes LogStore's entry records, if any are left (a crash right after setWalFormat). */
  async dropOldLog(): Promise<void> {
    for (const range of OLD_RANGES) await this.db.clear(range);
  }

  async members(): Promise<StoredMember[] | undefined> {
    return readMembers(this.db, this.dir);
  }

  async putMembers(list: readonly StoredMember[]): Promise<void> {
    await writeMembers(this.db, list);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
