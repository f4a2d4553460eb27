/**
 * Differential testing: the same command script is sent to a real
 * redis-server and to the in-process Engine, in RESP2 and in RESP3, and the
 * raw replies are compared byte for byte (or as sets, or with a tolerance
 * where the reply depends on time or on hash order).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { RawClient } from './raw-client.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export type Compare =
  /** byte for byte */
  | 'exact'
  /** arrays compared as sorted multisets (KEYS); other replies exactly */
  | 'set'
  /** integer replies within `tolerance`; anything else exactly */
  | { tolerance: number }
  /** arrays and maps compared as sorted multisets of consecutive pairs (HGETALL, HRANDFIELD … WITHVALUES) */
  | 'pairs'
  /** integer replies within a relative error (MEMORY USAGE estimates); anything else exactly */
  | { ratio: number }
  /** random replies: both must be of the same RESP type and satisfy the property (given the parsed reply) */
  | { property: (r: Reply) => boolean }
  /** time-dependent replies: equal once every match of `mask` (a global RegExp over the raw reply) is blanked out */
  | { mask: RegExp };

export interface CmdStep {
  cmd: string[];
  cmp?: Compare;
}
/** Iterate SCAN (with these options) to cursor 0 on both sides and compare the union of keys. */
export interface ScanAllStep {
  scanAll: string[];
}
/**
 * Iterate a value's SCAN (HSCAN/SSCAN: `scanAllOf` is the command and key,
 * `opts` the options) to cursor 0 on both sides and compare what was seen:
 * the de-duplicated members, or field/value pairs when `pairs` is set.
 */
export interface ScanAllOfStep {
  scanAllOf: [string, string];
  opts?: string[];
  pairs?: boolean;
}
export type Step = string[] | CmdStep | ScanAllStep | ScanAllOfStep;

export interface Mismatch {
  proto: 2 | 3;
  step: number;
  cmd: string;
  redis: string;
  raftis: string;
}

export interface RunResult {
  mismatches: Mismatch[];
  /** Replies compared. */
  compared: number;
  /** The engine's reply to every compared command step, in order (for sanity checks on what was covered). */
  replies: string[];
}

/** A parsed RESP reply, for the loose comparisons. */
export type Reply = { t: string; v: string } | { t: string; items: Reply[] };

/** The elements of an aggregate reply (none for a simple one). */
export const replyItems = (r: Reply): Reply[] => ('items' in r ? r.items : []);
/** The text of a simple reply ('' for an aggregate). */
export const replyValue = (r: Reply): string => ('v' in r ? r.v : '');

export function parseReply(raw: string, pos = 0): [Reply, number] {
  const nl = raw.indexOf('\r\n', pos);
  if (nl < 0) throw new Error(`incomplete reply ${JSON.stringify(raw)}`);
  const t = raw[pos]!;
  const head = raw.slice(pos + 1, nl);
  let p = nl + 2;
  switch (t) {
    case '$':
    case '=':
    case '!': {
      const n = Number(head);
      if (n < 0) return [{ t: 'nil', v: '' }, p];
      return [{ t, v: raw.slice(p, p + n) }, p + n + 2];
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      const n = Number(head);
      if (n < 0) return [{ t: 'nil', v: '' }, p];
      const count = t === '%' || t === '|' ? 2 * n : n;
      const items: Reply[] = [];
      for (let i = 0; i < count; i++) {
        const [r, q] = parseReply(raw, p);
        items.push(r);
        p = q;
      }
      return [{ t, items }, p];
    }
    default:
      return [{ t, v: head }, p];
  }
}

function canonical(r: Reply, sortArrays: boolean): string {
  if ('items' in r) {
    const parts = r.items.map((x) => canonical(x, sortArrays));
    if (sortArrays) parts.sort();
    return r.t + '[' + parts.join(',') + ']';
  }
  return r.t + JSON.stringify(r.v);
}

function show(args: readonly string[]): string {
  return args.map((a) => (/^[\x21-\x7e]*$/.test(a) && a.length > 0 && a.length < 60 ? a : JSON.stringify(a.length > 60 ? a.slice(0, 60) + '…' : a))).join(' ');
}

/** A reply's items as sorted pairs, keeping each pair together. */
function canonicalPairs(r: Reply): string {
  if (!('items' in r)) return canonical(r, false);
  const parts: string[] = [];
  for (let i = 0; i < r.items.length; i += 2) parts.push(canonical(r.items[i]!, false) + '=' + (r.items[i + 1] ? canonical(r.items[i + 1]!, false) : ''));
  return (r.t === '%' ? '*' : r.t) + (r.t === '%' ? 'map' : '') + '[' + parts.sort().join(',') + ']';
}

function same(a: string, b: string, cmp: Compare): boolean {
  if (typeof cmp === 'object' && 'property' in cmp) {
    const [x, y] = [parseReply(a)[0], parseReply(b)[0]];
    return x.t === y.t && cmp.property(x) && cmp.property(y);
  }
  if (a === b) return true;
  if (cmp === 'exact') return false;
  if (typeof cmp === 'object' && 'mask' in cmp) return a.replace(cmp.mask, '#') === b.replace(cmp.mask, '#');
  if (cmp === 'pairs') return canonicalPairs(parseReply(a)[0]) === canonicalPairs(parseReply(b)[0]);
  if (typeof cmp === 'object' && 'ratio' in cmp) {
    if (!a.startsWith(':') || !b.startsWith(':')) return false;
    const x = Number(a.slice(1, -2));
    const y = Number(b.slice(1, -2));
    return Math.abs(x - y) <= cmp.ratio * Math.max(x, y);
  }
  if (cmp === 'set') {
    return canonical(parseReply(a)[0], true) === canonical(parseReply(b)[0], true);
  }
  if ('tolerance' in cmp && a.startsWith(':') && b.startsWith(':')) {
    return Math.abs(Number(a.slice(1, -2)) - Number(b.slice(1, -2))) <= cmp.tolerance;
  }
  // RESP2 doubles/bulk numbers (e.g. PTTL is an integer; keep this for completeness).
  return false;
}

const MAX_SCAN_CALLS = 10_000;

/** What the scripts run against besides redis-server. */
export interface Target {
  call(...args: string[]): string | Promise<string>;
}

export class Differential {
  private constructor(
    readonly redis: RedisServer,
    private readonly c2: RawClient,
    private readonly c3: RawClient,
  ) {}

  /** Starts redis-server (with extra args) and opens one RESP2 and one RESP3 connection. */
  static async start(extraArgs: string[] = []): Promise<Differential> {
    const redis = await startRedisServer(extraArgs);
    try {
      const c2 = await RawClient.connect(redis.port);
      const c3 = await RawClient.connect(redis.port);
      const hello = await c3.call('HELLO', '3');
      if (!hello.startsWith('%')) throw new Error(`HELLO 3 failed: ${hello}`);
      return new Differential(redis, c2, c3);
    } catch (e) {
      await redis.stop();
      throw e;
    }
  }

  async stop(): Promise<void> {
    this.c2.close();
    this.c3.close();
    await this.redis.stop();
  }

  /** The RESP2 connection, for setup that is not compared. */
  get client(): RawClient {
    return this.c2;
  }

  /**
   * Runs `steps` on a flushed redis-server and on a target in the given
   * protocol: by default a fresh in-process engine; or any Target, such as a
   * connection to a raftis process (which the caller flushes and sets to `proto`).
   */
  async run(steps: readonly Step[], proto: 2 | 3, engine: Target = new Engine({ proto })): Promise<RunResult> {
    const client = proto === 2 ? this.c2 : this.c3;
    if (engine instanceof Engine) engine.proto = proto;
    await client.call('FLUSHALL');
    const mismatches: Mismatch[] = [];
    let compared = 0;
    const replies: string[] = [];
    const record = (step: number, cmd: string, redis: string, raftis: string): void => {
      mismatches.push({ proto, step, cmd, redis, raftis });
    };
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      if (Array.isArray(s) || 'cmd' in s) {
        const cmd = Array.isArray(s) ? s : s.cmd;
        const cmp = Array.isArray(s) ? 'exact' : (s.cmp ?? 'exact');
        const r = await client.call(...cmd);
        const e = await engine.call(...cmd);
        compared++;
        replies.push(e);
        if (!same(r, e, cmp)) record(i, show(cmd), r, e);
      } else if ('scanAllOf' in s) {
        const [cmd, key] = s.scanAllOf;
        const opts = s.opts ?? [];
        const [r, e] = await Promise.all([
          scanAllWith((cursor) => client.call(cmd, key, cursor, ...opts), s.pairs),
          scanAllWith((cursor) => Promise.resolve(engine.call(cmd, key, cursor, ...opts)), s.pairs),
        ]);
        compared++;
        if (r !== e) record(i, `${cmd}* ${show([key, ...opts])}`, r, e);
      } else {
        const [r, e] = await Promise.all([this.scanAll(client, s.scanAll), Promise.resolve(scanAllEngine(engine, s.scanAll))]);
        compared++;
        if (r !== e) record(i, 'SCAN* ' + show(s.scanAll), r, e);
      }
    }
    return { mismatches, compared, replies };
  }

  private async scanAll(client: RawClient, opts: string[]): Promise<string> {
    return scanAllWith((cursor) => client.call('SCAN', cursor, ...opts));
  }
}

function scanAllEngine(engine: Target, opts: string[]): Promise<string> {
  return scanAllWith((cursor) => Promise.resolve(engine.call('SCAN', cursor, ...opts)));
}

/**
 * Full SCAN iteration: the sorted, de-duplicated keys (or field/value pairs
 * with `pairs`); or the first non-array reply (an error) as is.
 */
async function scanAllWith(call: (cursor: string) => Promise<string>, pairs = false): Promise<string> {
  let cursor = '0';
  const keys = new Set<string>();
  for (let n = 0; n < MAX_SCAN_CALLS; n++) {
    const raw = await call(cursor);
    const [r] = parseReply(raw);
    if (!('items' in r)) return raw;
    const [c, list] = r.items as [Reply, Reply];
    if ('items' in c || !('items' in list)) throw new Error(`bad SCAN reply ${JSON.stringify(raw)}`);
    const flat = list.items.map((k) => ('items' in k ? '' : k.v));
    if (pairs) for (let j = 0; j < flat.length; j += 2) keys.add(JSON.stringify([flat[j], flat[j + 1]]));
    else for (const k of flat) keys.add(k);
    cursor = c.v;
    if (cursor === '0') return JSON.stringify([...keys].sort());
  }
  throw new Error('SCAN did not finish');
}

/**
 * A Differential for the tests of one file (started before them, stopped
 * after), with one test per script and protocol: the script on the engine
 * and on redis-server, replies byte-compared.
 */
export function useDifferential(): { readonly diff: Differential; itRunsScripts(scripts: Record<string, Step[]>): void } {
  let diff: Differential | undefined;
  beforeAll(async () => {
    diff = await Differential.start();
  });
  afterAll(async () => {
    await diff?.stop();
  });
  return {
    get diff() {
      return diff!;
    },
    itRunsScripts(scripts) {
      for (const [name, steps] of Object.entries(scripts)) {
        for (const proto of [2, 3] as const) {
          it(`${name} (RESP${proto})`, async () => {
            const r = await diff!.run(steps, proto);
            expect(r.mismatches).toEqual([]);
            expect(r.compared).toBeGreaterThan(0);
          });
        }
      }
    },
  };
}
