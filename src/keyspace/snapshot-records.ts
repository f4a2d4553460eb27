/**
 * The keyspace's records in a snapshot file (the file itself — header,
 * checksum, durability — is src/storage/snapshot-file.ts):
 *
 *   [u8 7, u32 db]  a key of database db > 0 (Redis's SELECTDB, but per
 *                   record: copy-on-write writes a key out whenever it is
 *                   about to change, whatever database the walk is in);
 *                   without it the key is db 0's, so files written before
 *                   databases existed load as they are
 *   u8  tag      1 string, 2 hash, 3 list, 4 set, 5 zset, 6 stream (0xff ends the records)
 *   u8  flags    bit 0: an expiry follows
 *   [f64 expireAt]  absolute ms
 *   str key
 *   string: str value; collections: u32 count, then count × str item
 *           (hash: field, value, …; zset: member, score, … as forEachItem gives them;
           stream: entries, groups and PELs as types/stream-items.ts lays them out)
 *
 * where str is a u32 length and that many latin1 bytes.
 */
import { CorruptDataError } from '../storage/errors.js';
import { readSnapshotRecords, type SnapshotMeta, type SnapshotWriter } from '../storage/snapshot-file.js';
import type { Value } from './keyspace.js';
import { fromItems, type CollectionType } from './types/index.js';

/** Value type tags. */
const TAG: Record<'string' | CollectionType, number> = { string: 1, hash: 2, list: 3, set: 4, zset: 5, stream: 6 };
const TYPE_OF_TAG: (('string' | CollectionType) | undefined)[] = [undefined, 'string', 'hash', 'list', 'set', 'zset', 'stream'];
const FLAG_TTL = 1;
/** The record that follows is of the database given here (not 0). */
const TAG_DB = 7;

/** Encodes one key of database `db` into the snapshot being written (synchronously: the value is captured now). */
export function writeRecord(w: SnapshotWriter, key: string, value: Value, expireAt: number | undefined, db = 0): void {
  const out = w.out;
  if (db !== 0) {
    out.u8(TAG_DB);
    out.u32(db);
  }
  const type = typeof value === 'string' ? 'string' : value.type;
  out.u8(TAG[type]);
  out.u8(expireAt === undefined ? 0 : FLAG_TTL);
  if (expireAt !== undefined) out.f64(expireAt);
  out.str(key);
  if (typeof value === 'string') {
    out.str(value);
  } else {
    // The count is patched in once the items are written.
    out.u32(0);
    const at = out.len - 4;
    let n = 0;
    value.forEachItem((it) => {
      out.str(it);
      n++;
    });
    out.buf.writeUInt32LE(n, at);
  }
  w.records++;
}

/**
 * Reads a snapshot file: checks its checksum, then calls `load` for every
 * key in order, with its database. Returns the metadata and the number of keys.
 */
export function readSnapshotFile(
  file: string,
  load: (key: string, value: Value, expireAt: number | undefined, db: number) => void,
): { meta: SnapshotMeta; records: number } {
  return readSnapshotRecords(file, (first, r) => {
    let tag = first;
    let db = 0;
    if (tag === TAG_DB) {
      db = r.u32('database');
      tag = r.u8('record tag');
    }
    const type = TYPE_OF_TAG[tag];
    if (type === undefined) throw new CorruptDataError(`snapshot ${file} has an unknown record type ${tag} at byte ${r.off - 1}`);
    const flags = r.u8('record flags');
    const expireAt = (flags & FLAG_TTL) !== 0 ? r.f64('expiry') : undefined;
    const key = r.str('key');
    if (type === 'string') {
      load(key, r.str('string value'), expireAt, db);
      return;
    }
    const n = r.u32('item count');
    const items: string[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = r.str('item');
    let value;
    try {
      value = fromItems(type, items);
    } catch (e) {
      throw new CorruptDataError(`snapshot ${file}: the ${type} under key ${JSON.stringify(key)} is malformed: ${(e as Error).message}`);
    }
    load(key, value, expireAt, db);
  });
}
