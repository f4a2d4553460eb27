/**
 * SCAN, HSCAN, SSCAN and ZSCAN: one scheme for the four (Redis's
 * scanGenericCommand, db.c 7.0.15). docs/decisions.md says why.
 *
 * Arguments are read as Redis reads them: the cursor first (strtoul, "ERR
 * invalid cursor"), then for HSCAN/SSCAN/ZSCAN the key (missing: an empty
 * scan, before any option is read; wrong type: WRONGTYPE), then COUNT
 * (an integer >= 1), MATCH (last one wins; "*" matches all) and, for SCAN
 * only, TYPE. Redis 7.0 has no NOVALUES (7.4): a syntax error, as there.
 *
 * What is scanned is a set of names (keys, fields, members) that a command
 * describes as a Scanned: either a small encoding Redis returns whole with
 * cursor 0 (listpack hash and zset, intset), or a live iterator over a JS
 * Map's keys, walked COUNT names per call. A Map iterator visits every key
 * present for the whole walk exactly once, whatever is inserted or deleted
 * meanwhile (a key deleted and re-added comes again, at the end), which is
 * the SCAN guarantee. The cursor is a handle on the open walk: a number
 * from a per-keyspace table of at most MAX_WALKS walks, evicting the one
 * left longest ago. A walk keeps the next name ahead, so the cursor is 0
 * as soon as nothing is left. Cursor 0, an unknown cursor (never handed
 * out, evicted, finished) and a cursor handed out for another value (the
 * key was deleted and made again, or it names another key) start a walk
 * from the beginning, which may repeat names but never misses one.
 */
import { globMatch } from '../keyspace/glob.js';
import type { Keyspace } from '../keyspace/keyspace.js';
import { ERR, KEYSPACE_ERR } from './errors.js';
import { parseScanCursor, string2ll } from '../util/number.js';
import { isOpt } from './options.js';
import type { Ctx } from './types.js';

export interface ScanOptions {
  /** How many names one call visits (before MATCH and TYPE filter them). */
  count: number;
  /** MATCH's glob; undefined for none (or "*"). */
  pattern: string | undefined;
  /** SCAN's TYPE filter. */
  typeName: string | undefined;
}

/** What one call scans: the command's view of its keyspace or value. */
export interface Scanned {
  /**
   * What the names belong to: the collection, or for SCAN the keyspace's
   * key table (Keyspace.keyTable). A cursor only continues a walk over the
   * same owner.
   */
  owner: object;
  /** A live iterator over the names (a Map's keys), for a walk. */
  names(): Iterator<string>;
  /** A small encoding Redis returns whole: every name, in Redis's order, replied at once with cursor 0. */
  whole?: Iterable<string> | undefined;
  /**
   * Appends a name's reply items (the name; for HSCAN and ZSCAN its value
   * too) once it passed MATCH. Skips a name no longer there (the walk's
   * next name was read at the end of the previous call), and for SCAN an
   * expired key or one of another TYPE.
   */
  emit(name: string, out: string[]): void;
}

/** The cursor argument; undefined after replying "invalid cursor". */
export function scanCursor(ctx: Ctx, arg: string): bigint | undefined {
  const c = parseScanCursor(arg);
  if (c === null) {
    ctx.w.error(KEYSPACE_ERR.invalidCursor);
    return undefined;
  }
  return c;
}

/**
 * COUNT, MATCH and (`allowType`: SCAN only) TYPE from argv[from...], with
 * Redis's errors; undefined once an error reply has been written.
 */
export function scanOptions(ctx: Ctx, argv: string[], from: number, allowType: boolean): ScanOptions | undefined {
  let count = 10;
  let pattern: string | undefined;
  let typeName: string | undefined;
  for (let i = from; i < argv.length; ) {
    const opt = argv[i]!;
    const more = argv.length - i >= 2;
    if (isOpt(opt, 'count') && more) {
      const c = string2ll(argv[i + 1]!);
      if (c === null) {
        ctx.w.error(ERR.notInteger);
        return undefined;
      }
      if (c < 1) {
        ctx.w.error(ERR.syntax);
        return undefined;
      }
      count = typeof c === 'number' ? c : Number.MAX_SAFE_INTEGER;
      i += 2;
    } else if (isOpt(opt, 'match') && more) {
      const p = argv[i + 1]!;
      pattern = p === '*' ? undefined : p;
      i += 2;
    } else if (allowType && isOpt(opt, 'type') && more) {
      typeName = argv[i + 1]!;
      i += 2;
    } else {
      ctx.w.error(ERR.syntax);
      return undefined;
    }
  }
  return { count, pattern, typeName };
}

/**
 * HSCAN / SSCAN / ZSCAN key cursor [MATCH pattern] [COUNT count]: the
 * cursor, the key (`lookup`: undefined when missing, null once it replied
 * WRONGTYPE), the options, then one call of the scan `describe` gives.
 */
export function scanValue<V extends object>(
  ctx: Ctx,
  argv: string[],
  lookup: (key: string) => V | undefined | null,
  describe: (v: V) => Scanned,
): void {
  const cursor = scanCursor(ctx, argv[2]!);
  if (cursor === undefined) return;
  const v = lookup(argv[1]!);
  if (v === null) return;
  if (v === undefined) return replyScan(ctx, 0, []);
  const opts = scanOptions(ctx, argv, 3, false);
  if (opts === undefined) return;
  scan(ctx, cursor, opts, describe(v));
}

/** One call: visits the names (all of a small encoding, else the walk's next COUNT) and replies [next cursor, items]. */
export function scan(ctx: Ctx, cursor: bigint, opts: ScanOptions, s: Scanned): void {
  const out: string[] = [];
  const pattern = opts.pattern;
  const visit = (name: string): void => {
    if (pattern === undefined || globMatch(pattern, name)) s.emit(name, out);
  };
  let next = 0;
  if (s.whole !== undefined) {
    for (const name of s.whole) visit(name);
  } else {
    const walks = walksOf(ctx.db);
    const walk = walks.take(cursor, s.owner) ?? startWalk(s);
    for (let i = 0; i < opts.count && !walk.ahead.done; i++) {
      const name = walk.ahead.value;
      walk.ahead = walk.it.next();
      visit(name);
    }
    if (!walk.ahead.done) next = walks.park(walk);
  }
  replyScan(ctx, next, out);
}

function replyScan(ctx: Ctx, cursor: number, items: readonly string[]): void {
  ctx.w.arrayHeader(2);
  ctx.w.bulk(String(cursor));
  ctx.w.bulkArray(items);
}

// ---- open walks ------------------------------------------------------------

/** At most this many open walks per keyspace (SCAN's and the values' together). */
const MAX_WALKS = 1024;

interface Walk {
  owner: object;
  it: Iterator<string>;
  /** The next name, read ahead: done means the walk is over. */
  ahead: IteratorResult<string>;
}

function startWalk(s: Scanned): Walk {
  const it = s.names();
  return { owner: s.owner, it, ahead: it.next() };
}

/** A keyspace's open walks by cursor, oldest first. */
class Walks {
  private readonly open = new Map<number, Walk>();
  private nextCursor = 1;

  /** The walk `cursor` continues if it is one over `owner` (no longer open: the caller parks it again). */
  take(cursor: bigint, owner: object): Walk | undefined {
    // Cursors above 2^53 were never handed out.
    if (cursor === 0n || cursor > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    const walk = this.open.get(Number(cursor));
    if (walk === undefined || walk.owner !== owner) return undefined;
    this.open.delete(Number(cursor));
    return walk;
  }

  /** Keeps a walk that has more to visit; returns its new cursor (never 0). */
  park(walk: Walk): number {
    const cursor = this.nextCursor++;
    if (this.nextCursor >= Number.MAX_SAFE_INTEGER) this.nextCursor = 1;
    this.open.set(cursor, walk);
    if (this.open.size > MAX_WALKS) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.open.delete(oldest);
    }
    return cursor;
  }
}

/** Walks belong to the keyspace they walk (a node's, a test engine's), and go with it. */
const walksByKeyspace = new WeakMap<Keyspace, Walks>();

function walksOf(db: Keyspace): Walks {
  let w = walksByKeyspace.get(db);
  if (w === undefined) walksByKeyspace.set(db, (w = new Walks()));
  return w;
}
