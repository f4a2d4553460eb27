/**
 * Opening a node's LevelDB (`<dir>/raft-log`), with the errors an operator
 * needs: the directory cannot be created, another raftis process holds it
 * (LevelDB's lock), or it does not open (unreadable or corrupt). Used by
 * the node state of the segmented log (wal/node-state.ts) and by the
 * LevelDB log it migrates from (log-store.ts), and the membership record
 * both keep there.
 */
import { ClassicLevel } from 'classic-level';
import fs from 'node:fs';
import path from 'node:path';
import { CorruptDataError, DataDirLockedError, StorageError } from './errors.js';
import type { StoredMember } from './log-backend.js';

/** The membership record's key (the same in every format). */
const MEMBERS_KEY = Buffer.from('p');

/** Opens `<dir>/raft-log`, creating it if needed; `what` names it in errors ("the raft log", …). */
export async function openLevelDir(dir: string, what: string): Promise<ClassicLevel<Buffer, Buffer>> {
  const location = path.join(dir, 'raft-log');
  try {
    fs.mkdirSync(location, { recursive: true });
  } catch (e) {
    throw new StorageError(`cannot create data directory ${location}: ${(e as Error).message}`, { cause: e });
  }
  const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open();
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new DataDirLockedError(`data directory ${dir} is already in use by another raftis process (LevelDB lock held); stop it or choose another --dir`, { cause: e });
    }
    throw new CorruptDataError(`cannot open ${what} in ${location}: ${cause?.message ?? (e as Error).message}; the data directory is unreadable or corrupt`, { cause: e });
  }
  return db;
}

/** The membership record (undefined before the first); CorruptDataError, naming `dir`, when it does not decode. */
export async function readMembers(db: ClassicLevel<Buffer, Buffer>, dir: string): Promise<StoredMember[] | undefined> {
  const v = await db.get(MEMBERS_KEY);
  if (v === undefined) return undefined;
  try {
    const list = JSON.parse(v.toString('utf8')) as StoredMember[];
    if (!Array.isArray(list)) throw new Error('not a list');
    return list;
  } catch (e) {
    throw new CorruptDataError(`members record in ${dir} is unreadable: ${(e as Error).message}`);
  }
}

/** Writes the membership record, synced. */
export async function writeMembers(db: ClassicLevel<Buffer, Buffer>, list: readonly StoredMember[]): Promise<void> {
  await db.put(MEMBERS_KEY, Buffer.from(JSON.stringify(list)), { sync: true });
}
