#!/usr/bin/env node
// Snapshot stall benchmark (issue 5), in one run:
//   1. a single raftis node with N keys (16-byte values) loaded;
//      redis-benchmark SET -c 50 -d 16 over the same key range, once with no
//      snapshot running and once while snapshots are taken back to back
//      (BGSAVE again as soon as one ends); p50/p99/max latency and rps of both,
//      their ratios; every snapshot's duration; RSS before and its peak during
//      snapshots.
//   2. the same two runs against redis-server --appendfsync always, with
//      BGSAVE (fork) back to back, for reference.
//   3. a 3-node raftis cluster: a follower is stopped and wiped, N keys are
//      written, the leader snapshots and compacts; the empty follower is
//      started and the time until it has applied the leader's commit index
//      (snapshot streamed, installed, log after it replayed) is reported.
// Rounds alternate "without" and "with" so drift on the shared machine hits
// both alike; medians are reported.
//
// Usage: npm run build && node bench/snapshot.mjs [keys=1000000] [seconds=8] [rounds=3]
import {
  RespConn,
  buildFacts,
  loadKeys,
  machineFacts,
  median,
  raftInfo,
  ratio,
  redisBenchmark,
  rssBytes,
  startRaftis,
  startRaftisCluster,
  startRedis,
  writeResult,
} from './lib.mjs';

const KEYS = Number(process.argv[2] ?? 1_000_000);
const SECONDS = Number(process.argv[3] ?? 8);
const ROUNDS = Number(process.argv[4] ?? 3);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function info(conn, section) {
  const text = await conn.call(['INFO', section], 60_000);
  const out = {};
  for (const line of String(text).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * Runs BGSAVE back to back until stop() is called; records each snapshot's
 * duration (polled every 10 ms) and the peak RSS of `pid`.
 */
function snapshotLoop(conn, pid) {
  let stopped = false;
  const durations = [];
  let peakRss = 0;
  const done = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const r = await conn.call(['BGSAVE'], 10_000);
      if (typeof r !== 'string' || !/started|scheduled/.test(r)) {
        await sleep(10);
        continue;
      }
      for (;;) {
        peakRss = Math.max(peakRss, rssBytes(pid));
        const p = await info(conn, 'persistence');
        if (p.rdb_bgsave_in_progress === '0') break;
        await sleep(10);
      }
      durations.push(performance.now() - t0);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return { durations, peakRss };
    },
  };
}

async function stallRuns(name, server) {
  const conn = await RespConn.connect('127.0.0.1', server.port, 10_000);
  const base = [];
  const withSnap = [];
  const snapTimes = [];
  let rssBefore = 0;
  let rssPeak = 0;
  const n = Math.max(50_000, 25_000 * SECONDS);
  const args = ['-t', 'set', '-c', '50', '-d', '16', '-r', String(KEYS), '-n', String(n)];
  for (let round = 0; round < ROUNDS; round++) {
    const a = await redisBenchmark(server.port, args);
    base.push(a.SET);
    rssBefore = Math.max(rssBefore, rssBytes(server.pid));
    const loop = snapshotLoop(conn, server.pid);
    await sleep(50);
    const b = await redisBenchmark(server.port, args);
    const s = await loop.stop();
    withSnap.push(b.SET);
    snapTimes.push(...s.durations);
    rssPeak = Math.max(rssPeak, s.peakRss);
    process.stderr.write(`${name} round ${round + 1}: without ${a.SET.rps} rps p99 ${a.SET.p99}; with ${b.SET.rps} rps p99 ${b.SET.p99}; ${s.durations.length} snapshots\n`);
  }
  conn.close();
  const m = (xs, k) => median(xs.map((x) => x[k]));
  return {
    name,
    without: { rps: m(base, 'rps'), p50: m(base, 'p50'), p99: m(base, 'p99'), max: m(base, 'max') },
    with: { rps: m(withSnap, 'rps'), p50: m(withSnap, 'p50'), p99: m(withSnap, 'p99'), max: m(withSnap, 'max') },
    snapshots: snapTimes.length,
    snapshotMedianMs: median(snapTimes),
    snapshotMaxMs: Math.max(...snapTimes),
    rssBefore,
    rssPeak,
  };
}

async function catchUp() {
  const c = await startRaftisCluster(3, ['--snapshot-entries', '0', '--snapshot-keep-entries', '1000']);
  try {
    const leader = await c.waitForLeader();
    const follower = c.nodes.find((x) => x.id !== leader).id;
    await c.kill(follower);
    const L = c.node(leader);
    await loadKeys(L.port, KEYS, 16, 1000, L.host);
    const conn = await RespConn.connect(L.host, L.port, 10_000);
    const t0 = performance.now();
    const r = await conn.call(['SAVE'], 300_000);
    const saveMs = performance.now() - t0;
    if (r !== 'OK') throw new Error(`SAVE: ${JSON.stringify(r)}`);
    const target = Number((await raftInfo(L.host, L.port)).commit_index);
    conn.close();
    const { rmSync } = await import('node:fs');
    rmSync(c.node(follower).dir, { recursive: true, force: true });
    const t1 = performance.now();
    await c.start(follower);
    const F = c.node(follower);
    for (;;) {
      const fi = await raftInfo(F.host, F.port, 2000).catch(() => undefined);
      if (fi && Number(fi.applied_index) >= target) break;
      if (performance.now() - t1 > 300_000) throw new Error('follower did not catch up in 300 s');
      await sleep(20);
    }
    return { saveMs, catchUpMs: performance.now() - t1 };
  } finally {
    await c.stop();
  }
}

const mb = (b) => `${(b / 1048576).toFixed(0)} MB`;

const raftis = await startRaftis(['--snapshot-entries', '0']);
process.stderr.write(`loading ${KEYS} keys into raftis…\n`);
await loadKeys(raftis.port, KEYS, 16);
const r1 = await stallRuns('raftis', raftis);
await raftis.stop();

const redis = await startRedis();
process.stderr.write(`loading ${KEYS} keys into redis-server…\n`);
await loadKeys(redis.port, KEYS, 16);
const r2 = await stallRuns('redis-server', redis);
await redis.stop();

process.stderr.write('empty follower catch-up…\n');
const cu = await catchUp();

const row = (r, k) => `| ${r.name} | ${k} | ${r[k].rps.toFixed(0)} | ${r[k].p50.toFixed(3)} | ${r[k].p99.toFixed(3)} | ${r[k].max.toFixed(3)} |`;
const lines = [
  `# Snapshot stall: ${KEYS} keys, redis-benchmark -t set -c 50 -d 16 -r ${KEYS}, ${ROUNDS} rounds (medians)`,
  '',
  (await machineFacts()) + ' · ' + (await buildFacts()),
  '',
  '| server | snapshots | rps | p50 ms | p99 ms | max ms |',
  '|---|---|---|---|---|---|',
  row(r1, 'without'),
  row(r1, 'with'),
  row(r2, 'without'),
  row(r2, 'with'),
  '',
  `raftis: p99 with/without ${ratio(r1.with.p99, r1.without.p99)} (target ≤ 2×), throughput with/without ${ratio(r1.with.rps, r1.without.rps)} (target ≥ 0.80×)`,
  `raftis: ${r1.snapshots} snapshots of ${KEYS} keys under load, median ${(r1.snapshotMedianMs / 1000).toFixed(2)} s, max ${(r1.snapshotMaxMs / 1000).toFixed(2)} s (target < 10 s)`,
  `raftis: RSS before ${mb(r1.rssBefore)}, peak during snapshots ${mb(r1.rssPeak)} = ${ratio(r1.rssPeak, r1.rssBefore)} (target ≤ 1.5×)`,
  `redis-server (fork BGSAVE): p99 with/without ${ratio(r2.with.p99, r2.without.p99)}, throughput ${ratio(r2.with.rps, r2.without.rps)}; ${r2.snapshots} saves, median ${(r2.snapshotMedianMs / 1000).toFixed(2)} s`,
  `3-node cluster: SAVE of ${KEYS} keys on the leader (no load) ${(cu.saveMs / 1000).toFixed(2)} s; an empty follower up to date in ${(cu.catchUpMs / 1000).toFixed(2)} s`,
  '',
];
const text = lines.join('\n');
process.stdout.write(text);
process.stderr.write(`written to ${writeResult('snapshot.md', text)}\n`);
process.exit(0);
