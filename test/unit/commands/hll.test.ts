/**
 * hll.ts's MurmurHash64A works on 32-bit halves (no BigInt); this checks it
 * against a straightforward BigInt transcription of Redis's C over seeded
 * random inputs of every length class (0–7 tail bytes, several blocks,
 * bytes above 0x7f), and patLen against the BigInt form of hllPatLen.
 */
import { describe, expect, it } from 'vitest';
import { HLL_P, HLL_Q, murmurHash64A, patLen } from '../../../src/commands/hll.js';
import { createPrng } from '../../../src/util/prng.js';

const M = 0xc6a4a7935bd1e995n;
const MASK = 0xffffffffffffffffn;

/** Redis's MurmurHash64A (hyperloglog.c), transcribed with BigInt. */
function reference(key: string, seed: number): bigint {
  const len = key.length;
  let h = BigInt(seed >>> 0) ^ ((BigInt(len) * M) & MASK);
  const blocks = len - (len & 7);
  for (let i = 0; i < blocks; i += 8) {
    let k = 0n;
    for (let j = 7; j >= 0; j--) k = (k << 8n) | BigInt(key.charCodeAt(i + j));
    k = (k * M) & MASK;
    k ^= k >> 47n;
    k = (k * M) & MASK;
    h ^= k;
    h = (h * M) & MASK;
  }
  const rest = len & 7;
  if (rest > 0) {
    for (let j = rest - 1; j >= 0; j--) h ^= BigInt(key.charCodeAt(blocks + j)) << BigInt(8 * j);
    h = (h * M) & MASK;
  }
  h ^= h >> 47n;
  h = (h * M) & MASK;
  h ^= h >> 47n;
  return h;
}

function referencePatLen(ele: string): { index: number; count: number } {
  const hash = reference(ele, 0xadc83b19);
  const index = Number(hash & BigInt((1 << HLL_P) - 1));
  let bits = (hash >> BigInt(HLL_P)) | (1n << BigInt(HLL_Q));
  let count = 1;
  while ((bits & 1n) === 0n) {
    count++;
    bits >>= 1n;
  }
  return { index, count };
}

function randomString(rand: () => number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * 256));
  return s;
}

describe('MurmurHash64A on 32-bit halves', () => {
  it('equals the BigInt transcription of Redis for lengths 0 to 40 and random bytes', () => {
    const rand = createPrng(18);
    for (let len = 0; len <= 40; len++) {
      for (let n = 0; n < 50; n++) {
        const s = randomString(rand, len);
        const seed = n === 0 ? 0xadc83b19 : Math.floor(rand() * 2 ** 32);
        expect(murmurHash64A(s, seed), JSON.stringify({ s, seed })).toBe(reference(s, seed));
      }
    }
    // All-0xff and all-zero blocks exercise the carries of the 64-bit multiply.
    for (const s of ['\xff'.repeat(8), '\xff'.repeat(15), '\x00'.repeat(16), '\x80'.repeat(7)]) {
      expect(murmurHash64A(s, 0xffffffff)).toBe(reference(s, 0xffffffff));
    }
  });

  it('patLen equals the BigInt hllPatLen, including long runs of zero bits', () => {
    const rand = createPrng(19);
    let maxCount = 0;
    for (let n = 0; n < 200_000; n++) {
      const s = randomString(rand, 1 + Math.floor(rand() * 12));
      const got = patLen(s);
      if (n < 5000 || got.count > 12) expect(got, JSON.stringify(s)).toEqual(referencePatLen(s));
      maxCount = Math.max(maxCount, got.count);
    }
    // Counts past 14 show the sentinel and the high word are handled somewhere in the sample.
    expect(maxCount).toBeGreaterThan(14);
  });
});
