/**
 * XREAD and XREADGROUP (t_stream.c xreadCommand, 7.0.15), applied as their
 * non-blocking forms: they answer what is there now, or the null array.
 * Waiting (BLOCK) is done on the leader by engine/stream-blocking.ts, which
 * serves an XREAD itself when a matching XADD is applied and proposes an
 * XREADGROUP again (it changes the PEL, so it is a log entry) for the key
 * that got data.
 *
 * XREADGROUP is a write: delivery times, consumers' seen times and the
 * group's last ID come from the entry's time (ctx.now).
 */
import { Notify, notify } from './notify.js';
import { Consumer, Nack, type ConsumerGroup } from '../keyspace/types/stream-groups.js';
import { MAX_ID, ZERO_ID, idIncr, parseStreamId, type StreamId } from '../keyspace/types/stream-id.js';
import { advanceGroup } from '../keyspace/types/stream-lag.js';
import { StreamValue } from '../keyspace/types/stream.js';
import type { RespWriter } from '../server/resp-writer.js';
import { cstr } from '../util/number.js';
import { ERR } from './errors.js';
import { isOpt } from './options.js';
import { STREAM_ERR, blockFromScriptError, nogroupXreadgroup } from './stream-errors.js';
import { EntryBuffer, longLongArg, streamForRead, streamForWrite } from './stream-util.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

/** XREAD_BLOCKED_DEFAULT_COUNT: what a blocked reader gets at most when it gave no COUNT. */
export const XREAD_BLOCKED_DEFAULT_COUNT = 1000;

export interface XreadArgs {
  group: boolean;
  /** -1: no BLOCK; else milliseconds (0: forever). */
  timeout: number;
  count: number;
  noack: boolean;
  groupName: string;
  consumerName: string;
  keys: string[];
  /** Per key: the ID the reply must be above; MAX_ID stands for ">", as in Redis. */
  ids: StreamId[];
  streams: (StreamValue | undefined)[];
  groups: (ConsumerGroup | undefined)[];
}

/**
 * Parses XREAD / XREADGROUP and resolves keys, groups and "$" against the
 * keyspace (in Redis's order of checks). Undefined after the error reply.
 */
export function parseXread(ctx: Ctx, argv: string[], forWrite: boolean): XreadArgs | undefined {
  const w = ctx.w;
  const group = argv[0]!.length === 10;
  let timeout = -1;
  let count = 0;
  let streamsArg = 0;
  let nstreams = 0;
  let noack = false;
  let groupName: string | undefined;
  let consumerName = '';
  for (let i = 1; i < argv.length; i++) {
    const more = argv.length - i - 1;
    const o = argv[i]!;
    if (isOpt(o, 'block') && more > 0) {
      if (ctx.inScript === true) return void w.error(blockFromScriptError(argv[0]!));
      i++;
      const t = longLongArg(ctx, argv[i]!, STREAM_ERR.timeoutNotInteger);
      if (t === undefined) return undefined;
      if (t < 0) return void w.error(STREAM_ERR.timeoutNegative);
      timeout = Number(t);
    } else if (isOpt(o, 'count') && more > 0) {
      i++;
      const c = longLongArg(ctx, argv[i]!);
      if (c === undefined) return undefined;
      count = c < 0 ? 0 : Number(c);
    } else if (isOpt(o, 'streams') && more > 0) {
      streamsArg = i + 1;
      nstreams = argv.length - streamsArg;
      if (nstreams % 2 !== 0) return void w.error(STREAM_ERR.unbalanced);
      nstreams /= 2;
      break;
    } else if (isOpt(o, 'group') && more >= 2) {
      if (!group) return void w.error(STREAM_ERR.groupOnlyXreadgroup);
      groupName = argv[i + 1]!;
      consumerName = argv[i + 2]!;
      i += 2;
    } else if (isOpt(o, 'noack')) {
      if (!group) return void w.error(STREAM_ERR.noackOnlyXreadgroup);
      noack = true;
    } else {
      return void w.error(ERR.syntax);
    }
  }
  if (streamsArg === 0) return void w.error(ERR.syntax);
  if (group && groupName === undefined) return void w.error(STREAM_ERR.missingGroup);
  const keys: string[] = [];
  const ids: StreamId[] = [];
  const streams: (StreamValue | undefined)[] = [];
  const groups: (ConsumerGroup | undefined)[] = [];
  for (let k = 0; k < nstreams; k++) {
    const key = argv[streamsArg + k]!;
    const idArgText = argv[streamsArg + nstreams + k]!;
    // strcmp: "$" and ">" are compared as C strings.
    const special = cstr(idArgText);
    const s = forWrite ? streamForWrite(ctx, key) : streamForRead(ctx, key);
    if (s === null) return undefined;
    let g: ConsumerGroup | undefined;
    if (groupName !== undefined) {
      g = s?.groups?.get(groupName);
      if (g === undefined) return void w.error(nogroupXreadgroup(key, groupName));
    }
    keys.push(key);
    streams.push(s);
    groups.push(g);
    if (special === '$') {
      if (group) return void w.error(STREAM_ERR.dollarInXreadgroup);
      ids.push(s !== undefined ? s.lastId : ZERO_ID);
    } else if (special === '>') {
      if (!group) return void w.error(STREAM_ERR.gtOnlyXreadgroup);
      ids.push(MAX_ID);
    } else {
      const p = parseStreamId(idArgText, false, true);
      if (p === null) return void w.error(STREAM_ERR.invalidId);
      ids.push(p.id);
    }
  }
  return { group, timeout, count, noack, groupName: groupName ?? '', consumerName, keys, ids, streams, groups };
}

/** streamLookupConsumer (refreshing its seen time) or streamCreateConsumer (with its "xgroup-createconsumer" event on `key`). */
export function touchConsumer(ctx: Ctx, key: string, g: ConsumerGroup, name: string): Consumer {
  let c = g.consumers.get(name);
  if (c === undefined) {
    c = new Consumer(name, ctx.now);
    g.consumers.set(name, c);
    notify(ctx, Notify.Stream, 'xgroup-createconsumer', key);
    dirty(ctx);
  } else {
    c.seenTime = ctx.now;
  }
  return c;
}

/**
 * streamReplyWithRange with a group: entries after `after` (at most count,
 * 0: all), moving the group's last ID and counter, creating or taking over
 * NACKs unless noack. Entries go to `out`.
 */
export function deliverNew(s: StreamValue, g: ConsumerGroup, c: Consumer, after: StreamId, count: number, noack: boolean, now: number, out: EntryBuffer, end: StreamId = MAX_ID): void {
  const start = idIncr(after);
  if (start === undefined) return;
  const ids: StreamId[] = [];
  s.range(start, end, false, count, (id, vals) => {
    ids.push(id);
    out.push(id, vals);
  });
  for (const id of ids) {
    if (id > g.lastId) advanceGroup(s, g, id);
    if (noack) continue;
    const nack = g.pel.get(id);
    if (nack === undefined) {
      g.addNack(id, new Nack(c, now, 1));
    } else {
      g.reassign(id, nack, c);
      nack.deliveryTime = now;
      nack.deliveryCount = 1;
    }
  }
}

/** streamReplyWithRangeFromConsumerPEL: the consumer's own pending entries after `after`. */
function deliverHistory(s: StreamValue, g: ConsumerGroup, c: Consumer, after: StreamId, count: number, now: number, out: EntryBuffer): void {
  const start = idIncr(after) ?? ZERO_ID;
  for (let x = c.pel.seek(start); x !== null && (count === 0 || out.length < count); x = x.next[0]!) {
    const id = x.member;
    const vals = s.get(id);
    out.push(id, vals ?? null);
    if (vals !== undefined) {
      const nack = g.pel.get(id)!;
      nack.deliveryTime = now;
      nack.bumpCount();
    }
  }
}

/** Writes the reply of a read that served `served` streams: RESP2 [[key, entries] …], RESP3 {key: entries …}. */
export function writeServed(w: RespWriter, served: [string, EntryBuffer][]): void {
  if (w.proto === 3) w.mapHeader(served.length);
  else w.arrayHeader(served.length);
  for (const [key, buf] of served) {
    if (w.proto !== 3) w.arrayHeader(2);
    w.bulk(key);
    buf.write(w);
  }
}

/** Serves what can be served now (the synchronous part of xreadCommand); returns the streams served. */
export function serveXread(ctx: Ctx, a: XreadArgs): [string, EntryBuffer][] {
  const served: [string, EntryBuffer][] = [];
  for (let i = 0; i < a.keys.length; i++) {
    const s = a.streams[i];
    if (s === undefined) continue;
    let gt = a.ids[i]!;
    const g = a.groups[i];
    let history = false;
    let serve = false;
    if (g !== undefined) {
      if (gt !== MAX_ID) {
        serve = true;
        history = true;
      } else if (s.length > 0 && s.lastValidId() > g.lastId) {
        serve = true;
        gt = g.lastId;
      }
    } else if (s.length > 0 && s.lastValidId() > gt) {
      serve = true;
    }
    if (!serve) continue;
    const out = new EntryBuffer();
    served.push([a.keys[i]!, out]);
    if (g === undefined) {
      const start = idIncr(gt);
      if (start !== undefined) s.range(start, MAX_ID, false, a.count, out.push);
      continue;
    }
    const c = touchConsumer(ctx, a.keys[i]!, g, a.consumerName);
    if (history) deliverHistory(s, g, c, gt, a.count, ctx.now, out);
    else deliverNew(s, g, c, gt, a.count, a.noack, ctx.now, out);
    // xreadCommand: one per stream served to a group.
    dirty(ctx);
  }
  return served;
}

/**
 * The entry that serves a parked XREADGROUP (Ctx.unblock: the stream's last
 * ID when the leader found the key ready), as serveClientsBlockedOnStreamKey:
 * if that ID is above the group's last ID, the entries between them (at
 * most COUNT, possibly none when they were trimmed or deleted), else the
 * null array: the client stays parked and is looked at again (a deleted key
 * or group then gets its error). argv is readgroupProposal's:
 * XREADGROUP GROUP g c COUNT n BLOCK 0 [NOACK] STREAMS key >
 */
function serveParked(ctx: Ctx, argv: string[], bound: StreamId): void {
  const w = ctx.w;
  const key = argv[argv.length - 2]!;
  const v = ctx.db.get(key, ctx.now);
  const g = v instanceof StreamValue ? v.groups?.get(argv[2]!) : undefined;
  if (g === undefined || !(bound > g.lastId)) return w.nilArray();
  const s = streamForWrite(ctx, key)!;
  const c = touchConsumer(ctx, key, g, argv[3]!);
  const out = new EntryBuffer();
  deliverNew(s, g, c, g.lastId, Number(argv[5]), argv[8] === 'NOACK', ctx.now, out, bound);
  writeServed(w, [[key, out]]);
}

function xreadGeneric(forWrite: boolean): DataHandler {
  return (ctx, argv) => {
    if (forWrite && ctx.unblock !== undefined) return serveParked(ctx, argv, ctx.unblock);
    const a = parseXread(ctx, argv, forWrite);
    if (a === undefined) return;
    const served = serveXread(ctx, a);
    if (served.length > 0) return writeServed(ctx.w, served);
    // Nothing now: the null array, BLOCK or not (blocking is the leader's, see above).
    ctx.w.nilArray();
  };
}

export const streamReadCommands: Record<string, DataHandler> = {
  xread: xreadGeneric(false),
  xreadgroup: xreadGeneric(true),
};
