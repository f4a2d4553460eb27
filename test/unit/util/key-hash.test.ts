/**
 * The key hash (util/key-hash.ts): the same value from a string and from
 * its latin1 bytes (what the request parser notes), for every length up to
 * the noted maximum and past it, and the noted words are the key's bytes.
 */
import { describe, expect, it } from 'vitest';
import { KeyNotes, NOTED_MAX, keyHash, keyHashView, lastKey, latin1Key, noteKeyBytes } from '../../../src/util/key-hash.js';
import { xorshiftPrng } from '../../../src/util/prng.js';

describe('keyHash and noteKeyBytes', () => {
  it('hash a key the same from its string and from its bytes', () => {
    const rand = xorshiftPrng(3);
    for (let len = 0; len <= NOTED_MAX; len++) {
      for (let r = 0; r < 20; r++) {
        let s = '';
        for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * 256));
        const b = Buffer.from('ab' + s + 'cd', 'latin1');
        noteKeyBytes(s, b, 2, 2 + len);
        expect(lastKey.key).toBe(s);
        expect(lastKey.len).toBe(len);
        expect(lastKey.hash).toBe(keyHash(s));
        // The words are the bytes, little-endian, the last one zero-padded.
        for (let i = 0; i < len; i++) expect((lastKey.words[i >> 2]! >>> ((i & 3) * 8)) & 0xff).toBe(s.charCodeAt(i));
        for (let i = len; i < ((len + 3) & ~3); i++) expect((lastKey.words[i >> 2]! >>> ((i & 3) * 8)) & 0xff).toBe(0);
      }
    }
  });

  it('latin1Key makes the key string of every length and notes it as noteKeyBytes does', () => {
    const rand = xorshiftPrng(5);
    for (let len = 0; len <= NOTED_MAX + 4; len++) {
      for (let r = 0; r < 20; r++) {
        let s = '';
        for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * 256));
        const b = Buffer.from('xyz' + s + '\r\n', 'latin1');
        noteKeyBytes('other', Buffer.from('other'), 0, 5);
        const k = latin1Key(b, 3, 3 + len);
        expect(k).toBe(s);
        if (len > NOTED_MAX) {
          expect(lastKey.key).toBe('other');
          continue;
        }
        const { hash, words } = { hash: lastKey.hash, words: [...lastKey.words.subarray(0, (len + 3) >> 2)] };
        expect(lastKey.key).toBe(s);
        expect(lastKey.len).toBe(len);
        expect(hash).toBe(keyHash(s));
        noteKeyBytes(s, b, 3, 3 + len);
        expect([...lastKey.words.subarray(0, (len + 3) >> 2)]).toEqual(words);
      }
    }
  });

  it('keyHashView hashes the bytes of a key at any offset as keyHash hashes its string', () => {
    const rand = xorshiftPrng(7);
    for (let len = 0; len <= NOTED_MAX + 4; len++) {
      for (let off = 0; off < 4; off++) {
        let s = '';
        for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * 256));
        const b = Buffer.from('....'.slice(0, off) + s + '\r\n', 'latin1');
        expect(keyHashView(new DataView(b.buffer, b.byteOffset, b.length), off, len)).toBe(keyHash(s));
      }
    }
  });

  it('does not note a key longer than NOTED_MAX', () => {
    noteKeyBytes('k', Buffer.from('k'), 0, 1);
    const long = 'x'.repeat(NOTED_MAX + 1);
    noteKeyBytes(long, Buffer.from(long, 'latin1'), 0, long.length);
    expect(lastKey.key).toBe('k');
  });

  it('tells apart keys that differ only by trailing NUL bytes', () => {
    expect(keyHash('ab')).not.toBe(keyHash('ab\0'));
    expect(keyHash('abcd')).not.toBe(keyHash('abcd\0'));
  });

  it('KeyNotes keeps the notes of keys and puts each back as the parser noted it, however many', () => {
    const rand = xorshiftPrng(11);
    const notes = new KeyNotes();
    for (let round = 0; round < 3; round++) {
      notes.clear();
      const kept: { key: string; i: number }[] = [];
      for (let n = 0; n < 100; n++) {
        const len = Math.floor(rand() * (NOTED_MAX + 8));
        let s = '';
        for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * 256));
        const key = latin1Key(Buffer.from(s, 'latin1'), 0, len);
        const i = notes.keep(key);
        // A key the parser did not note (longer than NOTED_MAX) has no note.
        if (len > NOTED_MAX) expect(i).toBe(-1);
        else expect(i).toBeGreaterThanOrEqual(0);
        // Once kept, lastKey is no key's note (its words went with the note).
        if (i >= 0) expect(lastKey.key).toBeUndefined();
        kept.push({ key, i });
      }
      // Not lastKey's key: nothing kept.
      expect(notes.keep('not the key just noted')).toBe(-1);
      for (const { key, i } of kept.reverse()) {
        if (i < 0) continue;
        notes.bring(i, key);
        expect(lastKey.key).toBe(key);
        expect(lastKey.len).toBe(key.length);
        expect(lastKey.hash).toBe(keyHash(key));
        const words = [...lastKey.words.subarray(0, (key.length + 3) >> 2)];
        noteKeyBytes(key, Buffer.from(key, 'latin1'), 0, key.length);
        expect(words).toEqual([...lastKey.words.subarray(0, (key.length + 3) >> 2)]);
      }
    }
  });
});
