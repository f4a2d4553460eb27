/**
 * Stream commands, differential against redis-server (RESP2 and RESP3,
 * byte for byte): fixed scripts for every command, option and error, and a
 * seeded random command generator over XADD / XDEL / XTRIM / XRANGE /
 * XREADGROUP / XACK / XCLAIM / XPENDING with explicit IDs.
 */
import { useDifferential } from '../helpers/engine-diff.js';
import { streamScripts } from './stream-scripts.js';

const env = useDifferential();

env.itRunsScripts(streamScripts);
