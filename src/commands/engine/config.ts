/**
 * The Config store: the parameters CONFIG GET / CONFIG SET read and write
 * (the command's handlers are src/commands/config.ts). Clients
 * (redis-benchmark, ioredis, admin tools) ask for a handful of Redis
 * settings; raftis answers with the values that describe its behaviour, and
 * accepts SET only where it can honour it.
 */
import type { ClientLimits } from '../../server/client.js';
import { LLONG_MAX, ULONG_MAX, cstr, string2ll, wrapInt64 } from '../../util/number.js';

export interface ConfigParam {
  get(): string;
  /** Returns an error text, or undefined when applied. Absent: read-only. */
  set?(value: string): string | undefined;
}

export class Config {
  /** proto-max-bulk-len and client-query-buffer-limit, which every connection reads at each use. */
  readonly limits: ClientLimits = { maxBulkLen: 512 * 1024 * 1024, queryBufferLimit: 1024 * 1024 * 1024 };
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
    // Memory configs of Redis 7.0 (1 MB to LLONG_MAX); the request parser reads them at each use.
    const limits = this.limits;
    this.params.set('proto-max-bulk-len', memoryParam(() => limits.maxBulkLen, (n) => (limits.maxBulkLen = n), 1024 * 1024));
    this.params.set('client-query-buffer-limit', memoryParam(() => limits.queryBufferLimit, (n) => (limits.queryBufferLimit = n), 1024 * 1024));
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

/**
 * A memory parameter (Redis's MEMORY_CONFIG long long configs) from `min` to
 * `max`, with redis-server 7.0's CONFIG SET parsing (memtoull) and errors.
 * Values above 2^53 are kept exactly for CONFIG GET; the setter gets the
 * nearest double, which only matters as a limit far beyond any real input.
 */
export function memoryParam(get: () => number, set: (n: number) => void, min: number, max = LLONG_MAX): ConfigParam {
  let exact = BigInt(get());
  return {
    get: () => (Number(exact) === get() ? String(exact) : String(get())),
    set: (v) => {
      const u = memtoull(v);
      if (u === null) return 'argument must be a memory value';
      // numericParseString stores the unsigned result in a long long.
      const n = wrapInt64(u);
      if (n < BigInt(min) || n > max) return `argument must be between ${min} and ${max} inclusive`;
      exact = n;
      set(Number(n));
      return undefined;
    },
  };
}

const MEMORY_UNITS: Readonly<Record<string, bigint>> = {
  '': 1n,
  b: 1n,
  k: 1000n,
  kb: 1024n,
  m: 1000n * 1000n,
  mb: 1024n * 1024n,
  g: 1000n * 1000n * 1000n,
  gb: 1024n * 1024n * 1024n,
};

/**
 * Redis 7.0's memtoull (util.c), as redis-server 7.0.15 behaves: digits, then
 * an optional unit (b, k, kb, m, mb, g, gb; any case); null (its `*err`) for
 * a leading '-', an unknown unit or 128 digits or more. No digits at all is
 * 0; strtoull saturates at 2^64-1 and the unit's product wraps modulo 2^64
 * (neither overflow is checked). The value is a C string: it ends at a NUL.
 */
export function memtoull(value: string): bigint | null {
  const p = cstr(value);
  if (p.charCodeAt(0) === 45 /* - */) return null;
  let u = 0;
  while (u < p.length && p.charCodeAt(u) >= 48 && p.charCodeAt(u) <= 57) u++;
  const unit = p.slice(u).toLowerCase();
  if (!Object.hasOwn(MEMORY_UNITS, unit)) return null;
  const mul = MEMORY_UNITS[unit]!;
  if (u >= 128) return null;
  let val = u === 0 ? 0n : BigInt(p.slice(0, u));
  if (val > ULONG_MAX) val = ULONG_MAX;
  return BigInt.asUintN(64, val * mul);
}

function parseMemory(v: string): number | undefined {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(v);
  if (!m) return undefined;
  const mult: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * (mult[(m[2] ?? 'b').toLowerCase()] ?? 1);
}
