/**
 * The ACL command (acl.c's aclCommand). The users are replicated state
 * (engine/acl.ts): SETUSER, DELUSER and LOAD are checked on the node that
 * receives them and then proposed as log entries, applied on every node
 * (aclApplied); a follower sends them to the leader (MOVED, or forwarded in
 * proxy mode). What is replicated carries password hashes only: `>pass`
 * and `<pass` become `#sha256` and `!sha256` before the entry is proposed,
 * and ACL LOAD proposes the users it read, described as ACL SAVE writes them.
 * The other subcommands answer from this node's copy.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Acl, Denied, hasSpaces, sha256Hex } from './engine/acl.js';
import type { User } from './engine/acl.js';
import { formatG17 } from '../util/double.js';
import { string2ll } from '../util/number.js';
import { ERR, arityError } from './errors.js';
import { writeHelp } from './help.js';
import { redirectError } from './routing.js';
import type { ConnCtx, ConnHandler, HandlerSet } from './table.js';

const NO_ACL_FILE =
  'ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.';

/** SETUSER's arguments as replicated: cleartext passwords replaced by their SHA-256 (`>p` → `#h`, `<p` → `!h`). */
export function hashPasswords(argv: readonly string[]): string[] {
  const out = argv.slice();
  for (let i = 3; i < out.length; i++) {
    const a = out[i]!;
    if (a[0] === '>') out[i] = '#' + sha256Hex(a.slice(1));
    else if (a[0] === '<') out[i] = '!' + sha256Hex(a.slice(1));
  }
  return out;
}

/** Proposes a replicated ACL command (as CONFIG SET of a cluster-wide parameter): on the leader, forwarded or redirected elsewhere. */
function propose({ c, w, engine }: ConnCtx, sent: string[]): void {
  const node = engine.node;
  if (node.isLeader) return engine.dispatcher.propose(c, [sent], false);
  if (engine.proxy?.forward(c, [sent], false, true) === true) return;
  w.error(redirectError(node, engine.table.lookup(sent)!, sent, engine.config.get('cluster-preferred-endpoint-type')));
}

/** Hides SETUSER's arguments from SLOWLOG and MONITOR, as redactClientCommandArgument. */
function redact(argv: string[], from: number): void {
  for (let i = from; i < argv.length; i++) argv[i] = '(redacted)';
}

function setuser(ctx: ConnCtx, argv: string[]): void {
  const { engine, w } = ctx;
  const name = argv[2]!;
  const original = argv.slice();
  const sent = hashPasswords(argv);
  redact(argv, 2);
  if (hasSpaces(name)) return w.error("ERR Usernames can't contain spaces or null characters");
  // Checked here so that a bad modifier costs no entry; every node checks again when applying (same users, same answer).
  const error = engine.acl.applySetUser(engine.acl.staged(name), original.slice(3));
  if (error !== undefined) return w.error(error);
  propose(ctx, sent);
}

function deluser(ctx: ConnCtx, argv: string[]): void {
  for (let i = 2; i < argv.length; i++) if (argv[i] === 'default') return ctx.w.error("ERR The 'default' user cannot be removed");
  propose(ctx, argv.slice());
}

/** ACL LOAD: this node's file, checked here; its users, described with hashes only, are the entry. */
function load(ctx: ConnCtx, _argv: string[]): void {
  const { engine, w } = ctx;
  const file = engine.config.get('aclfile');
  if (file === '') return w.error(NO_ACL_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (err) {
    return w.error(`ERR Error loading ACLs, opening file '${file}': ${(err as Error).message}`);
  }
  const users = engine.acl.parseFile(text, file);
  if (typeof users === 'string') return w.error(`ERR ${users}`);
  propose(ctx, ['ACL', 'LOAD', describeUsers(engine.acl, users)]);
}

function describeUsers(acl: Acl, users: Map<string, User>): string {
  let out = '';
  for (const u of [...users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) out += `user ${u.name} ${acl.describeUser(u)}\n`;
  return out;
}

/** ACL SAVE: this node's file (ACLSaveToFile: a temporary file renamed over it). */
function save({ engine, w }: ConnCtx, _argv: string[]): void {
  const file = engine.config.get('aclfile');
  if (file === '') return w.error(NO_ACL_FILE);
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, Buffer.from(engine.acl.serialize(), 'latin1'));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing more to clean.
    }
    return w.error('ERR There was an error trying to save the ACLs. Please check the server logs for more information');
  }
  w.ok();
}

/** aclAddReplySelectorDescription: commands, keys, channels. */
function writeSelector(acl: Acl, ctx: ConnCtx, s: User['selectors'][number]): void {
  const w = ctx.w;
  w.bulk('commands');
  w.bulk(acl.describeCommands(s));
  w.bulk('keys');
  w.bulk(s.allKeys ? '~*' : s.patterns.map((p) => Acl.patternString(p)).join(' '));
  w.bulk('channels');
  w.bulk(s.allChannels ? '&*' : s.channels.map((c) => `&${c}`).join(' '));
}

function getuser(ctx: ConnCtx, argv: string[]): void {
  const { engine, w } = ctx;
  const acl = engine.acl;
  const u = acl.users.get(argv[2]!);
  if (u === undefined) return w.nil();
  w.mapHeader(6);
  w.bulk('flags');
  const flags = Acl.flags(u);
  w.setHeader(flags.length);
  for (const f of flags) w.bulk(f);
  w.bulk('passwords');
  w.arrayHeader(u.passwords.length);
  for (const p of u.passwords) w.bulk(p);
  writeSelector(acl, ctx, u.root);
  w.bulk('selectors');
  w.arrayHeader(u.selectors.length - 1);
  for (const s of u.selectors.slice(1)) {
    w.mapHeader(3);
    writeSelector(acl, ctx, s);
  }
}

function list({ engine, w }: ConnCtx, _argv: string[]): void {
  const users = engine.acl.sortedUsers();
  w.arrayHeader(users.length);
  for (const u of users) w.bulk(`user ${u.name} ${engine.acl.describeUser(u)}`);
}

function users({ engine, w }: ConnCtx, _argv: string[]): void {
  const all = engine.acl.sortedUsers();
  w.arrayHeader(all.length);
  for (const u of all) w.bulk(u.name);
}

function cat({ engine, w }: ConnCtx, argv: string[]): void {
  const universe = engine.acl.universe;
  if (argv.length === 2) return w.bulkArray(universe.categories);
  const flag = universe.catFlag(argv[2]!);
  if (flag === 0) return w.error(`ERR Unknown category '${argv[2]}'`);
  const names: string[] = [];
  for (const c of universe.walk()) if ((c.cats & flag) !== 0) names.push(c.name);
  w.bulkArray(names);
}

function genpass({ w }: ConnCtx, argv: string[]): void {
  let bits = 256;
  if (argv.length === 3) {
    const n = string2ll(argv[2]!);
    if (n === null) return w.error(ERR.notInteger);
    if (n <= 0n || n > 4096n) return w.error('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
    bits = Number(n);
  }
  const chars = Math.floor((bits + 3) / 4);
  w.bulk(crypto.randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
}

const REASONS: Record<number, string> = { [Denied.Cmd]: 'command', [Denied.Key]: 'key', [Denied.Channel]: 'channel', [Denied.Auth]: 'auth' };

function log({ engine, w }: ConnCtx, argv: string[]): void {
  const acl = engine.acl;
  let count = 10;
  if (argv.length === 3) {
    if (argv[2]!.toLowerCase() === 'reset') {
      acl.log.length = 0;
      return w.ok();
    }
    const n = string2ll(argv[2]!);
    if (n === null) return w.error(ERR.notInteger);
    count = n < 0n ? 0 : Number(n > 1000000n ? 1000000n : n);
  }
  count = Math.min(count, acl.log.length);
  const now = Date.now();
  w.arrayHeader(count);
  for (let i = 0; i < count; i++) {
    const e = acl.log[i]!;
    w.mapHeader(7);
    w.bulk('count');
    w.int(e.count);
    w.bulk('reason');
    w.bulk(REASONS[e.reason] ?? 'unknown');
    w.bulk('context');
    w.bulk(e.context);
    w.bulk('object');
    w.bulk(e.object);
    w.bulk('username');
    w.bulk(e.username);
    w.bulk('age-seconds');
    w.double(formatG17((now - e.ctime) / 1000));
    w.bulk('client-info');
    w.bulk(e.cinfo);
  }
}

function dryrun({ engine, w }: ConnCtx, argv: string[]): void {
  const u = engine.acl.users.get(argv[2]!);
  if (u === undefined) return w.error(`ERR User '${argv[2]}' not found`);
  const cmdArgv = argv.slice(3);
  const def = engine.table.lookup(cmdArgv);
  if (def === undefined || (def.subcommands !== undefined && cmdArgv.length >= 2)) return w.error(`ERR Command '${argv[3]}' not found`);
  const arity = def.meta.arity;
  if ((arity > 0 && cmdArgv.length !== arity) || cmdArgv.length < -arity) return w.error(arityError(def.name));
  const r = engine.acl.check(u, def, cmdArgv);
  if (r.denied === Denied.Ok) return w.ok();
  if (r.denied === Denied.Cmd) return w.bulk(`This user has no permissions to run the '${def.name}' command`);
  if (r.denied === Denied.Key) return w.bulk(`This user has no permissions to access the '${cmdArgv[r.pos]}' key`);
  w.bulk(`This user has no permissions to access the '${cmdArgv[r.pos]}' channel`);
}

export const aclCommands: Record<string, ConnHandler> = {
  'acl|setuser': setuser,
  'acl|deluser': deluser,
  'acl|load': load,
  'acl|save': save,
  'acl|getuser': getuser,
  'acl|list': list,
  'acl|users': users,
  'acl|whoami': ({ c, w }) => w.bulk(c.user.name),
  'acl|cat': cat,
  'acl|genpass': genpass,
  'acl|log': log,
  'acl|dryrun': dryrun,
  'acl|help': ({ w }) =>
    writeHelp(w, 'acl', [
      'CAT [<category>]',
      '    List all commands that belong to <category>, or all command categories',
      '    when no category is specified.',
      'DELUSER <username> [<username> ...]',
      '    Delete a list of users.',
      'DRYRUN <username> <command> [<arg> ...]',
      '    Returns whether the user can execute the given command without executing the command.',
      'GETUSER <username>',
      "    Get the user's details.",
      'GENPASS [<bits>]',
      '    Generate a secure 256-bit user password. The optional `bits` argument can',
      '    be used to specify a different size.',
      'LIST',
      '    Show users details in config file format.',
      'LOAD',
      '    Reload users from the ACL file.',
      'LOG [<count> | RESET]',
      '    Show the ACL log entries.',
      'SAVE',
      '    Save the current config to the ACL file.',
      'SETUSER <username> <attribute> [<attribute> ...]',
      '    Create or modify a user with the specified attributes.',
      'USERS',
      '    List all the registered usernames.',
      'WHOAMI',
      '    Return the current connection username.',
    ]),
};

const always = (): boolean => true;

/** What applying an ACL entry does on every node. */
export const aclApplied: NonNullable<HandlerSet['applied']> = {
  'acl|setuser': {
    when: always,
    apply: ({ acl }, argv, w) => {
      const staged = acl.staged(argv[2]!);
      const error = hasSpaces(argv[2]!) ? "ERR Usernames can't contain spaces or null characters" : acl.applySetUser(staged, argv.slice(3));
      if (error !== undefined) return w.error(error);
      acl.onUserChanged(acl.commitUser(staged));
      acl.touched = true;
      w.ok();
    },
  },
  'acl|deluser': {
    when: always,
    apply: ({ acl }, argv, w) => {
      for (let i = 2; i < argv.length; i++) if (argv[i] === 'default') return w.error("ERR The 'default' user cannot be removed");
      let deleted = 0;
      for (let i = 2; i < argv.length; i++) if (acl.deleteUser(argv[i]!)) deleted++;
      acl.touched = true;
      w.int(deleted);
    },
  },
  'acl|load': {
    when: always,
    apply: ({ acl }, argv, w) => {
      // Only the leader's ACL LOAD proposes (with the users it read); a bare one queued in MULTI reads nothing here.
      if (argv.length !== 3) return w.error('ERR ACL LOAD inside a transaction is not supported by raftis');
      const users = acl.parseFile(argv[2]!, 'acl');
      if (typeof users === 'string') return w.error(`ERR ${users}`);
      acl.replaceAll(users);
      acl.touched = true;
      w.ok();
    },
  },
};
