/**
 * Which stream commands touch a WATCHed key (Redis's signalModifiedKey in
 * t_stream.c, 7.0.15): each command runs between WATCH and EXEC on the
 * same connection, and EXEC's reply (the transaction's, or the null array
 * when it was aborted) must be redis-server's. XADD, XDEL and XTRIM that
 * removed something, and XGROUP CREATE … MKSTREAM that created the key,
 * abort; XREADGROUP, XACK, XCLAIM, XAUTOCLAIM, XGROUP SETID / DESTROY /
 * CREATECONSUMER / DELCONSUMER, XSETID and the failing or no-op forms do not.
 */
import type { Step } from '../helpers/engine-diff.js';

/** A stream with two entries, group g (nothing read) and group g2 (c1 holds 1-1 pending). */
const SETUP: Step[] = [
  ['FLUSHALL'],
  ['XADD', 's', '1-1', 'f', 'v'],
  ['XADD', 's', '2-1', 'f', 'v'],
  ['XGROUP', 'CREATE', 's', 'g', '0'],
  ['XGROUP', 'CREATE', 's', 'g2', '0'],
  ['XREADGROUP', 'GROUP', 'g2', 'c1', 'COUNT', '1', 'STREAMS', 's', '>'],
];

/** WATCH key, the command, then a transaction: EXEC answers [PONG] or the null array. */
function watched(cmd: string[], key = 's'): Step[] {
  return [...SETUP, ['WATCH', key], cmd, ['MULTI'], ['PING'], ['EXEC']];
}

const CASES: Record<string, [string[], string?]> = {
  xreadgroup_new: [['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's', '>']],
  xreadgroup_noack: [['XREADGROUP', 'GROUP', 'g', 'c', 'NOACK', 'STREAMS', 's', '>']],
  xreadgroup_history: [['XREADGROUP', 'GROUP', 'g2', 'c1', 'STREAMS', 's', '0']],
  xreadgroup_new_consumer_nothing: [['XREADGROUP', 'GROUP', 'g', 'cnew', 'STREAMS', 's', '9-9']],
  xack: [['XACK', 's', 'g2', '1-1']],
  xack_none: [['XACK', 's', 'g2', '5-5']],
  xclaim: [['XCLAIM', 's', 'g2', 'c2', '0', '1-1']],
  xclaim_justid: [['XCLAIM', 's', 'g2', 'c2', '0', '1-1', 'JUSTID']],
  xautoclaim: [['XAUTOCLAIM', 's', 'g2', 'c2', '0', '0']],
  xgroup_setid: [['XGROUP', 'SETID', 's', 'g', '1-1']],
  xgroup_create: [['XGROUP', 'CREATE', 's', 'g3', '0']],
  xgroup_create_mkstream_new: [['XGROUP', 'CREATE', 's2', 'g', '0', 'MKSTREAM'], 's2'],
  xgroup_create_mkstream_existing: [['XGROUP', 'CREATE', 's', 'g4', '0', 'MKSTREAM']],
  xgroup_createconsumer: [['XGROUP', 'CREATECONSUMER', 's', 'g', 'cc']],
  xgroup_delconsumer: [['XGROUP', 'DELCONSUMER', 's', 'g2', 'c1']],
  xgroup_destroy: [['XGROUP', 'DESTROY', 's', 'g']],
  xsetid: [['XSETID', 's', '9-9']],
  xadd: [['XADD', 's', '3-1', 'f', 'v']],
  xadd_maxlen0: [['XADD', 's', 'MAXLEN', '0', '3-1', 'f', 'v']],
  xadd_error: [['XADD', 's', '1-0', 'f', 'v']],
  xadd_nomkstream_missing: [['XADD', 's2', 'NOMKSTREAM', '1-1', 'f', 'v'], 's2'],
  xdel: [['XDEL', 's', '1-1']],
  xdel_none: [['XDEL', 's', '7-7']],
  xtrim: [['XTRIM', 's', 'MAXLEN', '0']],
  xtrim_none: [['XTRIM', 's', 'MAXLEN', '5']],
  xread: [['XREAD', 'STREAMS', 's', '0']],
};

export const streamSignalScripts: Record<string, Step[]> = {};
for (const [name, [cmd, key]] of Object.entries(CASES)) streamSignalScripts[`watch_${name}`] = watched(cmd, key);

/** The same inside a script: EVAL runs the command, the EXEC after it tells whether it touched. */
streamSignalScripts.watch_in_eval = [
  ...SETUP,
  ['WATCH', 's'],
  ['EVAL', "return redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', KEYS[1], '>')", '1', 's'],
  ['MULTI'],
  ['PING'],
  ['EXEC'],
  ['WATCH', 's'],
  ['EVAL', "return redis.call('XDEL', KEYS[1], '2-1')", '1', 's'],
  ['MULTI'],
  ['PING'],
  ['EXEC'],
];
