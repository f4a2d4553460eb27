#!/usr/bin/env node
// Generates src/commands/generated/redis-commands.json from a real redis-server 7:
// COMMAND INFO and COMMAND DOCS of every command raftis implements, kept as typed
// RESP3 trees so that raftis replays them byte for byte in RESP2 and RESP3.
// Usage: node scripts/gen-command-table.mjs [port] [output]   (a redis-server must listen on port)
import net from 'node:net';
import fs from 'node:fs';
import { readReply } from './resp3-read.mjs';

const port = Number(process.argv[2] ?? 6379);
const list = JSON.parse(fs.readFileSync(new URL('../src/commands/supported.json', import.meta.url), 'utf8'));

function enc(args) {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return s;
}

const sock = net.connect(port, '127.0.0.1');
let buf = Buffer.alloc(0);
const waiting = [];
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const r = readReply(buf);
    if (!r || waiting.length === 0) break;
    buf = buf.subarray(r.end);
    waiting.shift()(r.value);
  }
});
const call = (...args) => new Promise((res) => { waiting.push(res); sock.write(enc(args)); });

await new Promise((r) => sock.once('connect', r));
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
sock.end();
const dest = process.argv[3] ?? new URL('../src/commands/generated/redis-commands.json', import.meta.url);
fs.writeFileSync(dest, JSON.stringify({ generatedBy: 'scripts/gen-command-table.mjs from redis-server 7.0.15; do not edit', commands: out }, null, 1) + '\n');
console.log(`wrote ${Object.keys(out).length} commands`);
