/**
 * Lookups shared by the collection commands: a value of the wanted type,
 * nothing, or WRONGTYPE replied. Reads use db.get (never mutate); writes
 * use db.getMutable, the copy-on-write hook every in-place change of a
 * collection must pass through.
 */
import type { Collection, Value } from '../keyspace/keyspace.js';
import { ERR } from './errors.js';
import type { Ctx } from './types.js';

type Kind = Collection['type'];

function typed<T extends Collection>(ctx: Ctx, v: Value | undefined, type: Kind): T | undefined | null {
  if (v === undefined) return undefined;
  if (typeof v === 'string' || v.type !== type) {
    ctx.w.error(ERR.wrongtype);
    return null;
  }
  return v as T;
}

/** For a read: the value, undefined when absent, null after replying WRONGTYPE. */
export function readTyped<T extends Collection>(ctx: Ctx, key: string, type: Kind): T | undefined | null {
  return typed<T>(ctx, ctx.db.lookupRead(key, ctx.now), type);
}

/** For a write that may change the value in place (getMutable): as readTyped. */
export function writeTyped<T extends Collection>(ctx: Ctx, key: string, type: Kind): T | undefined | null {
  return typed<T>(ctx, ctx.db.getMutable(key, ctx.now), type);
}

/** True when v is a collection of this type (multi-key commands check every key before replying WRONGTYPE). */
export function isOfType(v: Value | undefined, type: Kind): boolean {
  return v !== undefined && typeof v !== 'string' && v.type === type;
}
