/**
 * Helpers shared by the stream commands: typed lookups, ID arguments with
 * Redis's replies, and the entry reply shape.
 */
import type { StreamValue } from '../keyspace/types/stream.js';
import { idText, parseStreamId, type StreamId } from '../keyspace/types/stream-id.js';
import type { RespWriter } from '../server/resp-writer.js';
import { readTyped, writeTyped } from './collection.js';
import { STREAM_ERR } from './stream-errors.js';
import { ERR } from './errors.js';
import { string2ll, type Int64 } from '../util/number.js';
import type { Ctx } from './types.js';

/** The stream under key for a read: undefined when absent, null after WRONGTYPE. */
export function streamForRead(ctx: Ctx, key: string): StreamValue | undefined | null {
  return readTyped<StreamValue>(ctx, key, 'stream');
}

/** The stream under key for an in-place change (getMutable: copy-on-write hook). */
export function streamForWrite(ctx: Ctx, key: string): StreamValue | undefined | null {
  return writeTyped<StreamValue>(ctx, key, 'stream');
}

/** streamParseIDOrReply / streamParseStrictIDOrReply: the ID, or undefined after the error reply. */
export function idArg(ctx: Ctx, arg: string, missingSeqMax: boolean, strict: boolean): StreamId | undefined {
  const p = parseStreamId(arg, missingSeqMax, strict);
  if (p === null) {
    ctx.w.error(STREAM_ERR.invalidId);
    return undefined;
  }
  return p.id;
}

/**
 * streamParseIntervalIDOrReply: "(" makes the bound exclusive (parsed
 * strictly). Returns the ID and whether it is exclusive, or undefined
 * after the error reply.
 */
export function intervalArg(ctx: Ctx, arg: string, missingSeqMax: boolean): { id: StreamId; ex: boolean } | undefined {
  const ex = arg.length > 1 && arg.charCodeAt(0) === 40; /* ( */
  const id = idArg(ctx, ex ? arg.slice(1) : arg, missingSeqMax, ex);
  return id === undefined ? undefined : { id, ex };
}

/** getLongLongFromObjectOrReply, exact (bigint beyond 2^53); undefined after the error reply. */
export function longLongArg(ctx: Ctx, arg: string, msg?: string): Int64 | undefined {
  const v = string2ll(arg);
  if (v === null) {
    ctx.w.error(msg ?? ERR.notInteger);
    return undefined;
  }
  return v;
}

/** One entry as streamReplyWithRange emits it: [id, [field, value, …]]. */
export function writeEntry(w: RespWriter, id: StreamId, vals: readonly string[]): void {
  w.arrayHeader(2);
  w.bulk(idText(id));
  w.arrayHeader(vals.length);
  for (const v of vals) w.bulk(v);
}

/** Entries collected for a reply whose length is known only at the end. */
export class EntryBuffer {
  readonly ids: StreamId[] = [];
  readonly vals: (readonly string[] | null)[] = [];
  readonly push = (id: StreamId, vals: readonly string[] | null): void => {
    this.ids.push(id);
    this.vals.push(vals);
  };

  get length(): number {
    return this.ids.length;
  }

  /** The array of entries; an entry without values (deleted, in a PEL) is [id, null array]. */
  write(w: RespWriter): void {
    w.arrayHeader(this.ids.length);
    for (let i = 0; i < this.ids.length; i++) {
      const v = this.vals[i]!;
      if (v !== null) writeEntry(w, this.ids[i]!, v);
      else {
        w.arrayHeader(2);
        w.bulk(idText(this.ids[i]!));
        w.nilArray();
      }
    }
  }
}
