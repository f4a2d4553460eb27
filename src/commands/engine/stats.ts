/**
 * What Redis's call() keeps about the commands a node runs: the counters of
 * INFO stats / errorstats / commandstats, the instantaneous metrics, SLOWLOG
 * and the MONITOR feed.
 */
import type { CommandDef, ConnHandler } from '../table.js';
import type { Ctx, DataHandler } from '../types.js';
import type { Client } from '../../server/client.js';
import type { RespWriter } from '../../server/resp-writer.js';
import { LatencyHistogram } from './latency.js';
import { LatencyMonitor } from './latency-monitor.js';
import { SlowLog } from './slowlog.js';

/** One command's INFO commandstats counters (the fields of Redis's struct redisCommand). */
export interface CommandCounters {
  calls: number;
  /** Calls that were timed (see Stats.startTime) and their microseconds. */
  timed: number;
  timedUsec: number;
  /** Refused before running: wrong arity, a cluster redirect, a command not allowed in a subscribed context. */
  rejectedCalls: number;
  /** Ran and replied with an error. */
  failedCalls: number;
  /** The timed calls' durations (INFO latencystats, LATENCY HISTOGRAM); created on the first. */
  latency: LatencyHistogram | undefined;
}

export function newCommandCounters(): CommandCounters {
  return { calls: 0, timed: 0, timedUsec: 0, rejectedCalls: 0, failedCalls: 0, latency: undefined };
}

/** Instantaneous metrics average this many 100 ms intervals (Redis's STATS_METRIC_SAMPLES). */
const INSTANTANEOUS_SAMPLES = 16;

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

/** INFO commandstats' usec: the estimated total microseconds. */
export function commandUsec(c: CommandCounters): number {
  return c.timed === 0 ? 0 : (c.timedUsec / c.timed) * c.calls;
}

export class Stats {
  totalConnections = 0;
  totalCommands = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  /** Socket reads and writes (INFO total_reads_processed / total_writes_processed). */
  readsProcessed = 0;
  writesProcessed = 0;
  /** Samples every 100 ms of [time, commands, input bytes, output bytes], the last 16 intervals (Redis's serverCron). */
  private readonly samples: [number, number, number, number][] = [];
  rejectedConnections = 0;
  readonly errors = new Map<string, number>();
  totalErrorReplies = 0;
  /** SLOWLOG, fed by the timed calls. */
  readonly slowlog = new SlowLog();
  /** latency-tracking and latency-tracking-info-percentiles. */
  latencyTracking = true;
  latencyPercentiles = [50, 99, 99.9];
  /** The latency monitor (latency-monitor-threshold; LATENCY LATEST, HISTORY, RESET). */
  readonly latencyMonitor = new LatencyMonitor();
  /** MONITOR clients: shown every command run here for a client (Redis's replicationFeedMonitors). */
  readonly monitors = new Set<Client>();

  /**
   * Counts an error reply under its first word, as Redis's INFO errorstats.
   * Every writer of a client's replies calls it for each error it writes
   * (RespWriter.onError), so that no error reply is missed or counted twice.
   */
  readonly errorReply = (text: string): void => {
    const sp = text.indexOf(' ');
    const code = sp < 0 ? text : text.slice(0, sp);
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    this.totalErrorReplies++;
  };

  /** Takes an instantaneous-metrics sample (the server calls it every 100 ms). */
  sample(now: number): void {
    this.samples.push([now, this.totalCommands, this.netInputBytes, this.netOutputBytes]);
    if (this.samples.length > INSTANTANEOUS_SAMPLES + 1) this.samples.shift();
  }

  /** INFO instantaneous_ops_per_sec, instantaneous_input_kbps, instantaneous_output_kbps over the last samples. */
  instantaneous(): { ops: number; inKbps: number; outKbps: number } {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last[0] <= first[0]) return { ops: 0, inKbps: 0, outKbps: 0 };
    const secs = (last[0] - first[0]) / 1000;
    return { ops: Math.round((last[1] - first[1]) / secs), inKbps: (last[2] - first[2]) / secs / 1024, outKbps: (last[3] - first[3]) / secs / 1024 };
  }

  /**
   * Runs a keyspace command's handler, counted as Redis's call() counts:
   * one call, its time, and a failed call if it wrote an error reply (the
   * error count grew while it ran). `who`: the client it runs for, if any
   * (SLOWLOG's address and name, MONITOR's line; `monitor` false: the caller
   * showed it already).
   */
  runData(def: CommandDef, data: DataHandler, ctx: Ctx, argv: string[], who?: Client, monitor = true): void {
    const errorsBefore = this.totalErrorReplies;
    const started = this.startTime(def);
    data(ctx, argv);
    this.called(def, argv, who, started, errorsBefore);
    if (monitor && this.monitors.size !== 0 && who !== undefined) this.feedMonitors(def, argv, who);
  }

  /** Runs a connection command's handler, counted as runData counts. */
  runConn(def: CommandDef, conn: ConnHandler, client: Client, argv: string[], w: RespWriter): void {
    const errorsBefore = this.totalErrorReplies;
    const started = this.startTime(def);
    conn(client, argv, w);
    this.called(def, argv, client, started, errorsBefore);
    if (this.monitors.size !== 0) this.feedMonitors(def, argv, client);
  }

  /**
   * Shows a command that ran to the MONITOR clients, as redis-server 7.0
   * does after running it: `+<unix time with µs> [0 <client addr>] "arg" …`,
   * arguments quoted as sdscatrepr quotes them. Admin commands (CONFIG,
   * SLOWLOG, MONITOR…) and those flagged skip_monitor are not shown.
   */
  feedMonitors(def: CommandDef, argv: readonly string[], who: Client): void {
    if (def.skipMonitor) return;
    const now = performance.timeOrigin + performance.now();
    const sec = Math.floor(now / 1000);
    const usec = Math.floor((now - sec * 1000) * 1000);
    let line = `+${sec}.${String(usec).padStart(6, '0')} [0 ${who.addr}]`;
    for (const a of argv) line += ' ' + repr(a);
    line += '\r\n';
    for (const m of this.monitors) {
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
  private startTime(def: CommandDef): number {
    return !def.sampled || def.stats.calls % TIMING_SAMPLE === 0 || this.slowlog.slowerThan === 0 || this.latencyMonitor.threshold > 0
      ? performance.now()
      : -1;
  }

  private called(def: CommandDef, argv: string[], who: Client | undefined, started: number, errorsBefore: number): void {
    const c = def.stats;
    c.calls++;
    if (started >= 0) {
      const usec = (performance.now() - started) * 1000;
      c.timed++;
      c.timedUsec += usec;
      if (this.latencyTracking) (c.latency ??= new LatencyHistogram()).record(usec);
      if (!def.skipSlowlog) this.slowlog.record(argv, usec, who?.addr ?? '', who?.name ?? '');
      if (this.latencyMonitor.threshold > 0) this.latencyMonitor.addIfNeeded(def.meta.flags.has('fast') ? 'fast-command' : 'command', Math.floor(usec / 1000));
    }
    if (this.totalErrorReplies > errorsBefore) c.failedCalls++;
  }
}
