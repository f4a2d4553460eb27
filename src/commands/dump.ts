/**
 * DUMP and RESTORE (cluster.c dumpCommand / restoreCommand) with Redis
 * 7.0's payload format (src/keyspace/rdb/): a payload DUMPed by
 * redis-server restores here and one DUMPed here restores into
 * redis-server.
 *
 * RESTORE is a write: its payload travels in the log entry and every
 * replica decodes the same bytes into the same value at the entry's time.
 * IDLETIME and FREQ are checked as Redis checks them and otherwise have no
 * effect (raftis keeps no LRU/LFU data).
 */
import { createDumpPayload } from '../keyspace/rdb/encode.js';
import { loadDumpPayload } from '../keyspace/rdb/decode.js';
import { LLONG_MAX, string2ll } from '../util/number.js';
import { DUMP_ERR } from './dump-errors.js';
import { ERR } from './errors.js';
import { Notify, notify } from './notify.js';
import { isOpt } from './options.js';
import type { DataHandler } from './types.js';
import { dirty } from './dirty.js';

const dump: DataHandler = (ctx, argv) => {
  const v = ctx.db.lookupRead(argv[1]!, ctx.now);
  if (v === undefined) return ctx.w.nil();
  ctx.w.bulk(createDumpPayload(v).toString('latin1'));
};

const restore: DataHandler = (ctx, argv) => {
  const { db, now, w } = ctx;
  let replace = false;
  let absttl = false;
  let idle = false;
  let freq = false;
  for (let j = 4; j < argv.length; j++) {
    const opt = argv[j]!;
    const more = argv.length - j - 1 >= 1;
    if (isOpt(opt, 'replace')) replace = true;
    else if (isOpt(opt, 'absttl')) absttl = true;
    else if (isOpt(opt, 'idletime') && more && !freq) {
      const v = string2ll(argv[++j]!);
      if (v === null) return w.error(ERR.notInteger);
      if (v < 0) return w.error(DUMP_ERR.badIdletime);
      idle = true;
    } else if (isOpt(opt, 'freq') && more && !idle) {
      const v = string2ll(argv[++j]!);
      if (v === null) return w.error(ERR.notInteger);
      if (v < 0 || v > 255) return w.error(DUMP_ERR.badFreq);
      freq = true;
    } else return w.error(ERR.syntax);
  }
  const key = argv[1]!;
  if (!replace && db.getForWrite(key, now) !== undefined) return w.error(DUMP_ERR.busykey);
  const ttlArg = string2ll(argv[2]!);
  if (ttlArg === null) return w.error(ERR.notInteger);
  if (ttlArg < 0) return w.error(DUMP_ERR.badTtl);
  const loaded = loadDumpPayload(Buffer.from(argv[3]!, 'latin1'));
  if (!loaded.ok) return w.error(loaded.error === 'checksum' ? DUMP_ERR.payloadChecksum : DUMP_ERR.badFormat);

  const deleted = replace && db.delete(key);
  let ttl = Number(ttlArg);
  if (ttl !== 0 && !absttl) {
    // A long long in Redis: a relative TTL that overflows wraps negative, so the key counts as expired.
    ttl = typeof ttlArg === 'bigint' && BigInt(now) + ttlArg > LLONG_MAX ? -1 : ttl + now;
  }
  if (ttl !== 0 && ttl <= now) {
    // Already expired: the key is not created (an old one replaced is deleted).
    if (deleted) {
      notify(ctx, Notify.Generic, 'del', key);
      dirty(ctx);
    }
    return w.ok();
  }
  db.set(key, loaded.value);
  if (ttl !== 0) db.setExpire(key, ttl);
  notify(ctx, Notify.Generic, 'restore', key);
  dirty(ctx);
  w.ok();
};

export const dumpCommands: Record<string, DataHandler> = { dump, restore };
