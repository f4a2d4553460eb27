/**
 * BGREWRITEAOF against redis-server 7.0.15: its replies (started, scheduled
 * inside MULTI, arity) and INFO persistence's AOF rewrite fields as the
 * rewrite runs and ends. In raftis the Raft log plays the AOF and a rewrite
 * is a snapshot, which compacts the log (INFO aof_current_size is the log's
 * bytes, aof_base_size the snapshot's). Admin tools and cron jobs send it;
 * raftis answered "unknown command" before.
 */
import { describe, expect, it } from 'vitest';
import { sameReply, useProcessDifferential } from '../helpers/process-differential.js';
import type { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

const field = async (c: RawClient, f: string): Promise<string> => new RegExp(`^${f}:(.*)\r$`, 'm').exec(await c.call('INFO', 'persistence'))![1]!;

/** Polls until no rewrite runs or is scheduled (bounded). */
async function settled(c: RawClient): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await field(c, 'aof_rewrite_in_progress')) === '0' && (await field(c, 'aof_rewrite_scheduled')) === '0') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('an AOF rewrite still runs after 10 s');
}

describe('BGREWRITEAOF vs redis-server', () => {
  it('starts a rewrite, schedules one asked for inside MULTI, and INFO counts them', async () => {
    const [a, b] = await env.pair();
    for (const c of [a, b]) await c.call('SET', 'k', 'v');
    await sameReply(a, b, 'BGREWRITEAOF', 'extra');
    await sameReply(a, b, 'BGREWRITEAOF');
    for (const c of [a, b]) await settled(c);
    for (const f of ['aof_rewrites', 'aof_last_bgrewrite_status', 'aof_rewrite_in_progress', 'aof_rewrite_scheduled', 'aof_current_rewrite_time_sec']) {
      expect(await field(b, f), f).toBe(await field(a, f));
    }
    expect(await field(b, 'aof_rewrites')).toBe('1');
    // Inside MULTI: scheduled, then run once the transaction is done.
    await sameReply(a, b, 'MULTI');
    await sameReply(a, b, 'BGREWRITEAOF');
    await sameReply(a, b, 'EXEC');
    for (const c of [a, b]) await settled(c);
    expect(await field(b, 'aof_rewrites')).toBe(await field(a, 'aof_rewrites'));
    expect(await field(b, 'aof_rewrites')).toBe('2');
    expect(await field(b, 'aof_last_bgrewrite_status')).toBe('ok');
    // The snapshot is the new base: the log since it is (nearly) empty.
    expect(Number(await field(b, 'aof_base_size'))).toBeGreaterThan(0);
    expect(await sameReply(a, b, 'GET', 'k')).toBe('$1\r\nv\r\n');
  });
});
