#!/usr/bin/env node
// The cluster page's plain files (src/server/page: HTML, JS, CSS) go beside
// the compiled server (dist/server/page), where src/server/cluster-page.ts
// reads them. tsc copies only what it compiles; this is the rest of the build.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const from = path.join(root, 'src', 'server', 'page');
const to = path.join(root, 'dist', 'server', 'page');
fs.rmSync(to, { recursive: true, force: true });
fs.mkdirSync(to, { recursive: true });
for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
