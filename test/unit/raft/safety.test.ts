/**
 * Randomized simulation: many seeds, each a few hundred random steps of
 * ticks, deliveries in any order, message loss and duplication, partitions
 * (symmetric, asymmetric, lossy, leader isolated), crashes at any point of
 * the Ready cycle and restarts, log compaction (so snapshots get sent),
 * membership changes (new learners, promotions, removals), proposals and
 * reads. After every step the safety properties are checked
 * (SafetyChecker); at the end the network heals and every node must converge
 * on the same state, which contains every entry ever acknowledged.
 *
 * A failure names its seed; rerun one with RAFT_SEED=<n>. RAFT_SEEDS=<count>
 * runs more seeds, RAFT_STATS=1 prints what the runs exercised.
 */
import { describe, expect, it } from 'vitest';
import { createPrng, randomInt } from '../../../src/util/prng.js';
import { type ConfChange, ConfChangeType } from '../../../src/raft/conf-change.js';
import { EMPTY_BUFFER, MessageType } from '../../../src/raft/messages.js';
import { Role } from '../../../src/raft/role.js';
import { Network, type SimNode } from '../../harness/network.js';

const SEED_COUNT = Number(process.env.RAFT_SEEDS ?? 300);
const SEEDS = process.env.RAFT_SEED !== undefined ? [Number(process.env.RAFT_SEED)] : Array.from({ length: SEED_COUNT }, (_, i) => i + 1);
const STEPS = 600;
const HEAL_ROUNDS = 400;

function pick<T>(rng: () => number, xs: readonly T[]): T | undefined {
  return xs.length === 0 ? undefined : xs[randomInt(rng, xs.length)];
}

function upIds(nt: Network): number[] {
  return nt.upNodes().map((n) => n.id);
}

let proposalSeq = 0;
let readSeq = 0;

/** The network changes shape: healed, leader isolated, split, one-way cut, or a lossy link. */
function reshape(nt: Network, rng: () => number): void {
  const ids = nt.ids();
  const r = rng();
  nt.recover();
  if (r < 0.25) return;
  if (r < 0.45) {
    nt.isolate(nt.leader()?.id ?? (pick(rng, ids) as number));
  } else if (r < 0.65) {
    const shuffled = [...ids].sort(() => rng() - 0.5);
    const cut = 1 + randomInt(rng, ids.length - 1);
    nt.partition(shuffled.slice(0, cut), shuffled.slice(cut));
  } else {
    const a = pick(rng, ids) as number;
    const b = pick(
      rng,
      ids.filter((i) => i !== a),
    ) as number;
    if (r < 0.85) {
      nt.drop(b, a, 1); // asymmetric: a hears nothing from b, b still hears a
    } else {
      nt.drop(a, b, 0.5);
      nt.drop(b, a, 0.5);
    }
  }
}

/**
 * One slice of virtual time: some clocks tick (independently, so they
 * drift), each message on the wire arrives with some probability (so they
 * overtake each other) or is lost, disks make progress on the Ready cycle,
 * clients write and read, and rarely a fault strikes.
 */
function step(nt: Network, rng: () => number, diskSpeed: (id: number) => number): void {
  for (const n of nt.upNodes()) if (rng() < 0.4) nt.tick(n.id);

  const wire = nt.pool;
  nt.pool = [];
  const keep = [];
  for (const m of wire) {
    const r = rng();
    if (r < 0.02) nt.lose(m);
    else if (r < 0.55) nt.deliver(m);
    else keep.push(m);
  }
  nt.pool = keep.concat(nt.pool);

  for (const n of nt.upNodes()) {
    if (n.outstanding !== undefined) {
      if (rng() < diskSpeed(n.id)) nt.finishReady(n.id);
      else if (rng() < 0.5) nt.workWhileWriting(n.id);
    } else if (rng() < 0.6) nt.beginReady(n.id);
    else if (rng() < 0.5) nt.sendAndAnswerNow(n.id);
  }

  if (rng() < 0.3) {
    const leader = nt.leader();
    const id = leader !== undefined && rng() < 0.9 ? leader.id : pick(rng, upIds(nt));
    if (id !== undefined) nt.propose(id, `p${++proposalSeq}`);
  }
  if (rng() < 0.05) {
    // Reads go to any node that thinks it leads (a deposed one too) or to a follower.
    const leaders = nt.leaders();
    const id = leaders.length > 0 && rng() < 0.7 ? pick(rng, leaders) : pick(rng, upIds(nt));
    if (id !== undefined) nt.readIndex(id, Buffer.from(`r${++readSeq}`));
  }

  const f = rng();
  if (f < 0.015) {
    // A crash, at whatever point of its Ready cycle, often mid-write.
    const writing = nt.upNodes().filter((n) => n.outstanding !== undefined);
    const id = rng() < 0.5 && writing.length > 0 ? pick(rng, writing)?.id : pick(rng, upIds(nt));
    if (id !== undefined) nt.crash(id);
  } else if (f < 0.04) {
    const id = pick(
      rng,
      nt.ids().filter((i) => !nt.node(i).up),
    );
    if (id !== undefined) nt.restart(id);
  } else if (f < 0.05) {
    reshape(nt, rng);
  } else if (f < 0.07) {
    const id = pick(rng, upIds(nt));
    if (id !== undefined) nt.compact(id); // so lagging nodes need snapshots
  } else if (f < 0.075) {
    changeMembership(nt, rng);
  }
}

const MAX_NODE_ID = 8;

/**
 * The leader proposes one membership change: add a brand-new node as a
 * learner, promote a learner, or remove a voter (keeping 3 to 5 voters).
 */
function changeMembership(nt: Network, rng: () => number): void {
  const leader = nt.leader();
  if (leader === undefined) return;
  const { voters, learners } = leader.confState;
  const r = rng();
  let change: ConfChange | undefined;
  if (learners.length > 0 && r < 0.5 && voters.length < 5) {
    change = { type: ConfChangeType.AddNode, nodeId: pick(rng, learners) as number, context: EMPTY_BUFFER };
  } else if (voters.length > 3 && r < 0.8) {
    change = { type: ConfChangeType.RemoveNode, nodeId: pick(rng, voters) as number, context: EMPTY_BUFFER };
  } else {
    const fresh = nt.ids().length + 1;
    if (fresh > MAX_NODE_ID) return;
    nt.addNode(fresh);
    change = { type: ConfChangeType.AddLearnerNode, nodeId: fresh, context: EMPTY_BUFFER };
  }
  nt.proposeConfChange(leader.id, change);
}

/** Up nodes that belong to the configuration the leader has applied. */
function members(nt: Network): SimNode[] {
  const cs = nt.leader()?.confState;
  if (cs === undefined) return [];
  return nt.upNodes().filter((n) => cs.voters.includes(n.id) || cs.learners.includes(n.id));
}

function converged(nt: Network): boolean {
  const leader = nt.leader();
  if (leader === undefined || nt.pool.length > 0) return false;
  const last = leader.raft.raftLog.lastIndex();
  return members(nt).every(
    (n) => n.outstanding === undefined && !n.raw?.hasReady() && n.raft.raftLog.committed === last && n.applied === last,
  );
}

/** Totals over all seeds, to prove the runs were not vacuous. */
const totals = { terms: 0, applied: 0, snapshots: 0, crashes: 0, compactions: 0, reads: 0, members: 0, takenWhileWriting: 0, sentWhileWriting: 0, sentBetweenReadies: 0 };

function runSeed(seed: number): void {
  // Per seed, so that RAFT_SEED=<n> alone replays exactly what seed n did in a longer run.
  proposalSeq = 0;
  readSeq = 0;
  const rng = createPrng(seed * 2654435761);
  const size = seed % 2 === 0 ? 3 : 5;
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const nt = new Network({
    ids,
    seed,
    traceSize: 200,
    config: {
      electionTick: 10,
      heartbeatTick: 2,
      preVote: seed % 4 !== 1,
      checkQuorum: seed % 4 !== 2,
      // Some seeds send one entry per MsgApp, so older entries can reach a quorum without the new term's no-op.
      maxSizePerMsg: seed % 3 === 1 ? 0 : 200,
      maxInflightMsgs: 3,
    },
  });
  if (seed % 3 === 0) nt.duplicate(0.05);
  // Some disks are slow: a write can take longer than a network round trip.
  const speeds = new Map(ids.map((id) => [id, rng() < 0.3 ? 0.1 : 0.6]));
  const diskSpeed = (id: number): number => speeds.get(id) ?? 0.6;
  try {
    for (let i = 0; i < STEPS; i++) {
      step(nt, rng, diskSpeed);
      nt.check();
    }
    // Heal: every node back, no faults, clocks in step, until all agree.
    nt.recover();
    for (const id of nt.ids()) nt.restart(id);
    for (let round = 0; round < HEAL_ROUNDS && !converged(nt); round++) {
      for (const n of nt.upNodes()) {
        nt.finishReady(n.id);
        n.raw?.tick();
      }
      // A new member may need a snapshot taken after it joined.
      if (round % 20 === 19) for (const n of nt.upNodes()) nt.compact(n.id);
      nt.stabilize();
      nt.check();
    }
    if (!converged(nt)) {
      const state = nt
        .upNodes()
        .map((n) => `${n.id}: term=${n.raft.term} role=${n.raft.role} commit=${n.raft.raftLog.committed} last=${n.raft.raftLog.lastIndex()} applied=${n.applied} first=${n.raft.raftLog.firstIndex()}`)
        .join('\n');
      const progress = nt.leader()?.raw?.status().progress.map((p) => `${p.id}: ${p.text}`).join('\n') ?? '';
      throw new Error(`no convergence after healing (leaders: ${nt.leaders().join(',') || 'none'})\n${state}\n${progress}`);
    }
    const leader = nt.leader();
    totals.terms += leader?.raft.term ?? 0;
    totals.members += nt.ids().length;
    totals.applied += nt.checker.maxApplied;
    totals.snapshots += nt.stats.delivered.get(MessageType.Snap) ?? 0;
    totals.crashes += nt.stats.crashes;
    totals.compactions += nt.stats.compactions;
    totals.reads += nt.stats.readStates;
    totals.takenWhileWriting += nt.stats.takenWhileWriting;
    totals.sentWhileWriting += nt.stats.sentWhileWriting;
    totals.sentBetweenReadies += nt.stats.sentBetweenReadies;
    for (const n of members(nt)) {
      expect(n.raft.role === Role.Leader ? n.id : leader?.id).toBe(leader?.id);
      // Everything acknowledged anywhere is applied everywhere, identically.
      expect(n.applied).toBeGreaterThanOrEqual(nt.checker.maxApplied);
      expect(n.digest).toBe(leader?.digest);
    }
  } catch (err) {
    const e = err as Error;
    e.message = `seed ${seed}: ${e.message}\n--- last events (RAFT_SEED=${seed} to rerun) ---\n${nt.traceText()}`;
    throw e;
  }
}

describe('safety under random faults', () => {
  it(`holds over ${SEEDS.length} seeds × ${STEPS} steps`, () => {
    for (const seed of SEEDS) runSeed(seed);
    if (process.env.RAFT_STATS !== undefined) console.log(totals);
    if (SEEDS.length >= 100) {
      // Each seed must, on average, see elections, commits, crashes, snapshots and reads.
      expect(totals.terms / SEEDS.length).toBeGreaterThan(2.5);
      expect(totals.applied / SEEDS.length).toBeGreaterThan(30);
      expect(totals.crashes / SEEDS.length).toBeGreaterThan(1);
      expect(totals.snapshots / SEEDS.length).toBeGreaterThan(0.5);
      expect(totals.reads / SEEDS.length).toBeGreaterThan(5);
      expect(totals.takenWhileWriting / SEEDS.length).toBeGreaterThan(1);
      expect(totals.sentWhileWriting / SEEDS.length).toBeGreaterThan(1);
      expect(totals.sentBetweenReadies / SEEDS.length).toBeGreaterThan(1);
    }
  });
});
