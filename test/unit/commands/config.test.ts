/**
 * The Config store against the generated table: what redis-server refused
 * while it was probed (recorded in the table), raftis refuses with the same
 * text at the same stage; every parameter starts at redis-server's default
 * (or raftis's own value); the hand-written parsers cover every special
 * parameter. The byte-for-byte comparisons are test/differential/config.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CONFIG_TABLE, Config } from '../../../src/commands/engine/config.js';
import { SPECIAL_NAMES, formatPercentile, memtoull, strtoll } from '../../../src/commands/engine/config-values.js';

const instance = { port: '7000', bind: '127.0.0.1', dir: '/data', 'cluster-port': '0' };

describe('Config and the generated table', () => {
  it('has a parser for every special parameter, and nothing else', () => {
    expect(CONFIG_TABLE.filter((p) => p.type === 'special').map((p) => p.name).sort()).toEqual([...SPECIAL_NAMES].sort());
  });

  it("starts every parameter at redis-server's default, or at what raftis is", () => {
    const config = new Config(instance);
    for (const p of CONFIG_TABLE) {
      const own = (instance as Record<string, string>)[p.name];
      expect(config.get(p.name), p.name).toBe(p.raftisValue ?? p.default ?? own);
    }
  });

  it('refuses what redis-server refused when probed, with its text, while setting or applying as it did', () => {
    let checked = 0;
    for (const p of CONFIG_TABLE) {
      if (p.flags.includes('immutable') || p.flags.includes('protected')) continue;
      for (const [value, { error, phase }] of Object.entries(p.rejects ?? {})) {
        const config = new Config(instance);
        expect(config.set([[p.name, value]]), `${p.name} ${value}`).toBe(`ERR CONFIG SET failed (possibly related to argument '${p.name}') - ${error}`);
        // Refused while applying: a bad value of another parameter after it is answered first.
        const after = config.set([
          [p.name, value],
          ['timeout', 'x'],
        ]);
        expect(after?.includes(`argument '${phase === 'apply' ? 'timeout' : p.name}'`), `${p.name} ${value} (${phase})`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it('sets all or none', () => {
    const config = new Config(instance);
    expect(config.set([['timeout', '5'], ['maxmemory', 'x']])).toMatch(/argument 'maxmemory'/);
    expect(config.get('timeout')).toBe('0');
    expect(config.set([['timeout', '5'], ['maxmemory', '1mb'], ['hash-max-ziplist-entries', '7']])).toBeUndefined();
    expect([config.get('timeout'), config.get('maxmemory'), config.get('hash-max-listpack-entries')]).toEqual(['5', '1048576', '7']);
    expect(config.lookup('HASH-MAX-ZIPLIST-ENTRIES')?.param.text).toBe('7');
  });

  it('tells watchers of a change only', () => {
    const config = new Config(instance);
    let calls = 0;
    config.watch('hz', () => calls++);
    expect(calls).toBe(1);
    config.set([['hz', '10']]);
    expect(calls).toBe(1);
    config.set([['hz', '1000']]);
    expect([calls, config.get('hz')]).toEqual([2, '500']);
  });
});

describe('value parsing', () => {
  it('memtoull: units, saturating digits, wrapping products', () => {
    expect(memtoull('')).toBe(0n);
    expect(memtoull('kb')).toBe(0n);
    expect(memtoull('5KB')).toBe(5120n);
    expect(memtoull('1gB')).toBe(1073741824n);
    expect(memtoull('99999999999999999999')).toBe(18446744073709551615n);
    expect(memtoull('18446744073709551615kb')).toBe(18446744073709550592n);
    expect(memtoull('17179869184gb')).toBe(0n);
    expect(memtoull('64\0junk')).toBe(64n);
    for (const bad of ['-0', '+5', ' 5', '5 ', '1.5mb', '5bb', '0x10']) expect(memtoull(bad), bad).toBeNull();
  });

  it('strtoll: leading space, a sign, saturation', () => {
    expect(strtoll('\t5')).toEqual({ value: 5n, end: 2 });
    expect(strtoll('+7x')).toEqual({ value: 7n, end: 2 });
    expect(strtoll('99999999999999999999').value).toBe(9223372036854775807n);
    expect(strtoll('-99999999999999999999').value).toBe(-9223372036854775808n);
    expect(strtoll(' ').end).toBe(0);
  });

  it('"%f" with trailing zeros trimmed, halves to even as glibc', () => {
    expect(formatPercentile(0.0078125)).toBe('0.007812');
    expect(formatPercentile(0.0234375)).toBe('0.023438');
    expect(formatPercentile(3.14159265358979)).toBe('3.141593');
    expect(formatPercentile(99.99999999)).toBe('100');
    expect(formatPercentile(-0)).toBe('-0');
    expect(formatPercentile(1e-7)).toBe('0');
    expect(formatPercentile(50)).toBe('50');
    expect(formatPercentile(99.9)).toBe('99.9');
  });
});
