#!/usr/bin/env node
// Generates src/commands/generated/acl-categories.json from a real redis-server 7:
// the ACL categories in ACL CAT's order, and every command and subcommand
// redis-server knows (COMMAND INFO of all of them) with its categories. raftis's
// ACL bitmaps, +@category, ACL CAT and the category choice of ACL LIST / GETUSER
// are computed over this universe, so they match redis-server's (acl.ts).
// Usage: node scripts/gen-acl-categories.mjs [port] [output]   (a redis-server must listen on port)
import fs from 'node:fs';
import { connectResp } from './resp3-read.mjs';

const port = Number(process.argv[2] ?? 6379);

const conn = await connectResp(port);
const call = conn.call;
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
conn.close();
const dest = process.argv[3] ?? new URL('../src/commands/generated/acl-categories.json', import.meta.url);
fs.writeFileSync(
  dest,
  JSON.stringify({ generatedBy: 'scripts/gen-acl-categories.mjs from redis-server 7.0.15; do not edit', categories, commands }) + '\n',
);
console.log(`wrote ${categories.length} categories, ${commands.length} commands`);
