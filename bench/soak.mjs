#!/usr/bin/env node
/**
 * Soak (issue 20): many idle connections plus busy ones against a
 * three-node cluster for a while, then: RSS per node at the start and end of
 * the steady state (flat within 10 %), open file descriptors per node
 * (/proc/PID/fd) before the clients came, during, and after they left (no
 * leak), the busy clients' latency percentiles, and slow readers (clients
 * that ask for big replies and never read) cut by client-output-buffer-limit.
 *
 *   npm run build && node bench/soak.mjs [--idle 10000] [--busy 1000] [--minutes 10] [--slow 8] [--think-ms 100] [--out soak.md]
 *
 * The script starts its own cluster (loopback, temporary directories) and
 * stops it at the end. It needs about idle + busy + slow + 200 file
 * descriptors for itself and (idle + busy)/3 + 100 per node: if the soft
 * limit (`ulimit -n`) is lower and the hard limit allows, it re-executes
 * itself with the soft limit raised, which the nodes inherit.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { machineFacts, startRaftisCluster, writeResult } from './lib.mjs';
import { Conn, fdCount, findLeader, rssBytes, waitLeader } from '../test/fuzz/harness.mjs';
import { encodeArgv } from '../test/fuzz/resp-gen.mjs';

const { values: a } = parseArgs({
  options: {
    idle: { type: 'string', default: '10000' },
    busy: { type: 'string', default: '1000' },
    minutes: { type: 'string', default: '10' },
    slow: { type: 'string', default: '8' },
    'think-ms': { type: 'string', default: '100' },
    out: { type: 'string', default: 'soak.md' },
  },
});
const IDLE = Number(a.idle);
const BUSY = Number(a.busy);
const SLOW = Number(a.slow);
const DURATION_MS = Number(a.minutes) * 60_000;
const THINK_MS = Number(a['think-ms']);
const NEEDED_FDS = IDLE + BUSY + SLOW + 200;

// ---- file descriptor limit --------------------------------------------------------------
const limits = (() => {
  const out = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
  const parse = (s) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: parse(out[0]), hard: parse(out[1]) };
})();
if (limits.soft < NEEDED_FDS) {
  if (process.env.SOAK_REEXEC || limits.hard < NEEDED_FDS) {
    console.error(`soak: needs ${NEEDED_FDS} file descriptors; ulimit -n is ${limits.soft} (hard ${limits.hard}). Raise the hard limit (e.g. /etc/security/limits.conf) or lower --idle/--busy.`);
    process.exit(2);
  }
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync('sh', ['-c', `ulimit -n ${NEEDED_FDS} && exec "$0" "$@"`, process.execPath, self, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, SOAK_REEXEC: '1' },
  });
  process.exit(r.status ?? 1);
}

const log = (s) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (b) => (b / 1048576).toFixed(1);

const facts = await machineFacts().catch(() => '');
const load0 = os.loadavg();
const cluster = await startRaftisCluster(3, []);
const targets = cluster.nodes.map((n) => ({ id: n.id, host: n.host, port: n.port, pid: n.proc.pid }));
const sockets = new Set();
let report;
try {
  const leader = await waitLeader(targets);
  log(`cluster up, leader node ${leader.id}`);

  // Slow readers are cut at 1 MiB of pending replies, or 256 KiB for 5 s (Redis's default for
  // normal clients is no limit; the pubsub class already has one).
  for (const t of targets) {
    const c = await Conn.open(t.host, t.port);
    const r = await c.str(['CONFIG', 'SET', 'client-output-buffer-limit', 'normal 1mb 256kb 5 pubsub 1mb 256kb 5']);
    const g = await c.str(['CONFIG', 'GET', 'client-output-buffer-limit']);
    c.close();
    if (!g.includes('normal 1048576 262144 5') || !g.includes('pubsub 1048576 262144 5')) throw new Error(`node ${t.id}: CONFIG SET answered ${r.trim()}, CONFIG GET ${JSON.stringify(g)}`);
  }
  // The busy clients' keys and the slow readers' big value.
  const lc = await Conn.open(leader.host, leader.port);
  await lc.str(['SET', 'soak:big', 'x'.repeat(512 * 1024)]);
  for (let i = 0; i < 1000; i++) await lc.str(['SET', `soak:k${i}`, `v${i}`]);
  lc.close();

  const fdBaseline = targets.map((t) => fdCount(t.pid));
  log(`fds before the clients: ${fdBaseline.join(' / ')}`);

  // ---- idle connections ----------------------------------------------------------------
  let idleClosed = 0;
  const openIdle = (t) =>
    new Promise((resolve) => {
      const s = net.connect(t.port, t.host);
      s.on('error', () => {});
      s.once('connect', () => {
        sockets.add(s);
        resolve(true);
      });
      s.once('close', () => {
        if (sockets.delete(s)) idleClosed++;
        resolve(false);
      });
    });
  let idleOpen = 0;
  for (let i = 0; i < IDLE; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(IDLE, i + 200); j++) batch.push(openIdle(targets[j % targets.length]));
    idleOpen += (await Promise.all(batch)).filter(Boolean).length;
  }
  log(`${idleOpen} idle connections open`);

  // ---- busy clients -------------------------------------------------------------------
  // Each: one request at a time, SET then GET of its own key on the leader
  // (writes), or GET on a follower (reads), with think time between.
  const lat = [];
  let busyErrors = 0;
  let moved = 0;
  let leaderChanges = 0;
  let firstError;
  let busyReplies = 0;
  let stop = false;
  const busyLoop = async (i) => {
    // On the leader: a follower answers reads and writes with MOVED
    // (--follower-writes moved, the default), which the client follows, as
    // a cluster client does after a leader change.
    let t = leader;
    let c;
    try {
      c = await Conn.open(t.host, t.port, 20_000);
      sockets.add(c.sock);
      while (!stop) {
        const argv = i % 2 === 0 ? ['SET', `soak:k${i % 1000}`, `v${Date.now()}`] : ['GET', `soak:k${i % 1000}`];
        const t0 = performance.now();
        const r = await c.str(argv, 30_000);
        lat.push(performance.now() - t0);
        busyReplies++;
        if (r.startsWith('-MOVED ')) {
          moved++;
          const [host, port] = r.trim().split(' ')[2].split(':');
          sockets.delete(c.sock);
          c.close();
          t = { host, port: Number(port) };
          c = await Conn.open(t.host, t.port, 20_000);
          sockets.add(c.sock);
        } else if (r.startsWith('-')) {
          busyErrors++;
          if (firstError === undefined) firstError = r.trim();
        }
        await sleep(THINK_MS * (0.5 + Math.random()));
      }
    } catch (e) {
      busyErrors++;
      if (firstError === undefined) firstError = e.message;
    } finally {
      if (c) {
        sockets.delete(c.sock);
        c.close();
      }
    }
  };
  const busy = Array.from({ length: BUSY }, (_, i) => busyLoop(i));
  log(`${BUSY} busy clients started`);

  // ---- slow readers, during the warm-up -----------------------------------------------
  const slowResults = [];
  // Slow readers, never reading: on the leader one that GETs a 512 KiB value
  // 64 times (normal class), on every node one subscribed to a channel the
  // leader then gets 64 PUBLISHes of 512 KiB for (pubsub class, fanned out
  // to every node): 32 MiB each, far past the 1 MiB hard limits. A paused
  // socket does not see the server's FIN, so whether a reader was cut is
  // asked of the server: its address gone from CLIENT LIST.
  const slowReader = (t, kind) =>
    new Promise((resolve) => {
      const s = net.connect(t.port, t.host);
      let t0 = Date.now();
      s.on('error', () => {});
      s.once('connect', async () => {
        const addr = `addr=${s.localAddress}:${s.localPort} `;
        if (kind === 'pubsub') {
          s.write(encodeArgv(['SUBSCRIBE', 'soak:slow']));
          await sleep(500);
        }
        s.pause(); // never read (the subscribe confirmation included)
        if (kind === 'normal') s.write(Buffer.concat(Array.from({ length: 64 }, () => encodeArgv(['GET', 'soak:big']))));
        let cut = false;
        const c = await Conn.open(t.host, t.port);
        try {
          if (kind === 'pubsub') {
            await subscribed;
            t0 = Date.now();
          }
          for (let i = 0; i < 60 && !cut; i++) {
            await sleep(1000);
            cut = !(await c.str(['CLIENT', 'LIST'])).includes(addr);
          }
        } finally {
          c.close();
          s.destroy();
        }
        resolve({ node: t.id, kind, cut, ms: Date.now() - t0 });
      });
    });
  let markSubscribed;
  const subscribed = new Promise((r) => (markSubscribed = r));
  const slowJobs = [];
  for (let i = 0; i < SLOW; i++) slowJobs.push(slowReader(i % 2 === 0 ? leader : targets[i % targets.length], i % 2 === 0 ? 'normal' : 'pubsub'));
  const publisher = (async () => {
    await sleep(1500);
    markSubscribed();
    const c = await Conn.open(leader.host, leader.port);
    const big = 'p'.repeat(512 * 1024);
    for (let i = 0; i < 64; i++) await c.str(['PUBLISH', 'soak:slow', big], 30_000);
    c.close();
  })();
  const slowDone = Promise.all([...slowJobs, publisher]).then((r) => slowResults.push(...r.slice(0, SLOW)));

  // ---- steady state -----------------------------------------------------------------------
  const started = Date.now();
  const warmup = Math.min(60_000, DURATION_MS / 5);
  await sleep(warmup);
  await slowDone;
  const rssStart = targets.map((t) => rssBytes(t.pid));
  const fdDuring = targets.map((t) => fdCount(t.pid));
  const latStartIndex = lat.length;
  log(`steady state: RSS ${rssStart.map(mb).join(' / ')} MB, fds ${fdDuring.join(' / ')}`);

  const samples = [];
  let lastLeader = leader.id;
  while (Date.now() - started < DURATION_MS) {
    await sleep(Math.min(10_000, Math.max(0, DURATION_MS - (Date.now() - started))));
    const l = await findLeader(targets).catch(() => undefined);
    if (l !== undefined && l.id !== lastLeader) {
      leaderChanges++;
      lastLeader = l.id;
    }
    const s = { t: Math.round((Date.now() - started) / 1000), rss: targets.map((t) => rssBytes(t.pid)), fds: targets.map((t) => fdCount(t.pid)) };
    samples.push(s);
    log(`t=${s.t}s RSS ${s.rss.map(mb).join(' / ')} MB, fds ${s.fds.join(' / ')}, ${busyReplies} busy replies`);
  }
  const rssEnd = targets.map((t) => rssBytes(t.pid));
  const latSteady = lat.slice(latStartIndex).sort((x, y) => x - y);
  const pct = (p) => (latSteady.length ? latSteady[Math.min(latSteady.length - 1, Math.floor((p / 100) * latSteady.length))].toFixed(2) : 'n/a');

  // ---- the clients leave ------------------------------------------------------------------
  stop = true;
  await Promise.all(busy);
  for (const s of sockets) s.destroy();
  const idleClosedByServer = idleClosed;
  await sleep(5000);
  const fdAfter = targets.map((t) => fdCount(t.pid));
  const clientsAfter = [];
  for (const t of targets) {
    const c = await Conn.open(t.host, t.port);
    const info = await c.str(['INFO', 'clients']);
    clientsAfter.push(Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? -1));
    c.close();
  }
  const load1 = os.loadavg();
  const rssDelta = rssStart.map((r, i) => (rssEnd[i] - r) / r);
  // A leak grows; a drop (garbage collected after the warm-up's slow readers) is not one.
  const flat = rssDelta.every((d) => d <= 0.1);
  const noLeak = fdAfter.every((f, i) => f <= fdBaseline[i] + 5);
  const slowCut = slowResults.every((r) => r.cut);
  report = `# Soak (bench/soak.mjs)

Command: \`node bench/soak.mjs --idle ${IDLE} --busy ${BUSY} --minutes ${a.minutes} --slow ${SLOW} --think-ms ${THINK_MS}\`
${facts}

(${new Date().toISOString()}; load average ${load0.map((x) => x.toFixed(1)).join(' ')} at the start, ${load1.map((x) => x.toFixed(1)).join(' ')} at the end: the
machine was shared with other jobs, so latencies are upper bounds of what raftis itself costs.)

Three nodes on loopback; ${idleOpen} idle connections spread over the nodes, ${BUSY} busy clients on the leader (a follower
redirects reads and writes), half doing SET, half GET of their own key, each one request at a time with
${THINK_MS / 2}–${(THINK_MS * 3) / 2} ms between requests; client-output-buffer-limit normal 1mb 256kb 5 pubsub 1mb 256kb 5 on every node.
Steady state measured from ${Math.round(warmup / 1000)} s after the busy clients started to the end.

| node | RSS start (MB) | RSS end (MB) | change | fds before clients | fds during | fds 5 s after the clients left | connected_clients after |
|---|---|---|---|---|---|---|---|
${targets.map((t, i) => `| ${t.id}${t.id === leader.id ? ' (leader)' : ''} | ${mb(rssStart[i])} | ${mb(rssEnd[i])} | ${(rssDelta[i] * 100).toFixed(1)} % | ${fdBaseline[i]} | ${fdDuring[i]} | ${fdAfter[i]} | ${clientsAfter[i]} |`).join('\n')}

- RSS grew by at most 10 % over the steady state: ${flat ? 'yes' : 'NO'}. File descriptors back to the baseline (±5) after the clients left: ${noLeak ? 'yes' : 'NO'}.
- Busy clients: ${latSteady.length} requests in the steady state (${Math.round(latSteady.length / ((DURATION_MS - warmup) / 1000))}/s), ${busyErrors} errors${firstError ? ` (the first: ${firstError})` : ''},
  ${moved} MOVED redirects followed (leader changes: ${leaderChanges});
  latency p50 ${pct(50)} ms, p99 ${pct(99)} ms, p99.9 ${pct(99.9)} ms, max ${latSteady.length ? latSteady[latSteady.length - 1].toFixed(1) : 'n/a'} ms.
- Idle connections closed by a server during the run: ${idleClosedByServer} (the default timeout 0 keeps idle clients).
- Slow readers (normal: 64 GETs of a 512 KiB value on the leader; pubsub: subscribed while the leader gets 64 PUBLISHes
  of 512 KiB; neither ever reads): ${slowResults.filter((r) => r.cut).length} of ${slowResults.length} cut by the server
  (${slowResults.map((r) => `${r.kind} on node ${r.node}: ${r.cut ? `${(r.ms / 1000).toFixed(1)} s` : 'not cut'}`).join(', ')}).
- RSS and fds every 10 s (MB / count per node):
${samples.map((s) => `  - t=${s.t}s: ${s.rss.map(mb).join(' / ')}; ${s.fds.join(' / ')}`).join('\n')}

${flat && noLeak && slowCut && idleClosedByServer === 0 ? 'All checks passed.' : 'Some checks failed: see above.'}
`;
} finally {
  for (const s of sockets) s.destroy();
  await cluster.stop();
}
console.log(report);
if (report && a.out !== '-') log(`written to ${writeResult(a.out, report)}`);
