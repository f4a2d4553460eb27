/**
 * Loads the command metadata generated from redis-server 7
 * (scripts/gen-command-table.mjs → generated/redis-commands.json) and
 * replays COMMAND INFO / COMMAND DOCS entries from it in either protocol.
 */
import { createRequire } from 'node:module';
import type { RespWriter } from '../server/resp-writer.js';
import type { CommandMeta } from './types.js';

/** A RESP3 reply tree as stored in the generated JSON. */
export type Tree =
  | number
  | string
  | null
  | Tree[]
  | { s: string }
  | { set: Tree[] }
  | { map: [Tree, Tree][] }
  | { d: string }
  | { b: boolean };

interface Generated {
  commands: Record<string, { info: Tree[]; docs: Tree }>;
}

const require = createRequire(import.meta.url);
const generated = require('./generated/redis-commands.json') as Generated;

export function writeTree(w: RespWriter, t: Tree): void {
  if (t === null) return w.nil();
  if (typeof t === 'number') return w.int(t);
  if (typeof t === 'string') return w.bulk(t);
  if (Array.isArray(t)) {
    w.arrayHeader(t.length);
    for (const x of t) writeTree(w, x);
    return;
  }
  if ('s' in t) return w.simple(t.s);
  if ('set' in t) {
    w.setHeader(t.set.length);
    for (const x of t.set) writeTree(w, x);
    return;
  }
  if ('map' in t) {
    w.mapHeader(t.map.length);
    for (const [k, v] of t.map) {
      writeTree(w, k);
      writeTree(w, v);
    }
    return;
  }
  if ('d' in t) return w.double(t.d);
  return w.bool(t.b);
}

function metaOf(info: Tree[]): CommandMeta {
  const [name, arity, flags, first, last, step] = info as [string, number, { set: { s: string }[] }, number, number, number];
  return {
    name,
    arity,
    flags: new Set(flags.set.map((f) => f.s)),
    firstKey: first,
    lastKey: last,
    step,
  };
}

export interface GeneratedCommand {
  meta: CommandMeta;
  info: Tree[];
  docs: Tree;
  subcommands: Map<string, { meta: CommandMeta; info: Tree[] }>;
}

export function loadGeneratedCommands(): Map<string, GeneratedCommand> {
  const out = new Map<string, GeneratedCommand>();
  for (const [name, { info, docs }] of Object.entries(generated.commands)) {
    const subcommands = new Map<string, { meta: CommandMeta; info: Tree[] }>();
    const subs = (info[9] ?? []) as Tree[][];
    for (const sub of subs) {
      const m = metaOf(sub);
      subcommands.set(m.name.slice(m.name.indexOf('|') + 1), { meta: m, info: sub });
    }
    out.set(name, { meta: metaOf(info), info, docs, subcommands });
  }
  return out;
}
