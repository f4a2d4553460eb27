/**
 * The slot rule of an applied script comes from its entry (CommandEntry.
 * standalone, decided by the leader), never from the applying node's view:
 * the same EVAL and FCALL entries give the same replies on two appliers
 * whose nodes disagree about the group's size, and different ones with and
 * without the flag.
 */
import { describe, expect, it } from 'vitest';
import { connCommands, dataCommands } from '../../../src/commands/handlers.js';
import { CommandTable } from '../../../src/commands/table.js';
import { ShardState } from '../../../src/commands/engine/shard-state.js';
import { Applier } from '../../../src/commands/engine/apply.js';
import { Config } from '../../../src/commands/engine/config.js';
import { EntryKind, encodeStateEntry } from '../../../src/commands/engine/entry.js';
import { Scripts } from '../../../src/commands/engine/scripts.js';
import { Stats } from '../../../src/commands/engine/stats.js';
import { Acl } from '../../../src/commands/engine/acl.js';
import { Databases } from '../../../src/keyspace/databases.js';
import { RespWriter } from '../../../src/server/resp-writer.js';
import type { Write } from '../../../src/commands/engine/write.js';

const table = new CommandTable({ data: dataCommands, conn: connCommands });
const noTouch = { wanted: () => false, touched: () => {}, flushing: () => {}, modified: () => {}, ready: () => {}, entryApplied: () => {} };

/** A replica whose node believes the group is standalone or not; apply() returns the entry's reply. */
function replica(nodeSaysStandalone: boolean): (cmds: string[][], standalone: boolean) => string {
  const scripts = new Scripts(table, new Stats(), noTouch);
  scripts.standaloneNow = () => nodeSaysStandalone;
  const dbs = new Databases(1);
  const applier = new Applier(dbs, table, new Stats(), noTouch, scripts, { config: new Config(), events: { flags: 0, emit: () => {} }, acl: new Acl(table), shards: new ShardState(undefined, dbs) });
  let index = 0;
  return (cmds, standalone) => {
    const entry = { kind: EntryKind.Commands as const, time: 1_700_000_000_000, multi: cmds.length > 1, cmds, ...(standalone ? { standalone } : {}) };
    const w = new RespWriter(2);
    // As the proposer applies its own entry (mine): the reply goes to w.
    applier.apply(++index, encodeStateEntry(entry), { entry, w } as unknown as Write);
    return w.take();
  };
}

const LIB = "#!lua name=two\nredis.register_function('two', function(keys) return redis.call('mset', keys[1], '1', keys[2], '2') end)";
const CMDS: string[][][] = [
  [['FUNCTION', 'LOAD', LIB]],
  [['EVAL', "return redis.call('mset', KEYS[1], '1', KEYS[2], '2')", '2', 'a', 'b']],
  [['EVAL', "redis.call('set', 'a', 'x') return redis.call('set', 'b', 'y')", '0']],
  [['EVAL', '#!lua flags=no-cluster\nreturn 1', '0']],
  [['FCALL', 'two', '2', 'a', 'b']],
  [['EVAL', "return redis.call('get', 'b')", '1', 'a'], ['GET', 'b']],
];

describe('the slot rule of an applied script', () => {
  it('is the entry’s: the same replies whatever the applying node thinks, cluster rules without the flag', () => {
    const [x, y] = [replica(true), replica(false)];
    const cluster = CMDS.map((c) => [x(c, false), y(c, false)]);
    for (const [a, b] of cluster) expect(b).toBe(a);
    expect(cluster.map(([a]) => a)).toEqual([
      '$3\r\ntwo\r\n',
      expect.stringMatching(/^-ERR Script attempted to access a non local key in a cluster node script: [0-9a-f]{40}, on @user_script:1\.\r\n$/),
      // Without a shebang a script may touch any slot, one per command (Redis Cluster).
      '+OK\r\n',
      "-ERR Can not run script on cluster, 'no-cluster' flag is set.\r\n",
      '-ERR Script attempted to access a non local key in a cluster node script: two, on @user_function:2.\r\n',
      '*2\r\n$1\r\ny\r\n$1\r\ny\r\n',
    ]);
  });

  it('is a standalone redis-server’s with the flag, whatever the applying node thinks', () => {
    const [x, y] = [replica(true), replica(false)];
    const standalone = CMDS.map((c) => [x(c, true), y(c, true)]);
    for (const [a, b] of standalone) expect(b).toBe(a);
    expect(standalone.map(([a]) => a)).toEqual(['$3\r\ntwo\r\n', '+OK\r\n', '+OK\r\n', ':1\r\n', '+OK\r\n', '*2\r\n$1\r\n2\r\n$1\r\n2\r\n']);
  });
});
