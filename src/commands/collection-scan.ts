/**
 * HSCAN / SSCAN (db.c scanGenericCommand on a value). A small value
 * (listpack / intset encoding) is returned whole with cursor 0, as Redis
 * does. A large one is walked with a live iterator over its members: like
 * the keyspace SCAN (docs/decisions.md), the cursor is a handle on that
 * iterator, which visits every member present for the whole walk exactly
 * once. At most 1024 walks are kept; an unknown cursor (or one that belongs
 * to another value) starts over.
 */
import { globMatch } from '../keyspace/glob.js';
import { ERR, KEYSPACE_ERR } from './errors.js';
import { parseScanCursor, string2ll } from '../util/number.js';
import { isOpt } from './options.js';
import type { Ctx } from './types.js';

interface Walk {
  owner: object;
  it: Iterator<string>;
}

const walks = new Map<number, Walk>();
let nextCursor = 1;

export interface ScanOptions {
  count: number;
  pattern: string | undefined;
  /** SCAN's TYPE filter. */
  typeName?: string | undefined;
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
 * COUNT, MATCH and (for SCAN only: `allowType`) TYPE from argv[from...],
 * with Redis's errors; undefined once an error reply has been written.
 * HSCAN/SSCAN/ZSCAN options start at argv[3], SCAN's at argv[2].
 */
export function scanOptions(ctx: Ctx, argv: string[], from = 3, allowType = false): ScanOptions | undefined {
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

export function matches(opts: ScanOptions, s: string): boolean {
  return opts.pattern === undefined || globMatch(opts.pattern, s);
}

/**
 * One step of a walk over `owner`'s members: visits up to `count` of them
 * and returns the next cursor (0 when done).
 */
export function scanStep(owner: object, start: () => Iterator<string>, cursor: bigint, count: number, visit: (m: string) => void): number {
  let walk = cursor === 0n || cursor > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : walks.get(Number(cursor));
  if (walk !== undefined) walks.delete(Number(cursor));
  if (walk === undefined || walk.owner !== owner) walk = { owner, it: start() };
  for (let i = 0; i < count; i++) {
    const r = walk.it.next();
    if (r.done) return 0;
    visit(r.value);
  }
  const next = nextCursor++;
  if (nextCursor >= Number.MAX_SAFE_INTEGER) nextCursor = 1;
  walks.set(next, walk);
  if (walks.size > 1024) {
    const oldest = walks.keys().next().value;
    if (oldest !== undefined) walks.delete(oldest);
  }
  return next;
}

/** Replies [cursor, items]. */
export function replyScan(ctx: Ctx, cursor: number, items: readonly string[]): void {
  ctx.w.arrayHeader(2);
  ctx.w.bulk(String(cursor));
  ctx.w.bulkArray(items);
}
