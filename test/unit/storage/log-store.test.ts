import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptDataError, DataDirLockedError } from '../../../src/storage/errors.js';
import { LogStore, type StoredEntry } from '../../../src/storage/log-store.js';

const dirs: string[] = [];
const stores: LogStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-logstore-'));
  dirs.push(d);
  return d;
}

async function open(dir: string): Promise<LogStore> {
  const s = await LogStore.open(dir);
  stores.push(s);
  return s;
}

async function all(s: LogStore): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  for await (const e of s.entries()) out.push({ ...e, data: Buffer.from(e.data) });
  return out;
}

const entry = (index: number, term: number, data: string): StoredEntry => ({ index, term, type: 0, data: Buffer.from(data) });

describe('LogStore', () => {
  it('persists entries and hard state across reopen, in index order', async () => {
    const dir = tmp();
    const s = await open(dir);
    expect(await s.hardState()).toEqual({ term: 0, vote: 0, commit: 0 });
    // Written out of order on purpose: big-endian keys keep LevelDB order = log order.
    await s.write([entry(256, 2, 'c'), entry(1, 1, 'a'), entry(2, 1, 'b')].sort((a, b) => b.index - a.index).slice(1), { term: 2, vote: 3, commit: 2 });
    await s.write(Array.from({ length: 253 }, (_, i) => entry(i + 3, 2, `x${i}`)));
    await s.write([entry(256, 2, 'c')]);
    expect(await s.lastIndex()).toBe(256);
    await s.close();
    stores.pop();
    const s2 = await open(dir);
    expect(await s2.hardState()).toEqual({ term: 2, vote: 3, commit: 2 });
    const es = await all(s2);
    expect(es.map((e) => e.index)).toEqual(Array.from({ length: 256 }, (_, i) => i + 1));
    expect(es[0]!.data.toString()).toBe('a');
    expect(es[255]!.data.toString()).toBe('c');
  });

  it('truncates a conflicting suffix', async () => {
    const s = await open(tmp());
    await s.write([entry(1, 1, 'a'), entry(2, 1, 'b'), entry(3, 1, 'c')]);
    await s.write([entry(2, 2, 'B')], undefined, 2);
    expect((await all(s)).map((e) => `${e.index}/${e.term}/${e.data}`)).toEqual(['1/1/a', '2/2/B']);
  });

  it('refuses a directory another process holds, and reports gaps and bad records as corruption', async () => {
    const dir = tmp();
    await open(dir);
    await expect(LogStore.open(dir)).rejects.toBeInstanceOf(DataDirLockedError);
    const s = await open(tmp());
    await s.write([entry(1, 1, 'a'), entry(3, 1, 'c')]);
    await expect(all(s)).rejects.toThrow(CorruptDataError);
  });
});
