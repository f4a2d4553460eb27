#!/usr/bin/env node
// Throughput per number of groups (issue 21): `redis-benchmark --cluster` SET and
// GET against a sharded raftis cluster of 1, 2 and 3 groups of 1 node and of 3
// nodes (./cluster.sh start --shards G N in a temporary directory on free ports),
// and against redis-server in cluster mode with the same number of masters
// (cluster-enabled yes, appendonly yes, appendfsync always: the durability raftis
// gives), in the same run. Reports requests/s per group count, its ratio to
// redis-server's and to one group's, and CPU µs per request per process
// (utime + stime from /proc/<pid>/stat over the run, bench/cpu-per-request.mjs's
// method) divided by the requests that process's group served (the calls
// INFO commandstats counts on each master: redis-benchmark spreads its clients
// over the masters, not its requests evenly). From those, what a group could
// serve with a core per process, and so how the cluster would scale on machines
// of their own: 1e6 / (the busiest process's µs per request) per group.
//
// Usage: npm run build && node bench/shard-scale.mjs [options]
//   --requests N    requests per run at -P 1 (3× at -P 16); default 100000
//   --groups LIST   group counts, default 1,2,3
//   --sizes LIST    nodes per group, default 1,3
//   --tests LIST    default SET:1,SET:16,GET:1,GET:16
//   --rounds R      rounds (targets in a rotating order); medians; default 1
//   --clients C     redis-benchmark -c, default 50
//   --no-redis      leave redis-server out
//   --out FILE      a name under bench/results (default shard-scale.md) or an absolute path
//
// redis-benchmark --cluster: each client is bound to one master and hashes its
// keys (key:{tag}:__rand_int__, -r 100000) into that master's slots, so every
// group gets about the same number of clients. It refuses a cluster of one
// master, so one group (and one redis-server master) runs without --cluster. GET runs after SET over the same
// key range; its keys carry a tag chosen per request, so most GETs miss, the
// same for both servers. This machine has few cores: with G groups of N nodes,
// G×N server processes and redis-benchmark share them, which is what bounds
// the measured throughput; the per-process CPU figures are what carries over.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, RespConn, benchOutput, buildFacts, freePort, machineFacts, median, procTicks, redisBenchmark, startRedis, writeResult, optionReader } from './lib.mjs';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = optionReader(argv);
const N = Number(opt('--requests', 100000));
const GROUPS = opt('--groups', '1,2,3').split(',').map(Number);
const SIZES = opt('--sizes', '1,3').split(',').map(Number);
const ROUNDS = Number(opt('--rounds', 1));
const CLIENTS = Number(opt('--clients', 50));
const OUT = opt('--out', 'shard-scale.md');
const TESTS = opt('--tests', 'SET:1,SET:16,GET:1,GET:16').split(',').map((s) => {
  const [t, p] = s.split(':');
  return { t: t.toUpperCase(), P: Number(p) };
});
const nFor = (P) => (P === 16 ? N * 3 : N);
const US_PER_TICK = 1e6 / 100; // CLK_TCK is 100 on Linux
const { say, log, lines } = benchOutput('shard-scale');
/** Requests per second one process could serve at `us` µs each ('n/a' when the run was too short to see any CPU tick). */
const perSecond = (us) => (us > 0 ? (1e6 / us).toFixed(0) : 'n/a');

async function portFree(port) {
  return new Promise((r) => {
    const s = net.createServer().once('error', () => r(false)).listen(port, '127.0.0.1', () => s.close(() => r(true)));
  });
}

/** A base port whose client, HTTP and cluster ports for `nodes` nodes are free (cluster.sh: BASE+i, +1000, +10000). */
async function freeBase(nodes) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 8000);
    let ok = true;
    for (let i = 1; i <= nodes && ok; i++) ok = (await portFree(base + i)) && (await portFree(base + i + 1000)) && (await portFree(base + i + 10000));
    if (ok) return base;
  }
  throw new Error('no free base port');
}

async function call(port, args, host = '127.0.0.1') {
  const c = await RespConn.connect(host, port, 2000);
  try {
    return await c.call(args, 10_000);
  } finally {
    c.close();
  }
}

/** SET and GET calls a master served so far (INFO commandstats). */
async function servedCalls(port) {
  const text = await call(port, ['INFO', 'commandstats']);
  let n = 0;
  for (const m of String(text).matchAll(/^cmdstat_(set|get):calls=(\d+)/gm)) n += Number(m[2]);
  return n;
}

async function until(what, f, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await f().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A sharded raftis cluster of `g` groups of `n` nodes through ./cluster.sh.
 * groups: [{ master: { port, pid }, procs: [{ role, pid }] }].
 */
async function startRaftisShards(g, n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-shard-scale-'));
  const base = await freeBase(g * n);
  const env = { ...process.env, RAFTIS_CLUSTER_DIR: dir, RAFTIS_BASE_PORT: String(base) };
  const sh = (...args) => run('bash', [path.join(ROOT, 'cluster.sh'), ...args], { env, timeout: 600_000 });
  const stop = async () => {
    await sh('stop').catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await sh('start', '--shards', String(g), String(n));
    const groups = [];
    for (let gi = 0; gi < g; gi++) {
      const ids = Array.from({ length: n }, (_, j) => gi * n + j + 1);
      let leader;
      await until(`group ${gi}'s leader`, async () => {
        for (const id of ids) {
          const info = String(await call(base + id, ['RAFT.INFO']));
          if (/^role:leader/m.test(info)) return (leader = id);
        }
        return false;
      });
      const pid = (id) => Number(fs.readFileSync(path.join(dir, `node${id}`, 'pid'), 'utf8'));
      const procs = [{ role: 'leader', pid: pid(leader) }];
      let k = 0;
      for (const id of ids) if (id !== leader) procs.push({ role: `follower${++k}`, pid: pid(id) });
      groups.push({ master: { port: base + leader }, procs });
    }
    // Every node has adopted the map: every slot is served (CLUSTER INFO on each master).
    for (const gr of groups) await until('the slot map adopted', async () => /cluster_state:ok/.test(String(await call(gr.master.port, ['CLUSTER', 'INFO']))) && /cluster_slots_assigned:16384/.test(String(await call(gr.master.port, ['CLUSTER', 'INFO']))));
    return { port: groups[0].master.port, groups, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** `g` redis-server masters in one Redis Cluster, the slots split evenly, every write fsynced. */
async function startRedisShards(g) {
  const servers = [];
  const stop = async () => {
    for (const s of servers) await s.stop();
  };
  try {
    for (let i = 0; i < g; i++) {
      const busPort = await freePort();
      servers.push(await startRedis(['--appendonly', 'yes', '--appendfsync', 'always', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort)]));
      servers[i].busPort = busPort;
    }
    for (let i = 0; i < g; i++) {
      const from = Math.floor((16384 * i) / g);
      const to = Math.floor((16384 * (i + 1)) / g) - 1;
      await call(servers[i].port, ['CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)]);
      if (i > 0) await call(servers[i].port, ['CLUSTER', 'MEET', '127.0.0.1', String(servers[0].port), String(servers[0].busPort)]);
    }
    for (const s of servers) {
      await until('redis cluster state ok', async () => {
        const info = String(await call(s.port, ['CLUSTER', 'INFO']));
        return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${g}\\b`).test(info) && /cluster_slots_assigned:16384/.test(info);
      });
    }
    return { port: servers[0].port, groups: servers.map((s) => ({ master: { port: s.port }, procs: [{ role: 'redis-server', pid: s.pid }] })), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

say('# Throughput per number of groups: redis-benchmark --cluster against sharded raftis and Redis Cluster');
say(`date: ${new Date().toISOString()}`);
say(await machineFacts());
say(await buildFacts());
say(
  `redis-benchmark --cluster (without it for 1 group: it refuses a one-master cluster) -c ${CLIENTS} -r 100000 -d 16 -n ${nFor(1)} (-P 1) / ${nFor(16)} (-P 16); ${ROUNDS} round(s), targets in a rotating order; medians. ` +
    'raftis: ./cluster.sh start --shards G N (G groups of N nodes); redis: G masters with cluster-enabled yes, appendfsync always. ' +
    'CPU µs / request = utime+stime from /proc/<pid>/stat over the run / the SET+GET calls its group\'s master served (INFO commandstats).\n',
);

const targets = [];
try {
  for (const g of GROUPS) {
    if (!flag('--no-redis')) {
      log(`starting redis-server × ${g}`);
      targets.push({ name: `redis ${g} masters`, kind: 'redis', g, n: 1, ...(await startRedisShards(g)) });
    }
    for (const n of SIZES) {
      log(`starting raftis ${g} group(s) of ${n}`);
      targets.push({ name: `raftis ${g}×${n}`, kind: 'raftis', g, n, ...(await startRaftisShards(g, n)) });
    }
  }

  const rows = [];
  for (const { t, P } of TESTS) {
    const n = nFor(P);
    const args = ['-c', String(CLIENTS), '-r', '100000', '-d', '16', '-n', String(n), '-P', String(P), '-t', t.toLowerCase()];
    const res = new Map(targets.map((x) => [x.name, { rps: [], us: x.groups.map((gr) => gr.procs.map(() => [])), share: x.groups.map(() => []) }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < targets.length; i++) {
        const x = targets[(round + i) % targets.length];
        log(`${t} -P ${P} round ${round + 1}: ${x.name}`);
        const c0 = await Promise.all(x.groups.map((gr) => servedCalls(gr.master.port)));
        const t0 = x.groups.map((gr) => gr.procs.map((p) => procTicks(p.pid).self));
        // redis-benchmark --cluster refuses a cluster of one master ("Invalid cluster: 1 node(s)"): one group is benchmarked as a plain server.
        const out = await redisBenchmark(x.port, x.g > 1 ? ['--cluster', ...args] : args);
        const t1 = x.groups.map((gr) => gr.procs.map((p) => procTicks(p.pid).self));
        const c1 = await Promise.all(x.groups.map((gr) => servedCalls(gr.master.port)));
        const r = res.get(x.name);
        r.rps.push(out[t]?.rps ?? NaN);
        const total = c1.reduce((a, b, k) => a + b - c0[k], 0);
        x.groups.forEach((gr, gi) => {
          const served = Math.max(1, c1[gi] - c0[gi]);
          r.share[gi].push(served / Math.max(1, total));
          gr.procs.forEach((_, k) => r.us[gi][k].push(((t1[gi][k] - t0[gi][k]) * US_PER_TICK) / served));
        });
      }
    }
    rows.push({ t, P, res });
  }

  say('## Requests per second\n');
  say('| test | P | groups | redis-server masters | raftis groups of 1 | / redis | / 1 group | raftis groups of 3 | / redis | / 1 group |');
  say('|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    for (const g of GROUPS) {
      const rps = (name) => (row.res.has(name) ? median(row.res.get(name).rps) : NaN);
      const redis = rps(`redis ${g} masters`);
      const cells = [row.t, row.P, g, Number.isNaN(redis) ? 'n/a' : redis.toFixed(0)];
      for (const size of [1, 3]) {
        const v = rps(`raftis ${g}×${size}`);
        const one = rps(`raftis 1×${size}`);
        if (Number.isNaN(v)) cells.push('n/a', '', '');
        else cells.push(v.toFixed(0), Number.isNaN(redis) ? 'n/a' : `${(v / redis).toFixed(2)}×`, Number.isNaN(one) ? 'n/a' : `${(v / one).toFixed(2)}×`);
      }
      say(`| ${cells.join(' | ')} |`);
    }
  }

  say('\n## CPU µs per request, per process (per request its group served)\n');
  say('The busiest process of a group bounds it when every process has a core of its own: 1e6 / its µs per request is what one group could serve, G × that the cluster (requests spread evenly over the slots).\n');
  say('| test | P | target | group | share of requests | process | CPU µs / request | group alone, own cores (req/s) |');
  say('|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    for (const x of targets) {
      const r = row.res.get(x.name);
      x.groups.forEach((gr, gi) => {
        const us = gr.procs.map((_, k) => median(r.us[gi][k]));
        const busiest = Math.max(...us);
        gr.procs.forEach((p, k) => {
          const first = k === 0;
          say(`| ${row.t} | ${row.P} | ${x.name} | ${gi} | ${first ? (median(r.share[gi]) * 100).toFixed(0) + ' %' : ''} | ${p.role} | ${us[k].toFixed(2)} | ${first ? perSecond(busiest) : ''} |`);
        });
      });
    }
  }

  say('\n## Projected on machines of their own (a core per process)\n');
  say('| test | P | target | groups | per group (req/s, slowest group) | cluster (req/s) | measured here (req/s) |');
  say('|---|---|---|---|---|---|---|');
  for (const row of rows) {
    for (const x of targets) {
      const r = row.res.get(x.name);
      let slowest = Infinity;
      x.groups.forEach((gr, gi) => {
        const busiest = Math.max(...gr.procs.map((_, k) => median(r.us[gi][k])));
        slowest = Math.min(slowest, 1e6 / busiest);
      });
      const known = Number.isFinite(slowest);
      say(`| ${row.t} | ${row.P} | ${x.name} | ${x.g} | ${known ? slowest.toFixed(0) : 'n/a'} | ${known ? (slowest * x.g).toFixed(0) : 'n/a'} | ${median(r.rps).toFixed(0)} |`);
    }
  }
} finally {
  for (const x of targets) await x.stop().catch(() => {});
}
const text = lines.join('\n') + '\n';
console.log(`\nwritten to ${writeResult(OUT, text)}`);
