/**
 * Live membership changes and leadership transfer on a real cluster, under
 * a concurrent SET/GET/APPEND workload whose history is checked for
 * linearizability (an acknowledged write that was lost, or a stale read,
 * makes it fail):
 *   - grow 3 → 5 with `raftis --join` (learners, promoted once caught up),
 *     then shrink back to 3 removing a follower and the leader;
 *   - replace a killed node by a new, empty one;
 *   - hand leadership back and forth 20 times (RAFT.TRANSFER_LEADER, and
 *     CLUSTER FAILOVER on a follower);
 * and the errors of bad requests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { converged } from '../helpers/cluster-ops.js';
import { sleep, until } from '../helpers/poll.js';
import { checkHistory, type Op } from '../helpers/linearizability.js';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import { ChaosClient } from '../chaos/client.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'];

interface NodeAddr {
  id: number;
  host: string;
  port: number;
}

/** Concurrent clients doing SET/GET/APPEND until stopped; returns the history. */
function workload(addrs: NodeAddr[], clients: number): { stop(): Promise<Op[]>; acked(): number } {
  const history: Op[] = [];
  let stopped = false;
  let acked = 0;
  const loops = Array.from({ length: clients }, async (_, i) => {
    const id = i + 1;
    const client = new ChaosClient(addrs, { attemptTimeoutMs: 3000, requestDeadlineMs: 8000, retryDelayMs: 30, stopped: () => stopped }, id);
    let n = 0;
    try {
      while (!stopped) {
        const key = KEYS[(id * 7 + n) % KEYS.length]!;
        const r = (n * 37 + id * 11) % 10;
        const kind = r < 4 ? 'get' : r < 7 ? 'set' : 'append';
        const arg = kind === 'get' ? undefined : kind === 'set' ? `c${id}-${++n}` : `+c${id}-${++n}`;
        if (kind === 'get') n++;
        const args = kind === 'get' ? ['GET', key] : kind === 'set' ? ['SET', key, arg!] : ['APPEND', key, arg!];
        const invoke = performance.now();
        const out = await client.request(args);
        const complete = performance.now();
        if (out.kind === 'failed') continue;
        if (out.kind === 'unknown') {
          if (kind !== 'get') history.push({ client: id, kind, key, arg, invoke });
          continue;
        }
        const reply = out.reply;
        const op: Op = { client: id, kind, key, arg, invoke, complete };
        if (kind === 'get') op.result = reply === '$-1\r\n' ? null : reply.slice(reply.indexOf('\r\n') + 2, -2);
        else if (kind === 'append') op.result = Number(reply.slice(1, -2));
        else if (reply !== '+OK\r\n') throw new Error(`SET answered ${JSON.stringify(reply)}`);
        history.push(op);
        acked++;
        await sleep(2);
      }
    } finally {
      client.close();
    }
  });
  return {
    acked: () => acked,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return history;
    },
  };
}

async function call(c: TestCluster, id: number, ...args: string[]): Promise<string> {
  const cl = await c.client(id);
  try {
    return await cl.call(...args);
  } finally {
    cl.close();
  }
}

/** Sends a command to whoever leads, following MOVED (as redis-cli -c). */
async function callLeader(c: TestCluster, ...args: string[]): Promise<string> {
  let id = await c.waitForLeader();
  for (let hop = 0; hop < 5; hop++) {
    const r = await call(c, id, ...args);
    const m = /^-MOVED \d+ (.+):(\d+)\r\n$/.exec(r);
    if (!m) return r;
    const n = c.nodes.find((x) => x.host === m[1] && x.port === Number(m[2]));
    if (!n) throw new Error(`MOVED to unknown ${m[1]}:${m[2]}`);
    id = n.id;
  }
  throw new Error('too many redirects');
}

async function members(c: TestCluster, id: number): Promise<Record<string, string>> {
  const info = await c.raftInfo(id);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(info ?? {})) if (k.startsWith('member_')) out[k.slice(7)] = /role=(\w+)/.exec(v)?.[1] ?? '?';
  return out;
}

function checkLinearizable(history: Op[]): void {
  const writes = history.filter((o) => o.kind !== 'get' && o.complete !== undefined).length;
  const reads = history.filter((o) => o.kind === 'get' && o.complete !== undefined).length;
  expect(writes).toBeGreaterThan(100);
  expect(reads).toBeGreaterThan(50);
  const r = checkHistory(history, 500_000);
  expect(r, `${history.length} ops`).toEqual({ ok: true, badKeys: [], undecided: [] });
}

describe('live membership changes under load', () => {
  it('grows 3 → 5 by --join, shrinks back to 3 removing a follower and the leader, replaces a killed node; linearizable throughout', async () => {
    cluster = await TestCluster.start({ args: ['--snapshot-entries', '1500', '--snapshot-keep-entries', '300'] });
    const c = cluster;
    const addrs: NodeAddr[] = c.nodes.map((n) => ({ id: n.id, host: n.host, port: n.port }));
    const load = workload(addrs, 6);
    await sleep(1000);

    // 3 → 5
    for (let k = 0; k < 2; k++) {
      const n = await c.addNode();
      addrs.push({ id: n.id, host: n.host, port: n.port });
      await until(`node ${n.id} promoted`, async () => (await members(c, await c.waitForLeader()))[n.id] === 'voter', 20_000, 100);
      expect(c.logs(n.id)).toMatch(/was added to the cluster as a learner/);
    }
    const five = await members(c, await c.waitForLeader());
    expect(five).toEqual({ 1: 'voter', 2: 'voter', 3: 'voter', 4: 'voter', 5: 'voter' });
    await sleep(500);

    // 5 → 4: a follower.
    let leader = await c.waitForLeader();
    const follower = c.nodes.find((n) => n.id !== leader && n.id !== 1)!.id;
    expect(await callLeader(c, 'RAFT.NODE', 'REMOVE', String(follower))).toBe('+OK\r\n');
    await until(`node ${follower} exits`, async () => !c.isRunning(follower), 10_000, 100);
    expect(c.logs(follower)).toMatch(/was removed from the cluster/);
    c.dropNode(follower);

    // 4 → 3: the leader (it hands leadership over first; the MOVED is followed).
    leader = await c.waitForLeader();
    expect(await callLeader(c, 'RAFT.NODE', 'REMOVE', String(leader))).toBe('+OK\r\n');
    await until(`old leader ${leader} exits`, async () => !c.isRunning(leader), 10_000, 100);
    c.dropNode(leader);
    const newLeader = await c.waitForLeader(10_000, [leader]);
    expect(newLeader).not.toBe(leader);
    expect(Object.keys(await members(c, newLeader)).length).toBe(3);
    await sleep(500);

    // Replace a killed node by a new, empty one.
    const victim = c.nodes.find((n) => c.isRunning(n.id) && n.id !== newLeader)!.id;
    await c.kill9(victim);
    expect(await callLeader(c, 'RAFT.NODE', 'REMOVE', String(victim))).toBe('+OK\r\n');
    c.dropNode(victim);
    const fresh = await c.addNode();
    addrs.push({ id: fresh.id, host: fresh.host, port: fresh.port });
    await until(`node ${fresh.id} promoted`, async () => (await members(c, await c.waitForLeader()))[fresh.id] === 'voter', 20_000, 100);
    await sleep(800);

    const history = await load.stop();
    checkLinearizable(history);
    // Every running member ends with the same keyspace.
    const running = c.nodes.filter((n) => c.isRunning(n.id)).map((n) => n.id);
    expect(running.length).toBe(3);
    const digests = await converged(c, running, 10_000);
    expect(new Set(digests).size).toBe(1);
  }, 120_000);

  it('hands leadership back and forth 20 times under load (RAFT.TRANSFER_LEADER and CLUSTER FAILOVER); linearizable', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const addrs: NodeAddr[] = c.nodes.map((n) => ({ id: n.id, host: n.host, port: n.port }));
    const load = workload(addrs, 6);
    await sleep(500);
    const leaders: number[] = [];
    for (let i = 0; i < 20; i++) {
      const leader = await c.waitForLeader();
      const target = c.nodes.map((n) => n.id).filter((id) => id !== leader)[i % 2]!;
      if (i % 4 === 3) {
        expect(await call(c, target, 'CLUSTER', 'FAILOVER')).toBe('+OK\r\n');
        await until(`CLUSTER FAILOVER to ${target}`, async () => (await c.raftInfo(target))?.role === 'leader', 5000, 100);
      } else {
        expect(await call(c, leader, 'RAFT.TRANSFER_LEADER', String(target))).toBe('+OK\r\n');
      }
      leaders.push(await c.waitForLeader(5000, [leader]));
      await sleep(150);
    }
    const history = await load.stop();
    expect(new Set(leaders).size).toBeGreaterThanOrEqual(2);
    checkLinearizable(history);
  }, 120_000);

  it('a node joining after the log was compacted gets a snapshot that names it, and catches up', async () => {
    cluster = await TestCluster.start({ args: ['--snapshot-entries', '0', '--snapshot-keep-entries', '10'] });
    const c = cluster;
    for (let i = 0; i < 300; i++) expect(await callLeader(c, 'SET', `j${i}`, `v${i}`)).toBe('+OK\r\n');
    expect(await callLeader(c, 'SAVE')).toBe('+OK\r\n');
    const leader = await c.waitForLeader();
    expect(Number((await c.raftInfo(leader))!.first_index)).toBeGreaterThan(250);
    const n = await c.addNode();
    await until(`node ${n.id} promoted`, async () => (await members(c, await c.waitForLeader()))[n.id] === 'voter', 20_000, 100);
    expect(c.logs(n.id)).toMatch(/installed the leader's snapshot/);
    await until('caught up', async () => (await c.raftInfo(n.id))?.applied_index === (await c.raftInfo(leader))?.applied_index, 10_000, 100);
    expect(await call(c, n.id, 'RAFT.DIGEST')).toBe(await call(c, leader, 'RAFT.DIGEST'));
  }, 60_000);

  it('random membership changes, transfers, kills and pauses, one at a time under load: linearizable, replicas converge', async () => {
    cluster = await TestCluster.start({ args: ['--snapshot-entries', '400', '--snapshot-keep-entries', '50'] });
    const c = cluster;
    const addrs: NodeAddr[] = c.nodes.map((n) => ({ id: n.id, host: n.host, port: n.port }));
    const load = workload(addrs, 6);
    // The schedule follows the seed (MEMBERSHIP_SEED=<n> repeats one); the steps taken are in failure messages.
    let seed = process.env.MEMBERSHIP_SEED ? Number(process.env.MEMBERSHIP_SEED) : Math.floor(Math.random() * 2 ** 31);
    const seed0 = seed;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const done: string[] = [`seed ${seed0}`];
    // Up to 12 steps in 15 s, and at least 7 however slow the machine is
    // (asserted below), but never past 60 s: a count, not a rate.
    const started = Date.now();
    const more = (): boolean => Date.now() - started < 60_000 && (done.length < 7 || Date.now() - started < 15_000);
    for (let step = 0; step < 12 && more(); step++) {
      const leader = await c.waitForLeader(15_000);
      const running = c.nodes.filter((n) => c.isRunning(n.id)).map((n) => n.id);
      const followers = running.filter((id) => id !== leader);
      const pick = followers[Math.floor(rnd() * followers.length)]!;
      const r = rnd();
      if (r < 0.25) {
        // A target still catching up (restarted a moment ago) may not make it within an election timeout: the old leader resumes.
        const r2 = await call(c, leader, 'RAFT.TRANSFER_LEADER', String(pick));
        expect(r2).toMatch(/^(\+OK|-ERR leadership transfer to node \d+ did not complete within \d+ ms; node \d+ leads)\r\n$/);
        done.push(`transfer ${leader}->${pick}${r2.startsWith('+') ? '' : ' (timed out)'}`);
      } else if (r < 0.5) {
        await c.kill9(pick);
        await sleep(300 + rnd() * 700);
        await c.startNode(pick);
        done.push(`kill -9 ${pick}`);
      } else if (r < 0.7) {
        c.pause(leader);
        await sleep(700 + rnd() * 600);
        c.resume(leader);
        done.push(`pause leader ${leader}`);
      } else {
        // Replace a follower by a new node (a leader change in between may ask for a retry).
        let r3 = '';
        for (let t = 0; t < 10; t++) {
          r3 = await callLeader(c, 'RAFT.NODE', 'REMOVE', String(pick));
          if (!/^-(TRYAGAIN|CLUSTERDOWN|ERR a membership change is in progress)/.test(r3)) break;
          await sleep(300);
        }
        expect(r3).toBe('+OK\r\n');
        await until(`node ${pick} exits`, async () => !c.isRunning(pick), 20_000, 100);
        c.dropNode(pick);
        const n = await c.addNode();
        addrs.push({ id: n.id, host: n.host, port: n.port });
        await until(`node ${n.id} promoted (after ${done.join(', ')})`, async () => (await members(c, await c.waitForLeader()))[n.id] === 'voter', 20_000, 100);
        done.push(`replace ${pick} by ${n.id}`);
      }
      await sleep(300);
    }
    const history = await load.stop();
    console.log(`membership chaos: ${done.join(', ')}`);
    checkLinearizable(history);
    const ids = c.nodes.filter((n) => c.isRunning(n.id)).map((n) => n.id);
    const digests = await converged(c, ids, 15_000);
    expect(new Set(digests).size, done.join(', ')).toBe(1);
    expect(done.length, done.join(', ')).toBeGreaterThanOrEqual(7);
  }, 150_000);

  it('a node removed while it was down learns it from the members when it comes back, and exits', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const away = c.nodes.find((n) => n.id !== leader)!.id;
    await c.kill9(away);
    expect(await callLeader(c, 'RAFT.NODE', 'REMOVE', String(away))).toBe('+OK\r\n');
    await c.startNode(away);
    await until(`node ${away} exits`, async () => !c.isRunning(away), 20_000, 100);
    expect(c.logs(away)).toMatch(/refused this node as unknown .*it was removed from the cluster while it could not hear of it/);
  }, 60_000);

  it('bad requests get clear errors', async () => {
    cluster = await TestCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const follower = c.nodes.find((n) => n.id !== leader)!;
    const L = c.node(leader);
    const cl = await RawClient.connect(L.port, L.host);
    expect(await cl.call('RAFT.NODE', 'ADD', String(follower.id), `${follower.host}:${follower.port}`)).toBe(`-ERR node ${follower.id} is already a member of this cluster\r\n`);
    expect(await cl.call('RAFT.NODE', 'ADD', '9', '127.0.0.1:1')).toMatch(/^-ERR cannot reach node 9's peer port at 127\.0\.0\.1:10001 \(.*\); start it first\r\n$/);
    expect(await cl.call('RAFT.NODE', 'REMOVE', '9')).toBe('-ERR node 9 is not a member of this cluster\r\n');
    expect(await cl.call('RAFT.NODE', 'ADD', 'x', '127.0.0.1:1')).toBe('-ERR invalid node id: a positive integer is expected\r\n');
    expect(await cl.call('RAFT.NODE', 'ADD', '9', 'nowhere')).toBe('-ERR invalid address: expected host:port or host:port@clusterport\r\n');
    expect(await cl.call('RAFT.NODE', 'PROMOTE', '9')).toMatch(/^-ERR unknown subcommand 'PROMOTE'/);
    expect(await cl.call('RAFT.TRANSFER_LEADER', '9')).toBe('-ERR node 9 is not a voter of this cluster\r\n');
    expect(await cl.call('CLUSTER', 'FAILOVER')).toBe('-ERR You should send CLUSTER FAILOVER to a replica\r\n');
    // Two changes at once (pipelined in one write): the second is refused while the first is in flight.
    const other = c.nodes.find((n) => n.id !== leader && n.id !== follower.id)!;
    const first = cl.send(encodeCommand(['RAFT.NODE', 'REMOVE', String(follower.id)]) + encodeCommand(['RAFT.NODE', 'REMOVE', String(other.id)]));
    const second = cl.next();
    expect(await first).toBe('+OK\r\n');
    expect(await second).toBe('-ERR a membership change is in progress; retry when it has completed\r\n');
    // Down to 2 voters, then 1: the last voter cannot be removed.
    await until('removed node exits', async () => !c.isRunning(follower.id), 10_000, 100);
    expect(await cl.call('RAFT.NODE', 'REMOVE', String(other.id))).toBe('+OK\r\n');
    expect(await cl.call('RAFT.NODE', 'REMOVE', String(leader))).toBe('-ERR cannot remove the last voter of the cluster\r\n');
    // A follower redirects membership commands to the leader.
    cl.close();
  }, 60_000);
});
