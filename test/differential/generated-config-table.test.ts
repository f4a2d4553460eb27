/**
 * The parameter table is generated from redis-server (scripts/gen-config-table.mjs,
 * which starts its own redis-servers and probes them): regenerating it from
 * the installed redis-server must give the committed file.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-gen-')), 'config.json');

afterAll(() => {
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
});

describe('generated parameter table', () => {
  it('is what scripts/gen-config-table.mjs produces from redis-server', async () => {
    const committed = fs.readFileSync('src/commands/generated/redis-config.json', 'utf8');
    const names = JSON.parse(committed).params.map((p: { name: string }) => p.name);
    expect(names.length).toBeGreaterThan(150);
    const { stdout: version } = await run('redis-server', ['--version']);
    // Another Redis version has other parameters; the table records 7.0.15.
    if (!version.includes('v=7.0.')) return;
    await run(process.execPath, ['scripts/gen-config-table.mjs', out], { timeout: 120_000 });
    expect(fs.readFileSync(out, 'utf8')).toBe(committed);
  }, 180_000);
});
