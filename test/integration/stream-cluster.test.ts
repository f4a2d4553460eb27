/**
 * Streams on a 3-node cluster: XADD with `*` IDs (made from the entry's
 * time), XREADGROUP, XACK, XCLAIM and a blocked XREADGROUP served by an
 * XADD, all through the leader; every replica ends with the same state
 * (RAFT.DIGEST covers entries, groups, PELs with their delivery times and
 * consumers' seen times). After kill -9 of the leader the new leader has
 * the same PEL (XPENDING), and IDs keep growing. A READONLY client's
 * XREAD BLOCK on a follower is served there when the follower applies a
 * matching XADD; XREADGROUP on a follower is redirected (it is a write).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { parseReply, replyItems, replyValue } from '../helpers/engine-diff.js';
import { converged, onLeader } from '../helpers/cluster-ops.js';
import { untilBlocked } from '../helpers/poll.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3, args: ['--snapshot-entries', '60', '--snapshot-keep-entries', '10'] });
});
afterAll(async () => {
  await cluster?.destroy();
});

/** XPENDING's extended rows without the idle time (which depends on when it is asked): id, consumer, deliveries. */
function pelRows(raw: string): string[] {
  return replyItems(parseReply(raw)[0]).map((row) => {
    const f = replyItems(row);
    return `${replyValue(f[0]!)} ${replyValue(f[1]!)} ${replyValue(f[3]!)}`;
  });
}

const idOf = (bulk: string): [bigint, bigint] => {
  const [ms, seq] = bulk.split('\r\n')[1]!.split('-');
  return [BigInt(ms!), BigInt(seq!)];
};
const after = (a: [bigint, bigint], b: [bigint, bigint]): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);

describe('streams on a 3-node cluster', () => {
  it('replicates entries, groups and PELs; the new leader after kill -9 has the same PEL', async () => {
    const c = cluster;
    const all = c.nodes.map((n) => n.id);
    expect(await onLeader(c, 'XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM')).toBe('+OK\r\n');
    let last: [bigint, bigint] = [0n, 0n];
    for (let i = 0; i < 80; i++) {
      const r = await onLeader(c, 'XADD', 's', 'MAXLEN', '~', '1000', '*', 'n', String(i));
      expect(r).toMatch(/^\$\d+\r\n\d+-\d+\r\n$/);
      const id = idOf(r);
      expect(after(id, last), `${r} after ${last.join('-')}`).toBe(true);
      last = id;
    }
    expect(await onLeader(c, 'XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '30', 'STREAMS', 's', '>')).toMatch(/^\*1\r\n/);
    expect(await onLeader(c, 'XREADGROUP', 'GROUP', 'g', 'c2', 'COUNT', '30', 'STREAMS', 's', '>')).toMatch(/^\*1\r\n/);
    const ids = replyItems(parseReply(await onLeader(c, 'XRANGE', 's', '-', '+', 'COUNT', '12'))[0]).map((e) => replyValue(replyItems(e)[0]!));
    expect(await onLeader(c, 'XACK', 's', 'g', ...ids.slice(0, 5))).toBe(':5\r\n');
    expect(await onLeader(c, 'XCLAIM', 's', 'g', 'c3', '0', ...ids.slice(5, 8), 'JUSTID')).toBe(`*3\r\n${ids.slice(5, 8).map((id) => `$${id.length}\r\n${id}\r\n`).join('')}`);
    expect(await onLeader(c, 'XAUTOCLAIM', 's', 'g', 'c4', '0', '0', 'COUNT', '4', 'JUSTID')).toMatch(/^\*3\r\n/);

    // A blocked XREADGROUP on the leader, served by a later XADD: its delivery is a log entry too.
    const leader = await c.waitForLeader();
    const blocked = await c.client(leader);
    const served = blocked.call('XREADGROUP', 'GROUP', 'g', 'c5', 'BLOCK', '0', 'STREAMS', 's', '>');
    // c5's first call takes the 20 undelivered entries at once; the next one blocks.
    expect(await served).toMatch(/^\*1\r\n/);
    const served2 = blocked.call('XREADGROUP', 'GROUP', 'g', 'c5', 'COUNT', '1', 'BLOCK', '0', 'STREAMS', 's', '>');
    const watcher = await c.client(leader);
    await untilBlocked(watcher, 1);
    watcher.close();
    const added = await onLeader(c, 'XADD', 's', '*', 'late', 'entry');
    const got = await withTimeout(served2, 10_000);
    expect(got).toContain(added.split('\r\n')[1]!);
    blocked.close();

    const summary = await onLeader(c, 'XPENDING', 's', 'g');
    expect(summary).toMatch(/^\*4\r\n:\d+\r\n/);
    const rows = pelRows(await onLeader(c, 'XPENDING', 's', 'g', '-', '+', '1000'));
    expect(rows.length).toBeGreaterThan(40);
    let digests = await converged(c, all);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);

    // kill -9 the leader: the new leader has the same PEL, and `*` IDs keep growing.
    const old = await c.waitForLeader();
    await c.kill9(old);
    await c.waitForLeader(15_000, [old]);
    expect(await onLeader(c, 'XPENDING', 's', 'g')).toBe(summary);
    expect(pelRows(await onLeader(c, 'XPENDING', 's', 'g', '-', '+', '1000'))).toEqual(rows);
    const next = idOf(await onLeader(c, 'XADD', 's', '*', 'after', 'failover'));
    expect(after(next, idOf(added))).toBe(true);
    expect(await onLeader(c, 'XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 's', '>')).toContain('failover');
    // Enough entries for snapshots on the survivors, then the old leader comes back and catches up.
    for (let i = 0; i < 70; i++) await onLeader(c, 'XADD', 's', '*', 'more', String(i));
    await c.startNode(old);
    digests = await converged(c, all);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
  });

  it("serves a READONLY client's XREAD BLOCK on a follower when it applies the XADD; XREADGROUP there answers MOVED", async () => {
    const c = cluster;
    const leader = await c.waitForSettledLeader();
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    expect(await onLeader(c, 'XGROUP', 'CREATE', 'fs', 'fg', '$', 'MKSTREAM')).toBe('+OK\r\n');
    const ro = await c.client(follower);
    const ro2 = await c.client(follower);
    const plain = await c.client(follower);
    try {
      expect(await plain.call('XREAD', 'BLOCK', '0', 'STREAMS', 'fs', '$')).toMatch(/^-MOVED /);
      expect(await ro.call('READONLY')).toBe('+OK\r\n');
      expect(await ro2.call('READONLY')).toBe('+OK\r\n');
      expect(await ro.call('XREADGROUP', 'GROUP', 'fg', 'c', 'BLOCK', '0', 'STREAMS', 'fs', '>')).toMatch(/^-MOVED /);
      // Parked on the follower, in database 0 and in database 2; one times out.
      const served = ro.call('XREAD', 'BLOCK', '0', 'STREAMS', 'fs', '$');
      expect(await ro2.call('SELECT', '2')).toBe('+OK\r\n');
      const served2 = ro2.call('XREAD', 'COUNT', '5', 'BLOCK', '0', 'STREAMS', 'other', 'fs', '$', '0-0');
      // Awaited below; a failure before that closes the connections (no unhandled rejection then).
      served.catch(() => undefined);
      served2.catch(() => undefined);
      expect(await plain.call('READONLY')).toBe('+OK\r\n');
      expect(await withTimeout(plain.call('XREAD', 'BLOCK', '300', 'STREAMS', 'fs', '$'), 10_000)).toBe('*-1\r\n');
      await new Promise((r) => setTimeout(r, 300)); // longer than the deposed-leader check
      const added = await onLeader(c, 'XADD', 'fs', '*', 'to', 'follower');
      const got = await withTimeout(served, 10_000);
      expect(got).toMatch(/^\*1\r\n\*2\r\n\$2\r\nfs\r\n/);
      expect(got).toContain(added.split('\r\n')[1]!);
      expect(got).toContain('follower');
      // The XADD in database 0 does not serve the waiter in database 2; one there does.
      const leaderClient = await c.client(await c.waitForLeader());
      try {
        expect(await leaderClient.call('SELECT', '2')).toBe('+OK\r\n');
        const added2 = await leaderClient.call('XADD', 'fs', '*', 'in', 'db2');
        const got2 = await withTimeout(served2, 10_000);
        expect(got2).toContain(added2.split('\r\n')[1]!);
        expect(got2).not.toContain(added.split('\r\n')[1]!);
      } finally {
        leaderClient.close();
      }
    } finally {
      ro.close();
      ro2.close();
      plain.close();
    }
    const digests = await converged(c, c.nodes.map((n) => n.id));
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
  });
});
