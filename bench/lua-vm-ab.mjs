#!/usr/bin/env node
// The Lua VM alone, A/B between builds of native/lua/dist (e.g. before and
// after a change to the glue or to patch-budget.py): the same scripts on a
// stub host (redis.call answers +OK), µs per call, the minimum of several
// rounds, the builds alternating in fresh processes — on a shared, loaded
// machine only the minima compare.
// Usage: node bench/lua-vm-ab.mjs <distA> <distB> [rounds]
//   e.g. git show <rev>:native/lua/dist/lua51.wasm > /tmp/old/lua51.wasm (and lua51.cjs), then
//        node bench/lua-vm-ab.mjs /tmp/old native/lua/dist 5
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FINISH = fs.readFileSync(path.join(ROOT, 'bench/scripting-finish.lua'), 'latin1');
const FINISH_KEYS = ['{q}:active', '{q}:completed', '{q}:job:1', '{q}:meta', '{q}:events', '{q}:metrics', '{q}:stalled'];
const TESTS = [
  { id: 'SET', body: "return redis.call('SET', KEYS[1], ARGV[1])", keys: ['k'], args: ['v'], n: 50000 },
  { id: 'GET', body: "return redis.call('GET', KEYS[1])", keys: ['k'], args: [], n: 50000 },
  { id: `${FINISH.split('\n').length}-line queue step`, body: FINISH, keys: FINISH_KEYS, args: ['1', 'done', '100'], n: 5000 },
  { id: '1000 strings', body: "local t = {} for i = 1, 1000 do t[i] = 'k' .. i end return #t", keys: [], args: [], n: 2000 },
];

/** Child: one build, every test, µs per call (min of 5 passes). */
function child(dir) {
  const require = createRequire(import.meta.url);
  const create = require(path.resolve(dir, 'lua51.cjs'));
  let m;
  const heap = () => Buffer.from(m.HEAPU8.buffer);
  m = create({
    wasmBinary: fs.readFileSync(path.resolve(dir, 'lua51.wasm')),
    rlHost: (kind) => {
      if (kind === 0) heap().write('+OK\r\n', m._rl_reply_buf(5), 'latin1');
      return 0;
    },
    print() {},
    printErr() {},
  });
  m._rl_init(64 * 1024 * 1024, 0);
  const out = {};
  for (const t of TESTS) {
    const sha = createHash('sha1').update(t.body, 'latin1').digest('hex');
    heap().write(t.body, m._rl_in_buf(t.body.length), 'latin1');
    const np = m._rl_name_buf();
    heap().write(`f_${sha}\0`, np, 'latin1');
    if (m._rl_load(np, t.body.length) !== 0) throw new Error(`${t.id}: does not compile`);
    const all = [...t.keys, ...t.args];
    let best = Infinity;
    for (let pass = 0; pass < 5; pass++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < t.n; i++) {
        let n = 8;
        for (const a of all) n += 4 + a.length;
        const p = m._rl_in_buf(n);
        const h = heap();
        h.writeUInt32LE(t.keys.length, p);
        h.writeUInt32LE(t.args.length, p + 4);
        let off = p + 8;
        for (const a of all) {
          h.writeUInt32LE(a.length, off);
          off += 4 + h.write(a, off + 4, 'latin1');
        }
        h.write(`f_${sha}\0`, np, 'latin1');
        // 4th argument: the memory budget (32 MiB; older builds ignore it).
        if (m._rl_eval(np, 1e8, 2, 32 * 1024 * 1024) === 2) throw new Error('not loaded');
      }
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / t.n / 1000);
    }
    out[t.id] = best;
  }
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[2] === '--child') {
  child(process.argv[3]);
} else {
  const dirs = process.argv.slice(2, 4);
  const rounds = Number(process.argv[4] ?? 5);
  if (dirs.length !== 2) throw new Error('usage: node bench/lua-vm-ab.mjs <distA> <distB> [rounds]');
  const best = dirs.map(() => ({}));
  for (let r = 0; r < rounds; r++) {
    for (const [i, dir] of (r % 2 === 0 ? dirs : [...dirs].reverse()).map((d) => [dirs.indexOf(d), d])) {
      const res = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dir], { encoding: 'utf8' }));
      for (const [k, v] of Object.entries(res)) best[i][k] = Math.min(best[i][k] ?? Infinity, v);
    }
  }
  console.log(`| test | A µs/call | B µs/call | B / A |\n|---|---|---|---|`);
  for (const t of TESTS) console.log(`| ${t.id} | ${best[0][t.id].toFixed(2)} | ${best[1][t.id].toFixed(2)} | ${(best[1][t.id] / best[0][t.id]).toFixed(2)} |`);
  console.log(`A: ${dirs[0]}\nB: ${dirs[1]}\nrounds: ${rounds}, load average at the end: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
}
