/**
 * Operations on a TestCluster shared by the cluster integration tests:
 * idempotent writes and linearizable reads through whichever node leads,
 * and bounded waits until nodes have applied what the leader acknowledged.
 */
import fs from 'node:fs';
import { expect } from 'vitest';
import { withTimeout, type TestCluster } from './cluster.js';
import type { RawClient } from './raw-client.js';
import { sleep, until } from './poll.js';

export { sleep };
export const bulk = (v: string): string => `$${Buffer.byteLength(v)}\r\n${v}\r\n`;

/** A reply that tells the client to retry (elsewhere or later): never an acknowledgement. */
export function isRetryable(reply: string): boolean {
  return /^-(MOVED |CLUSTERDOWN |TRYAGAIN |ERR outcome unknown)/.test(reply);
}

/**
 * Sets every key to its value through the current leader, retrying what was
 * not acknowledged (each key always gets the same value, so a retry is
 * idempotent), until all are acknowledged or the deadline passes.
 */
export async function setAll(c: TestCluster, entries: Map<string, string>, timeoutMs = 30_000): Promise<void> {
  const todo = new Map(entries);
  const deadline = Date.now() + timeoutMs;
  while (todo.size > 0) {
    if (Date.now() > deadline) throw new Error(`${todo.size} writes still not acknowledged after ${timeoutMs} ms`);
    let conn: RawClient | undefined;
    try {
      const leader = await c.waitForLeader(Math.max(1000, deadline - Date.now()));
      conn = await withTimeout(c.client(leader), 1000);
      const keys = [...todo.keys()].slice(0, 200);
      const replies = await withTimeout(Promise.all(keys.map((k) => conn!.call('SET', k, todo.get(k)!))), 5000);
      replies.forEach((r, i) => {
        if (r === '+OK\r\n') todo.delete(keys[i]!);
        else if (!isRetryable(r)) throw new Error(`unexpected reply to SET ${keys[i]}: ${JSON.stringify(r)}`);
      });
    } catch (e) {
      if ((e as Error).message.startsWith('unexpected reply')) throw e;
      await sleep(100);
    } finally {
      conn?.close();
    }
  }
}

/** GET of every key through the leader (linearizable reads), retried as a whole if the leader changes. */
export async function readThroughLeader(c: TestCluster, keys: readonly string[]): Promise<Map<string, string>> {
  let last: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    let conn: RawClient | undefined;
    try {
      const leader = await c.waitForLeader(15_000);
      conn = await withTimeout(c.client(leader), 1000);
      const out = new Map<string, string>();
      for (let i = 0; i < keys.length; i += 500) {
        const chunk = keys.slice(i, i + 500);
        const replies = await withTimeout(Promise.all(chunk.map((k) => conn!.call('GET', k))), 10_000);
        const bad = replies.find((r) => r.startsWith('-'));
        if (bad !== undefined) throw new Error(`GET answered ${JSON.stringify(bad)}`);
        chunk.forEach((k, j) => out.set(k, replies[j]!));
      }
      return out;
    } catch (e) {
      last = e;
      await sleep(200);
    } finally {
      conn?.close();
    }
  }
  throw new Error(`could not read through a stable leader: ${(last as Error)?.message}`);
}

/** Keys whose reply is not the expected value, as "key: got" lines (empty when all match). */
export function mismatches(expected: ReadonlyMap<string, string>, got: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of expected) {
    const r = got.get(k);
    if (r !== bulk(v)) out.push(`${k}: expected ${JSON.stringify(bulk(v))}, got ${JSON.stringify(r)}`);
  }
  return out.slice(0, 20);
}

/** A node's RAFT.DIGEST: the default state that converged() compares. */
async function digestOf(cl: RawClient): Promise<string> {
  return cl.call('RAFT.DIGEST');
}

/**
 * Waits (bounded) until the given nodes (all by default) have applied the
 * same index, then returns what `probe` reads on a connection to each node
 * (by default its RAFT.DIGEST), taken while that index held.
 */
export async function converged<T = string>(
  c: TestCluster,
  ids: readonly number[] = c.nodes.map((n) => n.id),
  timeoutMs = 30_000,
  probe: (cl: RawClient) => Promise<T> = digestOf as unknown as (cl: RawClient) => Promise<T>,
): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const infos = await Promise.all(ids.map((id) => c.raftInfo(id)));
    const applied = infos.map((i) => i?.applied_index);
    if (applied.every((a) => a !== undefined && a === applied[0])) {
      const states: T[] = [];
      for (const id of ids) {
        const cl = await c.client(id);
        try {
          states.push(await probe(cl));
        } finally {
          cl.close();
        }
      }
      const again = await Promise.all(ids.map((id) => c.raftInfo(id)));
      if (again.every((i) => i?.applied_index === applied[0])) return states;
    }
    if (Date.now() > deadline) throw new Error(`nodes did not converge: applied ${JSON.stringify(applied)}`);
    await sleep(100);
  }
}

/**
 * The current leader and its commit index, asked until a node that says it
 * leads answers (bounded): every write it acknowledged is at or below that
 * index (a write is answered once applied, so once committed).
 */
export async function leaderCommit(c: TestCluster, timeoutMs = 15_000): Promise<{ leader: number; commit: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = await c.waitForLeader(Math.max(1000, deadline - Date.now()));
    const info = await c.raftInfo(leader, 2000);
    if (info?.role === 'leader' && info.commit_index !== undefined) return { leader, commit: Number(info.commit_index) };
    if (Date.now() > deadline) throw new Error(`no node that leads answered RAFT.INFO in ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Waits (bounded) until each of `ids` (every running node by default) has
 * applied at least `index` — by default the leader's commit index when
 * called, so that every write acknowledged before the call is then in each
 * node's state (what a READONLY read, an AUTH or a CONFIG GET there sees).
 * Pass the index taken before a leader change: a leader just elected may not
 * yet know the commit index of the one before. Returns the index.
 */
export async function untilApplied(c: TestCluster, opts: { ids?: readonly number[]; index?: number; timeoutMs?: number } = {}): Promise<number> {
  const index = opts.index ?? (await leaderCommit(c)).commit;
  const ids = opts.ids ?? c.nodes.filter((n) => c.isRunning(n.id)).map((n) => n.id);
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let applied: (string | undefined)[] = [];
  await until(
    () => `nodes ${ids.join(',')} to apply index ${index} (applied: ${applied.map((a, i) => `${ids[i]}=${a ?? '?'}`).join(' ')})`,
    async () => {
      applied = (await Promise.all(ids.map((id) => c.raftInfo(id)))).map((i) => i?.applied_index);
      return applied.every((a) => a !== undefined && Number(a) >= index);
    },
    timeoutMs,
    50,
  );
  return index;
}

/** A command through the current leader, retried while leadership settles (bounded). */
export async function onLeader(c: TestCluster, ...cmd: string[]): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 30; attempt++) {
    const leader = await c.waitForLeader(15_000);
    let cl: RawClient | undefined;
    try {
      cl = await withTimeout(c.client(leader), 2000);
      last = await withTimeout(cl.call(...cmd), 10_000);
      if (!/^-(MOVED|CLUSTERDOWN|TRYAGAIN) /.test(last)) return last;
    } catch (e) {
      last = String(e);
    } finally {
      cl?.close();
    }
    await sleep(200);
  }
  throw new Error(`no leader answered ${cmd[0]}: ${last}`);
}

/** Kills node id and deletes its data directory: restarted, it is a node that lost its disk. */
export async function wipeNode(c: TestCluster, id: number): Promise<void> {
  await c.kill9(id);
  fs.rmSync(c.node(id).dir, { recursive: true, force: true });
}

/**
 * n SETs of fill:<i> through node id (the leader), pipelined 20 at a time,
 * each acknowledged: enough entries past a small --snapshot-entries for the
 * leader to compact its log, so that a node far behind needs its snapshot.
 */
export async function fillLog(c: TestCluster, id: number, n = 600): Promise<void> {
  const cl = await c.client(id);
  try {
    for (let i = 0; i < n; i += 20) {
      const batch: Promise<string>[] = [];
      for (let j = i; j < Math.min(n, i + 20); j++) batch.push(cl.call('SET', `fill:${j}`, 'x'));
      for (const r of await Promise.all(batch)) if (r !== '+OK\r\n') throw new Error(`SET fill:* on node ${id}: ${JSON.stringify(r)}`);
    }
  } finally {
    cl.close();
  }
}

/** The reply, or "(no reply: why)" if there is none in time or the connection closed. */
export function replyOrWhy(p: Promise<string>, ms: number): Promise<string> {
  return withTimeout(p, ms).catch((e: Error) => `(no reply: ${e.message})`);
}

/**
 * A connection the node has accepted and served (a PING answered), so that
 * what is sent on it while the node is stopped waits in that socket and is
 * read in its first turn after SIGCONT (a connection not yet accepted would
 * only be accepted then, and read a turn later).
 */
export async function acceptedClient(c: TestCluster, id: number): Promise<RawClient> {
  const conn = await c.client(id);
  expect(await conn.call('PING')).toBe('+PONG\r\n');
  return conn;
}
