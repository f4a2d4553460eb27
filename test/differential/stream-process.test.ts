/**
 * The stream scripts against a raftis *process* (the network, dispatch,
 * writes through the Raft log, reads after the barrier), byte-compared with
 * redis-server in RESP2 and RESP3, MULTI/EXEC included.
 */
import { describe } from 'vitest';
import { useProcessDifferential } from '../helpers/process-differential.js';
import type { Step } from '../helpers/engine-diff.js';
import { streamScripts } from './stream-scripts.js';
import { streamSignalScripts } from './stream-signal-scripts.js';

const env = useProcessDifferential();

const transactions: Step[] = [
  ['XADD', 's', '1-1', 'a', 'b'],
  ['MULTI'],
  ['XADD', 's', '2-1', 'c', 'd'],
  ['XGROUP', 'CREATE', 's', 'g', '0'],
  ['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '1', 'STREAMS', 's', '>'],
  ['XREADGROUP', 'GROUP', 'g', 'c2', 'BLOCK', '0', 'STREAMS', 's', '>'],
  ['XREADGROUP', 'GROUP', 'g', 'c2', 'BLOCK', '0', 'STREAMS', 's', '>'],
  ['XACK', 's', 'g', '1-1'],
  ['XPENDING', 's', 'g'],
  ['XADD', 's', '1-1', 'x', 'y'],
  ['XLEN', 's'],
  ['EXEC'],
  ['XINFO', 'GROUPS', 's'],
  // (WATCH then each stream command: stream-signal-scripts.ts.)
  ['WATCH', 's'],
  ['XADD', 's', '9-9', 'e', 'f'],
  ['MULTI'],
  ['XLEN', 's'],
  ['EXEC'],
  ['WATCH', 's'],
  ['XRANGE', 's', '-', '+'],
  ['MULTI'],
  ['XLEN', 's'],
  ['EXEC'],
];

describe('stream scripts: raftis process vs redis-server', () => {
  env.itRunsScripts([...Object.entries(streamScripts), ['transactions', transactions], ...Object.entries(streamSignalScripts)]);
});
