/**
 * The set-up shared by the differential tests against a raftis *process*:
 * a real redis-server (through Differential) and a raftis process started
 * once per file, and connections to raftis in RESP2 or RESP3, all closed and
 * stopped after the file's tests.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Differential, type Step } from './engine-diff.js';
import { RawClient } from './raw-client.js';
import { startRaftis, type RaftisProcess } from './raftis-process.js';
import { allStarted } from './settled.js';

export interface ProcessDifferential {
  readonly diff: Differential;
  readonly raftis: RaftisProcess;
  /** A new connection to raftis in `proto`; FLUSHALL first when `flush`. */
  connect(proto: 2 | 3, flush?: boolean): Promise<RawClient>;
  /** A connection to redis-server and one to raftis, in `proto` (RESP2 by default; closed with the file's servers). */
  pair(proto?: 2 | 3): Promise<[redis: RawClient, raftis: RawClient]>;
  /** One test per script and protocol: run on a fresh, flushed connection, replies byte-compared with redis-server's. */
  itRunsScripts(scripts: readonly [string, Step[]][]): void;
}

export function useProcessDifferential(): ProcessDifferential {
  let diff: Differential | undefined;
  let raftis: RaftisProcess | undefined;
  const conns: RawClient[] = [];
  beforeAll(async () => {
    // Keep whichever started even when the other failed, so afterAll stops it.
    await allStarted([Differential.start().then((d) => (diff = d)), startRaftis().then((r) => (raftis = r))]);
  });
  afterAll(async () => {
    for (const c of conns) c.close();
    await Promise.all([diff?.stop(), raftis?.destroy()]);
  });
  return {
    get diff() {
      return diff!;
    },
    get raftis() {
      return raftis!;
    },
    async connect(proto, flush = false) {
      const c = await RawClient.connect(raftis!.port);
      conns.push(c);
      if (proto === 3) await c.call('HELLO', '3');
      if (flush) await c.call('FLUSHALL');
      return c;
    },
    async pair(proto = 2) {
      const r = await RawClient.connect(diff!.redis.port);
      conns.push(r);
      if (proto === 3) await r.call('HELLO', '3');
      return [r, await this.connect(proto)];
    },
    itRunsScripts(scripts) {
      for (const [name, steps] of scripts) {
        for (const proto of [2, 3] as const) {
          it(`${name} (RESP${proto})`, async () => {
            const c = await this.connect(proto, true);
            const r = await diff!.run(steps, proto, { call: (...a) => c.call(...a) });
            expect(r.compared).toBeGreaterThan(0);
            expect(r.mismatches).toEqual([]);
          });
        }
      }
    },
  };
}

/** Sends one command to redis-server's connection `a` and raftis's `b`; the replies must be the same bytes. */
export async function sameReply(a: RawClient, b: RawClient, ...cmd: string[]): Promise<string> {
  const [ra, rb] = [await a.call(...cmd), await b.call(...cmd)];
  expect(rb, cmd.join(' ')).toBe(ra);
  return rb;
}
