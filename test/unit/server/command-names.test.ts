/**
 * The command names the request parser recognises from bytes
 * (server/command-names.ts): each listed name, all upper and all lower
 * case, gives back exactly itself; every other spelling, length or byte
 * gives undefined (the parser then makes the string from the bytes).
 */
import { describe, expect, it } from 'vitest';
import { KNOWN_NAMES, commandName } from '../../../src/server/command-names.js';
import { xorshiftPrng } from '../../../src/util/prng.js';

/** The name as the parser finds it: in a request, its CRLF and the next argument after it. */
const at = (s: string, pad = 3): [Buffer, number, number] => {
  const b = Buffer.from('*2\r' + s + '\r\n$3\r\nkey\r\n', 'latin1');
  return [b, pad, pad + s.length];
};

describe('commandName', () => {
  it('knows each listed name, all upper and all lower case, as itself', () => {
    expect(KNOWN_NAMES.length).toBeGreaterThan(10);
    for (const name of KNOWN_NAMES) {
      expect(name).toBe(name.toUpperCase());
      for (const s of [name, name.toLowerCase()]) expect(commandName(...at(s))).toBe(s);
    }
  });

  it('gives undefined for mixed case, other names, prefixes and extensions', () => {
    for (const name of KNOWN_NAMES) {
      const mixed = name[0]!.toLowerCase() + name.slice(1);
      expect(commandName(...at(mixed))).toBeUndefined();
      expect(commandName(...at(name.slice(0, -1)))).toBeUndefined();
      expect(commandName(...at(name + 'X'))).toBeUndefined();
      expect(commandName(...at(name.slice(0, -1) + '\0'))).toBeUndefined();
    }
    for (const s of ['', 'G', 'GE', 'FOO', 'GETT', 'GETRANGE', 'CLIENT', 'ge\u00f4', 'SETX', 'LPUSHX', 'EVALSHA_RO']) expect(commandName(...at(s))).toBeUndefined();
  });

  it('gives undefined for a name with fewer than 8 bytes after its start in the buffer (the parser makes the string)', () => {
    const b = Buffer.from('GET\r\n', 'latin1');
    expect(commandName(b, 0, 3)).toBeUndefined();
    expect(commandName(Buffer.from('GET\r\n$3\r', 'latin1'), 0, 3)).toBe('GET');
  });

  it('answers random byte strings only with the name they spell', () => {
    const rand = xorshiftPrng(7);
    const known = new Set(KNOWN_NAMES.flatMap((n) => [n, n.toLowerCase()]));
    const pick = 'GETSLPUSHADXMIOCRNVgetslpushadxmiocrnv\0\xff';
    for (let i = 0; i < 20000; i++) {
      const len = 1 + Math.floor(rand() * 8);
      let s = '';
      for (let j = 0; j < len; j++) s += pick[Math.floor(rand() * pick.length)];
      const got = commandName(...at(s));
      expect(got).toBe(known.has(s) ? s : undefined);
    }
  });
});
