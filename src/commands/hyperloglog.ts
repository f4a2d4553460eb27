/**
 * HyperLogLog commands (redis/src/hyperloglog.c, 7.0.15): PFADD, PFCOUNT,
 * PFMERGE, PFDEBUG, PFSELFTEST. The value is a plain string holding
 * Redis's exact HYLL bytes (hll.ts), so GET of it is redis-server's.
 *
 * PFCOUNT of one key writes the cached cardinality into the string when it
 * is stale, as Redis does. raftis routes PFCOUNT as a write (table.ts,
 * REPLICATED_READS; docs/decisions.md): it runs when its log entry is
 * applied, on every replica, so a GET after it returns the same bytes
 * everywhere, as Redis propagates such a PFCOUNT to its replicas.
 */
import { Notify, notify } from './notify.js';
import type { Value } from '../keyspace/keyspace.js';
import { ERR } from './errors.js';
import { HLL_ERR, pfdebugUnknown, pfselftestError, pfselftestRegister } from './hll-geo-errors.js';
import { hllLimits, HLL_DENSE, HLL_HDR_SIZE, HLL_REGISTERS, HLL_SPARSE, Hll, countRaw, denseGet, isValidHll, registerSelfTest } from './hll.js';
import { isOpt } from './options.js';
import { createPrng } from '../util/prng.js';
import type { Ctx, DataHandler } from './types.js';
import { dirty } from './dirty.js';

/** Decoded HLLs kept between commands (at most this many). */
const CACHE_SLOTS = 16;

/**
 * The bytes of recently used HyperLogLogs, each with a string it equals:
 * slot i holds cacheS[i] (undefined: free, or taken out) and cacheH[i].
 * PFADD on a dense HLL would otherwise copy the 12 kB string into bytes on
 * every call. A slot is found by the key's current value (===: the same
 * string object in the common case, so one pointer comparison; a string of
 * equal content holds equal bytes, so it may use them too), never by key,
 * so it is never stale, also across keys, databases, snapshots and nodes
 * sharing a process. A handler takes the bytes out (cached) before changing
 * them and puts them back (remember) with the string it stored. Parallel
 * arrays, not a Map of entries: a hit allocates nothing and rehashes
 * nothing. Only speed depends on it, never a result.
 */
const cacheS: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);
const cacheH: (Hll | undefined)[] = new Array<Hll | undefined>(CACHE_SLOTS).fill(undefined);
/** The slot the next new HLL takes (round robin). */
let cacheNext = 0;

/** The bytes of s, taken out of the cache (or decoded). */
function cached(s: string): Hll {
  for (let i = 0; i < CACHE_SLOTS; i++) {
    if (cacheS[i] === s) {
      cacheS[i] = undefined;
      return cacheH[i]!;
    }
  }
  return Hll.fromString(s);
}

/** Remembers `hll` as the bytes of `s` (a value now stored). */
function remember(s: string, hll: Hll): void {
  for (let i = 0; i < CACHE_SLOTS; i++) {
    if (cacheH[i] === hll) {
      cacheS[i] = s;
      return;
    }
  }
  const i = cacheNext;
  cacheNext = (i + 1) % CACHE_SLOTS;
  cacheS[i] = s;
  cacheH[i] = hll;
}

/** Stores the HLL's bytes at key (keeping its TTL) and remembers them. */
function store(ctx: Ctx, key: string, hll: Hll): void {
  const s = hll.toString();
  ctx.db.set(key, s, true);
  remember(s, hll);
}

/** isHLLObjectOrReply: the HLL of a present value, or undefined after replying the error. */
function hllOrReply(ctx: Ctx, key: string, v: Value): Hll | undefined {
  if (typeof v !== 'string') {
    ctx.w.error(ERR.wrongtype);
    return undefined;
  }
  if (!isValidHll(v)) {
    ctx.w.error(HLL_ERR.notHll);
    return undefined;
  }
  return cached(v);
}

/** A write's read of a key (the keys PFCOUNT and PFMERGE read): expired keys go, counted as hits and misses. */
function lookup(ctx: Ctx, key: string): Value | undefined {
  return ctx.db.countRead(ctx.db.getForWrite(key, ctx.now), key);
}

const pfadd: DataHandler = (ctx, argv) => {
  const key = argv[1]!;
  const cur = ctx.db.getForWrite(key, ctx.now);
  let hll: Hll;
  let updated = 0;
  if (cur === undefined) {
    hll = Hll.create();
    updated++;
  } else {
    const h = hllOrReply(ctx, key, cur);
    if (h === undefined) return;
    hll = h;
  }
  for (let j = 2; j < argv.length; j++) {
    const r = hll.add(argv[j]!);
    if (r === 1) updated++;
    else if (r === -1) {
      // Redis keeps what the earlier elements changed (and a key it created);
      // add changes nothing when it fails, and every 1 changed a byte.
      if (updated > 0) ctx.db.set(key, hll.toString(), true);
      return ctx.w.error(HLL_ERR.invalid);
    }
  }
  if (updated) {
    hll.invalidateCache();
    store(ctx, key, hll);
    notify(ctx, Notify.String, 'pfadd', key);
    dirty(ctx, updated);
  } else {
    remember(cur as string, hll);
  }
  ctx.w.int(updated ? 1 : 0);
};

const pfcount: DataHandler = (ctx, argv) => {
  if (argv.length > 2) {
    const max = new Uint8Array(HLL_REGISTERS);
    for (let j = 1; j < argv.length; j++) {
      const v = lookup(ctx, argv[j]!);
      if (v === undefined) continue;
      const key = argv[j]!;
      const h = hllOrReply(ctx, key, v);
      if (h === undefined) return;
      if (!h.mergeInto(max)) return ctx.w.error(HLL_ERR.invalid);
      remember(v as string, h);
    }
    return ctx.w.int(countRaw(max));
  }
  const key = argv[1]!;
  const v = lookup(ctx, key);
  if (v === undefined) return ctx.w.int(0);
  const h = hllOrReply(ctx, key, v);
  if (h === undefined) return;
  if (h.cacheValid) {
    remember(v as string, h);
    return ctx.w.int(h.cachedCard);
  }
  const card = h.count();
  if (card === undefined) return ctx.w.error(HLL_ERR.invalid);
  h.cachedCard = BigInt(card);
  store(ctx, key, h);
  // The cached cardinality written back is a change Redis propagates (pfcountCommand's server.dirty++).
  dirty(ctx);
  ctx.w.int(card);
};

const pfmerge: DataHandler = (ctx, argv) => {
  const max = new Uint8Array(HLL_REGISTERS);
  let useDense = false;
  for (let j = 1; j < argv.length; j++) {
    const src = argv[j]!;
    const v = lookup(ctx, src);
    if (v === undefined) continue;
    const h = hllOrReply(ctx, src, v);
    if (h === undefined) return;
    if (h.encoding === HLL_DENSE) useDense = true;
    if (!h.mergeInto(max)) return ctx.w.error(HLL_ERR.invalid);
    remember(v as string, h);
  }
  const key = argv[1]!;
  const cur = ctx.db.getForWrite(key, ctx.now);
  const hll = cur === undefined ? Hll.create() : cached(cur as string);
  if (useDense && !hll.toDense()) {
    if (cur === undefined) ctx.db.set(key, hll.toString());
    return ctx.w.error(HLL_ERR.invalid);
  }
  for (let j = 0; j < HLL_REGISTERS; j++) {
    if (max[j] === 0) continue;
    hll.set(j, max[j]!);
  }
  hll.invalidateCache();
  store(ctx, key, hll);
  // Redis's pfmergeCommand names the event "pfadd".
  notify(ctx, Notify.String, 'pfadd', key);
  dirty(ctx);
  ctx.w.ok();
};

const pfdebug: DataHandler = (ctx, argv) => {
  const sub = argv[1]!;
  const key = argv[2]!;
  const v = ctx.db.getForWrite(key, ctx.now);
  if (v === undefined) return ctx.w.error(HLL_ERR.noKey);
  const h = hllOrReply(ctx, key, v);
  if (h === undefined) return;
  const w = ctx.w;
  if (isOpt(sub, 'getreg')) {
    if (h.encoding === HLL_SPARSE) {
      if (!h.toDense()) return w.error(HLL_ERR.invalid);
      ctx.db.set(key, h.toString(), true);
    }
    w.arrayHeader(HLL_REGISTERS);
    for (let j = 0; j < HLL_REGISTERS; j++) w.int(denseGet(h.b, HLL_HDR_SIZE, j));
  } else if (isOpt(sub, 'decode')) {
    if (h.encoding !== HLL_SPARSE) return w.error(HLL_ERR.notSparse);
    w.bulk(h.decode());
  } else if (isOpt(sub, 'encoding')) {
    w.simple(h.encoding === HLL_DENSE ? 'dense' : 'sparse');
  } else if (isOpt(sub, 'todense')) {
    let conv = 0;
    if (h.encoding === HLL_SPARSE) {
      if (!h.toDense()) return w.error(HLL_ERR.invalid);
      ctx.db.set(key, h.toString(), true);
      conv = 1;
    }
    w.int(conv);
  } else {
    w.error(pfdebugUnknown(sub));
  }
};

/** Elements added by PFSELFTEST's estimate check (Redis adds 10 million; raftis checks up to 10^4, past the promotion to dense). */
const SELFTEST_ELEMENTS = 10_000;
const SELFTEST_CYCLES = 20;

/**
 * PFSELFTEST: the register access test and the approximation test of
 * Redis's, on raftis's implementation, with fewer cycles and elements, and
 * a fixed seed (handlers are deterministic). Replies +OK or TESTFAILED.
 */
const pfselftest: DataHandler = (ctx) => {
  const rand = createPrng(0x5eed);
  const regFail = registerSelfTest(rand, SELFTEST_CYCLES);
  if (regFail !== undefined) return ctx.w.error(pfselftestRegister(...regFail));
  const dense = Hll.create();
  dense.toDense();
  const sparse = Hll.create();
  const relerr = 1.04 / Math.sqrt(HLL_REGISTERS);
  const seed = BigInt(Math.floor(rand() * 2 ** 32)) | (BigInt(Math.floor(rand() * 2 ** 32)) << 32n);
  const ele = Buffer.alloc(8);
  let checkpoint = 1;
  for (let j = 1; j <= SELFTEST_ELEMENTS; j++) {
    ele.writeBigUInt64LE(BigInt(j) ^ seed);
    const s = ele.toString('latin1');
    dense.add(s);
    sparse.add(s);
    if (j !== checkpoint) continue;
    if (j < hllLimits.sparseMaxBytes / 2 && sparse.encoding !== HLL_SPARSE) return ctx.w.error(HLL_ERR.selftestSparse);
    const card = dense.count()!;
    if (card !== sparse.count()) return ctx.w.error(HLL_ERR.selftestDisagree);
    let maxerr = Math.ceil(relerr * 6 * checkpoint);
    if (j === 10) maxerr = 1;
    const abserr = Math.abs(checkpoint - card);
    if (abserr > maxerr) return ctx.w.error(pfselftestError(checkpoint, abserr));
    checkpoint *= 10;
  }
  ctx.w.ok();
};

export const hyperloglogCommands: Record<string, DataHandler> = { pfadd, pfcount, pfmerge, pfdebug, pfselftest };
