/**
 * The commands that act on whole databases or across them (db.c, 7.0.15):
 * MOVE, SWAPDB, COPY (… DB n), FLUSHDB, FLUSHALL, DBSIZE. SELECT itself is
 * a connection command (connection.ts); its number parser is db-index.ts.
 *
 * They run when their log entry is applied, on every replica, against
 * ctx.dbs: the `databases` option must be the same on every node
 * (docs/decisions.md), so each replica checks the same range.
 */
import { Notify, notify } from './notify.js';
import { ERR } from './errors.js';
import { parseDbIndex } from './db-index.js';
import { isOpt } from './options.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

function flushGeneric(ctx: Ctx, argv: string[], all: boolean): void {
  if (!(argv.length === 1 || (argv.length === 2 && (isOpt(argv[1]!, 'sync') || isOpt(argv[1]!, 'async'))))) {
    return ctx.w.error(ERR.syntax);
  }
  // emptyData's count of the keys removed (redis-server 7.0.15 adds nothing more, even for FLUSHALL).
  if (all) {
    if (ctx.flushingDb !== undefined) for (let i = 0; i < ctx.dbs.count; i++) ctx.flushingDb(i);
    let removed = 0;
    for (let i = 0; i < ctx.dbs.count; i++) removed += ctx.dbs.get(i).size;
    ctx.dbs.flush();
    dirty(ctx, removed);
  } else {
    ctx.flushingDb?.(ctx.dbIndex);
    dirty(ctx, ctx.db.size);
    ctx.db.flush();
  }
  ctx.w.ok();
}

export const databaseCommands: Record<string, DataHandler> = {
  /** MOVE key db: moves the key and its TTL unless the target database has the key. */
  move(ctx, argv) {
    const { db: src, now, w } = ctx;
    const key = argv[1]!;
    const to = parseDbIndex(argv[2]!, ctx.dbs.count);
    if (typeof to === 'string') return w.error(to);
    if (to === ctx.dbIndex) return w.error(ERR.sameobject);
    const dst = ctx.dbs.get(to);
    const v = src.getForWrite(key, now);
    if (v === undefined) return w.int(0);
    const at = src.expireAt(key);
    if (dst.getForWrite(key, now) !== undefined) return w.int(0);
    dst.set(key, v);
    if (at !== undefined) dst.setExpire(key, at);
    src.delete(key);
    ctx.touchDb?.(to, [key]);
    notify(ctx, Notify.Generic, 'move_from', key);
    notify(ctx, Notify.Generic, 'move_to', key, to);
    dirty(ctx);
    w.int(1);
  },

  /** SWAPDB a b: the two databases exchange their contents (clients stay in theirs). */
  swapdb(ctx, argv) {
    const { dbs, w } = ctx;
    const a = parseDbIndex(argv[1]!, dbs.count, 'ERR invalid first DB index');
    if (typeof a === 'string') return w.error(a);
    const b = parseDbIndex(argv[2]!, dbs.count, 'ERR invalid second DB index');
    if (typeof b === 'string') return w.error(b);
    if (a !== b) {
      // Redis touches the watched keys and serves the blocked clients of both.
      ctx.flushingDb?.(a, b);
      ctx.flushingDb?.(b, a);
      dbs.swap(a, b);
    }
    dirty(ctx);
    w.ok();
  },

  /** COPY source destination [DB destination-db] [REPLACE]. */
  copy(ctx, argv) {
    const { db: src, now, w } = ctx;
    let replace = false;
    let to = ctx.dbIndex;
    for (let j = 3; j < argv.length; j++) {
      const opt = argv[j]!;
      if (isOpt(opt, 'replace')) {
        replace = true;
      } else if (isOpt(opt, 'db') && argv.length - j - 1 >= 1) {
        const id = parseDbIndex(argv[j + 1]!, ctx.dbs.count);
        if (typeof id === 'string') return w.error(id);
        to = id;
        j++;
      } else {
        return w.error(ERR.syntax);
      }
    }
    const from = argv[1]!;
    const dstKey = argv[2]!;
    const dst = ctx.dbs.get(to);
    if (dst === src && from === dstKey) return w.error(ERR.sameobject);
    if (src.countRead(src.getForWrite(from, now), from) === undefined) return w.int(0);
    if (dst.getForWrite(dstKey, now) !== undefined) {
      if (!replace) return w.int(0);
      dst.delete(dstKey);
    }
    if (dst === src) {
      src.copy(from, dstKey);
    } else {
      const v = src.get(from, now)!;
      const at = src.expireAt(from);
      dst.set(dstKey, typeof v === 'string' ? v : v.clone());
      if (at !== undefined) dst.setExpire(dstKey, at);
      ctx.touchDb?.(to, [dstKey]);
    }
    notify(ctx, Notify.Generic, 'copy_to', dstKey, to);
    dirty(ctx);
    w.int(1);
  },

  dbsize(ctx) {
    ctx.w.int(ctx.db.size);
  },

  flushall(ctx, argv) {
    flushGeneric(ctx, argv, true);
  },
  flushdb(ctx, argv) {
    flushGeneric(ctx, argv, false);
  },
};
