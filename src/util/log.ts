/**
 * One logger per module, namespaced like `raftis:server` (ioredis/debug style).
 * Lines at or above --log-level go to stderr, or to --logfile (kept open,
 * reopened by reopenLogFile on SIGHUP for logrotate); `DEBUG=raftis:*` (or a
 * list of namespaces, `*` as wildcard) turns on debug lines for those
 * namespaces. Long arguments are cut so that values of keys never flood the
 * log. Two formats: text (`<time> [<node>] <level> raftis:<component> <message>`)
 * and json (--log-format json: one object per line with time, level, node,
 * component, msg, and the fields of a trailing plain-object argument, which
 * text lines leave out: they repeat what the message says).
 */
import fs from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

let threshold = ORDER.info;
let debugPatterns: RegExp[] = parseDebug(process.env.DEBUG ?? '');
let prefix = '';
let nodeId: number | undefined;
let json = false;
let logPath = '';
let logFd = -1;

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

/** The node id logged on every line (text: `[id] `; json: `node`). */
export function setLogNode(id: number): void {
  nodeId = id;
  prefix = `[${id}] `;
}

export type LogFormat = 'text' | 'json';

export function setLogFormat(format: LogFormat): void {
  json = format === 'json';
}

/**
 * Log to this file (appended), or to stderr for "" (Redis's logfile "", which
 * means standard output there). Throws when the file cannot be opened, so
 * that start-up fails with the reason, as redis-server does.
 */
export function setLogFile(file: string): void {
  const fd = file === '' ? -1 : fs.openSync(file, 'a');
  if (logFd >= 0) fs.closeSync(logFd);
  logFd = fd;
  logPath = file;
}

/** SIGHUP: reopen the log file by name (after logrotate moved it); the old one is kept on failure. */
export function reopenLogFile(): void {
  if (logPath === '') return;
  try {
    setLogFile(logPath);
  } catch (e) {
    writeLine(`${new Date().toISOString()} ${prefix}error raftis:log cannot reopen ${logPath}: ${(e as Error).message}; still writing to the old file\n`);
  }
}

function writeLine(line: string): void {
  if (logFd < 0) {
    process.stderr.write(line);
    return;
  }
  // Synchronous: a log line must reach the file even when the process exits right after (a fatal error).
  try {
    fs.writeSync(logFd, line);
  } catch {
    process.stderr.write(line);
  }
}

const isFields = (a: unknown): a is Record<string, unknown> =>
  typeof a === 'object' && a !== null && !(a instanceof Error) && !Array.isArray(a) && Object.getPrototypeOf(a) === Object.prototype;

const LEVEL_NAMES: Record<string, string> = { debug: 'debug', info: 'info', warn: 'warn', error: 'error' };

/** A JSON log line: time, level, node, component, msg, then the fields (an Error argument as `error`). */
export function formatJsonLine(time: Date, level: string, component: string, args: readonly unknown[]): string {
  const last = args[args.length - 1];
  const fields = args.length > 1 && isFields(last) ? last : undefined;
  const words = fields === undefined ? args : args.slice(0, -1);
  const o: Record<string, unknown> = { time: time.toISOString(), level: LEVEL_NAMES[level] ?? level };
  if (nodeId !== undefined) o.node = nodeId;
  o.component = component;
  o.msg = words.map((a) => (a instanceof Error ? a.message : fmt(a))).join(' ');
  for (const a of words) if (a instanceof Error && a.stack !== undefined) o.error = a.stack;
  if (fields !== undefined) for (const [k, v] of Object.entries(fields)) if (!(k in o)) o[k] = typeof v === 'bigint' ? v.toString() : v;
  return JSON.stringify(o) + '\n';
}

/** Text lines show the message alone: a trailing fields object repeats what it says, for machines (json). */
function textArgs(args: readonly unknown[]): string {
  const last = args[args.length - 1];
  return (args.length > 1 && isFields(last) ? args.slice(0, -1) : args).map(fmt).join(' ');
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
    if (json) writeLine(formatJsonLine(new Date(), lvl, module, args));
    else writeLine(`${new Date().toISOString()} ${prefix}${lvl} ${ns} ${textArgs(args)}\n`);
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
