/**
 * The CONFIG command's handlers: GET, SET, RESETSTAT, REWRITE, HELP.
 * The parameters they read and set are the Config store,
 * src/commands/engine/config.ts; this file only answers the command.
 * Answered on the node that receives it; never replicated.
 */
import { configSetFailed, configSetUnknown } from './errors.js';
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
  if ((argv.length - 2) % 2 !== 0) return w.error(configSetUnknown(argv[argv.length - 1]!));
  const params = c.server.config.params;
  // Validate all first: CONFIG SET is all-or-nothing in Redis 7.
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i]!.toLowerCase();
    const p = params.get(name);
    if (!p) return w.error(configSetUnknown(argv[i]!));
    if (!p.set) return w.error(configSetFailed(argv[i]!, "can't set immutable config"));
  }
  for (let i = 2; i < argv.length; i += 2) {
    const err = params.get(argv[i]!.toLowerCase())!.set!(argv[i + 1]!);
    if (err !== undefined) return w.error(configSetFailed(argv[i]!, err));
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
