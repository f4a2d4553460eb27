/**
 * The command table is generated from redis-server (scripts/gen-command-table.mjs):
 * regenerating it from the redis-server the tests use must give the committed file.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const run = promisify(execFile);
let redis: RedisServer;
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-gen-')), 'commands.json');

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
});

describe('generated command table', () => {
  it('is what scripts/gen-command-table.mjs produces from redis-server', async () => {
    const { stdout: version } = await run('redis-server', ['--version']);
    await run(process.execPath, ['scripts/gen-command-table.mjs', String(redis.port), out]);
    const fresh = fs.readFileSync(out, 'utf8');
    const committed = fs.readFileSync('src/commands/generated/redis-commands.json', 'utf8');
    // Whatever the version, the committed table describes exactly the commands the generator asks for (src/commands/supported.json), in its order.
    const names = (table: string): string[] => Object.keys(JSON.parse(table).commands);
    expect(names(committed)).toEqual(names(fresh));
    // Another Redis version describes them differently; the table records 7.0.15.
    if (!version.includes('v=7.0.')) return;
    expect(fresh).toBe(committed);
  });
});
