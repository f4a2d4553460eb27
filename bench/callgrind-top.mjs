#!/usr/bin/env node
// Instructions per request by function from the runs bench/callgrind-per-request.mjs
// kept (--keep DIR): callgrind names JIT code ???:0x…; node's --perf-basic-prof
// map of the same run names it (the JavaScript function, "JS:*name" optimized,
// "JS:~name" interpreted/baseline, or a stub). Functions are summed over the
// rounds of a build and divided by its rounds × requests; two builds side by
// side with the difference, largest first. Also sums by category (compiler,
// major GC, scavenges, JavaScript, builtins, libc, the rest).
//
// Usage: node bench/callgrind-top.mjs DIR REQUESTS [--test SET-16] [--top 60] [--a A --b B]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { optionReader } from './lib.mjs';

const argv = process.argv.slice(2);
const opt = optionReader(argv);
const DIR = argv[0];
const N = Number(argv[1]);
const TEST = opt('--test', 'SET-16');
const TOP = Number(opt('--top', 60));
const NAMES = [opt('--a', 'A'), opt('--b', 'B')];

const CATS = [
  ['compiler', /v8::internal::compiler::|v8::internal::maglev::|PipelineImpl|baseline::BaselineCompiler|BytecodeGenerator|v8::internal::Parser|v8::internal::Scanner/],
  ['scavenge', /Scavenge|SemiSpace/],
  ['major GC', /ConcurrentMarking|MarkCompact|Sweeper|MarkingVisitor|IncrementalMarking|MarkingBarrier|LiveObjectRange|MarkingWorklist|FullEvacuator|PointersUpdating|MemoryChunkData|RememberedSetUpdating|EvacuateVisitorBase|EvacuateNewSpaceVisitor|RecordMigratedSlot|CompactionSpace|ActiveSystemPages|Heap::CreateFillerObjectAtSweeper/],
  ['JS', /^JS:|^js /],
  ['builtins', /Builtins_|^Builtin:|^BytecodeHandler:|^Stub:|^Handler:/],
  ['libc', /libc\.so|\/malloc\/|nptl|string\/|libm/],
];
const category = (name) => CATS.find(([, r]) => r.test(name))?.[0] ?? 'other';

function loadMap(file) {
  if (!fs.existsSync(file)) return [];
  const out = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m) out.push([parseInt(m[1], 16), parseInt(m[2], 16), m[3]]);
  }
  out.sort((a, b) => a[0] - b[0]);
  return out;
}

function resolve(map, addr) {
  let lo = 0;
  let hi = map.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid][0] <= addr) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  // A later entry may reuse an address range of code that was freed: the last one starting at or before addr.
  if (best >= 0 && addr < map[best][0] + map[best][1]) return map[best][2].replace(/ \S+:\d+:\d+$/, '');
  return undefined;
}

function load(cg) {
  const map = loadMap(cg.replace(/\.cg$/, '.map'));
  const text = execFileSync('callgrind_annotate', ['--threshold=100', cg], { maxBuffer: 512 << 20, encoding: 'utf8' });
  const fns = new Map();
  let body = false;
  for (const line of text.split('\n')) {
    if (/file:function/.test(line)) {
      body = true;
      continue;
    }
    const m = body && /^\s*([\d,]+)\s+\([^)]*\)\s+(.*)$/.exec(line);
    if (!m) continue;
    const n = Number(m[1].replaceAll(',', ''));
    let name = m[2].replace(/ \[[^\]]*\]$/, '').replace(/^\?\?\?:/, '');
    const a = /^0x([0-9a-f]+)$/.exec(name);
    if (a) name = resolve(map, parseInt(a[1], 16)) ?? 'unnamed JIT code';
    fns.set(name, (fns.get(name) ?? 0) + n);
  }
  return fns;
}

const builds = NAMES.map((b) => {
  const files = fs.readdirSync(DIR).filter((f) => f.startsWith(`${b}-${TEST}-`) && f.endsWith('.cg')).map((f) => path.join(DIR, f));
  const sum = new Map();
  for (const f of files) for (const [k, v] of load(f)) sum.set(k, (sum.get(k) ?? 0) + v);
  for (const [k, v] of sum) sum.set(k, v / files.length / N);
  return { name: b, files: files.length, sum };
}).filter((b) => b.files > 0);

const total = (m) => [...m.values()].reduce((a, b) => a + b, 0);
console.log(`${DIR} ${TEST}: ${builds.map((b) => `${b.name} ${b.files} runs`).join(', ')}; instructions per request\n`);
const cats = builds.map((b) => {
  const c = new Map();
  for (const [k, v] of b.sum) c.set(category(k), (c.get(category(k)) ?? 0) + v);
  return c;
});
console.log(`| category | ${builds.map((b) => b.name).join(' | ')} |${builds.length === 2 ? ' diff |' : ''}`);
console.log(`|---|${builds.map(() => '---|').join('')}${builds.length === 2 ? '---|' : ''}`);
for (const k of [...CATS.map(([k]) => k), 'other']) {
  const v = cats.map((c) => c.get(k) ?? 0);
  console.log(`| ${k} | ${v.map((x) => x.toFixed(0)).join(' | ')} |${v.length === 2 ? ` ${(v[1] - v[0]).toFixed(0)} |` : ''}`);
}
const t = builds.map((b) => total(b.sum));
const steady = builds.map((b, i) => t[i] - (cats[i].get('compiler') ?? 0) - (cats[i].get('major GC') ?? 0));
console.log(`| total | ${t.map((x) => x.toFixed(0)).join(' | ')} |${t.length === 2 ? ` ${(t[1] - t[0]).toFixed(0)} |` : ''}`);
console.log(`| without compiler and major GC | ${steady.map((x) => x.toFixed(0)).join(' | ')} |${t.length === 2 ? ` ${(steady[1] - steady[0]).toFixed(0)} |` : ''}`);

const keys = new Set(builds.flatMap((b) => [...b.sum.keys()]));
const rows = [...keys].map((k) => ({ k, v: builds.map((b) => b.sum.get(k) ?? 0) }));
rows.sort(builds.length === 2 ? (x, y) => Math.abs(y.v[1] - y.v[0]) - Math.abs(x.v[1] - x.v[0]) : (x, y) => y.v[0] - x.v[0]);
console.log(`\n| function | ${builds.map((b) => b.name).join(' | ')} |${builds.length === 2 ? ' diff |' : ''}`);
console.log(`|---|${builds.map(() => '---|').join('')}${builds.length === 2 ? '---|' : ''}`);
for (const { k, v } of rows.slice(0, TOP)) {
  console.log(`| ${k.slice(0, 140).replaceAll('|', '\\|')} | ${v.map((x) => x.toFixed(0)).join(' | ')} |${v.length === 2 ? ` ${(v[1] - v[0]).toFixed(0)} |` : ''}`);
}
