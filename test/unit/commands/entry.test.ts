import { describe, expect, it } from 'vitest';
import { BadEntryError, EntryKind, decodeStateEntry, encodeStateEntry, type StateEntry } from '../../../src/commands/engine/entry.js';
import { createPrng } from '../../../src/util/prng.js';


function randomString(r: () => number, max: number): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(r() * 256));
  return s;
}

describe('state entry codec', () => {
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

  it('rejects truncated and unknown entries with a clear error', () => {
    const b = encodeStateEntry({ kind: EntryKind.Commands, time: 1, multi: false, cmds: [['SET', 'k', 'v']] });
    for (let cut = 0; cut < b.length; cut++) expect(() => decodeStateEntry(b.subarray(0, cut))).toThrow(BadEntryError);
    const bad = Buffer.from(b);
    bad[0] = 99;
    expect(() => decodeStateEntry(bad)).toThrow(/unknown state entry kind 99/);
  });
});
