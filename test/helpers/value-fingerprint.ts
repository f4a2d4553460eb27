/**
 * Everything a client can read of a key's value, as plain data, so values
 * can be compared across redis-server and raftis (and across encodings
 * whose iteration order differs: hashes and sets are sorted). Time-dependent
 * stream fields (idle times) are left out.
 */
import { parseReply, type Reply } from './engine-diff.js';
import type { RawClient } from './raw-client.js';

export type V = string | null | V[];
export function plain(x: Reply): V {
  if ('items' in x) return x.items.map(plain);
  if (x.t === 'nil') return null;
  if (x.t === '-') throw new Error(`error reply: ${x.v}`);
  return x.v;
}
export async function q(c: RawClient, ...cmd: string[]): Promise<V> {
  return plain(parseReply(await c.call(...cmd))[0]);
}
export async function bulk(c: RawClient, ...cmd: string[]): Promise<string | null> {
  return (await q(c, ...cmd)) as string | null;
}
function pairs(v: V): string[] {
  const a = v as string[];
  const out: string[] = [];
  for (let i = 0; i < a.length; i += 2) out.push(JSON.stringify([a[i], a[i + 1]]));
  return out.sort();
}
function dropFields(v: V, names: string[]): V {
  const a = v as V[];
  const out: V[] = [];
  for (let i = 0; i < a.length; i += 2) if (!names.includes(a[i] as string)) out.push(a[i]!, a[i + 1]!);
  return out;
}

/** Everything a client can read of the key's value (time-dependent fields left out). */
export async function fingerprint(c: RawClient, key: string): Promise<unknown> {
  const type = await q(c, 'TYPE', key);
  const out: unknown[] = [type, await q(c, 'OBJECT', 'ENCODING', key)];
  switch (type) {
    case 'string':
      out.push(await q(c, 'GET', key));
      break;
    case 'list':
      out.push(await q(c, 'LRANGE', key, '0', '-1'));
      break;
    case 'hash':
      out.push(pairs(await q(c, 'HGETALL', key)));
      break;
    case 'set':
      out.push(((await q(c, 'SMEMBERS', key)) as string[]).sort());
      break;
    case 'zset':
      out.push(await q(c, 'ZRANGE', key, '0', '-1', 'WITHSCORES'));
      break;
    case 'stream': {
      out.push(await q(c, 'XRANGE', key, '-', '+'));
      out.push(dropFields(await q(c, 'XINFO', 'STREAM', key), ['radix-tree-keys', 'radix-tree-nodes']));
      const groups = (await q(c, 'XINFO', 'GROUPS', key)) as V[][];
      out.push(groups);
      for (const g of groups) {
        const name = g[1] as string;
        out.push(await q(c, 'XPENDING', key, name));
        out.push(((await q(c, 'XPENDING', key, name, '-', '+', '100')) as V[][]).map((e) => [e[0], e[1], e[3]]));
        out.push(((await q(c, 'XINFO', 'CONSUMERS', key, name)) as V[][]).map((e) => [e[1], e[3]]));
      }
      break;
    }
  }
  return out;
}
