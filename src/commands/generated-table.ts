/**
 * Loads the command metadata generated from redis-server 7
 * (scripts/gen-command-table.mjs → generated/redis-commands.json) and
 * replays COMMAND INFO / COMMAND DOCS entries from it in either protocol.
 */
import generatedJson from './generated/redis-commands.json' with { type: 'json' };
import extraJson from './extra-commands.json' with { type: 'json' };
import type { RespWriter } from '../server/resp-writer.js';
import type { CommandMeta, KeySpec } from './types.js';

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

// Deep-copied: the extras are spliced in below and the JSON modules stay pristine.
const generated = structuredClone(generatedJson) as unknown as Generated;
const extra = extraJson as unknown as {
  subcommands: Record<string, { info: Tree[]; docs: Tree }[]>;
  commands: Record<string, { info: Tree[]; docs: Tree }>;
};
for (const [name, cmd] of Object.entries(extra.commands)) generated.commands[name] = cmd;

// Splice the hand-written subcommands into their containers' INFO and DOCS.
for (const [container, subs] of Object.entries(extra.subcommands)) {
  const g = generated.commands[container];
  if (!g) throw new Error(`extra-commands.json: unknown container ${container}`);
  for (const sub of subs) {
    (g.info[9] as Tree[]).push(sub.info);
    const docs = g.docs as { map: [Tree, Tree][] };
    const entry = docs.map.find(([k]) => k === 'subcommands');
    (entry![1] as { map: [Tree, Tree][] }).map.push([sub.info[0]!, sub.docs]);
  }
}

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
  const flagSet = new Set(flags.set.map((f) => f.s));
  const keySpecs = parseKeySpecs(name, info[8]);
  return {
    name,
    arity,
    flags: flagSet,
    firstKey: first,
    lastKey: last,
    step,
    keySpecs,
    rangeKeys: !flagSet.has('movablekeys') && !keySpecs.some((s) => s.flags.includes('not_key')),
  };
}

/** COMMAND INFO's key specifications (element 8: a set of maps). */
function parseKeySpecs(command: string, tree: Tree | undefined): KeySpec[] {
  const list = tree === undefined ? [] : Array.isArray(tree) ? tree : (tree as { set: Tree[] }).set;
  return list.map((specTree) => {
    const spec = asMap(specTree);
    const begin = asMap(spec.get('begin_search')!);
    const find = asMap(spec.get('find_keys')!);
    const beginArgs = asMap(begin.get('spec')!);
    const findArgs = asMap(find.get('spec')!);
    const flags = (spec.get('flags') as { set: { s: string }[] }).set.map((f) => f.s);
    // A spec Redis cannot describe (SORT's STORE key): the command's own key function finds those keys.
    if (begin.get('type') === 'unknown' || find.get('type') === 'unknown') return { flags, index: 'unknown', find: { type: 'unknown' } };
    let keyword: KeySpec['keyword'];
    if (begin.get('type') === 'keyword') keyword = { keyword: beginArgs.get('keyword') as string, startFrom: beginArgs.get('startfrom') as number };
    else if (begin.get('type') !== 'index') throw new Error(`${command}: key spec begin_search ${String(begin.get('type'))} is not supported`);
    const index = keyword === undefined ? (beginArgs.get('index') as number) : 0;
    if (find.get('type') === 'range') {
      return { flags, index, ...(keyword && { keyword }), find: { type: 'range', lastKey: findArgs.get('lastkey') as number, keyStep: findArgs.get('keystep') as number, limit: findArgs.get('limit') as number } };
    }
    if (find.get('type') === 'keynum') {
      return { flags, index, ...(keyword && { keyword }), find: { type: 'keynum', keyNumIdx: findArgs.get('keynumidx') as number, firstKey: findArgs.get('firstkey') as number, keyStep: findArgs.get('keystep') as number } };
    }
    throw new Error(`${command}: key spec find_keys ${String(find.get('type'))} is not supported`);
  });
}

function asMap(t: Tree): Map<string, Tree> {
  return new Map((t as { map: [string, Tree][] }).map);
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
    // Redis sends the subcommand list as an array, or an empty set when there is none.
    const rawSubs = info[9];
    const subs = (Array.isArray(rawSubs) ? rawSubs : []) as Tree[][];
    for (const sub of subs) {
      const m = metaOf(sub);
      subcommands.set(m.name.slice(m.name.indexOf('|') + 1), { meta: m, info: sub });
    }
    out.set(name, { meta: metaOf(info), info, docs, subcommands });
  }
  return out;
}
