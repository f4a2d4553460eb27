import { describe, expect, it } from 'vitest';
import { GEO_LAT_MAX, GEO_LAT_MIN, GEO_LONG_MAX, GEO_LONG_MIN, geoScore, geoScoreBig, parseCoordinate } from '../../../src/commands/geohash.js';
import { quickDouble } from '../../../src/commands/geo.js';
import { parseDouble } from '../../../src/util/double.js';
import { createPrng } from '../../../src/util/prng.js';

describe('GEOADD score without BigInts (issue 18, datamodel)', () => {
  it('equals the BigInt encoding at the edges of the ranges', () => {
    const lons = [GEO_LONG_MIN, GEO_LONG_MAX, 0, -0, 13.361389, 179.99999999, -179.99999999, 1e-300, -1e-300];
    const lats = [GEO_LAT_MIN, GEO_LAT_MAX, 0, -0, 38.115556, 85.05112877, -85.05112877, 1e-300];
    for (const x of lons) for (const y of lats) expect([x, y, geoScore(x, y)]).toEqual([x, y, geoScoreBig(x, y)]);
  });

  it('equals the BigInt encoding on random positions', () => {
    const rand = createPrng(18);
    for (let i = 0; i < 20000; i++) {
      const x = GEO_LONG_MIN + rand() * (GEO_LONG_MAX - GEO_LONG_MIN);
      const y = GEO_LAT_MIN + rand() * (GEO_LAT_MAX - GEO_LAT_MIN);
      if (geoScore(x, y) !== geoScoreBig(x, y)) expect([x, y, geoScore(x, y)]).toEqual([x, y, geoScoreBig(x, y)]);
    }
  });
});

describe('quickDouble: parseDouble of a plain decimal, or undefined', () => {
  it('agrees with parseDouble whenever it answers', () => {
    const cases = ['0', '-0', '+0', '1', '13.361389', '-38.115556', '1.', '0.1', '0.3', '123456789012345', '12345678901234.5', '9007199254740993',
      '0.000000000000001', '-179.999999999999', '85.05112878', '00000000000001.5', '1e5', '.5', '-.5', '+', '-', '', ' 1', '1 ', '1.2.3', '0x10', 'inf', 'nan', '1\0'];
    let answered = 0;
    for (const s of cases) {
      const q = quickDouble(s);
      if (q === undefined) continue;
      answered++;
      expect([s, Object.is(q, parseDouble(s)) ? 'same' : q]).toEqual([s, 'same']);
    }
    expect(answered).toBeGreaterThan(12);
    for (const s of ['1e5', '.5', '', ' 1', '1 ', '0x10', 'inf', '1\0', '9007199254740993', '1234567890123456']) expect([s, quickDouble(s)]).toEqual([s, undefined]);
  });

  it('agrees with parseDouble on random decimals', () => {
    const rand = createPrng(7);
    for (let i = 0; i < 20000; i++) {
      const intDigits = 1 + Math.floor(rand() * 8);
      const fracDigits = Math.floor(rand() * (16 - intDigits));
      let s = rand() < 0.5 ? '-' : '';
      for (let d = 0; d < intDigits; d++) s += String(Math.floor(rand() * 10));
      if (fracDigits > 0 || rand() < 0.1) s += '.';
      for (let d = 0; d < fracDigits; d++) s += String(Math.floor(rand() * 10));
      const q = quickDouble(s);
      expect(q).not.toBeUndefined();
      if (!Object.is(q, parseDouble(s))) expect([s, q]).toEqual([s, parseDouble(s)]);
    }
  });
});

describe('parseCoordinate (GEOADD and its unchanged check): parseDouble, quickly for plain decimals', () => {
  it('equals parseDouble on plain and other forms', () => {
    const cases = ['13.361389', '-38.115556', '0', '-0', '1.', '1e5', '.5', '-.5', '', ' 1', '1 ', '0x10', 'inf', '-inf', 'nan', '1\0', '9007199254740993', '1234567890123456', '+1.5', '1.2.3', '  -0.5e-3'];
    for (const s of cases) {
      const a = parseCoordinate(s);
      const b = parseDouble(s);
      expect([s, a === null ? null : Object.is(a, b) ? 'same' : a]).toEqual([s, b === null ? null : 'same']);
    }
  });
});
