/**
 * What the groups show while slots move (issue 21, phase 2).
 *
 * Reads on the source group while its keys are shipped (issue 21, phase 2;
 * found by test/chaos/shards-chaos.test.ts): a GET routed when it arrives
 * (key present: served) and run after its ReadIndex round, by which time a
 * SHIPPED entry applied in between deleted the key, answered nil — a value
 * no client ever wrote. A read that waits is now routed again when it runs,
 * so it gets the redirect it would get then (ASK to the new group).
 *
 * Readers keep many GETs, XREAD BLOCKs and read-only transactions in flight on the source group's
 * leader, on keys that always exist, while the slots move: every reply must
 * be the key's value (the stream's entry) or a redirect (ASK, MOVED,
 * TRYAGAIN), never nil.
 *
 * CLUSTER NODES on a master shows its open slots on its own line as Redis
 * does ([slot->-<target id>] migrating, [slot-<-<source id>] importing);
 * the move is held open by pausing the other group's followers (a group
 * without a quorum neither adopts nor commits shipped keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';
import { keyHashSlot } from '../../src/commands/routing.js';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import { ShardedCluster } from '../helpers/sharded-cluster.js';

let sc: ShardedCluster;
const conns: RawClient[] = [];

beforeAll(async () => {
  sc = await ShardedCluster.start({ shards: 2, size: 3 });
}, 120_000);
afterAll(async () => {
  for (const c of conns) c.close();
  await sc?.destroy();
});

describe('a read on the source group while its keys move', () => {
  it('answers the value or a redirect, never nil for a key that exists', async () => {
    sc.dumpLogsOnFailure();
    const keys: string[] = [];
    for (let i = 0; keys.length < 1500 && i < 1_000_000; i++) if (keyHashSlot(`r${i}`) <= 199) keys.push(`r${i}`);
    const streams: string[] = [];
    for (let i = 0; streams.length < 300 && i < 1_000_000; i++) if (keyHashSlot(`x${i}`) <= 199) streams.push(`x${i}`);
    const src = await sc.leader(0);
    const loader = await RawClient.connect(src.port, src.host);
    conns.push(loader);
    // Pipelined in batches of 100.
    for (let i = 0; i < keys.length; i += 100) {
      const batch = keys.slice(i, i + 100);
      const replies = batch.map(() => loader.next());
      loader.sock.write(Buffer.from(batch.map((k) => encodeCommand(['SET', k, `v-${k}`])).join(''), 'latin1'));
      expect(new Set(await Promise.all(replies))).toEqual(new Set(['+OK\r\n']));
    }
    for (const x of streams) expect(await loader.call('XADD', x, '1-1', 'f', 'v')).toBe('$3\r\n1-1\r\n');

    let moving = true;
    const counts = { value: 0, entry: 0, tx: 0, redirect: 0 };
    const wrong: string[] = [];
    const reader = async (seed: number): Promise<void> => {
      const c = await RawClient.connect(src.port, src.host);
      conns.push(c);
      let x = seed;
      for (let round = 0; moving && round < 100_000; round++) {
        // 50 GETs in flight on this connection at a time.
        const batch: string[] = [];
        for (let j = 0; j < 50; j++) {
          x = (x * 1103515245 + 12345) % 2147483648;
          batch.push(j % 5 === 4 ? streams[x % streams.length]! : keys[x % keys.length]!);
        }
        // A stream is read with XREAD BLOCK (answered after its ReadIndex round, or parked: nil after 1 ms);
        // every fifth string key in a transaction of reads only (MULTI, GET, EXEC: one read of the whole).
        const cmds = batch.map((k, j) =>
          k.startsWith('x') ? [['XREAD', 'BLOCK', '1', 'STREAMS', k, '0']] : j % 5 === 2 ? [['MULTI'], ['GET', k], ['EXEC']] : [['GET', k]],
        );
        const replies = cmds.map((cs) => cs.map(() => c.next()));
        c.sock.write(Buffer.from(cmds.flat().map((a) => encodeCommand(a)).join(''), 'latin1'));
        const got = await Promise.all(replies.map(async (rs) => (await Promise.all(rs)).pop()!));
        for (let j = 0; j < batch.length; j++) {
          const r = got[j]!;
          const k = batch[j]!;
          if (r === `$${`v-${k}`.length}\r\nv-${k}\r\n`) counts.value++;
          else if (cmds[j]!.length === 3 && r === `*1\r\n$${`v-${k}`.length}\r\nv-${k}\r\n`) counts.tx++;
          else if (k.startsWith('x') && r.startsWith(`*1\r\n*2\r\n$${k.length}\r\n${k}\r\n*1\r\n*2\r\n$3\r\n1-1\r\n`)) counts.entry++;
          else if (/^-(ASK|MOVED|TRYAGAIN) /.test(r)) counts.redirect++;
          // The GET was redirected when queued (Redis flags the transaction): EXEC discards it.
          else if (cmds[j]!.length === 3 && r === '-EXECABORT Transaction discarded because of previous errors.\r\n') counts.redirect++;
          else if (wrong.length < 20) wrong.push(`${k.startsWith('x') ? 'XREAD BLOCK' : cmds[j]!.length === 3 ? 'MULTI GET EXEC' : 'GET'} ${k} (slot ${keyHashSlot(k)}) answered ${JSON.stringify(r)}`);
        }
      }
    };
    const readers = [1, 2, 3, 4].map((s) => reader(s * 7919));
    const answer = await sc.toConfig('RAFT.SHARDS', 'MOVE', 1, '0-199');
    moving = false;
    await Promise.all(readers);
    expect(answer).toBe('OK');
    expect(wrong, `${counts.value} values, ${counts.entry} stream entries, ${counts.tx} transactions, ${counts.redirect} redirects`).toEqual([]);
    // The reads overlapped the shipping: some found their key gone (a redirect), many found it there.
    expect(counts.redirect).toBeGreaterThan(0);
    expect(counts.value).toBeGreaterThan(0);
    expect(counts.entry).toBeGreaterThan(0);
    expect(counts.tx).toBeGreaterThan(0);
    const dst = await sc.leader(1);
    expect(await sc.call(dst, 'CLUSTER', 'COUNTKEYSINSLOT', keyHashSlot(keys[0]!))).toBeGreaterThan(0);
  }, 120_000);
});

describe('CLUSTER NODES during a move', () => {
  it("shows [slot->-<id>] on the source master's own line and [slot-<-<id>] on the target's, as Redis, until the move ends", async () => {
    sc.dumpLogsOnFailure();
    // A slot of group 0 (the first half) with keys: it moves to group 1.
    let tag = '';
    for (let i = 0; i < 100_000 && tag === ''; i++) if (keyHashSlot(`{m${i}}`) >= 1000 && keyHashSlot(`{m${i}}`) < 8000) tag = `{m${i}}`;
    const slot = keyHashSlot(tag);
    const s0 = await sc.leader(0);
    for (let i = 0; i < 20; i++) await sc.call(s0, 'SET', `${tag}:${i}`, 'v');
    const g0 = sc.groups[0]!;
    const g1 = sc.groups[1]!;
    const nodesOf = async (n: ClusterNode): Promise<string[]> => String(await sc.call(n, 'CLUSTER', 'NODES')).trim().split('\n');
    const mine = (lines: string[]): string => lines.find((l) => l.split(' ')[2]!.includes('myself'))!;
    const idOf = (lines: string[], g: ClusterNode[]): string[] => lines.filter((l) => g.some((n) => l.split(' ')[1]!.startsWith(`${n.host}:${n.port}@`))).map((l) => l.split(' ')[0]!);

    // Group 1 (the target) without a quorum: it cannot adopt the move, so nothing is shipped.
    const t1 = await sc.leader(1);
    const tFollowers = g1.nodes.filter((n) => n.id !== t1.id);
    for (const n of tFollowers) g1.pause(n.id);
    const paused: [typeof g0, number][] = tFollowers.map((n) => [g1, n.id]);
    try {
      expect(await sc.toConfig('RAFT.SHARDS', 'BEGINMOVE', 1, slot)).toBe('OK');
      // The source's master: its own line ends with the marker, naming group 1's master as it knows it.
      let lines: string[] = [];
      await until(
        () => `[${slot}->-…] on group 0's master line; CLUSTER NODES:\n${lines.join('\n')}`,
        async () => {
          lines = await nodesOf(s0);
          return mine(lines).includes(`[${slot}->-`);
        },
        20_000,
        100,
      );
      const g1Master = lines.find((l) => / master /.test(` ${l.split(' ')[2]!.replace(/,/g, ' ')} `) && idOf([l], g1.nodes).length === 1)!.split(' ')[0]!;
      expect(mine(lines)).toMatch(new RegExp(` connected [0-9 -]+ \\[${slot}->-${g1Master}\\]$`));
      // Only the master's own line has it: no other line, and not its replicas' output.
      expect(lines.filter((l) => l.includes('['))).toHaveLength(1);
      for (const n of g0.nodes.filter((x) => x.id !== s0.id)) expect((await nodesOf(n)).some((l) => l.includes('['))).toBe(false);

      // Now hold the source: group 0 without a quorum ships nothing; group 1 gets its quorum back and adopts.
      const sFollowers = g0.nodes.filter((n) => n.id !== s0.id);
      for (const n of sFollowers) g0.pause(n.id);
      paused.push(...sFollowers.map((n): [typeof g0, number] => [g0, n.id]));
      for (const n of tFollowers) g1.resume(n.id);
      paused.splice(0, tFollowers.length);
      let t: ClusterNode | undefined;
      await until(
        () => `[${slot}-<-…] on group 1's master line; CLUSTER NODES of ${t?.port}:\n${lines.join('\n')}`,
        async () => {
          t = await sc.leader(1);
          lines = await nodesOf(t);
          return mine(lines).includes(`[${slot}-<-`);
        },
        30_000,
        100,
      );
      const g0Master = idOf(lines, [s0])[0]!;
      expect(mine(lines)).toMatch(new RegExp(` connected( [0-9 -]+)? \\[${slot}-<-${g0Master}\\]$`));
      expect(lines.filter((l) => l.includes('['))).toHaveLength(1);
    } finally {
      for (const [g, id] of paused) g.resume(id);
    }

    // The move ends; the markers go.
    await until(
      'the move to end and the markers to go',
      async () => {
        const [a, b] = await Promise.all([nodesOf(await sc.leader(0)), nodesOf(await sc.leader(1))]);
        return ![...a, ...b].some((l) => l.includes('['));
      },
      60_000,
      200,
    );
    expect(await sc.call(await sc.leader(1), 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(20);
  }, 150_000);
});
