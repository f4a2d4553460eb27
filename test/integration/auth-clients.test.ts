/**
 * Real clients against a password and ACL users: ioredis with `password`
 * and with `username` + `password` (its HELLO 3 AUTH handshake and its
 * AUTH fallback), redis-cli with -a and with --user --pass; --requirepass
 * and --aclfile at start-up, ACL SAVE / LOAD with the file, users kept
 * across a restart; protected mode (a non-loopback client of a node bound
 * to every address gets Redis's DENIED line and is closed).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DENIED_PROTECTED, refusedByProtectedMode } from '../../src/commands/engine/engine.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

const run = promisify(execFile);
let node: RaftisProcess | undefined;
const clients: Redis[] = [];
const tmpDirs: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await node?.destroy();
  node = undefined;
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function ioredis(port: number, opts: { username?: string; password?: string; enableReadyCheck?: boolean }): Redis {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...opts });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), '--no-auth-warning', ...args], { timeout: 10_000 });
  return stdout.trim();
}

describe('clients with passwords and users', () => {
  it('ioredis and redis-cli with requirepass and with an ACL user', async () => {
    node = await startRaftis({ args: ['--requirepass', 'top secret'] });
    const port = node.port;
    // ioredis without a password: its HELLO 3 handshake is refused, as redis-server refuses it, and it gives up.
    const anon = ioredis(port, {});
    const seen: string[] = [];
    anon.on('error', (e: Error) => seen.push(e.message));
    await expect(anon.connect()).rejects.toThrow();
    expect(seen.join('\n')).toMatch(/^NOAUTH HELLO must be called with the client already authenticated/);
    const byPass = ioredis(port, { password: 'top secret' });
    await byPass.connect();
    expect(await byPass.set('k', 'v')).toBe('OK');
    expect(await byPass.call('ACL', 'SETUSER', 'app', 'on', '>app-pw', '~app:*', '+@all')).toBe('OK');
    const byUser = ioredis(port, { username: 'app', password: 'app-pw' });
    await byUser.connect();
    expect(await byUser.call('ACL', 'WHOAMI')).toBe('app');
    expect(await byUser.set('app:1', 'x')).toBe('OK');
    await expect(byUser.get('k')).rejects.toThrow('NOPERM this user has no permissions to access one of the keys used as arguments');
    const wrong = ioredis(port, { username: 'app', password: 'nope' });
    const wrongErrors: string[] = [];
    wrong.on('error', (e: Error) => wrongErrors.push(e.message));
    await expect(wrong.connect()).rejects.toThrow();
    expect(wrongErrors.join('\n')).toMatch(/WRONGPASS invalid username-password pair or user is disabled\./);

    expect(await cli(port, 'GET', 'k')).toBe('NOAUTH Authentication required.');
    expect(await cli(port, '-a', 'top secret', 'GET', 'k')).toBe('v');
    expect(await cli(port, '--user', 'app', '--pass', 'app-pw', 'GET', 'app:1')).toBe('x');
    expect(await cli(port, '--user', 'app', '--pass', 'app-pw', 'GET', 'k')).toBe('NOPERM this user has no permissions to access one of the keys used as arguments');
    // redis-cli reports the failed AUTH on stderr and sends the command anyway, as against redis-server.
    expect(await cli(port, '--user', 'app', '--pass', 'bad', 'PING')).toBe('NOAUTH Authentication required.');

    // Users are replicated state: they survive a restart (the log replayed; --requirepass seeds the default user).
    await node.stop();
    await node.restart();
    expect(await cli(port, '--user', 'app', '--pass', 'app-pw', 'GET', 'app:1')).toBe('x');
    expect(await cli(port, '-a', 'top secret', 'PING')).toBe('PONG');
  }, 60_000);

  it('--aclfile: users at start-up, ACL SAVE writes them, ACL LOAD replaces them and closes their clients', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-acl-'));
    tmpDirs.push(dir);
    const file = path.join(dir, 'users.acl');
    fs.writeFileSync(file, 'user default on nopass ~* &* +@all\nuser bob on >bob-pw ~b:* +get +set\n');
    node = await startRaftis({ args: ['--aclfile', file] });
    const port = node.port;
    expect(await cli(port, '--user', 'bob', '--pass', 'bob-pw', 'SET', 'b:1', 'v')).toBe('OK');
    expect(await cli(port, 'CONFIG', 'GET', 'aclfile')).toBe(`aclfile\n${file}`);
    expect(await cli(port, 'ACL', 'SETUSER', 'carol', 'on', '>carol-pw', '+@all', '~*')).toBe('OK');
    expect(await cli(port, 'ACL', 'SAVE')).toBe('OK');
    const saved = fs.readFileSync(file, 'utf8');
    expect(saved).toContain('user carol on #');
    expect(saved).not.toContain('carol-pw');
    const bob = await RawClient.connect(port);
    expect(await bob.call('AUTH', 'bob', 'bob-pw')).toBe('+OK\r\n');
    fs.writeFileSync(file, 'user bob on >bob-pw2 ~b:* +get\n');
    expect(await cli(port, 'ACL', 'LOAD')).toBe('OK');
    // ACL LOAD frees every user but the default one: their clients are closed, as Redis 7.0 does.
    expect(await bob.closedPromise()).toBe(true);
    expect(await cli(port, 'ACL', 'USERS')).toBe('bob\ndefault');
    expect(await cli(port, '--user', 'bob', '--pass', 'bob-pw2', 'SET', 'b:1', 'v')).toBe("NOPERM this user has no permissions to run the 'set' command");
    fs.writeFileSync(file, 'user bob on bogus\n');
    expect(await cli(port, 'ACL', 'LOAD')).toBe(`ERR ${file}:1: Syntax error.`);
  }, 60_000);
});

describe('protected mode', () => {
  it('refuses only non-loopback clients, only while the default user has no password', () => {
    expect(refusedByProtectedMode(true, '127.0.0.1')).toBe(false);
    expect(refusedByProtectedMode(true, '127.3.2.1')).toBe(false);
    expect(refusedByProtectedMode(true, '::1')).toBe(false);
    expect(refusedByProtectedMode(true, '::ffff:127.0.0.1')).toBe(false);
    expect(refusedByProtectedMode(true, '192.0.2.7')).toBe(true);
    expect(refusedByProtectedMode(true, '::ffff:10.0.0.1')).toBe(true);
    expect(refusedByProtectedMode(false, '192.0.2.7')).toBe(false);
  });

  // The machine's own non-loopback address reaches a node bound to every address as a non-loopback client.
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  it.runIf(external !== undefined)('a node bound to 0.0.0.0 answers a non-loopback client DENIED and closes it; with a password it serves it', async () => {
    node = await startRaftis({ args: ['--bind', '0.0.0.0'] });
    const c = await RawClient.connect(node.port, external);
    expect(await c.next()).toBe(`-${DENIED_PROTECTED}\r\n`);
    expect(await c.closedPromise()).toBe(true);
    // From loopback it is served; once the default user has a password, so is the outside client (it must AUTH).
    const local = await RawClient.connect(node.port);
    expect(await local.call('CONFIG', 'SET', 'requirepass', 'pw')).toBe('+OK\r\n');
    const c2 = await RawClient.connect(node.port, external);
    expect(await c2.call('PING')).toBe('-NOAUTH Authentication required.\r\n');
    expect(await c2.call('AUTH', 'pw')).toBe('+OK\r\n');
    c2.close();
    expect(await local.call('CONFIG', 'SET', 'requirepass', '')).toBe('+OK\r\n');
    expect(await local.call('CONFIG', 'SET', 'protected-mode', 'no')).toBe('+OK\r\n');
    const c3 = await RawClient.connect(node.port, external);
    expect(await c3.call('PING')).toBe('+PONG\r\n');
    c3.close();
    local.close();
  }, 30_000);
});
