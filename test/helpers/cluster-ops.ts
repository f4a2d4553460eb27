/**
 * Operations on a TestCluster shared by the cluster integration tests:
 * idempotent writes and linearizable reads through whichever node leads.
 */
import { withTimeout, type TestCluster } from './cluster.js';
import type { RawClient } from './raw-client.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
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

/**
 * Waits (bounded) until the given nodes (all by default) have applied the
 * same index, then returns their RAFT.DIGESTs, taken while that index held.
 */
export async function converged(c: TestCluster, ids: readonly number[] = c.nodes.map((n) => n.id), timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const infos = await Promise.all(ids.map((id) => c.raftInfo(id)));
    const applied = infos.map((i) => i?.applied_index);
    if (applied.every((a) => a !== undefined && a === applied[0])) {
      const digests: string[] = [];
      for (const id of ids) {
        const cl = await c.client(id);
        digests.push(await cl.call('RAFT.DIGEST'));
        cl.close();
      }
      const again = await Promise.all(ids.map((id) => c.raftInfo(id)));
      if (again.every((i) => i?.applied_index === applied[0])) return digests;
    }
    if (Date.now() > deadline) throw new Error(`nodes did not converge: applied ${JSON.stringify(applied)}`);
    await sleep(100);
  }
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
