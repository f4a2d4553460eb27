/**
 * EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c commands).
 * The work is the engine's (engine/scripts.ts, reached through ctx.scripts);
 * which of them are log entries is the dispatcher's choice (dispatch.ts
 * runScript): scripts that may write, SCRIPT LOAD and SCRIPT FLUSH are.
 */
import { KILL_AT_LEADER } from './engine/scripts.js';
import { writeHelp } from './help.js';
import { leaderRedirect } from './routing.js';
import type { ConnHandler } from './table.js';
import type { Ctx, DataHandler } from './types.js';

const NO_SCRIPTING = 'ERR scripting is not available here';

function evalHandler(sha: boolean, ro: boolean): DataHandler {
  const kind = { sha, ro };
  return (ctx, argv) => (ctx.scripts ? ctx.scripts.eval(ctx, argv, kind) : ctx.w.error(NO_SCRIPTING));
}

function scriptFlush(ctx: Ctx, argv: string[]): void {
  if (argv.length === 3) {
    const mode = argv[2]!.toLowerCase();
    if (mode !== 'sync' && mode !== 'async') return ctx.w.error('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
  } else if (argv.length !== 2) {
    return ctx.w.error('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
  }
  if (!ctx.scripts) return ctx.w.error(NO_SCRIPTING);
  ctx.scripts.flush();
  ctx.w.ok();
}

export const scriptingDataCommands: Record<string, DataHandler> = {
  eval: evalHandler(false, false),
  evalsha: evalHandler(true, false),
  eval_ro: evalHandler(false, true),
  evalsha_ro: evalHandler(true, true),
  'script|load': (ctx, argv) => (ctx.scripts ? ctx.scripts.load(ctx, argv[2]!) : ctx.w.error(NO_SCRIPTING)),
  'script|flush': scriptFlush,
  'script|exists': (ctx, argv) => {
    ctx.w.arrayHeader(argv.length - 2);
    for (let i = 2; i < argv.length; i++) ctx.w.int(ctx.scripts?.has(argv[i]!) ? 1 : 0);
  },
};

export const scriptingConnCommands: Record<string, ConnHandler> = {
  // A script paused between slices (Scripts.busy) is stopped at its next one, when it may be (Scripts.kill).
  'script|kill': ({ w, engine }) => {
    const err = engine.scripts.kill(false);
    if (err === undefined) w.ok();
    // A script of a log entry: only the leader may decide to kill it; sent there as a keyless write is.
    else if (err === KILL_AT_LEADER) w.error(leaderRedirect(engine.node, 0));
    else w.error(err);
  },
  'script|help': ({ w }) =>
    writeHelp(w, 'script', [
      'DEBUG (YES|SYNC|NO)',
      '    Set the debug mode for subsequent scripts executed.',
      'EXISTS <sha1> [<sha1> ...]',
      '    Return information about the existence of the scripts in the script cache.',
      'FLUSH [ASYNC|SYNC]',
      '    Flush the Lua scripts cache. Very dangerous on replicas.',
      '    When called without the optional mode argument, the behavior is determined by the',
      '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
      '    * ASYNC: Asynchronously flush the scripts cache.',
      '    * SYNC: Synchronously flush the scripts cache.',
      'KILL',
      '    Kill the currently executing Lua script.',
      'LOAD <script>',
      '    Load a script into the scripts cache without executing it.',
    ]),
};
