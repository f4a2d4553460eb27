#!/usr/bin/env node
// Instructions per SET entry for the state machine alone, under callgrind:
// encoding a client's SET into its log entry (the proposer's
// encodeStateEntry), and applying a committed SET entry (Applier.apply) as a
// follower (from the entry's bytes alone) and as the proposer (with its
// Write: the reply goes to a RespWriter). No server, socket or log: the part
// of a SET that every replica of a cluster pays, which the one-node
// benchmarks (callgrind-per-request.mjs) show only for the leader.
//
// Each measurement is a process of its own under `valgrind --tool=callgrind
// --instr-atstart=no`: it warms up (V8 optimizes the path), switches the
// counting on with callgrind_control, runs N operations, dumps; the count
// is the dump's total / N (every thread, GC included). Entries are SETs of
// `key:<12 digits>` (4096 keys of 100000) with a 16-byte value, as
// redis-benchmark -r 100000 -d 16 sends them, in db 0 with the standalone
// flag of a group of one voter.
//
// Usage: npm run build && node bench/callgrind-apply.mjs [--a OTHER/dist] [--n 100000]
//   --a DIR   another build's dist directory (A); B is this checkout's dist
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);

if (argv[0] === '--child') {
  await child(argv[1], argv[2], Number(argv[3]));
} else {
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const N = Number(opt('--n', 100000));
  const builds = [...(opt('--a') ? [['A', path.resolve(opt('--a'))]] : []), ['B', path.join(path.dirname(SELF), '..', 'dist')]];
  const rows = [];
  for (const mode of ['encode', 'follower', 'proposer']) {
    const row = [mode];
    for (const [, dist] of builds) row.push(measure(mode, dist, N));
    rows.push(row);
  }
  const head = ['per SET entry', ...builds.map(([n]) => n), ...(builds.length === 2 ? ['B / A'] : [])];
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${[...r, ...(r.length === 3 ? [(r[2] / r[1]).toFixed(2)] : [])].join(' | ')} |`);
}

function measure(mode, dist, n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-cg-apply-'));
  try {
    const out = path.join(dir, 'cg.out');
    const r = spawnSync('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath, SELF, '--child', mode, dist, String(n)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${mode} ${dist}: ${r.stderr.slice(-2000)}`);
    const dump = fs.readdirSync(dir).find((f) => /\.1$/.test(f));
    if (dump === undefined) throw new Error(`no callgrind dump for ${mode} ${dist}`);
    const totals = /^totals: (\d+)/m.exec(fs.readFileSync(path.join(dir, dump), 'utf8'));
    return Math.round(Number(totals[1]) / n);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function child(mode, dist, n) {
  const imp = (p) => import(path.join(dist, p));
  const { connCommands, dataCommands } = await imp('commands/handlers.js');
  const { CommandTable } = await imp('commands/table.js');
  const { ShardState } = await imp('commands/engine/shard-state.js');
  const { Applier } = await imp('commands/engine/apply.js');
  const { Config } = await imp('commands/engine/config.js');
  const { encodeStateEntry } = await imp('commands/engine/entry.js');
  const { Scripts } = await imp('commands/engine/scripts.js');
  const { Stats } = await imp('commands/engine/stats.js');
  const { Acl } = await imp('commands/engine/acl.js');
  const { Databases } = await imp('keyspace/databases.js');
  const { RespWriter } = await imp('server/resp-writer.js');
  const noTouch = { wanted: () => false, touched: () => {}, flushing: () => {}, modified: () => {}, ready: () => {}, entryApplied: () => {} };
  const table = new CommandTable({ data: dataCommands, conn: connCommands });
  const stats = new Stats();
  const dbs = new Databases(1);
  const scripts = new Scripts(table, stats, noTouch);
  const applier = new Applier(dbs, table, stats, noTouch, scripts, { config: new Config(), events: { flags: 0, emit: () => {} }, acl: new Acl(table), shards: new ShardState(undefined, dbs) });
  const value = 'VXKeHogKgJ=[5V9_';
  const KEYS = 4096;
  let seed = 12345;
  const keys = [];
  for (let i = 0; i < KEYS; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    keys.push('key:' + String(seed % 100000).padStart(12, '0'));
  }
  const entryOf = (i) => ({ kind: 1, time: 1_700_000_000_000 + i, multi: false, cmds: [['SET', keys[i & (KEYS - 1)], value]], standalone: true });
  // What a follower is handed: each entry in a Buffer of its own.
  const entries = Array.from({ length: KEYS }, (_, i) => ({ e: entryOf(i), b: Buffer.from(encodeStateEntry(entryOf(i))) }));
  const w = new RespWriter(2);
  let index = 0;
  let sink = 0;
  const loop = (k) => {
    for (let i = 0; i < k; i++) {
      if (mode === 'encode') {
        sink += encodeStateEntry(entryOf(i)).length;
        continue;
      }
      const x = entries[i & (KEYS - 1)];
      applier.apply(++index, x.b, mode === 'proposer' ? { entry: x.e, w } : undefined);
      if ((i & 255) === 0) w.take();
    }
  };
  for (let j = 0; j < 30; j++) loop(10000);
  execFileSync('callgrind_control', ['-i', 'on', String(process.pid)], { stdio: 'ignore' });
  loop(n);
  execFileSync('callgrind_control', ['-d', String(process.pid)], { stdio: 'ignore' });
  if (sink < 0) console.log(sink);
}
