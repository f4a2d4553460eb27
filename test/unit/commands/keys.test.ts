/**
 * commandKeys takes the keys of commands whose keys do not move from
 * COMMAND INFO's first/last/step (cheap, on every routed or WATCHed write);
 * that must agree with their key specs, which COMMAND GETKEYS follows.
 */
import { describe, expect, it } from 'vitest';
import { loadGeneratedCommands } from '../../../src/commands/generated-table.js';
import { commandKeyRefs, commandKeys } from '../../../src/commands/keys.js';
import type { CommandMeta } from '../../../src/commands/types.js';

function metas(): CommandMeta[] {
  const out: CommandMeta[] = [];
  for (const g of loadGeneratedCommands().values()) {
    out.push(g.meta);
    for (const s of g.subcommands.values()) out.push(s.meta);
  }
  return out;
}

describe('commandKeys', () => {
  it('agrees with the key specs for every command whose keys do not move', () => {
    let checked = 0;
    for (const meta of metas()) {
      if (!meta.rangeKeys) continue;
      const prefix = meta.name.split('|');
      const min = Math.max(prefix.length, Math.abs(meta.arity));
      const max = meta.arity > 0 ? meta.arity : min + 6;
      for (let argc = min; argc <= max; argc++) {
        const argv = [...prefix];
        while (argv.length < argc) argv.push(`a${argv.length}`);
        const bySpecs = commandKeyRefs(meta, argv).map((k) => argv[k.pos]);
        // PFMERGE with no source: its second spec (the sources, from index 2) finds
        // nothing, so redis-server's COMMAND GETKEYS refuses it too; first/last/step
        // still name the destination, which routing and WATCH need.
        if (meta.name === 'pfmerge' && argc === 2) {
          expect(bySpecs).toEqual([]);
          expect(commandKeys(meta, argv)).toEqual(['a1']);
          continue;
        }
        expect(commandKeys(meta, argv), argv.join(' ')).toEqual(bySpecs);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('counts the keys of numkeys commands', () => {
    const table = loadGeneratedCommands();
    expect(commandKeys(table.get('lmpop')!.meta, ['LMPOP', '2', 'a', 'b', 'LEFT'])).toEqual(['a', 'b']);
    expect(commandKeys(table.get('zunionstore')!.meta, ['ZUNIONSTORE', 'd', '2', 'a', 'b', 'WEIGHTS', '1', '2'])).toEqual(['d', 'a', 'b']);
    expect(commandKeys(table.get('bzmpop')!.meta, ['BZMPOP', '0', '1', 'z', 'MIN'])).toEqual(['z']);
    // numkeys that is not a count: no keys (the command itself answers with an error).
    expect(commandKeys(table.get('lmpop')!.meta, ['LMPOP', 'x', 'a', 'LEFT'])).toEqual([]);
  });
});
