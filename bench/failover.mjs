#!/usr/bin/env node
// Failover time of a 3-node raftis cluster with default timeouts.
//
// Each trial: a writer sends SETs one at a time, without stopping, to the
// current leader (following MOVED; on CLUSTERDOWN, other errors, timeouts and
// connection failures it pauses ~10 ms and retries, moving on to the next
// node when a connection fails). At a random moment the leader is killed with
// SIGKILL. Failover time = from the kill to the first write acknowledged by
// another node (the new leader). Then the writer stops, the killed node is
// restarted on its data directory, and the next trial waits until that node's
// commit index has reached the leader's and all nodes agree on the leader.
//
// Usage: npm run build && node bench/failover.mjs [trials=10]
// RAFTIS_BIN=/path/to/dist/cli/main.js runs another raftis build (see lib.mjs).
import os from 'node:os';
import { buildFacts, machineFacts, median, RespConn, startRaftisCluster, writeResult } from './lib.mjs';

const TRIALS = Math.max(1, Math.min(100, Number(process.argv[2] ?? 10)));
const TARGET_MS = 1500;
const PAUSE_MS = 10;
const REQUEST_TIMEOUT_MS = 2000;
const KILL_DELAY_MS = [200, 1200]; // the kill comes this long (uniform) after the writer's first ack
const FAILOVER_LIMIT_MS = 30_000; // a trial with no write acknowledged this long after the kill fails
const CATCHUP_LIMIT_MS = 60_000;

const lines = [];
const say = (s = '') => {
  console.log(s);
  lines.push(s);
};
const log = (s) => console.error(`[failover ${new Date().toISOString().slice(11, 23)}] ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes until stopped or `deadline` (performance.now()). Calls onAck(t, node)
 * for every acknowledged SET. Counts what went wrong on the way.
 */
function startWriter(cluster, trial, firstTarget, onAck, deadline) {
  const nodes = cluster.nodes;
  const counts = { acked: 0, moved: 0, clusterdown: 0, connFail: 0, timeout: 0, otherErr: 0 };
  const otherErrors = new Set();
  const state = { stop: false, counts, otherErrors };
  let target = { host: firstTarget.host, port: firstTarget.port };
  const next = () => {
    const i = nodes.findIndex((n) => n.host === target.host && n.port === target.port);
    const n = nodes[(i + 1) % nodes.length];
    target = { host: n.host, port: n.port };
  };
  state.done = (async () => {
    let conn;
    let seq = 0;
    while (!state.stop && performance.now() < deadline) {
      try {
        if (!conn || conn.closed) conn = await RespConn.connect(target.host, target.port, 1000);
        const r = await conn.call(['SET', `failover:${trial}:${seq++}`, String(seq)], REQUEST_TIMEOUT_MS);
        if (r === 'OK') {
          counts.acked++;
          onAck(performance.now(), target);
          continue;
        }
        const err = typeof r === 'object' && r !== null && 'error' in r ? r.error : `unexpected reply ${JSON.stringify(r)}`;
        const moved = /^MOVED \d+ (.+):(\d+)$/.exec(err);
        if (moved) {
          counts.moved++;
          conn.close();
          conn = undefined;
          target = { host: moved[1], port: Number(moved[2]) };
          continue;
        }
        if (err.startsWith('CLUSTERDOWN')) counts.clusterdown++;
        else {
          counts.otherErr++;
          otherErrors.add(err.slice(0, 120));
        }
        await sleep(PAUSE_MS);
      } catch (e) {
        if (/no reply within/.test(e.message)) counts.timeout++;
        else counts.connFail++;
        conn?.close();
        conn = undefined;
        next();
        await sleep(PAUSE_MS);
      }
    }
    conn?.close();
  })();
  return state;
}

async function waitCaughtUp(cluster, id, leader) {
  const t0 = performance.now();
  for (;;) {
    const [li, fi] = await Promise.all([cluster.info(leader, 1000), cluster.info(id, 1000)]);
    if (li && fi && Number(fi.commit_index) >= Number(li.commit_index) && Number(fi.applied_index) >= Number(li.commit_index)) {
      return { ms: performance.now() - t0, commit: Number(li.commit_index) };
    }
    if (performance.now() - t0 > CATCHUP_LIMIT_MS) {
      throw new Error(`node ${id} did not catch up with leader ${leader} in ${CATCHUP_LIMIT_MS} ms: ${JSON.stringify({ leader: li?.commit_index, node: fi?.commit_index })}`);
    }
    await sleep(50);
  }
}

const startedAt = new Date();
const facts = `${await machineFacts()}\n${await buildFacts()}`;
log('starting a 3-node cluster (default timeouts)');
const cluster = await startRaftisCluster(3);
const trials = [];
try {
  for (let trial = 1; trial <= TRIALS; trial++) {
    const leader = await cluster.waitForLeader();
    const before = await cluster.info(leader);
    const L = cluster.node(leader);
    let killAt;
    let firstAckAfterKill;
    let firstAckResolve;
    const firstAck = new Promise((r) => (firstAckResolve = r));
    let ackedBeforeKill = 0;
    let resolvedWarm;
    const warm = new Promise((r) => (resolvedWarm = r));
    const writer = startWriter(
      cluster,
      trial,
      L,
      (t, node) => {
        if (killAt === undefined) {
          ackedBeforeKill++;
          resolvedWarm();
        } else if (firstAckAfterKill === undefined && t > killAt && !(node.host === L.host && node.port === L.port)) {
          firstAckAfterKill = { t, node };
          firstAckResolve();
        }
      },
      performance.now() + FAILOVER_LIMIT_MS + 15_000,
    );
    let result;
    try {
      await Promise.race([warm, sleep(10_000)]);
      if (ackedBeforeKill === 0) throw new Error(`trial ${trial}: the writer got no acknowledgement from leader ${leader} in 10 s`);
      const delay = KILL_DELAY_MS[0] + Math.random() * (KILL_DELAY_MS[1] - KILL_DELAY_MS[0]);
      await sleep(delay);
      const killPromise = cluster.kill(leader);
      killAt = performance.now(); // kill() sent SIGKILL synchronously; this is right after
      await killPromise;
      await Promise.race([firstAck, sleep(FAILOVER_LIMIT_MS)]);
      if (!firstAckAfterKill) throw new Error(`trial ${trial}: no write acknowledged within ${FAILOVER_LIMIT_MS} ms of killing leader ${leader}`);
      const ms = firstAckAfterKill.t - killAt;
      await sleep(200); // a little more writing on the new leader
      result = { trial, killed: leader, termBefore: Number(before?.term), ms, delay, ackedBeforeKill, by: firstAckAfterKill.node };
    } finally {
      writer.stop = true;
      await writer.done;
    }
    result.counts = { ...writer.counts };
    result.otherErrors = [...writer.otherErrors];
    const newLeader = await cluster.waitForLeader(20_000, [result.killed]);
    const after = await cluster.info(newLeader);
    result.newLeader = newLeader;
    result.termAfter = Number(after?.term);
    const byNode = cluster.nodes.find((n) => n.host === result.by.host && n.port === result.by.port)?.id;
    if (byNode !== newLeader) log(`trial ${trial}: the first ack came from node ${byNode}, the agreed leader is ${newLeader}`);
    result.byNode = byNode;

    // Bring the killed node back and let it catch up before the next trial.
    const r0 = performance.now();
    await cluster.start(result.killed);
    const cu = await waitCaughtUp(cluster, result.killed, newLeader);
    result.catchupMs = performance.now() - r0;
    result.commit = cu.commit;
    trials.push(result);
    const c = result.counts;
    log(
      `trial ${trial}: killed ${result.killed} (term ${result.termBefore}) ${result.delay.toFixed(0)} ms into writing; ` +
        `first ack from node ${byNode} after ${result.ms.toFixed(0)} ms (term ${result.termAfter}); ` +
        `conn-fail ${c.connFail}, MOVED ${c.moved}, CLUSTERDOWN ${c.clusterdown}, timeouts ${c.timeout}, other ${c.otherErr}; ` +
        `node ${result.killed} back and caught up in ${result.catchupMs.toFixed(0)} ms`,
    );
  }
} catch (e) {
  for (const n of cluster.nodes) console.error(`--- node ${n.id} log tail ---\n${n.log.slice(-3000)}`);
  throw e;
} finally {
  await cluster.stop();
}

const times = trials.map((t) => t.ms);
const med = median(times);
const max = Math.max(...times);
say(`# raftis failover time (3 nodes, default timeouts)`);
say();
say(`date: ${startedAt.toISOString()}`);
say(facts);
say(`load average at the end: ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
say();
say(
  `Failover time = from SIGKILL of the leader to the first SET acknowledged by another node. The writer sends one SET at a time, ` +
    `follows MOVED at once, and on connection failures (then trying the next node), CLUSTERDOWN, other errors and ${REQUEST_TIMEOUT_MS} ms timeouts pauses ${PAUSE_MS} ms before retrying, ` +
    `so times are accurate to about ${PAUSE_MS} ms. The kill comes ${KILL_DELAY_MS[0]}-${KILL_DELAY_MS[1]} ms (uniform) after the writer's first acknowledged SET. ` +
    `After each trial the killed node is restarted on its data and must reach the leader's commit index before the next trial.`,
);
say();
say(`| trial | killed | new leader | term | kill after (ms of writing) | failover ms | conn failures | MOVED | CLUSTERDOWN | timeouts | other errors | restart + catch-up ms |`);
say(`|---|---|---|---|---|---|---|---|---|---|---|---|`);
for (const t of trials) {
  const c = t.counts;
  say(
    `| ${t.trial} | ${t.killed} | ${t.newLeader}${t.byNode !== t.newLeader ? ` (ack from ${t.byNode})` : ''} | ${t.termBefore} → ${t.termAfter} | ${t.delay.toFixed(0)} | **${t.ms.toFixed(0)}** | ` +
      `${c.connFail} | ${c.moved} | ${c.clusterdown} | ${c.timeout} | ${c.otherErr}${t.otherErrors.length ? ` (${t.otherErrors.join('; ')})` : ''} | ${t.catchupMs.toFixed(0)} |`,
  );
}
say();
say(`| trials | min ms | median ms | max ms | target |`);
say(`|---|---|---|---|---|`);
say(`| ${trials.length} | ${Math.min(...times).toFixed(0)} | ${med.toFixed(0)} | ${max.toFixed(0)} | median < ${TARGET_MS} ms: ${med < TARGET_MS ? 'met' : '**not met**'} |`);
say();
say(`Cluster: ${cluster.nodes.map((n) => `node ${n.id} on ${n.host}`).join(', ')}; command line of node 1:`);
say('```');
say(cluster.commandLine(1).join(' ').replace(cluster.node(1).dir, '<tmp>/node1'));
say('```');
console.log(`\nwritten to ${writeResult('failover.md', lines.join('\n') + '\n')}`);
