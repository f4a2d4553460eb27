/**
 * Failures of real raftis processes in a 3-node cluster: kill -9 of the
 * leader and of a follower under a write load, SIGSTOP of the leader past
 * the election timeout (no stale read, no acknowledged lost write when it
 * comes back), and a follower restarted with a lagging log.
 *
 * A write counts as acknowledged only when its +OK reply arrived. Every
 * test starts its own cluster and destroys it at the end (and afterAll
 * destroys whatever a failed test left running).
 */
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import type { RawClient } from '../helpers/raw-client.js';
import { acceptedClient, bulk, isRetryable, leaderCommit, mismatches, readThroughLeader, replyOrWhy, setAll, sleep, untilApplied } from '../helpers/cluster-ops.js';

const clusters: TestCluster[] = [];
afterAll(async () => {
  await Promise.all(clusters.map((c) => c.destroy()));
});

const NIL = '$-1\r\n';

async function startCluster(size = 3): Promise<TestCluster> {
  const c = await TestCluster.start({ size });
  clusters.push(c);
  onTestFailed(() => {
    for (const n of c.nodes) console.error(`----- node ${n.id} (${n.host}:${n.port}) log tail -----\n${c.logs(n.id).slice(-5000)}`);
  });
  return c;
}

function nodeByAddr(c: TestCluster, addr: string): number | undefined {
  return c.nodes.find((n) => `${n.host}:${n.port}` === addr)?.id;
}

/**
 * Writes fresh keys (`<prefix>:<n>` = `v-<prefix>:<n>`) in pipelined batches
 * to whichever node it believes leads, following MOVED, moving on after
 * CLUSTERDOWN/TRYAGAIN/connection errors. Every key is attempted once, so a
 * key's value is known; only +OK replies are recorded as acknowledged.
 */
class Writer {
  readonly acked = new Map<string, string>();
  /** Replies that are neither OK nor a documented retry/redirect. */
  readonly unexpected: string[] = [];
  private n = 0;
  private stopped = false;
  private done: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly cluster: TestCluster,
    private readonly prefix: string,
    private target: number,
    private readonly batch = 8,
  ) {}

  start(): void {
    this.done = this.loop().catch((e: unknown) => {
      this.failure = e;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    if (this.failure) throw this.failure;
  }

  async waitAcked(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acked.size < count) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) throw new Error(`only ${this.acked.size} of ${count} writes acknowledged after ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  private rotate(): void {
    const ids = this.cluster.nodes.map((n) => n.id);
    this.target = ids[(ids.indexOf(this.target) + 1) % ids.length]!;
  }

  private async loop(): Promise<void> {
    let c: RawClient | undefined;
    let cid = 0;
    while (!this.stopped) {
      if (!c || c.isClosed || cid !== this.target) {
        c?.close();
        c = undefined;
        try {
          c = await withTimeout(this.cluster.client(this.target), 1000);
          cid = this.target;
        } catch {
          this.rotate();
          await sleep(50);
          continue;
        }
      }
      const conn = c;
      const keys = Array.from({ length: this.batch }, () => `${this.prefix}:${this.n++}`);
      const results = await Promise.allSettled(keys.map((k) => withTimeout(conn.call('SET', k, `v-${k}`), 3000)));
      let broken = false;
      let retryLater = false;
      let redirect: number | undefined;
      results.forEach((r, i) => {
        const k = keys[i]!;
        if (r.status === 'rejected') {
          broken = true;
        } else if (r.value === '+OK\r\n') {
          this.acked.set(k, `v-${k}`);
        } else if (r.value.startsWith('-MOVED ')) {
          redirect = nodeByAddr(this.cluster, r.value.trim().split(' ')[2]!);
        } else if (isRetryable(r.value)) {
          retryLater = true;
        } else {
          this.unexpected.push(r.value);
        }
      });
      if (broken) {
        // A timed-out reply may still come: never reuse the connection.
        conn.close();
        c = undefined;
        this.rotate();
        await sleep(50);
      } else if (redirect !== undefined) {
        this.target = redirect;
      } else if (retryLater) {
        this.rotate();
        await sleep(50);
      }
    }
    c?.close();
  }
}

/** GET of every key on one node's own state (READONLY connection). */
async function readLocal(c: TestCluster, id: number, keys: readonly string[]): Promise<Map<string, string>> {
  const conn = await c.client(id);
  try {
    expect(await conn.call('READONLY')).toBe('+OK\r\n');
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const replies = await withTimeout(Promise.all(chunk.map((k) => conn.call('GET', k))), 10_000);
      chunk.forEach((k, j) => out.set(k, replies[j]!));
    }
    return out;
  } finally {
    conn.close();
  }
}

/** A reply that says the write was not applied (safe to retry where it points). */
function isRefusal(reply: string): boolean {
  return /^-(MOVED |CLUSTERDOWN |TRYAGAIN )/.test(reply);
}

/** Waits until node id is a follower that knows another node as its leader. */
async function waitFollower(c: TestCluster, id: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let info: Record<string, string> | undefined;
  for (;;) {
    info = await c.raftInfo(id, 1000);
    if (info?.role === 'follower' && Number(info.leader) !== id && Number(info.leader) !== 0) return;
    if (Date.now() > deadline) throw new Error(`node ${id} is not a follower of another leader after ${timeoutMs} ms: ${JSON.stringify(info)}`);
    await sleep(50);
  }
}

/** One command on the current leader, retried only on replies that promise it was not applied. */
async function callOnLeader(c: TestCluster, args: string[]): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 20; attempt++) {
    const leader = await c.waitForLeader(15_000);
    const conn = await c.client(leader);
    try {
      last = await withTimeout(conn.call(...args), 5000);
    } finally {
      conn.close();
    }
    if (!isRefusal(last)) return last;
    await sleep(100);
  }
  throw new Error(`${args.join(' ')} still refused after 20 attempts: ${JSON.stringify(last)}`);
}

/**
 * Every running node names `leader` as the master of all slots (CLUSTER
 * SLOTS) and reports its own role in INFO replication, within timeoutMs.
 */
async function waitTopology(c: TestCluster, leader: number, timeoutMs = 5000): Promise<void> {
  const l = c.node(leader);
  const slotsHead = `*1\r\n*${c.nodes.length + 2}\r\n:0\r\n:16383\r\n*4\r\n$${l.host.length}\r\n${l.host}\r\n:${l.port}\r\n`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wrong: string[] = [];
    for (const n of c.nodes.filter((x) => c.isRunning(x.id))) {
      const conn = await c.client(n.id);
      try {
        const slots = await withTimeout(conn.call('CLUSTER', 'SLOTS'), 2000);
        if (!slots.startsWith(slotsHead)) wrong.push(`node ${n.id} CLUSTER SLOTS ${JSON.stringify(slots.slice(0, 80))}`);
        const repl = await withTimeout(conn.call('INFO', 'replication'), 2000);
        const want = n.id === leader ? ['role:master'] : ['role:slave', `master_host:${l.host}`, `master_port:${l.port}`];
        for (const line of want) if (!repl.includes(`${line}\r\n`)) wrong.push(`node ${n.id} INFO replication lacks ${line}`);
      } finally {
        conn.close();
      }
    }
    if (wrong.length === 0) return;
    if (Date.now() > deadline) throw new Error(`topology does not show node ${leader} as the master: ${wrong.join('; ')}`);
    await sleep(100);
  }
}

/**
 * kill -9 of one node under a write load: every acknowledged write
 * survives, the two others keep accepting writes, and the restarted node
 * catches up and holds the same values.
 */
async function killUnderLoad(c: TestCluster, victim: 'leader' | 'follower'): Promise<void> {
  const leader = await c.waitForLeader();
  const killed = victim === 'leader' ? leader : c.nodes.find((n) => n.id !== leader)!.id;
  const w = new Writer(c, `kill-${victim}`, leader);
  w.start();
  try {
    await w.waitAcked(400, 20_000);
    const before = w.acked.size;
    await c.kill9(killed);
    expect(c.isRunning(killed)).toBe(false);
    // With 2 of 3 nodes the cluster keeps (or goes back to) accepting writes.
    const survivor = await c.waitForLeader(15_000, [killed]);
    expect(survivor).not.toBe(killed);
    await w.waitAcked(before + 400, 30_000);
    expect(c.isRunning(killed)).toBe(false);
  } finally {
    await w.stop();
  }
  expect(w.unexpected).toEqual([]);

  // Cluster-aware clients are pointed at the current leader by every surviving node.
  await waitTopology(c, await c.waitForLeader(15_000));

  // No acknowledged write is lost: all are readable through the leader.
  const keys = [...w.acked.keys()];
  expect(mismatches(w.acked, await readThroughLeader(c, keys))).toEqual([]);

  // The killed node comes back, catches up with the leader's commit index and has the same values.
  const { commit } = await leaderCommit(c);
  expect(commit).toBeGreaterThanOrEqual(w.acked.size);
  await c.startNode(killed);
  await untilApplied(c, { ids: [killed], index: commit, timeoutMs: 30_000 });
  expect(mismatches(w.acked, await readLocal(c, killed, keys))).toEqual([]);
  await waitTopology(c, await c.waitForLeader(15_000));
}

describe('3-node cluster failures', () => {
  it('kill -9 of the leader under load: no acknowledged write lost, 2 of 3 accept writes, the restarted node catches up', async () => {
    const c = await startCluster();
    try {
      await killUnderLoad(c, 'leader');
    } finally {
      await c.destroy();
    }
  });

  it('kill -9 of a follower under load: no acknowledged write lost, 2 of 3 accept writes, the restarted node catches up', async () => {
    const c = await startCluster();
    try {
      await killUnderLoad(c, 'follower');
    } finally {
      await c.destroy();
    }
  });

  it('SIGSTOP of the leader past the election timeout: a new leader takes over; after SIGCONT the old one steps down and serves no stale read', async () => {
    const c = await startCluster();
    try {
      const old = await c.waitForLeader();
      const oc = await c.client(old);
      expect(await oc.call('SET', 'stale', 'old')).toBe('+OK\r\n');
      expect(await oc.call('GET', 'stale')).toBe(bulk('old'));
      // A connection to the old leader whose requests wait in its socket while it is stopped.
      const queued = await acceptedClient(c, old);
      let early: Promise<string> | undefined;
      let earlyWrite: Promise<string> | undefined;
      c.pause(old);
      try {
        // The others elect a new leader (the paused one does not answer RAFT.INFO) and accept writes.
        const newLeader = await c.waitForLeader(15_000, [old]);
        expect(newLeader).not.toBe(old);
        const nc = await c.client(newLeader);
        expect(await withTimeout(nc.call('SET', 'stale', 'new'), 5000)).toBe('+OK\r\n');
        expect(await withTimeout(nc.call('SET', 'during-pause', 'yes'), 5000)).toBe('+OK\r\n');
        nc.close();
        // Handled the moment the old leader runs again, in the same turn as the new term's messages.
        early = queued.call('GET', 'stale');
        earlyWrite = queued.call('SET', 'written-to-deposed', 'x');
        early.catch(() => {});
        earlyWrite.catch(() => {});
        await sleep(100);
      } finally {
        c.resume(old);
      }
      // A read sent right after SIGCONT, on a connection it served before the pause.
      const right = oc.call('GET', 'stale');
      const replies = await Promise.all([early!, right].map((p) => replyOrWhy(p, 10_000)));
      for (const r of replies) {
        expect(r, `a read on the deposed leader returned ${JSON.stringify(r)}`).not.toBe(bulk('old'));
        expect(r === bulk('new') || isRetryable(r), `unexpected reply ${JSON.stringify(r)}`).toBe(true);
      }
      // The write it took while deposed cannot have been committed: not acknowledged.
      const wr = await replyOrWhy(earlyWrite!, 10_000);
      expect(wr, `a write on the deposed leader was answered ${JSON.stringify(wr)}`).not.toBe('+OK\r\n');
      expect(isRetryable(wr) || wr.startsWith('(no reply'), `unexpected reply ${JSON.stringify(wr)}`).toBe(true);

      // It steps down within a few seconds and follows the new leader.
      await waitFollower(c, old, 5000);
      // A fresh connection to it is redirected to the current leader, never served stale data.
      const fc = await c.client(old);
      const moved = await withTimeout(fc.call('GET', 'stale'), 5000);
      expect(moved.startsWith('-MOVED ') || moved === bulk('new'), moved).toBe(true);
      fc.close();

      // The cluster's state has the writes made through the new leader.
      const keys = ['stale', 'during-pause', 'written-to-deposed'];
      const now = await readThroughLeader(c, keys);
      expect(now.get('stale')).toBe(bulk('new'));
      expect(now.get('during-pause')).toBe(bulk('yes'));
      // The old leader catches up and, read locally, has the same values.
      const { commit } = await leaderCommit(c);
      await untilApplied(c, { ids: [old], index: commit, timeoutMs: 15_000 });
      const local = await readLocal(c, old, keys);
      for (const k of keys) expect(local.get(k), k).toBe(now.get(k));
      for (const x of [oc, queued]) x.close();
    } finally {
      await c.destroy();
    }
  });

  it('writes a deposed leader refuses (MOVED/TRYAGAIN/CLUSTERDOWN) around SIGCONT are not applied', async () => {
    const c = await startCluster();
    try {
      const old = await c.waitForLeader();
      const oc = await c.client(old);
      expect(await oc.call('SET', 'counter', '0')).toBe('+OK\r\n');
      oc.close();
      const queued = await acceptedClient(c, old);
      const sets: { key: string; reply: Promise<string> }[] = [];
      const incrs: Promise<string>[] = [];
      let n = 0;
      const send = (): void => {
        const key = `refused:${n++}`;
        sets.push({ key, reply: queued.call('SET', key, 'x') });
        incrs.push(queued.call('INCR', 'counter'));
      };
      c.pause(old);
      try {
        const newLeader = await c.waitForLeader(15_000, [old]);
        expect(newLeader).not.toBe(old);
        const nc = await c.client(newLeader);
        expect(await withTimeout(nc.call('SET', 'during-pause', 'yes'), 5000)).toBe('+OK\r\n');
        nc.close();
        // Waiting in the stopped leader's socket: handled when it resumes, while it still believes it leads.
        send();
        await sleep(100);
      } finally {
        c.resume(old);
      }
      // And more as it wakes up and learns of the new term.
      const until = Date.now() + 300;
      while (Date.now() < until) {
        send();
        await sleep(2);
      }
      const setReplies = await Promise.all(sets.map((s) => replyOrWhy(s.reply, 10_000)));
      const incrReplies = await Promise.all(incrs.map((p) => replyOrWhy(p, 10_000)));
      // Never acknowledged: the deposed leader cannot commit, and once a follower it redirects.
      expect(setReplies.filter((r) => r === '+OK\r\n')).toEqual([]);
      expect(incrReplies.filter((r) => r.startsWith(':'))).toEqual([]);
      await waitFollower(c, old, 5000);
      const { commit } = await leaderCommit(c);
      await untilApplied(c, { ids: [old], index: commit, timeoutMs: 15_000 });

      // MOVED, TRYAGAIN and CLUSTERDOWN promise that the write was not applied (the client
      // may retry it where it is pointed); only "outcome unknown" or no reply leave it open.
      const now = await readThroughLeader(c, ['counter', ...sets.map((s) => s.key)]);
      const applied = sets.flatMap((s, i) => (isRefusal(setReplies[i]!) && now.get(s.key) !== NIL ? [`${s.key} answered ${JSON.stringify(setReplies[i])}`] : []));
      expect(applied.length, `SETs refused by the deposed leader but applied: ${applied.slice(0, 5).join('; ')}`).toBe(0);
      const open = incrReplies.filter((r) => !isRefusal(r)).length;
      const counter = Number(/^\$\d+\r\n(\d+)\r\n$/.exec(now.get('counter') ?? '')?.[1]);
      expect(counter, `INCRs refused: ${incrs.length - open}, replies leaving the outcome open: ${open}; counter ${now.get('counter')}`).toBeLessThanOrEqual(open);
      queued.close();
    } finally {
      await c.destroy();
    }
  });

  it('a follower restarted with a lagging log catches up and has all values', async () => {
    const c = await startCluster();
    try {
      const leader = await c.waitForLeader();
      const follower = c.isRunning(3) && leader !== 3 ? 3 : c.nodes.find((n) => n.id !== leader)!.id;
      await setAll(c, new Map([['lag:before', 'b']]));
      await c.kill9(follower);
      const N = 2000;
      const entries = new Map<string, string>();
      for (let i = 0; i < N; i++) entries.set(`lag:${i}`, `value-${i}-${'x'.repeat(i % 200)}`);
      await setAll(c, entries);
      const { leader: l2, commit } = await leaderCommit(c);
      expect(l2).not.toBe(follower);
      expect(commit).toBeGreaterThanOrEqual(N);
      // Its log stops where it was killed: N entries and more behind the leader's.
      expect(c.isRunning(follower)).toBe(false);
      await c.startNode(follower);
      await untilApplied(c, { ids: [follower], index: commit, timeoutMs: 30_000 });
      entries.set('lag:before', 'b');
      expect(mismatches(entries, await readLocal(c, follower, [...entries.keys()]))).toEqual([]);
      // And the cluster still serves them linearizably.
      expect(mismatches(entries, await readThroughLeader(c, [...entries.keys()]))).toEqual([]);
    } finally {
      await c.destroy();
    }
  });
});
