/**
 * Set commands, differential: every script runs on a real redis-server and
 * on the in-process engine, in RESP2 and RESP3, replies compared byte for
 * byte (as sets or pairs where Redis's order is its hash table's, by
 * property where the reply is random).
 */
import { describe } from 'vitest';
import { useDifferential } from '../helpers/engine-diff.js';
import { setScripts } from './set-scripts.js';

const env = useDifferential();

describe('set commands vs redis-server', () => {
  env.itRunsScripts(setScripts);
});
