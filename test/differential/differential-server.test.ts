/**
 * Connection, server and transaction commands: the same scripts sent to
 * redis-server and to a raftis process, raw replies compared byte for byte
 * (RESP2 and RESP3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStep, runBoth, type Step } from '../helpers/differential.js';
import { parseReply, replyItems, replyValue } from '../helpers/engine-diff.js';
import { OWN_COMMANDS } from '../helpers/own-commands.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { allStarted } from '../helpers/settled.js';

let redis: RedisServer;
let raftis: RaftisProcess;

beforeAll(async () => {
  // Configured like raftis behaves: every write appended and fsynced.
  await allStarted([
    startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']).then((s) => (redis = s)),
    startRaftis().then((s) => (raftis = s)),
  ]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), raftis?.destroy()]);
});

/** Replies that differ by nature: connection ids in HELLO and CLIENT ID. */
function normalize(reply: string, step: Step): string {
  if (Array.isArray(step)) {
    const name = step[0]!.toLowerCase();
    if (name === 'hello') return reply.replace(/(\$2\r\nid\r\n):\d+/, '$1:ID');
    if (name === 'client' && step[1]?.toLowerCase() === 'id') return reply.replace(/^:\d+/, ':ID');
  }
  return reply;
}

const scripts: Record<string, Step[]> = {
  ping_echo: [['PING'], ['ping', 'hello'], ['PING', 'a', 'b'], ['ECHO', 'x y'], ['ECHO'], ['ECHO', 'a', 'b'], { raw: 'PING\r\n' }, { raw: 'ECHO "a b\\x41"\r\n' }],
  unknown_and_arity: [
    ['NOSUCHCOMMAND'],
    ['nosuch', 'a', 'b c'],
    ['GET'],
    ['GET', 'a', 'b'],
    ['SET', 'k'],
    ['CLIENT'],
    ['CLIENT', 'nosuch'],
    ['CLIENT', 'SETNAME'],
    ['CONFIG', 'GET'],
    ['COMMAND', 'NOSUCH'],
  ],
  hello: [
    ['HELLO', 'x'],
    ['HELLO', '4'],
    ['HELLO', '1'],
    ['HELLO', '3', 'FOO'],
    ['HELLO', '3', 'AUTH', 'someone', 'pw'],
    ['HELLO', '3', 'SETNAME', 'bad name'],
    ['HELLO', '2', 'AUTH', 'default', 'whatever', 'SETNAME', 'conn1'],
    ['CLIENT', 'GETNAME'],
    ['HELLO', '3'],
    ['GET', 'nokey'],
    ['HELLO'],
    ['HELLO', '2'],
    ['GET', 'nokey'],
  ],
  auth_select: [['AUTH', 'pw'], ['AUTH', 'default', 'pw'], ['AUTH', 'other', 'pw'], ['AUTH', 'a', 'b', 'c'], ['SELECT', '0'], ['SELECT', '1000'], ['SELECT', 'x'], ['SELECT', '-1']],
  client: [
    ['CLIENT', 'ID'],
    ['CLIENT', 'GETNAME'],
    ['CLIENT', 'SETNAME', 'my-conn'],
    ['CLIENT', 'GETNAME'],
    ['CLIENT', 'SETNAME', 'has space'],
    ['CLIENT', 'SETNAME', 'nl\n'],
    ['CLIENT', 'SETNAME', ''],
    ['CLIENT', 'GETNAME'],
  ],
  command: [
    // (Containers are left out: raftis implements a subset of CLIENT/CONFIG subcommands.)
    ['COMMAND', 'INFO', 'get', 'set', 'nosuch', 'incrbyfloat', 'multi'],
    ['COMMAND', 'DOCS', 'get', 'incrbyfloat', 'nosuch', 'expire'],
    ['COMMAND', 'GETKEYS', 'SET', 'a', 'b'],
    ['COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2'],
    ['COMMAND', 'GETKEYS', 'GET'],
    ['COMMAND', 'GETKEYS', 'PING', 'x'],
    ['COMMAND', 'GETKEYS', 'NOSUCH', 'x'],
    ['COMMAND', 'GETKEYS', 'GET', 'a', 'b'],
    ['COMMAND', 'LIST', 'FILTERBY', 'NOPE', 'x'],
    ['COMMAND', 'LIST', 'BAD'],
    ['HELLO', '3'],
    ['COMMAND', 'INFO', 'get', 'exec'],
    ['COMMAND', 'DOCS', 'set'],
  ],
  config: [
    ['CONFIG', 'GET', 'appendonly'],
    ['CONFIG', 'GET', 'databases-nosuch'],
    ['CONFIG', 'SET', 'nosuch', 'x'],
    ['CONFIG', 'SET', 'maxmemory', 'abc'],
    ['CONFIG', 'SET', 'maxmemory'],
    ['CONFIG', 'SET', 'maxmemory', '0'],
    ['CONFIG', 'GET', 'maxmemory'],
    ['CONFIG', 'SET', 'databases', '3'],
    // timeout is an int config: 0 to INT_MAX, strict integers only.
    ...['-1', 'x', '1.5', '2147483648', '99999999999999999999', '007', ' 5', '+5'].map((v) => ['CONFIG', 'SET', 'timeout', v]),
    ['CONFIG', 'SET', 'timeout', '2147483647'],
    ['CONFIG', 'GET', 'timeout'],
    ['CONFIG', 'SET', 'timeout', '0'],
    ['CONFIG', 'GET', 'timeout'],
    // All or nothing: a value refused undoes those set before it; a name twice, an odd count.
    ['CONFIG', 'SET', 'timeout', '5', 'maxmemory', 'abc'],
    ['CONFIG', 'GET', 'timeout'],
    ['CONFIG', 'SET', 'timeout', '5', 'TIMEOUT', '6'],
    ['CONFIG', 'SET', 'timeout', '5', 'maxmemory'],
    ['CONFIG', 'SET', 'databases', '2', 'nosuch', '1'],
    ['CONFIG', 'SET', 'nosuch', '1', 'databases', '2'],
    ['CONFIG', 'GET', 'timeout'],
    ['CONFIG', 'RESETSTAT'],
  ],
  multi_exec: [
    ['EXEC'],
    ['DISCARD'],
    ['MULTI'],
    ['MULTI'],
    ['SET', 'tx:a', '1'],
    ['INCR', 'tx:a'],
    ['GET', 'tx:a'],
    ['PING'],
    ['ECHO', 'e'],
    ['EXEC'],
    ['MULTI'],
    ['SET', 'tx:b', 'x'],
    ['INCR', 'tx:b'],
    ['GET', 'tx:b'],
    ['EXEC'],
    ['MULTI'],
    ['GET', 'tx:a'],
    ['NOSUCH'],
    ['SET', 'tx:a', '5'],
    ['EXEC'],
    ['GET', 'tx:a'],
    ['MULTI'],
    ['GET'],
    ['EXEC'],
    ['MULTI'],
    ['SET', 'tx:c', '1'],
    ['DISCARD'],
    ['GET', 'tx:c'],
    ['MULTI'],
    ['GET', 'tx:a'],
    ['PING'],
    ['EXEC'],
    ['MULTI'],
    ['EXEC'],
    ['MULTI'],
    ['WATCH', 'x'],
    ['EXEC'],
    ['HELLO', '3'],
    ['MULTI'],
    ['GET', 'tx:nokey'],
    ['SET', 'tx:d', 'v'],
    ['EXEC'],
  ],
  watch: [
    ['SET', 'w:a', '1'],
    ['WATCH', 'w:a', 'w:b'],
    ['SET', 'w:a', '2'],
    ['MULTI'],
    ['SET', 'w:a', '3'],
    ['EXEC'],
    ['GET', 'w:a'],
    ['WATCH', 'w:a'],
    ['UNWATCH'],
    ['SET', 'w:a', '4'],
    ['MULTI'],
    ['GET', 'w:a'],
    ['EXEC'],
    ['WATCH', 'w:gone'],
    ['MULTI'],
    ['SET', 'w:gone', '1'],
    ['EXEC'],
  ],
  reset: [['CLIENT', 'SETNAME', 'n'], ['HELLO', '3'], ['MULTI'], ['RESET'], ['CLIENT', 'GETNAME'], ['GET', 'nokey'], ['EXEC']],
};

describe('differential: connection, server and transaction commands', () => {
  for (const [name, script] of Object.entries(scripts)) {
    it(name, async () => {
      const results = await runBoth(redis.port, raftis.port, script, normalize);
      for (const r of results) expect(r.raftis, describeStep(r.step)).toBe(r.redis);
    });
  }

  it('COMMAND LIST names commands and subcommands as redis-server does (COMMAND COUNT: commands only)', async () => {
    const lists = [['COMMAND', 'LIST'], ['COMMAND', 'LIST', 'FILTERBY', 'ACLCAT', 'connection'], ['COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'c*']];
    const results = await runBoth(redis.port, raftis.port, [['COMMAND', 'COUNT'], ...lists]);
    const names = (raw: string): string[] => replyItems(parseReply(raw)[0]).map(replyValue);
    const count = Number(/^:(\d+)/.exec(results[0]!.raftis)![1]);
    const all = names(results[1]!.raftis);
    expect(all.filter((n) => !n.includes('|'))).toHaveLength(count);
    for (const [i, expected] of [[1, ['client|list', 'config|get', 'get', 'latency|latest']], [2, ['client|list', 'ping', 'hello']], [3, ['client', 'client|list', 'config|get', 'copy']]] as const) {
      const ours = names(results[i]!.raftis);
      const theirs = new Set(names(results[i]!.redis));
      for (const n of expected) expect(ours, `${lists[i - 1]!.join(' ')}`).toContain(n);
      // Everything raftis lists, redis-server lists too (redis-server has commands raftis lacks).
      expect(ours.filter((n) => !OWN_COMMANDS.has(n) && !theirs.has(n)), lists[i - 1]!.join(' ')).toEqual([]);
      expect(new Set(ours).size).toBe(ours.length);
    }
  });

  it('QUIT answers OK and closes', async () => {
    const { RawClient } = await import('../helpers/raw-client.js');
    for (const port of [redis.port, raftis.port]) {
      const c = await RawClient.connect(port);
      expect(await c.call('QUIT')).toBe('+OK\r\n');
      expect(await c.closedPromise()).toBe(true);
    }
  });
});
