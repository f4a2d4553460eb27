/**
 * Redis's server.dirty: what a write adds to the count of changes since the
 * last snapshot (INFO rdb_changes_since_last_save, the save points). Each
 * handler adds what the Redis 7.0 command adds (SET 1, MSET one per key,
 * SADD the members added, DEL the keys deleted, a write that changed nothing
 * 0), at apply time on every replica; the applier sums it per node.
 */
import type { Ctx } from './types.js';

/** The write in ctx changed `n` things (a no-op where nothing counts: reads, the test engine). */
export function dirty(ctx: Ctx, n = 1): void {
  if (ctx.dirty !== undefined) ctx.dirty += n;
}
