#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most
// self time, and the self time per source file. A sample's time is the delta
// to the next sample (timeDeltas), charged to the node it landed in.
// Usage: node bench/cpuprofile-top.mjs <file.cpuprofile> [top N]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** { total (µs), functions: [{name, where, self, share}], files: [{file, self, share}] } of one profile. */
export function summarise(profile, top = 25) {
  const byId = new Map();
  for (const n of profile.nodes) byId.set(n.id, n);
  const self = new Map();
  const { samples, timeDeltas } = profile;
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; charge the interval to the sample that ends it.
    const dt = Math.max(0, timeDeltas[i + 1] ?? 0);
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
    total += dt;
  }
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id) => {
    const cf = byId.get(id).callFrame;
    return `${cf.functionName || '(anonymous)'}${cf.url ? ' ' + shortUrl(cf.url) + ':' + (cf.lineNumber + 1) : ''}`;
  };
  const idle = new Set(['(idle)', '(program)']);
  let busy = 0;
  const fns = new Map();
  const files = new Map();
  for (const [id, t] of self) {
    const cf = byId.get(id).callFrame;
    if (!idle.has(cf.functionName)) busy += t;
    const file = cf.url ? shortUrl(cf.url) : '(native)';
    const name = cf.functionName || '(anonymous)';
    const where = cf.url ? `${file}:${cf.lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const f = fns.get(key) ?? { name, where, self: 0, callers: new Map() };
    f.self += t;
    const p = parent.get(id);
    if (p !== undefined) f.callers.set(label(p), (f.callers.get(label(p)) ?? 0) + t);
    fns.set(key, f);
    const fileKey = cf.url ? file : name.startsWith('(') ? name : '(native)';
    files.set(fileKey, (files.get(fileKey) ?? 0) + t);
  }
  // Shares are of the busy time: (idle) and (program) (the event loop waiting, V8 outside JS) left out.
  const share = (t) => (busy > 0 ? t / busy : 0);
  const callers = (f) =>
    [...f.callers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([c, t]) => `${c} ${Math.round((t / f.self) * 100)}%`).join('; ');
  return {
    total,
    busy,
    functions: [...fns.values()].filter((f) => !idle.has(f.name)).sort((a, b) => b.self - a.self).slice(0, top).map((f) => ({ name: f.name, where: f.where, self: f.self, share: share(f.self), callers: callers(f) })),
    files: [...files.entries()].filter(([f]) => !idle.has(f)).sort((a, b) => b[1] - a[1]).slice(0, top).map(([file, t]) => ({ file, self: t, share: share(t) })),
  };
}

function shortUrl(url) {
  const u = url.replace(/^file:\/\//, '');
  const i = u.indexOf('/dist/');
  if (i >= 0) return u.slice(i + 1);
  const j = u.indexOf('/node_modules/');
  if (j >= 0) return u.slice(j + 1);
  return u.startsWith('node:') ? u : path.basename(u);
}

/** Markdown lines for a summary. */
export function summaryLines(s, title) {
  const out = [
    `### ${title} (${(s.total / 1e6).toFixed(2)} s sampled, ${(s.busy / 1e6).toFixed(2)} s busy; shares are of the busy time)`,
    '',
    '| self % | self ms | function | where | called from |',
    '|---|---|---|---|---|',
  ];
  for (const f of s.functions) out.push(`| ${(f.share * 100).toFixed(1)} | ${(f.self / 1000).toFixed(0)} | ${f.name} | ${f.where} | ${f.callers} |`);
  out.push('', '| self % | file |', '|---|---|');
  for (const f of s.files.slice(0, 15)) out.push(`| ${(f.share * 100).toFixed(1)} | ${f.file} |`);
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/cpuprofile-top.mjs <file.cpuprofile> [top N]');
    process.exit(2);
  }
  const s = summarise(JSON.parse(fs.readFileSync(file, 'utf8')), Number(process.argv[3] ?? 25));
  console.log(summaryLines(s, path.basename(file)).join('\n'));
}
