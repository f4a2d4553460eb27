/**
 * Error replies that echo a client's bytes: redis-server 7.0 turns CR and LF
 * in a formatted error into spaces (and drops them at the ends of
 * addReplyErrorFormat's texts), and printf's %s stops at a NUL. The same
 * commands go to redis-server and to a raftis process; the raw replies must
 * be equal byte for byte and be one error line each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStep, runBoth, type Step } from '../helpers/differential.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { allStarted } from '../helpers/settled.js';

let redis: RedisServer;
let raftis: RaftisProcess;

beforeAll(async () => {
  await allStarted([startRedisServer().then((s) => (redis = s)), startRaftis().then((s) => (raftis = s))]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), raftis?.destroy()]);
});

const steps: Step[] = [
  // Unknown command: name and arguments echoed (rejectCommandFormat).
  ['FOO', 'a\r\nb'],
  ['FOO\r\nX'],
  ['FOO', '\r\n', '\n', '\r'],
  ['FOO', 'x'.repeat(120) + '\r\n' + 'y'.repeat(20), 'z\n'],
  ['FOO', 'a\0b', 'c'],
  ['FOO\0X', 'y'],
  { raw: 'FOO "a\\r\\nb" "\\n"\r\n' },
  // Unknown subcommands of containers.
  ['CONFIG', 'a\r\nb'],
  ['CONFIG', 'a\0\r\n'],
  ['OBJECT', 'x\r\ny'],
  ['CLIENT', 'x\n'],
  ['PUBSUB', 'x\r\n'],
  ['CLUSTER', '\r\nx'],
  ['COMMAND', 'x\r\n'],
  // Wrong arity: the command's own name, never the client's bytes.
  ['GET'],
  ['get', 'a', 'b'],
  ['CONFIG', 'GET'],
  ['CLIENT', 'SETNAME'],
  // CONFIG parameters.
  ['CONFIG', 'SET', 'a\r\nb', '1'],
  ['CONFIG', 'SET', 'a\0b', '1'],
  ['CONFIG', 'SET', 'maxmemory', 'x\r\n'],
  ['CONFIG', 'SET', 'maxmemory', '1', 'MAXMEMORY', '2'],
  ['CONFIG', 'SET', 'maxmemory', '1', 'foo\r\n'],
  // Options echoed by the command's own error.
  ['EXPIRE', 'k', '10', 'abc\r\n'],
  ['EXPIRE', 'k', '10', '\r\nabc'],
  ['EXPIRE', 'k', '10', '\r\nab\0c\r'],
  ['EXPIRE', 'k', '10', '\n\r\r\n'],
  ['HELLO', '3', 'FOO\r\n'],
  ['HELLO', '3', 'FO\0O'],
  ['CLIENT', 'LIST', 'TYPE', 'x\r\n'],
  ['CLIENT', 'KILL', 'TYPE', '\nx'],
  ['CLIENT', 'KILL', 'USER', 'x\r\n'],
  // Fixed texts: the client's bytes are not echoed.
  ['SET', 'k', 'v', 'FOO\r\nBAR'],
  ['CLIENT', 'SETNAME', 'a\nb'],
  ['CLIENT', 'SETNAME', 'a\r\nb'],
  ['CLIENT', 'KILL', 'FOO\r\n', 'x'],
  ['INCRBY', 'k', '1\r\n'],
  ['PING'],
];

describe('error replies that echo client input match redis-server 7 byte for byte', () => {
  it('every step', async () => {
    const results = await runBoth(redis.port, raftis.port, steps);
    for (const r of results) {
      expect(r.raftis, describeStep(r.step)).toBe(r.redis);
      // One line: a CR or LF inside would end it early and inject a reply.
      if (r.raftis.startsWith('-')) expect(r.raftis.indexOf('\r\n'), describeStep(r.step)).toBe(r.raftis.length - 2);
      expect(r.raftis.indexOf('\n'), describeStep(r.step)).toBe(r.raftis.length - 1);
    }
    // The cases above do reach the rules they are meant for.
    const byText = results.map((r) => r.raftis);
    expect(byText).toContain("-ERR unknown command 'FOO', with args beginning with: 'a  b' \r\n");
    expect(byText).toContain('-ERR Unsupported option abc\r\n');
    expect(byText).toContain("-ERR Syntax error in HELLO option 'FO'\r\n");
    expect(byText.at(-1)).toBe('+PONG\r\n');
  });
});
