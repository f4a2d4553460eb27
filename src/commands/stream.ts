/**
 * Stream commands on entries (redis/src/t_stream.c, 7.0.15): XADD, XRANGE,
 * XREVRANGE, XLEN, XDEL, XTRIM, XSETID. Replies and errors byte for byte.
 *
 * XADD's `*` and `<ms>-*` IDs come from the entry's time (ctx.now) and the
 * stream's last ID (never backwards: a clock behind the last ID gives the
 * last ms with seq + 1), so every replica that applies the entry generates
 * the same ID. Trimming is applied as written (`~` included): the node
 * layout it depends on is the same on every replica, so no rewrite to `=`
 * is needed as Redis does for its replicas.
 */
import { Notify, notify, signalModified, signalReady } from './notify.js';
import { LISTPACK_MAX_SIZE, StreamValue, type TrimArgs } from '../keyspace/types/stream.js';
import { AUTO_ID, ZERO_ID, idIncr, idDecr, idNextAutoParts, idText, isMaxId, parseStreamId, sameMs, seqIsMax, streamErrno, withSeq, type ParsedId, type StreamId } from '../keyspace/types/stream-id.js';
import { arityError, ERR } from './errors.js';
import { isOpt } from './options.js';
import { STREAM_ERR } from './stream-errors.js';
import { EntryBuffer, idArg, intervalArg, longLongArg, streamForRead, streamForWrite } from './stream-util.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

interface AddTrimArgs {
  trim: TrimArgs | undefined;
  /** XADD: the ID argument (undefined for `*`). */
  id: ParsedId | undefined;
  noMkstream: boolean;
  /** Index of the ID argument (XADD), argv.length when it never came. */
  idPos: number;
}

/** streamParseAddOrTrimArgsOrReply; undefined after the error reply. */
function parseAddTrim(ctx: Ctx, argv: string[], xadd: boolean): AddTrimArgs | undefined {
  const w = ctx.w;
  let strategy: 'none' | 'maxlen' | 'minid' = 'none';
  let approx = false;
  let maxlen = 0;
  let minid: StreamId = ZERO_ID;
  let limit = 0;
  let limitGiven = false;
  let id: ParsedId | undefined;
  let noMkstream = false;
  let i = 2;
  for (; i < argv.length; i++) {
    const more = argv.length - 1 - i;
    const opt = argv[i]!;
    if (xadd && opt.charCodeAt(0) === 42 /* * */ && (opt.length === 1 || opt.charCodeAt(1) === 0)) break;
    const isMaxlen = isOpt(opt, 'maxlen');
    if ((isMaxlen || isOpt(opt, 'minid')) && more > 0) {
      if (strategy !== 'none') return void w.error(STREAM_ERR.maxlenAndMinid);
      approx = false;
      const next = argv[i + 1]!;
      if (more >= 2 && (next === '~' || next.startsWith('~\0'))) {
        approx = true;
        i++;
      } else if (more >= 2 && (next === '=' || next.startsWith('=\0'))) {
        i++;
      }
      if (isMaxlen) {
        const v = longLongArg(ctx, argv[i + 1]!);
        if (v === undefined) return undefined;
        if (v < 0) return void w.error(STREAM_ERR.maxlenNegative);
        maxlen = Number(v);
        strategy = 'maxlen';
      } else {
        const p = parseStreamId(argv[i + 1]!, false, true);
        if (p === null) return void w.error(STREAM_ERR.invalidId);
        minid = p.id;
        strategy = 'minid';
      }
      i++;
    } else if (isOpt(opt, 'limit') && more > 0) {
      const v = longLongArg(ctx, argv[i + 1]!);
      if (v === undefined) return undefined;
      if (v < 0) return void w.error(STREAM_ERR.limitNegative);
      limit = Number(v);
      limitGiven = true;
      i++;
    } else if (xadd && isOpt(opt, 'nomkstream')) {
      noMkstream = true;
    } else if (xadd) {
      const p = parseStreamId(opt, false, true, true);
      if (p === null) return void w.error(STREAM_ERR.invalidId);
      id = p;
      break;
    } else {
      return void w.error(ERR.syntax);
    }
  }
  if (limit !== 0 && strategy === 'none') return void w.error(STREAM_ERR.limitWithoutStrategy);
  if (!xadd && strategy === 'none') return void w.error(STREAM_ERR.xtrimWithoutStrategy);
  if (limitGiven) {
    if (!approx) return void w.error(STREAM_ERR.limitWithoutApprox);
  } else {
    // 100 × stream-node-max-entries, as Redis caps `~` trimming work by default.
    limit = approx ? 10000 : 0;
  }
  const trim = strategy === 'none' ? undefined : { strategy, maxlen, minid, approx, limit };
  return { trim, id, noMkstream, idPos: i };
}

/**
 * The ID an XADD gets (streamAppendItem), undefined when it is not above
 * the last ID, or null for `<ms>-*` when the last ID has that ms and the
 * largest seq: Redis fails there without setting errno, and its reply
 * depends on the errno left by the last failure: "equal or smaller" after
 * an XADD that failed that way (EDOM), "too large" otherwise.
 */
function nextId(s: StreamValue, given: ParsedId | undefined, now: number): StreamId | undefined | null {
  const last = s.lastId;
  let id: StreamId | undefined;
  if (given === undefined) {
    id = idNextAutoParts(last, now);
  } else if (given.seqGiven) {
    id = given.id;
  } else if (sameMs(last, given.id)) {
    if (seqIsMax(last)) return null;
    id = idIncr(last);
  } else {
    id = withSeq(given.id, 0);
  }
  return id !== undefined && id > last ? id : undefined;
}

/** The last "<ms>-" autoIdText made (XADDs in one millisecond share it). */
let autoMs = -1;
let autoMsText = '';

/** idText of the ID idNextAutoParts just answered (its safe ms and seq in AUTO_ID): "<ms>-<seq>". */
function autoIdText(): string {
  const ms = AUTO_ID[0]!;
  const seq = AUTO_ID[1]!;
  if (ms !== autoMs) {
    autoMs = ms;
    autoMsText = `${ms}-`;
  }
  // A small seq as an int32: String of a small integer comes from the number-string cache.
  return autoMsText + (seq < 0x40000000 ? seq | 0 : seq);
}

/** XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value …] */
const xadd: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  const a = parseAddTrim(ctx, argv, true);
  if (a === undefined) return;
  const fieldPos = a.idPos + 1;
  const n = argv.length - fieldPos;
  if (n < 2 || n % 2 === 1) return w.error(arityError('xadd'));
  if (a.id !== undefined && a.id.seqGiven && a.id.id === ZERO_ID) return w.error(STREAM_ERR.xaddZeroId);
  const key = argv[1]!;
  let s = streamForWrite(ctx, key);
  if (s === null) return;
  if (s === undefined) {
    if (a.noMkstream) return w.nil();
    s = new StreamValue();
    ctx.db.set(key, s);
  }
  if (isMaxId(s.lastId)) return w.error(STREAM_ERR.exhausted);
  const id = nextId(s, a.id, ctx.now);
  if (id === null) return w.error(streamErrno.edom ? STREAM_ERR.xaddSmaller : STREAM_ERR.tooLarge);
  if (id === undefined) {
    streamErrno.edom = true;
    return w.error(STREAM_ERR.xaddSmaller);
  }
  let total = 0;
  for (let i = fieldPos; i < argv.length; i++) total += argv[i]!.length;
  if (total > LISTPACK_MAX_SIZE) {
    streamErrno.edom = false;
    return w.error(STREAM_ERR.tooLarge);
  }
  if (a.id === undefined && AUTO_ID[0]! >= 0) {
    // `*`: the ID's halves as numbers (idNextAutoParts), for the listpack deltas and the reply.
    s.append(id, argv, fieldPos, true);
    w.bulk(autoIdText());
  } else {
    s.append(id, argv, fieldPos);
    w.bulk(idText(id));
  }
  signalModified(ctx, key);
  notify(ctx, Notify.Stream, 'xadd', key);
  dirty(ctx);
  if (a.trim !== undefined && s.trim(a.trim) > 0) notify(ctx, Notify.Stream, 'xtrim', key);
  signalReady(ctx, key);
};

function xrangeGeneric(rev: boolean): DataHandler {
  return (ctx, argv) => {
    const w = ctx.w;
    const startArg = rev ? argv[3]! : argv[2]!;
    const endArg = rev ? argv[2]! : argv[3]!;
    const st = intervalArg(ctx, startArg, false);
    if (st === undefined) return;
    let start: StreamId | undefined = st.id;
    if (st.ex && (start = idIncr(start)) === undefined) return w.error(STREAM_ERR.invalidStart);
    const en = intervalArg(ctx, endArg, true);
    if (en === undefined) return;
    let end: StreamId | undefined = en.id;
    if (en.ex && (end = idDecr(end)) === undefined) return w.error(STREAM_ERR.invalidEnd);
    let count = -1;
    for (let j = 4; j < argv.length; j++) {
      if (isOpt(argv[j]!, 'count') && argv.length - j - 1 >= 1) {
        const c = longLongArg(ctx, argv[++j]!);
        if (c === undefined) return;
        count = c < 0 ? 0 : Number(c);
      } else {
        return w.error(ERR.syntax);
      }
    }
    const s = streamForRead(ctx, argv[1]!);
    if (s === null) return;
    if (s === undefined) return w.arrayHeader(0);
    if (count === 0) return w.nilArray();
    const out = new EntryBuffer();
    s.range(start, end, rev, count === -1 ? 0 : count, out.push);
    out.write(w);
  };
}

const xlen: DataHandler = (ctx, argv) => {
  const s = streamForRead(ctx, argv[1]!);
  if (s === null) return;
  ctx.w.int(s === undefined ? 0 : s.length);
};

/** XDEL key id [id …] */
const xdel: DataHandler = (ctx, argv) => {
  const s = streamForWrite(ctx, argv[1]!);
  if (s === null) return;
  if (s === undefined) return ctx.w.int(0);
  const ids: StreamId[] = [];
  for (let j = 2; j < argv.length; j++) {
    const id = idArg(ctx, argv[j]!, false, true);
    if (id === undefined) return;
    ids.push(id);
  }
  let deleted = 0;
  let firstEntry = false;
  for (const id of ids) {
    if (!s.delete(id)) continue;
    if (id === s.firstId) firstEntry = true;
    if (id > s.maxDeletedId) s.maxDeletedId = id;
    deleted++;
  }
  if (deleted > 0) {
    if (s.length === 0) s.firstId = ZERO_ID;
    else if (firstEntry) s.firstId = s.firstValidId();
    signalModified(ctx, argv[1]!);
    notify(ctx, Notify.Stream, 'xdel', argv[1]!);
    dirty(ctx, deleted);
  }
  ctx.w.int(deleted);
};

/** XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count] */
const xtrim: DataHandler = (ctx, argv) => {
  const a = parseAddTrim(ctx, argv, false);
  if (a === undefined) return;
  const s = streamForWrite(ctx, argv[1]!);
  if (s === null) return;
  if (s === undefined) return ctx.w.int(0);
  const trimmed = s.trim(a.trim!);
  if (trimmed > 0) {
    signalModified(ctx, argv[1]!);
    notify(ctx, Notify.Stream, 'xtrim', argv[1]!);
    dirty(ctx, trimmed);
  }
  ctx.w.int(trimmed);
};

/** XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id] */
const xsetid: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  const id = idArg(ctx, argv[2]!, false, true);
  if (id === undefined) return;
  let entriesAdded: number | bigint = -1;
  let maxDel: StreamId = ZERO_ID;
  for (let i = 3; i < argv.length; ) {
    const more = argv.length - 1 - i;
    const opt = argv[i]!;
    if (isOpt(opt, 'entriesadded') && more > 0) {
      const v = longLongArg(ctx, argv[i + 1]!);
      if (v === undefined) return;
      if (v < 0) return w.error(STREAM_ERR.entriesAddedPositive);
      entriesAdded = v;
      i += 2;
    } else if (isOpt(opt, 'maxdeletedid') && more > 0) {
      const m = idArg(ctx, argv[i + 1]!, false, true);
      if (m === undefined) return;
      if (id < m) return w.error(STREAM_ERR.xsetidBelowMaxDeleted);
      maxDel = m;
      i += 2;
    } else {
      return w.error(ERR.syntax);
    }
  }
  const s = streamForWrite(ctx, argv[1]!);
  if (s === null) return;
  if (s === undefined) return w.error(ERR.nokey);
  if (s.length > 0) {
    if (id < s.lastValidId()) return w.error(STREAM_ERR.xsetidBelowTop);
    if (entriesAdded !== -1 && s.length > entriesAdded) return w.error(STREAM_ERR.xsetidEntriesAdded);
  }
  s.lastId = id;
  if (entriesAdded !== -1) s.entriesAdded = entriesAdded;
  if (maxDel !== ZERO_ID) s.maxDeletedId = maxDel;
  // No signalModifiedKey nor signalKeyAsReady: redis-server 7.0.15's XSETID aborts no EXEC and wakes no reader.
  notify(ctx, Notify.Stream, 'xsetid', argv[1]!);
  dirty(ctx);
  w.ok();
};

export const streamCommands: Record<string, DataHandler> = {
  xadd,
  xrange: xrangeGeneric(false),
  xrevrange: xrangeGeneric(true),
  xlen,
  xdel,
  xtrim,
  xsetid,
};
