/**
 * The memory budget on a 3-node cluster: a script (EVAL, and FCALL) that
 * allocates past --lua-memory-budget is stopped at the same operation on
 * every replica — same reply whichever node leads, same writes kept, equal
 * RAFT.DIGEST — even when one node's Lua heap has a different history: a
 * follower first ran read-only scripts (READONLY, no log entry) that keep the
 * strings the script will ask for interned, and left garbage, a grown stack
 * and a grown concatenation buffer behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, withTimeout } from '../helpers/cluster.js';
import { converged, onLeader, sleep } from '../helpers/cluster-ops.js';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/** Keeps strings in a list (small, even steps: a table growing by doubling would hide a shift), writing its progress every 100, until the budget stops it. */
const FILL = "local l for i = 1, 1e6 do l = {'k' .. i, l} if i % 100 == 0 then redis.call('set', KEYS[1], i) end end return 'never'";
const LIBRARY =
  '#!lua name=fill\n' +
  "redis.register_function('fill', function(keys) local l for i = 1, 1e6 do l = {'k' .. i, l} if i % 100 == 0 then redis.call('set', keys[1], i) end end return 'never' end)";
/** Keeps 'k1' … 'k6000' interned (constants of a compiled script). */
const KEEP = `return #{${Array.from({ length: 6000 }, (_, i) => `'k${i + 1}'`).join(',')}}`;
/** Garbage of the same strings, a deep stack, a big concatenation buffer. */
const CHURN =
  "local t = {} for i = 1, 10000 do t[i] = 'k' .. i end " +
  'local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end ' +
  "local s = string.rep('y', 100000) .. 'z' return deep(2000)";

const BUDGET_ERROR = /^-ERR Script exceeded its memory budget script: \S+, on @user_script:1\.\r\n$/;

async function call(c: TestCluster, id: number, ...cmd: string[]): Promise<string> {
  const cl = await c.client(id);
  try {
    return await withTimeout(cl.call(...cmd), 10_000);
  } finally {
    cl.close();
  }
}

/** Makes `id` the leader (RAFT.TRANSFER_LEADER), retried within a bounded time. */
async function lead(c: TestCluster, id: number): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const leader = await c.waitForLeader(15_000);
    if (leader === id) return;
    await call(c, leader, 'RAFT.TRANSFER_LEADER', String(id)).catch(() => '');
    await sleep(200);
  }
  throw new Error(`node ${id} did not become the leader`);
}

describe('the Lua memory budget on a 3-node cluster', () => {
  it('stops EVAL and FCALL at the same operation on every replica, whatever each node ran before', async () => {
    cluster = await TestCluster.start({ args: ['--lua-memory-budget', '2000000'] });
    const c = cluster;
    const all = c.nodes.map((n) => n.id);
    const leader = await c.waitForSettledLeader();
    const follower = all.find((id) => id !== leader)!;
    expect(await onLeader(c, 'FUNCTION', 'LOAD', LIBRARY)).toBe('$4\r\nfill\r\n');

    // One follower's heap gets a history the others do not have: read-only scripts run there alone.
    const f = await c.client(follower);
    try {
      expect(await f.call('READONLY')).toBe('+OK\r\n');
      expect(await f.call('EVAL_RO', KEEP, '0')).toBe(':6000\r\n');
      expect(await f.call('EVAL_RO', CHURN, '0')).toBe(':2000\r\n');
    } finally {
      f.close();
    }

    // Each node leads in turn and runs the script and the function: the same reply from each.
    const replies = new Set<string>();
    for (const id of [leader, follower, ...all.filter((n) => n !== leader && n !== follower)]) {
      await lead(c, id);
      replies.add(await call(c, id, 'EVAL', FILL, '1', `{m}eval${id}`));
      replies.add(await call(c, id, 'FCALL', 'fill', '1', `{m}fcall${id}`));
    }
    const [evalReply, fcallReply] = [...replies].sort();
    expect(replies.size, [...replies].join(' ')).toBe(2);
    expect(evalReply).toMatch(BUDGET_ERROR);
    expect(fcallReply).toMatch(/^-ERR Script exceeded its memory budget script: fill, on @user_function:2\.\r\n$/);

    // Every replica kept the same writes: each run got equally far, on every node.
    const digests = await converged(c, all);
    expect(new Set(digests).size, digests.join(' ')).toBe(1);
    const progress = new Set<string>();
    for (const id of all) {
      const cl = await c.client(id);
      try {
        expect(await cl.call('READONLY')).toBe('+OK\r\n');
        for (const k of all.flatMap((n) => [`{m}eval${n}`, `{m}fcall${n}`])) progress.add(await cl.call('GET', k));
      } finally {
        cl.close();
      }
    }
    expect(progress.size, [...progress].join(' ')).toBe(1);
    const got = Number([...progress][0]!.split('\r\n')[1]);
    expect(got).toBeGreaterThan(1000);
    expect(got).toBeLessThan(1e6);

    // The nodes keep serving scripts within the budget.
    expect(await onLeader(c, 'EVAL', "local t = {} for i = 1, 1000 do t[i] = 'k' .. i end return redis.call('set', KEYS[1], #t)", '1', '{m}ok')).toBe('+OK\r\n');
  });
});
