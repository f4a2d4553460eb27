/**
 * Redis's call(): runs a command's handler and keeps what Redis keeps about
 * it — one call in INFO commandstats, its time (latencystats, SLOWLOG, the
 * latency monitor), a failed call if it replied with an error — and shows
 * it to the MONITOR clients.
 */
import type { CommandDef, ConnCtx, ConnHandler } from '../table.js';
import type { Ctx, DataHandler } from '../types.js';
import { LatencyHistogram } from './latency.js';
import type { EngineClient } from './engine.js';
import type { Stats } from './stats.js';
import { EntryKind, decodeStateEntry } from './entry.js';

/** A MONITOR client whose unread output passes this is closed (Redis's replica class hard limit, 256mb). */
const MONITOR_OUTPUT_LIMIT = 256 * 1024 * 1024;

/** Redis's sdscatrepr: a quoted, escaped argument for MONITOR (latin1 string: one char per byte). */
function repr(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 0x5c || ch === 0x22) out += '\\' + s[i];
    else if (ch === 0x0a) out += '\\n';
    else if (ch === 0x0d) out += '\\r';
    else if (ch === 0x09) out += '\\t';
    else if (ch === 0x07) out += '\\a';
    else if (ch === 0x08) out += '\\b';
    else if (ch >= 0x20 && ch <= 0x7e) out += s[i];
    else out += '\\x' + ch.toString(16).padStart(2, '0');
  }
  return out + '"';
}

/** Calls of a cheap command per timed one (Stats.startTime); INFO's usec is the timed calls' mean × calls. */
const TIMING_SAMPLE = 16;

/**
 * Runs a keyspace command's handler, counted as Redis's call() counts:
 * one call, its time, and a failed call if it wrote an error reply (the
 * error count grew while it ran). `who`: the client it runs for, if any
 * (SLOWLOG's address and name, MONITOR's line; `monitor` false: the caller
 * showed it already).
 */
export function callData(stats: Stats, def: CommandDef, data: DataHandler, ctx: Ctx, argv: string[], who?: EngineClient, monitor = true): void {
  const errorsBefore = stats.totalErrorReplies;
  const started = startTime(stats, def);
  if (stats.monitors.size !== 0 && who !== undefined && SCRIPT_CALLS.has(def.name)) {
    runScriptCall(stats, def, data, ctx, argv, who, monitor);
  } else {
    data(ctx, argv);
  }
  called(stats, def, argv, who, started, errorsBefore);
  if (monitor && stats.monitors.size !== 0 && who !== undefined && !def.skipMonitor) feedMonitors(stats, def, argv, who, ctx.dbIndex);
}

/**
 * The commands that run a script or function. Redis 7.0 flags them
 * skip_monitor and shows them itself before they run (evalCommand,
 * fcallCommandGeneric), so that the commands the script runs, shown as
 * `[<db> lua]`, come after them.
 */
const SCRIPT_CALLS: ReadonlySet<string> = new Set(['eval', 'eval_ro', 'evalsha', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** The address MONITOR shows for a command a script ran (Redis's Lua client). */
const LUA_ADDR = 'lua';

/**
 * Runs a script for a client while monitors watch: shows the EVAL/FCALL
 * first (unless `monitor` is false: a transaction's commands were shown at
 * EXEC), then, through Stats.scriptMonitored, each command the script runs.
 */
function runScriptCall(stats: Stats, def: CommandDef, data: DataHandler, ctx: Ctx, argv: string[], who: EngineClient, monitor: boolean): void {
  if (monitor) feedLine(stats, argv, who.addr, ctx.dbIndex);
  stats.scriptMonitored = true;
  try {
    data(ctx, argv);
  } finally {
    stats.scriptMonitored = false;
  }
}

/** Shows a command a running script ran (redis.call / redis.pcall) to the MONITOR clients, when its caller is watched here. */
export function feedScriptCall(stats: Stats, def: CommandDef, argv: readonly string[], db: number): void {
  if (stats.scriptMonitored && stats.monitors.size !== 0 && !def.skipMonitor) feedLine(stats, argv, LUA_ADDR, db);
}

/** Runs a connection command's handler, counted as runData counts. */
export function callConn(stats: Stats, def: CommandDef, conn: ConnHandler, ctx: ConnCtx, argv: string[]): void {
  const errorsBefore = stats.totalErrorReplies;
  const started = startTime(stats, def);
  conn(ctx, argv);
  called(stats, def, argv, ctx.c, started, errorsBefore);
  // In the client's database after the command, as Redis shows it (a SELECT shows its own).
  if (stats.monitors.size !== 0) feedMonitors(stats, def, argv, ctx.c, ctx.c.dbIndex);
}

/**
 * Shows a command that ran to the MONITOR clients, as redis-server 7.0
 * does after running it: `+<unix time with µs> [<db> <client addr>] "arg" …`,
 * arguments quoted as sdscatrepr quotes them. Admin commands (CONFIG,
 * SLOWLOG, MONITOR…) and those flagged skip_monitor are not shown, except
 * the script calls (a transaction's, shown at EXEC).
 */
export function feedMonitors(stats: Stats, def: CommandDef, argv: readonly string[], who: EngineClient, db: number): void {
  if (def.skipMonitor && !SCRIPT_CALLS.has(def.name)) return;
  feedLine(stats, argv, who.addr, db);
}

function feedLine(stats: Stats, argv: readonly string[], addr: string, db: number): void {
  const now = performance.timeOrigin + performance.now();
  const sec = Math.floor(now / 1000);
  const usec = Math.floor((now - sec * 1000) * 1000);
  let line = `+${sec}.${String(usec).padStart(6, '0')} [${db} ${addr}]`;
  for (const a of argv) line += ' ' + repr(a);
  line += '\r\n';
  for (const m of stats.monitors) {
    const w = m.pushWriter();
    if (w === undefined) continue;
    w.raw(line);
    if (m.outputBytes > MONITOR_OUTPUT_LIMIT) m.kill();
  }
}

/**
 * performance.now() costs about 60 ns here, twice per command a few per
 * cent of a busy node: cheap commands (CommandDef.sampled) are timed one
 * call in TIMING_SAMPLE (the first always), unless SLOWLOG logs every
 * command. Returns -1 for a call that is not timed.
 */
export function startTime(stats: Stats, def: CommandDef): number {
  return timesCall(stats, def) ? performance.now() : -1;
}

/** Whether the next call of `def` is timed (startTime): a call that is not counts only as a call (and a failed one if it replies an error). */
function timesCall(stats: Stats, def: CommandDef): boolean {
  return !def.sampled || def.stats.calls % TIMING_SAMPLE === 0 || stats.slowlog.slowerThan === 0 || stats.latencyMonitor.threshold > 0;
}

function called(stats: Stats, def: CommandDef, argv: string[], who: EngineClient | undefined, started: number, errorsBefore: number): void {
  const c = def.stats;
  c.calls++;
  if (started >= 0) timed(stats, def, argv, who, started);
  if (stats.totalErrorReplies > errorsBefore) c.failedCalls++;
}

/** What a timed call keeps: its time, in the latency histogram, SLOWLOG (argv: its arguments, or what makes them when kept) and the latency monitor. */
function timed(stats: Stats, def: CommandDef, argv: string[] | (() => string[]), who: EngineClient | undefined, started: number): void {
  const c = def.stats;
  const usec = (performance.now() - started) * 1000;
  c.timed++;
  c.timedUsec += usec;
  if (stats.latencyTracking) (c.latency ??= new LatencyHistogram()).record(usec);
  if (!def.skipSlowlog && stats.slowlog.keeps(usec)) stats.slowlog.record(typeof argv === 'function' ? argv() : argv, usec, who?.addr ?? '', who?.name ?? '');
  if (stats.latencyMonitor.threshold > 0) stats.latencyMonitor.addIfNeeded(def.meta.flags.has('fast') ? 'fast-command' : 'command', Math.floor(usec / 1000));
}

/**
 * called() for the one command of a log entry applied without making its
 * arguments (Applier.applyPlainSet), which replied no error: they are
 * decoded from `entry` only if SLOWLOG keeps the call. `started`:
 * startTime's answer, -1 for a call not timed.
 */
export function calledFromEntry(stats: Stats, def: CommandDef, entry: Buffer, who: EngineClient | undefined, started: number): void {
  def.stats.calls++;
  if (started >= 0) timed(stats, def, () => entryArgv(entry), who, started);
}

function entryArgv(entry: Buffer): string[] {
  const e = decodeStateEntry(entry);
  return e.kind === EntryKind.Commands ? e.cmds[0]! : [];
}
