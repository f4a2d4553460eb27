/**
 * The RDB building blocks of DUMP / RESTORE (src/keyspace/rdb/, the
 * checksum in src/util/crc64.ts): listpack integer and string encodings at
 * every boundary, structural checks that refuse damaged input, RDB lengths
 * and strings, and payload round trips. Byte equality with redis-server is
 * the differential test's (test/differential/dump-restore.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { crc64 } from '../../../src/util/crc64.js';
import { ByteSink } from '../../../src/keyspace/rdb/bytes.js';
import { RdbReader, saveLen, saveString, verifyDumpPayload } from '../../../src/keyspace/rdb/format.js';
import { ListpackWriter, readListpack, lpString, lpEntrySize, LP_EMPTY_SIZE } from '../../../src/keyspace/rdb/listpack.js';
import { readIntset, writeIntset } from '../../../src/keyspace/rdb/legacy.js';
import { createDumpPayload } from '../../../src/keyspace/rdb/encode.js';
import { loadDumpPayload } from '../../../src/keyspace/rdb/decode.js';
import { ListValue } from '../../../src/keyspace/types/list.js';
import { RHash } from '../../../src/keyspace/types/hash.js';
import { RSet } from '../../../src/keyspace/types/set.js';
import { ZSetValue } from '../../../src/keyspace/types/zset.js';
import { StreamValue } from '../../../src/keyspace/types/stream.js';
import { Consumer, ConsumerGroup, Nack } from '../../../src/keyspace/types/stream-groups.js';
import { idOf } from '../../../src/keyspace/types/stream-id.js';

function sampleStream(): StreamValue {
  const st = new StreamValue();
  for (let i = 1; i <= 150; i++) st.append(idOf(i, i % 2), i % 7 === 0 ? ['other', String(i)] : ['f', String(i), 'g', 'v' + i]);
  st.delete(idOf(3, 1));
  const g = new ConsumerGroup(idOf(10, 0), 10);
  const c = new Consumer('alice', 1000);
  g.consumers.set('alice', c);
  g.addNack(idOf(5, 1), new Nack(c, 2000, 3));
  g.addNack(idOf(8, 0), new Nack(c, 2001, 1));
  st.groups = new Map([['grp', g]]);
  return st;
}

describe('crc64', () => {
  it("is Redis's crc64 (crc64.c test vector)", () => {
    expect(crc64(Buffer.from('123456789'))).toBe(0xe9c6d914c4b8d9can);
  });
});

describe('listpack', () => {
  const ints = [
    '-9223372036854775808', '-2147483649', '-2147483648', '-8388609', '-8388608', '-32769', '-32768', '-4097', '-4096', '-1', '0', '1', '127', '128',
    '4095', '4096', '32767', '32768', '8388607', '8388608', '2147483647', '2147483648', '9223372036854775807',
  ];
  const strs = ['', 'a', '-0', '01', '+1', '9223372036854775808', 'x'.repeat(63), 'x'.repeat(64), 'y'.repeat(4095), 'y'.repeat(4096), 'z'.repeat(20000)];

  it('round-trips integers at every encoding boundary and strings at every length boundary', () => {
    const lp = new ListpackWriter();
    for (const s of [...ints, ...strs]) lp.str(s);
    const b = lp.finish();
    expect(b.readUInt32LE(0)).toBe(b.length);
    expect(b.length).toBe(LP_EMPTY_SIZE + [...ints, ...strs].reduce((n, s) => n + lpEntrySize(s), 0));
    expect(readListpack(b).map(lpString)).toEqual([...ints, ...strs]);
    // Canonical integers are stored as integers, everything else as strings.
    expect(readListpack(b).map((v) => typeof v)).toEqual([...ints.map((s) => (BigInt(s) > 2n ** 53n || BigInt(s) < -(2n ** 53n) ? 'bigint' : 'number')), ...strs.map(() => 'string')]);
  });

  it('refuses truncated input, a wrong size, a bad backlen and a wrong count', () => {
    const lp = new ListpackWriter();
    lp.str('hello');
    lp.str('300');
    const b = lp.finish();
    expect(() => readListpack(b.subarray(0, b.length - 1))).toThrow();
    const wrongSize = Buffer.from(b);
    wrongSize.writeUInt32LE(b.length + 1, 0);
    expect(() => readListpack(wrongSize)).toThrow();
    const badBacklen = Buffer.from(b);
    badBacklen[6 + 6] = 9; // 'hello' entry: 1 + 5 bytes, backlen 6
    expect(() => readListpack(badBacklen)).toThrow();
    const badCount = Buffer.from(b);
    badCount.writeUInt16LE(3, 4);
    expect(() => readListpack(badCount)).toThrow();
  });
});

describe('RDB strings and lengths', () => {
  it('lengths use 6, 14, 32 and 64 bits', () => {
    for (const n of [0, 63, 64, 16383, 16384, 0xffffffff, 2 ** 40]) {
      const out = new ByteSink();
      saveLen(out, n);
      expect(new RdbReader(out.result()).len64()).toBe(n);
    }
  });

  it('strings are integer-encoded when canonical and short, LZF-compressed when that saves bytes', () => {
    const cases = ['0', '-128', '127', '-32768', '32767', '-2147483648', '2147483647', '2147483648', '007', 'abc', 'q'.repeat(21), 'ab'.repeat(500)];
    for (const s of cases) {
      const out = new ByteSink();
      saveString(out, s);
      expect(new RdbReader(out.result()).string()).toBe(s);
    }
    const out = new ByteSink();
    saveString(out, 'ab'.repeat(500));
    expect(out.len).toBeLessThan(100);
    expect(out.buf[0]).toBe(0xc3);
  });
});

describe('intset', () => {
  it('picks the smallest encoding and reads back ascending', () => {
    expect(writeIntset(['3', '-1']).readUInt32LE(0)).toBe(2);
    expect(writeIntset(['3', '40000']).readUInt32LE(0)).toBe(4);
    expect(writeIntset(['3', '-9223372036854775808']).readUInt32LE(0)).toBe(8);
    expect(readIntset(writeIntset(['5', '-9223372036854775808', '4000000000']))).toEqual(['-9223372036854775808', '5', '4000000000']);
  });
});

describe('DUMP payloads', () => {
  it('round-trip every collection type and detect damage', () => {
    const h = new RHash();
    h.set('f', '1');
    h.set('g', 'x'.repeat(100));
    const s = new RSet();
    for (const m of ['1', '2', 'three']) s.add(m);
    const z = ZSetValue.fromPairs([['a', 1.5], ['b', -Infinity]]);
    const values = [sampleStream(), 'plain', '12345', new ListValue(['a', '1', 'b']), h, s, z];
    for (const v of values) {
      const p = createDumpPayload(v);
      expect(verifyDumpPayload(p)).toBe(true);
      const back = loadDumpPayload(p);
      expect(back.ok).toBe(true);
      if (back.ok) expect(typeof back.value === 'string' ? back.value : [...back.value.items()]).toEqual(typeof v === 'string' ? v : [...v.items()]);
      const damaged = Buffer.from(p);
      damaged[1] = damaged[1]! ^ 0x40;
      expect(loadDumpPayload(damaged)).toEqual({ ok: false, error: 'checksum' });
    }
  });
});

describe('damaged payloads with a valid checksum', () => {
  it('are refused or load to a usable value, never throw', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const h = new RHash();
    for (let i = 0; i < 20; i++) h.set('f' + i, String(i * 1000));
    const z = ZSetValue.fromPairs(Array.from({ length: 30 }, (_, i): [string, number] => ['m' + i, i / 3]));
    const s = new RSet();
    for (let i = 0; i < 40; i++) s.add(String(i * 77));
    const bases = [createDumpPayload(sampleStream()), createDumpPayload(new ListValue(Array.from({ length: 50 }, (_, i) => 'e' + i))), createDumpPayload(h), createDumpPayload(z), createDumpPayload(s), createDumpPayload('x'.repeat(100))];
    let refused = 0;
    for (let round = 0; round < 3000; round++) {
      const base = bases[round % bases.length]!;
      const body = Buffer.from(base.subarray(0, base.length - 10));
      for (let k = 1 + rand(3); k > 0; k--) body[rand(body.length)] = rand(256);
      const b = Buffer.concat([body, Buffer.from([10, 0]), Buffer.alloc(8)]);
      b.writeBigUInt64LE(crc64(b, 0, b.length - 8), b.length - 8);
      const r = loadDumpPayload(b);
      if (!r.ok) {
        expect(r.error).toBe('format');
        refused++;
      } else if (typeof r.value !== 'string') {
        const v = r.value;
        expect(() => [...v.clone().items()]).not.toThrow();
      }
    }
    expect(refused).toBeGreaterThan(100);
  });
});
