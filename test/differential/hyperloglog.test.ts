/**
 * HyperLogLog commands, differential against redis-server (RESP2 and RESP3,
 * byte for byte): fixed scripts for every command, option and error, and
 * seeded random element sets of sizes across the sparse → dense promotion,
 * comparing PFADD's replies, PFCOUNT and the raw bytes GET returns.
 */
import { describe, expect, it } from 'vitest';
import type { Mismatch, Step } from '../helpers/engine-diff.js';
import { useDifferential } from '../helpers/engine-diff.js';
import { createPrng } from '../../src/util/prng.js';
import { hllScripts } from './hyperloglog-scripts.js';

const env = useDifferential();

/** A mismatch without the 12 kB of a dense HLL twice over: the first differing byte and what is around it. */
function brief(m: Mismatch): string {
  let i = 0;
  while (i < m.redis.length && m.redis[i] === m.raftis[i]) i++;
  const around = (s: string): string => JSON.stringify(s.slice(Math.max(0, i - 20), i + 40));
  return `${m.proto} step ${m.step} ${m.cmd.slice(0, 60)}: at byte ${i} of ${m.redis.length}/${m.raftis.length}: redis ${around(m.redis)} raftis ${around(m.raftis)}`;
}

/** A random element: short or long, printable or binary. */
function element(rand: () => number): string {
  const len = rand() < 0.7 ? 1 + Math.floor(rand() * 12) : Math.floor(rand() * 40);
  let s = '';
  const binary = rand() < 0.3;
  for (let i = 0; i < len; i++) s += String.fromCharCode(binary ? Math.floor(rand() * 256) : 97 + Math.floor(rand() * 26));
  return s;
}

/** Adds `size` random elements to key `h` in random batches, checking counts and bytes along the way. */
function randomSet(seed: number, size: number): Step[] {
  const rand = createPrng(seed);
  const steps: Step[] = [];
  let added = 0;
  for (let round = 0; added < size && round < 1000; round++) {
    const batch = Math.min(size - added, 1 + Math.floor(rand() * Math.max(1, size / 6)));
    const els: string[] = [];
    for (let i = 0; i < batch; i++) els.push(element(rand));
    added += batch;
    steps.push(['PFADD', 'h', ...els]);
    if (rand() < 0.5) steps.push(['GET', 'h']);
    steps.push(['PFCOUNT', 'h'], ['GET', 'h']);
    if (rand() < 0.3) steps.push(['PFADD', 'h2', ...els.slice(0, Math.ceil(els.length / 2))]);
  }
  steps.push(['PFDEBUG', 'ENCODING', 'h'], ['PFCOUNT', 'h', 'h2'], ['PFMERGE', 'm', 'h2', 'h'], ['GET', 'm'], ['PFCOUNT', 'm'], ['GET', 'm']);
  return steps;
}

describe('HyperLogLog commands vs redis-server', () => {
  env.itRunsScripts(hllScripts);

  const SIZES = [1, 20, 150, 600, 1200, 2500, 6000];
  for (const [i, size] of SIZES.entries()) {
    it(`random element sets of ${size} (sparse → dense), RESP2 and RESP3`, async () => {
      const steps = randomSet(1000 + i, size);
      for (const proto of [2, 3] as const) {
        const r = await env.diff.run(steps, proto);
        expect(r.mismatches.map(brief)).toEqual([]);
        expect(r.compared).toBe(steps.length);
      }
    });
  }
});
