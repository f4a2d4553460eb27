import { describe, expect, it } from 'vitest';
import { provablyReadOnly } from '../../../src/commands/engine/script-readonly.js';

const WRITES = new Set(['set', 'incr', 'del', 'publish', 'lpush', 'eval']);
const READS = new Set(['get', 'hgetall', 'zrange', 'exists', 'ping', 'time', 'mget']);
/** Unknown names count as writes, as Scripts passes them. */
const mayWrite = (name: string): boolean => WRITES.has(name) || !READS.has(name);
const ro = (body: string): boolean => provablyReadOnly(body, mayWrite);

describe('provablyReadOnly', () => {
  it('accepts reads named by string literals, in any quoting, with comments and other redis.* helpers', () => {
    expect(ro("return redis.call('GET', KEYS[1])")).toBe(true);
    expect(ro('return redis.pcall("hgetall", KEYS[1])')).toBe(true);
    expect(ro('return redis.call([[ZRANGE]], KEYS[1], 0, -1)')).toBe(true);
    expect(ro("-- redis.call('set', 'x', 1)\nreturn redis.call('get', 'x')")).toBe(true);
    expect(ro("--[==[ redis.call('del', 'k') ]==] return redis.call('exists', 'k')")).toBe(true);
    expect(ro("local s = \"redis.call('set', 'k', 1)\" return redis.call('get', s)")).toBe(true);
    expect(ro("redis.setresp(3) redis.log(redis.LOG_NOTICE, 'x') return redis.sha1hex(redis.call('ping'))")).toBe(true);
    expect(ro("local t = {} t.redis = 1 t.load = 2 return redis.call('mget', 'a', 'b')")).toBe(true);
    expect(ro('return 1.5e+3 + 0x10 + .5')).toBe(true);
    expect(ro("return redis.call('time')")).toBe(true);
  });

  it('refuses writes, unknown or computed command names, and every way around the literal', () => {
    expect(ro("return redis.call('SET', KEYS[1], 'v')")).toBe(false);
    expect(ro("redis.call('get', 'a') return redis.pcall('incr', 'a')")).toBe(false);
    expect(ro("return redis.call('publish', 'c', 'm')")).toBe(false);
    expect(ro("return redis.call('nosuchcommand')")).toBe(false);
    expect(ro('return redis.call(ARGV[1], KEYS[1])')).toBe(false);
    expect(ro("return redis.call('g' .. 'et', KEYS[1])")).toBe(false);
    expect(ro("local rcall = redis.call return rcall('get', 'k')")).toBe(false);
    expect(ro("local r = redis return r.call('set', 'k', 1)")).toBe(false);
    expect(ro("return redis['call']('set', 'k', 1)")).toBe(false);
    expect(ro("return redis.call 'get'")).toBe(false);
    expect(ro("return pcall(redis.call, 'set', 'k', 1)")).toBe(false);
    expect(ro("return loadstring('return redis')().call('set', 'k', 1)")).toBe(false);
    expect(ro("return getfenv(1).redis.call('set', 'k', 1)")).toBe(false);
    expect(ro("return _G['re' .. 'dis'].call('set', 'k', 1)")).toBe(false);
    expect(ro("return rawget(_G, 'redis')")).toBe(false);
    expect(ro('return debug.getregistry()')).toBe(false);
    expect(ro("return redis:call('set')")).toBe(false);
  });

  it('refuses what it cannot read (unterminated strings and comments)', () => {
    expect(ro("return redis.call('get, KEYS[1])")).toBe(false);
    expect(ro("--[[ never closed\nreturn redis.call('get', 'k')")).toBe(false);
    expect(ro("return [==[ never closed ]]")).toBe(false);
  });
});
