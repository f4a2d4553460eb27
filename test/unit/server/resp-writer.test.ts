import { describe, expect, it } from 'vitest';
import { RespWriter, cleanErrorText } from '../../../src/server/resp-writer.js';
import { createPrng } from '../../../src/util/prng.js';

function errorBytes(text: string): { out: string; seen: string[] } {
  const w = new RespWriter(2);
  const seen: string[] = [];
  w.onError = (t) => seen.push(t);
  w.error(text);
  return { out: w.take(), seen };
}

describe('RespWriter.error: CR and LF never reach the wire', () => {
  it('leaves a text without CR or LF as it is (the same string)', () => {
    const text = "ERR unknown command 'FOO', with args beginning with: 'a\u0000b' ";
    expect(errorBytes(text)).toEqual({ out: '-' + text + '\r\n', seen: [text] });
    expect(cleanErrorText(text)).toBe(text);
  });

  it("maps CR and LF inside to spaces, as Redis's sdsmapchars", () => {
    expect(errorBytes("ERR unknown command 'FOO', with args beginning with: 'a\r\nb' ")).toEqual({
      out: "-ERR unknown command 'FOO', with args beginning with: 'a  b' \r\n",
      seen: ["ERR unknown command 'FOO', with args beginning with: 'a  b' "],
    });
    expect(cleanErrorText('ERR a\rb\nc\n\rd')).toBe('ERR a b c  d');
  });

  it('removes CR and LF at either end, as sdstrim(s, "\\r\\n") in addReplyErrorFormat', () => {
    expect(cleanErrorText('ERR Unsupported option abc\r\n')).toBe('ERR Unsupported option abc');
    expect(cleanErrorText('ERR Unsupported option \r\nabc')).toBe('ERR Unsupported option   abc');
    expect(cleanErrorText('ERR Unsupported option \n\r\r\n')).toBe('ERR Unsupported option ');
    expect(cleanErrorText('\r\nERR x\r\ny\n')).toBe('ERR x  y');
    expect(cleanErrorText('\r\n\r')).toBe('');
  });

  it('discarding writers still report the cleaned text (INFO errorstats)', () => {
    const w = new RespWriter(2, true);
    const seen: string[] = [];
    w.onError = (t) => seen.push(t);
    w.error('ERR x\ny');
    expect(w.take()).toBe('');
    expect(seen).toEqual(['ERR x y']);
  });

  it('random texts: one line, every other byte kept (seeded, bounded)', () => {
    const rnd = createPrng(0x5eed);
    const alphabet = 'ab \r\n\0\xff';
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rnd() * 12);
      let text = 'ERR ';
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(rnd() * alphabet.length)];
      const { out } = errorBytes(text);
      expect(out.startsWith('-') && out.endsWith('\r\n')).toBe(true);
      const body = out.slice(1, -2);
      expect(body).not.toMatch(/[\r\n]/);
      expect(body).toBe(text.replace(/[\r\n]+$/, '').replace(/[\r\n]/g, ' '));
    }
  });
});

describe('RespWriter.bulkBytes: a value copied from bytes', () => {
  const ref = (bytes: Uint8Array, start: number, end: number) => ({ bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.length), start, end });

  it('writes what bulk writes of the same bytes, for every length and offset, interleaved with other replies', () => {
    const rand = createPrng(19);
    const src = new Uint8Array(400);
    for (let i = 0; i < src.length; i++) src[i] = Math.floor(rand() * 256);
    const byteWriter = new RespWriter(2, false, true);
    const plain = new RespWriter(2);
    const expected = new RespWriter(2);
    for (const w of [byteWriter, plain, expected]) w.simple('first');
    for (let n = 0; n <= 130; n++) {
      const start = n % 7;
      for (const w of [byteWriter, plain]) w.bulkBytes(ref(src, start, start + n));
      expected.bulk(Buffer.from(src.subarray(start, start + n)).toString('latin1'));
      for (const w of [byteWriter, plain, expected]) {
        w.int(n);
        if (n % 5 === 0) w.bulk('x'.repeat(n));
      }
    }
    expect(byteWriter.size).toBe(expected.size);
    const want = expected.take();
    expect(byteWriter.take()).toBe(want);
    expect(plain.take()).toBe(want);
    // Taken: empty, and writes after it start over as a string.
    expect(byteWriter.size).toBe(0);
    byteWriter.ok();
    expect(byteWriter.take()).toBe('+OK\r\n');
  });

  it('grows past its first buffer and keeps the order of everything written', () => {
    const src = new Uint8Array(64).fill(97);
    const w = new RespWriter(2, false, true);
    let want = '';
    for (let i = 0; i < 200; i++) {
      w.bulkBytes(ref(src, 0, 64));
      w.arrayHeader(i);
      want += '$64\r\n' + 'a'.repeat(64) + '\r\n*' + i + '\r\n';
    }
    expect(w.take()).toBe(want);
  });

  it('a discarding writer keeps nothing', () => {
    const w = new RespWriter(2, true, true);
    w.bulkBytes(ref(new Uint8Array(4), 0, 4));
    expect(w.size).toBe(0);
    expect(w.take()).toBe('');
  });
});
