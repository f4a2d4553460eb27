/**
 * XREAD BLOCK and XREADGROUP BLOCK: what blocking.ts needs to park and
 * serve them (blocked.c serveClientsBlockedOnStreamKey, 7.0.15).
 *
 *   - XREAD is a read: it runs after a read barrier; with nothing to
 *     answer, the client is parked with its IDs resolved ("$" becomes the
 *     stream's last ID at that moment). When an applied write touches one
 *     of its keys and that stream's last ID is above the client's, the
 *     leader answers it from its applied state: [[key, entries]] for that
 *     key only, at most COUNT (1000 without COUNT) entries. No log entry.
 *   - XREADGROUP is a write (it moves the group's last ID and fills the
 *     PEL): it is proposed like a blocking pop. Parked, it is proposed again
 *     for the one key that got new entries, as
 *     XREADGROUP GROUP g c COUNT n BLOCK 0 [NOACK] STREAMS key >
 *     in an entry carrying the stream's last ID at that moment (Ctx.unblock),
 *     whose apply (on every replica) serves the entries after the group's
 *     last ID up to that one, or answers null when someone else moved the
 *     group past it (it stays parked). A deleted key or group answers
 *     Redis's UNBLOCKED / NOGROUP errors.
 *
 * Redis serves blocked readers after each command (handleClientsBlockedOnKeys)
 * and only for keys signalled ready (signalKeyAsReady: XADD, XGROUP DESTROY,
 * a key created, deleted or overwritten, FLUSHALL, SWAPDB), so this is
 * decided at the end of each applied entry for the keys it signalled, from
 * the state that entry left: a reader without COUNT woken by the first of
 * several pipelined XADDs gets that entry only, two readers of one group
 * get one XADD each, and XSETID or XGROUP SETID wake nobody.
 */
import { StreamValue } from '../../keyspace/types/stream.js';
import type { ConsumerGroup } from '../../keyspace/types/stream-groups.js';
import { idIncr, MAX_ID, type StreamId } from '../../keyspace/types/stream-id.js';
import type { Value } from '../../keyspace/keyspace.js';
import { RespWriter } from '../../server/resp-writer.js';
import { isOpt } from '../options.js';
import { STREAM_ERR } from '../stream-errors.js';
import { XREAD_BLOCKED_DEFAULT_COUNT, writeServed } from '../stream-read.js';
import { EntryBuffer } from '../stream-util.js';

/** What a parked XREAD / XREADGROUP waits for. */
export interface StreamWait {
  /** Per key: entries above this ID serve an XREAD (XREADGROUP uses its group's last ID). */
  ids: Map<string, StreamId>;
  count: number;
  group: { name: string; consumer: string; noack: boolean } | undefined;
}

/** XREAD and XREADGROUP wait only with BLOCK; every other blocking command always may. */
export function waitsForData(name: string, argv: readonly string[]): boolean {
  if (name !== 'xread' && name !== 'xreadgroup') return true;
  return blockArg(argv) !== undefined;
}

/** The BLOCK argument (before STREAMS), if any. */
function blockArg(argv: readonly string[]): string | undefined {
  for (let i = 1; i < argv.length - 1; i++) {
    const o = argv[i]!;
    if (isOpt(o, 'streams')) return undefined;
    if (isOpt(o, 'block')) return argv[i + 1];
    if (isOpt(o, 'count')) i++;
    else if (isOpt(o, 'group')) i += 2;
  }
  return undefined;
}

/** The keys and the timeout (ms; 0 forever) of a well-formed XREAD / XREADGROUP; keys empty otherwise. */
export function streamWaitSpec(argv: readonly string[]): { keys: string[]; ms: number } {
  const t = Number(blockArg(argv) ?? 0);
  const ms = Number.isFinite(t) && t > 0 ? t : 0;
  for (let i = 1; i < argv.length; i++) {
    const o = argv[i]!;
    if (isOpt(o, 'streams')) {
      const n = (argv.length - i - 1) / 2;
      return { keys: Number.isInteger(n) ? argv.slice(i + 1, i + 1 + n) : [], ms };
    }
    if (isOpt(o, 'count') || isOpt(o, 'block')) i++;
    else if (isOpt(o, 'group')) i += 2;
  }
  return { keys: [], ms };
}

/** The group, consumer, COUNT and NOACK of an XREADGROUP (for its re-proposal). */
export function readgroupWait(argv: readonly string[]): StreamWait {
  let count = 0;
  let group: StreamWait['group'];
  let noack = false;
  for (let i = 1; i < argv.length; i++) {
    const o = argv[i]!;
    if (isOpt(o, 'streams')) break;
    if (isOpt(o, 'count')) count = Math.max(0, Number(argv[++i]));
    else if (isOpt(o, 'block')) i++;
    else if (isOpt(o, 'noack')) noack = true;
    else if (isOpt(o, 'group')) {
      group = { name: argv[i + 1]!, consumer: argv[i + 2]!, noack: false };
      i += 2;
    }
  }
  if (group !== undefined) group.noack = noack;
  return { ids: new Map(), count: count || XREAD_BLOCKED_DEFAULT_COUNT, group };
}

/** The XREADGROUP proposed for a parked client when `key` got entries. */
export function readgroupProposal(wait: StreamWait, key: string): string[] {
  const g = wait.group!;
  const argv = ['XREADGROUP', 'GROUP', g.name, g.consumer, 'COUNT', String(wait.count), 'BLOCK', '0'];
  if (g.noack) argv.push('NOACK');
  argv.push('STREAMS', key, '>');
  return argv;
}

/** What serveStreamWaiter decided for a parked XREADGROUP: propose it, to be served up to `bound`. */
export interface GroupServe {
  group: ConsumerGroup;
  /** The stream's last ID now: the entry serves the entries after the group's last ID up to it (Ctx.unblock). */
  bound: StreamId;
  /** The group's last ID once that entry is applied (what the next reader of the group starts after). */
  next: StreamId;
}

/**
 * What a parked client gets now that `key` (holding v) was signalled ready,
 * as serveClientsBlockedOnStreamKey decides it right after the command that
 * signalled: a reply (an XREAD served, or an error), a GroupServe (an
 * XREADGROUP to propose), or undefined (nothing for it yet). `ahead` is
 * where proposals still in flight will leave the group's last ID.
 */
export function serveStreamWaiter(
  wait: StreamWait,
  key: string,
  v: Value | undefined,
  proto: 2 | 3,
  ahead: (g: ConsumerGroup) => StreamId | undefined,
): string | GroupServe | undefined {
  const s = v instanceof StreamValue ? v : undefined;
  if (wait.group !== undefined) {
    if (s === undefined) return `-${STREAM_ERR.blockedKeyGone}\r\n`;
    const g = s.groups?.get(wait.group.name);
    if (g === undefined) return `-${STREAM_ERR.blockedGroupGone}\r\n`;
    const last = ahead(g) ?? g.lastId;
    // Served when the stream's last ID is above the group's, even with no entry left to give (MAXLEN 0, XDEL).
    if (!(s.lastId > last)) return undefined;
    let next = last;
    const start = idIncr(last);
    if (start !== undefined) s.range(start, s.lastId, false, wait.count, (id) => void (next = id));
    return { group: g, bound: s.lastId, next };
  }
  const gt = wait.ids.get(key);
  if (s === undefined || gt === undefined || !(s.lastId > gt)) return undefined;
  const out = new EntryBuffer();
  const start = idIncr(gt);
  if (start !== undefined) s.range(start, MAX_ID, false, wait.count, out.push);
  const w = new RespWriter(proto);
  writeServed(w, [[key, out]]);
  return w.take();
}
