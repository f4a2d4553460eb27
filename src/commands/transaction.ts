/**
 * MULTI / EXEC / DISCARD / WATCH / UNWATCH.
 *
 * A transaction with any write becomes ONE log entry, applied atomically on
 * every replica. WATCH is decided on the leader, where the watching client
 * is: EXEC first waits until every entry proposed so far is applied (so any
 * write that could touch a watched key has been seen), checks the watched
 * keys, and proposes at once — no other entry can come between the check
 * and the transaction in the log. See docs/decisions.md.
 */
import { markDeniedInExec, type User } from './engine/acl.js';
import { NOPERM_IN_EXEC } from './engine/entry.js';
import type { Slot } from '../server/client.js';
import type { EngineClient as Client } from './engine/engine.js';
import { callData, feedMonitors } from './engine/call.js';
import { ERR } from './errors.js';
import { batchOom } from './engine/evict.js';
import type { RespWriter } from '../server/resp-writer.js';
import { isLogged, type ConnHandler, type ConnCtx } from './table.js';
import { ERR_FORWARD_WATCH } from './engine/proxy.js';
import { CLUSTERDOWN_NO_LEADER } from './routing.js';
import { clientInfoLine, selectDb } from './connection.js';
import { parseDbIndex } from './db-index.js';

function multi({ c, w }: ConnCtx, _argv: string[]): void {
  if (c.multi !== undefined) return w.error(ERR.multiNested);
  c.multi = [];
  c.multiError = false;
  w.ok();
}

function discard({ c, w }: ConnCtx, _argv: string[]): void {
  if (c.multi === undefined) return w.error(ERR.discardWithoutMulti);
  c.multi = undefined;
  c.multiError = false;
  c.server.unwatchAll(c);
  w.ok();
}

function watch({ c, w }: ConnCtx, argv: string[]): void {
  if (c.multi !== undefined) return w.error(ERR.watchInsideMulti);
  const node = c.server.node;
  const after = c.lastWriteIndex;
  if (after <= node.appliedIndex) return watchKeys(c, argv, w);
  // The client's own writes in flight come before this WATCH (Redis ran them first): watch once they are applied,
  // or their apply would count as a change after it.
  const slot = c.defer();
  c.hold(slot);
  node.whenApplied(after, () => {
    watchKeys(c, argv, slot);
    c.complete(slot);
  });
}

function watchKeys(c: Client, argv: string[], w: RespWriter): void {
  const db = c.db;
  const now = Date.now();
  for (let i = 1; i < argv.length; i++) {
    const key = argv[i]!;
    c.server.watch(c, c.dbIndex, key, db.isExpired(key, now));
  }
  w.ok();
}

function unwatch({ c, w }: ConnCtx, _argv: string[]): void {
  c.server.unwatchAll(c);
  w.ok();
}

/** Redis's isWatchedKeyExpired: a watched key that expired since WATCH counts as changed. */
function watchedKeyExpired(c: Client, now: number): boolean {
  const dbs = c.server.dbs;
  for (const wk of c.watched.values()) {
    if (!wk.expiredAtWatch && dbs.get(wk.db).isExpired(wk.key, now)) return true;
  }
  return false;
}

/**
 * The database a transaction leaves its client in: the last SELECT in it
 * that names a valid one, as Redis's SELECT inside MULTI leaves it. Set when
 * EXEC runs (not when the entry applies), so that what the client sends
 * after EXEC goes to that database.
 */
function selectAfter(c: Client, cmds: readonly string[][]): void {
  const table = c.server.table;
  for (const argv of cmds) {
    if (table.lookup(argv)?.name !== 'select') continue;
    const i = parseDbIndex(argv[1]!, c.server.dbs.count);
    if (typeof i === 'number') selectDb(c, i);
  }
}

function exec({ c, w }: ConnCtx, _argv: string[]): void {
  const cmds = c.multi;
  if (cmds === undefined) return w.error(ERR.execWithoutMulti);
  c.multi = undefined;
  if (c.multiError) {
    c.multiError = false;
    c.server.unwatchAll(c);
    return w.error(ERR.execabort);
  }
  const server = c.server;
  const node = server.node;
  const table = server.table;
  const hasWrite = cmds.some((argv) => isLogged(table.lookup(argv), server, argv));
  // A sharded group routes a read-only transaction again when it runs (see Dispatcher.readData).
  const reroute = hasWrite ? undefined : server.dispatcher.transactionRouteLater(cmds);
  // execCommand checks the ACL again: the rules may have changed since the commands were queued.
  if (!c.user.allowsAll) markDeniedInExec(c.server.acl, c.user as User, cmds, c.server.table, clientInfoLine(c));

  // A follower in proxy mode forwards the whole transaction to the leader.
  if (!node.isLeader && server.proxy !== undefined && cmds.some((argv) => table.lookup(argv)?.conn === undefined)) {
    if (c.watched.size > 0) {
      server.unwatchAll(c);
      return w.error(ERR_FORWARD_WATCH);
    }
    if (server.proxy.forward(c, cmds, true, hasWrite)) return selectAfter(c, cmds);
    return w.error(CLUSTERDOWN_NO_LEADER);
  }

  /** Runs the transaction into `out`; returns true when it proposed (the reply comes at apply). */
  const run = (out: RespWriter, slot?: Slot): boolean => {
    const dirty = c.watchDirty || watchedKeyExpired(c, Date.now());
    server.unwatchAll(c);
    if (dirty) {
      out.nilArray();
      return false;
    }
    // The entry runs from the database the client is in; SELECTs inside it change that as they apply.
    const startDb = c.dbIndex;
    const startKs = c.db;
    selectAfter(c, cmds);
    if (hasWrite) {
      // MONITOR shows the transaction's commands now, before EXEC, as Redis runs them.
      if (server.stats.monitors.size !== 0) {
        let db = startDb;
        for (const argv of cmds) {
          const def = table.lookup(argv);
          if (def?.name === 'select') {
            const i = parseDbIndex(argv[1]!, server.dbs.count);
            if (typeof i === 'number') db = i;
          }
          if (def !== undefined) feedMonitors(server.stats, def, argv, c, db);
        }
      }
      server.dispatcher.propose(c, cmds, true, slot, startDb, batchOom(server.evictor, cmds));
      return true;
    }
    // Reads only: one linearizable read of everything.
    server.dispatcher.read(
      c,
      (w, now) => {
        const refused = reroute?.({ db: startKs, dbIndex: startDb });
        if (refused !== undefined) return w.error(refused);
        w.arrayHeader(cmds.length);
        const ctx = { db: startKs, dbIndex: startDb, dbs: server.dbs, now, index: 0, w, scripts: server.scripts, user: c.user.allowsAll ? undefined : c.user.name };
        const stats = server.stats;
        for (const argv of cmds) {
          if (argv[0] === NOPERM_IN_EXEC) {
            w.error(argv[1]!);
            continue;
          }
          const def = table.lookup(argv)!;
          if (def.data) {
            callData(stats, def, def.data, ctx, argv, c);
            if (server.scripts.uncachedRead !== undefined) server.dispatcher.scriptCaching.afterRead(c);
            if (server.tracking.wanted) server.tracking.read(c, def, argv);
          } else if (def.name === 'select') {
            // The client's own database was set at EXEC (selectAfter); the reads after this one use the selected database.
            const i = parseDbIndex(argv[1]!, server.dbs.count);
            if (typeof i === 'string') {
              w.error(i);
            } else {
              ctx.db = server.dbs.get(i);
              ctx.dbIndex = i;
              w.ok();
            }
            def.stats.calls++;
          } else {
            server.dispatcher.runConn(c, argv, w);
          }
        }
      },
      slot ?? c.defer(),
    );
    return true;
  };

  if (c.watched.size === 0) {
    run(w);
    return;
  }
  // WATCH: wait until every entry proposed so far is applied (any client's
  // write may touch a watched key; this turn's proposals, not yet in the log,
  // included), then decide and propose in one step.
  const slot = c.defer();
  // What the client sends after EXEC, reads included, must see the transaction's outcome.
  server.dispatcher.holdDeciding(c, slot);
  node.whenApplied(node.lastProposedIndex, () => {
    server.dispatcher.decided(c);
    if (!run(slot, slot)) c.complete(slot);
  });
}

export const transactionCommands: Record<string, ConnHandler> = { multi, discard, watch, unwatch, exec };
