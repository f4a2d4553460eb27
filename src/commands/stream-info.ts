/**
 * XINFO STREAM [FULL [COUNT n]] | GROUPS | CONSUMERS | HELP (t_stream.c
 * xinfoCommand, 7.0.15). Reads: idle times are against the local clock.
 */
import { sortedGroups, type ConsumerGroup } from '../keyspace/types/stream-groups.js';
import { MAX_ID, ZERO_ID, idText } from '../keyspace/types/stream-id.js';
import { INVALID_ENTRIES_READ } from '../keyspace/types/stream-groups.js';
import { groupLag, raxNodeCount } from '../keyspace/types/stream-lag.js';
import type { StreamValue } from '../keyspace/types/stream.js';
import type { RespWriter } from '../server/resp-writer.js';
import { ERR, subcommandSyntaxError } from './errors.js';
import { writeHelp } from './help.js';
import { isOpt } from './options.js';
import { nogroupForKey } from './stream-errors.js';
import { EntryBuffer, longLongArg, streamForRead, writeEntry } from './stream-util.js';
import type { Ctx, DataHandler } from './types.js';

const XINFO_HELP = [
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
];

/** The stream for XINFO: "no such key" when absent. */
function infoStream(ctx: Ctx, key: string): StreamValue | undefined {
  const s = streamForRead(ctx, key);
  if (s === null) return undefined;
  if (s === undefined) {
    ctx.w.error(ERR.nokey);
    return undefined;
  }
  return s;
}

function writeCounter(w: RespWriter, v: number | bigint | null): void {
  if (v === null) w.nil();
  else w.int(v);
}

function writeEntriesRead(w: RespWriter, g: ConsumerGroup): void {
  writeCounter(w, g.entriesRead === INVALID_ENTRIES_READ ? null : g.entriesRead);
}

/** The master IDs of the stream's nodes (the rax keys). */
function raxNodes(s: StreamValue): number {
  const keys: string[] = [];
  for (let i = s.head; i < s.nodes.length; i++) keys.push(s.nodes[i]!.master);
  return raxNodeCount(keys);
}

const stream: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  const s = infoStream(ctx, argv[2]!);
  if (s === undefined) return;
  const opts = argv.slice(3);
  let full = false;
  let count = 10;
  if (opts.length > 0) {
    if ((opts.length !== 1 && opts.length !== 3) || !isOpt(opts[0]!, 'full')) return w.error(subcommandSyntaxError(argv[1]!, 'xinfo'));
    full = true;
    if (opts.length === 3) {
      if (!isOpt(opts[1]!, 'count')) return w.error(subcommandSyntaxError(argv[1]!, 'xinfo'));
      const c = longLongArg(ctx, opts[2]!);
      if (c === undefined) return;
      count = c < 0 ? 10 : Number(c);
    }
  }
  w.mapHeader(full ? 9 : 10);
  w.bulk('length');
  w.int(s.length);
  w.bulk('radix-tree-keys');
  w.int(s.nodeCount);
  w.bulk('radix-tree-nodes');
  w.int(raxNodes(s));
  w.bulk('last-generated-id');
  w.bulk(idText(s.lastId));
  w.bulk('max-deleted-entry-id');
  w.bulk(idText(s.maxDeletedId));
  w.bulk('entries-added');
  w.int(s.entriesAdded);
  w.bulk('recorded-first-entry-id');
  w.bulk(idText(s.firstId));
  if (!full) {
    w.bulk('groups');
    w.int(s.groups?.size ?? 0);
    for (const [label, rev] of [
      ['first-entry', false],
      ['last-entry', true],
    ] as const) {
      w.bulk(label);
      let done = false;
      s.range(ZERO_ID, MAX_ID, rev, 1, (id, vals) => {
        writeEntry(w, id, vals);
        done = true;
      });
      if (!done) w.nil();
    }
    return;
  }
  w.bulk('entries');
  const out = new EntryBuffer();
  s.range(ZERO_ID, MAX_ID, false, count, out.push);
  out.write(w);
  w.bulk('groups');
  const groups = sortedGroups(s.groups);
  w.arrayHeader(groups.length);
  for (const [name, g] of groups) {
    w.mapHeader(7);
    w.bulk('name');
    w.bulk(name);
    w.bulk('last-delivered-id');
    w.bulk(idText(g.lastId));
    w.bulk('entries-read');
    writeEntriesRead(w, g);
    w.bulk('lag');
    writeCounter(w, groupLag(s, g));
    w.bulk('pel-count');
    w.int(g.pel.size);
    w.bulk('pending');
    const n = count === 0 ? g.pel.size : Math.min(count, g.pel.size);
    w.arrayHeader(n);
    let k = 0;
    for (let x = g.pelOrder.first(); x !== null && k < n; x = x.next[0]!, k++) {
      const nack = g.pel.get(x.member)!;
      w.arrayHeader(4);
      w.bulk(idText(x.member));
      w.bulk(nack.consumer!.name);
      w.int(nack.deliveryTime);
      w.int(nack.deliveryCount);
    }
    w.bulk('consumers');
    const consumers = g.sortedConsumers();
    w.arrayHeader(consumers.length);
    for (const c of consumers) {
      w.mapHeader(4);
      w.bulk('name');
      w.bulk(c.name);
      w.bulk('seen-time');
      w.int(c.seenTime);
      w.bulk('pel-count');
      w.int(c.pel.size);
      w.bulk('pending');
      const m = count === 0 ? c.pel.size : Math.min(count, c.pel.size);
      w.arrayHeader(m);
      let i = 0;
      for (let x = c.pel.first(); x !== null && i < m; x = x.next[0]!, i++) {
        const nack = g.pel.get(x.member)!;
        w.arrayHeader(3);
        w.bulk(idText(x.member));
        w.int(nack.deliveryTime);
        w.int(nack.deliveryCount);
      }
    }
  }
};

const groups: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  const s = infoStream(ctx, argv[2]!);
  if (s === undefined) return;
  const list = sortedGroups(s.groups);
  w.arrayHeader(list.length);
  for (const [name, g] of list) {
    w.mapHeader(6);
    w.bulk('name');
    w.bulk(name);
    w.bulk('consumers');
    w.int(g.consumers.size);
    w.bulk('pending');
    w.int(g.pel.size);
    w.bulk('last-delivered-id');
    w.bulk(idText(g.lastId));
    w.bulk('entries-read');
    writeEntriesRead(w, g);
    w.bulk('lag');
    writeCounter(w, groupLag(s, g));
  }
};

const consumers: DataHandler = (ctx, argv) => {
  const w = ctx.w;
  const s = infoStream(ctx, argv[2]!);
  if (s === undefined) return;
  const g = s.groups?.get(argv[3]!);
  if (g === undefined) return w.error(nogroupForKey(argv[3]!, argv[2]!));
  const list = g.sortedConsumers();
  w.arrayHeader(list.length);
  for (const c of list) {
    w.mapHeader(3);
    w.bulk('name');
    w.bulk(c.name);
    w.bulk('pending');
    w.int(c.pel.size);
    w.bulk('idle');
    w.int(Math.max(0, ctx.now - c.seenTime));
  }
};

export const streamInfoCommands: Record<string, DataHandler> = {
  'xinfo|stream': stream,
  'xinfo|groups': groups,
  'xinfo|consumers': consumers,
  'xinfo|help': (ctx) => writeHelp(ctx.w, 'xinfo', XINFO_HELP),
};
