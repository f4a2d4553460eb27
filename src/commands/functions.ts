/**
 * FCALL, FCALL_RO and FUNCTION (Redis 7.0's functions.c commands). The
 * libraries and their VM are the engine's (engine/functions.ts, reached
 * through ctx.scripts.functions). FUNCTION LOAD, DELETE, FLUSH and RESTORE
 * are write commands in Redis's table, so they are log entries applied on
 * every replica; FCALL is routed by its function's flags (dispatch.ts
 * runScript), FCALL_RO and FUNCTION LIST / DUMP / STATS are reads.
 */
import { globMatch } from '../keyspace/glob.js';
import { LibCtx } from './engine/functions.js';
import { BUSY_EVAL, KILL_AT_LEADER } from './engine/scripts.js';
import { leaderRedirect } from './routing.js';
import { subcommandSyntaxError } from './errors.js';
import { dumpFunctions, readFunctions, verifyPayload } from './function-payload.js';
import { writeHelp } from './help.js';
import type { ConnHandler } from './table.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

const NO_SCRIPTING = 'ERR scripting is not available here';

/** scripts_flags_def's names, by bit, in Redis's order (FUNCTION LIST flags). */
const FLAG_NAMES: readonly [number, string][] = [
  [1, 'no-writes'],
  [2, 'allow-oom'],
  [4, 'allow-stale'],
  [8, 'no-cluster'],
  [16, 'allow-cross-slot-keys'],
];

function functionLoad(ctx: Ctx, argv: string[]): void {
  const w = ctx.w;
  let replace = false;
  let pos = 2;
  while (pos < argv.length - 1) {
    const arg = argv[pos++]!;
    if (arg.toLowerCase() === 'replace') {
      replace = true;
      continue;
    }
    return w.error(`ERR Unknown option given: ${arg}`);
  }
  if (pos >= argv.length) return w.error('ERR Function code is missing');
  if (!ctx.scripts) return w.error(NO_SCRIPTING);
  const r = ctx.scripts.functions.create(argv[pos]!, replace);
  if (typeof r !== 'string') return w.error('ERR ' + r.error);
  dirty(ctx);
  w.bulk(r);
}

function functionDelete(ctx: Ctx, argv: string[]): void {
  if (!ctx.scripts) return ctx.w.error(NO_SCRIPTING);
  if (!ctx.scripts.functions.delete(argv[2]!)) return ctx.w.error('ERR Library not found');
  dirty(ctx);
  ctx.w.ok();
}

function functionFlush(ctx: Ctx, argv: string[]): void {
  const w = ctx.w;
  if (argv.length > 3) return w.error(subcommandSyntaxError(argv[1]!, argv[0]!));
  if (argv.length === 3) {
    const mode = argv[2]!.toLowerCase();
    if (mode !== 'sync' && mode !== 'async') return w.error('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  }
  if (!ctx.scripts) return w.error(NO_SCRIPTING);
  ctx.scripts.functions.flush();
  dirty(ctx);
  w.ok();
}

function functionList(ctx: Ctx, argv: string[]): void {
  const w = ctx.w;
  let withCode = false;
  let pattern: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    const lower = arg.toLowerCase();
    if (!withCode && lower === 'withcode') {
      withCode = true;
      continue;
    }
    if (pattern === undefined && lower === 'libraryname') {
      if (i >= argv.length - 1) return w.error('ERR library name argument was not given');
      pattern = argv[++i]!;
      continue;
    }
    return w.error(`ERR Unknown argument ${arg}`);
  }
  if (!ctx.scripts) return w.error(NO_SCRIPTING);
  let libs = ctx.scripts.functions.current.sorted();
  // stringmatchlen(…, nocase 1): the pattern ignores case.
  if (pattern !== undefined) libs = libs.filter((li) => globMatch(pattern, li.name, true));
  w.arrayHeader(libs.length);
  for (const li of libs) {
    w.mapHeader(withCode ? 4 : 3);
    w.bulk('library_name');
    w.bulk(li.name);
    w.bulk('engine');
    w.bulk('LUA');
    w.bulk('functions');
    const fns = [...li.functions.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    w.arrayHeader(fns.length);
    for (const fi of fns) {
      w.mapHeader(3);
      w.bulk('name');
      w.bulk(fi.name);
      w.bulk('description');
      w.bulkOrNil(fi.desc);
      w.bulk('flags');
      const names = FLAG_NAMES.filter(([bit]) => (fi.flags & bit) !== 0);
      w.setHeader(names.length);
      for (const [, n] of names) w.simple(n);
    }
    if (withCode) {
      w.bulk('library_code');
      w.bulk(li.code);
    }
  }
}

function functionRestore(ctx: Ctx, argv: string[]): void {
  const w = ctx.w;
  if (argv.length > 4) return w.error(subcommandSyntaxError(argv[1]!, argv[0]!));
  let policy: 'append' | 'replace' | 'flush' = 'append';
  if (argv.length === 4) {
    const p = argv[3]!.toLowerCase();
    if (p !== 'append' && p !== 'replace' && p !== 'flush') {
      return w.error('ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.');
    }
    policy = p;
  }
  const payload = Buffer.from(argv[2]!, 'latin1');
  if (!verifyPayload(payload)) return w.error('ERR DUMP payload version or checksum are wrong');
  if (!ctx.scripts) return w.error(NO_SCRIPTING);
  const functions = ctx.scripts.functions;
  const scratch = new LibCtx();
  let err = readFunctions(payload, (code) => {
    const r = functions.create(code, false, scratch);
    return typeof r === 'string' ? undefined : r.error;
  });
  if (err === undefined) {
    if (policy === 'flush') functions.swap(scratch);
    else err = functions.join(scratch, policy === 'replace');
  }
  if (err !== undefined) {
    functions.discard(scratch);
    return w.error('ERR ' + err);
  }
  dirty(ctx);
  w.ok();
}

function functionStats(ctx: Ctx): void {
  const w = ctx.w;
  if (!ctx.scripts) return w.error(NO_SCRIPTING);
  // A script (not a function) paused between slices: Redis's functionStatsCommand answers BUSY.
  if (ctx.scripts.busy !== undefined && !ctx.scripts.busy.isFunction) return w.error(BUSY_EVAL);
  const cur = ctx.scripts.functions.current;
  w.mapHeader(2);
  w.bulk('running_script');
  // A function paused between slices (Scripts.busy): its name, its FCALL and how long it has run.
  const fn = ctx.scripts.busy?.fn;
  if (fn === undefined) {
    w.nil();
  } else {
    w.mapHeader(3);
    w.bulk('name');
    w.bulk(fn.name);
    w.bulk('command');
    w.arrayHeader(fn.argv.length);
    for (const a of fn.argv) w.bulk(a);
    w.bulk('duration_ms');
    w.int(Date.now() - ctx.scripts.busy!.started);
  }
  w.bulk('engines');
  w.mapHeader(1);
  w.bulk('LUA');
  w.mapHeader(2);
  w.bulk('libraries_count');
  w.int(cur.libraries.size);
  w.bulk('functions_count');
  w.int(cur.functionCount);
}

export const functionDataCommands: Record<string, DataHandler> = {
  fcall: (ctx, argv) => (ctx.scripts ? ctx.scripts.fcall(ctx, argv, false) : ctx.w.error(NO_SCRIPTING)),
  fcall_ro: (ctx, argv) => (ctx.scripts ? ctx.scripts.fcall(ctx, argv, true) : ctx.w.error(NO_SCRIPTING)),
  'function|load': functionLoad,
  'function|delete': functionDelete,
  'function|flush': functionFlush,
  'function|list': functionList,
  'function|dump': (ctx) => (ctx.scripts ? ctx.w.bulk(dumpFunctions(ctx.scripts.functions.codes())) : ctx.w.error(NO_SCRIPTING)),
  'function|restore': functionRestore,
  'function|stats': functionStats,
};

export const functionConnCommands: Record<string, ConnHandler> = {
  // As SCRIPT KILL: nothing else runs while a function runs, so none is ever running here.
  'function|kill': ({ w, engine }) => {
    const err = engine.scripts.kill(true);
    if (err === undefined) w.ok();
    // A script of a log entry: only the leader may decide to kill it; sent there as a keyless write is.
    else if (err === KILL_AT_LEADER) w.error(leaderRedirect(engine.node, 0));
    else w.error(err);
  },
  'function|help': ({ w }) =>
    writeHelp(w, 'function', [
      'LOAD [REPLACE] <FUNCTION CODE>',
      '    Create a new library with the given library name and code.',
      'DELETE <LIBRARY NAME>',
      '    Delete the given library.',
      'LIST [LIBRARYNAME PATTERN] [WITHCODE]',
      '    Return general information on all the libraries:',
      '    * Library name',
      '    * The engine used to run the Library',
      '    * Library description',
      '    * Functions list',
      '    * Library code (if WITHCODE is given)',
      '    It also possible to get only function that matches a pattern using LIBRARYNAME argument.',
      'STATS',
      '    Return information about the current function running:',
      '    * Function name',
      '    * Command used to run the function',
      '    * Duration in MS that the function is running',
      '    If no function is running, return nil',
      '    In addition, returns a list of available engines.',
      'KILL',
      '    Kill the current running function.',
      'FLUSH [ASYNC|SYNC]',
      '    Delete all the libraries.',
      '    When called without the optional mode argument, the behavior is determined by the',
      '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
      '    * ASYNC: Asynchronously flush the libraries.',
      '    * SYNC: Synchronously flush the libraries.',
      'DUMP',
      '    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command',
      'RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]',
      '    Restore the libraries represented by the given payload, it is possible to give a restore policy to',
      '    control how to handle existing libraries (default APPEND):',
      '    * FLUSH: delete all existing libraries.',
      '    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.',
      '    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old',
      '      libraries with the new libraries (notice that even on this option there is a chance of failure',
      '      in case of functions name collision with another library).',
    ]),
};
