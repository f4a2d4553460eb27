/**
 * Which arguments of a command are keys, as Redis 7 finds them from COMMAND
 * INFO's key specs: COMMAND GETKEYS and GETKEYSANDFLAGS for every command
 * raftis implements, over many argument shapes, byte for byte against
 * redis-server; and WATCH, which must see the keys a write touches even
 * when they move (LMPOP, ZMPOP… count their keys).
 */
import { describe, expect, it } from 'vitest';
import { loadGeneratedCommands } from '../../src/commands/generated-table.js';
import { OWN_COMMANDS } from '../helpers/own-commands.js';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

/** Argument shapes: plain keys, a numkeys count in various places (valid, zero, negative, junk, too big), SET's GET, BITFIELD's subcommands. */
const SHAPES: string[][] = [
  ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'],
  ['k1', '2', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'],
  ['2', 'k1', 'k2', 'LEFT', 'k3', 'k4', 'k5', 'k6'],
  ['0', '2', 'k1', 'k2', 'MIN', 'COUNT', '2', 'k3'],
  ['k1', '0', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'],
  ['k1', '-1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'],
  ['k1', 'abc', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'],
  ['k1', '2abc', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'],
  ['k1', '9', 'k2', 'k3'],
  ['3', 'k1', 'k2'],
  ['k1', 'v', 'EX', '10', 'GET', 'k2', 'k3', 'k4'],
  ['k1', 'GET', 'u8', '0', 'GET', 'i4', '4', 'k2'],
  ['k1', 'GET', 'u8', '0', 'SET', 'u8', '0', '1'],
  ['k1', 'OVERFLOW', 'SAT', 'INCRBY', 'u8', '0', '1', 'k2'],
  ['k1', 'GET', 'u8'],
];

/**
 * Every command and subcommand raftis implements that redis-server 7.0 has
 * too (not raftis's own RAFT.*, nor CLIENT SETINFO from Redis 7.2), as the
 * argv prefix that names it, with its arity.
 */
function allCommands(): { prefix: string[]; arity: number }[] {
  const out: { prefix: string[]; arity: number }[] = [];
  for (const [name, g] of loadGeneratedCommands()) {
    if (OWN_COMMANDS.has(name)) continue;
    if (g.subcommands.size === 0) out.push({ prefix: [name], arity: g.meta.arity });
    for (const [sub, s] of g.subcommands) if (!OWN_COMMANDS.has(s.meta.name)) out.push({ prefix: [name, sub], arity: s.meta.arity });
  }
  return out;
}

describe('key arguments', () => {
  it('COMMAND GETKEYS and GETKEYSANDFLAGS answer as redis-server for every command, over many argument shapes', async () => {
    const [a, b] = await env.pair();
    let compared = 0;
    for (const { prefix, arity } of allCommands()) {
      // The container alone (CLIENT, CONFIG…) and every length from the arity to 3 past it.
      const min = Math.max(prefix.length, Math.abs(arity));
      for (let argc = min; argc <= min + 3; argc++) {
        for (const shape of SHAPES) {
          const argv = [...prefix, ...shape].slice(0, argc);
          if (argv.length < argc) continue;
          await same(a, b, 'COMMAND', 'GETKEYS', ...argv);
          await same(a, b, 'COMMAND', 'GETKEYSANDFLAGS', ...argv);
          compared += 2;
        }
      }
    }
    // Unknown commands, wrong arity, no arguments at all.
    for (const argv of [['NOSUCH', 'k'], ['GET'], ['GET', 'a', 'b'], ['PING'], ['CLIENT', 'LIST'], ['CLIENT', 'NOSUCH']]) {
      await same(a, b, 'COMMAND', 'GETKEYS', ...argv);
      await same(a, b, 'COMMAND', 'GETKEYSANDFLAGS', ...argv);
    }
    await same(a, b, 'COMMAND', 'GETKEYS');
    await same(a, b, 'COMMAND', 'GETKEYSANDFLAGS');
    expect(compared).toBeGreaterThan(5000);
  }, 120_000);

  it('GETKEYSANDFLAGS in RESP3 (flags are a set)', async () => {
    const redis = await RawClient.connect(env.diff.redis.port);
    const raftis = await env.connect(3);
    try {
      await redis.call('HELLO', '3');
      for (const argv of [
        ['SET', 'k', 'v'],
        ['SET', 'k', 'v', 'GET'],
        ['ZUNIONSTORE', 'd', '2', 'a', 'b'],
        ['LMPOP', '2', 'a', 'b', 'LEFT'],
        ['BITFIELD', 'k', 'GET', 'u8', '0'],
        ['MSET', 'a', '1', 'b', '2'],
        ['LMOVE', 'a', 'b', 'LEFT', 'RIGHT'],
      ]) {
        await same(redis, raftis, 'COMMAND', 'GETKEYSANDFLAGS', ...argv);
      }
    } finally {
      redis.close();
    }
  });

  it('WATCH sees keys that writes with counted keys touch (LMPOP, ZMPOP, BLMPOP, BZMPOP, *STORE)', async () => {
    const [a, b] = await env.pair();
    const [a2, b2] = await env.pair();
    const cases: [string[], string[]][] = [
      [['RPUSH', 'w', '1', '2'], ['LMPOP', '1', 'w', 'LEFT']],
      [['RPUSH', 'w', '1', '2'], ['LMPOP', '2', 'other', 'w', 'RIGHT', 'COUNT', '2']],
      [['RPUSH', 'w', '1'], ['BLMPOP', '0', '1', 'w', 'LEFT']],
      [['ZADD', 'w', '1', 'x'], ['ZMPOP', '1', 'w', 'MIN']],
      [['ZADD', 'w', '1', 'x'], ['BZMPOP', '0', '2', 'other', 'w', 'MAX']],
      [['SADD', 'w', '1'], ['SINTERSTORE', 'w', 'nokey']],
      [['SET', 'w', '1'], ['ZUNIONSTORE', 'w', '1', 'nokey']],
      [['ZADD', 'w', '1', 'x'], ['ZDIFFSTORE', 'w', '1', 'nokey']],
      // A read with counted keys changes nothing: EXEC goes ahead.
      [['SADD', 'w', '1'], ['SINTERCARD', '1', 'w']],
    ];
    for (const [setup, write] of cases) {
      await same(a, b, 'FLUSHALL');
      await same(a, b, ...setup);
      await same(a, b, 'WATCH', 'w');
      await same(a2, b2, ...write);
      await same(a, b, 'MULTI');
      await same(a, b, 'SET', 'x', '1');
      await same(a, b, 'EXEC');
    }
  });
});
