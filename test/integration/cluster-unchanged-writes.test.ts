/**
 * Writes that change nothing on a 3-node cluster (Dispatcher.answeredUnchanged):
 * the leader answers them after a ReadIndex round without a log entry
 * (pipelined ones behind it are proposed, not held a round each); one
 * that looked unchanged but is not by the time the round is done (the same
 * client's DEL in flight) is proposed after all, in order; and every
 * replica ends with the same values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { untilApplied } from '../helpers/cluster-ops.js';
import { encodeCommand, type RawClient } from '../helpers/raw-client.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3 });
});
afterAll(async () => {
  await cluster?.destroy();
});

async function pipeline(c: RawClient, cmds: string[][]): Promise<string[]> {
  const replies = cmds.map(() => c.next());
  c.sock.write(cmds.map(encodeCommand).join(''));
  return Promise.all(replies);
}

describe('writes that change nothing on a 3-node cluster', () => {
  it('are answered by the leader without a log entry, and proposed after all when they turn out to change something', async () => {
    const leader = await cluster.waitForSettledLeader();
    const c = await cluster.client(leader);
    expect(await c.call('PFADD', 'h', 'a', 'b')).toBe(':1\r\n');
    expect(await c.call('SADD', 's', 'x', 'y')).toBe(':2\r\n');
    expect(await c.call('GEOADD', 'g', '13.361389', '38.115556', 'p')).toBe(':1\r\n');
    const before = Number((await cluster.raftInfo(leader))!.last_log_index);
    const unchanged = [
      ['PFADD', 'h', 'a'],
      ['PFADD', 'h', 'b', 'a'],
      ['SADD', 's', 'y'],
      ['GEOADD', 'g', '13.361389', '38.115556', 'p'],
      ['GEOADD', 'g', 'NX', '1', '2', 'p'],
      ['GEOADD', 'g', 'XX', 'CH', '1', '2', 'q'],
    ];
    // One at a time: each answered after a round, without an entry.
    for (const cmd of unchanged) expect(await c.call(...cmd), cmd.join(' ')).toBe(':0\r\n');
    expect(Number((await cluster.raftInfo(leader))!.last_log_index)).toBe(before);
    // Pipelined: a request with others waiting behind it is proposed (a round each would hold the pipeline), same replies.
    expect(await pipeline(c, unchanged)).toEqual(unchanged.map(() => ':0\r\n'));
    const after = Number((await cluster.raftInfo(leader))!.last_log_index);
    expect(after).toBeGreaterThan(before);
    expect(after).toBeLessThanOrEqual(before + unchanged.length);

    // Checked unchanged on arrival (h still holds a), but the client's own DEL is ahead of it: proposed after the round.
    expect(await pipeline(c, [['DEL', 'h'], ['PFADD', 'h', 'a']])).toEqual([':1\r\n', ':1\r\n']);
    expect(await c.call('PFCOUNT', 'h')).toBe(':1\r\n');
    expect(await pipeline(c, [['SREM', 's', 'y'], ['SADD', 's', 'y']])).toEqual([':1\r\n', ':1\r\n']);
    expect(await c.call('SCARD', 's')).toBe(':2\r\n');
    const index = await untilApplied(cluster);
    expect(index).toBeGreaterThan(after);
    const states = await Promise.all(
      cluster.nodes.map(async (n) => {
        const r = await cluster.client(n.id);
        await r.call('READONLY');
        return [await r.call('DUMP', 'h'), await r.call('SMISMEMBER', 's', 'x', 'y'), await r.call('DUMP', 'g')].join('|');
      }),
    );
    expect(new Set(states).size).toBe(1);
  });
});
