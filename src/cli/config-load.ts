/**
 * What a config file's directives mean (config-file.ts splits them): each is
 * one of raftis's own options (its command-line flag without `--`), a Redis
 * parameter of the CONFIG table (checked here with Redis's error texts, set
 * in the engine's Config store at start), one of the few that are both
 * (port, bind, dir, cluster-port, databases, loglevel, logfile, requirepass, aclfile, protected-mode, tls-*: they set
 * the option the node runs with), or an error with its file and line.
 * Command-line flags override the file.
 */
import path from 'node:path';
import { Config } from '../commands/engine/config.js';
import { memtoull } from '../commands/engine/config-values.js';
import { ConfigFileError, sourceOf, type Directive } from './config-file.js';

export type OptionKind = 'number' | 'bytes' | 'string' | 'boolean' | readonly string[];

/** raftis's own options as a config file may give them: the flag's name and how its value reads. */
export const OWN_OPTIONS: Readonly<Record<string, OptionKind>> = {
  id: 'number',
  bind: 'string',
  port: 'number',
  'cluster-port': 'number',
  'http-port': 'number',
  dir: 'string',
  peers: 'string',
  join: 'string',
  'cluster-id': 'string',
  group: 'number',
  'shard-seeds': 'string',
  'log-level': ['debug', 'info', 'warn', 'error', 'silent'],
  'log-format': ['text', 'json'],
  logfile: 'string',
  'read-mode': ['readindex', 'lease'],
  'follower-writes': ['moved', 'proxy'],
  'snapshot-entries': 'number',
  'snapshot-bytes': 'bytes',
  'snapshot-keep-entries': 'number',
  'lua-instruction-budget': 'number',
  'lua-memory-budget': 'bytes',
  databases: 'number',
  'unsafe-no-fsync': 'boolean',
  'cluster-secret-file': 'string',
  requirepass: 'string',
  aclfile: 'string',
  'protected-mode': ['yes', 'no'],
  'tls-port': 'number',
  'tls-cert-file': 'string',
  'tls-key-file': 'string',
  'tls-ca-cert-file': 'string',
  'tls-auth-clients': ['yes', 'no', 'optional'],
  'peer-tls-cert-file': 'string',
  'peer-tls-key-file': 'string',
  'peer-tls-ca-file': 'string',
};

/** Redis's loglevel as raftis's --log-level (verbose and notice both print info lines). */
const FROM_REDIS_LOGLEVEL: Record<string, string> = { debug: 'debug', verbose: 'info', notice: 'info', warning: 'warn' };

/** Directives config.c reads besides parameters; raftis has none of what they configure. */
const UNSUPPORTED = new Set(['rename-command', 'user', 'loadmodule', 'sentinel']);
/** config.c's deprecated_configs: accepted and skipped with one argument. */
const DEPRECATED = new Set(['list-max-ziplist-entries', 'list-max-ziplist-value', 'lua-replicate-commands']);

/** A Redis parameter read from the file, for the engine's Config store. */
export interface FileParam {
  name: string;
  args: string[];
  source: string;
}

export interface LoadedConfig {
  /** The absolute path (INFO config_file, CONFIG REWRITE). */
  path: string;
  /** raftis's options the file sets (flag name → typed value), before the command line overrides them. */
  options: Record<string, string | number | boolean>;
  /** Where each option in `options` was read. */
  sources: Record<string, string>;
  /** Redis parameters, in file order. */
  params: FileParam[];
  /** Settings raftis ignores, each as `daemonize yes (raftis stays in the foreground)`, for one log line. */
  ignored: string[];
  /** Cluster-wide parameters the file sets (they must be the same in every node's file until a CONFIG SET replaces them). */
  clusterWide: string[];
}

function optionValue(d: Directive, kind: OptionKind): string | number | boolean {
  const fail = (why: string): never => {
    throw new ConfigFileError(why, d.file, d.line, d.text);
  };
  if (d.args.length !== 1) fail('wrong number of arguments');
  const a = d.args[0]!;
  if (kind === 'string') return a;
  if (kind === 'boolean') {
    const v = a.toLowerCase();
    if (v === 'yes' || v === 'true') return true;
    if (v === 'no' || v === 'false') return false;
    return fail("argument must be 'yes' or 'no'");
  }
  if (kind === 'number' || kind === 'bytes') {
    if (/^-?\d+$/.test(a)) return Number(a);
    const m = kind === 'bytes' ? memtoull(a) : null;
    if (m !== null && a !== '') return Number(m);
    return fail(kind === 'bytes' ? 'argument must be a memory value' : "argument couldn't be parsed into an integer");
  }
  const v = a.toLowerCase();
  if (!kind.includes(v)) fail(`argument(s) must be one of the following: ${kind.join(', ')}`);
  return v;
}

/**
 * Sorts the directives of a file (already read, includes in place) into
 * options and parameters, checking every value as redis-server would;
 * throws ConfigFileError at the first bad line.
 */
export function interpretConfig(file: string, directives: readonly Directive[]): LoadedConfig {
  const out: LoadedConfig = { path: path.resolve(file), options: {}, sources: {}, params: [], ignored: [], clusterWide: [] };
  // Checks the Redis parameters in the order the file gives them (save lines add up, the last of others wins).
  const scratch = new Config();
  const setOption = (name: string, value: string | number | boolean, d: Directive): void => {
    out.options[name] = value;
    out.sources[name] = sourceOf(d);
  };
  for (const d of directives) {
    const fail = (why: string): never => {
      throw new ConfigFileError(why, d.file, d.line, d.text);
    };
    const isParam = scratch.lookup(d.name) !== undefined;
    if (isParam) {
      const error = scratch.load(d.name, d.args, sourceOf(d));
      if (error !== undefined) fail(error);
    }
    switch (d.name) {
      case 'port':
      case 'databases':
        setOption(d.name, optionValue(d, 'number'), d);
        continue;
      case 'dir':
        setOption('dir', optionValue(d, 'string'), d);
        continue;
      case 'cluster-port': {
        // Redis's 0: the client port + 10000, raftis's own default too.
        const v = optionValue(d, 'number');
        if (v !== 0) setOption('cluster-port', v, d);
        continue;
      }
      case 'bind': {
        // raftis listens on one address: the first (Redis's "-" prefix, "skip if unavailable", dropped).
        const addrs = scratch.param('bind').asked?.split(' ').filter(Boolean) ?? [];
        if (addrs.length === 0) fail('raftis needs an address to bind');
        setOption('bind', addrs[0]!.replace(/^-/, ''), d);
        if (addrs.length > 1) out.ignored.push(`bind addresses after the first (${addrs.slice(1).join(' ')}: raftis listens on one)`);
        // Also kept as the file gave it, for CONFIG REWRITE.
        out.params.push({ name: d.name, args: d.args, source: sourceOf(d) });
        continue;
      }
      case 'loglevel':
        setOption('log-level', FROM_REDIS_LOGLEVEL[String(scratch.get('loglevel'))] ?? 'info', d);
        continue;
      case 'tls-port':
        setOption(d.name, optionValue(d, 'number'), d);
        out.params.push({ name: d.name, args: d.args, source: sourceOf(d) });
        continue;
      case 'requirepass':
      case 'aclfile':
      case 'protected-mode':
      case 'tls-cert-file':
      case 'tls-key-file':
      case 'tls-ca-cert-file':
      case 'tls-auth-clients':
        // Redis parameters that are also the options the node starts with (its users, the TLS client port).
        setOption(d.name, optionValue(d, OWN_OPTIONS[d.name]!), d);
        out.params.push({ name: d.name, args: d.args, source: sourceOf(d) });
        continue;
      case 'logfile':
        setOption('logfile', optionValue(d, 'string'), d);
        // Also a Redis parameter: stored for CONFIG GET.
        out.params.push({ name: d.name, args: d.args, source: sourceOf(d) });
        continue;
      default:
    }
    if (isParam) {
      out.params.push({ name: d.name, args: d.args, source: sourceOf(d) });
      const def = scratch.lookup(d.name)!.param.def;
      if (def.scope === 'cluster' && !out.clusterWide.includes(def.name)) out.clusterWide.push(def.name);
      continue;
    }
    const kind = OWN_OPTIONS[d.name];
    if (kind !== undefined) {
      setOption(d.name, optionValue(d, kind), d);
      continue;
    }
    if (DEPRECATED.has(d.name) && d.args.length === 1) continue;
    if (UNSUPPORTED.has(d.name)) fail(`'${d.name}' is not supported by raftis`);
    fail('Bad directive or wrong number of arguments');
  }
  // What redis.conf may ask that raftis does not do, said once at start.
  if (scratch.get('daemonize') === 'yes') out.ignored.push('daemonize yes (raftis stays in the foreground; run it under a supervisor)');
  if (scratch.get('supervised') !== 'no') out.ignored.push(`supervised ${scratch.get('supervised')} (raftis does not notify a supervisor)`);
  if (scratch.get('syslog-enabled') === 'yes') out.ignored.push('syslog-enabled yes (raftis does not log to syslog; the syslog-* values are only stored)');
  return out;
}
