/**
 * SLOWLOG against redis-server: the errors and settings byte for byte, and,
 * with slowlog-log-slower-than 0 (log every command), the same entries:
 * arguments (trimmed at 32 arguments and 128 bytes as Redis trims them),
 * client address and name, newest first, bounded by slowlog-max-len. Ids and
 * durations are each server's own: ids must count down by one, durations be
 * integers.
 */
import { describe, expect, it } from 'vitest';
import { parseReply, replyItems as items, replyValue as text } from '../helpers/engine-diff.js';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';
import type { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();



/** SLOWLOG GET -1, parsed: per entry its id, duration, arguments, address and name. */
async function entries(c: RawClient): Promise<{ id: number; usec: string; argv: string[]; addr: string; name: string }[]> {
  const [r] = parseReply(await c.call('SLOWLOG', 'GET', '-1'));
  return items(r).map((e) => {
    const f = items(e);
    return { id: Number(text(f[0]!)), usec: text(f[2]!), argv: items(f[3]!).map(text), addr: text(f[4]!), name: text(f[5]!) };
  });
}

describe('SLOWLOG', () => {
  it('errors, settings and help as redis-server', async () => {
    const [a, b] = await env.pair();
    for (const cmd of [
      ['SLOWLOG', 'GET', '-2'],
      ['SLOWLOG', 'GET', 'x'],
      ['SLOWLOG', 'GET', '1', '2'],
      ['SLOWLOG', 'NOSUCH'],
      ['SLOWLOG', 'HELP'],
      ['CONFIG', 'GET', 'slowlog-max-len'],
      ['CONFIG', 'GET', 'slowlog-log-slower-than'],
      ['CONFIG', 'SET', 'slowlog-log-slower-than', 'x'],
      ['CONFIG', 'SET', 'slowlog-log-slower-than', '-5'],
      ['CONFIG', 'SET', 'slowlog-max-len', '-1'],
      ['CONFIG', 'SET', 'slowlog-max-len', 'x'],
      ['SLOWLOG', 'RESET'],
      ['SLOWLOG', 'LEN'],
    ]) {
      await same(a, b, ...cmd);
    }
  });

  it('logs every command when the threshold is 0, with the same entries as redis-server', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'CLIENT', 'SETNAME', 'slow-one');
    await same(a, b, 'CONFIG', 'SET', 'slowlog-log-slower-than', '0');
    await same(a, b, 'SLOWLOG', 'RESET');
    await same(a, b, 'SET', 'k', 'v');
    await same(a, b, 'GET', 'k');
    await same(a, b, 'SET', 'long', 'x'.repeat(300));
    await same(a, b, 'RPUSH', 'l', ...Array.from({ length: 40 }, (_, i) => `e${i}`));
    await same(a, b, 'INCR', 'k'); // fails: still logged
    await same(a, b, 'MULTI');
    await same(a, b, 'INCR', 'n');
    await same(a, b, 'EXEC'); // EXEC itself is flagged skip_slowlog; the INCR inside is logged
    const [ea, eb] = [await entries(a), await entries(b)];
    expect(eb.map((e) => e.argv)).toEqual(ea.map((e) => e.argv));
    expect(eb.map((e) => e.name)).toEqual(ea.map((e) => e.name));
    expect(eb.length).toBeGreaterThanOrEqual(8);
    expect(eb.find((e) => e.argv[0] === 'RPUSH')!.argv.at(-1)).toBe('... (11 more arguments)');
    expect(eb.find((e) => e.argv[1] === 'long')!.argv[2]).toBe(`${'x'.repeat(128)}... (172 more bytes)`);
    const me = / addr=(\S+)/.exec(await b.call('CLIENT', 'INFO'))![1]!;
    for (const [i, e] of eb.entries()) {
      expect(e.addr).toBe(me);
      expect(e.name).toBe('slow-one');
      expect(e.usec).toMatch(/^\d+$/);
      if (i > 0) expect(e.id).toBe(eb[i - 1]!.id - 1);
    }
    // slowlog-max-len bounds it from the next entry on.
    await same(a, b, 'CONFIG', 'SET', 'slowlog-max-len', '3');
    await same(a, b, 'PING');
    await same(a, b, 'SLOWLOG', 'LEN');
    expect(await b.call('SLOWLOG', 'LEN')).toBe(':3\r\n');
    // A negative threshold logs nothing.
    await same(a, b, 'CONFIG', 'SET', 'slowlog-log-slower-than', '-1');
    await same(a, b, 'SLOWLOG', 'RESET');
    await same(a, b, 'PING');
    await same(a, b, 'SLOWLOG', 'LEN');
    expect(await b.call('SLOWLOG', 'LEN')).toBe(':0\r\n');
  });
});
