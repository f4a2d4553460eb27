/**
 * createPrng's sequence is part of the replicated state machine: SPOP draws
 * from createPrng(entrySeed(index, time)), and a log written by one version
 * is replayed by the next. These numbers were produced by the version that
 * introduced them; they must never change (docs/decisions.md, "SPOP draws
 * from a PRNG seeded by its log entry").
 */
import { describe, expect, it } from 'vitest';
import { entrySeed } from '../../../src/commands/random.js';
import { createPrng } from '../../../src/util/prng.js';
import { Engine } from '../../helpers/engine.js';

describe('the PRNG that replicated randomness draws from', () => {
  it('gives the same numbers for a seed as it always has', () => {
    const first4 = (seed: number): number[] => {
      const r = createPrng(seed);
      return [r(), r(), r(), r()];
    };
    expect(first4(0)).toEqual([0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111]);
    expect(first4(1)).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522, 0.9810509674716741]);
    expect(first4(42)).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693]);
    expect(first4(0xffffffff)).toEqual([0.8964226141106337, 0.189478256739676, 0.7156526781618595, 0.9440599093213677]);
    // Seeds are taken modulo 2^32.
    expect(first4(-1)).toEqual(first4(0xffffffff));
    expect(first4(2 ** 32 + 5)).toEqual([0.6897749109193683, 0.7727432732935995, 0.21976301027461886, 0.6231788222212344]);
  });

  it('seeds an entry from its index and time as it always has', () => {
    expect(entrySeed(1, 1700000000000)).toBe(2608637693);
    expect(entrySeed(123456789012, 1700000000123)).toBe(2320497301);
    expect(entrySeed(0, 0)).toBe(4289745439);
  });

  it('SPOP entries pop the members they always popped', () => {
    const e = new Engine({ clock: () => 1700000000000 });
    e.call('SADD', 's', ...Array.from({ length: 100 }, (_, i) => `m${i}`));
    const members = (reply: string): string[] => reply.split('\r\n').filter((x) => x.startsWith('m'));
    expect(members(e.call('SPOP', 's', '3'))).toEqual(['m51', 'm81', 'm40']);
    expect(e.call('SPOP', 's')).toBe('$3\r\nm82\r\n');
    expect(members(e.call('SPOP', 's', '40'))).toEqual([
      'm18', 'm47', 'm23', 'm11', 'm30', 'm57', 'm92', 'm50', 'm87', 'm98', 'm35', 'm45', 'm46', 'm80', 'm25', 'm29', 'm93', 'm62', 'm61', 'm49',
      'm55', 'm71', 'm65', 'm99', 'm32', 'm53', 'm89', 'm33', 'm44', 'm17', 'm24', 'm48', 'm95', 'm75', 'm54', 'm86', 'm94', 'm39', 'm4', 'm90',
    ]);
    expect(members(e.call('SPOP', 's', '60'))).toEqual([
      'm0', 'm1', 'm2', 'm3', 'm56', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm69', 'm12', 'm13', 'm14', 'm15', 'm16', 'm66', 'm63', 'm19',
      'm20', 'm21', 'm22', 'm79', 'm73', 'm60', 'm26', 'm27', 'm28', 'm96', 'm91', 'm31', 'm74', 'm68', 'm34', 'm85', 'm36', 'm37', 'm38', 'm58',
      'm97', 'm41', 'm42', 'm43', 'm67', 'm84', 'm83', 'm59', 'm64', 'm76', 'm88', 'm72', 'm52', 'm70', 'm77', 'm78',
    ]);
  });
});
