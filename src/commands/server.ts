/**
 * What is left of Redis's server.c commands once COMMAND (command.ts),
 * CONFIG (config.ts), INFO (info.ts) and LATENCY (latency.ts) have their
 * own files: TIME, MODULE (raftis loads none) and the protected commands'
 * refusals (DEBUG, MODULE LOAD/LOADEX/UNLOAD). Answered from local state;
 * none is replicated.
 */
import { ERR } from './errors.js';
import { writeHelp } from './help.js';
import { protectedCommandError, type ConnHandler, type ConnCtx } from './table.js';

function time({ w }: ConnCtx, _argv: string[]): void {
  const us = BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000));
  w.arrayHeader(2);
  w.bulk(String(us / 1000000n));
  w.bulk(String(us % 1000000n));
}

/** The handler of a protected command: the dispatcher refuses it first; this answers the same if it is reached another way (EXEC). */
function refuseProtected({ c, w }: ConnCtx, argv: string[]): void {
  const def = c.server.table.lookup(argv);
  w.error((def && protectedCommandError(def)) ?? ERR.syntax);
}

export const serverCommands: Record<string, ConnHandler> = {
  time,
  // raftis loads no modules; the protected commands never get here (the dispatcher refuses them).
  'module|list': ({ w }, _argv) => w.arrayHeader(0),
  'module|help': ({ w }, _argv) =>
    writeHelp(w, 'module', [
      'LIST',
      '    Return a list of loaded modules.',
      'LOAD <path> [<arg> ...]',
      '    Load a module library from <path>, passing to it any optional arguments.',
      'LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]',
      '    Load a module library from <path>, while passing it module configurations and optional arguments.',
      'UNLOAD <name>',
      '    Unload a module.',
    ]),
  debug: refuseProtected,
  'module|load': refuseProtected,
  'module|loadex': refuseProtected,
  'module|unload': refuseProtected,
};
