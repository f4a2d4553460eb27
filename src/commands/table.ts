/**
 * The command table: Redis's metadata (generated from redis-server, see
 * generated-table.ts) joined with raftis's handlers. Dispatch, arity errors,
 * COMMAND output and write/read routing all come from here.
 */
import type { Config } from './engine/config.js';
import type { Acl } from './engine/acl.js';
import type { ShardState } from './engine/shard-state.js';
import type { KeyspaceEvents } from './notify.js';
import type { Engine, EngineClient } from './engine/engine.js';
import type { RespWriter } from '../server/resp-writer.js';
import { newCommandCounters, type CommandCounters } from './engine/stats.js';
import { arityError, unknownCommandError, unknownSubcommandError } from './errors.js';
import { loadGeneratedCommands, type Tree } from './generated-table.js';
import type { CommandMeta, Ctx, DataHandler, UnchangedCheck } from './types.js';

/**
 * What a connection or server command runs against: a keyspace command's
 * context (read-only use of `db`, the local clock as `now`, `index` 0, the
 * reply writer `w`) plus the client it runs for and the engine.
 */
export interface ConnCtx extends Ctx {
  c: EngineClient;
  engine: Engine;
}

/** A command that acts on the connection or the server, never replicated. */
export type ConnHandler = (ctx: ConnCtx, argv: string[]) => void;

/** The node state, other than the keyspace, that applied log entries change on every replica. */
export interface ReplicatedState {
  config: Config;
  /** Where applied writes emit keyspace notifications. */
  events: KeyspaceEvents;
  /** ACL users (ACL SETUSER / DELUSER / LOAD and requirepass are entries). */
  acl: Acl;
  /** Sharding: the slot map (group 0), the map this group adopted, released slots (RAFT.SHARDS entries). */
  shards: ShardState;
}

/**
 * A server command whose effect on node state is replicated (CONFIG SET of
 * a cluster-wide parameter): run on every replica when its log entry is
 * applied, its reply written to `w` (discarded except on the proposer).
 */
export type AppliedHandler = (state: ReplicatedState, argv: string[], w: RespWriter) => void;

export interface CommandDef {
  name: string;
  meta: CommandMeta;
  isWrite: boolean;
  /** BLPOP and the other blocking pops (COMMAND INFO flag "blocking"). */
  isBlocking: boolean;
  /**
   * Cheap enough that one call in 16 is timed (commandstats, SLOWLOG): the
   * COMMAND INFO flag "fast" (O(1) or O(log N)), or a documented complexity
   * of O(1) (SET, for one). The others are timed on every call.
   */
  sampled: boolean;
  /** COMMAND INFO flag "skip_slowlog" (EXEC). */
  skipSlowlog: boolean;
  /** Not shown to MONITOR: flags "admin" or "skip_monitor". */
  skipMonitor: boolean;
  /**
   * A write, or one Redis flags CMD_MAY_REPLICATE (of raftis's commands
   * PUBLISH and PFCOUNT; COMMAND INFO does not show that flag): held by
   * CLIENT PAUSE WRITE.
   */
  mayReplicate: boolean;
  /**
   * Made a log entry when it runs in a transaction or is forwarded by a
   * follower: a write, or EVAL / EVALSHA / FCALL (a script may write) and
   * SCRIPT LOAD / FLUSH (the script cache is replicated).
   */
  logged: boolean;
  /** FLUSHALL/FLUSHDB: touches every key (WATCH); their handlers tell the listener (Ctx.flushingDb). */
  touchesAll: boolean;
  /**
   * The stream commands: they report their key changes themselves, only
   * where Redis's t_stream.c does (Ctx.signal), so a WATCHed stream read by
   * XREADGROUP, acknowledged or claimed does not abort EXEC, as in Redis.
   */
  signalsItself: boolean;
  /** COMMAND INFO flag "no_multi" (SAVE, SHUTDOWN): refused inside MULTI. */
  noMulti: boolean;
  /** COMMAND INFO flag "no_auth" (AUTH, HELLO…): runs before the client authenticates. */
  noAuth: boolean;
  /** EVAL, EVALSHA, FCALL and their _RO forms: a script call (a flag, so that the path of every request tests no Set). */
  isScriptCall: boolean;
  /** Run by the dispatcher's script path (runScript): EVAL, EVALSHA, FCALL, SCRIPT LOAD, SCRIPT FLUSH. */
  scriptRouted: boolean;
  /**
   * Its handler reads ctx.now only to tell whether the key it looks up has
   * expired (GET): a plain read in Dispatcher.run leaves ctx.now NOW_UNREAD
   * and the keyspace reads the clock only for a key with a TTL, as Redis's
   * keyIsExpired (Date.now() is a call into C++, ~230 instructions).
   */
  lazyNow: boolean;
  data?: DataHandler;
  /** A write that may change nothing: the check that tells (UnchangedCheck). */
  unchanged: UnchangedCheck | undefined;
  conn?: ConnHandler;
  /** What applying its log entry does on every replica, for a server command that is sometimes one (see logsWhen). */
  applied?: AppliedHandler;
  /** For a server command that `logged` does not cover: whether this call of it is a log entry (CONFIG SET of a cluster-wide parameter). */
  logsWhen?: (engine: Engine, argv: readonly string[]) => boolean;
  /** COMMAND INFO / COMMAND DOCS replies, as Redis gives them. */
  info: Tree[];
  docs: Tree | undefined;
  subcommands?: Map<string, CommandDef>;
  /** INFO commandstats (per server: each server builds its own table). */
  stats: CommandCounters;
}

/**
 * Commands Redis flags readonly that may change the value and propagate
 * the change to replicas (CMD_MAY_REPLICATE): PFCOUNT of one key writes the
 * cached cardinality into the HyperLogLog string. raftis runs them as
 * writes, through the log, so that every replica holds the same bytes
 * (docs/decisions.md). COMMAND INFO still shows Redis's flags.
 */
const REPLICATED_READS: ReadonlySet<string> = new Set(['pfcount']);
/**
 * Commands Redis flags CMD_MAY_REPLICATE besides PUBLISH and SPUBLISH whose COMMAND INFO
 * flags do not say write: scripts and functions may write, SCRIPT LOAD and
 * FLUSH are replicated. (FUNCTION LOAD, DELETE, FLUSH and RESTORE are write
 * commands in Redis's table: log entries like any write.)
 */
/** Writes that call signalModifiedKey / signalKeyAsReady themselves (CommandDef.signalsItself). */
const SIGNALS_ITSELF: ReadonlySet<string> = new Set([
  'xadd',
  'xdel',
  'xtrim',
  'xsetid',
  'xack',
  'xclaim',
  'xautoclaim',
  'xreadgroup',
  'xgroup|create',
  'xgroup|setid',
  'xgroup|destroy',
  'xgroup|createconsumer',
  'xgroup|delconsumer',
]);
const MAY_REPLICATE = new Set(['eval', 'evalsha', 'fcall', 'script|load', 'script|flush']);
/** CommandDef.isScriptCall: the EVAL family, whose declared keys must hash to one slot (CROSSSLOT), routed by the script's flags, and which may pause when alone in an entry. */
const SCRIPT_CALLS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);
/** CommandDef.scriptRouted: script commands the dispatcher routes itself (runScript); EVAL_RO, EVALSHA_RO, FCALL_RO and SCRIPT EXISTS are plain reads. */
const SCRIPT_ROUTED = new Set(['eval', 'evalsha', 'fcall', 'script|load', 'script|flush']);

export interface HandlerSet {
  data: Record<string, DataHandler>;
  conn: Record<string, ConnHandler>;
  /** Writes that may change nothing, by name: the check that tells (UnchangedCheck). */
  unchanged?: Record<string, UnchangedCheck>;
  /** Server commands whose effect is sometimes replicated: how to apply them, and when they are log entries. */
  applied?: Record<string, { apply: AppliedHandler; when: (engine: Engine, argv: readonly string[]) => boolean }>;
}

/** Whether this call of `def` is a log entry: a write or a replicated command, or a server command that is one with these arguments. */
export function isLogged(def: CommandDef | undefined, engine: Engine, argv: readonly string[]): boolean {
  if (def === undefined) return false;
  return def.logged || (def.logsWhen !== undefined && def.logsWhen(engine, argv));
}

export class CommandTable {
  private readonly byName = new Map<string, CommandDef>();
  /** Upper-case aliases, so the common spellings need no toLowerCase per request. */
  private readonly byUpper = new Map<string, CommandDef>();
  /**
   * The name get() last found and its command: a pipeline of one command
   * (and most traffic) asks for the same name again, and comparing a short
   * string costs less than hashing a new one and two Map lookups.
   */
  private lastName = '';
  private lastDef: CommandDef | undefined = undefined;

  constructor(handlers: HandlerSet) {
    for (const [name, g] of loadGeneratedCommands()) {
      const def = this.makeDef(name, g.meta, g.info, g.docs, handlers);
      if (g.subcommands.size > 0) {
        def.subcommands = new Map();
        for (const [sub, s] of g.subcommands) {
          def.subcommands.set(sub, this.makeDef(s.meta.name, s.meta, s.info, undefined, handlers));
        }
      }
      this.byName.set(name, def);
      this.byUpper.set(name.toUpperCase(), def);
    }
    const missing = [...this.byName.values()].filter((d) => !d.data && !d.conn && !d.subcommands);
    for (const d of this.byName.values()) {
      for (const s of d.subcommands?.values() ?? []) if (!s.data && !s.conn) missing.push(s);
    }
    if (missing.length > 0) throw new Error(`commands without handlers: ${missing.map((d) => d.name).join(' ')}`);
  }

  private makeDef(name: string, meta: CommandMeta, info: Tree[], docs: Tree | undefined, h: HandlerSet): CommandDef {
    return {
      name,
      meta,
      isWrite: meta.flags.has('write') || REPLICATED_READS.has(name),
      isBlocking: meta.flags.has('blocking'),
      sampled: meta.flags.has('fast') || complexity(docs) === 'O(1)',
      skipSlowlog: meta.flags.has('skip_slowlog'),
      skipMonitor: meta.flags.has('admin') || meta.flags.has('skip_monitor'),
      mayReplicate: meta.flags.has('write') || name === 'publish' || name === 'spublish' || REPLICATED_READS.has(name) || MAY_REPLICATE.has(name),
      logged: meta.flags.has('write') || REPLICATED_READS.has(name) || MAY_REPLICATE.has(name),
      touchesAll: name === 'flushall' || name === 'flushdb',
      signalsItself: SIGNALS_ITSELF.has(name),
      noMulti: meta.flags.has('no_multi'),
      noAuth: meta.flags.has('no_auth'),
      isScriptCall: SCRIPT_CALLS.has(name),
      scriptRouted: SCRIPT_ROUTED.has(name),
      lazyNow: name === 'get',
      data: h.data[name],
      unchanged: h.unchanged?.[name],
      conn: h.conn[name],
      applied: h.applied?.[name]?.apply,
      logsWhen: h.applied?.[name]?.when,
      info,
      docs,
      stats: newCommandCounters(),
    };
  }

  /** The top-level command named by argv[0] (case-insensitive). */
  get(name: string): CommandDef | undefined {
    if (name === this.lastName) return this.lastDef;
    const def = this.byName.get(name) ?? this.byUpper.get(name) ?? this.byName.get(name.toLowerCase());
    if (def !== undefined) {
      this.lastName = name;
      this.lastDef = def;
    }
    return def;
  }

  /** The command that handles argv: the subcommand for container commands. */
  lookup(argv: readonly string[]): CommandDef | undefined {
    const top = this.get(argv[0] ?? '');
    if (top?.subcommands === undefined || argv.length < 2) return top;
    return top.subcommands.get(argv[1]!.toLowerCase());
  }

  /**
   * Redis's processCommand checks before anything runs: the command (or
   * subcommand) exists, the arity fits, and it is not a protected command.
   * Returns the command, or the error text to reply with (and the command
   * when it was found, whose rejected calls count it).
   */
  resolve(argv: readonly string[]): CommandDef | { error: string; def?: CommandDef } {
    const top = this.get(argv[0]!);
    if (top === undefined) return { error: unknownCommandError(argv) };
    let def = top;
    if (top.subcommands !== undefined && argv.length >= 2) {
      const sub = top.subcommands.get(argv[1]!.toLowerCase());
      if (sub === undefined) return { error: unknownSubcommandError(argv[1]!, top.name) };
      def = sub;
    }
    const arity = def.meta.arity;
    if ((arity > 0 && argv.length !== arity) || argv.length < -arity) return { error: arityError(def.meta.name), def };
    const refused = protectedCommandError(def);
    if (refused !== undefined) return { error: refused, def };
    return def;
  }

  all(): IterableIterator<CommandDef> {
    return this.byName.values();
  }

  /** Every command, each followed by its subcommands: the order of COMMAND LIST and INFO commandstats. */
  *withSubcommands(): Generator<CommandDef> {
    for (const def of this.byName.values()) {
      yield def;
      if (def.subcommands !== undefined) yield* def.subcommands.values();
    }
  }

  get size(): number {
    return this.byName.size;
  }
}

/**
 * Redis 7's protected commands (DEBUG; MODULE LOAD, LOADEX, UNLOAD), refused
 * as redis-server refuses them by default (enable-debug-command and
 * enable-module-command no), right after the arity check.
 */
export function protectedCommandError(def: CommandDef): string | undefined {
  const name = def.meta.name;
  const which = name === 'debug' ? 'DEBUG' : name === 'module|load' || name === 'module|loadex' || name === 'module|unload' ? 'MODULE' : undefined;
  if (which === undefined) return undefined;
  return (
    `ERR ${which} command not allowed. If the enable-${which.toLowerCase()}-command option is set to "local", ` +
    'you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.'
  );
}

/** COMMAND DOCS' complexity text, if the docs give one. */
function complexity(docs: Tree | undefined): string | undefined {
  if (docs === null || typeof docs !== 'object' || Array.isArray(docs) || !('map' in docs)) return undefined;
  const entry = docs.map.find(([k]) => k === 'complexity');
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}
