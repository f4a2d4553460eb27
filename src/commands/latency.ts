/**
 * LATENCY, as redis-server answers it: LATEST, HISTORY and RESET report the
 * latency monitor's events (src/commands/engine/latency-monitor.ts);
 * HISTOGRAM reports latency tracking, each command's latency histogram
 * (engine/latency.ts, kept in each command's counters). INFO latencystats
 * (info.ts) shows percentiles of the same histograms.
 */
import { writeHelp } from './help.js';
import type { LatencyMonitor } from './engine/latency-monitor.js';
import type { CommandDef, ConnHandler, ConnCtx } from './table.js';

function latest({ c, w }: ConnCtx, _argv: string[]): void {
  const events = c.server.stats.latencyMonitor.latest();
  w.arrayHeader(events.length);
  for (const e of events) {
    w.arrayHeader(4);
    w.bulk(e.event);
    w.int(e.time);
    w.int(e.latency);
    w.int(e.max);
  }
}

function history({ c, w }: ConnCtx, argv: string[]): void {
  const samples = c.server.stats.latencyMonitor.history(argv[2]!);
  w.arrayHeader(samples.length);
  for (const s of samples) {
    w.arrayHeader(2);
    w.int(s.time);
    w.int(s.latency);
  }
}

function reset({ c, w }: ConnCtx, argv: string[]): void {
  w.int(c.server.stats.latencyMonitor.reset(argv.length > 2 ? argv.slice(2) : undefined));
}

/** LATENCY HISTOGRAM [command …]: the named commands (a container: its subcommands), or all that were tracked. */
function histogram({ c, w }: ConnCtx, argv: string[]): void {
  const table = c.server.table;
  let defs: CommandDef[];
  if (argv.length === 2) {
    defs = [...table.withSubcommands()];
  } else {
    defs = [];
    for (const name of argv.slice(2)) {
      const def = table.get(name) ?? table.lookup(name.split('|'));
      if (def === undefined) continue;
      if (def.subcommands !== undefined && !name.includes('|')) defs.push(...def.subcommands.values());
      else defs.push(def);
    }
  }
  const tracked = defs.filter((d) => d.stats.latency !== undefined && d.stats.latency.total > 0);
  w.mapHeader(tracked.length);
  for (const d of tracked) {
    // Cheap commands are timed one call in 16: their counts are scaled to all calls.
    const calls = d.stats.calls;
    const h = d.stats.latency!;
    const scale = calls / h.total;
    const buckets = h.cumulative();
    w.bulk(d.meta.name);
    w.mapHeader(2);
    w.bulk('calls');
    w.int(calls);
    w.bulk('histogram_usec');
    w.mapHeader(buckets.length);
    for (let i = 0; i < buckets.length; i++) {
      w.int(buckets[i]![0]);
      w.int(i === buckets.length - 1 ? calls : Math.round(buckets[i]![1] * scale));
    }
  }
}

/** latency.c's report texts, verbatim (7.0.15). */
export const LATENCY_DOCTOR = {
  disabled:
    'I\'m sorry, Dave, I can\'t do that. Latency monitoring is disabled in this Redis instance. You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren\'t in a deep space mission I\'d suggest to take a look at https://redis.io/topics/latency-monitor.\n',
  header: "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
  none: 'Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n',
  noAdvice:
    "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n",
  advices: '\nI have a few advices for you:\n\n',
  slowlogEnable: (us: number): string =>
    `- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than ${us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n`,
  slowlogTune: (us: number): string =>
    `- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than ${us}'.\n`,
  slowlogInspect:
    '- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n',
  scheduler:
    "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n",
  largeObjects:
    '- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n',
} as const;

/**
 * LATENCY DOCTOR (latency.c createLatencyReport): the events raftis's
 * monitor records ("command", "fast-command") with Redis's statistics and
 * advice. Redis's advice about transparent huge pages, forks, AOF and
 * expiry does not apply (no such events here).
 */
export function latencyReport(monitor: LatencyMonitor, slowlog: { slowerThan: number; maxLen: number }, nowSec?: number): string {
  const events = monitor.eventNames();
  if (events.length === 0 && monitor.threshold === 0) return LATENCY_DOCTOR.disabled;
  let report = '';
  let advices = 0;
  let slowlogEnable = false;
  let slowlogTune = false;
  let inspect = false;
  let scheduler = false;
  events.forEach((event, i) => {
    if (i === 0) report += LATENCY_DOCTOR.header;
    const ls = monitor.analyze(event, nowSec);
    report += `${i + 1}. ${event}: ${ls.samples} latency spikes (average ${ls.avg}ms, mean deviation ${ls.mad}ms, period ${(ls.period / ls.samples).toFixed(2)} sec). Worst all time event ${monitor.maxOf(event)}ms.`;
    if (event.toLowerCase() === 'command') {
      if (slowlog.slowerThan < 0 || slowlog.maxLen === 0) {
        slowlogEnable = true;
        advices++;
      } else if (Math.trunc(slowlog.slowerThan / 1000) > monitor.threshold) {
        slowlogTune = true;
        advices++;
      }
      inspect = true;
      advices += 2;
    }
    if (event.toLowerCase() === 'fast-command') {
      scheduler = true;
      advices++;
    }
    report += '\n';
  });
  if (events.length === 0 && advices === 0) return report + LATENCY_DOCTOR.none;
  if (advices === 0) return report + LATENCY_DOCTOR.noAdvice;
  report += LATENCY_DOCTOR.advices;
  const us = monitor.threshold * 1000;
  if (slowlogEnable) report += LATENCY_DOCTOR.slowlogEnable(us);
  if (slowlogTune) report += LATENCY_DOCTOR.slowlogTune(us);
  if (inspect) report += LATENCY_DOCTOR.slowlogInspect;
  if (scheduler) report += LATENCY_DOCTOR.scheduler;
  // advise_large_objects goes with advise_slowlog_inspect (the "command" event).
  if (inspect) report += LATENCY_DOCTOR.largeObjects;
  return report;
}

export const latencyCommands: Record<string, ConnHandler> = {
  'latency|latest': latest,
  'latency|history': history,
  'latency|reset': reset,
  'latency|histogram': histogram,
  'latency|doctor': ({ c, w }, _argv) => w.verbatim(latencyReport(c.server.stats.latencyMonitor, c.server.stats.slowlog)),
  'latency|help': ({ w }, _argv) =>
    // Redis's text but for GRAPH, which raftis does not draw.
    writeHelp(w, 'latency', [
      'DOCTOR',
      '    Return a human readable latency analysis report.',
      'HISTORY <event>',
      '    Return time-latency samples for the <event> class.',
      'LATEST',
      '    Return the latest latency samples for all events.',
      'RESET [<event> ...]',
      '    Reset latency data of one or more <event> classes.',
      '    (default: reset all data for all event classes)',
      'HISTOGRAM [COMMAND ...]',
      '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
      '    If no commands are specified then all histograms are replied.',
    ]),
};
