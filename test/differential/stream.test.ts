/**
 * Stream commands, differential against redis-server (RESP2 and RESP3,
 * byte for byte): fixed scripts for every command, option and error, and a
 * seeded random command generator over XADD / XDEL / XTRIM / XRANGE /
 * XREADGROUP / XACK / XCLAIM / XPENDING with explicit IDs.
 */
import { describe, expect, it } from 'vitest';
import { useDifferential, type Step } from '../helpers/engine-diff.js';
import { createPrng } from '../../src/util/prng.js';
import { INTS, streamScripts } from './stream-scripts.js';

const env = useDifferential();

env.itRunsScripts(streamScripts);

/** Random stream traffic on two keys and two groups, explicit IDs, min-idle 0 (nothing depends on the clock but masked integers). */
function randomTraffic(seed: number, n: number): Step[] {
  const rand = createPrng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (k: number): number => Math.floor(rand() * k);
  const keys = ['s', 't'];
  const groups = ['g1', 'g2'];
  const consumers = ['a', 'b', 'c'];
  const last: Record<string, number> = { s: 0, t: 0 };
  /** An ID near the stream's head: existing, deleted, or never used. */
  const someId = (key: string): string => `${1 + int(last[key]! + 3)}-${int(3)}`;
  const bound = (key: string): string => pick(['-', '+', someId(key), `(${someId(key)}`, String(1 + int(last[key]! + 2))]);
  const steps: Step[] = [];
  for (const k of keys) steps.push(['XGROUP', 'CREATE', k, 'g1', '0', 'MKSTREAM']);
  for (let i = 0; i < n; i++) {
    const key = pick(keys);
    const r = rand();
    if (r < 0.3) {
      // Mostly increasing IDs, now and then a stale one (an error) or `<ms>-*`.
      const ms = last[key]! + (rand() < 0.9 ? 1 + int(2) : -int(3));
      if (ms > last[key]!) last[key] = ms;
      const fields = rand() < 0.7 ? ['f', String(int(1000))] : ['f', String(int(10)), pick(['x', 'y', 'f2']), 'v'.repeat(int(40))];
      const trim = rand() < 0.15 ? [pick(['MAXLEN', 'MINID']), pick(['=', '~']), String(int(last[key]! + 1))] : [];
      steps.push(['XADD', key, ...(trim[0] === 'MAXLEN' ? ['MAXLEN', trim[1]!, String(int(40))] : trim), rand() < 0.2 ? `${ms}-*` : `${ms}-${int(3)}`, ...fields]);
    } else if (r < 0.37) {
      steps.push(['XDEL', key, ...Array.from({ length: 1 + int(3) }, () => someId(key))]);
    } else if (r < 0.41) {
      const strat = pick(['MAXLEN', 'MINID']);
      const arg = strat === 'MAXLEN' ? String(int(60)) : String(int(last[key]! + 1));
      const approx = rand() < 0.5;
      steps.push(['XTRIM', key, strat, approx ? '~' : '=', arg, ...(approx && rand() < 0.4 ? ['LIMIT', String(int(200))] : [])]);
    } else if (r < 0.5) {
      const rev = rand() < 0.3;
      const count = rand() < 0.5 ? ['COUNT', String(int(6))] : [];
      steps.push(rev ? ['XREVRANGE', key, bound(key), bound(key), ...count] : ['XRANGE', key, bound(key), bound(key), ...count]);
    } else if (r < 0.66) {
      const id = rand() < 0.75 ? '>' : pick(['0', someId(key)]);
      const opts = [...(rand() < 0.5 ? ['COUNT', String(1 + int(4))] : []), ...(rand() < 0.15 ? ['NOACK'] : [])];
      steps.push(['XREADGROUP', 'GROUP', pick(groups), pick(consumers), ...opts, 'STREAMS', key, id]);
    } else if (r < 0.74) {
      steps.push(['XACK', key, pick(groups), ...Array.from({ length: 1 + int(3) }, () => someId(key))]);
    } else if (r < 0.8) {
      const opts = [...(rand() < 0.3 ? ['JUSTID'] : []), ...(rand() < 0.2 ? ['FORCE'] : []), ...(rand() < 0.2 ? ['RETRYCOUNT', String(int(5))] : [])];
      steps.push(['XCLAIM', key, pick(groups), pick(consumers), '0', ...Array.from({ length: 1 + int(3) }, () => someId(key)), ...opts]);
    } else if (r < 0.84) {
      steps.push(['XAUTOCLAIM', key, pick(groups), pick(consumers), '0', pick(['0', someId(key)]), 'COUNT', String(1 + int(4)), ...(rand() < 0.3 ? ['JUSTID'] : [])]);
    } else if (r < 0.9) {
      steps.push(['XPENDING', key, pick(groups)]);
      steps.push({ cmd: ['XPENDING', key, pick(groups), bound(key), bound(key), String(int(8)), ...(rand() < 0.4 ? [pick(consumers)] : [])], cmp: INTS });
    } else if (r < 0.94) {
      steps.push(['XINFO', 'GROUPS', key], ['XINFO', 'STREAM', key], ['XLEN', key]);
    } else if (r < 0.96) {
      steps.push({ cmd: ['XINFO', 'STREAM', key, 'FULL', 'COUNT', String(int(5))], cmp: INTS });
    } else if (r < 0.98) {
      steps.push(pick([
        ['XGROUP', 'CREATE', key, 'g2', pick(['0', '$', someId(key)])],
        ['XGROUP', 'SETID', key, pick(groups), pick(['0', '$', someId(key)])],
        ['XGROUP', 'DELCONSUMER', key, pick(groups), pick(consumers)],
        ['XGROUP', 'DESTROY', key, 'g2'],
      ]));
    } else {
      steps.push({ cmd: ['XINFO', 'CONSUMERS', key, pick(groups)], cmp: INTS });
    }
  }
  for (const k of keys) steps.push(['XRANGE', k, '-', '+'], ['XINFO', 'STREAM', k], ['XINFO', 'GROUPS', k], ['XPENDING', k, 'g1']);
  return steps;
}

describe('stream commands vs redis-server: seeded random traffic', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}, RESP2 and RESP3`, async () => {
      const steps = randomTraffic(7100 + seed, 700);
      for (const proto of [2, 3] as const) {
        const r = await env.diff.run(steps, proto);
        expect(r.mismatches.slice(0, 3)).toEqual([]);
        expect(r.compared).toBe(steps.length);
        // The traffic did what it is for: every command answered something other than an error, and PELs filled and emptied.
        const worked = new Set<string>();
        steps.forEach((st, i) => {
          const cmd = Array.isArray(st) ? st : 'cmd' in st ? st.cmd : [];
          const reply = r.replies[i] ?? '-';
          if (!reply.startsWith('-') && !reply.startsWith('*0') && reply !== ':0\r\n') worked.add(cmd[0]!);
        });
        expect([...worked].sort()).toEqual(['XACK', 'XADD', 'XAUTOCLAIM', 'XCLAIM', 'XDEL', 'XGROUP', 'XINFO', 'XLEN', 'XPENDING', 'XRANGE', 'XREADGROUP', 'XREVRANGE', 'XTRIM']);
      }
    });
  }
});

/**
 * Wider random traffic: odd IDs (bare ms, max seq, 2^64-1), field sets that
 * defeat the master-field compression, values from empty to 700 bytes (byte
 * splits of nodes), integers that listpacks store as integers, trims with
 * LIMIT, XSETID, XGROUP CREATE with ENTRIESREAD and MKSTREAM, XREAD.
 */
function wideTraffic(seed: number, n: number): Step[] {
  const rand = createPrng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (k: number): number => Math.floor(rand() * k);
  const last: Record<string, number> = { s: 0, t: 0 };
  const someId = (key: string): string => pick([`${1 + int(last[key]! + 3)}-${int(3)}`, `${1 + int(last[key]! + 3)}`, '0', '18446744073709551615-18446744073709551615', `${int(last[key]! + 3)}-18446744073709551615`]);
  const steps: Step[] = [];
  for (let i = 0; i < n; i++) {
    const key = pick(['s', 't']);
    const r = rand();
    if (r < 0.35) {
      const ms = last[key]! + (rand() < 0.9 ? int(3) : -int(3));
      if (ms > last[key]!) last[key] = ms;
      const nf = 1 + int(4);
      const fields: string[] = [];
      for (let j = 0; j < nf; j++) fields.push(pick(['f', 'g', 'h', String(int(200)), '-5', '']), pick(['v', String(int(100000)), 'x'.repeat(int(700)), '-123', '9223372036854775807', '007']));
      const opt = rand() < 0.2 ? [pick(['MAXLEN', 'MINID']), pick(['=', '~']), String(int(last[key]! + 20)), ...(rand() < 0.3 ? ['LIMIT', String(int(300))] : [])] : [];
      if (opt[1] === '=' && opt[3] === 'LIMIT') opt.splice(3, 2);
      steps.push(['XADD', key, ...(rand() < 0.05 ? ['NOMKSTREAM'] : []), ...opt, pick([`${ms}-*`, `${ms}-${int(4)}`, `${ms}`]), ...fields]);
    } else if (r < 0.45) steps.push(['XDEL', key, someId(key), someId(key)]);
    else if (r < 0.5) steps.push(['XTRIM', key, pick(['MAXLEN', 'MINID']), pick(['~', '=']), String(int(last[key]! + 5)), ...(rand() < 0.3 ? ['LIMIT', String(int(300))] : [])]);
    else if (r < 0.55) steps.push([pick(['XRANGE', 'XREVRANGE']), key, pick(['-', '+', someId(key), '(' + someId(key)]), pick(['-', '+', someId(key), '(' + someId(key)]), ...(rand() < 0.5 ? ['COUNT', String(int(5) - 1)] : [])]);
    else if (r < 0.6) steps.push(['XINFO', 'STREAM', key]);
    else if (r < 0.64) steps.push(['XGROUP', 'CREATE', key, pick(['g', 'h']), pick(['0', '$', someId(key)]), ...(rand() < 0.3 ? ['ENTRIESREAD', String(int(20) - 1)] : []), ...(rand() < 0.2 ? ['MKSTREAM'] : [])]);
    else if (r < 0.72) steps.push(['XREADGROUP', 'GROUP', pick(['g', 'h']), pick(['a', 'b']), ...(rand() < 0.5 ? ['COUNT', String(int(4))] : []), ...(rand() < 0.2 ? ['NOACK'] : []), 'STREAMS', key, pick(['>', '>', '0', someId(key)])]);
    else if (r < 0.76) steps.push(['XINFO', 'GROUPS', key]);
    else if (r < 0.8) steps.push(['XSETID', key, `${1 + int(last[key]! + 3)}-${int(3)}`, ...(rand() < 0.3 ? ['ENTRIESADDED', String(int(50))] : []), ...(rand() < 0.3 ? ['MAXDELETEDID', someId(key)] : [])]);
    else if (r < 0.84) steps.push(['XACK', key, pick(['g', 'h']), someId(key), someId(key)]);
    else if (r < 0.88) steps.push(['XCLAIM', key, pick(['g', 'h']), pick(['a', 'b', 'c']), '0', someId(key), someId(key), ...(rand() < 0.3 ? ['FORCE'] : []), ...(rand() < 0.3 ? ['JUSTID'] : []), ...(rand() < 0.2 ? ['LASTID', someId(key)] : [])]);
    else if (r < 0.92) steps.push(['XAUTOCLAIM', key, pick(['g', 'h']), pick(['a', 'c']), '0', someId(key), 'COUNT', String(1 + int(3))]);
    else if (r < 0.95) steps.push({ cmd: ['XINFO', 'STREAM', key, 'FULL'], cmp: INTS });
    else if (r < 0.97) steps.push(['XREAD', 'COUNT', String(int(4)), 'STREAMS', key, pick(['$', '0', someId(key)])]);
    else steps.push(['XPENDING', key, pick(['g', 'h'])]);
  }
  return steps;
}
describe('stream commands vs redis-server: wider seeded random traffic', () => {
  for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
    it(`seed ${seed}, RESP2 and RESP3`, async () => {
      const steps = wideTraffic(seed, 400);
      for (const proto of [2, 3] as const) {
        const r = await env.diff.run(steps, proto);
        expect(r.mismatches.slice(0, 3)).toEqual([]);
        expect(r.compared).toBe(steps.length);
      }
    });
  }
});
