#!/usr/bin/env node
// Memory with many small keys, side by side: redis-server (no persistence)
// and a raftis single node, each loaded with KEYS keys `key:<n>` holding
// 16-byte values through one pipelined connection; then, after a settle,
// VmRSS of both processes (/proc/<pid>/status) and the ratio (issue 19's
// target: raftis ≤ 1.5× redis-server's RSS). For raftis also the V8 heap
// after a full collection (bench/heap-report.mjs, preloaded), which tells
// how much of the RSS is live JS objects and how much is heap slack, code
// and native memory.
// Usage: npm run build && node bench/memory.mjs [keys] [rounds] [-- node flags for raftis…]
// MEMORY_AB=<another build's dist/cli/main.js>: each round also loads that
// build (A) beside the same redis-server, in alternating order, and the
// report ends with A's medians and spread next to this build's (B).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, loadKeys, median, RAFTIS_BIN, ratio, rssBytes, ROOT, startRedis, writeResult } from './lib.mjs';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const pos = dash < 0 ? argv : argv.slice(0, dash);
const nodeFlags = dash < 0 ? [] : argv.slice(dash + 1);
const KEYS = Number(pos[0] ?? 1_000_000);
const ROUNDS = Number(pos[1] ?? 1);
const OUT = process.env.MEMORY_RESULT ?? 'memory.md';
/** Extra raftis options (RAFTIS_ARGS, space-separated), e.g. a snapshot threshold. */
const raftisArgs = (process.env.RAFTIS_ARGS ?? '').split(' ').filter(Boolean);
// RSS is read 5 s and 10 s after loading: raftis collects once idle for a
// second, and once more after 6 s more of idleness (src/util/idle-gc.ts).
const SETTLE_MS = 10_000;
const mb = (b) => (b / 2 ** 20).toFixed(1) + ' MB';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const AB = process.env.MEMORY_AB ? path.resolve(process.env.MEMORY_AB) : undefined;

async function startRaftisWith(flags, report, bin = RAFTIS_BIN) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-bench-mem-'));
  const proc = spawn(process.execPath, [...flags, '--import', path.join(ROOT, 'bench/heap-report.mjs'), bin, '--port', String(port), '--dir', dir, '--log-level', 'warn', ...raftisArgs], {
    stdio: 'inherit',
    env: { ...process.env, RAFTIS_HEAP_REPORT: report },
  });
  for (let i = 0; i < 400; i++) {
    if (proc.exitCode !== null) throw new Error('raftis exited early');
    try {
      const { RespConn } = await import('./lib.mjs');
      const c = await RespConn.connect('127.0.0.1', port, 200);
      c.close();
      break;
    } catch {
      await sleep(50);
    }
  }
  return {
    port,
    pid: proc.pid,
    async stop() {
      proc.kill('SIGKILL');
      if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** RssAnon / RssFile / RssShmem of a process (/proc/<pid>/status), bytes. */
function rssParts(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (f) => Number(new RegExp(`${f}:\\s+(\\d+)`).exec(status)[1]) * 1024;
  return { anon: get('RssAnon'), file: get('RssFile') };
}

async function heapReport(pid, file) {
  fs.rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200 && !fs.existsSync(file); i++) await sleep(100);
  await sleep(200);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** One build's round beside `redis` (already loaded): RSS empty, 5 s and 10 s after loading, heap reports. */
async function measureRaftis(bin, redisPid, r0) {
  const report = path.join(os.tmpdir(), `raftis-heap-${process.pid}.json`);
  const raftis = await startRaftisWith(nodeFlags, report, bin);
  try {
    const x0 = rssBytes(raftis.pid);
    const h0 = await heapReport(raftis.pid, report);
    const x0status = rssParts(raftis.pid);
    await loadKeys(raftis.port, KEYS);
    // raftis collects its heap once idle for a second (src/util/idle-gc.ts).
    await sleep(5000);
    const x5 = rssBytes(raftis.pid);
    await sleep(SETTLE_MS - 5000);
    // redis-server's RSS read at the same moment (jemalloc gives pages back over seconds after a load, as raftis does)
    const x1 = rssBytes(raftis.pid), r1 = rssBytes(redisPid);
    const h = await heapReport(raftis.pid, report);
    await sleep(1000);
    const x2 = rssBytes(raftis.pid);
    return { r0, r1, x0, x1, x2, x5, h, h0, x0status, x2status: rssParts(raftis.pid) };
  } finally {
    await raftis.stop();
    fs.rmSync(report, { force: true });
  }
}

const rows = [];
const rowsA = [];
for (let round = 0; round < ROUNDS; round++) {
  const redis = await startRedis(['--appendonly', 'no']);
  try {
    const r0 = rssBytes(redis.pid);
    await loadKeys(redis.port, KEYS);
    const builds = AB === undefined ? ['B'] : round % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
    for (const b of builds) {
      const row = await measureRaftis(b === 'A' ? AB : RAFTIS_BIN, redis.pid, r0);
      (b === 'A' ? rowsA : rows).push(row);
      console.log(`round ${round + 1}${AB ? ` ${b}` : ''}: redis ${mb(row.r1)}, raftis ${mb(row.x1)} (${ratio(row.x1, row.r1)}), after a full GC ${mb(row.x2)}; heap used ${mb(row.h.heap.used_heap_size)}`);
    }
  } finally {
    await redis.stop();
  }
}

const m = (f) => median(rows.map(f));
const lines = [];
const say = (s) => { console.log(s); lines.push(s); };
// The round nearest the median (with an even number of rounds the median is between two).
const medX1 = m((q) => q.x1);
const pick = rows.reduce((a, b) => (Math.abs(b.x1 - medX1) < Math.abs(a.x1 - medX1) ? b : a));
const h = pick.h;
say(`# Memory: ${KEYS} keys of 16-byte values, raftis single node vs redis-server`);
say(`date: ${new Date().toISOString()}  node ${process.version}${nodeFlags.length ? `  raftis node flags: ${nodeFlags.join(' ')}` : ''}${raftisArgs.length ? `  raftis options: ${raftisArgs.join(' ')}` : ''}${process.env.GLIBC_TUNABLES ? `  GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES}` : ''}; ${ROUNDS} round(s), medians; RSS ${SETTLE_MS / 1000} s after loading\n`);
say(`| | redis-server | raftis | ratio |`);
say(`|---|---|---|---|`);
say(`| RSS empty | ${mb(m((r) => r.r0))} | ${mb(m((r) => r.x0))} | |`);
say(`| RSS 5 s after loading | | ${mb(m((r) => r.x5))} | ${ratio(m((r) => r.x5), m((r) => r.r1))} |`);
say(`| RSS loaded | ${mb(m((r) => r.r1))} | ${mb(m((r) => r.x1))} | ${ratio(m((r) => r.x1), m((r) => r.r1))} |`);
say(`| RSS growth | ${mb(m((r) => r.r1 - r.r0))} | ${mb(m((r) => r.x1 - r.x0))} | ${ratio(m((r) => r.x1 - r.x0), m((r) => r.r1 - r.r0))} |`);
say(`| bytes per key (growth / keys) | ${(m((r) => r.r1 - r.r0) / KEYS).toFixed(0)} | ${(m((r) => r.x1 - r.x0) / KEYS).toFixed(0)} | |`);
say(`(target: raftis ≤ 1.5× redis-server's RSS: ${m((r) => r.x1) / m((r) => r.r1) <= 1.5 ? 'met' : 'not met'})\n`);
say(`raftis V8 heap after a full collection: used ${mb(h.heap.used_heap_size)} of ${mb(h.heap.total_heap_size)}; external ${mb(h.memory.external)}, arrayBuffers ${mb(h.memory.arrayBuffers)}; RSS then ${mb(m((r) => r.x2))}`);
say(`| | empty | loaded, after a full collection |`);
say(`|---|---|---|`);
say(`| RSS anonymous / file-backed | ${mb(pick.x0status.anon)} / ${mb(pick.x0status.file)} | ${mb(pick.x2status.anon)} / ${mb(pick.x2status.file)} |`);
say(`| V8 heap committed / used | ${mb(pick.h0.heap.total_heap_size)} / ${mb(pick.h0.heap.used_heap_size)} | ${mb(h.heap.total_heap_size)} / ${mb(h.heap.used_heap_size)} |`);
for (const [name, s] of Object.entries(h.spaces)) {
  const e = pick.h0.spaces[name];
  if (s.size > 0 || e.size > 0) say(`| ${name} committed / used | ${mb(e.size)} / ${mb(e.used)} | ${mb(s.size)} / ${mb(s.used)} |`);
}
say(`| external (Buffers, native) | ${mb(pick.h0.memory.external)} | ${mb(h.memory.external)} |`);
const outside = (st, hh) => st.anon - hh.heap.total_heap_size - hh.memory.external;
say(`| anonymous RSS outside the V8 heap and external | ${mb(outside(pick.x0status, pick.h0))} | ${mb(outside(pick.x2status, h))} |`);
const spread = (rs, f) => `${mb(Math.min(...rs.map(f)))}–${mb(Math.max(...rs.map(f)))}`;
say(`\nRSS 10 s after loading, every round (spread): ${spread(rows, (r) => r.x1)}; redis-server ${spread(rows, (r) => r.r1)}`);
if (AB !== undefined) {
  const mA = (f) => median(rowsA.map(f));
  say(`\nA/B in the same rounds (A: ${AB}; B: ${RAFTIS_BIN}), medians (spread):`);
  say(`| build | RSS 5 s after loading | RSS 10 s after loading | ratio to redis-server | V8 heap used | RSS empty |`);
  say(`|---|---|---|---|---|---|`);
  for (const [name, rs, mm] of [['A', rowsA, mA], ['B', rows, m]]) {
    say(`| ${name} | ${mb(mm((r) => r.x5))} (${spread(rs, (r) => r.x5)}) | ${mb(mm((r) => r.x1))} (${spread(rs, (r) => r.x1)}) | ${ratio(mm((r) => r.x1), mm((r) => r.r1))} | ${mb(mm((r) => r.h.heap.used_heap_size))} | ${mb(mm((r) => r.x0))} |`);
  }
}
console.log(`\nwritten to ${writeResult(OUT, lines.join('\n') + '\n')}`);
