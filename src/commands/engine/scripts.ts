/**
 * Lua scripting, engine side (Redis's eval.c and script.c): the script cache,
 * the VM (src/util/lua/vm.ts) and the redis.call bridge.
 *
 * The script cache is state-machine state: EVAL caches its body when its
 * entry is applied, SCRIPT LOAD and SCRIPT FLUSH are log entries, and the
 * cache is kept in snapshots (snapshotState / restore). A script that may
 * write is one log entry, the command as the client sent it, run on every
 * replica against the same state with the entry's time as `now` and
 * math.random reseeded from the entry (entrySeed), under an instruction
 * budget that is the same everywhere. Read-only scripts run on the read path
 * and leave the cache alone. See docs/decisions.md, "Lua scripting".
 */
import { Denied, scriptNopermError, type Acl, type User } from './acl.js';
import { LuaVM, PAUSED, STOP, sha1hex, type CallResult, type EvalOptions, type EvalResult, type Paused } from '../../util/lua/vm.js';
import { RespWriter } from '../../server/resp-writer.js';
import { ERR } from '../errors.js';
import { string2ll } from '../../util/number.js';
import { commandKeys } from '../keys.js';
import { parseDbIndex } from '../db-index.js';
import { entryRandom, entrySeed } from '../random.js';
import { keyHashSlot } from '../routing.js';
import type { CommandDef, CommandTable } from '../table.js';
import type { Ctx } from '../types.js';
import { callData, feedScriptCall } from './call.js';
import { Functions, type FunctionInfo } from './functions.js';
import { provablyReadOnly } from './script-readonly.js';
import type { TouchListener } from './apply.js';
import type { Stats } from './stats.js';
import { OOM } from './evict.js';

/** Shebang flags (script.c scripts_flags_def); COMPAT: no shebang (Redis's SCRIPT_FLAG_EVAL_COMPAT_MODE). */
export const enum ScriptFlag {
  NoWrites = 1,
  AllowOom = 2,
  AllowStale = 4,
  NoCluster = 8,
  AllowCrossSlot = 16,
  Compat = 32,
}

const FLAG_NAMES: Record<string, ScriptFlag> = {
  'no-writes': ScriptFlag.NoWrites,
  'allow-oom': ScriptFlag.AllowOom,
  'allow-stale': ScriptFlag.AllowStale,
  'no-cluster': ScriptFlag.NoCluster,
  'allow-cross-slot-keys': ScriptFlag.AllowCrossSlot,
};

export const NOSCRIPT = 'NOSCRIPT No matching script. Please use EVAL.';
export const CROSSSLOT = 'CROSSSLOT Keys in request don\'t hash to the same slot';
export const FUNCTION_NOT_FOUND = 'ERR Function not found';

/**
 * Redis's evalExtractShebangFlags: the flags of a body, or the error text.
 * (Redis splits the line with sdssplitargs; raftis splits on spaces, which
 * agrees for every shebang without quotes.)
 */
export function shebangFlags(body: string): number | { error: string } {
  if (!body.startsWith('#!')) return ScriptFlag.Compat;
  const nl = body.indexOf('\n');
  if (nl < 0) return { error: 'ERR Invalid script shebang' };
  const parts = body.slice(0, nl).split(/[ \t\r\v\f]+/).filter((p) => p !== '');
  if (parts.length === 0) return { error: 'ERR Invalid engine in script shebang' };
  if (parts[0] !== '#!lua') return { error: `ERR Unexpected engine in script shebang: ${parts[0]}` };
  let flags = 0;
  for (const p of parts.slice(1)) {
    if (!p.startsWith('flags=')) return { error: `ERR Unknown lua shebang option: ${p}` };
    const list = p.slice(6);
    if (list === '') continue;
    for (const f of list.split(',')) {
      const bit = FLAG_NAMES[f];
      if (bit === undefined) return { error: `ERR Unexpected flag in script shebang: ${f}` };
      flags |= bit;
    }
  }
  return flags;
}

interface Script {
  /** Its key in the cache (lower-case hex): the one string passed on for it, so that later lookups and comparisons by it are pointer-equal. */
  sha: string;
  body: string;
  flags: number;
  /** A script without a shebang that provably never writes (script-readonly.ts), worked out on first need. */
  readOnly?: boolean;
}

/** What the running script may do, and what it did (Redis's scriptRunCtx). */
interface Run {
  ctx: Ctx;
  readOnly: boolean;
  allowCrossSlot: boolean;
  /** The slot of the keys accessed so far (-1: none yet). */
  slot: number;
  /** The database redis.call acts on: the caller's, until the script SELECTs another (for the rest of the script only, as Redis 7). */
  dbIndex: number;
  /** Over maxmemory when the script started (its entry's oom, and no allow-oom): its first denyoom call before any write gets -OOM. */
  oom: boolean;
  /** A write command ran (SCRIPT_WRITE_DIRTY). */
  wrote: boolean;
  /** As a standalone redis-server: no slot rule at all (a group of one voter). */
  standalone: boolean;
  /** The ACL user running the script, when it may not run everything (Ctx.user): each redis.call is checked. */
  user: User | undefined;
  /** A pausable script of an applied entry: past KILLABLE_AFTER instructions, its first write waits for the log's decision (gate). */
  gated: boolean;
  /** The VM it runs in. */
  vm: LuaVM;
  /** gate stopped it before its first write (STOP): its end is not its reply. */
  stopped: boolean;
  /** gate let an effect through (a write, a PUBLISH): from here on it cannot be killed. */
  passed: boolean;
}

export interface ScriptOptions {
  /** Instructions a script may run before it is stopped (the same on every replica). */
  budget?: number;
  /** Bytes a script's own operations may allocate (the same on every replica; 0: unlimited). */
  memoryBudget?: number;
  /** Bytes the Lua heap may use (the process's safety net; by default 64 MiB, or twice the memory budget if that is more). */
  memoryLimit?: number;
}

/**
 * 1G Lua instructions: 9 to 17 s of a runaway loop on the 2-core machine
 * raftis is developed on (0.9 to 1.7 s per 100M, loaded), past the default
 * busy-reply-threshold (5 s), so a Redis user sees BUSY and may SCRIPT KILL
 * before the budget stops the script (docs/decisions.md "Pausable scripts").
 */
export const DEFAULT_BUDGET = 1_000_000_000;
export const DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024;
/**
 * 256 MiB allocated by a script's own operations, garbage included (a loop of
 * a million redis.call('SET', 'k'..i, i) is charged about 160 MB): a script
 * within it cannot reach the heap limit (twice the budget) first
 * (docs/decisions.md "Memory.").
 */
export const DEFAULT_MEMORY_BUDGET = 256 * 1024 * 1024;
/** The largest --lua-memory-budget: twice it must fit in the VM's 1 GiB of WebAssembly memory (native/lua/build.sh). */
export const MAX_MEMORY_BUDGET = 480 * 1024 * 1024;

/** Which EVAL form a handler runs. */
export interface EvalKind {
  sha: boolean;
  ro: boolean;
}

/**
 * A script's PUBLISH / SPUBLISH: delivered to this node's subscribers only.
 * Every replica applies the script, so each delivers to its own (no peer fan-out).
 */
/** How long a pausable script runs before it lets the event loop turn (the Raft loop, held clients, BUSY replies). */
export const SLICE_MS = 50;

export const BUSY_EVAL = 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.';
export const BUSY_FUNCTION = 'BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.';
export const NOTBUSY = 'NOTBUSY No scripts in execution right now.';
export const UNKILLABLE_WROTE =
  'UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.';
/** raftis's own: a script of a log entry is applied by every replica, and stopping it on one would make them differ (docs/decisions.md). */
export const UNKILLABLE_REPLICATED =
  'UNKILLABLE The busy script is a replicated write (a log entry every replica applies) and cannot be killed. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.';

/**
 * A script of a log entry that has run this many instructions without
 * writing is killable: its first write after that waits until the log says
 * KillScript(N) or ProceedScript(N) (docs/decisions.md "Killing a replicated
 * script"). A constant, as the budget: the same on every replica. About 0.1
 * to 0.2 s of a loop, well under the default busy-reply-threshold (5 s).
 */
export const KILLABLE_AFTER = 10_000_000;
/** SCRIPT KILL on a follower for a script of a log entry: only the leader may decide (the dispatcher answers MOVED to it). */
export const KILL_AT_LEADER = '\0kill-at-leader';

/** A script paused between two slices (Scripts.busy). */
export interface BusyScript {
  /** When it started (Date.now()): busy-reply-threshold counts from here. */
  readonly started: number;
  /** A function (FCALL): BUSY and kill texts name FUNCTION KILL. */
  readonly isFunction: boolean;
  /** A function's name and the FCALL that runs it (FUNCTION STATS running_script); undefined for a script. */
  readonly fn?: { name: string; argv: readonly string[] };
  /** It runs in an applied log entry (every replica runs it), not on the read path. */
  readonly applied: boolean;
  /** The client that sent it here, if any (its later commands wait for the script's end whatever the threshold). */
  readonly client: unknown;
  /** SCRIPT KILL / FUNCTION KILL asked to stop it: at its next slice. */
  kill: boolean;
  /** Its entry's index (0: the read path). */
  readonly index: number;
  /**
   * Stopped before its first write past KILLABLE_AFTER, waiting for the
   * log's decision: the VM is free; on Proceed it runs again from the start
   * (restart), on Kill its client gets stoppedReply.
   */
  waiting: boolean;
  stoppedReply: EvalResult | undefined;
  /** The script's run again from its start, on the same state with the same entry (the same random numbers and time). */
  readonly restart: () => EvalResult | Paused | undefined;
  /** SCRIPT KILL on the leader: KillScript(N) is proposed once the script is killable (proposed: done). */
  killWanted: boolean;
  killProposed: boolean;
  /** This node (as leader) has a ProceedScript(N) in flight: SCRIPT KILL comes too late (the script is about to write). */
  proceedProposed: boolean;
  /** MONITOR watches its caller (Stats.scriptMonitored when it started): its redis.calls in later slices are shown too. */
  readonly monitored: boolean;
  readonly vm: LuaVM;
  run: Run;
  readonly finish: (r: EvalResult | undefined) => void;
}

export interface ScriptPubSub {
  deliver(channel: string, message: string): number;
  deliverShard(channel: string, message: string): number;
}

export class Scripts {
  /** sha → script: replicated state (kept in snapshots). */
  private readonly cache = new Map<string, Script>();
  /** EVAL's VM, made when first needed: its WebAssembly memory costs about 7 MB of RSS (bench/results/memory.md), as the functions VM. */
  private made: LuaVM | undefined;
  private readonly makeVm: () => LuaVM;
  private run: Run | undefined;
  budget: number;
  /** Bytes a script may allocate (LuaVM EvalOptions.memoryBudget); the same on every replica. */
  readonly memoryBudget: number;
  /** Redis 7.0 functions: the libraries (replicated state, in snapshots) and their VM. */
  readonly functions: Functions;
  /** ACL users (set by the engine): redis.call is checked against the running script's user. */
  acl: Acl | undefined;
  /** Where a script's PUBLISH goes (the engine's registry; set once it exists). */
  pubsub: ScriptPubSub | undefined;
  /**
   * Whether this node's Raft group has one voter now, by its applied
   * configuration (set by the engine): such a raftis is a standalone
   * redis-server for scripts — no CROSSSLOT, no slot checks inside scripts,
   * `no-cluster` scripts run. Read-path scripts and the dispatcher go by it;
   * an applied script goes by what its entry carries (appliedStandalone).
   */
  standaloneNow: () => boolean = () => false;
  /** The entry being applied was proposed by a group of one voter (CommandEntry.standalone; set by the applier). */
  appliedStandalone = false;
  /** Whether this node's group serves a slot (sharding, set by the engine; replicated state, so the same on every replica at an entry). */
  servesSlot: (slot: number) => boolean = () => true;
  /** Sharding, a slot moving away: whether these keys of one call are not this group's to touch now (ASK or TRYAGAIN for a client; set by the engine). */
  movingRefuses: (db: number, keys: readonly string[], write: boolean) => boolean = () => false;
  /**
   * The next script may pause (set by its caller, who then drives it with
   * resumeBusy): it runs SLICE_MS at a time, the event loop turning between
   * slices. Off, a script runs to its end (inside MULTI, or where nothing
   * drives it).
   */
  pausable = false;
  /** The client the next pausable script runs for (BusyScript.client). */
  pausableClient: unknown = undefined;
  /**
   * Set with pausable by a caller that let the next script write its reply
   * straight into the client's output (the read path's common case: it ends
   * in its first slice): if it pauses instead, this gives the writer its
   * reply goes to at its end (a reply slot reserved now, in order), which
   * replaces the run's ctx.w. Nothing was written to the client since the
   * script started: it runs synchronously until it pauses.
   */
  deferReply: ((client: unknown) => RespWriter) | undefined = undefined;
  /** The script paused between two slices, if any: nothing else may run in the keyspace until it ends. */
  busy: BusyScript | undefined;
  /** KillScript(N) (true) / ProceedScript(N) (false), the first of them committed after entry N, as seen so far. */
  private readonly decisions = new Map<number, boolean>();
  /** Proposes KillScript(index) / ProceedScript(index) (set by the engine: engine/script-decision.ts). */
  proposeDecision: ((index: number, kill: boolean) => boolean | undefined) | undefined;
  /** Whether this node leads its group now (set by the engine). */
  isLeader: () => boolean = () => false;
  /** Told when a script pauses for the first time (busy is set), and when the busy script has ended (its reply written). */
  onBusy: (() => void) | undefined;
  onBusyEnd: (() => void) | undefined;

  /** Which rule the script about to run in ctx follows: its entry's, or (read path) this node's now. */
  private standalone(ctx: Ctx): boolean {
    return ctx.index > 0 ? this.appliedStandalone : this.standaloneNow();
  }

  constructor(
    private readonly table: CommandTable,
    private readonly stats: Stats,
    private readonly touch: TouchListener,
    opts: ScriptOptions = {},
  ) {
    this.budget = opts.budget ?? DEFAULT_BUDGET;
    this.memoryBudget = opts.memoryBudget ?? DEFAULT_MEMORY_BUDGET;
    const limit = opts.memoryLimit ?? Math.max(DEFAULT_MEMORY_LIMIT, 2 * this.memoryBudget);
    const call = (argv: string[], resp: 2 | 3): CallResult => this.call(argv, resp);
    this.makeVm = () => new LuaVM({ call }, limit);
    this.functions = new Functions(call, limit, () => this.budget, this.memoryBudget);
  }

  get size(): number {
    return this.cache.size;
  }

  private get vm(): LuaVM {
    return (this.made ??= this.makeVm());
  }

  /** INFO memory: the two VMs' heaps, and the bytes of the cached bodies and of the libraries' code. */
  memory(): { eval: number; functions: number; scriptBytes: number; libraryBytes: number } {
    let scriptBytes = 0;
    for (const s of this.cache.values()) scriptBytes += s.body.length;
    let libraryBytes = 0;
    for (const li of this.functions.current.libraries.values()) libraryBytes += li.code.length;
    return { eval: this.made === undefined ? 0 : this.made.memoryUsed(), functions: this.functions.memoryUsed(), scriptBytes, libraryBytes };
  }

  /**
   * The SHA1 of an EVAL's body, remembered: an EVAL is hashed when routed and
   * again when applied, and clients send the same few bodies over and over.
   */
  private shaOf(body: string): string {
    let sha = this.shas.get(body);
    if (sha === undefined) {
      if (this.shas.size >= 1024) this.shas.clear();
      sha = sha1hex(body);
      this.shas.set(body, sha);
    }
    return sha;
  }

  private readonly shas = new Map<string, string>();
  /** The entry being applied was proposed over maxmemory (CommandEntry.oom; set by the Applier around it). */
  oomAtStart = false;
  /** redis.call's reply writer, reused (a script's calls run one at a time and cannot nest). */
  private readonly callWriter = new RespWriter(2);

  /** Whether a cached script exists (SCRIPT EXISTS; case-insensitive as Redis's dict). */
  has(sha: string): boolean {
    return this.cache.has(sha.toLowerCase());
  }

  /**
   * The cached script an EVALSHA names (a sha of any case, as Redis's dict):
   * the lower-case sha clients send is looked up as it is, without a
   * lower-cased copy to hash.
   */
  private bySha(sha: string): Script | undefined {
    if (sha.length !== 40) return undefined;
    // The script named last, compared by content: a client's EVALSHA of the same script (looked up twice per
    // request, when routed and when run) costs no hash of its 40 characters.
    const last = this.lastScript;
    if (last !== undefined && last.sha === sha) return last;
    const s = this.cache.get(sha) ?? this.cache.get(sha.toLowerCase());
    if (s !== undefined) this.lastScript = s;
    return s;
  }

  /** The script bySha found last (a cached one: the cache never replaces a script, only SCRIPT FLUSH / restore drop them). */
  private lastScript: Script | undefined;

  /**
   * The script an EVAL / EVALSHA names, looked up once: the cached script,
   * or (an EVAL of a body not cached yet) its shebang's flags; undefined for
   * an EVALSHA of a sha not cached (NOSCRIPT).
   */
  private named(argv: readonly string[], evalsha: boolean): Script | { flags: number | { error: string } } | undefined {
    const body = argv[1]!;
    if (evalsha) return this.bySha(body);
    return this.cache.get(this.shaOf(body)) ?? { flags: shebangFlags(body) };
  }

  /**
   * Whether this EVAL / EVALSHA may write, for routing (evalGetCommandFlags):
   * undefined for an EVALSHA of an unknown script (NOSCRIPT).
   */
  mayWrite(argv: readonly string[], evalsha: boolean): boolean | undefined {
    const s = this.named(argv, evalsha);
    if (s === undefined) return undefined;
    if ('body' in s) return this.scriptMayWrite(s);
    // An EVAL of a body not cached yet is an entry (whatever it does): applying it caches the body, as Redis's EVAL does.
    // A bad shebang: its error is the same wherever it is found; the entry answers it.
    return !declaresNoWrites(s.flags);
  }

  /**
   * Whether an EVAL / EVALSHA's script declares no-writes in its shebang (what
   * Redis's evalGetCommandFlags goes by, e.g. for CLIENT PAUSE WRITE): a
   * script without a shebang never does, whatever it provably does.
   */
  declaresNoWrites(argv: readonly string[], evalsha: boolean): boolean {
    const s = this.named(argv, evalsha);
    return s !== undefined && declaresNoWrites(s.flags);
  }

  /**
   * evalGetCommandFlags / fcallGetCommandFlags for maxmemory: whether the
   * script's declared flags make this call denyoom (scriptFlagsToCmdFlags:
   * flags without no-writes or allow-oom). No for a script without a
   * shebang (it is checked at its first write: scriptVerifyOOM), a bad
   * shebang, or an EVALSHA / FCALL of a script not known here.
   */
  deniesOom(name: string, argv: readonly string[]): boolean {
    const body = argv[1]!;
    let flags: number | { error: string } | undefined;
    if (name === 'fcall' || name === 'fcall_ro') flags = this.functions.get(body)?.flags;
    else if (name === 'evalsha' || name === 'evalsha_ro') flags = this.bySha(body)?.flags;
    else flags = this.cache.get(this.shaOf(body))?.flags ?? shebangFlags(body);
    if (typeof flags !== 'number' || (flags & ScriptFlag.Compat) !== 0) return false;
    return (flags & (ScriptFlag.NoWrites | ScriptFlag.AllowOom)) === 0;
  }

  /** A cached script may write unless flagged no-writes, or (without a shebang) it provably never writes. */
  private scriptMayWrite(s: Script): boolean {
    if ((s.flags & ScriptFlag.Compat) === 0) return (s.flags & ScriptFlag.NoWrites) === 0;
    s.readOnly ??= provablyReadOnly(s.body, (name) => {
      const def = this.table.get(name);
      return def === undefined || def.mayReplicate || def.subcommands !== undefined;
    });
    return !s.readOnly;
  }

  /**
   * Redis's luaCreateFunction: compiles `body` into the VM and, when the
   * cache may change (an applied entry: ctx.index > 0), caches it. Returns
   * the sha and flags, or writes the error and returns undefined.
   */
  private create(ctx: Ctx, body: string): { sha: string; script: Script } | undefined {
    const sha = this.shaOf(body);
    let script = this.cache.get(sha);
    if (script === undefined) {
      const flags = shebangFlags(body);
      if (typeof flags !== 'number') {
        ctx.w.error(flags.error);
        return undefined;
      }
      script = { sha, body, flags };
    }
    if (!this.vm.has(sha)) {
      const err = this.vm.load(sha, body);
      if (err !== undefined) {
        ctx.w.error(err.slice(1, -2));
        return undefined;
      }
    }
    if (ctx.index > 0) this.cache.set(sha, script);
    else if (!this.cache.has(sha)) this.uncachedRead = body;
    return { sha: script.sha, script };
  }

  /**
   * The body of a script an EVAL / EVAL_RO on the read path (no entry) just
   * compiled without caching it: the dispatcher takes it (takeUncached) and,
   * on the leader, proposes its caching (an EntryKind.CacheScripts entry).
   */
  uncachedRead: string | undefined;

  /** The body a read-path EVAL left uncached, once (see uncachedRead). */
  takeUncached(): string | undefined {
    const body = this.uncachedRead;
    this.uncachedRead = undefined;
    return body;
  }

  /** Caches a script body (an applied EntryKind.CacheScripts entry): as SCRIPT LOAD, without a reply; a body that does not compile is not cached. */
  cacheBody(body: string): void {
    const sha = this.shaOf(body);
    if (this.cache.has(sha)) return;
    const flags = shebangFlags(body);
    if (typeof flags !== 'number') return;
    if (!this.vm.has(sha) && this.vm.load(sha, body) !== undefined) return;
    this.cache.set(sha, { sha, body, flags });
  }

  /** SCRIPT LOAD (applied). */
  load(ctx: Ctx, body: string): void {
    const r = this.create(ctx, body);
    if (r !== undefined) ctx.w.bulk(r.sha);
  }

  /** SCRIPT FLUSH (applied): the cache and a brand new VM. */
  flush(): void {
    this.cache.clear();
    this.lastScript = undefined;
    // A VM never made is as new as a reset one.
    this.made?.reset();
  }

  /** Redis's evalGenericCommand (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO). */
  eval(ctx: Ctx, argv: string[], kind: EvalKind): void {
    const w = ctx.w;
    const numkeys = numKeys(argv);
    if (numkeys === undefined) return w.error(ERR.notInteger);
    if (typeof numkeys === 'string') return w.error(numkeys);
    let sha: string;
    let script: Script | undefined;
    if (kind.sha) {
      script = this.bySha(argv[1]!);
      if (script === undefined) return w.error(NOSCRIPT);
      sha = script.sha;
      if (!this.vm.has(sha) && this.vm.load(sha, script.body) !== undefined) return w.error(NOSCRIPT);
    } else {
      const r = this.create(ctx, argv[1]!);
      if (r === undefined) return;
      sha = r.sha;
      script = r.script;
    }
    const flags = script.flags;
    const compat = (flags & ScriptFlag.Compat) !== 0;
    if (!compat) {
      if (flags & ScriptFlag.NoCluster && !this.standalone(ctx)) return w.error('ERR Can not run script on cluster, \'no-cluster\' flag is set.');
      if (!(flags & ScriptFlag.NoWrites) && kind.ro) return w.error('ERR Can not execute a script with write flag using *_ro command.');
    }
    const vm = this.vm;
    this.invoke(
      ctx,
      kind.ro || (!compat && (flags & ScriptFlag.NoWrites) !== 0),
      compat || (flags & ScriptFlag.AllowCrossSlot) !== 0,
      !compat && (flags & ScriptFlag.AllowOom) !== 0,
      numkeys > 0 ? argv[3] : undefined,
      vm,
      undefined,
      (o) => vm.startArgv(sha, argv, numkeys, o),
      (r) => {
        // ctx.w, not w: a paused script's reply goes where deferReply said.
        if (r === undefined) return ctx.w.error(NOSCRIPT);
        if (r.error) ctx.w.error(r.resp.slice(1, -2));
        else ctx.w.raw(r.resp);
      },
    );
  }

  /**
   * Runs a script or function with its run context set (Redis's
   * scriptPrepareForRun / scriptResetRun): what redis.call may do, the
   * declared keys' slot (the dispatcher refused keys in different slots:
   * CROSSSLOT), and, in an applied entry, the entry's random source and a
   * math.random reseeded from the entry.
   */
  private invoke(
    ctx: Ctx,
    readOnly: boolean,
    allowCrossSlot: boolean,
    allowOom: boolean,
    /** The first of the declared keys (undefined: none). */
    firstKey: string | undefined,
    vm: LuaVM,
    fn: { name: string; argv: readonly string[] } | undefined,
    go: (o: EvalOptions) => EvalResult | Paused | undefined,
    finish: (r: EvalResult | undefined) => void,
  ): void {
    // On the read path (no entry: ctx.index 0) a script must not write, whatever it is flagged: its writes would be this node's only.
    const standalone = this.standalone(ctx);
    const pausable = this.pausable;
    const client = this.pausableClient;
    const deferReply = this.deferReply;
    this.pausable = false;
    this.pausableClient = undefined;
    this.deferReply = undefined;
    const slot = firstKey !== undefined && !standalone ? keyHashSlot(firstKey) : -1;
    let run: Run = {
      ctx,
      readOnly: readOnly || ctx.index === 0,
      allowCrossSlot,
      slot,
      dbIndex: ctx.dbIndex,
      standalone,
      oom: this.oomAtStart && !allowOom,
      wrote: false,
      user: ctx.user === undefined ? undefined : (this.acl?.users.get(ctx.user) ?? this.acl?.defaultUser),
      gated: pausable && ctx.index > 0,
      vm,
      stopped: false,
      passed: false,
    };
    let seed: number | undefined;
    if (ctx.index > 0) {
      entryRandom(ctx);
      seed = entrySeed(ctx.index, ctx.now);
    }
    const opts: EvalOptions = { budget: this.budget, memoryBudget: this.memoryBudget, clientResp: ctx.w.proto, seed, sliceMs: pausable ? SLICE_MS : undefined };
    this.run = run;
    const started = Date.now();
    let r: EvalResult | Paused | undefined;
    try {
      r = go(opts);
    } finally {
      if (r !== PAUSED) this.run = undefined;
    }
    // Stopped at its first write with Kill already decided: that is its end.
    if (r !== PAUSED && (!run.stopped || this.decisions.get(ctx.index) === true)) return finish(r as EvalResult | undefined);
    // this.run stays while it is paused: redis.call in the next slices acts for this script.
    // Its reply, written at its end, goes after what the client was answered so far (nothing since it started).
    if (deferReply !== undefined) ctx.w = deferReply(client);
    const restart = (): EvalResult | Paused | undefined => {
      // As the first run started: a new run context, the entry's random source from its start (a read such as SRANDMEMBER drew from it).
      ctx.rand = undefined;
      entryRandom(ctx);
      // What the first run changed, as it started (the rest never changes; oomAtStart is read from the first: the applier resets it after the entry).
      run = { ...run, slot, dbIndex: ctx.dbIndex, wrote: false, stopped: false, passed: false };
      b.run = run;
      this.run = run;
      let r2: EvalResult | Paused | undefined;
      try {
        r2 = go(opts);
      } finally {
        if (r2 !== PAUSED) this.run = undefined;
      }
      return r2;
    };
    const b: BusyScript = {
      started,
      isFunction: fn !== undefined,
      fn,
      applied: ctx.index > 0,
      client,
      kill: false,
      monitored: this.stats.scriptMonitored,
      vm,
      run,
      finish,
      index: ctx.index,
      waiting: false,
      stoppedReply: undefined,
      restart,
      killWanted: false,
      killProposed: false,
      proceedProposed: false,
    };
    this.busy = b;
    this.onBusy?.();
    if (r !== PAUSED) this.stopped(b, r as EvalResult | undefined);
  }

  /** The busy script's run ended because gate stopped it (r: its kill error): it ends now if the log said Kill, else it waits for the decision. */
  private stopped(b: BusyScript, r: EvalResult | undefined): boolean {
    if (this.decisions.get(b.index) === true) return this.ended(b, r);
    b.waiting = true;
    b.stoppedReply = r;
    this.run = undefined;
    this.askProceed(b);
    return false;
  }

  private ended(b: BusyScript, r: EvalResult | undefined): true {
    this.busy = undefined;
    this.run = undefined;
    b.finish(r);
    this.onBusyEnd?.();
    return true;
  }

  /**
   * Runs the busy script's next slice (killing it first if SCRIPT KILL /
   * FUNCTION KILL asked, or the log did). A script waiting for the log's
   * decision runs again from its start once it is Proceed, or ends with the
   * kill error once it is Kill. Returns true once it has ended (its reply
   * written).
   */
  resumeBusy(): boolean {
    const b = this.busy;
    if (b === undefined) return true;
    let r: EvalResult | Paused | undefined;
    this.stats.scriptMonitored = b.monitored;
    try {
      if (b.waiting) {
        const d = this.decisions.get(b.index);
        if (d === undefined) {
          this.askProceed(b);
          return false;
        }
        b.waiting = false;
        if (d) return this.ended(b, b.stoppedReply);
        r = b.restart();
      } else {
        let kill = b.kill;
        if (b.run.gated && !b.run.passed) {
          const past = b.vm.executed() >= KILLABLE_AFTER;
          if (past) this.proposeKill(b);
          // The log said Kill and it has run past the threshold without writing: it would wait at its first write, then stop: stop now.
          if (past && this.decisions.get(b.index) === true) kill = true;
        }
        r = b.vm.resume(kill, SLICE_MS);
      }
    } catch (e) {
      r = { resp: '-ERR Lua VM failure: ' + String((e as Error).message).replace(/[\r\n]/g, ' ') + '\r\n', error: true };
    } finally {
      this.stats.scriptMonitored = false;
    }
    if (r === PAUSED) return false;
    if (b.run.stopped) return this.stopped(b, r as EvalResult | undefined);
    return this.ended(b, r as EvalResult | undefined);
  }

  /** Waiting at its first write: the leader proposes ProceedScript(N) (unless it proposed KillScript(N)); a new leader does the same. */
  private askProceed(b: BusyScript): void {
    if (!this.isLeader()) return;
    // A SCRIPT KILL answered +OK before the script passed the threshold: its Kill goes first.
    this.proposeKill(b);
    // The proposer proposes no Proceed while its own Kill of this term is in flight.
    if (this.proposeDecision?.(b.index, false) === false) b.proceedProposed = true;
  }

  /** SCRIPT KILL was asked on the leader: once the script is killable, KillScript(N) (once). */
  private proposeKill(b: BusyScript): void {
    if (!b.killWanted || b.killProposed || !this.isLeader() || this.proposeDecision === undefined) return;
    if (!b.waiting && b.vm.executed() < KILLABLE_AFTER) return;
    b.killProposed = true;
    this.proposeDecision(b.index, true);
  }

  /**
   * A KillScript(N) (kill) or ProceedScript(N) entry is committed (seen ahead
   * of its turn, StateMachine.committedAhead): the first one for N decides.
   */
  decide(index: number, kill: boolean): void {
    if (!this.decisions.has(index)) this.decisions.set(index, kill);
  }

  /** A KillScript / ProceedScript entry for N applied in sequence: N's script has ended, its decision (and older ones) are no longer needed. */
  decisionApplied(index: number): void {
    for (const i of this.decisions.keys()) if (i <= index) this.decisions.delete(i);
  }

  /** A snapshot replaced the state. */
  forgetDecisions(): void {
    this.decisions.clear();
  }

  /**
   * The gate before the first effect (a write, a PUBLISH) of a gated script
   * (Run.gated): before KILLABLE_AFTER instructions, or once the log said
   * Proceed, it runs (and the script is unkillable from then on); else the
   * script stops (STOP; Run.stopped) and waits for the decision (stopped,
   * where the leader proposes Proceed).
   */
  private gate(run: Run): boolean {
    if (run.vm.executed() >= KILLABLE_AFTER && this.decisions.get(run.ctx.index) !== false) {
      run.stopped = true;
      return false;
    }
    run.passed = true;
    return true;
  }
  /**
   * SCRIPT KILL (isFunction false) / FUNCTION KILL (Redis's scriptKill): the
   * error reply's text, or undefined (+OK). A script on the read path that
   * has not written (none can) is stopped at its next slice. One of a log
   * entry that has not written is stopped by every replica alike: the leader
   * proposes KillScript(N) once it has run KILLABLE_AFTER instructions
   * (docs/decisions.md "Killing a replicated script"); a follower answers
   * KILL_AT_LEADER.
   */
  kill(isFunction: boolean): string | undefined {
    const b = this.busy;
    if (b === undefined) return NOTBUSY;
    if (b.run.wrote || b.run.passed) return UNKILLABLE_WROTE;
    if (isFunction !== b.isFunction) return b.isFunction ? BUSY_FUNCTION : BUSY_EVAL;
    if (!b.applied) {
      b.kill = true;
      return undefined;
    }
    if (!b.run.gated) return UNKILLABLE_REPLICATED;
    const d = this.decisions.get(b.index);
    // Proceed decided: it goes on to write.
    if (d === false) return UNKILLABLE_WROTE;
    if (d === true) return undefined;
    if (!this.isLeader()) return KILL_AT_LEADER;
    if (b.proceedProposed) return UNKILLABLE_WROTE;
    b.killWanted = true;
    this.proposeKill(b);
    return undefined;
  }

  /** Whether an FCALL may write, for routing (fcallGetCommandFlags): undefined for a function not known here. */
  functionMayWrite(name: string): boolean | undefined {
    const fi = this.functions.get(name);
    return fi === undefined ? undefined : (fi.flags & ScriptFlag.NoWrites) === 0;
  }

  /** Redis's fcallCommandGeneric (FCALL, FCALL_RO). */
  fcall(ctx: Ctx, argv: string[], ro: boolean): void {
    const w = ctx.w;
    const fi: FunctionInfo | undefined = this.functions.get(argv[1]!);
    if (fi === undefined) return w.error(FUNCTION_NOT_FOUND);
    const numkeys = numKeys(argv);
    if (numkeys === undefined) return w.error('ERR Bad number of keys provided');
    if (typeof numkeys === 'string') return w.error(numkeys);
    const flags = fi.flags;
    if (flags & ScriptFlag.NoCluster && !this.standalone(ctx)) return w.error('ERR Can not run script on cluster, \'no-cluster\' flag is set.');
    if (!(flags & ScriptFlag.NoWrites) && ro) return w.error('ERR Can not execute a script with write flag using *_ro command.');
    const noWrites = (flags & ScriptFlag.NoWrites) !== 0;
    const vm = this.functions.vm;
    this.invoke(
      ctx,
      ro || noWrites,
      (flags & ScriptFlag.AllowCrossSlot) !== 0,
      (flags & ScriptFlag.AllowOom) !== 0,
      numkeys > 0 ? argv[3] : undefined,
      vm,
      { name: fi.name, argv },
      (o) => vm.startFcallArgv(fi.ref, fi.name, argv, numkeys, o),
      (r) => {
        // ctx.w, not w: a paused function's reply goes where deferReply said.
        if (r === undefined) return ctx.w.error(FUNCTION_NOT_FOUND);
        if (r.error) ctx.w.error(r.resp.slice(1, -2));
        else ctx.w.raw(r.resp);
      },
    );
  }

  /**
   * The command redis.call names: the one named last again without the
   * table's two lookups (the VM hands the same name string back while
   * scripts call the same command); a container command (subcommands) is
   * looked up each time. The table never changes after start.
   */
  private callDef(argv: readonly string[]): CommandDef | undefined {
    const name = argv[0]!;
    if (name === this.lastCallName) return this.lastCallDef;
    const top = this.table.get(name);
    if (top === undefined || top.subcommands !== undefined) return this.table.lookup(argv);
    this.lastCallName = name;
    this.lastCallDef = top;
    return top;
  }

  private lastCallName: string | undefined;
  private lastCallDef: CommandDef | undefined;

  /** Redis's scriptCall: one redis.call / redis.pcall of the running script. */
  private call(argv: string[], resp: 2 | 3): CallResult {
    const run = this.run;
    if (run === undefined) return { scriptError: 'ERR redis.call outside a script' };
    const def = this.callDef(argv);
    if (def === undefined || (def.subcommands !== undefined && argv.length >= 2)) return { scriptError: 'Unknown Redis command called from script' };
    const arity = def.meta.arity;
    if ((arity > 0 && argv.length !== arity) || argv.length < -arity) return { scriptError: 'Wrong number of args calling Redis command from script' };
    const flags = def.meta.flags;
    if (flags.has('noscript')) return { scriptError: 'This Redis command is not allowed from script' };
    // scriptCall's ACL check, against the user of the entry (or of the read): the same on every replica.
    if (run.user !== undefined && !run.user.allowsAll) {
      const denied = this.acl!.check(run.user, def, argv).denied;
      if (denied !== Denied.Ok) return { scriptError: scriptNopermError(denied) };
    }
    if (run.readOnly && def.mayReplicate) return { scriptError: 'Write commands are not allowed from read-only scripts.' };
    // scriptVerifyOOM: only before the script's first write (it cannot stop halfway).
    if (run.oom && !run.wrote && flags.has('denyoom')) return { scriptError: '-' + OOM };
    // Redis Cluster's check (scriptVerifyClusterState): every slot is served here, so only the slots matter.
    // SPUBLISH's channel is not a key (its key spec says not_key) but Redis Cluster routes and checks it as one.
    const keys = run.standalone ? NO_KEYS : def.data !== undefined ? commandKeys(def.meta, argv) : def.name === 'spublish' ? [argv[1]!] : [];
    if (keys.length > 0) {
      const slot = keyHashSlot(keys[0]!);
      for (let i = 1; i < keys.length; i++) {
        if (keyHashSlot(keys[i]!) !== slot) return { scriptError: 'Script attempted to access a non local key in a cluster node' };
      }
      // A sharded cluster: a slot of another group is not local either.
      if (!this.servesSlot(slot)) return { scriptError: 'Script attempted to access a non local key in a cluster node' };
      // A slot moving away (Redis: getNodeByQuery answers ASK or TRYAGAIN): keys not all here, or a write of one being shipped.
      if (this.movingRefuses(run.dbIndex, keys, def.isWrite)) return { scriptError: 'Script attempted to access a non local key in a cluster node' };
      if (!run.allowCrossSlot) {
        if (run.slot === -1) run.slot = slot;
        else if (run.slot !== slot) return { scriptError: 'Script attempted to access keys that do not hash to the same slot' };
      }
    }
    const parent = run.ctx;
    const w = this.callWriter;
    w.proto = resp;
    w.out = '';
    w.onError = this.stats.errorReply;
    if (def.data !== undefined) {
      const ctx: Ctx = { db: parent.dbs.get(run.dbIndex), dbIndex: run.dbIndex, dbs: parent.dbs, now: parent.now, index: parent.index, w, inScript: true, dirty: 0 };
      if (parent.touchDb !== undefined) ctx.touchDb = parent.touchDb;
      if (parent.flushingDb !== undefined) ctx.flushingDb = parent.flushingDb;
      if (parent.rand !== undefined) ctx.rand = parent.rand;
      if (parent.events !== undefined) ctx.events = parent.events;
      if (parent.signal !== undefined) ctx.signal = parent.signal;
      if (run.gated && !run.passed && def.isWrite && !this.gate(run)) return STOP;
      callData(this.stats, def, def.data, ctx, argv, undefined, false);
      if (parent.dirty !== undefined) parent.dirty += ctx.dirty!;
      if (def.isWrite) run.wrote = true;
      feedScriptCall(this.stats, def, argv, ctx.dbIndex);
      if (def.isWrite && !def.touchesAll && !def.signalsItself && this.touch.wanted()) this.touch.touched(ctx.dbIndex, commandKeys(def.meta, argv));
      return { resp: w.take() };
    }
    // Connection and server commands have no client here; the few that need none are answered as Redis does.
    switch (def.name) {
      case 'ping':
        if (argv.length > 2) w.error(`ERR wrong number of arguments for 'ping' command`);
        else if (argv.length === 2) w.bulk(argv[1]!);
        else w.simple('PONG');
        break;
      case 'echo':
        w.bulk(argv[1]!);
        break;
      case 'select': {
        const i = parseDbIndex(argv[1]!, parent.dbs.count);
        if (typeof i === 'string') {
          w.error(i);
        } else {
          run.dbIndex = i;
          w.ok();
        }
        break;
      }
      // Only in scripts that may write (PUBLISH is may-replicate), so only in applied entries: on every replica.
      // A message is an effect too: a gated script's first one waits for the log's decision as a write does.
      case 'publish':
      case 'spublish':
        if (run.gated && !run.passed && !this.gate(run)) return STOP;
        if (def.name === 'publish') w.int(this.pubsub?.deliver(argv[1]!, argv[2]!) ?? 0);
        else w.int(this.pubsub?.deliverShard(argv[1]!, argv[2]!) ?? 0);
        break;
      case 'time': {
        // The entry's time (or the read's): the same on every replica.
        const ms = Math.floor(parent.now);
        w.arrayHeader(2);
        w.bulk(String(Math.floor(ms / 1000)));
        w.bulk(String((ms % 1000) * 1000));
        break;
      }
      default:
        return { scriptError: 'This Redis command is not supported from scripts by raftis' };
    }
    def.stats.calls++;
    feedScriptCall(this.stats, def, argv, run.dbIndex);
    return { resp: w.take() };
  }

  /**
   * The script cache and the function libraries as snapshot bytes. Version
   * 2: [u32 0xFFFFFFFF][u32 2], the script bodies in sha order, then the
   * library payloads in name order, each list as [u32 n] then n x
   * ([u32 len][latin1 bytes]). Version 1 (older snapshots) is the script
   * list alone; its first word is a count, never 0xFFFFFFFF.
   */
  snapshotState(): Buffer {
    const bodies = [...this.cache.keys()].sort().map((sha) => this.cache.get(sha)!.body);
    const codes = this.functions.codes();
    let size = 8 + 4 + 4;
    for (const b of bodies) size += 4 + b.length;
    for (const c of codes) size += 4 + c.length;
    const b = Buffer.allocUnsafe(size);
    b.writeUInt32LE(STATE_V2_MARK, 0);
    b.writeUInt32LE(2, 4);
    let p = writeList(b, 8, bodies);
    p = writeList(b, p, codes);
    return b;
  }

  /** A snapshot replaced the state: the cache (compiled lazily, on first use) and the libraries it kept. */
  restore(state: Buffer): void {
    this.flush();
    if (state.length < 4) {
      this.functions.flush();
      return;
    }
    let bodies: string[];
    let codes: string[] = [];
    if (state.readUInt32LE(0) === STATE_V2_MARK) {
      const version = state.readUInt32LE(4);
      if (version !== 2) throw new Error(`snapshot: unknown scripting state version ${version}`);
      const r = readList(state, 8);
      bodies = r.list;
      codes = readList(state, r.end).list;
    } else {
      bodies = readList(state, 0).list;
    }
    for (const body of bodies) {
      const flags = shebangFlags(body);
      const sha = sha1hex(body);
      this.cache.set(sha, { sha, body, flags: typeof flags === 'number' ? flags : ScriptFlag.Compat });
    }
    this.functions.restore(codes);
  }
}

/** Shebang flags that declare no-writes (a script without a shebang never does; a bad shebang neither). */
function declaresNoWrites(flags: number | { error: string }): boolean {
  return typeof flags === 'number' && (flags & (ScriptFlag.Compat | ScriptFlag.NoWrites)) === ScriptFlag.NoWrites;
}

/** EVAL's and FCALL's numkeys (argv[2]; string2ll as Redis): the count, undefined if not an integer, or the range error. */
function numKeys(argv: readonly string[]): number | string | undefined {
  const v = string2ll(argv[2]!);
  if (v === null) return undefined;
  // (A number, or a bigint beyond 2^53: both compare with numbers.)
  if (v > argv.length - 3) return 'ERR Number of keys can\'t be greater than number of args';
  if (v < 0) return 'ERR Number of keys can\'t be negative';
  return Number(v);
}

const NO_KEYS: readonly string[] = [];

/** The first word of a version-2 scripting state (a version-1 state starts with its script count). */
const STATE_V2_MARK = 0xffffffff;

function writeList(b: Buffer, p: number, list: readonly string[]): number {
  b.writeUInt32LE(list.length, p);
  p += 4;
  for (const s of list) {
    b.writeUInt32LE(s.length, p);
    p += 4;
    p += b.write(s, p, 'latin1');
  }
  return p;
}

function readList(b: Buffer, p: number): { list: string[]; end: number } {
  const n = b.readUInt32LE(p);
  p += 4;
  const list: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = b.readUInt32LE(p);
    list.push(b.toString('latin1', p + 4, p + 4 + len));
    p += 4 + len;
  }
  return { list, end: p };
}
