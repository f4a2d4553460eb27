#!/usr/bin/env node
// Generates src/commands/generated/acl-categories.json from a real redis-server 7:
// the ACL categories in ACL CAT's order, and every command and subcommand
// redis-server knows (COMMAND INFO of all of them) with its categories. raftis's
// ACL bitmaps, +@category, ACL CAT and the category choice of ACL LIST / GETUSER
// are computed over this universe, so they match redis-server's (acl.ts).
// Usage: node scripts/gen-acl-categories.mjs [port] [output]   (a redis-server must listen on port)
import net from 'node:net';
import fs from 'node:fs';
import { readReply } from './resp3-read.mjs';

const port = Number(process.argv[2] ?? 6379);

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
const categories = await call('ACL', 'CAT');
const infos = await call('COMMAND', 'INFO');
const cats = (info) => info[6].set.map((c) => (typeof c === 'string' ? c : c.s).replace(/^@/, ''));
const commands = [];
// Sorted: redis-server lists commands in hash-table order, which changes from one process to the next.
for (const info of [...infos].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
  const subs = Array.isArray(info[9]) ? [...info[9]].sort((a, b) => (a[0] < b[0] ? -1 : 1)) : [];
  commands.push([info[0], cats(info), subs.map((s) => [s[0], cats(s)])]);
}
sock.end();
const dest = process.argv[3] ?? new URL('../src/commands/generated/acl-categories.json', import.meta.url);
fs.writeFileSync(
  dest,
  JSON.stringify({ generatedBy: 'scripts/gen-acl-categories.mjs from redis-server 7.0.15; do not edit', categories, commands }) + '\n',
);
console.log(`wrote ${categories.length} categories, ${commands.length} commands`);
