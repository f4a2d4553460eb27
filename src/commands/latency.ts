/**
 * LATENCY LATEST, HISTORY and RESET: the latency monitor's events
 * (src/server/latency-monitor.ts), answered as redis-server answers them.
 * LATENCY HISTOGRAM (latency tracking) is in server.ts.
 */
import type { EngineClient as Client } from './engine/engine.js';
import type { RespWriter } from '../server/resp-writer.js';
import type { ConnHandler, ConnCtx } from './table.js';

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

export const latencyCommands: Record<string, ConnHandler> = {
  'latency|latest': latest,
  'latency|history': history,
  'latency|reset': reset,
};
