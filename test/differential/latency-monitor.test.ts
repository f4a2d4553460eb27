/**
 * The latency monitor against redis-server: LATENCY LATEST / HISTORY /
 * RESET while it is off, latency-monitor-threshold's CONFIG errors, and,
 * with a 1 ms threshold, the "command" event a slow command (KEYS over
 * 200,000 keys) records — same shape, a time of now, a latency of at least
 * the threshold — and RESET by name, case-insensitive.
 */
import { describe, expect, it } from 'vitest';
import { encodeCommand, type RawClient } from '../helpers/raw-client.js';
import { parseReply, replyItems, replyValue, type Reply } from '../helpers/engine-diff.js';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient as Raw } from '../helpers/raw-client.js';
import { LATENCY_DOCTOR, latencyReport } from '../../src/commands/latency.js';
import { LatencyMonitor } from '../../src/commands/engine/latency-monitor.js';

const env = useProcessDifferential();

async function load(c: RawClient, n: number): Promise<void> {
  const batch = 1000;
  let raw = '';
  for (let i = 0; i < n; i += batch) {
    const args = ['MSET'];
    for (let j = i; j < i + batch; j++) args.push(`lm:${j}`, 'v');
    raw += encodeCommand(args);
  }
  c.sock.write(Buffer.from(raw, 'latin1'));
  for (let i = 0; i < n; i += batch) expect(await c.next()).toBe('+OK\r\n');
}

/** LATENCY LATEST's "command" event as [time, latest, max], or undefined. */
function commandEvent(raw: string): number[] | undefined {
  const [r] = parseReply(raw);
  for (const e of replyItems(r)) {
    const [name, ...nums] = replyItems(e);
    if (replyValue(name as Reply) === 'command') return nums.map((x) => Number(replyValue(x)));
  }
  return undefined;
}

describe('latency monitor', () => {
  it('is off by default: LATENCY LATEST, HISTORY and RESET answer as redis-server', async () => {
    const [a, b] = await env.pair();
    await same(a, b, 'CONFIG', 'GET', 'latency-monitor-threshold');
    await same(a, b, 'LATENCY', 'LATEST');
    await same(a, b, 'LATENCY', 'HISTORY', 'command');
    await same(a, b, 'LATENCY', 'HISTORY');
    await same(a, b, 'LATENCY', 'RESET');
    await same(a, b, 'LATENCY', 'RESET', 'command', 'fast-command');
    await same(a, b, 'LATENCY', 'LATEST', 'extra');
    for (const v of ['-1', 'x', '1.5', '']) await same(a, b, 'CONFIG', 'SET', 'latency-monitor-threshold', v);
  });

  it('records a slow command as the "command" event, and RESET forgets it', async () => {
    const [a, b] = await env.pair();
    const now = Math.floor(Date.now() / 1000);
    const events: number[][] = [];
    for (const c of [a, b]) {
      expect(await c.call('FLUSHALL')).toBe('+OK\r\n');
      await load(c, 200_000);
      expect(await c.call('CONFIG', 'SET', 'latency-monitor-threshold', '1')).toBe('+OK\r\n');
      await c.call('LATENCY', 'RESET');
      expect(await c.call('KEYS', '*')).toMatch(/^\*200000\r\n/);
      const ev = commandEvent(await c.call('LATENCY', 'LATEST'));
      expect(ev, 'no "command" event').toBeDefined();
      events.push(ev!);
      const [hist] = parseReply(await c.call('LATENCY', 'HISTORY', 'command'));
      const samples = replyItems(hist).map((s) => replyItems(s).map((x) => Number(replyValue(x))));
      expect(samples.length).toBeGreaterThanOrEqual(1);
      // The newest sample is LATEST's.
      expect(samples[samples.length - 1]).toEqual(ev!.slice(0, 2));
      expect(await c.call('LATENCY', 'RESET', 'COMMAND', 'nosuch')).toBe(':1\r\n');
      expect(commandEvent(await c.call('LATENCY', 'LATEST'))).toBeUndefined();
      expect(await c.call('CONFIG', 'SET', 'latency-monitor-threshold', '0')).toBe('+OK\r\n');
      await c.call('LATENCY', 'RESET');
      expect(await c.call('FLUSHALL')).toBe('+OK\r\n');
    }
    for (const [time, latest, max] of events) {
      expect(Math.abs(time! - now)).toBeLessThan(60);
      expect(latest).toBeGreaterThanOrEqual(1);
      expect(max).toBeGreaterThanOrEqual(latest!);
    }
  }, 60_000);

  for (const proto of [2, 3] as const) {
    it(`LATENCY DOCTOR: off, on with no spike, a slow command's report and advice, as redis-server writes them (RESP${proto})`, async () => {
      const a = await Raw.connect(env.diff.redis.port);
      if (proto === 3) await a.call('HELLO', '3');
      const b = await env.connect(proto);
      // The numbers (latencies, period, the threshold in µs) are each server's own; the text around them must be the same.
      const masked = (r: string): string => r.replace(/\d+/g, 'N');
      const both = async (...cmd: string[]): Promise<string> => {
        const [ra, rb] = [await a.call(...cmd), await b.call(...cmd)];
        expect(masked(rb), cmd.join(' ')).toBe(masked(ra));
        return rb;
      };
      try {
        expect(await both('LATENCY', 'DOCTOR')).toContain("I'm sorry, Dave");
        await same(a, b, 'CONFIG', 'SET', 'latency-monitor-threshold', '1');
        // No spike yet. (A GC pause of 1 ms on a loaded machine is a spike for raftis: then its report starts.)
        expect(await a.call('LATENCY', 'DOCTOR')).toContain(LATENCY_DOCTOR.none);
        expect(await b.call('LATENCY', 'DOCTOR')).toMatch(/no latency spike was observed|^[$=]\d+\r\n(txt:)?Dave, I have observed/);
        // A script that runs well over 1 ms on both: the "command" event.
        for (const c of [a, b]) await c.call('EVAL', 'local i = 0 while i < 3000000 do i = i + 1 end return i', '0');
        const report = await both('LATENCY', 'DOCTOR');
        expect(report).toContain('1. command: 1 latency spikes (average ');
        expect(report).toContain(LATENCY_DOCTOR.slowlogTune(1000));
        await same(a, b, 'CONFIG', 'SET', 'slowlog-log-slower-than', '-1');
        expect(await both('LATENCY', 'DOCTOR')).toContain(LATENCY_DOCTOR.slowlogEnable(1000));
        await same(a, b, 'LATENCY', 'DOCTOR', 'extra');
      } finally {
        for (const c of [a, b]) {
          await c.call('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
          await c.call('CONFIG', 'SET', 'latency-monitor-threshold', '0');
          await c.call('LATENCY', 'RESET');
        }
        a.close();
      }
    }, 30_000);
  }

  it("LATENCY DOCTOR's statistics and the fast-command advice (latency.c analyzeLatencyForEvent)", () => {
    const m = new LatencyMonitor();
    m.threshold = 2;
    const t0 = 1_000_000;
    m.addIfNeeded('fast-command', 4, t0 * 1000);
    m.addIfNeeded('fast-command', 9, (t0 + 1) * 1000);
    m.addIfNeeded('fast-command', 1, (t0 + 2) * 1000); // under the threshold: not a sample
    m.addIfNeeded('fast-command', 6, (t0 + 3) * 1000);
    // avg (4+9+6)/3 = 6, mean deviation (2+3+0)/3 = 1, period 10 s over 3 samples.
    expect(latencyReport(m, { slowerThan: 10_000, maxLen: 128 }, t0 + 10)).toBe(
      LATENCY_DOCTOR.header +
        '1. fast-command: 3 latency spikes (average 6ms, mean deviation 1ms, period 3.33 sec). Worst all time event 9ms.\n' +
        LATENCY_DOCTOR.advices +
        LATENCY_DOCTOR.scheduler,
    );
  });
});
