/**
 * The layering of src/, from the import graph: every import (`import type`
 * and re-exports included) goes to the same layer or one below it.
 *
 *   util → raft → storage / transport → keyspace → node → server → commands → cli
 *
 * storage and transport are one floor: neither may import the other. The
 * graph is read with TypeScript's own scanner (ts.preProcessFile), so
 * every form of import counts, dynamic import() included.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../../src');

/** Each layer's floor; a module may import from its own floor or any lower one. */
const FLOOR: Record<string, number> = { util: 0, raft: 1, storage: 2, transport: 2, keyspace: 3, node: 4, server: 5, commands: 6, cli: 7 };

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const layerOf = (file: string): string => path.relative(SRC, file).split(path.sep)[0]!;

interface Edge {
  from: string;
  to: string;
}

function importGraph(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), ref.fileName).replace(/\.js$/, '.ts');
      edges.push({ from: path.relative(SRC, file), to: path.relative(SRC, target) });
    }
  }
  return edges;
}

/** Why an edge breaks the layering, or undefined when it does not. */
function violation(e: Edge): string | undefined {
  const from = e.from.split(path.sep)[0]!;
  const to = e.to.split(path.sep)[0]!;
  const f = FLOOR[from];
  const t = FLOOR[to];
  if (f === undefined) return `${e.from} is in ${from}/, which is not a known layer`;
  if (t === undefined) return `${e.from} imports ${e.to}, outside every known layer`;
  if (t > f) return `${e.from} (${from}) imports ${e.to} (${to}): up a layer`;
  if (t === f && from !== to) return `${e.from} (${from}) imports ${e.to} (${to}): across a floor`;
  return undefined;
}

describe('layers', () => {
  const edges = importGraph();

  it('reads a real import graph', () => {
    // Every layer exists and has modules; the graph has the edges the layering is about.
    const layers = new Set(sourceFiles(SRC).map(layerOf));
    expect([...layers].sort()).toEqual(Object.keys(FLOOR).sort());
    expect(edges.some((e) => e.from.startsWith('commands') && e.to.startsWith('node'))).toBe(true);
    expect(edges.some((e) => e.from.startsWith('node') && e.to.startsWith('raft'))).toBe(true);
  });

  it('has no import that runs up a layer or across a floor', () => {
    expect(edges.map(violation).filter((v) => v !== undefined)).toEqual([]);
  });

  it('flags an upward import, a cross-floor import and a type-only one', () => {
    expect(violation({ from: 'node/node.ts', to: 'commands/table.ts' })).toMatch(/up a layer/);
    expect(violation({ from: 'storage/snapshot-file.ts', to: 'transport/frame.ts' })).toMatch(/across a floor/);
    const info = ts.preProcessFile("import type { X } from '../commands/table.js';\nexport * from './y.js';", true, true);
    expect(info.importedFiles.map((f) => f.fileName)).toEqual(['../commands/table.js', './y.js']);
    expect(violation({ from: 'commands/keys.ts', to: 'raft/log.ts' })).toBeUndefined();
  });
});
