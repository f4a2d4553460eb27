#!/usr/bin/env node
// Leadership transfer and join benchmark (issue 6), in one run:
//   1. a 3-node raftis cluster under a write load (CLIENTS connections doing
//      SET back to back, each following MOVED and retrying TRYAGAIN /
//      CLUSTERDOWN, which mean "not applied"); TRANSFERS times the leader is
//      asked to hand leadership to another node (RAFT.TRANSFER_LEADER).
//      Unavailability window of each transfer: the time between the last
//      write acknowledged by the old leader and the first acknowledged by
//      the new one. Median and max reported (target: median < 100 ms).
//   2. a 3-node cluster holding KEYS keys (16-byte values, log compacted
//      behind a snapshot); a 4th node started with --join: time until it is
//      a voter (streamed snapshot, promotion), and until it has applied the
//      leader's commit index.
//
// Usage: npm run build && node bench/transfer.mjs [transfers=20] [keys=1000000] [clients=16]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RAFTIS_BIN, RespConn, buildFacts, freePort, loadKeys, machineFacts, median, raftInfo, startRaftisCluster, writeResult } from './lib.mjs';

const TRANSFERS = Number(process.argv[2] ?? 20);
const KEYS = Number(process.argv[3] ?? 1_000_000);
const CLIENTS = Number(process.argv[4] ?? 16);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function transfers() {
  const c = await startRaftisCluster(3);
  const byAddr = new Map(c.nodes.map((x) => [`${x.host}:${x.port}`, x.id]));
  const acks = []; // [time, node]
  let stop = false;
  const client = async (i) => {
    let target = c.leader;
    const conns = new Map();
    const conn = async (id) => {
      let k = conns.get(id);
      if (!k || k.closed) {
        const x = c.node(id);
        k = await RespConn.connect(x.host, x.port, 2000);
        conns.set(id, k);
      }
      return k;
    };
    let n = 0;
    while (!stop) {
      let r;
      try {
        r = await (await conn(target)).call(['SET', `t${i}:${n % 100}`, `${n}`], 3000);
      } catch {
        target = (target % 3) + 1;
        continue;
      }
      if (r === 'OK') {
        acks.push([performance.now(), target]);
        n++;
      } else if (r && typeof r === 'object' && typeof r.error === 'string') {
        const m = /^MOVED \d+ (\S+)$/.exec(r.error);
        if (m) target = byAddr.get(m[1]) ?? target;
        else await sleep(1);
      }
    }
    for (const k of conns.values()) k.close();
  };
  const loops = Array.from({ length: CLIENTS }, (_, i) => client(i));
  await sleep(1000);
  const windows = [];
  for (let t = 0; t < TRANSFERS; t++) {
    const old = await c.waitForLeader();
    const to = c.nodes.map((x) => x.id).filter((id) => id !== old)[t % 2];
    const L = c.node(old);
    const k = await RespConn.connect(L.host, L.port, 2000);
    const at = performance.now();
    const r = await k.call(['RAFT.TRANSFER_LEADER', String(to)], 5000);
    k.close();
    if (r !== 'OK') throw new Error(`transfer ${t}: ${JSON.stringify(r)}`);
    // Let the clients find the new leader, then measure from the acks.
    await sleep(400);
    // The old leader's last ack (it stops taking writes for the transfer), the new one's first after the request.
    const lastOld = Math.max(...acks.filter(([tm, id]) => id === old && tm >= at - 1000).map(([tm]) => tm));
    const firstNew = Math.min(...acks.filter(([tm, id]) => id === to && tm >= at).map(([tm]) => tm));
    windows.push(Math.max(0, firstNew - lastOld));
    process.stderr.write(`transfer ${t + 1}: ${old} → ${to}: ${windows.at(-1).toFixed(1)} ms\n`);
    await sleep(200);
  }
  stop = true;
  await Promise.all(loops);
  await c.stop();
  return { windows, acks: acks.length };
}

async function join() {
  const c = await startRaftisCluster(3, ['--snapshot-entries', '0', '--snapshot-keep-entries', '1000']);
  try {
    const L = c.node(c.leader);
    await loadKeys(L.port, KEYS, 16, 1000, L.host);
    const k = await RespConn.connect(L.host, L.port, 2000);
    if ((await k.call(['SAVE'], 300_000)) !== 'OK') throw new Error('SAVE failed');
    k.close();
    const target = Number((await raftInfo(L.host, L.port)).commit_index);
    const host = '127.0.0.4';
    const port = await freePort(host);
    const clusterPort = await freePort(host);
    const dir = fs.mkdtempSync(path.join(c.root, 'node4-'));
    const t0 = performance.now();
    const proc = spawn(process.execPath, [RAFTIS_BIN, '--id', '4', '--bind', host, '--port', String(port), '--cluster-port', String(clusterPort), '--dir', dir, '--join', `${L.host}:${L.port}`, '--log-level', 'warn'], { stdio: 'inherit' });
    let voterMs;
    let appliedMs;
    try {
      for (;;) {
        const li = await raftInfo(L.host, L.port).catch(() => undefined);
        if (voterMs === undefined && li && /role=voter/.test(li.member_4 ?? '')) voterMs = performance.now() - t0;
        const ni = await raftInfo(host, port, 2000).catch(() => undefined);
        if (appliedMs === undefined && ni && Number(ni.applied_index) >= target) appliedMs = performance.now() - t0;
        if (voterMs !== undefined && appliedMs !== undefined) break;
        if (performance.now() - t0 > 300_000) throw new Error('node 4 did not join within 300 s');
        await sleep(20);
      }
    } finally {
      proc.kill('SIGKILL');
    }
    return { voterMs, appliedMs };
  } finally {
    await c.stop();
  }
}

const t = await transfers();
process.stderr.write(`join with ${KEYS} keys…\n`);
const j = await join();
const sorted = [...t.windows].sort((a, b) => a - b);
const lines = [
  `# Leadership transfer under load (${CLIENTS} clients doing SET, ${TRANSFERS} transfers) and join with ${KEYS} keys`,
  '',
  (await machineFacts()) + ' · ' + (await buildFacts()),
  '',
  `unavailability window per transfer (last write acknowledged by the old leader → first by the new one): median ${median(t.windows).toFixed(1)} ms, max ${Math.max(...t.windows).toFixed(1)} ms (target: median < 100 ms)`,
  `all windows, sorted (ms): ${sorted.map((w) => w.toFixed(0)).join(' ')}`,
  `writes acknowledged during the run: ${t.acks}`,
  `--join of a 4th node to a cluster holding ${KEYS} keys: voter after ${(j.voterMs / 1000).toFixed(2)} s, up to date after ${(j.appliedMs / 1000).toFixed(2)} s`,
  '',
];
const text = lines.join('\n');
process.stdout.write(text);
process.stderr.write(`written to ${writeResult('transfer.md', text)}\n`);
process.exit(0);
