/**
 * OBJECT and MEMORY USAGE (object.c, 7.0.15).
 *
 * OBJECT IDLETIME and FREQ read the node's access clocks
 * (keyspace/access-clock.ts), in the mode maxmemory-policy selects (LFU for
 * the *-lfu policies, LRU otherwise), with Redis's errors for the other.
 */
import type { Value } from '../keyspace/keyspace.js';
import { memoryUsage, stringEncoding } from '../keyspace/memory-usage.js';
import { ERR } from './errors.js';
import { string2ll } from '../util/number.js';
import { writeHelp } from './help.js';
import { isOpt } from './options.js';
import type { Ctx, DataHandler } from './types.js';

export const OBJECT_ERR = {
  freqNotLfu:
    'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
  idleLfu:
    'ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
} as const;

/** OBJ_SHARED_REFCOUNT: what Redis reports for its shared integers 0..9999. */
const SHARED_REFCOUNT = 2147483647;
const OBJ_SHARED_INTEGERS = 10000;
/** OBJ_COMPUTE_SIZE_DEF_SAMPLES */
const DEFAULT_SAMPLES = 5;

/**
 * OBJECT ENCODING: a collection type tells its own through an `encoding`
 * property (as RHash and RSet do); one without it answers "hashtable".
 */
export function encodingOf(v: Value): string {
  if (typeof v === 'string') return stringEncoding(v);
  const enc = (v as { encoding?: unknown }).encoding;
  return typeof enc === 'string' ? enc : 'hashtable';
}

function refcountOf(v: Value): number {
  if (typeof v === 'string' && stringEncoding(v) === 'int') {
    const n = Number(string2ll(v));
    if (n >= 0 && n < OBJ_SHARED_INTEGERS) return SHARED_REFCOUNT;
  }
  return 1;
}

/** objectCommandLookupOrReply: the live value, or undefined after replying null (LOOKUP_NOTOUCH | LOOKUP_NONOTIFY: counted, the access clock left alone, no keymiss). */
function lookup(ctx: Ctx, key: string): Value | undefined {
  const v = ctx.db.get(key, ctx.now);
  if (v === undefined) {
    ctx.db.misses++;
    ctx.w.nil();
  } else {
    ctx.db.hits++;
  }
  return v;
}

export const introspectionCommands: Record<string, DataHandler> = {
  'object|encoding'(ctx, argv) {
    const v = lookup(ctx, argv[2]!);
    if (v !== undefined) ctx.w.bulk(encodingOf(v));
  },

  'object|refcount'(ctx, argv) {
    const v = lookup(ctx, argv[2]!);
    if (v !== undefined) ctx.w.int(refcountOf(v));
  },

  'object|idletime'(ctx, argv) {
    if (lookup(ctx, argv[2]!) === undefined) return;
    if (ctx.db.clocks.isLfu) return ctx.w.error(OBJECT_ERR.idleLfu);
    ctx.w.int(Math.floor(ctx.db.clocks.idleMs(argv[2]!) / 1000));
  },

  'object|freq'(ctx, argv) {
    if (lookup(ctx, argv[2]!) === undefined) return;
    if (!ctx.db.clocks.isLfu) return ctx.w.error(OBJECT_ERR.freqNotLfu);
    ctx.w.int(ctx.db.clocks.freq(argv[2]!));
  },

  'object|help'(ctx) {
    writeHelp(ctx.w, 'object', [
      'ENCODING <key>',
      '    Return the kind of internal representation used in order to store the value',
      '    associated with a <key>.',
      'FREQ <key>',
      '    Return the access frequency index of the <key>. The returned integer is',
      '    proportional to the logarithm of the recent access frequency of the key.',
      'IDLETIME <key>',
      '    Return the idle time of the <key>, that is the approximated number of',
      '    seconds elapsed since the last access to the key.',
      'REFCOUNT <key>',
      '    Return the number of references of the value associated with the specified',
      '    <key>.',
    ]);
  },

  'memory|usage'(ctx, argv) {
    let samples = DEFAULT_SAMPLES;
    for (let j = 3; j < argv.length; j++) {
      if (isOpt(argv[j]!, 'samples') && j + 1 < argv.length) {
        const n = string2ll(argv[j + 1]!);
        if (n === null) return ctx.w.error(ERR.notInteger);
        if (n < 0) return ctx.w.error(ERR.syntax);
        samples = n === 0 ? Number.MAX_SAFE_INTEGER : Number(n);
        j++;
      } else {
        return ctx.w.error(ERR.syntax);
      }
    }
    const key = argv[2]!;
    const v = ctx.db.get(key, ctx.now);
    if (v === undefined) return ctx.w.nil();
    ctx.w.int(memoryUsage(key, v, samples));
  },

  'memory|help'(ctx) {
    writeHelp(ctx.w, 'memory', [
      'DOCTOR',
      '    Return memory problems reports.',
      'MALLOC-STATS',
      '    Return internal statistics report from the memory allocator.',
      'PURGE',
      '    Attempt to purge dirty pages for reclamation by the allocator.',
      'STATS',
      '    Return information about the memory usage of the server.',
      'USAGE <key> [SAMPLES <count>]',
      '    Return memory in bytes used by <key> and its value. Nested values are',
      '    sampled up to <count> times (default: 5, 0 means sample all).',
    ]);
  },
};
