#!/usr/bin/env node
// The README's picture of the cluster page: a 3-node cluster with
// --http-port on 127.0.0.1-3, redis-benchmark SET load through the leader,
// the leader killed halfway (and restarted), then a screenshot of node 1's
// page taken by Debian's Chromium (playwright-core).
//
//   node bench/cluster-page-screenshot.mjs [out.png] [seconds]
//   (default docs/cluster-page.png, 150 s; run `npm run build` first)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const out = process.argv[2] ?? 'docs/cluster-page.png';
const seconds = Number(process.argv[3] ?? 150);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-page-shot-'));
const base = 27100;
const nodes = [1, 2, 3].map((id) => ({ id, host: `127.0.0.${id}`, port: base + id, cport: base + 100 + id, hport: base + 200 + id }));
const peers = nodes.map((n) => `${n.id}=${n.host}:${n.port}@${n.cport}`).join(',');
const procs = new Map();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(n) {
  const p = spawn(process.execPath, ['dist/cli/main.js', '--id', String(n.id), '--bind', n.host, '--port', String(n.port), '--cluster-port', String(n.cport), '--http-port', String(n.hport), '--dir', path.join(dir, `n${n.id}`), '--peers', peers, '--log-level', 'warn'], { stdio: 'ignore' });
  procs.set(n.id, p);
}

async function leader() {
  for (let i = 0; i < 100; i++) {
    try {
      const v = await (await fetch(`http://127.0.0.1:${nodes[0].hport}/api/cluster`)).json();
      if (v.leader > 0) return v.leader;
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  throw new Error('no leader');
}

function load(n, secs) {
  // -r: distinct keys, so the key count grows; -c 8 -P 4: a modest load on a shared machine.
  return spawn('redis-benchmark', ['-h', n.host, '-p', String(n.port), '-t', 'set', '-r', '100000', '-n', '100000000', '-c', '8', '-P', '4', '-q'], { stdio: 'ignore' }).once('spawn', function () {
    setTimeout(() => this.kill('SIGINT'), secs * 1000);
  });
}

let browser;
try {
  for (const n of nodes) start(n);
  const l1 = await leader();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(`http://127.0.0.1:${nodes[0].hport}/`);
  // Node 1 serves the page: if it leads, the kill below takes another node's leadership first.
  if (l1 === 1) spawnSync('redis-cli', ['-h', nodes[0].host, '-p', String(nodes[0].port), 'RAFT.TRANSFER_LEADER', '2']);
  const l = await leader();
  load(nodes[l - 1], seconds / 2);
  await sleep((seconds / 2) * 1000);
  procs.get(l).kill('SIGKILL');
  await sleep(3000);
  const l2 = await leader();
  load(nodes[l2 - 1], seconds / 2 + 10);
  await sleep(15_000);
  start(nodes[l - 1]);
  await sleep((seconds / 2 - 15) * 1000);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser?.close();
  for (const p of procs.values()) p.kill('SIGKILL');
  await sleep(500);
  fs.rmSync(dir, { recursive: true, force: true });
}
