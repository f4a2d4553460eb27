/**
 * What the operator's /metrics (src/server/metrics.ts) reads from the
 * engine, at scrape time: the counts INFO commandstats and latencystats
 * already keep (nothing is counted twice), clients, keys and memory as INFO
 * computes them, and the node.
 */
import type { CommandMetric, MetricsSource } from '../server/metrics.js';
import type { Engine } from './engine/engine.js';

export function metricsSource(engine: Engine): MetricsSource {
  return {
    node: engine.node,
    clients: () => engine.clients.size,
    keys: () => engine.dbs.size,
    datasetBytes: () => engine.dbs.usedMemory(),
    *commands(latencyExps: readonly number[]): Iterable<CommandMetric> {
      for (const def of engine.table.withSubcommands()) {
        const st = def.stats;
        if (st.calls === 0 && st.rejectedCalls === 0 && st.failedCalls === 0) continue;
        const h = st.latency;
        yield {
          name: def.meta.name,
          calls: st.calls,
          rejected: st.rejectedCalls,
          failed: st.failedCalls,
          latency: h === undefined || h.total === 0 ? undefined : { buckets: h.countsUpTo(latencyExps), count: h.total, seconds: st.timedUsec / 1e6 },
        };
      }
    },
  };
}
