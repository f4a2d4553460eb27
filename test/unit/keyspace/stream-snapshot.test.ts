/**
 * Streams in snapshots: a stream with several nodes, tombstones, groups,
 * PELs and consumers survives a snapshot file round trip exactly (every
 * reply the same, node layout included, so later `~` trims and XADDs behave
 * the same on the restored copy), a copy-on-write epoch emits the stream as
 * it was when the snapshot began, and clones share nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromItems } from '../../../src/keyspace/types/index.js';
import type { Value } from '../../../src/keyspace/keyspace.js';
import { readSnapshotFile, writeRecord } from '../../../src/keyspace/snapshot-records.js';
import { StreamValue } from '../../../src/keyspace/types/stream.js';
import { SnapshotWriter } from '../../../src/storage/snapshot-file.js';
import { Engine } from '../../helpers/engine.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-stream-snap-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const META = { index: 10, term: 1, createdAt: 1, confState: { voters: [1], learners: [] }, members: [] };
const NOW = 1_700_000_000_000;

/** An engine at a fixed time holding a stream with everything a stream can hold. */
function populated(): Engine {
  const e = new Engine({ clock: () => NOW });
  for (let i = 1; i <= 450; i++) e.call('XADD', 's', `${i}-${i % 3}`, i % 5 === 0 ? 'other' : 'f', 'v'.repeat(i % 50), 'n', String(i));
  e.call('XDEL', 's', '7-1', '8-2', '300-0', '450-0');
  e.call('XTRIM', 's', 'MAXLEN', '400');
  e.call('XGROUP', 'CREATE', 's', 'g1', '0');
  e.call('XGROUP', 'CREATE', 's', 'g2', '200', 'ENTRIESREAD', '150');
  e.call('XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', '30', 'STREAMS', 's', '>');
  e.call('XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', '20', 'STREAMS', 's', '>');
  e.call('XREADGROUP', 'GROUP', 'g2', 'carol', 'NOACK', 'COUNT', '5', 'STREAMS', 's', '>');
  e.call('XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', '3', 'STREAMS', 's', '0');
  e.call('XACK', 's', 'g1', '60-0', '61-1', '62-2');
  e.call('XCLAIM', 's', 'g1', 'dave', '0', '70-1', '71-2', 'RETRYCOUNT', '9007199254740993', 'TIME', String(NOW - 5000));
  e.call('XGROUP', 'CREATECONSUMER', 's', 'g2', 'erin');
  e.call('XSETID', 's', '18446744073709551615-5', 'ENTRIESADDED', '9223372036854775000', 'MAXDELETEDID', '451-0');
  e.call('XADD', 'small', '1-1', 'a', 'b');
  e.call('SET', 'str', 'x');
  return e;
}

const PROBES: string[][] = [
  ['XINFO', 'STREAM', 's', 'FULL', 'COUNT', '0'],
  ['XINFO', 'STREAM', 's'],
  ['XINFO', 'GROUPS', 's'],
  ['XINFO', 'CONSUMERS', 's', 'g1'],
  ['XINFO', 'CONSUMERS', 's', 'g2'],
  ['XPENDING', 's', 'g1'],
  ['XPENDING', 's', 'g1', '-', '+', '1000'],
  ['XRANGE', 's', '-', '+'],
  ['XREVRANGE', 's', '+', '-', 'COUNT', '7'],
  ['XINFO', 'STREAM', 'small', 'FULL'],
  ['MEMORY', 'USAGE', 's'],
];

async function roundTrip(e: Engine): Promise<Engine> {
  const w = await SnapshotWriter.create(dir, META);
  for (const k of e.db.keys()) writeRecord(w, k, e.db.get(k, NOW)!, e.db.expireAt(k));
  await w.finish();
  const back = new Engine({ clock: () => NOW });
  const { records } = readSnapshotFile(w.file, (k, v, at) => back.db.load(k, v, at));
  expect(records).toBe(3);
  return back;
}

describe('streams in snapshots', () => {
  it('round-trip exactly: entries, tombstones, node layout, groups, PELs, consumers, counters', async () => {
    const e = populated();
    const back = await roundTrip(e);
    for (const p of PROBES) expect(back.call(...p), p.join(' ')).toBe(e.call(...p));
    // The same later commands do the same on both: node boundaries came back as they were.
    const later: string[][] = [
      ['XTRIM', 's', 'MAXLEN', '~', '250'],
      ['XDEL', 's', '402-0'],
      ['XAUTOCLAIM', 's', 'g1', 'zed', '0', '0', 'COUNT', '25'],
      ['XREADGROUP', 'GROUP', 'g2', 'carol', 'STREAMS', 's', '>'],
      ['XGROUP', 'DELCONSUMER', 's', 'g1', 'bob'],
      ['XINFO', 'STREAM', 's', 'FULL', 'COUNT', '0'],
      ['XADD', 'small', 'MAXLEN', '~', '0', '2-1', 'c', 'd'],
      ['XINFO', 'STREAM', 'small'],
    ];
    for (const c of later) expect(back.call(...c), c.join(' ')).toBe(e.call(...c));
  });

  it('a snapshot epoch emits the stream as it was when it began, however it changes meanwhile', async () => {
    const e = populated();
    const before = PROBES.map((p) => e.call(...p));
    const epoch = e.db.beginSnapshot(10);
    const w = await SnapshotWriter.create(dir, META);
    epoch.sink = (k: string, v: Value, at: number | undefined) => writeRecord(w, k, v, at);
    // Changes before the walk reaches the keys: in place, through getMutable.
    e.call('XADD', 's', 'MAXLEN', '~', '100', '18446744073709551615-6', 'late', 'entry');
    e.call('XACK', 's', 'g1', '100-1');
    e.call('XGROUP', 'DESTROY', 's', 'g2');
    e.call('DEL', 'small');
    while (!epoch.step(1, (k, v, at) => writeRecord(w, k, v, at)));
    e.db.endSnapshot(epoch);
    await w.finish();
    const back = new Engine({ clock: () => NOW });
    readSnapshotFile(w.file, (k, v, at) => back.db.load(k, v, at));
    expect(PROBES.map((p) => back.call(...p))).toEqual(before);
  });

  it('clones share nothing with the original', () => {
    const e = populated();
    const s = e.db.get('s', NOW) as StreamValue;
    const before = PROBES.slice(0, 8).map((p) => e.call(...p));
    const c = s.clone();
    e.db.set('copy', c);
    e.call('XADD', 'copy', '18446744073709551615-9', 'x', 'y');
    e.call('XTRIM', 'copy', 'MAXLEN', '3');
    e.call('XACK', 'copy', 'g1', '70-1');
    e.call('XGROUP', 'DESTROY', 'copy', 'g1');
    expect(PROBES.slice(0, 8).map((p) => e.call(...p))).toEqual(before);
  });

  it('refuses malformed stream items', () => {
    const s = new StreamValue();
    s.append('\0'.repeat(15) + '\x01', ['a', 'b']);
    const items = [...s.items()];
    const bad = items.slice();
    bad[5] = '2';
    expect(() => fromItems('stream', bad)).toThrow(/holds 1/);
    expect(() => fromItems('stream', items.slice(0, -1))).toThrow(/end early/);
    expect(() => fromItems('stream', ['bogus'])).toThrow(/magic/);
    expect((fromItems('stream', items) as StreamValue).length).toBe(1);
  });
});
