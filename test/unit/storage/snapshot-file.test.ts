/** Snapshot files: round trip, and every kind of damage is detected and named. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SnapshotWriter,
  listSnapshotFiles,
  verifySnapshotFile,
  type SnapshotMeta,
} from '../../../src/storage/snapshot-file.js';
import type { Value } from '../../../src/keyspace/keyspace.js';
import { readSnapshotFile, writeRecord } from '../../../src/keyspace/snapshot-records.js';
import { fromItems } from '../../../src/keyspace/types/index.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-snap-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const meta: SnapshotMeta = {
  index: 12345,
  term: 7,
  createdAt: 1_700_000_000_123,
  confState: { voters: [1, 2, 3], learners: [4] },
  members: [
    { id: 1, host: '127.0.0.1', port: 7001, clusterPort: 17001 },
    { id: 4, host: 'node-four.example', port: 6379, clusterPort: 16379 },
  ],
};

async function write(records: [string, string, number | undefined][], m = meta): Promise<string> {
  const w = await SnapshotWriter.create(dir, m);
  for (const [k, v, at] of records) {
    writeRecord(w, k, v, at);
    if (w.buffered > 100) await w.flush();
  }
  await w.finish();
  return w.file;
}

function readAll(file: string): { meta: SnapshotMeta; got: [string, Value, number | undefined][] } {
  const got: [string, Value, number | undefined][] = [];
  const r = readSnapshotFile(file, (k, v, at) => got.push([k, v, at]));
  return { meta: r.meta, got };
}

describe('snapshot file', () => {
  const records: [string, string, number | undefined][] = [
    ['a', '1', undefined],
    ['bin\x00\xff\r\n', 'v\x00\x80', 1_800_000_000_000],
    ['', '', undefined],
    ['big', 'x'.repeat(300_000), 5],
  ];

  it('round-trips records, TTLs and metadata, binary safe', async () => {
    const file = await write(records);
    expect(path.basename(file)).toBe('snap-0000000000003039-0000000000000007.rsnap');
    const { meta: m, got } = readAll(file);
    expect(m).toEqual(meta);
    expect(got).toEqual(records);
    expect(verifySnapshotFile(file)).toEqual(meta);
    expect(fs.readdirSync(path.dirname(file))).toEqual([path.basename(file)]);
  });

  it("keeps the state machine's own state (appState) in the header", async () => {
    const appState = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, ...Buffer.from('scripts')]);
    const file = await write(records, { ...meta, appState });
    const { meta: m, got } = readAll(file);
    expect(m.appState).toEqual(appState);
    expect({ ...m, appState: undefined }).toEqual({ ...meta, appState: undefined });
    expect(got).toEqual(records);
    expect(verifySnapshotFile(file).appState).toEqual(appState);
  });

  it('reads a version 1 file (no appState) as a snapshot without state machine state', async () => {
    const file = await write(records);
    // The same file as version 1 wrote it: version 1, no appState length, checksum recomputed.
    const v2 = fs.readFileSync(file);
    const at = v2.indexOf(Buffer.from('node-four.example', 'latin1')) + 'node-four.example'.length;
    expect(v2.readUInt32LE(at)).toBe(0);
    const body = Buffer.concat([v2.subarray(0, at), v2.subarray(at + 4, v2.length - 4)]);
    body.writeUInt32LE(1, 'RAFTISNP'.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(zlib.crc32(body) >>> 0, 0);
    fs.writeFileSync(file, Buffer.concat([body, crc]));
    const { meta: m, got } = readAll(file);
    expect(m).toEqual(meta);
    expect(m.appState).toBeUndefined();
    expect(got).toEqual(records);
  });

  it('lists files newest first', async () => {
    await write(records, { ...meta, index: 5 });
    await write(records, { ...meta, index: 500 });
    await write(records, { ...meta, index: 50 });
    expect(listSnapshotFiles(path.join(dir, 'snapshots')).map((f) => f.index)).toEqual([500, 50, 5]);
  });

  it('detects a flipped byte anywhere, naming the file', async () => {
    const file = await write(records);
    const good = fs.readFileSync(file);
    for (const pos of [0, 9, 20, 60, Math.floor(good.length / 2), good.length - 5, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[pos]! ^= 0x10;
      fs.writeFileSync(file, bad);
      expect(() => readAll(file), `byte ${pos}`).toThrow(file);
      expect(() => readAll(file), `byte ${pos}`).toThrow(/checksum|truncated/);
    }
  });

  it('detects truncation at any length', async () => {
    const file = await write(records);
    const good = fs.readFileSync(file);
    for (const len of [0, 3, 8, 30, good.length - 300_010, good.length - 1]) {
      fs.writeFileSync(file, good.subarray(0, len));
      expect(() => readAll(file), `length ${len}`).toThrow(/truncated|checksum/);
    }
  });

  it('refuses another format version with a clear message (checksum valid)', async () => {
    const file = await write(records);
    const b = fs.readFileSync(file);
    b.writeUInt32LE(99, 8);
    const zlib = await import('node:zlib');
    b.writeUInt32LE(zlib.crc32(b.subarray(0, b.length - 4)) >>> 0, b.length - 4);
    fs.writeFileSync(file, b);
    expect(() => readAll(file)).toThrow(/format version 99/);
  });

  it('keeps each key with its database; keys written without one (the format before databases) are db 0', async () => {
    const w = await SnapshotWriter.create(dir, meta);
    writeRecord(w, 'k', 'zero', undefined);
    writeRecord(w, 'k', 'three', 1_800_000_000_000, 3);
    writeRecord(w, 'k', 'max', undefined, 2147483647);
    writeRecord(w, 'l', fromItems('list', ['a', 'b']), 5, 1);
    writeRecord(w, 'z', 'again-zero', undefined, 0);
    await w.finish();
    const got: [string, Value, number | undefined, number][] = [];
    const r = readSnapshotFile(w.file, (k, v, at, db) => got.push([k, v, at, db]));
    expect(r.records).toBe(5);
    expect(got.map(([k, v, at, db]) => [k, typeof v === 'string' ? v : [...v.items()], at, db])).toEqual([
      ['k', 'zero', undefined, 0],
      ['k', 'three', 1_800_000_000_000, 3],
      ['k', 'max', undefined, 2147483647],
      ['l', ['a', 'b'], 5, 1],
      ['z', 'again-zero', undefined, 0],
    ]);
    // A db 0 record is the same bytes as before databases existed: the file of the first test reads as db 0.
    const plain = await write(records, { ...meta, index: 1 });
    const dbsSeen = new Set<number>();
    readSnapshotFile(plain, (_k, _v, _at, db) => dbsSeen.add(db));
    expect([...dbsSeen]).toEqual([0]);
  });

  it('an aborted writer leaves nothing behind', async () => {
    const w = await SnapshotWriter.create(dir, meta);
    writeRecord(w, 'a', 'b', undefined);
    await w.flush();
    await w.abort();
    expect(fs.readdirSync(path.join(dir, 'snapshots'))).toEqual([]);
  });
});
