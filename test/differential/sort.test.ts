/** SORT and SORT_RO, differential against redis-server (RESP2 and RESP3, byte for byte). */
import { describe, expect, it } from 'vitest';
import { useDifferential } from '../helpers/engine-diff.js';
import { Engine } from '../helpers/engine.js';
import { sortScripts } from './sort-scripts.js';

const env = useDifferential();

describe('SORT vs redis-server', () => {
  env.itRunsScripts(sortScripts);
});

describe('SORT on the engine', () => {
  it('refuses values strtod overflows or underflows on (redis-server 7.0 does too, when its errno is clear)', () => {
    const e = new Engine({ proto: 2 });
    const refused = "-ERR One or more scores can't be converted into double\r\n";
    e.call('RPUSH', 'big', '1', '1e999');
    expect(e.call('SORT', 'big')).toBe(refused);
    e.call('RPUSH', 'tiny', '1', '1e-400');
    expect(e.call('SORT', 'tiny')).toBe(refused);
    // The same values sorted as strings, and a value that is merely large, are fine.
    expect(e.call('SORT', 'big', 'ALPHA')).toBe('*2\r\n$1\r\n1\r\n$5\r\n1e999\r\n');
    e.call('RPUSH', 'ok', '1e308', '1');
    expect(e.call('SORT', 'ok')).toBe('*2\r\n$1\r\n1\r\n$5\r\n1e308\r\n');
  });
});
