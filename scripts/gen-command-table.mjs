#!/usr/bin/env node
// Generates src/commands/generated/redis-commands.json from a real redis-server 7:
// COMMAND INFO and COMMAND DOCS of every command raftis implements, kept as typed
// RESP3 trees so that raftis replays them byte for byte in RESP2 and RESP3.
// Usage: node scripts/gen-command-table.mjs [port] [output]   (a redis-server must listen on port)
import fs from 'node:fs';
import { connectResp } from './resp3-read.mjs';

const port = Number(process.argv[2] ?? 6379);
const list = JSON.parse(fs.readFileSync(new URL('../src/commands/supported.json', import.meta.url), 'utf8'));

const conn = await connectResp(port);
const call = conn.call;
await call('HELLO', '3');
const out = {};
for (const [name, subs] of Object.entries(list)) {
  const [info] = await call('COMMAND', 'INFO', name);
  if (info === null) throw new Error(`redis-server does not know ${name}`);
  const docsReply = await call('COMMAND', 'DOCS', name);
  const docs = docsReply.map[0]?.[1];
  if (subs !== null) {
    // Keep only the subcommands raftis implements, in Redis's order.
    const keep = new Set(subs.map((s) => `${name}|${s}`));
    info[9] = info[9].filter((sub) => keep.has(sub[0]));
    const sc = docs.map.find(([k]) => k === 'subcommands');
    sc[1].map = sc[1].map.filter(([k]) => keep.has(k));
  }
  // Redis lists subcommands in hash-table order, which changes from one
  // process to the next: sort them so the generated file is reproducible.
  if (Array.isArray(info[9])) info[9].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const subDocs = docs?.map?.find(([k]) => k === 'subcommands');
  if (subDocs) subDocs[1].map.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  out[name] = { info, docs };
}
conn.close();
const dest = process.argv[3] ?? new URL('../src/commands/generated/redis-commands.json', import.meta.url);
fs.writeFileSync(dest, JSON.stringify({ generatedBy: 'scripts/gen-command-table.mjs from redis-server 7.0.15; do not edit', commands: out }, null, 1) + '\n');
console.log(`wrote ${Object.keys(out).length} commands`);
