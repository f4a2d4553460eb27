/**
 * The live cluster page (src/server/cluster-page.ts, src/server/page/) in a
 * real headless browser: Debian's Chromium driven by playwright-core. A
 * 3-node cluster with --http-port; the page of node 1 must show the three
 * members and one leader, follow writes, show the leader killed and the new
 * one, and — when node 1 is cut off (the others stopped) — say what it
 * cannot see.
 *
 * Set RAFTIS_PAGE_SCREENSHOT=path to keep a screenshot of the page after
 * the writes (the README's is bench/results/cluster-page.png).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TestCluster } from '../helpers/cluster.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Row {
  id: number;
  role: string;
  reachable: boolean;
  text: string;
  commit: number;
  applied: number;
  keys: number;
}

interface PageState {
  leader: number;
  rows: Row[];
  notes: string[];
  changes: string[];
  banner: string;
}

/** The little of the DOM readState uses (the test is compiled without the DOM library). */
interface El {
  getAttribute(name: string): string | null;
  querySelector(sel: string): El | null;
  readonly textContent: string | null;
  readonly hidden?: boolean;
}

function readState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    // Runs in the browser.
    const document = (globalThis as unknown as { document: { querySelectorAll(sel: string): ArrayLike<El> & Iterable<El>; getElementById(id: string): El | null } }).document;
    const num = (tr: El, f: string): number => Number(tr.querySelector(`[data-field="${f}"]`)?.textContent ?? NaN);
    const rows = [...document.querySelectorAll('#members tbody tr[data-node-id]')].map((tr) => ({
      id: Number(tr.getAttribute('data-node-id')),
      role: tr.getAttribute('data-role') ?? '',
      reachable: tr.getAttribute('data-reachable') === 'yes',
      text: tr.textContent ?? '',
      commit: num(tr, 'commit'),
      applied: num(tr, 'applied'),
      keys: num(tr, 'keys'),
    }));
    const leaderEl = document.getElementById('leader');
    return {
      leader: leaderEl === null ? -1 : Number(leaderEl.getAttribute('data-leader')),
      rows,
      notes: [...document.querySelectorAll('#notes li')].map((li) => li.textContent ?? ''),
      changes: [...document.querySelectorAll('#changes tbody tr')].map((tr) => tr.textContent ?? ''),
      banner: document.getElementById('banner')?.hidden === false ? (document.getElementById('banner')?.textContent ?? '') : '',
    };
  });
}

/** Polls the page until `ok` holds (bounded); fails with the last state seen. */
async function waitForPage(page: Page, what: string, ok: (s: PageState) => boolean, timeoutMs = 20_000): Promise<PageState> {
  const deadline = Date.now() + timeoutMs;
  let s: PageState | undefined;
  for (;;) {
    s = await readState(page);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`page never showed ${what} within ${timeoutMs} ms; last state: ${JSON.stringify(s, null, 1)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the cluster page in a headless browser', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
    cluster = await TestCluster.start({ size: 3, http: true });
    // Root (CI) cannot use Chromium's sandbox; the page is our own, served on loopback.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.destroy();
  });

  it('shows the members and one leader, follows writes, shows a killed leader and the new one', async () => {
    // The page is node 1's, which must survive the leader's death: make sure node 1 does not lead.
    let leader = await cluster.waitForSettledLeader();
    if (leader === 1) {
      const c = await cluster.client(1);
      try {
        expect(await c.call('RAFT.TRANSFER_LEADER', '2')).toBe('+OK\r\n');
      } finally {
        c.close();
      }
      leader = await cluster.waitForLeader(10_000, [1]);
      leader = await cluster.waitForSettledLeader();
    }
    expect(leader).not.toBe(1);
    const n1 = cluster.node(1);
    await page.goto(`http://${n1.host}:${n1.httpPort}/`);

    const first = await waitForPage(page, `three members answering with leader ${leader}`, (s) =>
      s.leader === leader && s.rows.length === 3 && s.rows.every((r) => r.reachable) && s.rows.filter((r) => r.role === 'leader').length === 1,
    );
    expect(first.rows.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(first.rows.find((r) => r.role === 'leader')!.id).toBe(leader);
    expect(first.changes.some((t) => t.includes(`node ${leader}`))).toBe(true);

    // Writes through the leader: every member's commit, applied index and key count move on the page.
    const before = Math.max(...first.rows.map((r) => r.commit));
    const c = await cluster.client(leader);
    try {
      for (let i = 0; i < 60; i++) expect(await c.call('SET', `page:${i}`, String(i))).toBe('+OK\r\n');
    } finally {
      c.close();
    }
    await waitForPage(page, 'the writes on every member', (s) => s.rows.length === 3 && s.rows.every((r) => r.reachable && r.keys === 60 && r.applied >= before + 60));
    if (process.env.RAFTIS_PAGE_SCREENSHOT) await page.screenshot({ path: process.env.RAFTIS_PAGE_SCREENSHOT, fullPage: true });

    // The leader dies: node 1's page says it is unreachable, and shows the new leader.
    await cluster.kill9(leader);
    const after = await waitForPage(page, `node ${leader} down and a new leader`, (s) => {
      const dead = s.rows.find((r) => r.id === leader);
      return dead !== undefined && !dead.reachable && /unreachable since \d\d:\d\d:\d\d \(from node 1\)/.test(dead.text) && s.leader !== 0 && s.leader !== leader && s.leader !== -1;
    });
    const next = after.leader;
    expect(after.rows.find((r) => r.id === next)?.role).toBe('leader');
    expect(after.notes.some((n) => n.startsWith(`node ${leader}: unreachable since`))).toBe(true);
    await waitForPage(page, `the change to node ${next} in the leader changes`, (s) => s.changes.some((t) => t.includes(`node ${next}`) && !t.startsWith('none')));
    expect(errors).toEqual([]);
  }, 120_000);

  it('served by a node cut off from the others, says what it cannot see', async () => {
    const down = cluster.nodes.filter((n) => !cluster.isRunning(n.id)).map((n) => n.id);
    for (const id of down) await cluster.startNode(id);
    await waitForPage(page, 'all three members back', (s) => s.rows.length === 3 && s.rows.every((r) => r.reachable) && s.leader > 0);
    const others = [2, 3];
    try {
      for (const id of others) cluster.pause(id);
      const s = await waitForPage(page, 'nodes 2 and 3 unreachable and no leader', (st) =>
        st.leader === 0 && others.every((id) => st.rows.find((r) => r.id === id)?.reachable === false) && st.notes.some((n) => n.includes('not a majority')),
      );
      for (const id of others) expect(s.rows.find((r) => r.id === id)!.text).toMatch(/unreachable since \d\d:\d\d:\d\d \(from node 1\)/);
      expect(s.rows.find((r) => r.id === 1)?.reachable).toBe(true);
      expect(s.notes).toContain('no leader visible from node 1: it reaches 1 of 3 members, not a majority; the other side may have a leader this node cannot see');
      expect(s.banner).toBe('');
    } finally {
      for (const id of others) cluster.resume(id);
    }
    // And the page recovers once they are back.
    await waitForPage(page, 'the cluster whole again', (s) => s.rows.every((r) => r.reachable) && s.leader > 0);
    // The serving node itself dies: the page keeps its last answer and says so.
    await cluster.kill9(1);
    const gone = await waitForPage(page, 'node 1 not answering', (s) => s.banner !== '');
    expect(gone.banner).toMatch(/^node 1 is not answering since \d\d:\d\d:\d\d UTC \(.+\); showing its last answer from \d\d:\d\d:\d\d UTC/);
    expect(gone.rows).toHaveLength(3);
    expect(errors).toEqual([]);
  }, 120_000);
});
