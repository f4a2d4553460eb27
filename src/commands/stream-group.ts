/**
 * Consumer group commands (t_stream.c 7.0.15): XGROUP, XACK, XPENDING,
 * XCLAIM, XAUTOCLAIM. Replies and errors byte for byte.
 *
 * Every time they compare or store (min-idle-time, IDLE, TIME, delivery
 * and seen times) is the entry's time (ctx.now) when they write, so every
 * replica claims the same entries; XPENDING, a read, reports idle times
 * against the local clock as Redis does.
 */
import { Notify, notify, signalModified, signalReady } from './notify.js';
import { ConsumerGroup, INVALID_ENTRIES_READ, Nack } from '../keyspace/types/stream-groups.js';
import { MAX_ID, ZERO_ID, idIncr, idDecr, idText, parseStreamId, type StreamId } from '../keyspace/types/stream-id.js';
import { StreamValue } from '../keyspace/types/stream.js';
import { getRangeLong } from './args.js';
import { ERR, subcommandSyntaxError } from './errors.js';
import { writeHelp } from './help.js';
import { isOpt } from './options.js';
import { STREAM_ERR, nogroupForKey, nogroupKeyOrGroup, xclaimUnknownOption } from './stream-errors.js';
import { touchConsumer } from './stream-read.js';
import { idArg, intervalArg, longLongArg, streamForRead, streamForWrite, writeEntry } from './stream-util.js';
import type { Ctx, DataHandler } from './types.js';
import { cstr } from '../util/number.js';
import { dirty } from './dirty.js';

const XGROUP_HELP = [
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
];

/** xgroupCommand: the common checks, then the subcommand. */
const xgroup: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  const sub = argv[1]!;
  if (argv.length === 2 && isOpt(sub, 'help')) return writeHelp(w, 'xgroup', XGROUP_HELP);
  const create = isOpt(sub, 'create');
  const setid = isOpt(sub, 'setid');
  let mkstream = false;
  let entriesRead: number | bigint = INVALID_ENTRIES_READ;
  let s: StreamValue | undefined;
  let g: ConsumerGroup | undefined;
  const key = argv[2]!;
  const name = argv[3]!;
  for (let i = 5; i < argv.length; ) {
    if (create && isOpt(argv[i]!, 'mkstream')) {
      mkstream = true;
      i++;
    } else if ((create || setid) && isOpt(argv[i]!, 'entriesread') && i + 1 < argv.length) {
      const v = longLongArg(ctx, argv[i + 1]!);
      if (v === undefined) return;
      if (v < 0 && v !== INVALID_ENTRIES_READ) return w.error(STREAM_ERR.entriesReadRange);
      entriesRead = v;
      i += 2;
    } else {
      return w.error(subcommandSyntaxError(sub, 'xgroup'));
    }
  }
  const v = streamForWrite(ctx, key);
  if (v === null) return;
  s = v;
  if (!mkstream) {
    if (s === undefined) return w.error(STREAM_ERR.xgroupNeedsKey);
    g = s.groups?.get(name);
    if (g === undefined && !create && !isOpt(sub, 'destroy')) return w.error(nogroupForKey(name, key));
  }
  if (create && argv.length >= 5 && argv.length <= 8) {
    let id: StreamId | undefined;
    if (cstr(argv[4]!) === '$') id = s !== undefined ? s.lastId : ZERO_ID;
    else if ((id = idArg(ctx, argv[4]!, false, true)) === undefined) return;
    if (s === undefined) {
      s = new StreamValue();
      ctx.db.set(key, s);
      // dbAdd and signalModifiedKey.
      signalReady(ctx, key);
      signalModified(ctx, key);
    }
    s.groups ??= new Map();
    if (s.groups.has(name)) return w.error(STREAM_ERR.busyGroup);
    s.groups.set(name, new ConsumerGroup(id, entriesRead));
    notify(ctx, Notify.Stream, 'xgroup-create', key);
    dirty(ctx);
    return w.ok();
  }
  if (setid && (argv.length === 5 || argv.length === 7)) {
    let id: StreamId | undefined;
    if (cstr(argv[4]!) === '$') id = s!.lastId;
    else if ((id = idArg(ctx, argv[4]!, false, false)) === undefined) return;
    g!.lastId = id;
    g!.entriesRead = entriesRead;
    notify(ctx, Notify.Stream, 'xgroup-setid', key);
    dirty(ctx);
    return w.ok();
  }
  if (isOpt(sub, 'destroy') && argv.length === 4) {
    if (g === undefined) return w.int(0);
    s!.groups!.delete(name);
    notify(ctx, Notify.Stream, 'xgroup-destroy', key);
    dirty(ctx);
    // Its blocked readers get NOGROUP; WATCH is not touched, as in Redis.
    signalReady(ctx, key);
    return w.int(1);
  }
  if (isOpt(sub, 'createconsumer') && argv.length === 5) {
    const cname = argv[4]!;
    if (g!.consumers.has(cname)) return w.int(0);
    touchConsumer(ctx, key, g!, cname);
    return w.int(1);
  }
  if (isOpt(sub, 'delconsumer') && argv.length === 5) {
    const c = g!.consumers.get(argv[4]!);
    if (c === undefined) return w.int(0);
    const pending = c.pel.size;
    g!.deleteConsumer(c);
    notify(ctx, Notify.Stream, 'xgroup-delconsumer', key);
    dirty(ctx);
    return w.int(pending);
  }
  w.error(subcommandSyntaxError(sub, 'xgroup'));
};

/** The group of a stream for XACK / XPENDING / XCLAIM / XAUTOCLAIM: undefined when key or group is missing, null after WRONGTYPE. */
function groupOf(s: StreamValue | undefined, name: string): ConsumerGroup | undefined {
  return s?.groups?.get(name);
}

/** XACK key group id [id …] */
const xack: DataHandler = (ctx, argv) => {
  const s = streamForWrite(ctx, argv[1]!);
  if (s === null) return;
  const g = groupOf(s, argv[2]!);
  if (g === undefined) return ctx.w.int(0);
  const ids: StreamId[] = [];
  for (let j = 3; j < argv.length; j++) {
    const id = idArg(ctx, argv[j]!, false, true);
    if (id === undefined) return;
    ids.push(id);
  }
  let acked = 0;
  for (const id of ids) if (g.dropNack(id)) acked++;
  dirty(ctx, acked);
  ctx.w.int(acked);
};

/** XPENDING key group [[IDLE min-idle-time] start end count [consumer]] */
const xpending: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  const n = argv.length;
  if (n !== 3 && (n < 6 || n > 9)) return w.error(ERR.syntax);
  let start: StreamId | undefined = ZERO_ID;
  let end: StreamId | undefined = MAX_ID;
  let count = 0;
  let minIdle = 0;
  let consumerName: string | undefined;
  if (n >= 6) {
    let at = 3;
    if (isOpt(argv[3]!, 'idle')) {
      const v = longLongArg(ctx, argv[4]!);
      if (v === undefined) return;
      minIdle = Number(v);
      if (n < 8) return w.error(ERR.syntax);
      at += 2;
    }
    const c = longLongArg(ctx, argv[at + 2]!);
    if (c === undefined) return;
    count = c < 0 ? 0 : Number(c);
    const st = intervalArg(ctx, argv[at]!, false);
    if (st === undefined) return;
    start = st.id;
    if (st.ex && (start = idIncr(start)) === undefined) return w.error(STREAM_ERR.invalidStart);
    const en = intervalArg(ctx, argv[at + 1]!, true);
    if (en === undefined) return;
    end = en.id;
    if (en.ex && (end = idDecr(end)) === undefined) return w.error(STREAM_ERR.invalidEnd);
    if (at + 3 < n) consumerName = argv[at + 3]!;
  }
  const s = streamForRead(ctx, argv[1]!);
  if (s === null) return;
  const g = groupOf(s, argv[2]!);
  if (g === undefined) return w.error(nogroupKeyOrGroup(argv[1]!, argv[2]!));
  if (n === 3) {
    w.arrayHeader(4);
    w.int(g.pel.size);
    if (g.pel.size === 0) {
      w.nil();
      w.nil();
      w.nilArray();
      return;
    }
    w.bulk(idText(g.pelOrder.first()!.member));
    w.bulk(idText(g.pelOrder.last()!.member));
    const withPending = g.sortedConsumers().filter((c) => c.pel.size > 0);
    w.arrayHeader(withPending.length);
    for (const c of withPending) {
      w.arrayHeader(2);
      w.bulk(c.name);
      w.bulk(String(c.pel.size));
    }
    return;
  }
  let pel = g.pelOrder;
  if (consumerName !== undefined) {
    const c = g.consumers.get(consumerName);
    if (c === undefined) return w.arrayHeader(0);
    pel = c.pel;
  }
  const rows: [StreamId, Nack][] = [];
  for (let x = pel.seek(start); count > 0 && x !== null && x.member <= end; x = x.next[0]!) {
    const nack = g.pel.get(x.member)!;
    if (minIdle !== 0 && ctx.now - nack.deliveryTime < minIdle) continue;
    rows.push([x.member, nack]);
    count--;
  }
  w.arrayHeader(rows.length);
  for (const [id, nack] of rows) {
    w.arrayHeader(4);
    w.bulk(idText(id));
    w.bulk(nack.consumer!.name);
    w.int(Math.max(0, ctx.now - nack.deliveryTime));
    w.int(nack.deliveryCount);
  }
};

/** XCLAIM key group consumer min-idle-time id [id …] [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id] */
const xclaim: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  const s = streamForWrite(ctx, argv[1]!);
  if (s === null) return;
  const g = groupOf(s, argv[2]!);
  if (s === undefined || g === undefined) return w.error(nogroupKeyOrGroup(argv[1]!, argv[2]!));
  const mi = longLongArg(ctx, argv[4]!, STREAM_ERR.xclaimMinIdle);
  if (mi === undefined) return;
  const minIdle = mi < 0 ? 0 : Number(mi);
  const ids: StreamId[] = [];
  let j = 5;
  for (; j < argv.length; j++) {
    const p = parseStreamId(argv[j]!, false, true);
    if (p === null) break;
    ids.push(p.id);
  }
  const now = ctx.now;
  let retry: number | bigint = -1;
  let delivery = -1;
  let force = false;
  let justid = false;
  let lastId = ZERO_ID;
  for (; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    const opt = argv[j]!;
    if (isOpt(opt, 'force')) force = true;
    else if (isOpt(opt, 'justid')) justid = true;
    else if (isOpt(opt, 'idle') && more > 0) {
      const v = longLongArg(ctx, argv[++j]!, STREAM_ERR.xclaimIdle);
      if (v === undefined) return;
      delivery = now - Number(v);
    } else if (isOpt(opt, 'time') && more > 0) {
      const v = longLongArg(ctx, argv[++j]!, STREAM_ERR.xclaimTime);
      if (v === undefined) return;
      delivery = Number(v);
    } else if (isOpt(opt, 'retrycount') && more > 0) {
      const v = longLongArg(ctx, argv[++j]!, STREAM_ERR.xclaimRetry);
      if (v === undefined) return;
      retry = v;
    } else if (isOpt(opt, 'lastid') && more > 0) {
      const id = idArg(ctx, argv[++j]!, false, true);
      if (id === undefined) return;
      lastId = id;
    } else {
      return w.error(xclaimUnknownOption(opt));
    }
  }
  if (lastId > g.lastId) g.lastId = lastId;
  if (delivery === -1 || delivery < 0 || delivery > now) delivery = now;
  const name = argv[3]!;
  let consumer;
  const out: [StreamId, readonly string[]][] = [];
  for (const id of ids) {
    let nack = g.pel.get(id);
    const vals = s.get(id);
    if (vals === undefined) {
      if (nack !== undefined) {
        g.dropNack(id);
        dirty(ctx);
      }
      continue;
    }
    if (force && nack === undefined) {
      nack = new Nack(null, now, 1);
      g.addNack(id, nack);
    }
    if (nack === undefined) continue;
    if (nack.consumer !== null && minIdle !== 0 && now - nack.deliveryTime < minIdle) continue;
    consumer ??= touchConsumer(ctx, argv[1]!, g, name);
    g.reassign(id, nack, consumer);
    nack.deliveryTime = delivery;
    if (retry !== -1 && retry >= 0) nack.deliveryCount = retry;
    else if (!justid) nack.bumpCount();
    out.push([id, vals]);
    dirty(ctx);
  }
  w.arrayHeader(out.length);
  for (const [id, vals] of out) {
    if (justid) w.bulk(idText(id));
    else writeEntry(w, id, vals);
  }
};

/** XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID] */
const xautoclaim: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  const mi = longLongArg(ctx, argv[4]!, STREAM_ERR.xautoclaimMinIdle);
  if (mi === undefined) return;
  const minIdle = mi < 0 ? 0 : Number(mi);
  const st = intervalArg(ctx, argv[5]!, false);
  if (st === undefined) return;
  let start: StreamId | undefined = st.id;
  if (st.ex && (start = idIncr(start)) === undefined) return w.error(STREAM_ERR.invalidStart);
  let count = 100;
  let justid = false;
  for (let j = 6; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (isOpt(argv[j]!, 'count') && more > 0) {
      // LONG_MAX / max(sizeof(streamID), attempts_factor)
      const c = getRangeLong(ctx, argv[++j]!, 1n, 9223372036854775807n / 16n, STREAM_ERR.xautoclaimCount.slice(4));
      if (c === undefined) return;
      count = c;
    } else if (isOpt(argv[j]!, 'justid')) {
      justid = true;
    } else {
      return w.error(ERR.syntax);
    }
  }
  const s = streamForWrite(ctx, argv[1]!);
  if (s === null) return;
  const g = groupOf(s, argv[2]!);
  if (s === undefined || g === undefined) return w.error(nogroupKeyOrGroup(argv[1]!, argv[2]!));
  const now = ctx.now;
  const name = argv[3]!;
  let consumer;
  let attempts = count * 10;
  const claimed: [StreamId, readonly string[]][] = [];
  const deleted: StreamId[] = [];
  let pos: StreamId | undefined = start;
  let eof = false;
  while (attempts-- > 0 && count > 0) {
    const x = pos === undefined ? null : g.pelOrder.seek(pos);
    if (x === null) {
      eof = true;
      break;
    }
    const id = x.member;
    pos = idIncr(id);
    const nack = g.pel.get(id)!;
    const vals = s.get(id);
    if (vals === undefined) {
      g.dropNack(id);
      deleted.push(id);
      count--;
      continue;
    }
    if (minIdle !== 0 && now - nack.deliveryTime < minIdle) continue;
    consumer ??= touchConsumer(ctx, argv[1]!, g, name);
    g.reassign(id, nack, consumer);
    nack.deliveryTime = now;
    if (!justid) nack.bumpCount();
    claimed.push([id, vals]);
    count--;
  }
  dirty(ctx, claimed.length + deleted.length);
  const next = eof || pos === undefined ? null : g.pelOrder.seek(pos);
  w.arrayHeader(3);
  w.bulk(idText(next === null ? ZERO_ID : next.member));
  w.arrayHeader(claimed.length);
  for (const [id, vals] of claimed) {
    if (justid) w.bulk(idText(id));
    else writeEntry(w, id, vals);
  }
  w.arrayHeader(deleted.length);
  for (const id of deleted) w.bulk(idText(id));
};

export const streamGroupCommands: Record<string, DataHandler> = {
  'xgroup|create': xgroup,
  'xgroup|setid': xgroup,
  'xgroup|destroy': xgroup,
  'xgroup|createconsumer': xgroup,
  'xgroup|delconsumer': xgroup,
  'xgroup|help': xgroup,
  xack,
  xpending,
  xclaim,
  xautoclaim,
};
