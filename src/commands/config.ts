/**
 * The CONFIG command's handlers: GET, SET, RESETSTAT, REWRITE, HELP.
 * The parameters they read and set are the Config store,
 * src/commands/engine/config.ts; this file only answers the command.
 * Answered on the node that receives it; never replicated (see
 * docs/decisions.md for the parameters that will have to be).
 */
import { writeHelp } from './help.js';
import { ERR } from './errors.js';
import { stringMatch as globMatch } from '../keyspace/glob.js';
import type { ConnHandler, ConnCtx } from './table.js';
import type { ConfigName } from './engine/config.js';
import { newCommandCounters } from './engine/stats.js';

/**
 * CONFIG GET pattern [pattern …] (configGetCommand): a name without glob
 * characters is looked up (answered under the name as given), a pattern is
 * matched case-insensitively against every name, aliases included; each
 * parameter name is answered once, under its first spelling.
 */
function configGet({ c, w }: ConnCtx, argv: string[]): void {
  const config = c.server.config;
  const matches = new Map<string, { key: string; n: ConfigName }>();
  for (let i = 2; i < argv.length; i++) {
    const pat = argv[i]!;
    if (!/[[*?]/.test(pat)) {
      const n = config.lookup(pat);
      if (n && !matches.has(pat.toLowerCase())) matches.set(pat.toLowerCase(), { key: pat, n });
      continue;
    }
    for (const n of config.names) {
      if (!matches.has(n.name) && globMatch(pat, n.name, true)) matches.set(n.name, { key: n.name, n });
    }
  }
  w.mapHeader(matches.size);
  for (const { key, n } of matches.values()) {
    w.bulk(key);
    w.bulk(n.param.text);
  }
}

/** CONFIG SET name value [name value …]: all or none (the Config store); sensitive values are hidden from SLOWLOG. */
function configSet({ c, w }: ConnCtx, argv: string[]): void {
  if (argv.length % 2 !== 0) return w.error(ERR.syntax);
  const pairs: [string, string][] = [];
  for (let i = 2; i < argv.length; i += 2) pairs.push([argv[i]!, argv[i + 1]!]);
  const error = c.server.config.set(pairs, (i) => (argv[2 + i * 2 + 1] = '(redacted)'));
  if (error !== undefined) return w.error(error);
  w.ok();
}

/** CONFIG RESETSTAT: the INFO stats counters, keyspace hits/misses/expired and every command's counters. */
function configResetstat({ c, w }: ConnCtx, _argv: string[]): void {
  const st = c.server.stats;
  st.totalCommands = st.netInputBytes = st.netOutputBytes = st.totalErrorReplies = 0;
  st.errors.clear();
  c.server.dbs.resetStats();
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
