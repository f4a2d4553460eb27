/**
 * A value as Redis 7.0 serializes it (rdbSaveObjectType + rdbSaveObject),
 * and DUMP's payload (cluster.c createDumpPayload). The type and layout
 * follow the value's encoding as OBJECT ENCODING reports it:
 *
 *   string                 RDB string (integer-encoded, LZF above 20 bytes)
 *   list (quicklist)       QUICKLIST_2: listpack nodes as the list's fill
 *                          and compress depth split and compress them (quicklist.ts)
 *   hash listpack / table  HASH_LISTPACK / HASH (fields in insertion order)
 *   set intset / table     SET_INTSET / SET
 *   zset listpack / skip   ZSET_LISTPACK / ZSET_2 (greatest score first)
 *   stream                 STREAM_LISTPACKS_2 (rdb-stream.ts)
 *
 * A hashtable's order in Redis is its dict's (randomly seeded), so those
 * payloads cannot be byte-identical; they load to the same value.
 */
import type { Value } from '../keyspace.js';
import { RHash } from '../types/hash.js';
import { ListValue } from '../types/list.js';
import { RSet } from '../types/set.js';
import { StreamValue } from '../types/stream.js';
import { ZSetValue } from '../types/zset.js';
import { formatG17 } from '../../util/double.js';
import { ByteSink } from './bytes.js';
import { RdbType, dumpFooter, saveBlob, saveLen, saveString } from './format.js';
import { writeIntset } from './legacy.js';
import { ListpackWriter } from './listpack.js';
import { quicklistNodes } from './quicklist.js';
import { saveStream } from './stream.js';

const QUICKLIST_NODE_CONTAINER_PACKED = 2;

/** Writes the value's RDB type byte and its serialization. */
export function saveObject(out: ByteSink, v: Value): void {
  if (typeof v === 'string') {
    out.byte(RdbType.String);
    saveString(out, v);
  } else if (v instanceof ListValue) {
    out.byte(RdbType.ListQuicklist2);
    saveList(out, v);
  } else if (v instanceof RHash) {
    if (v.encoding === 'listpack') {
      out.byte(RdbType.HashListpack);
      const lp = new ListpackWriter();
      for (const [f, x] of v.entries()) {
        lp.str(f);
        lp.str(x);
      }
      saveBlob(out, lp.finish());
    } else {
      out.byte(RdbType.Hash);
      saveLen(out, v.size);
      for (const [f, x] of v.entries()) {
        saveString(out, f);
        saveString(out, x);
      }
    }
  } else if (v instanceof RSet) {
    if (v.encoding === 'intset') {
      out.byte(RdbType.SetIntset);
      saveBlob(out, writeIntset(v.m.members));
    } else {
      out.byte(RdbType.Set);
      saveLen(out, v.size);
      for (const m of v.m.pos.keys()) saveString(out, m);
    }
  } else if (v instanceof ZSetValue) {
    if (!v.skiplistEncoded) {
      out.byte(RdbType.ZsetListpack);
      const lp = new ListpackWriter();
      for (let x = v.sl.first; x !== null; x = x.next[0]!) {
        lp.str(x.member);
        lp.str(x.score === 0 ? '0' : formatG17(x.score));
      }
      saveBlob(out, lp.finish());
    } else {
      out.byte(RdbType.Zset2);
      saveLen(out, v.size);
      // rdbSaveObject walks the skip list from the tail.
      for (let x = v.sl.tail; x !== null; x = x.backward) {
        saveString(out, x.member);
        out.f64le(x.score);
      }
    }
  } else if (v instanceof StreamValue) {
    out.byte(RdbType.StreamListpacks2);
    saveStream(out, v);
  } else {
    throw new Error(`cannot serialize a ${(v as { type: string }).type} value`);
  }
}

/**
 * RDB_TYPE_LIST_QUICKLIST_2 (rdbSaveObject): the node count, then per node
 * its container (packed) and its listpack, a compressed node as its LZF
 * blob (rdbSaveLzfBlob), the others as raw strings (LZF'd by rdbcompression
 * when that saves bytes). The nodes: quicklist.ts.
 */
function saveList(out: ByteSink, l: ListValue): void {
  const { nodes } = quicklistNodes(l);
  saveLen(out, nodes.length);
  for (const node of nodes) {
    saveLen(out, QUICKLIST_NODE_CONTAINER_PACKED);
    if (node.lzf !== undefined) {
      out.byte(0xc3);
      saveLen(out, node.lzf.length);
      saveLen(out, node.lp.length);
      out.bytes(node.lzf);
    } else {
      saveBlob(out, node.lp);
    }
  }
}

/** DUMP's payload for a value: type, value, RDB version, CRC64. */
export function createDumpPayload(v: Value): Buffer {
  const out = new ByteSink(typeof v === 'string' ? v.length + 32 : 256);
  saveObject(out, v);
  return Buffer.from(dumpFooter(out));
}
