/**
 * Migration of a log kept by LogStore (classic-level, formats 1 and 2) to
 * segment files, on the first start of a raftis that keeps the log in
 * segments.
 *
 * The log is copied into `<dir>/wal.tmp` (the compaction point and hard
 * state, then the entries in records of up to MIGRATION_CHUNK), made
 * durable, renamed to `<dir>/wal`, and only then is the format record in
 * LevelDB set to 3 (NodeState.setWalFormat), in the same synced batch that
 * deletes LogStore's hard state and compaction point. A crash anywhere
 * before that batch leaves format 1 or 2: the next start removes `wal.tmp`
 * and `wal` and migrates again from the untouched LevelDB log. A crash
 * after it leaves format 3 with the whole log in `wal`: LogStore's records
 * left behind are deleted at the next open. A half-migrated log is never
 * read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../util/log.js';
import type { StoredEntry } from '../log-backend.js';
import { LogStore } from '../log-store.js';
import { SegmentLog, type WalOptions } from './segment-log.js';
import { fsyncDir } from './segment.js';

const log = createLogger('storage');

/** Entries per record in the migrated log. */
const MIGRATION_CHUNK = 1000;

/**
 * Copies the LogStore log in `dir` to `<dir>/wal` durably. The caller has
 * closed its own handle on the LevelDB (LogStore opens it) and sets the
 * format afterwards.
 */
export async function migrateLogStore(dir: string, walDir: string, opts: WalOptions): Promise<void> {
  const tmpDir = `${walDir}.tmp`;
  fs.rmSync(tmpDir, { recursive: true, force: true });
  fs.rmSync(walDir, { recursive: true, force: true });
  const old = await LogStore.open(dir);
  let migrated = 0;
  let wal: SegmentLog | undefined;
  try {
    wal = SegmentLog.open(tmpDir, dir, opts);
    const hs = await old.hardState();
    const c = await old.compacted();
    if (c.index > 0) await wal.replaceWithSnapshot(c.index, c.term, hs);
    else await wal.write([], hs, undefined, true);
    let chunk: StoredEntry[] = [];
    for await (const e of old.entries()) {
      chunk.push(e);
      if (chunk.length === MIGRATION_CHUNK) {
        await wal.write(chunk, undefined, undefined, false);
        migrated += chunk.length;
        chunk = [];
      }
    }
    // The last write syncs its segment; earlier segments were synced as each was full.
    await wal.write(chunk, hs, undefined, true);
    migrated += chunk.length;
    await wal.close();
    wal = undefined;
  } finally {
    if (wal !== undefined) await wal.close().catch(() => {});
    await old.close();
  }
  fs.renameSync(tmpDir, walDir);
  fsyncDir(path.dirname(walDir));
  log.info(`raft log in ${dir} moved from LevelDB to segment files in ${walDir}: ${migrated} entries`);
}
