/**
 * A list's quicklist shape (the fill and compress depth it was created
 * with, the end it grew from: what DUMP and MEMORY USAGE split it by)
 * survives a snapshot file round trip, whatever the configuration is when
 * the file is read; a default-shaped list adds nothing to the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Value } from '../../../src/keyspace/keyspace.js';
import { readSnapshotFile, writeRecord } from '../../../src/keyspace/snapshot-records.js';
import { encodingLimits } from '../../../src/keyspace/types/encodings.js';
import { Grown, ListValue } from '../../../src/keyspace/types/list.js';
import { createDumpPayload } from '../../../src/keyspace/rdb/encode.js';
import { memoryUsage } from '../../../src/keyspace/memory-usage.js';
import { SnapshotWriter } from '../../../src/storage/snapshot-file.js';

let dir: string;
const saved = { ...encodingLimits };
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-list-shape-'));
});
afterEach(() => {
  Object.assign(encodingLimits, saved);
  fs.rmSync(dir, { recursive: true, force: true });
});

const META = { index: 10, term: 1, createdAt: 1, confState: { voters: [1], learners: [] }, members: [] };

function list(fill: number, compress: number, atHead: boolean): ListValue {
  encodingLimits.listFill = fill;
  encodingLimits.listCompress = compress;
  const l = new ListValue();
  for (let i = 0; i < 300; i++) {
    const s = `element-${i % 17}-${'x'.repeat(i % 60)}`;
    if (atHead) l.pushHead(s);
    else l.pushTail(s);
  }
  return l;
}

async function roundTrip(values: Map<string, Value>): Promise<{ loaded: Map<string, Value>; bytes: number }> {
  const w = await SnapshotWriter.create(fs.mkdtempSync(path.join(dir, 'snap-')), META);
  for (const [k, v] of values) writeRecord(w, k, v, undefined);
  const size = await w.finish();
  const file = w.file;
  // Read under another configuration: the shapes come from the file.
  encodingLimits.listFill = 7;
  encodingLimits.listCompress = 4;
  const loaded = new Map<string, Value>();
  readSnapshotFile(file, (k, v) => loaded.set(k, v));
  return { loaded, bytes: size };
}

describe('list shape in snapshots', () => {
  it('keeps fill, compress depth and growth: the same DUMP bytes and MEMORY USAGE after loading', async () => {
    const values = new Map<string, Value>([
      ['tail-default', list(-2, 0, false)],
      ['head', list(-2, 0, true)],
      ['fill5-depth1', list(5, 1, false)],
      ['neg1-depth2-head', list(-1, 2, true)],
      ['clamped', list(-40, 70000, false)],
    ]);
    const mixed = list(3, 1, false);
    mixed.pushHead('front');
    values.set('mixed', mixed);
    expect((values.get('clamped') as ListValue).fill).toBe(-5);
    expect(mixed.grown).toBe(Grown.Mixed);
    const { loaded } = await roundTrip(values);
    for (const [k, v] of values) {
      const l = loaded.get(k) as ListValue;
      expect([l.fill, l.compress, l.grown], k).toEqual([(v as ListValue).fill, (v as ListValue).compress, (v as ListValue).grown]);
      expect(createDumpPayload(l).equals(createDumpPayload(v)), k).toBe(true);
      expect(memoryUsage(k, l, 0), k).toBe(memoryUsage(k, v, 0));
    }
  });

  it('writes nothing more for a default-shaped list', async () => {
    const plain = await roundTrip(new Map<string, Value>([['l', list(-2, 0, false)]]));
    const shaped = await roundTrip(new Map<string, Value>([['l', list(-2, 0, true)]]));
    expect(shaped.bytes - plain.bytes).toBe(9);
  });
});
