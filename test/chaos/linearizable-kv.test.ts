/**
 * Chaos test: concurrent clients do SET/GET/APPEND on a few keys of a
 * 3-node cluster while a nemesis kills (-9) and restarts nodes and pauses
 * them (SIGSTOP) past the election timeout, one at a time. The recorded
 * history must be linearizable (test/helpers/linearizability.ts).
 *
 * Each client sends every request to the node it believes leads, follows
 * MOVED, retries after CLUSTERDOWN/TRYAGAIN (the write was not applied), and
 * records a timeout, a reset connection or `-ERR outcome unknown` as an
 * operation of unknown outcome, never resent (see ./client.ts).
 *
 * Reproduce a run with CHAOS_SEED=<seed> (printed at the start and in any
 * failure): the fault schedule (kinds, delays, durations, whether to aim at
 * the leader) follows the seed; which node leads, how many faults fit in the
 * fault phase and the interleaving of requests depend on timing. CHAOS_MS
 * sets the length of the fault phase. CHAOS_READ_MODE=lease runs the nodes
 * with --read-mode lease (reads from the leader's lease: SIGSTOPs of the
 * leader are what it must survive).
 * On failure the whole history, nemesis events and node logs are written
 * to a JSON file in the temp directory (path in the message); CHAOS_DUMP=1
 * writes it for a passing run too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { checkHistory } from '../helpers/linearizability.js';
import { ChaosClient } from './client.js';
import { duplicateAppends, firstViolation, formatOp, type RecordedOp } from './history.js';
import { Nemesis, prng } from './nemesis.js';

const SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const CHAOS_MS = Number(process.env.CHAOS_MS ?? 25_000);
const READ_MODE = process.env.CHAOS_READ_MODE ?? 'readindex';
if (READ_MODE !== 'readindex' && READ_MODE !== 'lease') throw new Error(`CHAOS_READ_MODE must be readindex or lease, got ${READ_MODE}`);
const SETTLE_MS = 4_000; // clients keep going after the cluster is healed
const CLIENTS = 8;
const KEYS = ['k0', 'k1', 'k2', 'k3'];
const TEST_TIMEOUT_MS = CHAOS_MS + 75_000;

/** Minimums that make a run meaningful (a run far below them tested nothing). */
const MIN_ACKED_WRITES = 200;
const MIN_ACKED_READS = 100;
const MIN_FAULTS = 3;
/** Search steps per key: passing runs need far fewer (~10k); a failing one may need ~10^5. */
const CHECK_BUDGET = 500_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let cluster: TestCluster | undefined;
let stopped = false;
const clients: ChaosClient[] = [];

beforeAll(async () => {
  // Small snapshot thresholds: nodes that were down or paused often need a
  // snapshot to catch up, so InstallSnapshot runs under faults too.
  cluster = await TestCluster.start({ size: 3, stablePorts: true, args: ['--snapshot-entries', '300', '--snapshot-keep-entries', '50', '--read-mode', READ_MODE] });
});

afterAll(async () => {
  stopped = true;
  for (const c of clients) c.close();
  // kill9 sends SIGCONT first, so paused nodes die too.
  await cluster?.destroy();
});

describe('chaos: linearizable SET/GET/APPEND under kill -9 and SIGSTOP', () => {
  it(
    `stays linearizable (seed ${SEED}, read mode ${READ_MODE})`,
    async () => {
      const c = cluster!;
      console.log(`chaos seed ${SEED} (CHAOS_SEED=${SEED} to reproduce the fault schedule), fault phase ${CHAOS_MS} ms, read mode ${READ_MODE}`);
      const t0 = performance.now();
      const wall0 = Date.now();
      const history: RecordedOp[] = [];
      const anomalies: string[] = [];
      const addrs = c.nodes.map((n) => ({ id: n.id, host: n.host, port: n.port }));
      let stopClients = false;

      const clientLoop = async (id: number): Promise<void> => {
        const rng = prng(SEED * 31 + id);
        // Half the clients give up on a silent node before a paused one resumes (unknown outcomes, moving
        // on to the new leader); the other half outwait the pause, so a deposed leader that resumes finds
        // requests waiting for it.
        const attemptTimeoutMs = id % 2 === 1 ? 1500 : 3500;
        const client = new ChaosClient(addrs, { attemptTimeoutMs, requestDeadlineMs: 6000, retryDelayMs: 50, stopped: () => stopClients || stopped }, id);
        clients.push(client);
        let n = 0;
        while (!stopClients && !stopped) {
          const key = KEYS[Math.floor(rng() * KEYS.length)]!;
          const r = rng();
          const kind = r < 0.4 ? 'get' : r < 0.7 ? 'set' : 'append';
          const arg = kind === 'get' ? undefined : kind === 'set' ? `c${id}-${++n}` : `+c${id}-${++n}`;
          const args = kind === 'get' ? ['GET', key] : kind === 'set' ? ['SET', key, arg!] : ['APPEND', key, arg!];
          const invoke = performance.now();
          const out = await client.request(args);
          const complete = performance.now();
          const op: RecordedOp = { client: id, kind, key, arg, invoke, complete };
          if (out.kind === 'failed') {
            // Certainly not applied (or, for a read, observed nothing): not part of the history.
          } else if (out.kind === 'unknown') {
            if (kind !== 'get') history.push({ ...op, complete: undefined, reason: out.reason, node: out.node });
          } else {
            op.node = out.node;
            const reply = out.reply;
            let ok = true;
            if (kind === 'set') ok = reply === '+OK\r\n';
            else if (kind === 'get') {
              if (reply === '$-1\r\n') op.result = null;
              else if (/^\$\d+\r\n/.test(reply)) op.result = reply.slice(reply.indexOf('\r\n') + 2, -2);
              else ok = false;
            } else if (/^:\d+\r\n$/.test(reply)) op.result = Number(reply.slice(1, -2));
            else ok = false;
            if (ok) history.push(op);
            else {
              // Reported as a failure below; a write answered strangely may still have happened.
              anomalies.push(`${args.join(' ')} answered ${JSON.stringify(reply)} by node ${out.node}`);
              if (kind !== 'get') history.push({ ...op, result: undefined, complete: undefined, reason: 'unexpected reply', node: out.node });
            }
          }
          await sleep(5 + rng() * 30);
        }
        client.close();
      };

      const nemesis = new Nemesis(c, {
        rng: prng(SEED),
        until: t0 + CHAOS_MS,
        maxFaults: 10,
        gapMs: [1500, 3000],
        downMs: [1000, 3000],
        pauseMs: [1000, 2600],
        leaderBias: 0.7,
        killRatio: 0.5,
        opening: ['kill', 'pause'],
        stopped: () => stopped,
      });

      const running = Array.from({ length: CLIENTS }, (_, i) => clientLoop(i + 1));
      await nemesis.observeLeader();
      await nemesis.run();
      await nemesis.heal();
      const healedAt = performance.now();
      nemesis.report.events.push({ t: healedAt, what: 'healed' });
      // Liveness after healing is reported, but the history is checked either way.
      let stuck: string | undefined;
      await c.waitForLeader().catch((e: unknown) => {
        stuck = (e as Error).message;
      });
      await nemesis.observeLeader();
      await sleep(SETTLE_MS);
      stopClients = true;
      await Promise.all(running);
      const duration = performance.now() - t0;

      // Figures of the run.
      const nr = nemesis.report;
      const acked = history.filter((o) => o.complete !== undefined);
      const ackedWrites = acked.filter((o) => o.kind !== 'get').length;
      const ackedReads = acked.filter((o) => o.kind === 'get').length;
      const unknown = history.length - acked.length;
      const ackedAfterHeal = acked.filter((o) => o.invoke >= healedAt).length;
      const servedBy = [...new Set(acked.filter((o) => o.kind !== 'get').map((o) => o.node!))];
      const leadersSeen = new Set([...servedBy, ...nr.leaders]);
      const stats = clients.reduce<Record<string, number>>((s, cl) => {
        for (const [k, v] of Object.entries(cl.stats)) s[k] = (s[k] ?? 0) + v;
        return s;
      }, {});
      const checkStart = performance.now();
      const result = checkHistory(history, CHECK_BUDGET);
      const checkMs = performance.now() - checkStart;
      const installs = c.nodes.reduce((n, x) => n + (c.logs(x.id).match(/installed the leader's snapshot/g)?.length ?? 0), 0);
      const summary =
        `seed ${SEED}: ${history.length} ops (${ackedWrites} acked writes, ${ackedReads} acked reads, ${unknown} unknown writes; ${ackedAfterHeal} acked after heal) ` +
        `in ${(duration / 1000).toFixed(1)} s; faults: ${nr.kills} kill -9, ${nr.pauses} SIGSTOP (${nr.leaderFaults} aimed at the leader), ${nr.crashes.length} crashes; ` +
        `leaders seen by the nemesis: ${nr.leaders.join(' -> ')}; writes acked by nodes ${servedBy.join(',')}; ` +
        `client attempts ${JSON.stringify(stats)}; snapshots installed from a leader: ${installs}; check ${checkMs.toFixed(0)} ms: ${result.ok ? 'linearizable' : `bad keys [${result.badKeys.join(',')}], undecided [${result.undecided.join(',')}]`}`;
      console.log(summary);
      for (const e of nr.events) console.log(`  ${((e.t - t0) / 1000).toFixed(2).padStart(6)} s  ${e.what}`);

      const wallOf = (t: number): number => wall0 + (t - t0);
      const iso = (t: number): string => new Date(wallOf(t)).toISOString();
      let dumpFile = '';
      if (!result.ok || nr.crashes.length > 0 || stuck !== undefined || anomalies.length > 0 || process.env.CHAOS_DUMP) {
        dumpFile = path.join(os.tmpdir(), `raftis-chaos-${SEED}-${Date.now()}.json`);
        const dump = {
          seed: SEED,
          t0,
          wall0,
          summary,
          result,
          anomalies,
          stuck,
          crashes: nr.crashes,
          nemesis: nr.events.map((e) => ({ ...e, at: iso(e.t) })),
          history,
          logs: Object.fromEntries(c.nodes.map((n) => [n.id, c.logs(n.id)])),
        };
        fs.writeFileSync(dumpFile, JSON.stringify(dump));
        console.log(`history, nemesis events and node logs written to ${dumpFile}`);
      }

      expect(anomalies, `unexpected replies (${summary})`).toEqual([]);

      if (!result.ok) {
        const lines: string[] = [summary, `full history, nemesis events and node logs: ${dumpFile}`];
        for (const x of nr.crashes) lines.push('', `node ${x.id} died by itself at ${(x.t - t0).toFixed(0)} ms (${x.exit}); its last log lines:`, ...x.logTail.split('\n').slice(-15).map((l) => '  ' + l));
        const dups = duplicateAppends(history, t0);
        if (dups.length > 0) lines.push('', 'appends applied twice (each suffix is sent once):', ...dups.map((d) => '  ' + d));
        const locateUntil = performance.now() + 20_000;
        for (const k of [...result.badKeys, ...result.undecided]) {
          const ops = history.filter((o) => o.key === k).sort((a, b) => a.invoke - b.invoke);
          const bad = result.badKeys.includes(k);
          const { at, exact } = bad ? firstViolation(ops, Math.max(0, locateUntil - performance.now()), CHECK_BUDGET) : { at: undefined, exact: false };
          lines.push(
            '',
            `key ${k}: ${bad ? 'NOT linearizable' : 'undecided (search budget exhausted)'}; ${ops.length} ops` +
              (at !== undefined ? `; ${exact ? 'first violation' : 'a violation (bisection cut short)'} by t=${(at - t0).toFixed(1)} ms (${iso(at)})` : ''),
            '  ops around it, by invocation time (ms since start; unknown outcomes included):',
          );
          const end = at ?? ops[ops.length - 1]!.invoke;
          const window = ops.filter((o) => o.invoke <= end && (o.complete === undefined ? o.invoke >= end - 3000 : o.complete >= end - 1500));
          for (const o of window.slice(-150)) lines.push('  ' + formatOp(o, t0));
          if (at !== undefined) {
            lines.push('  nemesis around it:');
            for (const e of nr.events.filter((e) => Math.abs(e.t - at) < 5000)) lines.push(`    ${(e.t - t0).toFixed(1)} ${e.what}`);
            lines.push('  node logs around it (election chatter left out):');
            const logLines: string[] = [];
            for (const n of c.nodes) {
              for (const l of c.logs(n.id).split('\n')) {
                const ts = Date.parse(l.slice(0, 24));
                if (Number.isFinite(ts) && Math.abs(ts - wallOf(at)) < 2500 && !/PreVote request|VoteResp|Vote request/.test(l)) logLines.push(`    [node ${n.id}] ${l}`);
              }
            }
            lines.push(...logLines.slice(0, 200));
          }
        }
        expect.fail(lines.join('\n'));
      }

      expect(
        nr.crashes.map((x) => `node ${x.id} died by itself at ${(x.t - t0).toFixed(0)} ms (${x.exit}); its last log lines:\n${x.logTail}`),
        `nodes crashed (${summary})`,
      ).toEqual([]);
      expect(stuck, `no leader after healing (${summary})`).toBeUndefined();

      // The run tested something.
      expect(ackedWrites, summary).toBeGreaterThanOrEqual(MIN_ACKED_WRITES);
      expect(ackedReads, summary).toBeGreaterThanOrEqual(MIN_ACKED_READS);
      expect(nr.kills + nr.pauses, summary).toBeGreaterThanOrEqual(MIN_FAULTS);
      expect(nr.kills, summary).toBeGreaterThanOrEqual(1);
      expect(nr.pauses, summary).toBeGreaterThanOrEqual(1);
      expect(leadersSeen.size, `a single leader all along: no leader change (${summary})`).toBeGreaterThanOrEqual(2);
      expect(ackedAfterHeal, `no operation succeeded after the cluster was healed (${summary})`).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );
});
