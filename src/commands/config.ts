/**
 * The CONFIG command's handlers: GET, SET, RESETSTAT, REWRITE, HELP.
 * The parameters they read and set are the Config store,
 * src/commands/engine/config.ts; this file only answers the command.
 * Answered on the node that receives it, except a CONFIG SET of a
 * cluster-wide parameter, which is a log entry (docs/decisions.md).
 */
import { writeHelp } from './help.js';
import { ERR } from './errors.js';
import { stringMatch as globMatch } from '../keyspace/glob.js';
import { redirectError } from './routing.js';
import type { ConnHandler, ConnCtx, HandlerSet } from './table.js';
import type { ConfigName, Param } from './engine/config.js';
import { sha256Hex } from './engine/acl.js';
import { newCommandCounters } from './engine/stats.js';
import { rewriteConfigFile, strerror } from './config-rewrite.js';
import { createLogger } from '../util/log.js';

const log = createLogger('commands');

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

/** CONFIG SET's name/value pairs, or undefined for an odd count (a syntax error). */
function setPairs(argv: readonly string[]): [string, string][] | undefined {
  if (argv.length % 2 !== 0) return undefined;
  const pairs: [string, string][] = [];
  for (let i = 2; i < argv.length; i += 2) pairs.push([argv[i]!, argv[i + 1]!]);
  return pairs;
}

/**
 * CONFIG SET name value [name value …]: all or none (the Config store);
 * sensitive values are hidden from SLOWLOG. One that names a cluster-wide
 * parameter is checked here, then proposed as a log entry and applied as a
 * whole on every node (configApplied), answered when applied; a follower
 * sends it to the leader (MOVED, or forwarded in proxy mode).
 */
function configSet(ctx: ConnCtx, argv: string[]): void {
  const { c, w, engine } = ctx;
  const pairs = setPairs(argv);
  if (pairs === undefined) return w.error(ERR.syntax);
  const config = engine.config;
  // What is proposed are the values as sent; SLOWLOG's copy (argv) is redacted.
  const sent = argv.slice();
  const checked = config.check(pairs, (i) => (argv[2 + i * 2 + 1] = '(redacted)'));
  if (typeof checked === 'string') return w.error(checked);
  const pass = pairs.findLast(([name]) => name.toLowerCase() === 'requirepass');
  if (pass !== undefined) return setRequirepass(ctx, pairs, checked, pass[1]);
  if (!config.namesClusterWide(pairs)) return void (config.commit(checked), w.ok());
  const node = engine.node;
  if (node.isLeader) return engine.dispatcher.propose(c, [sent], false);
  if (engine.proxy?.forward(c, [sent], false, true) === true) return;
  w.error(redirectError(node, engine.table.lookup(sent)!, sent, engine.config.get('cluster-preferred-endpoint-type')));
}

/**
 * CONFIG SET requirepass (ACLUpdateDefaultUserPassword): the default user's
 * password is replicated state, so the change is the entry `ACL SETUSER
 * default resetpass #<sha256>` (or `nopass` for ""), answered when applied;
 * the cleartext stays on this node, which answers it to CONFIG GET.
 */
function setRequirepass({ c, w, engine }: ConnCtx, pairs: readonly (readonly [string, string])[], checked: Map<Param, unknown>, password: string): void {
  if (engine.config.namesClusterWide(pairs)) {
    return w.error('ERR raftis replicates requirepass as an ACL change: set it in a CONFIG SET without cluster-wide parameters');
  }
  const acl = ['ACL', 'SETUSER', 'default', 'resetpass', password === '' ? 'nopass' : '#' + sha256Hex(password)];
  const node = engine.node;
  if (!node.isLeader && engine.proxy === undefined) return w.error(redirectError(node, engine.table.lookup(acl)!, acl, engine.config.get('cluster-preferred-endpoint-type')));
  engine.config.commit(checked);
  if (node.isLeader) return engine.dispatcher.propose(c, [acl], false);
  if (engine.proxy?.forward(c, [acl], false, true) !== true) w.error(redirectError(node, engine.table.lookup(acl)!, acl, engine.config.get('cluster-preferred-endpoint-type')));
}

export const configApplied: NonNullable<HandlerSet['applied']> = {
  'config|set': {
    when: (engine, argv) => {
      const pairs = setPairs(argv);
      return pairs !== undefined && engine.config.namesClusterWide(pairs);
    },
    // Checked by the node that proposed it; every node checks again (the same table and values give the same answer).
    apply: ({ config }, argv, w) => {
      const pairs = setPairs(argv);
      if (pairs === undefined) return w.error(ERR.syntax);
      const error = config.set(pairs, undefined, 'replicated');
      if (error !== undefined) return w.error(error);
      w.ok();
    },
  },
};

/** CONFIG RESETSTAT: the INFO stats counters, keyspace hits/misses/expired and every command's counters. */
function configResetstat({ c, w }: ConnCtx, _argv: string[]): void {
  const st = c.server.stats;
  st.totalCommands = st.netInputBytes = st.netOutputBytes = st.totalErrorReplies = 0;
  st.errors.clear();
  c.server.clientEviction.evicted = 0;
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
  'config|rewrite': configRewrite,
  'raft.config': raftConfig,
};

/**
 * RAFT.CONFIG [pattern …]: every parameter (Redis's by primary name, then
 * raftis's own options) as [name, value, source], or those whose name
 * matches one of the patterns (case-insensitive, aliases not listed).
 * The source is default, `config file <path>:<line>`, command line,
 * CONFIG SET or replicated (a CONFIG SET applied from the log, or a snapshot).
 */
function raftConfig({ c, w }: ConnCtx, argv: string[]): void {
  const rows: [string, string, string][] = [];
  const wanted = (name: string): boolean => argv.length === 1 || argv.slice(1).some((pat) => globMatch(pat, name, true));
  for (const [name, p] of c.server.config.primaries()) {
    if (!wanted(name)) continue;
    const value = p.def.flags.includes('sensitive') && p.text !== '' ? '(redacted)' : p.text;
    rows.push([name, value, p.source]);
  }
  // port, bind, dir, cluster-port, databases and logfile are Redis parameters too, listed above.
  for (const o of c.server.info.ownOptions ?? []) if (c.server.config.lookup(o.name) === undefined && wanted(o.name)) rows.push([o.name, o.value, o.source]);
  w.arrayHeader(rows.length);
  for (const row of rows) {
    w.arrayHeader(3);
    for (const s of row) w.bulk(s);
  }
}

/** CONFIG REWRITE (configRewriteCommand): the file the node was started with, rewritten as redis-server does (config-rewrite.ts). */
function configRewrite({ c, w }: ConnCtx, _argv: string[]): void {
  const file = c.server.info.configFile;
  if (file === '') return w.error('ERR The server is running without a config file');
  try {
    rewriteConfigFile(file, c.server.config, new Set((c.server.info.ownOptions ?? []).map((o) => o.name)));
  } catch (e) {
    log.warn(`CONFIG REWRITE failed: ${strerror(e)}`);
    return w.error(`ERR Rewriting config file: ${strerror(e)}`);
  }
  log.info('CONFIG REWRITE executed with success.');
  w.ok();
}
