/**
 * What Redis's call() keeps about the commands a node runs (call.ts runs
 * them): the counters of INFO stats / errorstats / commandstats, the
 * instantaneous metrics, SLOWLOG, the latency monitor and the MONITOR clients.
 */
import type { IoCounters } from '../../server/client.js';
import type { LatencyHistogram } from './latency.js';
import { LatencyMonitor } from './latency-monitor.js';
import { SlowLog } from './slowlog.js';
import type { EngineClient } from './engine.js';

/** One command's INFO commandstats counters (the fields of Redis's struct redisCommand). */
export interface CommandCounters {
  calls: number;
  /** Calls that were timed (see call.ts startTime) and their microseconds. */
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

/** INFO commandstats' usec: the estimated total microseconds. */
export function commandUsec(c: CommandCounters): number {
  return c.timed === 0 ? 0 : (c.timedUsec / c.timed) * c.calls;
}

export class Stats implements IoCounters {
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
  readonly monitors = new Set<EngineClient>();
  /** A script runs for a client while monitors watch: the commands it runs are shown to them (call.ts feedScriptCall). */
  scriptMonitored = false;

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
}
