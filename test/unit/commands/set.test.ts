/**
 * Set commands, differential: every script runs on a real redis-server and
 * on the in-process engine, in RESP2 and RESP3, replies compared byte for
 * byte (as sets or pairs where Redis's order is its hash table's, by
 * property where the reply is random).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Differential } from '../../helpers/engine-diff.js';
import { setScripts } from './set-scripts.js';

let diff: Differential;

beforeAll(async () => {
  diff = await Differential.start();
});
afterAll(async () => {
  await diff?.stop();
});

describe('set commands vs redis-server', () => {
  for (const [name, steps] of Object.entries(setScripts)) {
    for (const proto of [2, 3] as const) {
      it(`${name} (RESP${proto})`, async () => {
        const r = await diff.run(steps, proto);
        expect(r.mismatches).toEqual([]);
        expect(r.compared).toBeGreaterThan(0);
      });
    }
  }
});
