/**
 * The script cache after scripts that run on raftis's read path (EVAL_RO,
 * EVAL of a `#!lua flags=no-writes` body), against redis-server: Redis caches
 * every body EVAL runs, so SCRIPT EXISTS answers 1 and EVALSHA(_RO) finds it,
 * also pipelined right behind the EVAL (raftis caches it through the log and
 * the client's next commands wait for that entry), and INFO commandstats
 * counts only the calls the client made.
 */
import { describe, expect, it } from 'vitest';
import { sha1hex } from '../../src/util/lua/vm.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

function resp(cmds: readonly string[][]): string {
  let out = '';
  for (const argv of cmds) {
    out += `*${argv.length}\r\n`;
    for (const a of argv) out += `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`;
  }
  return out;
}

/** Sends `cmds` in one write (a pipeline) and returns their replies. */
async function pipeline(c: RawClient, cmds: readonly string[][]): Promise<string[]> {
  const replies = [await c.send(resp(cmds))];
  while (replies.length < cmds.length) replies.push(await c.next());
  return replies;
}

const RO = 'return redis.call("get", KEYS[1])';
const NO_WRITES = '#!lua flags=no-writes\nreturn 7';
const WRITER = 'return redis.call("set", KEYS[1], "w")';
const BAD = 'return (';

/** Each step list runs on a fresh server state (SCRIPT FLUSH, CONFIG RESETSTAT), pipelined. */
const CASES: [string, string[][]][] = [
  ['EVAL_RO then SCRIPT EXISTS and EVALSHA_RO', [
    ['EVAL_RO', RO, '1', 'k'], ['SCRIPT', 'EXISTS', sha1hex(RO), sha1hex(NO_WRITES)], ['EVALSHA_RO', sha1hex(RO), '1', 'k'], ['EVALSHA', sha1hex(RO), '1', 'k'],
  ]],
  ['no-writes EVAL then SCRIPT EXISTS and EVALSHA', [
    ['EVAL', NO_WRITES, '0'], ['SCRIPT', 'EXISTS', sha1hex(NO_WRITES)], ['EVALSHA', sha1hex(NO_WRITES), '0'], ['EVALSHA_RO', sha1hex(NO_WRITES), '0'],
  ]],
  ['EVAL_RO of a writing script: refused, but cached', [
    ['EVAL_RO', WRITER, '1', 'k'], ['SCRIPT', 'EXISTS', sha1hex(WRITER)], ['EVALSHA', sha1hex(WRITER), '1', 'k'], ['GET', 'k'],
  ]],
  ['a body that does not compile is not cached', [
    ['EVAL_RO', BAD, '0'], ['SCRIPT', 'EXISTS', sha1hex(BAD)],
  ]],
  ['twice in a row, then SCRIPT FLUSH', [
    ['EVAL_RO', RO, '1', 'k'], ['EVAL_RO', RO, '1', 'k'], ['SCRIPT', 'EXISTS', sha1hex(RO)], ['SCRIPT', 'FLUSH'], ['SCRIPT', 'EXISTS', sha1hex(RO)],
    ['EVAL', NO_WRITES, '0'], ['SCRIPT', 'EXISTS', sha1hex(NO_WRITES), sha1hex(RO)],
  ]],
  ['in a transaction', [
    ['MULTI'], ['EVAL_RO', RO, '1', 'k'], ['EVAL', NO_WRITES, '0'], ['EXEC'], ['SCRIPT', 'EXISTS', sha1hex(RO), sha1hex(NO_WRITES)],
  ]],
];

/** The calls INFO commandstats counted (cmdstat_x:calls=n), sorted. */
function calls(info: string): string[] {
  return [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => `${m[1]}=${m[2]}`).sort();
}

describe('the script cache after read-path scripts', () => {
  for (const [name, cmds] of CASES) {
    it(name, async () => {
      const got: string[][] = [];
      for (const port of [env.diff.redis.port, env.raftis.port]) {
        const c = await RawClient.connect(port);
        try {
          await c.call('SCRIPT', 'FLUSH');
          await c.call('FLUSHALL');
          await c.call('SET', 'k', 'v');
          await c.call('CONFIG', 'RESETSTAT');
          const replies = await pipeline(c, cmds);
          replies.push(calls(await c.call('INFO', 'commandstats')).join(' '));
          got.push(replies);
        } finally {
          c.close();
        }
      }
      expect(got[1]).toEqual(got[0]);
    });
  }

  it('SCRIPT EXISTS right after EVAL_RO answers 1, as on redis-server', async () => {
    const c = await RawClient.connect(env.raftis.port);
    try {
      await c.call('SCRIPT', 'FLUSH');
      expect(await pipeline(c, [['EVAL_RO', 'return 5', '0'], ['SCRIPT', 'EXISTS', sha1hex('return 5')]])).toEqual([':5\r\n', '*1\r\n:1\r\n']);
    } finally {
      c.close();
    }
  });
});
