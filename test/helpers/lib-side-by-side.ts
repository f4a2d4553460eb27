/**
 * Real client libraries, unchanged, driven through the same steps against a
 * redis-server 7.0 and a single raftis node started side by side: each step's
 * outcome (a value, or the error a step threw) is recorded in order, and the
 * two records are compared whole. Timings are never compared; a step whose
 * result depends on time or on a server's own ids records a property of it.
 */
import { afterAll, beforeAll } from 'vitest';
import { startRaftis, type RaftisProcess } from './raftis-process.js';
import { RawClient } from './raw-client.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

/** One step's outcome: its value made JSON-comparable, or the text of what it threw. */
export type Outcome = { ok: unknown } | { threw: string };

/** Records named steps in order; a step that throws is recorded, not rethrown. */
export class Recorder {
  readonly steps: [string, Outcome][] = [];

  async step<T>(name: string, fn: () => Promise<T> | T): Promise<T | undefined> {
    try {
      const v = await fn();
      this.steps.push([name, { ok: plain(v) }]);
      return v;
    } catch (e) {
      this.steps.push([name, { threw: e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e) }]);
      return undefined;
    }
  }

  /** The outcome of the step `name` (the first one of that name). */
  get(name: string): Outcome | undefined {
    return this.steps.find(([n]) => n === name)?.[1];
  }

  /** Names of the steps that threw (for assertion messages). */
  failures(): string[] {
    return this.steps.filter(([, o]) => 'threw' in o).map(([n, o]) => `${n}: ${(o as { threw: string }).threw}`);
  }
}

/** Maps, Sets, Buffers, bigints and Dates to plain JSON-comparable values. */
export function plain(v: unknown): unknown {
  if (v === undefined || v === null) return v ?? null;
  if (typeof v === 'bigint') return `${v}n`;
  if (Buffer.isBuffer(v)) return { buffer: v.toString('latin1') };
  if (v instanceof Date) return { date: v.getTime() };
  if (v instanceof Map) return { map: [...v.entries()].map(([k, x]) => [plain(k), plain(x)]) };
  if (v instanceof Set) return { set: [...v].map(plain) };
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = plain(x);
    return out;
  }
  return v;
}

export interface SideBySide {
  /** The redis-server 7.0.15 port. */
  readonly redisPort: number;
  /** The raftis (one node) port. */
  readonly raftisPort: number;
  /**
   * Runs `scenario` against redis-server and then raftis (never both at
   * once, so neither's timing disturbs the other) with a FLUSHALL-clean
   * server each time, and returns both records.
   */
  run(scenario: (port: number, rec: Recorder) => Promise<void>): Promise<{ redis: Recorder; raftis: Recorder }>;
}

/** Starts a redis-server and a raftis node for the file (beforeAll), stops both after it (afterAll). */
export function useSideBySide(): SideBySide {
  let redis: RedisServer | undefined;
  let raftis: RaftisProcess | undefined;
  beforeAll(async () => {
    [redis, raftis] = await Promise.all([startRedisServer(), startRaftis()]);
  });
  afterAll(async () => {
    await Promise.allSettled([redis?.stop(), raftis?.destroy()]);
  });
  return {
    get redisPort() {
      return redis!.port;
    },
    get raftisPort() {
      return raftis!.port;
    },
    async run(scenario) {
      const out = { redis: new Recorder(), raftis: new Recorder() };
      for (const [which, port] of [
        ['redis', redis!.port],
        ['raftis', raftis!.port],
      ] as const) {
        const c = await RawClient.connect(port);
        await c.call('FLUSHALL');
        c.close();
        await scenario(port, out[which]);
      }
      return out;
    },
  };
}

/** Polls `cond` every 20 ms until it holds or `ms` pass; returns whether it held. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
