/**
 * LATENCY, as redis-server answers it: LATEST, HISTORY and RESET report the
 * latency monitor's events (src/commands/engine/latency-monitor.ts);
 * HISTOGRAM reports latency tracking, each command's latency histogram
 * (engine/latency.ts, kept in each command's counters). INFO latencystats
 * (info.ts) shows percentiles of the same histograms.
 */
import { writeHelp } from './help.js';
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

export const latencyCommands: Record<string, ConnHandler> = {
  'latency|latest': latest,
  'latency|history': history,
  'latency|reset': reset,
  'latency|histogram': histogram,
  'latency|help': ({ w }, _argv) =>
    writeHelp(w, 'latency', [
      'HISTOGRAM [COMMAND ...]',
      '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
      '    If no commands are specified then all histograms are replied.',
    ]),
};
