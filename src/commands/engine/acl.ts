/**
 * ACL users, as redis-server 7.0.15's acl.c: users with passwords (SHA-256
 * hex), flags, and selectors (the root one plus `(…)` ones), each selector a
 * bitmap over every command Redis knows (generated/acl-categories.json,
 * scripts/gen-acl-categories.mjs) plus key and channel patterns.
 *
 * Users are replicated state: ACL SETUSER, DELUSER, LOAD and a CONFIG SET of
 * requirepass are log entries applied on every node (src/commands/acl.ts),
 * and the users are a section of the state machine's snapshot (the same
 * text ACL SAVE writes). What a client is authenticated as, and the ACL
 * LOG, are this node's own, as in Redis.
 *
 * The hot path: a client whose user may run everything (User.allowsAll, the
 * default user as it starts) costs the dispatcher one property read.
 */
import crypto from 'node:crypto';
import categoriesJson from '../generated/acl-categories.json' with { type: 'json' };
import { globMatch } from '../../keyspace/glob.js';
import { commandKeyRefs } from '../keys.js';
import type { CommandDef, CommandTable } from '../table.js';
import type { ClientUser } from '../../server/client.js';
import { NOPERM_IN_EXEC } from './entry.js';

/** The result of a permission check (acl.c's ACL_OK, ACL_DENIED_*). */
export const enum Denied {
  Ok = 0,
  Cmd = 1,
  Key = 2,
  Auth = 3,
  Channel = 4,
}

const READ = 1;
const WRITE = 2;
const ALL_PERMS = READ | WRITE;

/** One command of the ACL universe: an id for the bitmaps, its categories, its subcommands. */
interface UCommand {
  id: number;
  name: string;
  cats: number;
  subs: UCommand[] | undefined;
  parent: UCommand | undefined;
}

/** Every command Redis 7.0.15 knows (and raftis's own), the categories, in Redis's orders. */
class Universe {
  readonly categories: readonly string[];
  readonly top: UCommand[] = [];
  readonly byName = new Map<string, UCommand>();
  size = 0;

  constructor(table: CommandTable) {
    const gen = categoriesJson as unknown as { categories: string[]; commands: [string, string[], [string, string[]][]][] };
    this.categories = gen.categories;
    for (const [name, cats, subs] of gen.commands) this.add(name, cats, subs);
    // raftis's own commands (RAFT.*, CLIENT SETINFO…): categories from their COMMAND INFO.
    for (const def of table.all()) {
      const top = this.byName.get(def.name);
      if (top === undefined) {
        this.add(
          def.name,
          infoCats(def),
          [...(def.subcommands?.values() ?? [])].map((s) => [s.name, infoCats(s)]),
        );
      } else {
        for (const s of def.subcommands?.values() ?? []) {
          if (this.byName.has(s.name)) continue;
          const u = this.make(s.name, infoCats(s), top);
          (top.subs ??= []).push(u);
        }
      }
    }
  }

  private add(name: string, cats: readonly string[], subs: readonly (readonly [string, readonly string[]])[]): void {
    const u = this.make(name, cats, undefined);
    if (subs.length > 0) u.subs = subs.map(([n, c]) => this.make(n, c, u));
    this.top.push(u);
  }

  private make(name: string, cats: readonly string[], parent: UCommand | undefined): UCommand {
    const u: UCommand = { id: this.size++, name, cats: this.catMask(cats), subs: undefined, parent };
    this.byName.set(name, u);
    return u;
  }

  private catMask(cats: readonly string[]): number {
    let m = 0;
    for (const c of cats) {
      const i = this.categories.indexOf(c);
      if (i >= 0) m |= 1 << i;
    }
    return m;
  }

  /** A category's flag (0: unknown), case-insensitive as ACLGetCommandCategoryFlagByName. */
  catFlag(name: string): number {
    const i = this.categories.findIndex((c) => c.toLowerCase() === name.toLowerCase());
    return i < 0 ? 0 : 1 << i;
  }

  /** ACLLookupCommand: "name" or "container|sub", case-insensitive. */
  lookup(name: string): UCommand | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** Every command, each followed by its subcommands (the walks of acl.c over server.orig_commands). */
  *walk(): Generator<UCommand> {
    for (const c of this.top) {
      yield c;
      if (c.subs !== undefined) yield* c.subs;
    }
  }
}

function infoCats(def: CommandDef): string[] {
  const set = (def.info[6] as { set?: ({ s: string } | string)[] } | undefined)?.set ?? [];
  return set.map((c) => (typeof c === 'string' ? c : c.s).replace(/^@/, ''));
}

interface KeyPattern {
  pattern: string;
  flags: number;
}

/** A selector: what commands, keys and channels it allows (acl.c's aclSelector). */
export class Selector {
  bits: Uint8Array;
  /** The reserved "future commands" bit: set only by +@all / allcommands. */
  future = false;
  /** SELECTOR_FLAG_ALLCOMMANDS: every bit set since +@all, none cleared. */
  allCommands = false;
  /** Allowed first arguments of a command otherwise denied (+select|0), by command id. */
  firstArgs: Map<number, string[]> | undefined;
  allKeys = false;
  patterns: KeyPattern[] = [];
  allChannels = false;
  channels: string[] = [];

  constructor(
    size: number,
    readonly root: boolean,
  ) {
    this.bits = new Uint8Array(size);
  }

  clone(): Selector {
    const s = new Selector(0, this.root);
    s.bits = this.bits.slice();
    s.future = this.future;
    s.allCommands = this.allCommands;
    if (this.firstArgs !== undefined) s.firstArgs = new Map([...this.firstArgs].map(([k, v]) => [k, [...v]]));
    s.allKeys = this.allKeys;
    s.patterns = this.patterns.map((p) => ({ ...p }));
    s.allChannels = this.allChannels;
    s.channels = [...this.channels];
    return s;
  }
}

export class User implements ClientUser {
  enabled = false;
  nopass = false;
  /** 0: neither, 1: skip-sanitize-payload, 2: sanitize-payload. */
  sanitize = 0;
  passwords: string[] = [];
  selectors: Selector[];
  /** May run every command on every key and channel: the dispatcher skips the check (the hot path). */
  allowsAll = false;

  constructor(
    readonly name: string,
    size: number,
    /** acl-pubsub-default is allchannels: a new user's root selector starts with every channel (ACLCreateSelector). */
    allChannels = false,
  ) {
    const root = new Selector(size, true);
    root.allChannels = allChannels;
    this.selectors = [root];
  }

  get root(): Selector {
    return this.selectors[0]!;
  }

  /** ACLCopyUser: takes every property of `from` (in place: clients keep pointing at this user). */
  copyFrom(from: User): void {
    this.enabled = from.enabled;
    this.nopass = from.nopass;
    this.sanitize = from.sanitize;
    this.passwords = [...from.passwords];
    this.selectors = from.selectors.map((s) => s.clone());
    this.updateAllowsAll();
  }

  updateAllowsAll(): void {
    const r = this.root;
    this.allowsAll = r.allCommands && r.allKeys && r.allChannels;
  }
}

/** acl.c's ACLSetUserStringError texts, by what went wrong. */
const SETUSER_ERR = {
  unknown: 'Unknown command or category name in ACL',
  syntax: 'Syntax error',
  keysAfterAll:
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
  channelsAfterAll:
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
  noSuchPassword: 'The password you are trying to remove from the user does not exist',
  badHash: 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters',
  firstArgOfSub: 'Allowing first-arg of a subcommand is not supported',
} as const;

class SetUserError extends Error {}

export function sha256Hex(password: string): string {
  return crypto.createHash('sha256').update(Buffer.from(password, 'latin1')).digest('hex');
}

function validHash(h: string): boolean {
  return /^[0-9a-f]{64}$/.test(h);
}

/** ACLStringHasSpaces: spaces or NUL. */
export function hasSpaces(s: string): boolean {
  return /[ \0]/.test(s);
}

/** ACL LOG entry (acl.c's ACLLogEntry). */
interface LogEntry {
  count: number;
  reason: Denied;
  context: 'toplevel' | 'multi' | 'lua';
  object: string;
  username: string;
  ctime: number;
  cinfo: string;
}

/** The NOPERM replies of processCommand. */
const EXEC_DENIED_REASON: Record<number, string> = {
  [Denied.Cmd]: 'no permission to execute the command or subcommand',
  [Denied.Key]: 'no permission to touch the specified keys',
  [Denied.Channel]: 'no permission to access one of the channels used as arguments',
};

/** execCommand's NOPERM for a queued command its user may no longer run when EXEC comes. */
export function execNopermError(denied: Denied): string {
  return (
    'NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ' +
    (EXEC_DENIED_REASON[denied] ?? 'no permission')
  );
}

/**
 * EXEC's second check (execCommand): each of a transaction's commands the
 * user may no longer run is replaced, in place, by `[NOPERM_IN_EXEC, its
 * NOPERM answer]` and logged in ACL LOG; the others run.
 */
export function markDeniedInExec(acl: Acl, user: User, cmds: string[][], table: CommandTable, cinfo: string): void {
  for (let i = 0; i < cmds.length; i++) {
    const argv = cmds[i]!;
    const def = table.lookup(argv);
    if (def === undefined) continue;
    const r = acl.check(user, def, argv);
    if (r.denied === Denied.Ok) continue;
    acl.addLog(r.denied, 'multi', r.denied === Denied.Cmd ? def.name : argv[r.pos]!, user.name, cinfo);
    cmds[i] = [NOPERM_IN_EXEC, execNopermError(r.denied)];
  }
}

export function nopermError(denied: Denied, def: CommandDef): string {
  if (denied === Denied.Cmd) return `NOPERM this user has no permissions to run the '${def.name}' command`;
  if (denied === Denied.Key) return 'NOPERM this user has no permissions to access one of the keys used as arguments';
  if (denied === Denied.Channel) return 'NOPERM this user has no permissions to access one of the channels used as arguments';
  return 'no permission';
}

/** scriptCall's errors for a denied redis.call (without "ERR "). */
export function scriptNopermError(denied: Denied): string {
  const why =
    denied === Denied.Cmd
      ? "can't run this command or subcommand"
      : denied === Denied.Key
        ? "can't access at least one of the keys mentioned in the command arguments"
        : denied === Denied.Channel
          ? "can't publish to the channel mentioned in the command"
          : 'is lacking the permissions for the command';
  return `The user executing the script ${why}`;
}

const CHANNEL_PUBLISH = 1;
const CHANNEL_SUBSCRIBE = 2;
const CHANNEL_PATTERN = 4;

/** getChannelsFromCommand for the commands raftis has: which arguments are channels, and how. */
function channelArgs(name: string, argc: number): { from: number; to: number; flags: number } | undefined {
  switch (name) {
    case 'publish':
    case 'spublish':
      return { from: 1, to: 1, flags: CHANNEL_PUBLISH };
    case 'subscribe':
    case 'ssubscribe':
      return { from: 1, to: argc - 1, flags: CHANNEL_SUBSCRIBE };
    case 'psubscribe':
      return { from: 1, to: argc - 1, flags: CHANNEL_SUBSCRIBE | CHANNEL_PATTERN };
    default:
      return undefined;
  }
}

export class Acl {
  readonly universe: Universe;
  readonly users = new Map<string, User>();
  readonly defaultUser: User;
  /** An applied entry (or a snapshot) has changed the users: start-up's seed (--requirepass, --aclfile) no longer decides. */
  touched = false;
  readonly log: LogEntry[] = [];
  logMaxLen = 128;
  /**
   * acl-pubsub-default is allchannels (cluster-wide: users are created when entries are applied, so every
   * replica must create them alike): new users and selectors start with every channel, and `reset` grants them.
   */
  pubsubDefaultAll = false;
  /** Told of a user deleted, or replaced by ACL LOAD: the engine closes its clients on this node. */
  onUserGone: (u: User) => void = () => {};
  /** Told of a user an applied SETUSER changed: the engine closes its pub/sub clients whose subscriptions it no longer allows. */
  onUserChanged: (u: User) => void = () => {};

  /**
   * ACLKillPubsubClientsIfNeeded (7.0): whether the user's root selector
   * still allows a subscription (a channel by glob, a pattern literally).
   */
  allowsSubscription(u: User, channel: string, pattern: boolean): boolean {
    const r = u.root;
    if (r.allChannels) return true;
    return r.channels.some((p) => (pattern ? p === channel : globMatch(p, channel)));
  }

  constructor(table: CommandTable) {
    this.universe = new Universe(table);
    this.defaultUser = this.createDefaultUser();
    this.users.set('default', this.defaultUser);
  }

  /** ACLCreateDefaultUser: +@all ~* &* on nopass. */
  private createDefaultUser(): User {
    const u = new User('default', this.universe.size);
    for (const op of ['+@all', '~*', '&*', 'on', 'nopass']) this.setUser(u, op);
    // Without it every client of the default user took the full check per command and put its name in every entry.
    u.updateAllowsAll();
    return u;
  }

  /** authRequired: the default user has a password (or is off), so new and unauthenticated clients must AUTH. */
  get authRequired(): boolean {
    return !this.defaultUser.nopass || !this.defaultUser.enabled;
  }

  /** Whether a client created now starts authenticated (createClient). */
  get startsAuthenticated(): boolean {
    return this.defaultUser.nopass && this.defaultUser.enabled;
  }

  /** ACLCheckUserCredentials: the user exists, is on, and the password matches (or it is nopass). */
  checkCredentials(name: string, password: string): User | undefined {
    const u = this.users.get(name);
    if (u === undefined || !u.enabled) return undefined;
    if (u.nopass) return u;
    const h = sha256Hex(password);
    return u.passwords.includes(h) ? u : undefined;
  }

  newUser(name: string): User {
    return new User(name, this.universe.size, this.pubsubDefaultAll);
  }

  /** A copy to stage a SETUSER on (ACLCreateUnlinkedUser + ACLCopyUser). */
  staged(name: string): User {
    const u = this.newUser(name);
    const cur = this.users.get(name);
    if (cur !== undefined) u.copyFrom(cur);
    return u;
  }

  /**
   * ACL SETUSER's arguments applied to `u` (a staged copy), all or none:
   * undefined, or the error reply without "-".
   */
  applySetUser(u: User, ops: readonly string[]): string | undefined {
    const merged = mergeSelectorArgs(ops);
    if (typeof merged === 'number') return `ERR Unmatched parenthesis in acl selector starting at '${ops[merged]}'.`;
    for (const op of merged) {
      try {
        this.setUser(u, op);
      } catch (e) {
        if (!(e instanceof SetUserError)) throw e;
        return `ERR Error in ACL SETUSER modifier '${op}': ${e.message}`;
      }
    }
    u.updateAllowsAll();
    return undefined;
  }

  /** Stores a staged user: the existing user object takes its properties (its clients see them at their next command). */
  commitUser(staged: User): User {
    let u = this.users.get(staged.name);
    if (u === undefined) {
      u = this.newUser(staged.name);
      this.users.set(staged.name, u);
    }
    u.copyFrom(staged);
    return u;
  }

  deleteUser(name: string): boolean {
    const u = this.users.get(name);
    if (u === undefined || u === this.defaultUser) return false;
    this.users.delete(name);
    this.onUserGone(u);
    return true;
  }

  /** ACLSetUser: one operation on a user. */
  private setUser(u: User, op: string): void {
    const lower = op.toLowerCase();
    if (lower === 'on') u.enabled = true;
    else if (lower === 'off') u.enabled = false;
    else if (lower === 'skip-sanitize-payload') u.sanitize = 1;
    else if (lower === 'sanitize-payload') u.sanitize = 2;
    else if (lower === 'nopass') {
      u.nopass = true;
      u.passwords = [];
    } else if (lower === 'resetpass') {
      u.nopass = false;
      u.passwords = [];
    } else if (op[0] === '>' || op[0] === '#') {
      const h = op[0] === '>' ? sha256Hex(op.slice(1)) : op.slice(1);
      if (op[0] === '#' && !validHash(h)) throw new SetUserError(SETUSER_ERR.badHash);
      if (!u.passwords.includes(h)) u.passwords.push(h);
      u.nopass = false;
    } else if (op[0] === '<' || op[0] === '!') {
      const h = op[0] === '<' ? sha256Hex(op.slice(1)) : op.slice(1);
      if (op[0] === '!' && !validHash(h)) throw new SetUserError(SETUSER_ERR.badHash);
      const i = u.passwords.indexOf(h);
      if (i < 0) throw new SetUserError(SETUSER_ERR.noSuchPassword);
      u.passwords.splice(i, 1);
    } else if (op.length >= 2 && op[0] === '(' && op[op.length - 1] === ')') {
      const s = new Selector(this.universe.size, false);
      s.allChannels = this.pubsubDefaultAll;
      for (const a of splitArgs(op.slice(1, -1))) this.setSelector(s, a);
      u.selectors.push(s);
    } else if (lower === 'clearselectors') {
      u.selectors = [u.root];
    } else if (lower === 'reset') {
      for (const o of ['resetpass', 'resetkeys', 'resetchannels', 'off', 'sanitize-payload', 'clearselectors', '-@all']) this.setUser(u, o);
      if (this.pubsubDefaultAll) this.setUser(u, 'allchannels');
    } else {
      this.setSelector(u.root, op);
    }
  }

  /** ACLSetSelector: one operation on a selector. */
  private setSelector(s: Selector, op: string): void {
    const lower = op.toLowerCase();
    if (lower === 'allkeys' || op === '~*') {
      s.allKeys = true;
      s.patterns = [];
    } else if (lower === 'resetkeys') {
      s.allKeys = false;
      s.patterns = [];
    } else if (lower === 'allchannels' || op === '&*') {
      s.allChannels = true;
      s.channels = [];
    } else if (lower === 'resetchannels') {
      s.allChannels = false;
      s.channels = [];
    } else if (lower === 'allcommands' || lower === '+@all') {
      s.allCommands = true;
      s.future = true;
      s.bits.fill(1);
      s.firstArgs = undefined;
    } else if (lower === 'nocommands' || lower === '-@all') {
      s.allCommands = false;
      s.future = false;
      s.bits.fill(0);
      s.firstArgs = undefined;
    } else if (op[0] === '~' || op[0] === '%') {
      if (s.allKeys) throw new SetUserError(SETUSER_ERR.keysAfterAll);
      let flags = 0;
      let offset = 1;
      if (op[0] === '%') {
        for (; offset < op.length; offset++) {
          const ch = op[offset]!.toUpperCase();
          if (ch === 'R' && (flags & READ) === 0) flags |= READ;
          else if (ch === 'W' && (flags & WRITE) === 0) flags |= WRITE;
          else if (op[offset] === '~') {
            offset++;
            break;
          } else throw new SetUserError(SETUSER_ERR.syntax);
        }
      } else {
        flags = ALL_PERMS;
      }
      if (flags === 0) throw new SetUserError(SETUSER_ERR.syntax);
      const pattern = op.slice(offset);
      if (hasSpaces(pattern)) throw new SetUserError(SETUSER_ERR.syntax);
      const same = s.patterns.find((p) => p.pattern === pattern);
      if (same === undefined) s.patterns.push({ pattern, flags });
      else same.flags |= flags;
      s.allKeys = false;
    } else if (op[0] === '&') {
      if (s.allChannels) throw new SetUserError(SETUSER_ERR.channelsAfterAll);
      const pattern = op.slice(1);
      if (hasSpaces(pattern)) throw new SetUserError(SETUSER_ERR.syntax);
      if (!s.channels.includes(pattern)) s.channels.push(pattern);
      s.allChannels = false;
    } else if (op[0] === '+' && op[1] !== '@') {
      const name = op.slice(1);
      const bar = name.lastIndexOf('|');
      if (bar < 0) {
        const cmd = this.universe.lookup(name);
        if (cmd === undefined) throw new SetUserError(SETUSER_ERR.unknown);
        this.changePerm(s, cmd, true);
        return;
      }
      const cmd = this.universe.lookup(name.slice(0, bar));
      if (cmd === undefined) throw new SetUserError(SETUSER_ERR.unknown);
      if (cmd.parent !== undefined) throw new SetUserError(SETUSER_ERR.firstArgOfSub);
      const sub = name.slice(bar + 1);
      if (sub.length === 0) throw new SetUserError(SETUSER_ERR.syntax);
      if (cmd.subs !== undefined) {
        const sc = this.universe.lookup(name);
        if (sc === undefined) throw new SetUserError(SETUSER_ERR.unknown);
        this.changePerm(s, sc, true);
      } else {
        // ACLAddAllowedFirstArg: a bit set already allows every first argument.
        s.firstArgs ??= new Map();
        const list = s.firstArgs.get(cmd.id) ?? [];
        if (!list.some((a) => a.toLowerCase() === sub.toLowerCase())) list.push(sub);
        s.firstArgs.set(cmd.id, list);
      }
    } else if (op[0] === '-' && op[1] !== '@') {
      const cmd = this.universe.lookup(op.slice(1));
      if (cmd === undefined) throw new SetUserError(SETUSER_ERR.unknown);
      this.changePerm(s, cmd, false);
    } else if ((op[0] === '+' || op[0] === '-') && op[1] === '@') {
      const flag = this.universe.catFlag(op.slice(2));
      if (flag === 0) throw new SetUserError(SETUSER_ERR.unknown);
      this.setCategory(s, flag, op[0] === '+');
    } else {
      throw new SetUserError(SETUSER_ERR.syntax);
    }
  }

  private setBit(s: Selector, id: number, allow: boolean): void {
    s.bits[id] = allow ? 1 : 0;
    if (!allow) s.allCommands = false;
  }

  /** ACLChangeSelectorPerm: the command, its subcommands, and no first-args left. */
  private changePerm(s: Selector, cmd: UCommand, allow: boolean): void {
    this.setBit(s, cmd.id, allow);
    s.firstArgs?.delete(cmd.id);
    if (cmd.subs !== undefined) for (const sub of cmd.subs) this.setBit(s, sub.id, allow);
  }

  /** ACLSetSelectorCommandBitsForCategory. */
  private setCategory(s: Selector, flag: number, allow: boolean): void {
    for (const c of this.universe.top) {
      if ((c.cats & flag) !== 0) this.changePerm(s, c, allow);
      if (c.subs !== undefined) for (const sub of c.subs) if ((sub.cats & flag) !== 0) this.changePerm(s, sub, allow);
    }
  }

  /** ACLCountCategoryBitsForSelector: commands of the category allowed (on) and not (off). */
  private countCategory(bits: Uint8Array, flag: number): [number, number] {
    let on = 0;
    let off = 0;
    for (const c of this.universe.walk()) {
      if ((c.cats & flag) === 0) continue;
      if (bits[c.id] === 1) on++;
      else off++;
    }
    return [on, off];
  }

  /**
   * ACLDescribeSelectorCommandRules (7.0.15): +@all or -@all, then the
   * categories that best fit the bitmap, then single commands (in this
   * universe's order; redis-server walks its command table's hash order),
   * then allowed first arguments.
   */
  describeCommands(s: Selector): string {
    const rules: string[] = [];
    const additive = !s.future;
    rules.push(additive ? '-@all' : '+@all');
    const fake = new Uint8Array(s.bits.length).fill(additive ? 0 : 1);
    const temp = s.bits.slice();
    const applied = new Set<number>();
    const cats = this.universe.categories;
    for (;;) {
      let best = -1;
      let mindiff = Number.MAX_SAFE_INTEGER;
      let maxsame = 0;
      for (let j = 0; j < cats.length; j++) {
        if (applied.has(j)) continue;
        const [on, off] = this.countCategory(temp, 1 << j);
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < mindiff || (diff === mindiff && same > maxsame))) {
          best = j;
          mindiff = diff;
          maxsame = same;
        }
      }
      if (best < 0) break;
      const flag = 1 << best;
      rules.push(`${additive ? '+' : '-'}@${cats[best]}`);
      this.applyCategoryBits(fake, flag, additive);
      this.applyCategoryBits(temp, flag, !additive);
      applied.add(best);
    }
    for (const c of this.universe.top) {
      this.describeSingle(s, fake, c, rules);
      if (c.subs !== undefined) for (const sub of c.subs) this.describeSingle(s, fake, sub, rules);
      const fa = s.firstArgs?.get(c.id);
      if (s.bits[c.id] === 0 && fa !== undefined) for (const a of fa) rules.push(`+${c.name}|${a}`);
    }
    return rules.join(' ');
  }

  private describeSingle(s: Selector, fake: Uint8Array, c: UCommand, rules: string[]): void {
    const bit = s.bits[c.id]!;
    if (bit === fake[c.id]) return;
    rules.push(`${bit === 1 ? '+' : '-'}${c.name}`);
    fake[c.id] = bit;
    if (c.subs !== undefined) for (const sub of c.subs) fake[sub.id] = bit;
  }

  /** setCategory on a bare bitmap (the description's fake and temp selectors). */
  private applyCategoryBits(bits: Uint8Array, flag: number, allow: boolean): void {
    const v = allow ? 1 : 0;
    for (const c of this.universe.top) {
      if ((c.cats & flag) !== 0) {
        bits[c.id] = v;
        if (c.subs !== undefined) for (const sub of c.subs) bits[sub.id] = v;
      }
      if (c.subs !== undefined) {
        for (const sub of c.subs) if ((sub.cats & flag) !== 0) bits[sub.id] = v;
      }
    }
  }

  /** sdsCatPatternString. */
  static patternString(p: KeyPattern): string {
    return (p.flags === ALL_PERMS ? '~' : p.flags === READ ? '%R~' : '%W~') + p.pattern;
  }

  /** ACLDescribeSelector. */
  describeSelector(s: Selector): string {
    const parts: string[] = [];
    if (s.allKeys) parts.push('~*');
    else for (const p of s.patterns) parts.push(Acl.patternString(p));
    if (s.allChannels) parts.push('&*');
    else {
      parts.push('resetchannels');
      for (const c of s.channels) parts.push(`&${c}`);
    }
    parts.push(this.describeCommands(s));
    return parts.join(' ');
  }

  /** The user's flags, in ACLUserFlags' order. */
  static flags(u: User): string[] {
    const f = [u.enabled ? 'on' : 'off'];
    if (u.nopass) f.push('nopass');
    if (u.sanitize === 1) f.push('skip-sanitize-payload');
    if (u.sanitize === 2) f.push('sanitize-payload');
    return f;
  }

  /** ACLDescribeUser: what ACL LIST shows after "user <name> ", and ACL SAVE writes. */
  describeUser(u: User): string {
    let res = Acl.flags(u).join(' ') + ' ';
    for (const p of u.passwords) res += `#${p} `;
    for (const s of u.selectors) {
      const d = this.describeSelector(s);
      res += s.root ? d : ` (${d})`;
    }
    return res;
  }

  /** Users in Redis's rax order (bytewise). */
  sortedUsers(): User[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * ACLCheckAllUserCommandPerm: Ok when some selector allows the command
   * with these arguments; otherwise the most relevant denial and the index
   * of the argument it is about.
   */
  check(u: User, def: CommandDef, argv: readonly string[]): { denied: Denied; pos: number } {
    if (u.allowsAll) return OK;
    const cmd = this.universe.lookup(def.name);
    let relevant = Denied.Cmd;
    let lastIdx = 0;
    for (const s of u.selectors) {
      const r = this.checkSelector(s, cmd, def, argv);
      if (r.denied === Denied.Ok) return OK;
      if (r.denied > relevant || (r.denied === relevant && r.pos > lastIdx)) {
        relevant = r.denied;
        lastIdx = r.pos;
      }
    }
    return { denied: relevant, pos: lastIdx };
  }

  private checkSelector(s: Selector, cmd: UCommand | undefined, def: CommandDef, argv: readonly string[]): { denied: Denied; pos: number } {
    if (!s.allCommands && !def.meta.flags.has('no_auth')) {
      if (cmd === undefined || s.bits[cmd.id] === 0) {
        const fa = cmd === undefined ? undefined : s.firstArgs?.get(cmd.id);
        const idx = cmd?.parent !== undefined ? 2 : 1;
        if (fa === undefined || argv.length < 2 || !fa.some((a) => a.toLowerCase() === argv[idx]?.toLowerCase())) return { denied: Denied.Cmd, pos: 0 };
      }
    }
    if (!s.allKeys && def.meta.keySpecs.length > 0) {
      for (const ref of commandKeyRefs(def.meta, argv)) {
        let need = 0;
        for (const f of ref.flags) {
          if (f === 'access') need |= READ;
          else if (f === 'insert' || f === 'delete' || f === 'update') need |= WRITE;
        }
        const key = argv[ref.pos]!;
        if (!s.patterns.some((p) => (p.flags & need) === need && globMatch(p.pattern, key))) return { denied: Denied.Key, pos: ref.pos };
      }
    }
    if (!s.allChannels) {
      const ch = channelArgs(def.name, argv.length);
      if (ch !== undefined) {
        const pattern = (ch.flags & CHANNEL_PATTERN) !== 0;
        for (let i = ch.from; i <= ch.to; i++) {
          const c = argv[i]!;
          if (!s.channels.some((p) => (pattern ? p === c : globMatch(p, c)))) return { denied: Denied.Channel, pos: i };
        }
      }
    }
    return OK;
  }

  /** addACLLogEntry: grouped with a similar entry of the last minute among the newest ten. */
  addLog(reason: Denied, context: LogEntry['context'], object: string, username: string, cinfo: string): void {
    const now = Date.now();
    for (let i = 0; i < Math.min(10, this.log.length); i++) {
      const e = this.log[i]!;
      if (e.reason === reason && e.context === context && now - e.ctime <= 60000 && e.object === object && e.username === username) {
        this.log.splice(i, 1);
        this.log.unshift(e);
        e.count++;
        e.cinfo = cinfo;
        e.ctime = now;
        return;
      }
    }
    this.log.unshift({ count: 1, reason, context, object, username, ctime: now, cinfo });
    while (this.log.length > this.logMaxLen) this.log.pop();
  }

  /** ACL file text (ACL SAVE; the snapshot's section): one "user <name> <rules>" line per user. */
  serialize(): string {
    let out = '';
    for (const u of this.sortedUsers()) out += `user ${u.name} ${this.describeUser(u)}\n`;
    return out;
  }

  /**
   * ACLLoadFromFile's parsing, without changing anything: the users the
   * text defines (the default user as it starts when the text has none),
   * or the errors, as Redis reports them.
   */
  parseFile(text: string, file = 'acl'): Map<string, User> | string {
    const users = new Map<string, User>();
    const errors: string[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      const linenum = i + 1;
      if (line.length === 0 || line[0] === '#') continue;
      const argv = splitArgs(line);
      if (argv.length === 0) continue;
      if (argv[0] !== 'user' || argv.length < 2) {
        errors.push(`${file}:${linenum}: line should start with user keyword. `);
        continue;
      }
      const name = argv[1]!;
      if (hasSpaces(name)) {
        errors.push(`${file}:${linenum}: username '${name}' contains invalid characters. `);
        continue;
      }
      if (users.has(name)) {
        errors.push(`${file}:${linenum}: Duplicate user '${name}' found. `);
        continue;
      }
      const merged = mergeSelectorArgs(argv.slice(2));
      if (typeof merged === 'number') {
        errors.push(`${file}:${linenum}: Unmatched parenthesis in selector definition. `);
        continue;
      }
      const u = name === 'default' ? this.createDefaultUser() : this.newUser(name);
      let bad = false;
      for (const op of merged) {
        try {
          this.setUser(u, op);
        } catch (e) {
          if (!(e instanceof SetUserError)) throw e;
          errors.push(`${file}:${linenum}: ${e.message}. `);
          bad = true;
          break;
        }
      }
      if (bad) continue;
      u.updateAllowsAll();
      users.set(name, u);
    }
    if (errors.length > 0) return errors.join('');
    return users;
  }

  /**
   * Replaces every user with `users` (ACL LOAD, a snapshot): the default
   * user keeps its object (copied into); every other user's clients are
   * closed, as Redis 7.0 frees the old users.
   */
  replaceAll(users: Map<string, User>): void {
    const old = [...this.users.values()].filter((u) => u !== this.defaultUser);
    const def = users.get('default') ?? this.createDefaultUser();
    this.defaultUser.copyFrom(def);
    this.users.clear();
    this.users.set('default', this.defaultUser);
    for (const [name, u] of users) if (name !== 'default') this.users.set(name, u);
    for (const u of old) this.onUserGone(u);
  }

  /** The snapshot's section: whether entries ever changed the users, then the ACL file text. */
  snapshotState(): Buffer {
    return Buffer.from((this.touched ? '1' : '0') + this.serialize(), 'latin1');
  }

  /** Restores snapshotState(); a snapshot whose users no entry ever changed leaves start-up's seed in place. */
  restore(state: Buffer): string | undefined {
    const text = state.toString('latin1');
    if (text[0] !== '1') return undefined;
    const users = this.parseFile(text.slice(1), 'snapshot');
    if (typeof users === 'string') return users;
    this.replaceAll(users);
    this.touched = true;
    return undefined;
  }
}

const OK = { denied: Denied.Ok, pos: 0 } as const;

/** ACLMergeSelectorArguments: `(`…`)` spread over several arguments joined into one; the index of an unclosed `(` otherwise. */
export function mergeSelectorArgs(ops: readonly string[]): string[] | number {
  const out: string[] = [];
  let open = -1;
  let sel = '';
  for (let j = 0; j < ops.length; j++) {
    const op = ops[j]!;
    if (open < 0 && op[0] === '(' && op[op.length - 1] !== ')') {
      sel = op;
      open = j;
      continue;
    }
    if (open >= 0) {
      sel += ' ' + op;
      if (op[op.length - 1] === ')') {
        open = -1;
        out.push(sel);
      }
      continue;
    }
    out.push(op);
  }
  return open >= 0 ? open : out;
}

/** sdssplitargs, for what raftis writes and simple hand-written files: whitespace-separated, double or single quotes. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    let cur = '';
    const q = line[i] === '"' || line[i] === "'" ? line[i] : undefined;
    if (q !== undefined) {
      i++;
      while (i < line.length && line[i] !== q) {
        if (q === '"' && line[i] === '\\' && i + 1 < line.length) {
          const n = line[i + 1]!;
          cur += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
          i += 2;
          continue;
        }
        cur += line[i];
        i++;
      }
      i++;
    } else {
      while (i < line.length && !/\s/.test(line[i]!)) cur += line[i++];
    }
    out.push(cur);
  }
  return out;
}
