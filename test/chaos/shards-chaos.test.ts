/**
 * Chaos test across groups (issue 21): two groups of three nodes; clients do
 * SET/GET/APPEND on keys of slots that move back and forth between the
 * groups and of slots that stay, while a mover keeps moving two slot ranges
 * (RAFT.SHARDS MOVE to group 0's leader: one range starts in group 0, the
 * other in group 1, so each group is a source in turn) and a nemesis per
 * group kills (-9) and restarts, pauses (SIGSTOP) and cuts off (a proxy
 * between the nodes' peer ports, ./peer-proxy.ts) one member at a time —
 * aiming at group 0's leader (the move's driver) and the source group's
 * leader while a move runs.
 *
 * Clients (./shard-client.ts) follow MOVED and ASK (ASKING), retry after
 * TRYAGAIN and CLUSTERDOWN, and record a timeout, a reset or any other error
 * as an operation of unknown outcome, never resent. Afterwards: the history
 * is linearizable per key (test/helpers/linearizability.ts, as the
 * single-group chaos test); every move ended (resumed after healing if it was
 * cut short) with no slot still moving; every key is in exactly one group,
 * the one owning its slot in the map (KEYS, COUNTKEYSINSLOT on both groups);
 * each group's replicas have one RAFT.DIGEST.
 *
 * CHAOS_SEED=<seed> reproduces the fault schedule and the clients' choices;
 * which node leads and how requests interleave depend on timing. CHAOS_MS
 * sets the fault phase. On failure the history, events and node logs go to
 * a JSON file in the temp directory (CHAOS_DUMP=1: for a passing run too).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHashSlot } from '../../src/commands/routing.js';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import { checkHistory } from '../helpers/linearizability.js';
import { until } from '../helpers/poll.js';
import { ShardedCluster } from '../helpers/sharded-cluster.js';
import { duplicateAppends, firstViolation, formatOp, type RecordedOp } from './history.js';
import { prng } from './nemesis.js';
import { PeerProxies } from './peer-proxy.js';
import { ShardChaosClient, type ShardNodeAddr } from './shard-client.js';
import { ShardNemesis, observeLeader, type ShardEvent } from './shard-nemesis.js';

const SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const CHAOS_MS = Number(process.env.CHAOS_MS ?? 22_000);
const SETTLE_MS = 3_000;
const CLIENTS = 8;
/** The ranges the mover moves back and forth: the first starts in group 0 (0-8191), the second in group 1. */
const RANGES: [number, number][] = [
  [1000, 1149],
  [9000, 9149],
];
const KEYS_PER_RANGE = 6;
/** Keys written once before the clients start, in each moving range: every move ships them (several batches), so faults land mid-move. */
const FILLERS_PER_RANGE = 200;
const STATIC_KEYS_PER_GROUP = 2;
const TEST_TIMEOUT_MS = CHAOS_MS + 150_000;
const MIN_ACKED_WRITES = 150;
const MIN_ACKED_READS = 80;
const CHECK_BUDGET = 500_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Key names: KEYS_PER_RANGE in each moving range, STATIC_KEYS_PER_GROUP in each group's slots outside them. */
function pickKeys(): { moving: string[]; fixed: string[] } {
  const moving: string[] = [];
  const fixed: string[] = [];
  const perRange = RANGES.map(() => 0);
  const perGroup = [0, 0];
  for (let i = 0; i < 1_000_000 && (moving.length < RANGES.length * KEYS_PER_RANGE || fixed.length < 2 * STATIC_KEYS_PER_GROUP); i++) {
    const k = `k${i}`;
    const s = keyHashSlot(k);
    const r = RANGES.findIndex(([a, b]) => s >= a && s <= b);
    if (r >= 0) {
      if (perRange[r]! < KEYS_PER_RANGE) {
        perRange[r]!++;
        moving.push(k);
      }
    } else {
      const g = s < 8192 ? 0 : 1;
      if (perGroup[g]! < STATIC_KEYS_PER_GROUP) {
        perGroup[g]!++;
        fixed.push(k);
      }
    }
  }
  return { moving, fixed };
}

let sc: ShardedCluster | undefined;
const proxies = new PeerProxies();
let stopped = false;
const clients: ShardChaosClient[] = [];

beforeAll(async () => {
  // Snapshots every 1000 entries: restarted nodes load one, lagging ones are sent one, with the shards section.
  sc = await ShardedCluster.start({
    shards: 2,
    size: 3,
    args: ['--snapshot-entries', '1000', '--snapshot-keep-entries', '100'],
    peerPort: (g, _self, peer) => proxies.portFor(g, peer.id, peer.clusterPort),
    // Killed nodes restart on their ports: keep those out of the range outgoing connections draw from.
    stablePorts: true,
  });
}, 120_000);

afterAll(async () => {
  stopped = true;
  for (const c of clients) c.close();
  await sc?.destroy();
  await proxies.close();
});

/** One request with a bound on a fresh connection: the raw reply, or undefined when none came. */
async function ask(n: { host: string; port: number }, argv: string[], timeoutMs: number): Promise<string | undefined> {
  let c: RawClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    c = await Promise.race([RawClient.connect(n.port, n.host), new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('connect timeout')), timeoutMs)))]);
    clearTimeout(timer);
    return await Promise.race([c.call(...argv), new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('timeout')), timeoutMs)))]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    c?.close();
  }
}

const bulk = (reply: string): string => reply.slice(reply.indexOf('\r\n') + 2, -2);

describe('chaos across groups: linearizable per key while slots move and nodes die, stop and are cut off', () => {
  it(
    `stays linearizable with every key in one group (seed ${SEED})`,
    async () => {
      const cl = sc!;
      cl.dumpLogsOnFailure(2000);
      console.log(`shards chaos seed ${SEED} (CHAOS_SEED=${SEED} to reproduce the schedule), fault phase ${CHAOS_MS} ms`);
      const t0 = performance.now();
      const wall0 = Date.now();
      const events: ShardEvent[] = [];
      const log = (what: string): void => {
        events.push({ t: performance.now(), what });
      };
      const history: RecordedOp[] = [];
      const anomalies: string[] = [];
      const { moving: movingKeys, fixed: fixedKeys } = pickKeys();
      const allKeys = [...movingKeys, ...fixedKeys];
      const addrs: ShardNodeAddr[] = cl.nodes.map((n) => ({ id: n.group * 10 + n.id, group: n.group, host: n.host, port: n.port }));
      let stopClients = false;

      // ---- Fillers: written once, never touched again; afterwards each must be in exactly one group, with its value.
      const fillers = new Map<string, string>();
      for (let r = 0; r < RANGES.length; r++) {
        const [a, b] = RANGES[r]!;
        const batch: string[] = [];
        for (let i = 0; batch.length < FILLERS_PER_RANGE && i < 1_000_000; i++) {
          const s = keyHashSlot(`f${r}:${i}`);
          if (s >= a && s <= b) batch.push(`f${r}:${i}`);
        }
        const l = await cl.leader(a < 8192 ? 0 : 1);
        const conn = await RawClient.connect(l.port, l.host);
        try {
          const replies = batch.map(() => conn.next());
          conn.sock.write(Buffer.from(batch.map((k) => encodeCommand(['SET', k, `${k}=${'x'.repeat(100)}`])).join(''), 'latin1'));
          expect(new Set(await Promise.all(replies))).toEqual(new Set(['+OK\r\n']));
        } finally {
          conn.close();
        }
        for (const k of batch) fillers.set(k, `${k}=${'x'.repeat(100)}`);
      }

      // ---- Group 0's leader, the map, and the mover.
      const leaderOf = async (g: number): Promise<{ host: string; port: number } | undefined> => {
        const grp = cl.groups[g]!;
        const id = await observeLeader(grp, grp.nodes.filter((n) => grp.isRunning(n.id)).map((n) => n.id));
        return id === undefined ? undefined : grp.node(id);
      };
      const mapNow = async (): Promise<{ owner: (s: number) => number; moving: [number, number, number][]; epoch: number } | undefined> => {
        const l = await leaderOf(0);
        if (l === undefined) return undefined;
        const r = await ask(l, ['RAFT.SHARDS', 'MAP'], 1500);
        if (r === undefined || !r.startsWith('$')) return undefined;
        const m = JSON.parse(bulk(r)) as { epoch: number; slots: [number, number, number][]; moving?: [number, number, number][] };
        return {
          epoch: m.epoch,
          moving: m.moving ?? [],
          owner: (s) => m.slots.find(([a, b]) => s >= a && s <= b)?.[2] ?? -1,
        };
      };
      let current: { from: number; to: number; range: [number, number] } | undefined;
      const moves = { started: 0, finished: 0, answers: [] as string[] };
      const moveUntil = t0 + CHAOS_MS;
      const mover = (async () => {
        const rng = prng(SEED * 7 + 3);
        for (let i = 0; performance.now() < moveUntil && !stopped && i < 1000; i++) {
          const range = RANGES[i % RANGES.length]!;
          const m = await mapNow();
          if (m === undefined) {
            await sleep(200);
            continue;
          }
          const from = m.owner(range[0]);
          const to = 1 - from;
          current = { from, to, range };
          moves.started++;
          log(`mover: MOVE ${range[0]}-${range[1]} from group ${from} to group ${to}`);
          // MOVE answers once the slots are the target's; a lost connection or a leader change leaves the
          // move to group 0's next leader, so the mover then watches the map until it ends.
          const endBy = performance.now() + 40_000;
          let answer: string | undefined;
          while (performance.now() < endBy && !stopped) {
            const l = await leaderOf(0);
            if (l !== undefined) {
              answer = await ask(l, ['RAFT.SHARDS', 'MOVE', String(to), `${range[0]}-${range[1]}`], 15_000);
              if (answer !== undefined) moves.answers.push(answer.trim());
              if (answer === '+OK\r\n') break;
            }
            const now = await mapNow();
            if (now !== undefined && now.owner(range[0]) === to && now.owner(range[1]) === to && now.moving.length === 0) break;
            await sleep(300);
          }
          const after = await mapNow();
          if (after !== undefined && after.owner(range[0]) === to && after.moving.length === 0) {
            moves.finished++;
            log(`mover: ${range[0]}-${range[1]} is group ${to}'s (${answer === undefined ? 'no answer' : answer.trim()})`);
          } else log(`mover: ${range[0]}-${range[1]} not yet group ${to}'s (${answer === undefined ? 'no answer' : answer.trim()})`);
          current = undefined;
          await sleep(200 + rng() * 800);
        }
      })();

      // ---- Clients.
      const clientLoop = async (id: number): Promise<void> => {
        const rng = prng(SEED * 31 + id);
        const attemptTimeoutMs = id % 2 === 1 ? 1500 : 3500;
        const client = new ShardChaosClient(addrs, (s) => (s < 8192 ? 0 : 1), { attemptTimeoutMs, requestDeadlineMs: 8000, retryDelayMs: 50, stopped: () => stopClients || stopped }, id);
        clients.push(client);
        let n = 0;
        while (!stopClients && !stopped) {
          const key = rng() < 0.75 ? movingKeys[Math.floor(rng() * movingKeys.length)]! : fixedKeys[Math.floor(rng() * fixedKeys.length)]!;
          const r = rng();
          const kind = r < 0.4 ? 'get' : r < 0.7 ? 'set' : 'append';
          const arg = kind === 'get' ? undefined : kind === 'set' ? `c${id}-${++n}` : `+c${id}-${++n}`;
          const args = kind === 'get' ? ['GET', key] : kind === 'set' ? ['SET', key, arg!] : ['APPEND', key, arg!];
          const invoke = performance.now();
          const out = await client.request(args);
          const complete = performance.now();
          const op: RecordedOp = { client: id, kind, key, arg, invoke, complete };
          if (out.kind === 'unknown') {
            if (kind !== 'get') history.push({ ...op, complete: undefined, reason: out.reason, node: out.node });
          } else if (out.kind === 'ok') {
            op.node = out.node;
            const reply = out.reply;
            let ok = true;
            if (kind === 'set') ok = reply === '+OK\r\n';
            else if (kind === 'get') {
              if (reply === '$-1\r\n') op.result = null;
              else if (/^\$\d+\r\n/.test(reply)) op.result = bulk(reply);
              else ok = false;
            } else if (/^:\d+\r\n$/.test(reply)) op.result = Number(reply.slice(1, -2));
            else ok = false;
            if (ok) history.push(op);
            else {
              anomalies.push(`${args.join(' ')} answered ${JSON.stringify(reply)} by node ${out.node}`);
              if (kind !== 'get') history.push({ ...op, result: undefined, complete: undefined, reason: 'unexpected reply', node: out.node });
            }
          }
          await sleep(5 + rng() * 30);
        }
        client.close();
      };

      // ---- Nemeses, one per group.
      const nemeses = cl.groups.map(
        (grp, g) =>
          new ShardNemesis(grp, g, proxies, {
            rng: prng(SEED + 1000 * (g + 1)),
            until: t0 + CHAOS_MS,
            maxFaults: 12,
            gapMs: [1200, 2800],
            downMs: [1000, 3000],
            pauseMs: [1000, 2600],
            cutMs: [1500, 3500],
            leaderBias: 0.6,
            opening: g === 0 ? ['kill', 'cut', 'pause'] : ['pause', 'kill', 'cut'],
            killRatio: 0.35,
            pauseRatio: 0.3,
            waitForMove: 0.5,
            moving: () => current,
            stopped: () => stopped,
            log,
          }),
      );

      const running = Array.from({ length: CLIENTS }, (_, i) => clientLoop(i + 1));
      await Promise.all(nemeses.map((n) => n.run()));
      for (const n of nemeses) await n.heal();
      const healedAt = performance.now();
      log('healed');
      await mover;
      // Every move ends, resumed by group 0's leader if it was cut short.
      let stuck: string | undefined;
      try {
        await until(
          'no slot moving and both groups with a leader',
          async () => {
            const m = await mapNow();
            return m !== undefined && m.moving.length === 0 && (await leaderOf(1)) !== undefined;
          },
          60_000,
          200,
        );
        await cl.waitConverged(30_000);
      } catch (e) {
        stuck = (e as Error).message;
      }
      log(stuck === undefined ? 'every move ended; the groups converged' : `stuck: ${stuck}`);
      await sleep(SETTLE_MS);
      stopClients = true;
      await Promise.all(running);
      const duration = performance.now() - t0;

      // ---- Figures of the run.
      const acked = history.filter((o) => o.complete !== undefined);
      const ackedWrites = acked.filter((o) => o.kind !== 'get').length;
      const ackedReads = acked.filter((o) => o.kind === 'get').length;
      const unknown = history.length - acked.length;
      const ackedAfterHeal = acked.filter((o) => o.invoke >= healedAt).length;
      // Moving keys written through both groups: the moves really carried them back and forth.
      const movingServedBy = new Set(acked.filter((o) => movingKeys.includes(o.key)).map((o) => Math.floor(o.node! / 10)));
      const reps = nemeses.map((n) => n.report);
      const sum = (f: (r: (typeof reps)[number]) => number): number => reps.reduce((a, r) => a + f(r), 0);
      const stats = clients.reduce<Record<string, number>>((s, c) => {
        for (const [k, v] of Object.entries(c.stats)) s[k] = (s[k] ?? 0) + v;
        return s;
      }, {});
      const checkStart = performance.now();
      const result = checkHistory(history, CHECK_BUDGET);
      const checkMs = performance.now() - checkStart;
      const installs = cl.nodes.reduce((n, x) => n + (x.log.match(/installed the leader's snapshot/g)?.length ?? 0), 0);
      const summary =
        `seed ${SEED}: ${history.length} ops on ${allKeys.length} keys, ${fillers.size} fillers (${ackedWrites} acked writes, ${ackedReads} acked reads, ${unknown} unknown writes; ${ackedAfterHeal} acked after heal) ` +
        `in ${(duration / 1000).toFixed(1)} s; moves: ${moves.started} started, ${moves.finished} seen finished; moving keys served by groups ${[...movingServedBy].join(',')}; ` +
        `faults: ${sum((r) => r.kills)} kill -9, ${sum((r) => r.pauses)} SIGSTOP, ${sum((r) => r.cuts)} cuts (${sum((r) => r.leaderFaults)} on a leader, ${sum((r) => r.leaderFaultsMidMove)} on a source's or group 0's leader mid-move), ${sum((r) => r.crashes.length)} crashes; ` +
        `leaders: ${reps.map((r, g) => `g${g} ${r.leaders.join('->')}`).join(', ')}; proxy ${JSON.stringify(proxies.stats)}; client attempts ${JSON.stringify(stats)}; ` +
        `snapshots installed from a leader: ${installs}; check ${checkMs.toFixed(0)} ms: ${result.ok ? 'linearizable' : `bad keys [${result.badKeys.join(',')}], undecided [${result.undecided.join(',')}]`}`;
      console.log(summary);
      for (const e of events) console.log(`  ${((e.t - t0) / 1000).toFixed(2).padStart(6)} s  ${e.what}`);

      const iso = (t: number): string => new Date(wall0 + (t - t0)).toISOString();
      const crashes = reps.flatMap((r, g) => r.crashes.map((x) => ({ ...x, group: g })));
      let dumpFile = '';
      if (!result.ok || crashes.length > 0 || stuck !== undefined || anomalies.length > 0 || process.env.CHAOS_DUMP) {
        dumpFile = path.join(os.tmpdir(), `raftis-shards-chaos-${SEED}-${Date.now()}.json`);
        fs.writeFileSync(
          dumpFile,
          JSON.stringify({
            seed: SEED,
            t0,
            wall0,
            summary,
            result,
            anomalies,
            stuck,
            crashes,
            moveAnswers: moves.answers,
            events: events.map((e) => ({ ...e, at: iso(e.t) })),
            history,
            logs: Object.fromEntries(cl.nodes.map((n) => [`g${n.group}n${n.id}`, n.log])),
          }),
        );
        console.log(`history, events and node logs written to ${dumpFile}`);
      }

      expect(anomalies, `unexpected replies (${summary})`).toEqual([]);
      if (!result.ok) {
        const lines: string[] = [summary, `full history, events and node logs: ${dumpFile}`];
        const dups = duplicateAppends(history, t0);
        if (dups.length > 0) lines.push('', 'appends applied twice (each suffix is sent once):', ...dups.map((d) => '  ' + d));
        const locateUntil = performance.now() + 20_000;
        for (const k of [...result.badKeys, ...result.undecided]) {
          const ops = history.filter((o) => o.key === k).sort((a, b) => a.invoke - b.invoke);
          const bad = result.badKeys.includes(k);
          const { at, exact } = bad ? firstViolation(ops, Math.max(0, locateUntil - performance.now()), CHECK_BUDGET) : { at: undefined, exact: false };
          lines.push(
            '',
            `key ${k} (slot ${keyHashSlot(k)}): ${bad ? 'NOT linearizable' : 'undecided (search budget exhausted)'}; ${ops.length} ops` +
              (at !== undefined ? `; ${exact ? 'first violation' : 'a violation'} by t=${(at - t0).toFixed(1)} ms (${iso(at)})` : ''),
          );
          const end = at ?? ops[ops.length - 1]!.invoke;
          for (const o of ops.filter((o) => o.invoke <= end && (o.complete === undefined ? o.invoke >= end - 3000 : o.complete >= end - 1500)).slice(-80)) lines.push('  ' + formatOp(o, t0));
          if (at !== undefined) for (const e of events.filter((e) => Math.abs(e.t - at) < 5000)) lines.push(`    ${(e.t - t0).toFixed(1)} ${e.what}`);
        }
        expect.fail(lines.join('\n'));
      }
      expect(crashes.map((x) => `group ${x.group} node ${x.id} died by itself (${x.exit}):\n${x.logTail}`), `nodes crashed (${summary})`).toEqual([]);
      expect(stuck, `after healing (${summary})`).toBeUndefined();

      // ---- Where the keys are: each in exactly one group, the one owning its slot; nothing left in a slot's old group.
      let found: Awaited<ReturnType<typeof mapNow>>;
      await until('the slot map from group 0', async () => (found = await mapNow()) !== undefined, 15_000, 200);
      const map = found!;
      expect(map.moving, 'slots still moving').toEqual([]);
      const leaders = await Promise.all([0, 1].map((g) => cl.leader(g)));
      const holders = new Map<string, number[]>();
      for (let g = 0; g < 2; g++) {
        const keys = (await cl.call(leaders[g]!, 'KEYS', '*')) as string[];
        for (const k of keys) holders.set(k, [...(holders.get(k) ?? []), g]);
      }
      // Every filler once, with its value, in the group that owns its slot (the checks above and below).
      expect([...fillers.keys()].filter((k) => !holders.has(k)), 'fillers lost').toEqual([]);
      for (const g of [0, 1]) {
        const mineF = [...fillers.keys()].filter((k) => holders.get(k)?.[0] === g);
        const conn = await RawClient.connect(leaders[g]!.port, leaders[g]!.host);
        try {
          const replies = mineF.map(() => conn.next());
          conn.sock.write(Buffer.from(mineF.map((k) => encodeCommand(['GET', k])).join(''), 'latin1'));
          const got = await Promise.all(replies);
          const bad = mineF.filter((k, i) => got[i] !== `$${fillers.get(k)!.length}\r\n${fillers.get(k)!}\r\n`);
          expect(bad, `fillers with another value in group ${g}`).toEqual([]);
        } finally {
          conn.close();
        }
      }
      for (const [k, gs] of holders) expect(gs, `key ${k} (slot ${keyHashSlot(k)}) is in groups ${gs.join(',')}; its slot is group ${map.owner(keyHashSlot(k))}'s`).toEqual([map.owner(keyHashSlot(k))]);
      // COUNTKEYSINSLOT on both groups, for every slot of the moving ranges and of the clients' keys: the owner holds
      // exactly the keys KEYS found for the slot, the other group none.
      const slots = [...new Set([...allKeys.map((k) => keyHashSlot(k)), ...RANGES.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i))])];
      const counts: number[][] = [];
      for (const g of [0, 1]) {
        const conn = await RawClient.connect(leaders[g]!.port, leaders[g]!.host);
        try {
          const replies = slots.map(() => conn.next());
          conn.sock.write(Buffer.from(slots.map((x) => encodeCommand(['CLUSTER', 'COUNTKEYSINSLOT', String(x)])).join(''), 'latin1'));
          counts.push((await Promise.all(replies)).map((r) => Number(r.slice(1, -2))));
        } finally {
          conn.close();
        }
      }
      const perSlot = new Map<number, number>();
      for (const k of holders.keys()) perSlot.set(keyHashSlot(k), (perSlot.get(keyHashSlot(k)) ?? 0) + 1);
      slots.forEach((x, i) => {
        const owner = map.owner(x);
        expect(owner === 0 || owner === 1, `slot ${x} has no owner`).toBe(true);
        expect(counts[1 - owner]![i], `slot ${x} is group ${owner}'s; group ${1 - owner} still holds keys of it`).toBe(0);
        expect(counts[owner]![i], `slot ${x}: group ${owner}'s COUNTKEYSINSLOT against its KEYS`).toBe(perSlot.get(x) ?? 0);
      });
      // Each group's replicas have one state.
      for (let g = 0; g < 2; g++) {
        const grp = cl.groups[g]!;
        await until(
          `group ${g}'s replicas to have one RAFT.DIGEST`,
          async () => {
            const ds = await Promise.all(grp.nodes.map((n) => ask(n, ['RAFT.DIGEST'], 2000)));
            return ds.every((d) => d !== undefined && !d.startsWith('-')) && new Set(ds).size === 1;
          },
          30_000,
          200,
        );
      }

      // ---- The run tested something.
      expect(ackedWrites, summary).toBeGreaterThanOrEqual(MIN_ACKED_WRITES);
      expect(ackedReads, summary).toBeGreaterThanOrEqual(MIN_ACKED_READS);
      expect(moves.finished, `fewer than two moves finished (${summary})`).toBeGreaterThanOrEqual(2);
      expect([...movingServedBy].sort(), `moving keys were not served by both groups (${summary})`).toEqual([0, 1]);
      for (const kind of ['kills', 'pauses', 'cuts'] as const) expect(sum((r) => r[kind]), `no ${kind} (${summary})`).toBeGreaterThanOrEqual(1);
      expect(sum((r) => r.leaderFaultsMidMove), `no fault hit a leader during a move (${summary})`).toBeGreaterThanOrEqual(1);
      expect(ackedAfterHeal, `nothing succeeded after healing (${summary})`).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );
});
