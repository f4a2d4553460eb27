#!/usr/bin/env node
/**
 * The long fuzz run (issue 20, "bad input cannot hurt"); CI runs a short
 * seeded slice of the same code (test/fuzz/*.test.ts).
 *
 *   npm run build && node bench/fuzz.mjs --requests 1000000 --frames 1000000 --seed 1 [--minutes 90] [--out fuzz.md]
 *
 * Phase 1: a one-node cluster gets half the RESP requests. Phase 2: a
 * three-node cluster gets the other half (spread over all nodes) and every
 * peer frame (before the handshake to every node, after a valid one to the
 * followers). Before each phase, keys under the reserved prefix are written
 * and acknowledged; after it they must read back value for value. Checks
 * after every batch: every process alive, PING on a fresh connection within
 * --ping-bound-ms; at the end RSS below --rss-limit-mb. The figures go to
 * bench/results/<out> (default fuzz-run.md; bench/results/fuzz.md sums the runs up) unless --out -.
 *
 * Each phase stops at its share of --minutes, so the run is bounded in time;
 * the report says how many requests and frames were actually sent.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { startRaftisCluster, writeResult, machineFacts } from './lib.mjs';
import {
  checkReserved,
  cleanup,
  runPeerFuzz,
  runRespFuzz,
  rssBytes,
  waitLeader,
  writeReserved,
} from '../test/fuzz/harness.mjs';

const { values: a } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    frames: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string', default: '90' },
    'ping-bound-ms': { type: 'string', default: '10000' },
    'rss-limit-mb': { type: 'string', default: '1024' },
    reserved: { type: 'string', default: '300' },
    out: { type: 'string', default: 'fuzz-run.md' },
    // 'one', 'three' or 'both': run one phase alone (e.g. the three-node phase again on a quiet machine).
    phases: { type: 'string', default: 'both' },
  },
});
const REQUESTS = Number(a.requests);
const FRAMES = Number(a.frames);
const SEED = Number(a.seed);
const LIMIT_MS = Number(a.minutes) * 60_000;
const PING_BOUND = Number(a['ping-bound-ms']);
const RSS_LIMIT = Number(a['rss-limit-mb']) * 1024 * 1024;
const RESERVED = Number(a.reserved);
const CLUSTER_ID = 'raftis';
const log = (s) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

const mb = (b) => (b / 1048576).toFixed(1);
const targetsOf = (c) => c.nodes.map((n) => ({ id: n.id, host: n.host, port: n.port, clusterPort: n.clusterPort, pid: n.proc.pid }));

/** The same limits on every node: the fuzzer's strings stay at most 1 MiB (Redis's smallest proto-max-bulk-len). */
async function configure(leader) {
  const { Conn } = await import('../test/fuzz/harness.mjs');
  const c = await Conn.open(leader.host, leader.port);
  try {
    for (const [k, v] of [['proto-max-bulk-len', '1048576']]) {
      const r = await c.str(['CONFIG', 'SET', k, v]);
      if (r !== '+OK\r\n') throw new Error(`CONFIG SET ${k} ${v}: ${r}`);
    }
  } finally {
    c.close();
  }
}

/** A crashed node's last log lines, and the problems found, on the console (the report keeps the counts). */
async function dumpIfDead(cluster, stats) {
  await new Promise((r) => setTimeout(r, 500));
  for (const x of [...stats.crashes, ...stats.hangs, ...(stats.malformed ?? []), ...(stats.expectedCloseMissing ?? [])].slice(0, 20)) log(`  ${x}`);
  for (const n of cluster.nodes) {
    if (!cluster.isRunning(n.id)) log(`node ${n.id} exited (${n.proc.exitCode ?? n.proc.signalCode}); its log ends:\n${n.log.slice(-4000)}`);
  }
  if (stats.crashes.length > 0) throw new Error('a node crashed: see above');
}

async function phase(name, size, requests, frames, budgetMs) {
  log(`${name}: starting a ${size}-node cluster`);
  // Info level: the nodes' "became the leader (term N)" lines say when leadership moved, so the report can
  // place a change against the batches and the machine's load at that moment.
  const cluster = await startRaftisCluster(size, ['--cluster-id', CLUSTER_ID], { logLevel: 'info' });
  // The kept log is only its tail: collect the lines as they come (bounded to the phase).
  const elected = new Set();
  const collect = () => {
    for (const n of cluster.nodes) for (const l of n.log.split('\n')) if (l.includes('became the leader')) elected.add(`node ${n.id}: ${l.trim()}`);
  };
  const collector = setInterval(collect, 100);
  const leaderLines = () => (collect(), clearInterval(collector), [...elected].sort((x, y) => x.slice(8).localeCompare(y.slice(8))));
  try {
    const targets = targetsOf(cluster);
    const leader = await waitLeader(targets);
    await configure(leader);
    const expected = await writeReserved(leader, RESERVED);
    const rssBefore = targets.map((t) => rssBytes(t.pid));
    const t0 = Date.now();
    log(`${name}: RESP fuzzing starts`);
    const resp = await runRespFuzz({ targets, seed: SEED, requests, timeLimitMs: frames > 0 ? budgetMs / 2 : budgetMs, log });
    log(`${name}: RESP done: ${JSON.stringify({ ...resp, malformed: resp.malformed.length, hangs: resp.hangs.length, crashes: resp.crashes.length })}`);
    await dumpIfDead(cluster, resp);
    let peer;
    if (frames > 0) {
      log(`${name}: peer fuzzing starts`);
      peer = await runPeerFuzz({ targets, clusterId: CLUSTER_ID, seed: SEED + 1, frames, timeLimitMs: budgetMs - (Date.now() - t0), log });
      await dumpIfDead(cluster, peer);
      log(`${name}: peer done: ${JSON.stringify({ ...peer, handshakeFailures: peer.handshakeFailures.length, expectedCloseMissing: peer.expectedCloseMissing.length, hangs: peer.hangs.length, crashes: peer.crashes.length })}`);
    }
    const finalLeader = await waitLeader(targets);
    await cleanup(finalLeader);
    const lost = await checkReserved(finalLeader, RESERVED, expected);
    const rssAfter = targets.map((t) => rssBytes(t.pid));
    // A write after all of it: the cluster still commits.
    const { Conn } = await import('../test/fuzz/harness.mjs');
    const c = await Conn.open(finalLeader.host, finalLeader.port);
    const w = await c.str(['SET', 'after-fuzz', 'ok']);
    c.close();
    const elected = leaderLines();
    if (elected.length > 1) log(`${name}: leadership changed; the nodes' lines:\n  ${elected.join('\n  ')}`);
    return { name, size, resp, peer, lost, rssBefore, rssAfter, leaderBefore: leader.id, leaderAfter: finalLeader.id, elected, writeAfter: w.trim(), durationMs: Date.now() - t0 };
  } finally {
    clearInterval(collector);
    await cluster.stop();
  }
}

const started = Date.now();
const facts = await machineFacts().catch(() => '');
const load0 = os.loadavg();
const half = Math.floor(REQUESTS / 2);
const PHASES = a.phases;
if (!['one', 'three', 'both'].includes(PHASES)) throw new Error(`--phases: one, three or both, not ${PHASES}`);
const p1 = PHASES === 'three' ? undefined : await phase('one node', 1, half, 0, PHASES === 'one' ? LIMIT_MS : LIMIT_MS * 0.4);
const p2 = PHASES === 'one' ? undefined : await phase('three nodes', 3, REQUESTS - half, FRAMES, LIMIT_MS - (Date.now() - started));
const load1 = os.loadavg();

const problems = [];
const ran = [p1, p2].filter((p) => p !== undefined);
for (const p of ran) {
  for (const m of p.resp.malformed) problems.push(`${p.name}: malformed reply: ${m}`);
  for (const h of [...p.resp.hangs, ...(p.peer?.hangs ?? [])]) problems.push(`${p.name}: hang: ${h}`);
  for (const h of [...p.resp.crashes, ...(p.peer?.crashes ?? [])]) problems.push(`${p.name}: crash: ${h}`);
  for (const h of p.peer?.expectedCloseMissing ?? []) problems.push(`${p.name}: bad peer connection not closed: ${h}`);
  for (const l of p.lost) problems.push(`${p.name}: reserved key changed: ${l}`);
  p.rssAfter.forEach((r, i) => r > RSS_LIMIT && problems.push(`${p.name}: node ${i + 1} RSS ${mb(r)} MB over ${mb(RSS_LIMIT)} MB`));
}

const row = (p) => {
  const r = p.resp;
  const f = p.peer;
  return [
    `| ${p.name} | ${r.requests} | ${f ? f.frames : '-'} | ${r.crashes.length + (f?.crashes.length ?? 0)} | ${r.hangs.length + (f?.hangs.length ?? 0)} | ${r.malformed.length} | ${p.rssBefore.map(mb).join(' / ')} | ${p.rssAfter.map(mb).join(' / ')} | ${p.lost.length} of ${RESERVED} | ${(p.durationMs / 1000).toFixed(0)} s |`,
  ].join('\n');
};
const sum = (f) => ran.reduce((t, p) => t + f(p), 0);
const rate = (n, ms) => (ms > 0 ? Math.round(n / (ms / 1000)) : 0);
const text = `# Fuzz run (bench/fuzz.mjs)

Command: \`node bench/fuzz.mjs --requests ${REQUESTS} --frames ${FRAMES} --seed ${SEED} --minutes ${a.minutes}${PHASES === 'both' ? '' : ` --phases ${PHASES}`}\`
${facts}

(${new Date().toISOString()}; load average ${load0.map((x) => x.toFixed(1)).join(' ')} at the start,
${load1.map((x) => x.toFixed(1)).join(' ')} at the end: the machine was shared with other jobs.)

| phase | RESP requests sent | peer frames sent | crashes | hangs | malformed replies | RSS before (MB, per node) | RSS after (MB) | reserved keys changed | duration |
|---|---|---|---|---|---|---|---|---|---|
${ran.map(row).join('\n')}

- Rates: ${ran.map((p) => `${p.name} ${rate(p.resp.requests, p.resp.durationMs)} requests/s`).join('; ')}${p2?.peer ? `, ${rate(p2.peer.frames, p2.peer.durationMs)} frames/s` : ''}.
- RESP: ${sum((p) => p.resp.connections)} connections, ${sum((p) => p.resp.replies)} replies parsed (all well-formed unless counted above),
  ${sum((p) => p.resp.closedByServer)} connections closed by the server (protocol errors, QUIT, limits).
${p2 === undefined ? '' : `- Peer: ${p2.peer?.connections ?? 0} connections, ${p2.peer?.handshakes ?? 0} valid handshakes (posing as a follower to the other follower),
  ${p2.peer?.handshakeFailures.length ?? 0} failed handshakes, ${p2.peer?.closedByNode ?? 0} connections closed by the node,
  ${p2.peer?.expectedCloseMissing.length ?? 0} malformed streams the node left open.
- Leader of the three-node cluster: node ${p2.leaderBefore} before, node ${p2.leaderAfter} after; a SET after the run: ${p2.writeAfter}.
  Elections won (the nodes' own log lines, UTC): ${p2.elected.length === 0 ? 'none logged' : p2.elected.map((l) => `\`${l}\``).join('; ')}.`}
- Requests asked: ${REQUESTS}, frames asked: ${FRAMES}; a phase stops at its time budget, so fewer are sent on a slow machine (the table says what was sent).

${problems.length === 0 ? 'No problem found.' : 'Problems:\n' + problems.map((p) => `- ${p}`).join('\n')}
`;
console.log(text);
if (a.out !== '-') log(`written to ${writeResult(a.out, text)}`);
process.exitCode = problems.length === 0 ? 0 : 1;
