/**
 * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: stops this node as SIGTERM
 * does (what was proposed reaches the disk, connections close, the
 * database is closed). Only this node stops; the rest of a cluster carries
 * on and elects a new leader if it was this one. Every acknowledged write
 * is already in the Raft log, so nothing is lost without a save: SAVE
 * takes a snapshot first (a faster restart), NOSAVE and the default (the
 * `save` parameter is empty, as for a redis-server started with --save '')
 * do not; SAVE FORCE stops even if the snapshot fails. NOW is accepted:
 * there are no replicas to wait for (the log is already on a quorum). A shutdown
 * cannot be aborted once started, so ABORT always answers Redis's "no
 * shutdown in progress". As in Redis, a successful SHUTDOWN has no reply:
 * the connection closes.
 */
import type { ConnCtx } from './table.js';
import { BUSY_EVAL, BUSY_FUNCTION } from './engine/scripts.js';
import { createLogger } from '../util/log.js';

const log = createLogger('server');

export function shutdown({ c, w, engine }: ConnCtx, argv: string[]): void {
  let save = false;
  let nosave = false;
  let now = false;
  let force = false;
  let abort = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!.toLowerCase();
    if (a === 'nosave') nosave = true;
    else if (a === 'save') save = true;
    else if (a === 'now') now = true;
    else if (a === 'force') force = true;
    else if (a === 'abort') abort = true;
    else return w.error('ERR syntax error');
  }
  // Redis's illegal combinations: ABORT with any other flag (ABORT twice is fine), SAVE with NOSAVE.
  if ((abort && (save || nosave || now || force)) || (save && nosave)) return w.error('ERR syntax error');
  if (abort) return w.error('ERR No shutdown in progress.');
  // A script paused between slices: only SHUTDOWN NOSAVE (Redis's shutdownCommand answers BUSY otherwise).
  const busy = engine.scripts.busy;
  if (busy !== undefined && !nosave) return w.error(busy.isFunction ? BUSY_FUNCTION : BUSY_EVAL);
  const server = c.server;
  const stop = server.shutdown;
  if (stop === undefined) return w.error('ERR Errors trying to SHUTDOWN. Check logs.');
  const reason = `SHUTDOWN from client id=${c.id} addr=${c.addr}`;
  if (!save) return stop(reason);
  const slot = c.defer();
  void server.node.snapshot().then((m) => {
    if (m === undefined && !force) {
      log.warn(`${reason}: the snapshot failed, not shutting down (SHUTDOWN SAVE FORCE stops anyway)`);
      slot.error('ERR Errors trying to SHUTDOWN. Check logs.');
      c.complete(slot);
      return;
    }
    if (m === undefined) log.warn(`${reason}: the snapshot failed, shutting down anyway (FORCE)`);
    // No reply: the slot only keeps its place until the connection closes.
    c.complete(slot);
    stop(reason);
  });
}
