/**
 * INFO commandstats and errorstats count as redis-server counts them: a
 * call per command run (EXEC's commands each, a blocking pop once when it is
 * answered), a rejected call for a known command refused before it ran
 * (wrong arity, inside MULTI too), a failed call for one that replied with an
 * error, and every error reply under its first word. The same script goes to
 * both servers; the per-command calls / rejected_calls / failed_calls, the
 * errorstats and total_error_replies must be equal (the times differ).
 */
import { describe, expect, it } from 'vitest';
import { parseReply, replyItems, replyValue } from '../helpers/engine-diff.js';
import { sameReply, useProcessDifferential } from '../helpers/process-differential.js';
import { until } from '../helpers/poll.js';
import type { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

const SCRIPT = [
  ['SET', 'a', '1'], ['GET', 'a'], ['GET'], ['INCR', 'a'], ['INCR', 'nosuch'], ['LPUSH', 'a', 'x'],
  ['SET', 'a', 'x', 'EX', '0'], ['SET', 'a', 'y', 'NX', 'XX'], ['APPEND', 'a', 'z'], ['INCRBYFLOAT', 'a', 'nan'],
  ['RPUSH', 'l', '1', '2', '3'], ['LRANGE', 'l', '0', '-1'], ['LPOP', 'l'], ['LINDEX', 'a', '0'],
  ['FOOBAR', 'x'], ['CONFIG', 'FOO'], ['CONFIG', 'GET', 'maxmemory'], ['CONFIG', 'GET'], ['CONFIG', 'SET', 'nosuchparam', '1'],
  ['PING'], ['ECHO', 'hi'], ['ECHO'], ['SELECT', '0'], ['SELECT', 'x'], ['DBSIZE'], ['TIME'],
  ['HSET', 'h', 'f', 'v'], ['HGET', 'h', 'f'], ['HGETALL', 'h'], ['HINCRBY', 'h', 'f', '1'],
  ['SADD', 's', 'a', 'b'], ['SMEMBERS', 's'], ['ZADD', 'z', '1', 'm'], ['ZADD', 'z', 'x', 'm'], ['ZRANGE', 'z', '0', '-1'],
  ['EXPIRE', 'h', '100'], ['TTL', 'h'], ['EXPIRE', 'h', 'x'], ['PERSIST', 'h'], ['EXISTS', 'a', 'h'], ['TYPE', 'a'],
  ['OBJECT', 'ENCODING', 'a'], ['OBJECT', 'FREQ', 'a'], ['RENAME', 'nosuch', 'b'], ['SCAN', '0'], ['KEYS', '*'],
  // A transaction with a runtime error inside; one aborted by a bad command; one with WATCH.
  ['MULTI'], ['SET', 'b', '2'], ['LPUSH', 'b', 'x'], ['GET', 'b'], ['EXEC'],
  ['MULTI'], ['SET', 'b', '3'], ['GET'], ['EXEC'],
  ['WATCH', 'b'], ['MULTI'], ['GET', 'b'], ['PING'], ['EXEC'],
  ['MULTI'], ['DISCARD'], ['EXEC'], ['DISCARD'], ['UNWATCH'],
  // Blocking pops: served at once, timed out, wrong type, and inside MULTI.
  ['BLPOP', 'l', '1'], ['BLPOP', 'nolist', '0.05'], ['BLPOP', 'a', '1'], ['BRPOP', 'l', 'x'],
  ['MULTI'], ['BLPOP', 'l', '1'], ['BLPOP', 'nolist', '1'], ['EXEC'],
  ['DEL', 'a', 'b', 'l', 'h', 's', 'z'], ['FLUSHALL'],
  ['CLIENT', 'SETNAME', 'stats'], ['CLIENT', 'GETNAME'], ['CLIENT', 'NOSUCH'],
  // Protected commands are refused (rejected calls), MODULE LIST runs.
  ['DEBUG', 'SLEEP', '0'], ['DEBUG'], ['MODULE', 'LIST'], ['MODULE', 'LOAD', '/x.so'], ['MODULE'],
];

interface Counted {
  commands: Record<string, string>;
  errors: Record<string, string>;
  total: string;
}

async function counted(c: RawClient): Promise<Counted> {
  const fields = (text: string, prefix: string): Record<string, string> =>
    Object.fromEntries([...text.matchAll(new RegExp(`^${prefix}([^:]+):(.*?)\\r?$`, 'gm'))].map((m) => [m[1]!, m[2]!]));
  const commands = fields(await c.call('INFO', 'commandstats'), 'cmdstat_');
  // Only the counts: the times are each server's own.
  for (const k of Object.keys(commands)) commands[k] = commands[k]!.replace(/usec=\d+,usec_per_call=[\d.]+,/, '');
  const errors = fields(await c.call('INFO', 'errorstats'), 'errorstat_');
  const total = /^total_error_replies:(\d+)/m.exec(await c.call('INFO', 'stats'))?.[1] ?? 'none';
  return { commands, errors, total };
}

describe('INFO commandstats and errorstats', () => {
  it('count calls, rejected and failed calls and error replies as redis-server does', async () => {
    const [a, b] = await env.pair();
    expect(await b.call('CONFIG', 'RESETSTAT')).toBe(await a.call('CONFIG', 'RESETSTAT'));
    for (const cmd of SCRIPT) {
      await a.call(...cmd);
      await b.call(...cmd);
    }
    const [ra, rb] = [await counted(a), await counted(b)];
    expect(Object.keys(ra.commands).length).toBeGreaterThan(40); // the script exercised the counters
    expect(rb.commands).toEqual(ra.commands);
    expect(rb.errors).toEqual(ra.errors);
    expect(rb.total).toBe(ra.total);
    // The format of a line, times included.
    expect(await b.call('INFO', 'commandstats')).toMatch(/^cmdstat_set:calls=\d+,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=\d+,failed_calls=\d+\r$/m);
    // CONFIG RESETSTAT clears them all, as redis-server's does (itself counted once it returns).
    expect(await b.call('CONFIG', 'RESETSTAT')).toBe(await a.call('CONFIG', 'RESETSTAT'));
    const [za, zb] = [await counted(a), await counted(b)];
    expect(zb).toEqual(za);
    expect(zb.commands).toEqual({ 'config|resetstat': 'calls=1,rejected_calls=0,failed_calls=0' });
  });

  it('INFO lists the sections redis-server lists by default, and Commandstats with "all"', async () => {
    const [a, b] = await env.pair();
    const sections = async (c: RawClient, ...arg: string[]): Promise<string[]> => [...(await c.call('INFO', ...arg)).matchAll(/^# (\w+)/gm)].map((m) => m[1]!);
    // raftis adds its Raft section; everything redis-server shows is there, in its order.
    expect((await sections(b)).filter((s) => s !== 'Raft')).toEqual(await sections(a));
    const all = await sections(b, 'all');
    for (const s of ['Commandstats', 'Errorstats', 'Cluster', 'Modules']) expect(all).toContain(s);
    expect(await b.call('INFO', 'cluster')).toContain('cluster_enabled:1');
  });

  it('INFO has every field redis-server\'s INFO has, but for the few raftis cannot know', async () => {
    const [a, b] = await env.pair();
    // Replication traffic and full syncs (Raft's: see RAFT.INFO); what loading the RDB found.
    const NOT_KNOWN = new Set([
      'total_net_repl_input_bytes', 'total_net_repl_output_bytes', 'instantaneous_input_repl_kbps', 'instantaneous_output_repl_kbps',
      'sync_full', 'sync_partial_ok', 'sync_partial_err', 'rdb_last_load_keys_expired', 'rdb_last_load_keys_loaded',
    ]);
    const fields = async (c: RawClient): Promise<string[]> => [...(await c.call('INFO', 'everything')).matchAll(/^([a-z_0-9]+):/gm)].map((m) => m[1]!);
    const ours = new Set(await fields(b));
    const missing = (await fields(a)).filter((f) => !ours.has(f) && !NOT_KNOWN.has(f) && !f.startsWith('cmdstat_') && !f.startsWith('errorstat_') && !f.startsWith('latency_percentiles_usec_'));
    expect(missing).toEqual([]);
    // The same machine: the same os line (uname's machine name, x86_64, not Node's x64).
    const os = async (c: RawClient): Promise<string> => /^os:(.*)\r$/m.exec(await c.call('INFO', 'server'))![1]!;
    expect(await os(b)).toBe(await os(a));
    // The Memory section in redis-server's order (monitoring tools read it line by line).
    const memory = async (c: RawClient): Promise<string[]> => [...(await c.call('INFO', 'memory')).matchAll(/^([a-z_0-9]+):/gm)].map((m) => m[1]!);
    expect(await memory(b)).toEqual(await memory(a));
    // The instantaneous metrics move with traffic (sampled every 100 ms over 1.6 s, as Redis does).
    for (let i = 0; i < 300; i++) await b.call('PING');
    let lastStats = '';
    await until(
      () => `instantaneous_ops_per_sec above 0 (the next 100 ms sample); last INFO stats: ${JSON.stringify(lastStats.slice(0, 300))}`,
      async () => {
        lastStats = await b.call('INFO', 'stats');
        return Number(/instantaneous_ops_per_sec:(\d+)/.exec(lastStats)?.[1] ?? 0) > 0;
      },
      5000,
      50,
    );
  });

  it('latency tracking: INFO latencystats lists the commands redis-server lists; LATENCY HISTOGRAM; its settings', async () => {
    const [a, b] = await env.pair();
    for (const cmd of [
      ['CONFIG', 'RESETSTAT'], ['SET', 'lt', 'v'], ['GET', 'lt'], ['GET', 'lt'], ['INCR', 'n'], ['LPUSH', 'l', 'x'], ['LRANGE', 'l', '0', '-1'], ['GET'],
      ['CONFIG', 'SET', 'latency-tracking-info-percentiles', 'x'], ['CONFIG', 'SET', 'latency-tracking-info-percentiles', '101'],
      ['CONFIG', 'SET', 'latency-tracking', 'maybe'], ['CONFIG', 'GET', 'latency-tracking'], ['CONFIG', 'GET', 'latency-tracking-info-percentiles'], ['LATENCY', 'NOSUCH'],
    ]) {
      await sameReply(a, b, ...cmd);
    }
    // Which commands have a latency line (times differ; the set must not).
    const tracked = async (c: RawClient): Promise<string[]> =>
      [...(await c.call('INFO', 'latencystats')).matchAll(/^latency_percentiles_usec_([^:]+):p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r$/gm)].map((m) => m[1]!).sort();
    const [ta, tb] = [await tracked(a), await tracked(b)];
    expect(tb).toEqual(ta);
    expect(tb).toEqual(expect.arrayContaining(['get', 'set', 'incr', 'lpush', 'lrange']));
    // LATENCY HISTOGRAM: calls as redis-server counts them; cumulative counts at powers of two µs, ending at calls.
    const histogram = async (c: RawClient): Promise<Record<string, { calls: number; edges: number[]; counts: number[] }>> => {
      const [r] = parseReply(await c.call('LATENCY', 'HISTOGRAM', 'get', 'set', 'nosuch'));
      const items = replyItems(r);
      const out: Record<string, { calls: number; edges: number[]; counts: number[] }> = {};
      for (let i = 0; i < items.length; i += 2) {
        const f = replyItems(items[i + 1]!);
        const hv = replyItems(f[3]!).map((x) => Number(replyValue(x) || NaN));
        out[replyValue(items[i]!)] = {
          calls: Number(replyValue(f[1]!) || NaN),
          edges: hv.filter((_, j) => j % 2 === 0),
          counts: hv.filter((_, j) => j % 2 === 1),
        };
      }
      return out;
    };
    const [ha, hb] = [await histogram(a), await histogram(b)];
    expect(Object.keys(hb).sort()).toEqual(Object.keys(ha).sort());
    for (const name of Object.keys(hb)) {
      expect(hb[name]!.calls).toBe(ha[name]!.calls);
      expect(hb[name]!.counts.at(-1)).toBe(hb[name]!.calls);
      for (const e of hb[name]!.edges) expect(Math.log2(e) % 1).toBe(0);
    }
    // Percentiles follow the setting.
    await sameReply(a, b, 'CONFIG', 'SET', 'latency-tracking-info-percentiles', '90');
    expect(await b.call('INFO', 'latencystats')).toMatch(/^latency_percentiles_usec_get:p90=\d+\.\d{3}\r$/m);
    await sameReply(a, b, 'CONFIG', 'SET', 'latency-tracking-info-percentiles', '50 99 99.9');
  });
});
