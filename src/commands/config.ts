/**
 * The CONFIG command's handlers: GET, SET, RESETSTAT, REWRITE, HELP.
 * The parameters they read and set are the Config store,
 * src/commands/engine/config.ts; this file only answers the command.
 * Answered on the node that receives it; never replicated.
 */
import { ERR, configSetFailed, configSetUnknown } from './errors.js';
import type { ConfigParam } from './engine/config.js';
import { writeHelp } from './help.js';
import { stringMatch as globMatch } from '../keyspace/glob.js';
import type { ConnHandler, ConnCtx } from './table.js';
import { newCommandCounters } from './engine/stats.js';

function configGet({ c, w }: ConnCtx, argv: string[]): void {
  const params = c.server.config.params;
  const found = new Map<string, string>();
  for (let i = 2; i < argv.length; i++) {
    const pat = argv[i]!.toLowerCase();
    for (const [name, p] of params) if (!found.has(name) && globMatch(pat, name, true)) found.set(name, p.get());
  }
  w.mapHeader(found.size);
  for (const [k, v] of found) {
    w.bulk(k);
    w.bulk(v);
  }
}

function configSet({ c, w }: ConnCtx, argv: string[]): void {
  // Redis 7.0 configSetCommand: an odd number of name/value arguments is a syntax error.
  if ((argv.length - 2) % 2 !== 0) return w.error(ERR.syntax);
  const params = c.server.config.params;
  // Validate all first: CONFIG SET is all-or-nothing in Redis 7; the first bad name wins.
  const named: ConfigParam[] = [];
  for (let i = 2; i < argv.length; i += 2) {
    const p = params.get(argv[i]!.toLowerCase());
    if (!p) return w.error(configSetUnknown(argv[i]!));
    // A name given twice (in any case) fails even when it is also immutable, as in Redis.
    if (named.includes(p)) return w.error(configSetFailed(argv[i]!, 'duplicate parameter'));
    if (!p.set) return w.error(configSetFailed(argv[i]!, "can't set immutable config"));
    named.push(p);
  }
  // A value refused undoes the ones set before it (Redis restores its backup).
  const applied: [ConfigParam, string][] = [];
  for (let i = 2; i < argv.length; i += 2) {
    const p = named[(i - 2) / 2]!;
    const old = p.get();
    const err = p.set!(argv[i + 1]!);
    if (err !== undefined) {
      for (let j = applied.length - 1; j >= 0; j--) applied[j]![0].set!(applied[j]![1]);
      return w.error(configSetFailed(argv[i]!, err));
    }
    applied.push([p, old]);
  }
  w.ok();
}

/** CONFIG RESETSTAT: the INFO stats counters, keyspace hits/misses/expired and every command's counters. */
function configResetstat({ c, w }: ConnCtx, _argv: string[]): void {
  const st = c.server.stats;
  st.totalCommands = st.netInputBytes = st.netOutputBytes = st.totalErrorReplies = 0;
  st.errors.clear();
  const ks = c.server.node.keyspace;
  ks.hits = ks.misses = ks.expired = 0;
  for (const def of c.server.table.withSubcommands()) Object.assign(def.stats, newCommandCounters());
  w.ok();
}

export const configCommands: Record<string, ConnHandler> = {
  'config|get': configGet,
  'config|set': configSet,
  'config|resetstat': configResetstat,
  'config|help': ({ w }, _argv) =>
    writeHelp(w, 'config', [
      'GET <pattern>',
      '    Return parameters matching the glob-like <pattern> and their values.',
      'SET <directive> <value>',
      '    Set the configuration <directive> to <value>.',
      'RESETSTAT',
      '    Reset statistics reported by the INFO command.',
      'REWRITE',
      '    Rewrite the configuration file.',
    ]),
  // raftis takes its settings from the command line: Redis's answer when it was started without a file.
  'config|rewrite': ({ w }, _argv) => w.error('ERR The server is running without a config file'),
};
