/**
 * CommandTable's lookup by name (any case, remembered for the next request)
 * and the flags the request path reads instead of testing name Sets.
 */
import { describe, expect, it } from 'vitest';
import { connCommands, dataCommands } from '../../../src/commands/handlers.js';
import { CommandTable } from '../../../src/commands/table.js';

const table = new CommandTable({ data: dataCommands, conn: connCommands });

describe('CommandTable', () => {
  it('finds a command by its name in any case, whatever it was asked for before', () => {
    const names = ['GET', 'get', 'Get', 'SET', 'GET', 'nosuch', 'GET', 'gEt', 'NOSUCH', 'set', 'HSET', 'hset', ''];
    for (let round = 0; round < 3; round++) {
      for (const n of names) {
        const def = table.get(n);
        const known = ['get', 'set', 'hset'].includes(n.toLowerCase());
        expect(def?.name).toBe(known ? n.toLowerCase() : undefined);
      }
    }
  });

  it('flags the script calls and the commands the dispatcher routes to its script path', () => {
    const calls = [...table.withSubcommands()].filter((d) => d.isScriptCall).map((d) => d.name);
    expect(calls.sort()).toEqual(['eval', 'eval_ro', 'evalsha', 'evalsha_ro', 'fcall', 'fcall_ro']);
    const routed = [...table.withSubcommands()].filter((d) => d.scriptRouted).map((d) => d.name);
    expect(routed.sort()).toEqual(['eval', 'evalsha', 'fcall', 'script|flush', 'script|load']);
  });
});
