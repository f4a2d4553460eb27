/**
 * WATCH and EXEC in one pipeline with the client's own writes, beside
 * redis-server 7.0: a write sent before WATCH is not a change after it (WATCH
 * waits for the client's writes in flight), and a write sent after WATCH,
 * even one still waiting in the same turn to be handed to the Raft core,
 * aborts the transaction (EXEC waits for every write proposed before it).
 */
import { describe, expect, it } from 'vitest';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { encodeCommand, type RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

async function pipeline(c: RawClient, cmds: string[][]): Promise<string[]> {
  const replies = cmds.map(() => c.next());
  c.sock.write(cmds.map(encodeCommand).join(''));
  return Promise.all(replies);
}

const CASES: [string, string[][]][] = [
  ['a SET after WATCH aborts', [['WATCH', 'k'], ['SET', 'k', 'v1'], ['MULTI'], ['GET', 'k'], ['EXEC']]],
  ['an INCR after WATCH aborts', [['WATCH', 'n'], ['INCR', 'n'], ['MULTI'], ['INCR', 'n'], ['EXEC'], ['GET', 'n']]],
  ['a SET before WATCH does not', [['SET', 'k', 'v2'], ['WATCH', 'k'], ['MULTI'], ['GET', 'k'], ['EXEC']]],
  ['writes before WATCH, then a write of another key', [['SET', 'k', 'a'], ['DEL', 'k'], ['WATCH', 'k'], ['SET', 'j', 'x'], ['MULTI'], ['SET', 'k', 'b'], ['EXEC'], ['GET', 'k']]],
  ['a write to the watched key between MULTI and EXEC is queued, not run', [['WATCH', 'k'], ['MULTI'], ['SET', 'k', 'c'], ['EXEC'], ['GET', 'k']]],
];

describe('WATCH in a pipeline with the client\'s own writes, beside redis-server', () => {
  for (const [name, cmds] of CASES) {
    it(name, async () => {
      const [redis, raftis] = await env.pair();
      for (const c of [redis, raftis]) await c.call('FLUSHALL');
      for (let round = 0; round < 3; round++) {
        const want = await pipeline(redis, cmds);
        expect(await pipeline(raftis, cmds), `round ${round}`).toEqual(want);
      }
    });
  }
});
