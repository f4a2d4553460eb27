/**
 * Numbered databases and snapshots: a snapshot taken while databases are
 * swapped, flushed, moved between and written to holds every database as
 * it was when the snapshot began, each key in its own database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Databases } from '../../../src/keyspace/databases.js';
import type { Value } from '../../../src/keyspace/keyspace.js';
import { readSnapshotFile } from '../../../src/keyspace/snapshot-records.js';
import { fromItems } from '../../../src/keyspace/types/index.js';
import { ListValue } from '../../../src/keyspace/types/list.js';
import { Snapshotter } from '../../../src/node/snapshotter.js';
import { createPrng } from '../../../src/util/prng.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-dbs-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every database's keys as plain data: `db key` → value and TTL. */
function stateOf(dbs: Databases): Map<string, string> {
  const out = new Map<string, string>();
  dbs.dbs.forEach((ks, i) => {
    for (const k of ks.keys()) out.set(`${i} ${k}`, show(ks.get(k, 0)!, ks.expireAt(k)));
  });
  return out;
}

function show(v: Value, at: number | undefined): string {
  return (typeof v === 'string' ? 's:' + v : v.type + ':' + [...v.items()].join(',')) + (at === undefined ? '' : `@${at}`);
}

describe('Databases', () => {
  it('SWAPDB exchanges contents; references to a database follow its number, not its data', () => {
    const dbs = new Databases(4);
    const zero = dbs.get(0);
    zero.set('a', 'in0');
    dbs.get(1).set('a', 'in1');
    dbs.get(1).setExpire('a', 99);
    dbs.swap(0, 1);
    expect(zero.get('a', 0)).toBe('in1');
    expect(zero.expireAt('a')).toBe(99);
    expect(dbs.get(1).get('a', 0)).toBe('in0');
    expect(dbs.get(1).expireAt('a')).toBeUndefined();
    dbs.swap(2, 2);
    expect(dbs.size).toBe(2);
    dbs.flush();
    expect(dbs.size).toBe(0);
  });

  it('a snapshot holds every database as of its start, whatever SWAPDB, FLUSHDB, MOVE and writes do during the walk', async () => {
    for (const seed of [1, 2, 3]) {
      const rnd = createPrng(seed);
      const pick = (n: number): number => Math.floor(rnd() * n);
      const dbs = new Databases(8);
      for (let i = 0; i < 6000; i++) {
        const ks = dbs.get(pick(8));
        const k = `k${pick(3000)}`;
        ks.set(k, rnd() < 0.3 ? fromItems('list', [`a${i}`, `b${i}`]) : `v${i}`);
        if (rnd() < 0.2) ks.setExpire(k, 1_000_000 + i);
      }
      const expected = stateOf(dbs);
      const snapshotter = new Snapshotter(dir, dbs);
      const done = snapshotter.start(10, 1, { voters: [1], learners: [] }, [], undefined);
      // Change everything while the walk goes on, a few operations per turn of the event loop.
      let running = true;
      void done.finally(() => (running = false));
      for (let turn = 0; running && turn < 5000; turn++) {
        for (let j = 0; j < 20; j++) {
          const a = pick(8);
          const ks = dbs.get(a);
          const k = `k${pick(3000)}`;
          const op = pick(7);
          if (op === 0) dbs.swap(a, pick(8));
          else if (op === 1 && rnd() < 0.05) ks.flush();
          else if (op === 2) {
            const v = ks.get(k, 0);
            const to = dbs.get(pick(8));
            if (v !== undefined && to !== ks && to.get(k, 0) === undefined) {
              to.set(k, v);
              ks.delete(k);
            }
          } else if (op === 3) {
            const v = ks.getMutable(k, 0);
            if (v instanceof ListValue) v.pushTail('x');
          } else if (op === 4) ks.delete(k);
          else if (op === 5) ks.setExpire(k, 5);
          else ks.set(k, `new${turn}`);
        }
        await new Promise((r) => setImmediate(r));
      }
      const meta = await done;
      expect(meta?.index).toBe(10);
      const loaded = new Databases(8);
      const file = path.join(dir, 'snapshots', fs.readdirSync(path.join(dir, 'snapshots')).find((f) => f.includes('000000000000000a'))!);
      readSnapshotFile(file, (k, v, at, db) => loaded.get(db).load(k, v, at));
      expect(stateOf(loaded)).toEqual(expected);
      fs.rmSync(path.join(dir, 'snapshots'), { recursive: true, force: true });
    }
  }, 60_000);
});
