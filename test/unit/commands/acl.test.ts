/**
 * The ACL state machine part, without a server: the entry's user field,
 * SETUSER's replicated form (hashes only), the snapshot section round trip
 * (the same users, the same bitmaps), the seed rule (a snapshot no entry
 * ever changed leaves start-up's users), and the category table's
 * generator against redis-server.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Acl, Denied, sha256Hex } from '../../../src/commands/engine/acl.js';
import { EntryKind, NOPERM_IN_EXEC, decodeStateEntry, encodeStateEntry, type CommandEntry } from '../../../src/commands/engine/entry.js';
import { forwardedAclRefusal } from '../../../src/commands/engine/proxy.js';
import { decodeForwardCommand, encodeForwardCommand, type ForwardCommand } from '../../../src/transport/forward.js';
import { hashPasswords } from '../../../src/commands/acl.js';
import { CommandTable } from '../../../src/commands/table.js';
import { appliedCommands, connCommands, dataCommands } from '../../../src/commands/handlers.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';

const table = new CommandTable({ data: dataCommands, conn: connCommands, applied: appliedCommands });
const def = (...argv: string[]) => table.lookup(argv)!;

describe('ACL state', () => {
  it('entries carry the ACL user after the unblock string', () => {
    const e: CommandEntry = { kind: EntryKind.Commands, time: 1.5e12, multi: false, cmds: [['EVAL', 'return 1', '0']], unblock: 'x', user: 'alice\xff' };
    expect(decodeStateEntry(encodeStateEntry(e))).toEqual(e);
    const plain: CommandEntry = { kind: EntryKind.Commands, time: 1.5e12, multi: false, cmds: [['SET', 'k', 'v']] };
    expect(decodeStateEntry(encodeStateEntry(plain))).toEqual(plain);
  });

  it('the default user as it starts may run everything: no check per command, no user in its entries', () => {
    const a = new Acl(table);
    expect(a.defaultUser.allowsAll).toBe(true);
    const d = a.staged('default');
    expect(a.applySetUser(d, ['resetchannels'])).toBeUndefined();
    a.commitUser(d);
    expect(a.defaultUser.allowsAll).toBe(false);
    const back = a.staged('default');
    expect(a.applySetUser(back, ['&*'])).toBeUndefined();
    a.commitUser(back);
    expect(a.defaultUser.allowsAll).toBe(true);
  });

  it('SETUSER is replicated with password hashes only', () => {
    expect(hashPasswords(['ACL', 'SETUSER', '>u', '>p', '<q', '~>k', '#h'])).toEqual(['ACL', 'SETUSER', '>u', '#' + sha256Hex('p'), '!' + sha256Hex('q'), '~>k', '#h']);
    expect(sha256Hex('p1')).toBe('f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a');
  });

  it('a snapshot section restores the same users and permissions; an untouched one keeps the seed', () => {
    const a = new Acl(table);
    const u = a.staged('alice');
    expect(a.applySetUser(u, ['on', '#' + sha256Hex('pw'), '~k*', '%R~r*', '&ch', '-@all', '+@hash', '+get', '-hset', '+select|0', '(~s* +set)'])).toBeUndefined();
    a.commitUser(u);
    a.touched = true;
    const b = new Acl(table);
    expect(b.restore(a.snapshotState())).toBeUndefined();
    expect(b.serialize()).toBe(a.serialize());
    const alice = b.users.get('alice')!;
    expect(b.checkCredentials('alice', 'pw')).toBe(alice);
    expect(b.check(alice, def('get', 'k1'), ['get', 'k1']).denied).toBe(Denied.Ok);
    expect(b.check(alice, def('get', 'x'), ['get', 'x']).denied).toBe(Denied.Key);
    expect(b.check(alice, def('hset', 'k', 'f', 'v'), ['hset', 'k', 'f', 'v']).denied).toBe(Denied.Cmd);
    expect(b.check(alice, def('set', 'r1', 'v'), ['set', 'r1', 'v']).denied).toBe(Denied.Key);
    expect(b.check(alice, def('set', 's1', 'v'), ['set', 's1', 'v']).denied).toBe(Denied.Ok);
    expect(b.check(alice, def('select', '0'), ['select', '0']).denied).toBe(Denied.Ok);
    expect(b.check(alice, def('publish', 'other', 'm'), ['publish', 'other', 'm']).denied).toBe(Denied.Cmd);

    // Nothing replicated ever changed the users: the seed (--requirepass) stays.
    const seeded = new Acl(table);
    const d = seeded.staged('default');
    seeded.applySetUser(d, ['resetpass', '>seed']);
    seeded.commitUser(d);
    expect(seeded.restore(new Acl(table).snapshotState())).toBeUndefined();
    expect(seeded.checkCredentials('default', 'seed')).toBe(seeded.defaultUser);
    expect(seeded.authRequired).toBe(true);
  });
});

describe('generated ACL category table', () => {
  let redis: RedisServer;
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-gen-')), 'acl.json');
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });
  it('is what scripts/gen-acl-categories.mjs produces from redis-server', async () => {
    const run = promisify(execFile);
    const { stdout: version } = await run('redis-server', ['--version']);
    if (!version.includes('v=7.0.')) return;
    await run(process.execPath, ['scripts/gen-acl-categories.mjs', String(redis.port), out]);
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync('src/commands/generated/acl-categories.json', 'utf8'));
  });
});

describe('a forwarded command checked on the leader (--follower-writes proxy)', () => {
  const table = new CommandTable({ data: dataCommands, conn: connCommands, applied: appliedCommands });
  const acl = new Acl(table);
  const u = acl.staged('bob');
  acl.applySetUser(u, ['on', 'nopass', '~k*', '-@all', '+get', '+set', '+multi', '+exec']);
  acl.commitUser(u);
  const fwd = (cmds: string[][], multi = false): ForwardCommand => ({ id: 1, proto: 2, multi, cmds, user: 'bob' });
  const defs = (cmds: string[][]) => cmds.map((c) => table.lookup(c));

  it("answers NOPERM for the leader's copy of the user, logs it there, and lets allowed commands through", () => {
    const ok = fwd([['SET', 'k1', 'v']]);
    expect(forwardedAclRefusal(acl, acl.users.get('bob'), ok, defs(ok.cmds), 2, table)).toBeUndefined();
    const cmd = fwd([['DEL', 'k1']]);
    expect(forwardedAclRefusal(acl, acl.users.get('bob'), cmd, defs(cmd.cmds), 2, table)).toBe("NOPERM this user has no permissions to run the 'del' command");
    const key = fwd([['SET', 'other', 'v']]);
    expect(forwardedAclRefusal(acl, acl.users.get('bob'), key, defs(key.cmds), 2, table)).toBe('NOPERM this user has no permissions to access one of the keys used as arguments');
    expect(acl.log.slice(0, 2).map((e) => [e.reason, e.context, e.object, e.username, e.cinfo])).toEqual([
      [Denied.Key, 'toplevel', 'other', 'bob', 'forwarded by node 2'],
      [Denied.Cmd, 'toplevel', 'del', 'bob', 'forwarded by node 2'],
    ]);
  });

  it('in a transaction, replaces only the denied commands by their NOPERM answer, as EXEC does', () => {
    const tx = fwd([['SET', 'k1', 'v'], ['DEL', 'k1'], ['GET', 'k1']], true);
    expect(forwardedAclRefusal(acl, acl.users.get('bob'), tx, defs(tx.cmds), 3, table)).toBeUndefined();
    expect(tx.cmds[0]).toEqual(['SET', 'k1', 'v']);
    expect(tx.cmds[1]![0]).toBe(NOPERM_IN_EXEC);
    expect(tx.cmds[1]![1]).toMatch(/^NOPERM ACLs rules changed .* no permission to execute the command or subcommand$/);
    expect(tx.cmds[2]).toEqual(['GET', 'k1']);
  });

  it("refuses a deleted user's commands, and the user travels in the frame", () => {
    const cmd = fwd([['GET', 'k1']]);
    expect(forwardedAclRefusal(acl, undefined, cmd, defs(cmd.cmds), 2, table)).toBe("NOPERM this user has no permissions to run the 'get' command");
    const unknown = fwd([['NOSUCH', 'k1']]);
    expect(forwardedAclRefusal(acl, undefined, unknown, defs(unknown.cmds), 2, table)).toBe("NOPERM this user has no permissions to run the 'nosuch' command");
    expect(decodeForwardCommand(encodeForwardCommand(cmd))).toEqual(cmd);
  });
});
