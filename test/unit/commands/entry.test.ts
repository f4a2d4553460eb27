import { describe, expect, it } from 'vitest';
import { BadEntryError, EntryKind, decodeStateEntry, encodePlainSet, encodeStateEntry, type StateEntry } from '../../../src/commands/engine/entry.js';
import { createPrng } from '../../../src/util/prng.js';
import { keyHash, lastKey } from '../../../src/util/key-hash.js';


function randomString(r: () => number, max: number): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(r() * 256));
  return s;
}

describe('state entry codec', () => {
  it("notes the last command's key (argv[1]) for the key table as the request parser does (issue 18, datamodel)", () => {
    for (const key of ['bench:hll', 'k', '', 'x'.repeat(64), 'y'.repeat(65), '\xff\x00\x80abc']) {
      lastKey.key = undefined;
      const e: StateEntry = { kind: EntryKind.Commands, time: 1700000000000, multi: false, cmds: [['PFADD', key, 'element:000000012345']] };
      const d = decodeStateEntry(encodeStateEntry(e));
      expect(d).toEqual(e);
      if (key.length > 64) {
        expect(lastKey.key).toBeUndefined();
      } else {
        expect(lastKey.key).toBe(key);
        expect([lastKey.len, lastKey.hash]).toEqual([key.length, keyHash(key)]);
      }
    }
  });

  it('round-trips commands, MULTI, expire and eviction entries with binary arguments', () => {
    const r = createPrng(7);
    for (let i = 0; i < 500; i++) {
      const e: StateEntry =
        i % 5 === 0
          ? { kind: EntryKind.ExpireKeys, time: 1700000000000 + i, keys: Array.from({ length: Math.floor(r() * 5) }, () => randomString(r, 40)) }
          : i % 5 === 1
            ? { kind: EntryKind.EvictKeys, time: 1700000000000 + i, keys: Array.from({ length: Math.floor(r() * 5) }, () => randomString(r, 40)) }
            : {
              kind: EntryKind.Commands,
              time: 1700000000000 + i * 0.5,
              multi: i % 3 === 0,
              cmds: Array.from({ length: 1 + Math.floor(r() * 4) }, () => Array.from({ length: 1 + Math.floor(r() * 5) }, () => randomString(r, 100))),
            };
      expect(decodeStateEntry(encodeStateEntry(e))).toEqual(e);
    }
  });

  it("carries a script entry's oom flag (proposed over maxmemory), in any database; entries without it are encoded as before", () => {
    const plain = (): StateEntry => ({ kind: EntryKind.Commands, time: 5, multi: false, cmds: [['EVAL', "return redis.call('set', 'k', 'v')", '0']] });
    for (const db of [undefined, 3]) {
      const e = { ...plain(), oom: true, ...(db !== undefined ? { db } : {}) } as StateEntry;
      expect(decodeStateEntry(encodeStateEntry(e))).toEqual(e);
    }
    const without = encodeStateEntry(plain());
    expect(without[9]).toBe(0);
    expect(decodeStateEntry(without)).not.toHaveProperty('oom');
  });

  it('rejects truncated and unknown entries with a clear error', () => {
    const b = encodeStateEntry({ kind: EntryKind.Commands, time: 1, multi: false, cmds: [['SET', 'k', 'v']] });
    for (let cut = 0; cut < b.length; cut++) expect(() => decodeStateEntry(b.subarray(0, cut))).toThrow(BadEntryError);
    const bad = Buffer.from(b);
    bad[0] = 99;
    expect(() => decodeStateEntry(bad)).toThrow(/unknown state entry kind 99/);
  });

  it('carries the standalone rule of a group of one voter (flag bit 3); an entry without it decodes as before', () => {
    const e: StateEntry = { kind: EntryKind.Commands, time: 3, multi: true, cmds: [['EVAL', 'return 1', '2', 'a', 'b']], db: 4, standalone: true };
    const b = encodeStateEntry(e);
    expect(b[9]).toBe(1 | 2 | 8);
    expect(decodeStateEntry(b)).toEqual(e);
    const plain = encodeStateEntry({ kind: EntryKind.Commands, time: 3, multi: false, cmds: [['EVAL', 'return 1', '0']] });
    expect(plain[9]).toBe(0);
    expect(decodeStateEntry(plain)).not.toHaveProperty('standalone');
  });

  it('round-trips the script bodies of a CacheScripts entry', () => {
    const e: StateEntry = { kind: EntryKind.CacheScripts, time: 7, keys: ['#!lua flags=no-writes\nreturn 1', 'return "\xff\x00"'] };
    expect(decodeStateEntry(encodeStateEntry(e))).toEqual(e);
    const b = encodeStateEntry(e);
    for (let cut = 0; cut < b.length; cut++) expect(() => decodeStateEntry(b.subarray(0, cut))).toThrow(BadEntryError);
  });

  it('carries the database of commands and expired keys; an entry in db 0 is encoded as before databases existed', () => {
    const inDb: StateEntry[] = [
      { kind: EntryKind.Commands, time: 5, multi: true, cmds: [['SET', 'k', 'v'], ['SELECT', '2'], ['GET', 'k']], db: 7 },
      { kind: EntryKind.Commands, time: 5, multi: false, cmds: [['SET', 'k', 'v']], db: 2147483647 },
      { kind: EntryKind.ExpireKeys, time: 6, keys: ['a', 'b'], db: 15 },
    ];
    for (const e of inDb) expect(decodeStateEntry(encodeStateEntry(e))).toEqual(e);
    // db 0 (explicit or not): no flag, no field, the bytes of an entry written before databases existed.
    const plain = encodeStateEntry({ kind: EntryKind.Commands, time: 1, multi: false, cmds: [['SET', 'k', 'v']] });
    expect(encodeStateEntry({ kind: EntryKind.Commands, time: 1, multi: false, cmds: [['SET', 'k', 'v']], db: 0 })).toEqual(plain);
    const old = Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.from([0]), u32(1), u32(3), ...['SET', 'k', 'v'].flatMap((a) => [u32(a.length), Buffer.from(a)])]);
    old.writeDoubleLE(1, 1);
    expect(plain).toEqual(old);
    expect(decodeStateEntry(old)).toEqual({ kind: EntryKind.Commands, time: 1, multi: false, cmds: [['SET', 'k', 'v']] });
    // The field is 4 bytes more, only when the database is not 0.
    expect(encodeStateEntry({ ...(inDb[1] as StateEntry), db: 1 }).length).toBe(plain.length + 4);
    const withDb = encodeStateEntry(inDb[0]!);
    for (let cut = 0; cut < withDb.length; cut++) expect(() => decodeStateEntry(withDb.subarray(0, cut))).toThrow(BadEntryError);
  });

  it('writes the documented little-endian layout byte for byte (short arguments copied by a loop, long ones by Buffer.write)', () => {
    // Built with Buffer's own LE writers: the format the log already holds must not move.
    const reference = (time: number, cmds: string[][], db: number): Buffer => {
      const parts: Buffer[] = [];
      const head = Buffer.alloc(db !== 0 ? 18 : 14);
      head[0] = EntryKind.Commands;
      head.writeDoubleLE(time, 1);
      head[9] = db !== 0 ? 2 : 0;
      head.writeUInt32LE(cmds.length, 10);
      if (db !== 0) head.writeUInt32LE(db, 14);
      parts.push(head);
      for (const argv of cmds) {
        const n = Buffer.alloc(4);
        n.writeUInt32LE(argv.length, 0);
        parts.push(n);
        for (const a of argv) {
          const l = Buffer.alloc(4);
          l.writeUInt32LE(a.length, 0);
          parts.push(l, Buffer.from(a, 'latin1'));
        }
      }
      return Buffer.concat(parts);
    };
    const r = createPrng(11);
    for (let i = 0; i < 200; i++) {
      const time = i % 7 === 0 ? -0 : i % 7 === 1 ? Number.MAX_VALUE : 1700000000000 + r() * 1e6;
      const cmds = Array.from({ length: 1 + Math.floor(r() * 3) }, () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomString(r, 300)));
      // Every byte of a u32 non-zero somewhere: a database number past 2^24.
      const db = i % 4 === 0 ? 0x7f000000 + i * 0x10101 : 0;
      const e: StateEntry = db !== 0 ? { kind: EntryKind.Commands, time, multi: false, cmds, db } : { kind: EntryKind.Commands, time, multi: false, cmds };
      expect(encodeStateEntry(e).equals(reference(time, cmds, db))).toBe(true);
      expect(Object.is(decodeStateEntry(reference(time, cmds, db)).time, time)).toBe(true);
    }
  });

  it('writes each char of an argument as its low byte, as Buffer.write latin1 does, at every length around the four-char stores', () => {
    const r = createPrng(12);
    for (let n = 0; n <= 60; n++) {
      const a = Array.from({ length: n }, () => String.fromCharCode(Math.floor(r() * 0x10000))).join('');
      const enc = encodeStateEntry({ kind: EntryKind.Commands, time: 1, multi: false, cmds: [['set', a]] });
      // Header 14, argc 4, 'set' 4 + 3, then a's length and bytes.
      expect(enc.readUInt32LE(25)).toBe(n);
      expect(enc.subarray(29).equals(Buffer.from(a, 'latin1'))).toBe(true);
    }
  });

  it('carries the unblock ID of an entry serving a parked XREADGROUP, in any database; other entries are unchanged', () => {
    const bound = '\x00\x00\x01\x8c\xff\x00\x80\x7f\x00\x00\x00\x00\x00\x00\x00\x05';
    const argv = ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1000', 'BLOCK', '0', 'STREAMS', 's', '>'];
    const entries: StateEntry[] = [
      { kind: EntryKind.Commands, time: 9, multi: false, cmds: [argv], unblock: bound },
      { kind: EntryKind.Commands, time: 9, multi: false, cmds: [argv], db: 3, unblock: bound },
    ];
    for (const e of entries) {
      expect(decodeStateEntry(encodeStateEntry(e))).toEqual(e);
      const b = encodeStateEntry(e);
      for (let cut = 0; cut < b.length; cut++) expect(() => decodeStateEntry(b.subarray(0, cut))).toThrow(BadEntryError);
    }
    const plain = encodeStateEntry({ kind: EntryKind.Commands, time: 9, multi: false, cmds: [argv] });
    expect(encodeStateEntry(entries[0]!).length).toBe(plain.length + 4 + bound.length);
    expect(decodeStateEntry(plain)).not.toHaveProperty('unblock');
  });

  it('marks a parked blocking pop proposed again (flag bit 5), in any database; an entry without it decodes as before', () => {
    const e: StateEntry = { kind: EntryKind.Commands, time: 5, multi: false, cmds: [['BLPOP', 'l', '0']], db: 2, served: true };
    const b = encodeStateEntry(e);
    expect(b[9]).toBe(2 | 32);
    expect(decodeStateEntry(b)).toEqual(e);
    const plain = encodeStateEntry({ kind: EntryKind.Commands, time: 5, multi: false, cmds: [['BLPOP', 'l', '0']] });
    expect(plain[9]).toBe(0);
    expect(b.length).toBe(plain.length + 4);
    expect(decodeStateEntry(plain)).not.toHaveProperty('served');
  });

  it('writes the bytes of the format, field by field, for every kind and flag (entries from an own slab, each a Buffer)', () => {
    const r = createPrng(11);
    const flagsOf = (e: StateEntry): number =>
      e.kind === EntryKind.Commands
        ? (e.multi ? 1 : 0) | (e.db ? 2 : 0) | (e.oom ? 4 : 0) | (e.standalone ? 8 : 0) | (e.unblock !== undefined ? 16 : 0) | (e.served ? 32 : 0) | (e.user !== undefined ? 64 : 0)
        : e.db
          ? 2
          : 0;
    const str = (s: string): Buffer[] => [u32(s.length), Buffer.from(s, 'latin1')];
    /** The format as the documentation at the top of entry.ts describes it, with Buffer's own writers. */
    const reference = (e: StateEntry): Buffer => {
      const time = Buffer.alloc(8);
      time.writeDoubleLE(e.time, 0);
      const parts: Buffer[] = [Buffer.from([e.kind]), time, Buffer.from([flagsOf(e)]), u32(e.kind === EntryKind.Commands ? e.cmds.length : e.keys.length)];
      if (e.db) parts.push(u32(e.db));
      if (e.kind === EntryKind.Commands) {
        if (e.unblock !== undefined) parts.push(...str(e.unblock));
        if (e.user !== undefined) parts.push(...str(e.user));
        for (const argv of e.cmds) parts.push(u32(argv.length), ...argv.flatMap(str));
      } else {
        parts.push(...e.keys.flatMap(str));
      }
      return Buffer.concat(parts);
    };
    const kinds = [EntryKind.ExpireKeys, EntryKind.EvictKeys, EntryKind.CacheScripts, EntryKind.KillScript];
    for (let i = 0; i < 3000; i++) {
      const maybe = <T>(v: T): T | undefined => (r() < 0.2 ? v : undefined);
      // Up to 3000 bytes: several slabs, and arguments past the short-string loop (Buffer.write).
      const e: StateEntry =
        i % 4 === 0
          ? { kind: kinds[i % kinds.length]!, time: 1_700_000_000_000 + i * 0.25, keys: Array.from({ length: Math.floor(r() * 4) }, () => randomString(r, 60)), ...(r() < 0.3 ? { db: 1 + Math.floor(r() * 15) } : {}) } as StateEntry
          : ({
            kind: EntryKind.Commands,
            time: 1_700_000_000_000 + i,
            multi: r() < 0.2,
            cmds: Array.from({ length: 1 + Math.floor(r() * 3) }, () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomString(r, i % 50 === 0 ? 3000 : 70))),
            ...(r() < 0.3 ? { db: 1 + Math.floor(r() * 15) } : {}),
            ...(maybe(true) ? { oom: true } : {}),
            ...(maybe(true) ? { standalone: true } : {}),
            ...(maybe(true) ? { served: true } : {}),
            ...(r() < 0.1 ? { unblock: randomString(r, 80) } : {}),
            ...(r() < 0.1 ? { user: randomString(r, 20) } : {}),
          } as StateEntry);
      const b = encodeStateEntry(e);
      expect(Buffer.isBuffer(b) && b instanceof Buffer).toBe(true);
      expect(Buffer.compare(b, reference(e))).toBe(0);
      expect(decodeStateEntry(b)).toEqual(e);
      expect(b.subarray(1).length).toBe(b.length - 1);
    }
    // A char above 0xff is written as its low byte, as Buffer.write(…, 'latin1') writes it.
    const wide: StateEntry = { kind: EntryKind.Commands, time: 1, multi: false, cmds: [['SET', 'k\u0101\u20ac', 'v'.repeat(60) + '\u0100']] };
    expect(Buffer.compare(encodeStateEntry(wide), reference(wide))).toBe(0);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

describe('a plain SET encoded from request bytes (encodePlainSet)', () => {
  it("writes exactly encodeCommands' bytes, for any name case, lengths, database, flag and place in the buffer", () => {
    const r = createPrng(23);
    // Two buffers, alternating at random: the encoder's view of the last one is made again when the buffer changes.
    const bufs = [Buffer.alloc(4096), Buffer.from(new ArrayBuffer(8192), 100, 5000)];
    const names = ['SET', 'set', 'Set', 'sET', 'seT'];
    for (let i = 0; i < 2000; i++) {
      const buf = bufs[Math.floor(r() * bufs.length)]!;
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(r() * 256);
      const name = names[i % names.length]!;
      // Lengths on both sides of the four-byte loop's steps and of the memcpy threshold.
      const key = randomString(r, i % 4 === 0 ? 200 : 20);
      const value = randomString(r, i % 3 === 0 ? 300 : 24);
      const nameAt = Math.floor(r() * 100);
      const keyAt = nameAt + 3 + Math.floor(r() * 10);
      const valueAt = keyAt + key.length + Math.floor(r() * 10);
      buf.write(name, nameAt, 'latin1');
      buf.write(key, keyAt, 'latin1');
      buf.write(value, valueAt, 'latin1');
      const db = r() < 0.5 ? 0 : Math.floor(r() * 16);
      const standalone = r() < 0.5;
      const time = 1700000000000 + i * 0.25;
      const got = encodePlainSet(time, db, standalone, buf, nameAt, keyAt, keyAt + key.length, valueAt, valueAt + value.length);
      const e: StateEntry = { kind: EntryKind.Commands, time, multi: false, cmds: [[name, key, value]], ...(db !== 0 ? { db } : {}), ...(standalone ? { standalone: true } : {}) };
      expect(Buffer.from(got)).toEqual(Buffer.from(encodeStateEntry(e)));
      expect(decodeStateEntry(got)).toEqual(e);
    }
  });

  it('entries from bytes are Buffers carved one after another, unharmed by the next one', () => {
    const buf = Buffer.from('SET key:000000000001 abcdefghijklmnopq SET k2 v2222');
    const a = encodePlainSet(5, 0, false, buf, 0, 4, 20, 21, 38);
    const b = encodePlainSet(6, 0, false, buf, 39, 43, 45, 46, 51);
    expect(Buffer.isBuffer(a)).toBe(true);
    expect(decodeStateEntry(a)).toEqual({ kind: EntryKind.Commands, time: 5, multi: false, cmds: [['SET', 'key:000000000001', 'abcdefghijklmnopq']] });
    expect(decodeStateEntry(b)).toEqual({ kind: EntryKind.Commands, time: 6, multi: false, cmds: [['SET', 'k2', 'v2222']] });
  });
});
