/**
 * The Config store: the parameters CONFIG GET / CONFIG SET read and write
 * (the command's handlers are src/commands/config.ts). Clients
 * (redis-benchmark, ioredis, admin tools) ask for a handful of Redis
 * settings; raftis answers with the values that describe its behaviour, and
 * accepts SET only where it can honour it.
 */
import { LLONG_MAX, string2ll } from '../../util/number.js';

export interface ConfigParam {
  get(): string;
  /** Returns an error text, or undefined when applied. Absent: read-only. */
  set?(value: string): string | undefined;
}

export class Config {
  protoMaxBulkLen = 512 * 1024 * 1024;
  maxmemory = 0;
  maxmemoryPolicy = 'noeviction';
  timeout = 0;
  readonly params = new Map<string, ConfigParam>();

  constructor(extra: Record<string, string> = {}) {
    const fixed = (v: string): ConfigParam => ({ get: () => v });
    // Raftis persists every write before answering: the closest Redis settings.
    this.params.set('save', fixed(''));
    this.params.set('appendonly', fixed('yes'));
    this.params.set('appendfsync', fixed('always'));
    this.params.set('databases', fixed('1'));
    // Every node speaks the Redis Cluster protocol (CLUSTER SLOTS, MOVED), as INFO cluster says.
    this.params.set('cluster-enabled', fixed('yes'));
    this.params.set('maxclients', fixed('10000'));
    this.params.set('proto-max-bulk-len', fixed(String(this.protoMaxBulkLen)));
    // Redis 7's defaults: DEBUG and MODULE LOAD are refused (see dispatch.ts).
    this.params.set('enable-debug-command', fixed('no'));
    this.params.set('enable-module-command', fixed('no'));
    this.params.set('enable-protected-configs', fixed('no'));
    this.params.set('maxmemory', {
      get: () => String(this.maxmemory),
      set: (v) => {
        const n = parseMemory(v);
        if (n === undefined) return `argument must be a memory value`;
        this.maxmemory = n;
        return undefined;
      },
    });
    this.params.set('maxmemory-policy', {
      get: () => this.maxmemoryPolicy,
      set: (v) => {
        if (v.toLowerCase() !== 'noeviction') return `argument(s) must be one of the following: noeviction`;
        this.maxmemoryPolicy = 'noeviction';
        return undefined;
      },
    });
    // An int config in Redis: 0 to INT_MAX.
    this.params.set('timeout', integerParam(() => this.timeout, (n) => (this.timeout = n), 0, 2147483647n));
    for (const [k, v] of Object.entries(extra)) this.params.set(k, fixed(v));
  }
}

/** A numeric parameter from `min` to `max` (LLONG_MAX unless given), with redis-server's CONFIG SET errors. */
export function integerParam(get: () => number, set: (n: number) => void, min: number, max = LLONG_MAX): ConfigParam {
  return {
    get: () => String(get()),
    set: (v) => {
      const n = string2ll(v);
      if (n === null) return `argument couldn't be parsed into an integer`;
      if (n < BigInt(min) || n > max) return `argument must be between ${min} and ${max} inclusive`;
      set(Number(n));
      return undefined;
    },
  };
}

function parseMemory(v: string): number | undefined {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(v);
  if (!m) return undefined;
  const mult: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * (mult[(m[2] ?? 'b').toLowerCase()] ?? 1);
}
