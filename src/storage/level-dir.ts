/**
 * Opening a node's LevelDB (`<dir>/raft-log`), with the errors an operator
 * needs: the directory cannot be created, another raftis process holds it
 * (LevelDB's lock), or it does not open (unreadable or corrupt). Used by
 * the node state of the segmented log (wal/node-state.ts) and by the
 * LevelDB log it migrates from (log-store.ts).
 */
import { ClassicLevel } from 'classic-level';
import fs from 'node:fs';
import path from 'node:path';
import { CorruptDataError, DataDirLockedError, StorageError } from './errors.js';

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
