/**
 * maxmemory beyond writes, beside redis-server 7.0: scripts over the limit
 * (a shebang script that may write gets -OOM before it runs, a no-writes or
 * allow-oom one runs, a script without a shebang gets -OOM at its first
 * denyoom call unless it wrote before, FCALL by the function's flags), and
 * eviction before any command, reads included.
 */
import { describe, expect, it } from 'vitest';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';
import type { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

const OOM = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
const infoField = (info: string, field: string): string | undefined => info.split('\r\n').find((l) => l.startsWith(`${field}:`))?.slice(field.length + 1);

const LIB = [
  '#!lua name=oomlib',
  "redis.register_function('w', function() return redis.call('set', 'k2', 'v') end)",
  "redis.register_function('g', function() return redis.call('get', 'k') end)",
  "redis.register_function{function_name='r', callback=function() return redis.call('get', 'k') end, flags={'no-writes'}}",
  "redis.register_function{function_name='o', callback=function() return redis.call('set', 'k3', 'v') end, flags={'allow-oom'}}",
].join('\n');

describe('maxmemory: scripts and reads', () => {
  it('EVAL / EVALSHA / FCALL over maxmemory: -OOM by the declared flags, or at the first denyoom call', async () => {
    const [a, b] = await env.pair();
    try {
      await same(a, b, 'FLUSHALL');
      await same(a, b, 'CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction');
      await same(a, b, 'FUNCTION', 'LOAD', 'REPLACE', LIB);
      const sha = await same(a, b, 'SCRIPT', 'LOAD', "return redis.call('set', 'k', 'by-sha')");
      // Keys stay in both datasets throughout (raftis counts no start-up overhead: an empty dataset is under any limit).
      await same(a, b, 'SET', 'k', 'v');
      await same(a, b, 'SET', 'keep', 'x'.repeat(100));
      await same(a, b, 'CONFIG', 'SET', 'maxmemory', '1');
      // A shebang without no-writes or allow-oom is denyoom: refused before it runs, whatever it does.
      expect(await same(a, b, 'EVAL', "#!lua\nreturn redis.call('set', 'k', 'v2')", '0')).toBe(OOM);
      expect(await same(a, b, 'EVAL', '#!lua\nreturn 1', '0')).toBe(OOM);
      await same(a, b, 'EVAL', "#!lua flags=no-writes\nreturn redis.call('get', 'k')", '0');
      expect(await same(a, b, 'EVAL', "#!lua flags=allow-oom\nreturn redis.call('set', 'k', 'allowed')", '0')).toBe('+OK\r\n');
      // Without a shebang: it runs, and its first denyoom call fails (the error names the script), reads go on.
      expect(await same(a, b, 'EVAL', "return redis.call('set', 'k', 'v3')", '0')).toMatch(/^-OOM command not allowed when used memory > 'maxmemory'\. script: [0-9a-f]{40}, on @user_script:1\.\r\n$/);
      await same(a, b, 'EVAL', "return redis.call('get', 'k')", '0');
      await same(a, b, 'EVAL', "redis.call('get', 'k'); return redis.pcall('set', 'k', 'v4')", '0');
      // A write that is not denyoom first: the script has written, later calls are not stopped.
      expect(await same(a, b, 'EVAL', "redis.call('del', 'nokey'); return redis.call('set', 'k', 'v5')", '0')).toBe('+OK\r\n');
      await same(a, b, 'EVALSHA', sha.slice(5, 45), '0');
      await same(a, b, 'GET', 'k');
      // FCALL: a function's flags always count (no flags: denyoom).
      expect(await same(a, b, 'FCALL', 'w', '0')).toBe(OOM);
      expect(await same(a, b, 'FCALL', 'g', '0')).toBe(OOM);
      await same(a, b, 'FCALL', 'r', '0');
      expect(await same(a, b, 'FCALL', 'o', '0')).toBe('+OK\r\n');
      await same(a, b, 'FCALL_RO', 'r', '0');
      expect(await same(a, b, 'FCALL_RO', 'w', '0')).toBe(OOM);
      // Queued under the limit, over it at EXEC: a transaction holding a denyoom script is discarded, one with a no-writes script runs.
      const [a2, b2] = await env.pair();
      await same(a, b, 'CONFIG', 'SET', 'maxmemory', '0');
      await same(a, b, 'MULTI');
      await same(a, b, 'EVAL', "#!lua\nreturn redis.call('get', 'k')", '0');
      await same(a2, b2, 'CONFIG', 'SET', 'maxmemory', '1');
      expect(await same(a, b, 'EXEC')).toBe(`-EXECABORT Transaction discarded because of: ${OOM.slice(1)}`);
      await same(a2, b2, 'CONFIG', 'SET', 'maxmemory', '0');
      await same(a, b, 'MULTI');
      await same(a, b, 'EVAL', "#!lua flags=no-writes\nreturn redis.call('get', 'k')", '0');
      await same(a, b, 'FCALL', 'r', '0');
      await same(a2, b2, 'CONFIG', 'SET', 'maxmemory', '1');
      await same(a, b, 'EXEC');
      // A script without a shebang in a transaction: EXEC runs it, and its first denyoom call fails (pre_command_oom_state of the EXEC).
      await same(a2, b2, 'CONFIG', 'SET', 'maxmemory', '0');
      await same(a, b, 'MULTI');
      await same(a, b, 'EVAL', "return redis.call('set', 'k', 'in-multi')", '0');
      await same(a, b, 'EVAL', "return redis.call('get', 'k')", '0');
      await same(a2, b2, 'CONFIG', 'SET', 'maxmemory', '1');
      expect(await same(a, b, 'EXEC')).toMatch(/^\*2\r\n-OOM command not allowed when used memory > 'maxmemory'\. script: [0-9a-f]{40}, on @user_script:1\.\r\n/);
      // Under the limit again, everything runs.
      await same(a, b, 'CONFIG', 'SET', 'maxmemory', '0');
      await same(a, b, 'FCALL', 'w', '0');
      await same(a, b, 'EVAL', "#!lua\nreturn redis.call('set', 'k', 'v6')", '0');
      await same(a, b, 'MGET', 'k', 'k2', 'k3');
    } finally {
      await same(a, b, 'CONFIG', 'SET', 'maxmemory', '0');
      await same(a, b, 'FUNCTION', 'FLUSH');
    }
  });

  /** Fills c, lowers maxmemory below what it holds, then sends only reads: evicted_keys once the dataset is within the limit. */
  async function readsEvict(c: RawClient, measure: string): Promise<{ evicted: number; used: number; limit: number }> {
    await c.call('FLUSHALL');
    await c.call('CONFIG', 'RESETSTAT');
    await c.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'allkeys-lru');
    const value = 'v'.repeat(500);
    for (let i = 0; i < 300; i++) await c.call('SET', `r:${i}`, value);
    const full = Number(infoField(await c.call('INFO', 'memory'), measure));
    // Redis's own overhead is about 1 MB of what it counts: take away half the data either way.
    const limit = full - 300 * 300;
    await c.call('CONFIG', 'SET', 'maxmemory', String(limit));
    let used = full;
    for (let i = 0; i < 200 && used > limit; i++) {
      await c.call('GET', `r:${i}`);
      await c.call('EXISTS', `r:${i + 1}`);
      used = Number(infoField(await c.call('INFO', 'memory'), measure));
    }
    const evicted = Number(infoField(await c.call('INFO', 'stats'), 'evicted_keys'));
    await c.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction');
    return { evicted, used, limit };
  }

  it('a dataset over maxmemory is evicted before reads too (no write sent)', async () => {
    const [a, b] = await env.pair();
    const ra = await readsEvict(a, 'used_memory');
    const rb = await readsEvict(b, 'used_memory_dataset');
    expect(ra.evicted).toBeGreaterThan(0);
    expect(rb.evicted).toBeGreaterThan(0);
    // redis-server's used_memory also counts client buffers, which move with each INFO it answers after evicting: a little slack there.
    expect(ra.used).toBeLessThanOrEqual(ra.limit + 64 * 1024);
    // raftis counts the dataset alone: within the limit exactly.
    expect(rb.used).toBeLessThanOrEqual(rb.limit);
    // Every key evicted is gone (an EvictKeys entry, applied as any other).
    expect(Number((await b.call('DBSIZE')).slice(1, -2))).toBe(300 - rb.evicted);
  });
});
