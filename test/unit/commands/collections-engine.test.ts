/**
 * Hash and set behaviour the differential scripts cannot pin down: expiry
 * with a fixed clock, the HSCAN/SSCAN guarantee under concurrent writes,
 * reads never reaching the copy-on-write hook, and empty values never kept.
 */
import { describe, expect, it } from 'vitest';
import { parseReply, type Reply } from '../../helpers/engine-diff.js';
import { Engine } from '../../helpers/engine.js';

const strings = (r: Reply): string[] => ('items' in r ? r.items.map((x) => ('v' in x ? x.v : '')) : []);

/** Walks HSCAN/SSCAN to cursor 0, running `between` after every call; returns every member seen. */
function walk(e: Engine, cmd: string, key: string, count: number, between: (step: number) => void, pairs: boolean): string[] {
  const seen: string[] = [];
  let cursor = '0';
  for (let step = 0; step < 100_000; step++) {
    const [r] = parseReply(e.call(cmd, key, cursor, 'COUNT', String(count)));
    const [c, list] = (r as { items: Reply[] }).items as [Reply, Reply];
    const xs = strings(list);
    for (let i = 0; i < xs.length; i += pairs ? 2 : 1) seen.push(xs[i]!);
    cursor = 'v' in c ? c.v : '0';
    if (cursor === '0') return seen;
    between(step);
  }
  throw new Error('scan did not finish');
}

describe('collections on the engine', () => {
  it('an expired hash or set is absent for reads and replaced by writes', () => {
    let now = 1_000_000;
    const e = new Engine({ clock: () => now });
    e.call('HSET', 'h', 'a', '1', 'b', '2');
    e.call('SADD', 's', 'x', 'y');
    e.call('PEXPIRE', 'h', '100');
    e.call('PEXPIRE', 's', '100');
    now += 100;
    expect(e.call('HGET', 'h', 'a')).toBe('$-1\r\n');
    expect(e.call('SCARD', 's')).toBe(':0\r\n');
    expect(e.call('TYPE', 'h')).toBe('+none\r\n');
    expect(e.call('HSET', 'h', 'c', '3')).toBe(':1\r\n');
    expect(e.call('HLEN', 'h')).toBe(':1\r\n');
    expect(e.call('PTTL', 'h')).toBe(':-1\r\n');
    expect(e.call('SADD', 's', 'z')).toBe(':1\r\n');
    expect(e.call('SMEMBERS', 's')).toBe('*1\r\n$1\r\nz\r\n');
    // A write that only reads the set still treats it as gone.
    e.call('SADD', 't', 'm');
    e.call('PEXPIRE', 't', '10');
    now += 10;
    expect(e.call('SMOVE', 't', 'u', 'm')).toBe(':0\r\n');
    expect(e.call('SPOP', 't')).toBe('$-1\r\n');
  });

  it('never keeps an empty hash or set', () => {
    const e = new Engine();
    e.call('HSET', 'h', 'a', '1');
    e.call('HDEL', 'h', 'a');
    e.call('SADD', 's', 'a', 'b');
    e.call('SREM', 's', 'a', 'b');
    e.call('SADD', 'p', 'a', 'b');
    e.call('SPOP', 'p', '2');
    e.call('SADD', 'm', 'a');
    e.call('SMOVE', 'm', 'n', 'a');
    e.call('SADD', 'q', 'a');
    e.call('SPOP', 'q');
    e.call('SINTERSTORE', 'i', 'nokey');
    e.call('SDIFFSTORE', 'd', 'n', 'n');
    expect(e.call('DBSIZE')).toBe(':1\r\n');
    expect(e.call('EXISTS', 'n')).toBe(':1\r\n');
  });

  it('HSCAN and SSCAN return every member present for the whole walk, with writes between calls', () => {
    const e = new Engine();
    const fields: string[] = [];
    const members: string[] = [];
    for (let i = 0; i < 1000; i++) {
      fields.push(`f${i}`, `v${i}`);
      members.push(`m${i}`);
    }
    e.call('HSET', 'h', ...fields);
    e.call('SADD', 's', ...members);
    // Between calls: delete one of the first members, add a new one.
    let hashSteps = 0;
    const hashSeen = walk(e, 'HSCAN', 'h', 7, (step) => {
      hashSteps++;
      e.call('HDEL', 'h', `f${step}`);
      e.call('HSET', 'h', `new${step}`, 'x');
    }, true);
    let setSteps = 0;
    const setSeen = walk(e, 'SSCAN', 's', 7, (step) => {
      setSteps++;
      e.call('SREM', 's', `m${step}`);
      e.call('SADD', 's', `new${step}`);
    }, false);
    for (const [seen, prefix, steps] of [[hashSeen, 'f', hashSteps], [setSeen, 'm', setSteps]] as const) {
      const set = new Set(seen);
      expect(set.size).toBe(seen.length);
      expect(steps).toBeGreaterThan(100);
      // Members present throughout: those the walk did not delete.
      for (let i = steps; i < 1000; i++) expect(set.has(`${prefix}${i}`)).toBe(true);
    }
  });

  it('refuses a negative count whose reply would not fit in memory instead of crashing', () => {
    const e = new Engine();
    e.call('SADD', 's', 'x'.repeat(1000), 'y'.repeat(1000));
    e.call('HSET', 'h', 'f', 'v'.repeat(1000));
    const tooBig = 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';
    expect(e.call('SRANDMEMBER', 's', '-1000000')).toBe(`-${tooBig}\r\n`);
    expect(e.call('HRANDFIELD', 'h', '-1000000', 'WITHVALUES')).toBe(`-${tooBig}\r\n`);
    expect(e.call('SRANDMEMBER', 's', '-9223372036854775807')).toBe(`-${tooBig}\r\n`);
    expect(e.call('SRANDMEMBER', 's', '-1000').startsWith('*1000\r\n')).toBe(true);
    expect(e.call('HRANDFIELD', 'h', '-1000').startsWith('*1000\r\n')).toBe(true);
  });

  it('read commands never reach the copy-on-write hook (GuardedKeyspace throws if they do)', () => {
    const e = new Engine();
    e.call('HSET', 'h', 'a', '1');
    e.call('SADD', 's', 'a', 'b');
    e.call('SET', 'b', 'xyz');
    for (const argv of [
      ['HGETALL', 'h'],
      ['HRANDFIELD', 'h', '-3', 'WITHVALUES'],
      ['HSCAN', 'h', '0'],
      ['SMEMBERS', 's'],
      ['SRANDMEMBER', 's', '-5'],
      ['SINTER', 's', 's'],
      ['SUNION', 's', 'h2'],
      ['SDIFF', 's', 'x'],
      ['SINTERCARD', '1', 's'],
      ['SSCAN', 's', '0'],
      ['BITCOUNT', 'b'],
      ['BITPOS', 'b', '1'],
      ['BITFIELD_RO', 'b', 'GET', 'u8', '0'],
      ['GETBIT', 'b', '3'],
      ['OBJECT', 'ENCODING', 's'],
      ['MEMORY', 'USAGE', 'h'],
    ]) {
      expect(() => e.call(...argv)).not.toThrow();
    }
    e.db.readOnly = true;
    expect(() => e.db.getMutable('h', Date.now())).toThrow(/getMutable/);
    e.db.readOnly = false;
  });
});
