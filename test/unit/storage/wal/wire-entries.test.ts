/**
 * Wire entries records (docs/log-format.md, type 6): a follower writes the
 * entries of a received append as the bytes they came in. Which writes use
 * them (whole received runs only), what they read back as, a log mixing
 * them with entries records, a torn tail of several of them, damage inside
 * one (refused with file and offset), and the follower's path through the
 * Raft core: the core's Ready hands the very entries the transport decoded.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EntryType, MessageType, RawNode, newMessage, type Entry, type Ready } from '../../../../src/raft/index.js';
import { CorruptDataError } from '../../../../src/storage/errors.js';
import type { StoredEntry } from '../../../../src/storage/log-backend.js';
import { RaftStorage } from '../../../../src/storage/raft-storage.js';
import { HARD_STATE_RECORD, RECORD_HEADER, crc32 } from '../../../../src/storage/wal/record.js';
import { SEGMENT_HEADER } from '../../../../src/storage/wal/segment.js';
import { WalLog } from '../../../../src/storage/wal/wal-log.js';
import { decodeBatch } from '../../../../src/transport/codec.js';
import { FRAME_HEADER_BYTES, encodeRaftBatch } from '../../../../src/transport/frame.js';
import { RUNS } from '../../../../src/util/wire-entries.js';
import { all, cleanupAfterEach, close, open, range, recordTypes, reopen, segments, show, shown, tmp, wire, wireRange } from './helpers.js';

cleanupAfterEach();

const SMALL = { segmentSize: 4096 };
const ENTRIES = 1;
const WIRE = 6;

/** Where the next write of the log goes (end of its records). */
function usedBytes(s: WalLog): number {
  const segs = (s.log as unknown as { segs: { end: number }[] }).segs;
  return segs[segs.length - 1]!.end;
}

/** The types of the records after the two state records of the log's only segment. */
const written = (dir: string): number[] => recordTypes(segments(dir)[0]!).slice(2);

describe('wire entries records: which writes use them', () => {
  it('whole received runs, one record each; anything else is encoded', async () => {
    const dir = tmp();
    const s = await open(dir);
    // Two appends stepped before one write: two records in one write.
    await s.write([...wireRange(1, 3, 1), ...wireRange(4, 7, 1)], { term: 1, vote: 1, commit: 2 });
    expect(written(dir)).toEqual([WIRE, WIRE, 2]);
    // The core kept only a suffix of an append (its first entries were present): encoded.
    await s.write(wireRange(6, 10, 1).slice(2), undefined);
    // A prefix of one, then a run followed by entries the leader made: encoded.
    await s.write(wireRange(11, 14, 1).slice(0, 2));
    await s.write([...wireRange(13, 14, 1), ...range(15, 15, 1)]);
    expect(written(dir)).toEqual([WIRE, WIRE, 2, ENTRIES, ENTRIES, ENTRIES]);
    // A run whose entries were replaced by other objects in the middle (same index and term): encoded.
    const run = wireRange(16, 18, 1);
    await s.write([run[0]!, { ...run[1]! }, run[2]!]);
    expect(written(dir).at(-1)).toBe(ENTRIES);
    const want = range(1, 18, 1);
    for (const log of [s, await reopen(s)]) {
      expect(show(await all(log))).toEqual(show(want));
      for (let i = 1; i <= 18; i++) expect(shown(log.entrySync(i))).toBe(shown(want[i - 1]));
    }
  });

  it(`a run noted more than ${RUNS} appends before its write is encoded; a run is used once; older runs no write took are dropped`, async () => {
    const dir = tmp();
    const s = await open(dir);
    const early = wireRange(1, 2, 1);
    for (let i = 0; i < RUNS; i++) wireRange(100, 100, 1);
    await s.write(early);
    const again = wireRange(3, 4, 1);
    await s.write(again);
    // The same entries written again (replacing themselves): the run was taken by the first write.
    await s.write(again);
    expect(written(dir)).toEqual([ENTRIES, WIRE, 5, ENTRIES]);
    // An append no write took (its entries were present) is dropped when a later one is taken.
    const unused = wireRange(5, 6, 1);
    await s.write(wireRange(5, 6, 1));
    await s.write(unused);
    expect(written(dir).slice(4)).toEqual([WIRE, 5, ENTRIES]);
    expect(show(await all(await reopen(s)))).toEqual(show(range(1, 6, 1)));
  });

  it('entries of every size and type, numbers up to 2^53 - 1, read back exactly', async () => {
    const dir = tmp();
    const s = await open(dir);
    const big = Number.MAX_SAFE_INTEGER - 10;
    await s.replaceWithSnapshot(big, 2 ** 40, { term: 2 ** 40, vote: 0, commit: big });
    const es: StoredEntry[] = [0, 1, 127, 128, 300, 16383, 16384, 70000].map((n, i) => ({
      index: big + 1 + i,
      term: i < 4 ? 2 ** 40 : Number.MAX_SAFE_INTEGER,
      type: i % 2 === 0 ? EntryType.Normal : EntryType.ConfChange,
      data: Buffer.alloc(n, i + 1),
    }));
    await s.write(wire(es));
    for (const log of [s, await reopen(s)]) {
      const got = await all(log);
      expect(got.map((e) => [e.index, e.term, e.type, e.data.length])).toEqual(es.map((e) => [e.index, e.term, e.type, e.data.length]));
      expect(got.every((e, i) => e.data.equals(es[i]!.data))).toBe(true);
      expect(log.entrySync(big + 5)!.data.equals(es[4]!.data)).toBe(true);
    }
  });
});

describe('wire entries records in a log', () => {
  it('a log of entries records (as raftis wrote it before) goes on with wire entries; truncation and compaction inside them', async () => {
    const dir = tmp();
    const s = await open(dir, SMALL);
    await s.write(range(1, 10, 1));
    await s.write(wireRange(11, 20, 1));
    await s.write(range(21, 25, 1));
    await s.write(wireRange(26, 30, 1));
    // A new leader replaces 15.. (inside a wire record) with its own run.
    await s.write(wireRange(15, 17, 2), undefined, 15);
    expect(await s.lastIndex()).toBe(17);
    let want = [...range(1, 14, 1), ...range(15, 17, 2)];
    expect(show(await all(s))).toEqual(show(want));
    // Compaction inside a wire record.
    await s.compact(12, 1);
    want = want.slice(12);
    const s2 = await reopen(s, SMALL);
    expect(await s2.compacted()).toEqual({ index: 12, term: 1 });
    expect(show(await all(s2))).toEqual(show(want));
    expect(s2.entrySync(12)).toBeUndefined();
    expect(shown(s2.entrySync(13))).toBe(shown(want[0]));
    expect(shown(s2.entrySync(16))).toBe('16/2/0/d16');
    // Many writes across segments, then a snapshot.
    for (let i = 0; i < 40; i++) await s2.write(wireRange(18 + i * 10, 27 + i * 10, 2, 20));
    expect(segments(dir).length).toBeGreaterThan(2);
    const s3 = await reopen(s2, SMALL);
    expect(await s3.lastIndex()).toBe(417);
    expect(shown(s3.entrySync(300))).toBe(shown(range(300, 300, 2, 20)[0]));
    await s3.replaceWithSnapshot(500, 3, { term: 3, vote: 1, commit: 500 });
    await s3.write(wireRange(501, 502, 3));
    expect(show(await all(await reopen(s3, SMALL)))).toEqual(show(range(501, 502, 3)));
  });
});

describe('wire entries records: recovery', () => {
  it('a last write of two wire records and a hard state, cut at every byte offset, keeps a prefix of whole records', async () => {
    const base = tmp();
    const s = await open(base, SMALL);
    await s.write(wireRange(1, 3, 1), { term: 1, vote: 1, commit: 1 });
    const start = usedBytes(s);
    const first = wireRange(4, 5, 2, 30);
    await s.write([...first, ...wireRange(6, 8, 2, 10)], { term: 2, vote: 1, commit: 3 });
    const end = usedBytes(s);
    await close(s);
    expect(written(base)).toEqual([WIRE, 2, WIRE, WIRE, 2]);
    const firstEnd = start + RECORD_HEADER + 12 + first.reduce((n, e) => n + 4 + e.data.length, 0);
    const entriesEnd = end - HARD_STATE_RECORD;
    for (let cut = start; cut <= end; cut++) {
      const dir = tmp();
      fs.cpSync(base, dir, { recursive: true });
      fs.truncateSync(segments(dir)[0]!, cut);
      const log = await open(dir, SMALL);
      const last = cut >= entriesEnd ? 8 : cut >= firstEnd ? 5 : 3;
      expect(await log.lastIndex(), `cut at ${cut}`).toBe(last);
      expect(await log.hardState()).toEqual(cut === end ? { term: 2, vote: 1, commit: 3 } : { term: 1, vote: 1, commit: 1 });
      const want = [...range(1, 3, 1), ...range(4, 5, 2, 30), ...range(6, 8, 2, 10)].slice(0, last);
      expect(show(await all(log))).toEqual(show(want));
      await log.write(wireRange(last + 1, last + 1, 3));
      const again = await reopen(log, SMALL);
      expect(show(await all(again))).toEqual(show([...want, ...range(last + 1, last + 1, 3)]));
      await close(again);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A log whose second write is wire record [at, at + len); `damage` changes its payload, the checksum is made right again. */
  async function damagedWire(damage: (b: Buffer, payload: number) => void): Promise<{ dir: string; file: string; at: number }> {
    const dir = tmp();
    const s = await open(dir);
    await s.write(wireRange(1, 2, 1));
    const at = usedBytes(s);
    await s.write(wireRange(3, 5, 1, 3));
    await s.write(wireRange(6, 6, 1));
    await close(s);
    const file = segments(dir)[0]!;
    const b = fs.readFileSync(file);
    const len = b.readUInt32LE(at + 4);
    damage(b, at + RECORD_HEADER);
    b.writeUInt32LE(crc32(b, at + 4, at + 8 + len), at);
    fs.writeFileSync(file, b);
    return { dir, file, at };
  }

  for (const [what, damage] of [
    // Entry 4's index byte (entry 3 is type, index, term, length and 5 bytes of data: "d3xxx").
    ['an entry at the wrong index', (b: Buffer, p: number) => (b[p + 12 + 9 + 1] = 9)],
    ['a count above its entries', (b: Buffer, p: number) => b.writeUInt32LE(4, p + 8)],
    ['a data length past the record', (b: Buffer, p: number) => (b[p + 12 + 3] = 100)],
    ['a varint that does not end', (b: Buffer, p: number) => (b[p + 12 + 1] = 0x83)],
  ] as const) {
    it(`a checksummed wire record holding ${what} is refused naming file and offset`, async () => {
      const { dir, file, at } = await damagedWire(damage);
      // The count says where the record's entries end: one that does not match shows at open
      // (the next record does not continue them) or when the record is read.
      const opened = await WalLog.open(dir).catch((x: Error) => x);
      if (opened instanceof Error) {
        expect(what).toBe('a count above its entries');
        expect(opened).toBeInstanceOf(CorruptDataError);
        expect(opened.message).toMatch(new RegExp(`raft log segment ${file} is damaged at offset \\d+: entries from 6 do not continue the log`));
        return;
      }
      // Entries are checked where they are read: RaftStorage reads the whole log at open.
      const e = await all(opened).catch((x: Error) => x);
      expect(e).toBeInstanceOf(CorruptDataError);
      expect((e as Error).message).toContain(`raft log segment ${file} is damaged at offset ${at}: an entries record does not decode`);
      expect(() => opened.entrySync(4)).toThrow(`is damaged at offset ${at}`);
      expect(opened.entrySync(6)?.data.toString()).toBe('d6');
      await opened.close();
      await expect(RaftStorage.open(dir)).rejects.toThrow(`is damaged at offset ${at}`);
    });
  }

  it('a wire record too short for its header is refused at open', async () => {
    const { dir, file, at } = await damagedWire(() => {});
    const b = fs.readFileSync(file);
    // The record becomes 1 + 4 payload bytes long, its checksum right; zeros follow.
    b.writeUInt32LE(5, at + 4);
    b.fill(0, at + 13, at + 200);
    b.writeUInt32LE(crc32(b, at + 4, at + 13), at);
    fs.writeFileSync(file, b);
    await expect(WalLog.open(dir)).rejects.toThrow(`${file} is damaged at offset ${at}: an entries record has 4 payload bytes`);
  });
});

describe("the follower's path: RawNode, RaftStorage, the log", () => {
  const conf = { voters: [1, 2, 3], learners: [] };
  const ents = (lo: number, hi: number, term: number): Entry[] =>
    Array.from({ length: hi - lo + 1 }, (_, i) => ({ index: lo + i, term, type: EntryType.Normal, data: Buffer.from(`e${lo + i}t${term}`) }));

  /** An append from leader 1 as the follower's transport hands it over (decoded from a RaftBatch frame's body). */
  function append(term: number, index: number, logTerm: number, entries: Entry[], commit: number) {
    const frame = encodeRaftBatch([newMessage({ type: MessageType.App, from: 1, to: 2, term, logTerm, index, entries, commit })]);
    return decodeBatch(Buffer.from(frame.subarray(FRAME_HEADER_BYTES)))[0]!;
  }

  const applied: string[] = [];
  async function handle(node: RawNode, s: RaftStorage): Promise<Ready> {
    const rd = node.ready();
    await s.persistReady(rd);
    for (const e of rd.committedEntries) applied.push(e.data.toString());
    node.advance(rd);
    return rd;
  }

  it("writes what the core appends: whole appends as wire records, a part as an entries record, a conflict's truncation; applies the leader's data", async () => {
    const dir = tmp();
    let s = await RaftStorage.open(dir);
    await s.persistReady({ entries: ents(1, 3, 1), hardState: { term: 1, vote: 1, commit: 3 }, committedEntries: [], messages: [], persistedMessages: [], readStates: [], mustSync: true } as unknown as Ready);
    await s.restoredFrom({ index: 3, term: 1, confState: conf });
    const node = new RawNode({ id: 2, storage: s, electionTick: 10, heartbeatTick: 1, applied: 3 });

    const m1 = append(1, 3, 1, ents(4, 8, 1), 5);
    node.step(m1);
    let rd = await handle(node, s);
    // The Ready hands the decoded entries themselves to the write.
    expect(rd.entries).toEqual(m1.entries);
    expect(rd.entries.every((e, i) => e === m1.entries[i])).toBe(true);
    expect(written(dir).slice(-2)).toEqual([WIRE, 2]);
    expect(applied).toEqual(['e4t1', 'e5t1']);

    // The leader sends again from 5 (6..8 present): the core appends only 9..10, encoded.
    node.step(append(1, 5, 1, ents(6, 10, 1), 8));
    rd = await handle(node, s);
    expect(rd.entries.map((e) => e.index)).toEqual([9, 10]);
    expect(written(dir).slice(-2)).toEqual([ENTRIES, 2]);

    // A new leader (term 2) whose log differs from 9: a truncation, then its append as it came.
    node.step(append(2, 8, 1, ents(9, 11, 2), 8));
    rd = await handle(node, s);
    expect(written(dir).slice(-3)).toEqual([5, WIRE, 2]);

    // Two appends stepped before one Ready: one write of two wire records.
    node.step(append(2, 11, 2, ents(12, 13, 2), 13));
    node.step(append(2, 13, 2, ents(14, 14, 2), 13));
    rd = await handle(node, s);
    expect(rd.entries.map((e) => e.index)).toEqual([12, 13, 14]);
    expect(written(dir).slice(-3)).toEqual([WIRE, WIRE, 2]);
    expect(applied).toEqual(['e4t1', 'e5t1', 'e6t1', 'e7t1', 'e8t1', 'e9t2', 'e10t2', 'e11t2', 'e12t2', 'e13t2']);

    const want = [...ents(1, 8, 1), ...ents(9, 14, 2)];
    expect(show(s.entries(4, 15))).toEqual(show(want.slice(3)));
    await s.close();
    s = await RaftStorage.open(dir);
    try {
      expect(s.lastIndex()).toBe(14);
      expect(show(s.entries(1, 15))).toEqual(show(want));
    } finally {
      await s.close();
    }
  });
});
