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
 *   u8  flags    bit 0: an expiry follows; bit 1: a list's quicklist shape follows
 *   [f64 expireAt]  absolute ms
 *   [i32 fill, u32 compress, u8 grown]  a list whose fill, compress depth or
 *                   growth (types/list.ts) is not the default's (-2, 0, grown
 *                   at the tail): what DUMP and MEMORY USAGE split it by
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
import { Grown, ListValue } from './types/list.js';

/** Value type tags. */
const TAG: Record<'string' | CollectionType, number> = { string: 1, hash: 2, list: 3, set: 4, zset: 5, stream: 6 };
const TYPE_OF_TAG: (('string' | CollectionType) | undefined)[] = [undefined, 'string', 'hash', 'list', 'set', 'zset', 'stream'];
const FLAG_TTL = 1;
const FLAG_LIST_SHAPE = 2;

/** A list not shaped as the default (list-max-listpack-size -2, no compression, grown at the tail): its shape must be kept. */
const shaped = (v: Value): v is ListValue => v instanceof ListValue && (v.fill !== -2 || v.compress !== 0 || v.grown !== Grown.Tail);
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
  const shape = shaped(value);
  out.u8((expireAt === undefined ? 0 : FLAG_TTL) | (shape ? FLAG_LIST_SHAPE : 0));
  if (expireAt !== undefined) out.f64(expireAt);
  if (shape) {
    out.u32(value.fill >>> 0);
    out.u32(value.compress);
    out.u8(value.grown);
  }
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
    let shape: [fill: number, compress: number, grown: number] | undefined;
    if ((flags & FLAG_LIST_SHAPE) !== 0) shape = [r.u32('list fill') | 0, r.u32('list compress depth'), r.u8('list growth')];
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
    // A list without a shape was the default's, whatever the configuration is now.
    if (value instanceof ListValue) shape ??= [-2, 0, Grown.Tail];
    if (shape !== undefined && value instanceof ListValue) {
      if (shape[0] < -5 || shape[0] > 32767 || shape[1] > 65535 || shape[2] > Grown.Mixed) {
        throw new CorruptDataError(`snapshot ${file}: the list under key ${JSON.stringify(key)} has a bad shape ${shape.join(' ')}`);
      }
      [value.fill, value.compress, value.grown] = shape as [number, number, Grown];
    }
    load(key, value, expireAt, db);
  });
}
