/**
 * One logger per module, namespaced like `raftis:server` (ioredis/debug style).
 * Lines at or above --log-level go to stderr; `DEBUG=raftis:*` (or a list of
 * namespaces, `*` as wildcard) turns on debug lines for those namespaces.
 * Long arguments are cut so that values of keys never flood the log.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

let threshold = ORDER.info;
let debugPatterns: RegExp[] = parseDebug(process.env.DEBUG ?? '');
let prefix = '';

function parseDebug(spec: string): RegExp[] {
  return spec
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((p) => new RegExp('^' + p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$'));
}

export function setLogLevel(level: Level): void {
  threshold = ORDER[level];
}

/** Redis's loglevel names (CONFIG SET loglevel) and the level each prints at: verbose and notice both print info lines. */
export type RedisLogLevel = 'debug' | 'verbose' | 'notice' | 'warning';
const FROM_REDIS: Record<RedisLogLevel, Level> = { debug: 'debug', verbose: 'info', notice: 'info', warning: 'warn' };

/** The loglevel that prints what this process prints now (error and silent show as warning, Redis 7.0's least). */
export function redisLogLevel(): RedisLogLevel {
  return threshold <= ORDER.debug ? 'debug' : threshold <= ORDER.info ? 'notice' : 'warning';
}

/** CONFIG SET loglevel: lines below it are no longer printed (a level that already prints as it asks is kept: warning leaves error or silent). */
export function setRedisLogLevel(level: RedisLogLevel): void {
  if (redisLogLevel() === level || (level === 'verbose' && redisLogLevel() === 'notice')) return;
  setLogLevel(FROM_REDIS[level]);
}

/** A tag printed on every line, e.g. the node id in a cluster. */
export function setLogPrefix(p: string): void {
  prefix = p;
}

export function setDebugNamespaces(spec: string): void {
  debugPatterns = parseDebug(spec);
}

function fmt(a: unknown): string {
  const s = typeof a === 'string' ? a : a instanceof Error ? (a.stack ?? a.message) : JSON.stringify(a);
  return s !== undefined && s.length > 200 && !(a instanceof Error) ? s.slice(0, 200) + `… <${s.length} chars>` : String(s);
}

export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  readonly debugEnabled: boolean;
}

export function createLogger(module: string): Logger {
  const ns = 'raftis:' + module;
  const write = (lvl: string, args: unknown[]): void => {
    process.stderr.write(`${new Date().toISOString()} ${prefix}${lvl} ${ns} ${args.map(fmt).join(' ')}\n`);
  };
  return {
    get debugEnabled() {
      return threshold <= ORDER.debug || debugPatterns.some((r) => r.test(ns));
    },
    debug(...args) {
      if (this.debugEnabled) write('debug', args);
    },
    info(...args) {
      if (threshold <= ORDER.info) write('info', args);
    },
    warn(...args) {
      if (threshold <= ORDER.warn) write('warn', args);
    },
    error(...args) {
      if (threshold <= ORDER.error) write('error', args);
    },
  };
}
