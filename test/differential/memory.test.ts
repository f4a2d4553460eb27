/**
 * MEMORY STATS, DOCTOR, MALLOC-STATS, PURGE and HELP against redis-server
 * 7.0.15, in RESP2 and RESP3: texts and errors byte for byte; MEMORY STATS by
 * its fields, their order and their reply types (the numbers are each
 * process's own). Monitoring tools and admin UIs send these; raftis answered
 * "unknown subcommand" before.
 */
import { describe, expect, it } from 'vitest';
import { parseReply, replyItems, replyValue } from '../helpers/engine-diff.js';
import { sameReply, useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient } from '../helpers/raw-client.js';
import { memoryDoctorReport, DOCTOR, type MemoryOverhead } from '../../src/commands/memory.js';

const env = useProcessDifferential();

/** A connection to redis-server in `proto`. */
async function redisConn(proto: 2 | 3): Promise<RawClient> {
  const c = await RawClient.connect(env.diff.redis.port);
  if (proto === 3) await c.call('HELLO', '3');
  return c;
}

describe('MEMORY subcommands vs redis-server', () => {
  for (const proto of [2, 3] as const) {
    it(`HELP, PURGE, DOCTOR of an empty instance, errors (RESP${proto})`, async () => {
      const a = await redisConn(proto);
      const b = await env.connect(proto, true);
      try {
        await a.call('FLUSHALL');
        await sameReply(a, b, 'MEMORY', 'HELP');
        await sameReply(a, b, 'memory', 'purge');
        // An instance holding almost nothing: redis-server's "empty" report. raftis's is measured above its
        // idle baseline, where garbage V8 has not collected yet counts as used: "empty" or, past 5 MB of it, "no issue".
        const framed = (text: string): string => (proto === 3 ? `=${text.length + 4}\r\ntxt:${text}\r\n` : `$${text.length}\r\n${text}\r\n`);
        expect(await a.call('MEMORY', 'DOCTOR')).toBe(framed(DOCTOR.empty));
        expect([framed(DOCTOR.empty), framed(DOCTOR.noIssue)]).toContain(await b.call('MEMORY', 'DOCTOR'));
        for (const sub of ['PURGE', 'DOCTOR', 'STATS', 'MALLOC-STATS', 'HELP']) await sameReply(a, b, 'MEMORY', sub, 'extra');
        await sameReply(a, b, 'MEMORY', 'NOSUCH');
        await sameReply(a, b, 'MEMORY');
        // redis-server here is built with jemalloc; raftis answers as one built without it does.
        expect(await b.call('MEMORY', 'MALLOC-STATS')).toBe('$45\r\nStats not supported for the current allocator\r\n');
      } finally {
        a.close();
      }
    });

    it(`STATS: redis-server's fields, in its order, with its reply types (RESP${proto})`, async () => {
      const a = await redisConn(proto);
      const b = await env.connect(proto, true);
      try {
        await a.call('FLUSHALL');
        for (const c of [a, b]) {
          await c.call('SET', 'k1', 'v');
          await c.call('SET', 'k2', 'v', 'EX', '100');
          await c.call('SELECT', '3');
          await c.call('SET', 'k3', 'v');
          await c.call('SELECT', '0');
        }
        const shape = async (c: RawClient): Promise<[string, string][]> => {
          const raw = await c.call('MEMORY', 'STATS');
          const [r] = parseReply(raw);
          const items = replyItems(r);
          const out: [string, string][] = [];
          for (let i = 0; i < items.length; i += 2) {
            const v = items[i + 1]!;
            // The reply type's first byte: ':' integer, ',' double (RESP3), '$' bulk (RESP2 double), '*' or '%' a db's map.
            const kind = v.t;
            const name = replyValue(items[i]!);
            out.push([name, name.startsWith('db.') ? `${kind} ${replyItems(v).filter((_, j) => j % 2 === 0).map(replyValue).join(',')}` : kind]);
          }
          return out;
        };
        const [sa, sb] = [await shape(a), await shape(b)];
        expect(sb).toEqual(sa);
        expect(sb.map(([k]) => k)).toContain('db.3');
        expect(sa.length).toBe(27 + 2);
      } finally {
        a.close();
      }
    });
  }

  it('INFO memory and MEMORY STATS agree; the numbers add up as Redis defines them', async () => {
    const b = await env.connect(3, true);
    for (let i = 0; i < 100; i++) await b.call('SET', `key:${i}`, 'x'.repeat(100), 'PX', '100000');
    const [stats] = parseReply(await b.call('MEMORY', 'STATS'));
    const items = replyItems(stats);
    const m = new Map<string, string>();
    for (let i = 0; i < items.length; i += 2) m.set(replyValue(items[i]!), replyValue(items[i + 1]!));
    const info = await b.call('INFO', 'memory');
    const field = (f: string): string => new RegExp(`^${f}:(.*)\r$`, 'm').exec(info)![1]!;
    expect(m.get('keys.count')).toBe('100');
    expect(field('used_memory_startup')).toBe(m.get('startup.allocated'));
    expect(field('used_memory_dataset')).toBe(m.get('dataset.bytes'));
    expect(Number(field('used_memory_overhead'))).toBeGreaterThanOrEqual(Number(m.get('startup.allocated')));
    const db0 = replyItems(items[items.findIndex((x) => replyValue(x) === 'db.0') + 1]!).map(replyValue);
    // 100 keys, 100 volatile: Redis's dict estimates (24-byte entries, 8-byte buckets of a 128-slot table, 16-byte robj; 16-byte slot-to-keys links).
    expect(db0).toEqual(['overhead.hashtable.main', String(100 * 24 + 128 * 8 + 100 * 16), 'overhead.hashtable.expires', String(100 * 24 + 128 * 8), 'overhead.hashtable.slot-to-keys', String(100 * 16)]);
    expect(field('mem_allocator')).toBe('v8');
  });
});

describe('MEMORY DOCTOR report (object.c getMemoryDoctorReport rules)', () => {
  const MB = 1024 * 1024;
  const base = { used: 20 * MB, active: 30 * MB, rss: 60 * MB };
  const mh = (o: Partial<MemoryOverhead>): MemoryOverhead => ({
    peakAllocated: 60 * MB,
    totalAllocated: 60 * MB,
    startupAllocated: 20 * MB,
    clientsNormal: 0,
    luaCaches: 0,
    functionsCaches: 0,
    dbs: [],
    overheadTotal: 0,
    dataset: 0,
    totalKeys: 0,
    bytesPerKey: 0,
    datasetPerc: 0,
    peakPerc: 100,
    allocatorAllocated: 60 * MB,
    allocatorActive: 72 * MB,
    allocatorResident: 72 * MB,
    rss: 105 * MB,
    ...o,
  });

  it('empty below 5 MB above the idle baseline; no issue for a healthy instance', () => {
    expect(memoryDoctorReport(mh({ totalAllocated: 24 * MB, peakAllocated: 24 * MB }), base, 3, 0)).toBe(DOCTOR.empty);
    expect(memoryDoctorReport(mh({}), base, 3, 0)).toBe(DOCTOR.noIssue);
  });

  it('each issue, in Redis order, between the header and the footer', () => {
    expect(memoryDoctorReport(mh({ peakAllocated: 200 * MB }), base, 3, 0)).toBe(DOCTOR.header + DOCTOR.bigPeak + DOCTOR.footer);
    expect(memoryDoctorReport(mh({ rss: 200 * MB }), base, 3, 0)).toBe(DOCTOR.header + DOCTOR.highFrag + DOCTOR.highProcRss + DOCTOR.footer);
    expect(memoryDoctorReport(mh({ allocatorActive: 84 * MB, rss: 114 * MB }), base, 3, 0)).toBe(DOCTOR.header + DOCTOR.highAllocFrag + DOCTOR.footer);
    expect(memoryDoctorReport(mh({ clientsNormal: 3 * 300 * 1024 }), base, 3, 0)).toBe(DOCTOR.header + DOCTOR.bigClientBuf + DOCTOR.footer);
    expect(memoryDoctorReport(mh({}), base, 3, 1001)).toBe(DOCTOR.header + DOCTOR.manyScripts + DOCTOR.footer);
  });
});
