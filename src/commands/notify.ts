/**
 * Keyspace notifications (Redis's notify.c): the classes of
 * notify-keyspace-events and the call every write makes when it changes a
 * key. Events are emitted where a write is applied, on every node, each to
 * that node's own subscribers (the engine's KeyspaceNotifier), so a
 * subscriber on any node sees each event once, in log order.
 */
import { dirty } from './dirty.js';
import type { Ctx } from './types.js';

/** The classes, as the notify-keyspace-events codec (engine/config-values.ts) stores them. */
export const enum Notify {
  Keyspace = 1,
  Keyevent = 2,
  Generic = 4,
  String = 8,
  List = 16,
  Set = 32,
  Hash = 64,
  Zset = 128,
  Expired = 256,
  Evicted = 512,
  Stream = 1024,
  KeyMiss = 2048,
  Module = 4096,
  New = 8192,
}

/** Where events go: set on the contexts of applied writes. */
export interface KeyspaceEvents {
  /** notify-keyspace-events, as Notify bits; 0 when nothing is to be emitted. */
  flags: number;
  emit(event: string, key: string, db: number): void;
}

/** notifyKeyspaceEvent: a write of class `type` did `event` to `key` in database `db` (the context's by default). */
export function notify(ctx: Ctx, type: Notify, event: string, key: string, db = ctx.dbIndex): void {
  const ev = ctx.events;
  if (ev !== undefined && (ev.flags & type) !== 0) ev.emit(event, key, db);
}

/** A STORE command's empty result: the destination is deleted ("del" when it existed). */
export function deleteStored(ctx: Ctx, dst: string): void {
  if (!ctx.db.delete(dst)) return;
  notify(ctx, Notify.Generic, 'del', dst);
  dirty(ctx);
}

/** signalModifiedKey for a command flagged signalsItself. */
export function signalModified(ctx: Ctx, key: string): void {
  if (ctx.signal !== undefined) ctx.signal.modified(ctx.dbIndex, key);
}

/** signalKeyAsReady for a command flagged signalsItself. */
export function signalReady(ctx: Ctx, key: string): void {
  if (ctx.signal !== undefined) ctx.signal.ready(ctx.dbIndex, key);
}
