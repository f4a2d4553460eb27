/**
 * The operator's /metrics and /readyz on a real 3-node cluster under a
 * bounded write load, the scrapes parsed with a Prometheus text-format
 * parser (parse-prometheus-text-format).
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { encodeCommand } from '../helpers/raw-client.js';

type Families = Map<string, { type: string; metrics: { value?: string; labels?: Record<string, string>; count?: string }[] }>;

const ROUNDS = 10;
const PER_ROUND = 50;

describe('/metrics and /readyz on a 3-node cluster', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3, http: true });
  }, 60_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  const url = (id: number, path: string): string => {
    const n = cluster.node(id);
    return `http://${n.host}:${n.httpPort}${path}`;
  };

  async function scrape(id: number): Promise<Families> {
    const res = await fetch(url(id, '/metrics'), { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    return new Map(parsePrometheusTextFormat(await res.text()).map((f) => [f.name, f]));
  }

  function value(fam: Families, name: string, labels: Record<string, string> = {}): number | undefined {
    const m = fam.get(name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
    return m?.value === undefined ? undefined : Number(m.value);
  }

  /** Polls until `cond` holds (at most timeoutMs), returning the last value seen. */
  async function until<T>(read: () => Promise<T>, cond: (v: T) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await read();
      if (cond(v) || Date.now() > deadline) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function readyz(id: number): Promise<[number, string]> {
    try {
      const res = await fetch(url(id, '/readyz'), { signal: AbortSignal.timeout(3000) });
      return [res.status, await res.text()];
    } catch (e) {
      return [0, (e as Error).message];
    }
  }

  it('shows one leader, a commit index growing with writes, exact command counts and followers catching up', async () => {
    const leader = await cluster.waitForSettledLeader();
    const ids = cluster.nodes.map((n) => n.id);
    const before = await Promise.all(ids.map(scrape));
    const roles = before.map((f) => value(f, 'raftis_raft_role', { role: 'leader' }));
    expect(roles.filter((r) => r === 1)).toHaveLength(1);
    expect(ids[roles.indexOf(1)]).toBe(leader);
    for (const f of before) expect(value(f, 'raftis_raft_leader_id')).toBe(leader);
    for (const id of ids) expect(await readyz(id)).toEqual([200, 'ready\n']);

    const lb = before[ids.indexOf(leader)]!;
    const setsBefore = value(lb, 'raftis_commands_total', { command: 'set' }) ?? 0;
    let commit = value(lb, 'raftis_raft_commit_index')!;
    const proposalsBefore = value(lb, 'raftis_raft_proposals_total')!;
    const c = await cluster.client(leader);
    try {
      for (let r = 0; r < ROUNDS; r++) {
        let batch = '';
        for (let i = 0; i < PER_ROUND; i++) batch += encodeCommand(['SET', `k${r}:${i}`, `v${i}`]);
        const replies = [c.send(batch)];
        for (let i = 1; i < PER_ROUND; i++) replies.push(c.next());
        expect(new Set(await Promise.all(replies))).toEqual(new Set(['+OK\r\n']));
        const now = value(await scrape(leader), 'raftis_raft_commit_index')!;
        expect(now).toBeGreaterThanOrEqual(commit + PER_ROUND);
        commit = now;
      }
    } finally {
      c.close();
    }

    const after = await scrape(leader);
    expect(value(after, 'raftis_commands_total', { command: 'set' })! - setsBefore).toBe(ROUNDS * PER_ROUND);
    expect(value(after, 'raftis_raft_proposals_total')! - proposalsBefore).toBe(ROUNDS * PER_ROUND);
    expect(value(after, 'raftis_raft_applied_index')).toBeGreaterThanOrEqual(commit);
    expect(value(after, 'raftis_keys')).toBe(ROUNDS * PER_ROUND);
    expect(after.get('raftis_raft_proposal_commit_duration_seconds')!.type).toBe('HISTOGRAM');
    expect(Number(after.get('raftis_raft_proposal_commit_duration_seconds')!.metrics[0]!.count)).toBeGreaterThanOrEqual(ROUNDS * PER_ROUND);
    expect(Number(after.get('raftis_raft_log_sync_duration_seconds')!.metrics[0]!.count)).toBeGreaterThan(0);
    expect(value(after, 'raftis_connected_clients')).toBe(0);

    // Every follower's lag drops to 0 and it reports the leader's commit index.
    const followers = ids.filter((id) => id !== leader);
    const caughtUp = await until(
      () => scrape(leader),
      (f) => followers.every((id) => value(f, 'raftis_raft_peer_lag_entries', { peer: String(id) }) === 0),
      10_000,
    );
    for (const id of followers) {
      expect(value(caughtUp, 'raftis_raft_peer_lag_entries', { peer: String(id) })).toBe(0);
      expect(value(caughtUp, 'raftis_raft_peer_connected', { peer: String(id) })).toBe(1);
      expect(value(caughtUp, 'raftis_raft_peer_match_index', { peer: String(id), state: 'replicate' })).toBe(value(caughtUp, 'raftis_raft_last_index'));
      const f = await until(
        () => scrape(id),
        (x) => value(x, 'raftis_raft_applied_index')! >= commit,
        10_000,
      );
      expect(value(f, 'raftis_raft_applied_index')).toBeGreaterThanOrEqual(commit);
      expect(value(f, 'raftis_keys')).toBe(ROUNDS * PER_ROUND);
      expect(value(f, 'raftis_raft_role', { role: 'follower' })).toBe(1);
    }
  }, 60_000);

  it('/readyz answers 503 on a node cut from the cluster and 200 again once it rejoins', async () => {
    const leader = await cluster.waitForSettledLeader();
    // The node left alone is a follower: the leader it knew of is among the two killed.
    const alone = cluster.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const others = cluster.nodes.map((n) => n.id).filter((id) => id !== alone);
    for (const id of others) await cluster.kill9(id);
    const [status, body] = await until(
      () => readyz(alone),
      ([s]) => s === 503,
      15_000,
    );
    expect(status).toBe(503);
    expect(body).toMatch(/^not ready: no leader known in term \d+ \(an election is running or this node is cut off from a quorum\)\n$/);
    expect(await (await fetch(url(alone, '/healthz'))).text()).toBe('ok\n');
    const fam = await scrape(alone);
    expect(value(fam, 'raftis_raft_leader_id')).toBe(0);
    for (const id of others) expect(value(fam, 'raftis_raft_peer_connected', { peer: String(id) })).toBe(0);

    for (const id of others) await cluster.startNode(id);
    const back = await until(
      () => readyz(alone),
      ([s]) => s === 200,
      20_000,
    );
    expect(back).toEqual([200, 'ready\n']);
    const after = await scrape(alone);
    expect(value(after, 'raftis_raft_leader_changes_total')).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
