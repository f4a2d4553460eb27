/**
 * The Lua VM scripts run in: Redis 7.0.15's own Lua 5.1.5 (deps/lua, with
 * cjson, cmsgpack, bit and struct) plus a C port of Redis's scripting
 * environment (native/lua/glue/raftis_lua.c: the redis.* API, RESP↔Lua
 * conversion, globals protection, rand48 math.random, an instruction budget,
 * a memory budget, a heap limit), compiled to WebAssembly by native/lua/build.sh. The
 * build output is committed (native/lua/dist/), so raftis needs only Node.
 *
 * A leaf: it imports nothing of raftis but util/latin1. Strings are latin1
 * (one char per byte), like raftis's arguments and RespWriter output.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { latin1 } from '../latin1.js';

// src/util/lua/vm.ts and dist/util/lua/vm.js are both three levels below the repository root.
const DIST = new URL('../../../native/lua/dist/', import.meta.url);

interface LuaModule {
  HEAPU8: Uint8Array;
  _rl_init(limit: number, functionsMode: number): number;
  _rl_load_library(len: number, budget: number, memoryBudget: number): number;
  _rl_unref(ref: number): void;
  _rl_fcall(ref: number, budget: number, resp: number, memoryBudget: number): number;
  _rl_close(): void;
  _rl_load(name: number, len: number): number;
  _rl_has(name: number): number;
  _rl_eval(name: number, budget: number, resp: number, memoryBudget: number): number;
  _rl_in_buf(n: number): number;
  _rl_reply_buf(n: number): number;
  _rl_out_ptr(): number;
  _rl_out_len(): number;
  _rl_mem_used(): number;
  _rl_mem_peak(): number;
  _rl_set_mem_limit(n: number): void;
  _rl_gc(): void;
  _rl_srand(seed: number): void;
  _rl_name_buf(): number;
  _rl_mem_charged(): number;
  _rl_resume(kill: number): number;
  _rl_paused(): number;
  _rl_set_check_period(hooks: number): void;
  _rl_executed(): number;
}

type CreateModule = (opts: {
  wasmBinary: Uint8Array;
  rlHost: (kind: number, ptr: number, len: number) => number;
  print: (s: string) => void;
  printErr: (s: string) => void;
}) => LuaModule;

/** Node's undocumented latin1 fast paths (what Buffer#write/toString call for 'latin1'). */
interface Heap extends Buffer {
  latin1Write(s: string, offset: number, length: number): number;
  latin1Slice(start: number, end: number): string;
}

/**
 * Strings shorter than this cross into linear memory byte by byte: a
 * native latin1Write per string costs more than the bytes (as the entry
 * encoder's, src/commands/engine/entry.ts).
 */
const SHORT = 48;

function u32(h: Uint8Array, p: number): number {
  return (h[p]! | (h[p + 1]! << 8) | (h[p + 2]! << 16) | (h[p + 3]! << 24)) >>> 0;
}

/** Whether the bytes at h[off ..) are s's chars (s.length of them). */
function sameBytes(h: Uint8Array, off: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (h[off + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** readArgv compares an argument with the script's KEYS and ARGV up to this length, and with the first MATCH_ARGS of them. */
const MATCH_MAX = 64;
const MATCH_ARGS = 8;

function putU32(h: Uint8Array, p: number, n: number): void {
  h[p] = n;
  h[p + 1] = n >>> 8;
  h[p + 2] = n >>> 16;
  h[p + 3] = n >>> 24;
}

let loaded: { create: CreateModule; wasm: Buffer } | undefined;

/** The compiled module, read once per process (synchronous: VMs are created while the engine is built). */
function module(): { create: CreateModule; wasm: Buffer } {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    const create = require(new URL('lua51.cjs', DIST).pathname) as CreateModule;
    loaded = { create, wasm: readFileSync(new URL('lua51.wasm', DIST)) };
  }
  return loaded;
}

/** What rl_host's first argument says the script asked for. */
const enum Host {
  Call = 0,
  Log = 1,
  AclCheck = 2,
  SetRepl = 3,
  SetResp = 4,
  /** The count hook asks whether to pause (every RL_CHECK_PERIOD hooks): 0 go on, 1 pause, 2 kill. */
  Pause = 5,
}

/** The SHA1 of a script body, in lower-case hex (latin1 bytes, as Redis hashes them). */
export function sha1hex(body: string): string {
  return createHash('sha1').update(body, 'latin1').digest('hex');
}

/**
 * The answer to one redis.call / redis.pcall: the command's RESP reply, or
 * scriptCall's error text (raised as a script error), or STOP: the command
 * is not run and the script stops at its next instruction as SCRIPT KILL
 * stops it ("Script killed by user with SCRIPT KILL...", which no pcall can
 * swallow).
 */
export type CallResult = { resp: string } | { scriptError: string } | typeof STOP;
export const STOP = { stop: true } as const;

export interface LuaHost {
  /** Runs one command for redis.call/pcall; `resp` is the protocol the script asked for (redis.setresp). */
  call(argv: string[], resp: 2 | 3): CallResult;
  /** redis.log(level, message). */
  log?(level: number, message: string): void;
  /** redis.acl_check_cmd: 1 allowed, 0 denied, -1 unknown command. */
  aclCheck?(argv: string[]): number;
}

export interface EvalOptions {
  /** Instructions the script may run (0: unlimited); counted by a hook every 100 instructions. */
  budget: number;
  /**
   * Bytes the script's own operations may allocate (0: unlimited): every
   * allocation and every string it asks for, counted whatever the heap held
   * before and never given back, so every replica stops it at the same
   * operation ("Script exceeded its memory budget").
   */
  memoryBudget?: number;
  /** The calling client's protocol: how the script's result is converted. */
  clientResp: 2 | 3;
  /** Reseeds math.random's rand48 before the script runs (Redis's redisSrand48). */
  seed?: number;
  /**
   * start / startFcall only: pause the script once it has run this many
   * milliseconds since it started or was last resumed (0: at every chance,
   * for tests). Without it the script runs to its end.
   */
  sliceMs?: number;
}

/** What start / startFcall / resume answer while the script is not finished. */
export const PAUSED = { paused: true } as const;
export type Paused = typeof PAUSED;

/** A function a library registered (redis.register_function). */
export interface RegisteredFunction {
  name: string;
  desc: string | undefined;
  /** Shebang-style flags: no-writes 1, allow-oom 2, allow-stale 4, no-cluster 8, allow-cross-slot-keys 16. */
  flags: number;
  /** The callback's reference in the Lua registry. */
  ref: number;
}

export interface EvalResult {
  /** The script's reply, RESP in the client's protocol. */
  resp: string;
  /** The reply is an error (the script failed, or returned an error reply). */
  error: boolean;
}

/** Redis's Lua scripting environment in one WebAssembly instance. */
export class LuaVM {
  private m!: LuaModule;
  private heapBuf: Heap | null = null;
  /**
   * The exports called per script and per redis.call, copied off the module
   * object (a dictionary-mode object: every property read of it is a slow
   * lookup), and the byte view of linear memory (see u8).
   */
  private x!: Pick<LuaModule, '_rl_reply_buf' | '_rl_in_buf' | '_rl_out_ptr' | '_rl_out_len' | '_rl_eval' | '_rl_executed' | '_rl_fcall' | '_rl_srand' | '_rl_resume'>;
  private heapU8: Uint8Array = new Uint8Array(0);
  private namePtr = 0;
  private readonly loadedShas = new Set<string>();
  /** The protocol of redis.call's replies for the running script (redis.setresp). */
  private scriptResp: 2 | 3 = 2;
  /** While a pausable script runs: pause once performance.now() reaches sliceEnd (-1: never; 0: at every chance). */
  private sliceMs = -1;
  /**
   * When the slice ends; -1 until the count hook first asks (after
   * RL_CHECK_PERIOD hooks): the clock is read then, not per script, so a
   * slice lasts sliceMs from that first question (a few ms of a loop after
   * the script started or resumed). Most scripts end before it.
   */
  private sliceEnd = -1;
  /** A paused script: whether it is one. */
  private pausedNow = false;

  constructor(
    private readonly host: LuaHost,
    private memoryLimit = 64 * 1024 * 1024,
    /** Redis's functions engine (function_lua.c) instead of EVAL's environment. */
    private readonly functionsMode = false,
  ) {
    this.init();
  }

  /** Counts the instances this VM has had: a new one (reset, or a trap) forgets every compiled script and registered function. */
  generation = 0;

  private init(): void {
    this.generation++;
    const { create, wasm } = module();
    this.m = create({
      wasmBinary: wasm,
      rlHost: (kind, ptr, len) => {
        try {
          return this.onHost(kind, ptr, len);
        } catch (e) {
          // Never let a JS exception unwind through Lua's C frames.
          this.writeReply('-ERR host exception: ' + String((e as Error)?.message).replace(/[\r\n]/g, ' ') + '\r\n');
          return 0;
        }
      },
      print: () => {},
      printErr: () => {},
    });
    this.heapBuf = null;
    this.nameHolds = '';
    const m = this.m;
    this.x = {
      _rl_reply_buf: m._rl_reply_buf,
      _rl_in_buf: m._rl_in_buf,
      _rl_out_ptr: m._rl_out_ptr,
      _rl_out_len: m._rl_out_len,
      _rl_eval: m._rl_eval,
      _rl_executed: m._rl_executed,
      _rl_fcall: m._rl_fcall,
      _rl_srand: m._rl_srand,
      _rl_resume: m._rl_resume,
    };
    this.heapU8 = m.HEAPU8;
    if (this.m._rl_init(this.memoryLimit, this.functionsMode ? 1 : 0) !== 0) throw new Error('lua_newstate failed');
    this.loadedShas.clear();
    this.namePtr = this.m._rl_name_buf();
  }

  /**
   * Linear memory's bytes. A grown memory detaches the old ArrayBuffer,
   * whose views then have length 0: only then is the module's new view
   * read (Uint8Array#buffer is a slow call; length is not).
   */
  private u8(): Uint8Array {
    const h = this.heapU8;
    if (h.length !== 0) return h;
    return (this.heapU8 = this.m.HEAPU8);
  }

  /** A Buffer over linear memory (made again after the memory grew). */
  private heap(): Heap {
    const ab = this.m.HEAPU8.buffer as ArrayBuffer;
    if (this.heapBuf === null || this.heapBuf.buffer !== ab) this.heapBuf = Buffer.from(ab) as Heap;
    return this.heapBuf;
  }

  /** A redis.call reply into the C reply buffer. */
  private writeReply(s: string): void {
    const n = s.length;
    const p = this.x._rl_reply_buf(n);
    this.putString(p, s);
  }

  /** s's bytes at p (the space is there). */
  private putString(p: number, s: string): number {
    const n = s.length;
    if (n < SHORT) {
      const h = this.u8();
      for (let i = 0; i < n; i++) h[p + i] = s.charCodeAt(i);
      return n;
    }
    return this.heap().latin1Write(s, p, n);
  }

  /** redis.call's arguments: [u32 argc] then ([u32 len][bytes])*. */
  private readArgv(ptr: number): string[] {
    const h = this.u8();
    const argc = u32(h, ptr);
    let off = ptr + 4;
    const argv = new Array<string>(argc);
    for (let i = 0; i < argc; i++) {
      const n = u32(h, off);
      off += 4;
      argv[i] = i === 0 ? this.commandName(h, off, n) : this.argument(h, off, n);
      off += n;
    }
    return argv;
  }

  /** The command name redis.call called last: the same string object while scripts call the same command (its hash already computed for the table's lookup). */
  private lastCommand = '';

  private commandName(h: Uint8Array, off: number, n: number): string {
    const c = this.lastCommand;
    if (c.length === n && sameBytes(h, off, c)) return c;
    return (this.lastCommand = latin1(h, off, off + n));
  }

  /**
   * The running script's KEYS and ARGV as the client sent them (startArgv's
   * argv from runArgvFrom), undefined for start / startFcall: an argument
   * redis.call passes unchanged (KEYS[1], most often) is that string, not a
   * copy made from linear memory.
   */
  private runArgv: readonly string[] | undefined;
  private runArgvFrom = 0;

  private argument(h: Uint8Array, off: number, n: number): string {
    const a = this.runArgv;
    if (a !== undefined && n <= MATCH_MAX) {
      const end = Math.min(a.length, this.runArgvFrom + MATCH_ARGS);
      for (let j = this.runArgvFrom; j < end; j++) {
        const c = a[j]!;
        if (c.length === n && sameBytes(h, off, c)) return c;
      }
    }
    return latin1(h, off, off + n);
  }

  private onHost(kind: number, ptr: number, _len: number): number {
    switch (kind) {
      case Host.Call: {
        const r = this.host.call(this.readArgv(ptr), this.scriptResp);
        if (r === STOP) return 2;
        if ('scriptError' in r) {
          this.writeReply(r.scriptError);
          return 1;
        }
        this.writeReply((r as { resp: string }).resp);
        return 0;
      }
      case Host.Log: {
        const h = this.heap();
        const level = h.readUInt32LE(ptr);
        const n = h.readUInt32LE(ptr + 4);
        this.host.log?.(level, h.latin1Slice(ptr + 8, ptr + 8 + n));
        return 0;
      }
      case Host.AclCheck:
        return this.host.aclCheck ? this.host.aclCheck(this.readArgv(ptr)) : 1;
      case Host.SetResp:
        this.scriptResp = this.heap().readUInt32LE(ptr) === 3 ? 3 : 2;
        return 0;
      case Host.Pause: {
        if (this.sliceMs < 0) return 0;
        if (this.sliceMs === 0) return 1;
        const now = performance.now();
        if (this.sliceEnd < 0) {
          this.sliceEnd = now + this.sliceMs;
          return 0;
        }
        return now >= this.sliceEnd ? 1 : 0;
      }
      default:
        return 0;
    }
  }

  private writeIn(s: string): number {
    const p = this.x._rl_in_buf(s.length);
    this.heap().latin1Write(s, p, s.length);
    return s.length;
  }

  /** The sha whose "f_<sha>\0" the C name buffer holds (an FCALL's name replaces it). */
  private nameHolds = '';

  /** Writes "f_<sha>\0" into the C name buffer (unless it holds it already); returns its address. */
  private name(sha: string): number {
    if (this.nameHolds !== sha) {
      const h = this.u8();
      const p = this.namePtr;
      h[p] = 0x66; // f
      h[p + 1] = 0x5f; // _
      for (let i = 0; i < 40; i++) h[p + 2 + i] = sha.charCodeAt(i);
      h[p + 42] = 0;
      this.nameHolds = sha;
    }
    return this.namePtr;
  }

  private out(): string {
    const p = this.x._rl_out_ptr();
    const n = this.x._rl_out_len();
    return latin1(this.u8(), p, p + n);
  }

  /** Whether the body of `sha` is compiled in this VM. */
  has(sha: string): boolean {
    return this.loadedShas.has(sha);
  }

  /**
   * Compiles a script body as the function f_<sha> (Redis's luaCreateFunction).
   * A shebang line is blanked but its newline kept, so line numbers match.
   * Returns undefined, or the RESP error reply ("Error compiling script …").
   */
  load(sha: string, body: string): string | undefined {
    if (this.loadedShas.has(sha)) return undefined;
    this.notPaused();
    let start = 0;
    if (body.startsWith('#!')) {
      const nl = body.indexOf('\n');
      start = nl < 0 ? body.length : nl;
    }
    const n = this.writeIn(body.slice(start));
    if (this.m._rl_load(this.name(sha), n) !== 0) return this.out();
    this.loadedShas.add(sha);
    return undefined;
  }

  /**
   * Runs the compiled script `sha` with KEYS and ARGV. Returns undefined if
   * it is not compiled here. A wasm trap (not a Lua error) starts a new VM.
   */
  run(sha: string, keys: readonly string[], args: readonly string[], opts: EvalOptions): EvalResult | undefined {
    return this.finish(this.start(sha, keys, args, { ...opts, sliceMs: undefined }));
  }

  /**
   * As run, but a script given opts.sliceMs may pause (PAUSED): resume
   * continues it. Nothing else may run in this VM meanwhile (load, run,
   * fcall throw). Pausing changes nothing the script sees or does: the same
   * instructions counted, the same budgets, the same random numbers.
   */
  start(sha: string, keys: readonly string[], args: readonly string[], opts: EvalOptions): EvalResult | Paused | undefined {
    this.notPaused();
    if (!this.loadedShas.has(sha)) return undefined;
    this.runArgv = undefined;
    this.writeKeysArgs(keys, args);
    return this.startNamed(sha, opts);
  }

  /**
   * start with KEYS and ARGV taken from a command's arguments (EVAL's, FCALL's:
   * argv[3 .. 3 + numkeys) the keys, the rest ARGV), without slicing them.
   */
  startArgv(sha: string, argv: readonly string[], numkeys: number, opts: EvalOptions): EvalResult | Paused | undefined {
    this.notPaused();
    if (!this.loadedShas.has(sha)) return undefined;
    this.runArgv = argv;
    this.runArgvFrom = 3;
    this.writeArgv(argv, numkeys);
    return this.startNamed(sha, opts);
  }

  private startNamed(sha: string, opts: EvalOptions): EvalResult | Paused | undefined {
    const name = this.name(sha);
    this.begin(opts);
    // No closure per script (runWith's): the call and its trap handling here.
    let rc: number;
    try {
      rc = this.x._rl_eval(name, opts.budget, opts.clientResp, opts.memoryBudget ?? 0);
    } catch (e) {
      return this.trapped(e);
    }
    return this.ended(rc);
  }

  /** Whether a script is paused in this VM (start / startFcall answered PAUSED). */
  get paused(): boolean {
    return this.pausedNow;
  }

  /**
   * Continues the paused script for another slice (sliceMs: as EvalOptions;
   * by default the one it started with); kill stops it at its next
   * instruction with "Script killed by user with SCRIPT KILL...", as Redis's
   * hook does.
   */
  resume(kill = false, sliceMs?: number): EvalResult | Paused {
    if (!this.pausedNow) throw new Error('LuaVM.resume: no paused script');
    if (sliceMs !== undefined) this.sliceMs = sliceMs;
    return this.step(() => this.x._rl_resume(kill ? 1 : 0)) as EvalResult | Paused;
  }

  /** A paused script's end, run to its end (run / fcall are never pausable, so only a kill would leave it paused). */
  private finish(r: EvalResult | Paused | undefined): EvalResult | undefined {
    while (r !== undefined && 'paused' in r) r = this.resume(false, -1);
    return r;
  }

  private notPaused(): void {
    if (this.pausedNow) throw new Error('LuaVM: a script is paused in this VM');
  }

  /**
   * The instructions the running (or last) script has run so far, as its
   * count hook counts them (a multiple of 100; pausable scripts and scripts
   * with a budget only): the same at the same point of the script on every
   * replica, whatever pauses it had.
   */
  executed(): number {
    return this.x._rl_executed();
  }

  /** Sets how many count hooks (of 100 instructions) pass between two pause checks (tests; 0: the default, 8192). */
  setCheckPeriod(hooks: number): void {
    this.m._rl_set_check_period(hooks);
  }

  /** writeKeysArgs for argv[3 .. 3 + numkeys) and argv[3 + numkeys ..). */
  private writeArgv(argv: readonly string[], numkeys: number): void {
    let n = 8;
    for (let i = 3; i < argv.length; i++) n += 4 + argv[i]!.length;
    const p = this.x._rl_in_buf(n);
    const h = this.u8();
    putU32(h, p, numkeys);
    putU32(h, p + 4, argv.length - 3 - numkeys);
    let off = p + 8;
    for (let i = 3; i < argv.length; i++) {
      const a = argv[i]!;
      putU32(h, off, a.length);
      off += 4;
      off += this.putString(off, a);
    }
  }

  /** KEYS and ARGV into the input buffer: [u32 nkeys][u32 nargs] then ([u32 len][bytes])*. */
  private writeKeysArgs(keys: readonly string[], args: readonly string[]): void {
    let n = 8;
    for (const k of keys) n += 4 + k.length;
    for (const a of args) n += 4 + a.length;
    const p = this.x._rl_in_buf(n);
    // After _rl_in_buf, which may have grown the memory.
    const h = this.u8();
    putU32(h, p, keys.length);
    putU32(h, p + 4, args.length);
    let off = p + 8;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      putU32(h, off, k.length);
      off += 4;
      off += this.putString(off, k);
    }
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      putU32(h, off, a.length);
      off += 4;
      off += this.putString(off, a);
    }
  }

  private runWith(opts: EvalOptions, call: () => number): EvalResult | Paused | undefined {
    this.begin(opts);
    return this.step(call);
  }

  /** What a script starts with: math.random's seed, RESP2 for redis.call, its slices. */
  private begin(opts: EvalOptions): void {
    if (opts.seed !== undefined) this.x._rl_srand(opts.seed | 0);
    this.scriptResp = 2;
    this.sliceMs = opts.sliceMs ?? -1;
    this.sliceEnd = -1;
  }

  /** Runs (or resumes) the script until it ends or pauses. */
  private step(call: () => number): EvalResult | Paused | undefined {
    this.sliceEnd = -1;
    let rc: number;
    try {
      rc = call();
    } catch (e) {
      return this.trapped(e);
    }
    return this.ended(rc);
  }

  /** A trap or an abort: the Lua state cannot be trusted any more. */
  private trapped(e: unknown): EvalResult {
    this.pausedNow = false;
    this.runArgv = undefined;
    this.reset();
    return { resp: '-ERR Lua VM failure: ' + String((e as Error).message).replace(/[\r\n]/g, ' ') + '\r\n', error: true };
  }

  /** rl_eval / rl_fcall / rl_resume's answer. */
  private ended(rc: number): EvalResult | Paused | undefined {
    this.pausedNow = rc === 3;
    if (rc === 3) return PAUSED;
    // Not kept past the script (its ARGV may be large).
    this.runArgv = undefined;
    if (rc === 2) return undefined;
    return { resp: this.out(), error: rc === 1 };
  }

  /**
   * Runs a library's code in the functions engine's load environment
   * (function_lua.c luaEngineCreate): `code` is the library's code after
   * its shebang line. Returns the functions it registered, or the error text
   * ("Error compiling function: …", "Error registering functions: …").
   */
  loadLibrary(code: string, budget: number, memoryBudget = 0): RegisteredFunction[] | { error: string } {
    this.notPaused();
    const n = this.writeIn(code);
    let rc: number;
    try {
      rc = this.m._rl_load_library(n, budget, memoryBudget);
    } catch (e) {
      this.reset();
      return { error: 'Lua VM failure: ' + String((e as Error).message).replace(/[\r\n]/g, ' ') };
    }
    if (rc !== 0) return { error: this.out() };
    const h = this.heap();
    let p = this.x._rl_out_ptr();
    const count = h.readUInt32LE(p);
    p += 4;
    const fns: RegisteredFunction[] = [];
    for (let i = 0; i < count; i++) {
      const ref = h.readInt32LE(p);
      const flags = h.readUInt32LE(p + 4);
      const hasDesc = h.readUInt32LE(p + 8) !== 0;
      p += 12;
      const nl = h.readUInt32LE(p);
      const name = h.latin1Slice(p + 4, p + 4 + nl);
      p += 4 + nl;
      const dl = h.readUInt32LE(p);
      const desc = h.latin1Slice(p + 4, p + 4 + dl);
      p += 4 + dl;
      fns.push({ name, desc: hasDesc ? desc : undefined, flags, ref });
    }
    return fns;
  }

  /** Releases a registered callback (a deleted or replaced library). */
  unref(ref: number): void {
    this.m._rl_unref(ref);
  }

  /** Runs a registered function with (KEYS, ARGV) as its arguments (luaEngineCall); `name` appears in its errors. */
  fcall(ref: number, name: string, keys: readonly string[], args: readonly string[], opts: EvalOptions): EvalResult | undefined {
    return this.finish(this.startFcall(ref, name, keys, args, { ...opts, sliceMs: undefined }));
  }

  /** fcall that may pause, as start. */
  startFcall(ref: number, name: string, keys: readonly string[], args: readonly string[], opts: EvalOptions): EvalResult | Paused | undefined {
    this.notPaused();
    this.runArgv = undefined;
    this.writeKeysArgs(keys, args);
    return this.startRef(ref, name, opts);
  }

  /** startFcall with KEYS and ARGV from FCALL's arguments, as startArgv. */
  startFcallArgv(ref: number, name: string, argv: readonly string[], numkeys: number, opts: EvalOptions): EvalResult | Paused | undefined {
    this.notPaused();
    this.runArgv = argv;
    this.runArgvFrom = 3;
    this.writeArgv(argv, numkeys);
    return this.startRef(ref, name, opts);
  }

  private startRef(ref: number, name: string, opts: EvalOptions): EvalResult | Paused | undefined {
    const len = Math.min(name.length, 63);
    this.heap().latin1Write(name.slice(0, len) + '\0', this.namePtr, len + 1);
    this.nameHolds = '';
    return this.runWith(opts, () => this.x._rl_fcall(ref, opts.budget, opts.clientResp, opts.memoryBudget ?? 0));
  }

  /** The bytes the last script (or library load) was charged against its memory budget. */
  lastCharged(): number {
    return this.m._rl_mem_charged();
  }

  /** Bytes the Lua heap uses now. */
  memoryUsed(): number {
    return this.m._rl_mem_used();
  }

  setMemoryLimit(bytes: number): void {
    this.memoryLimit = bytes;
    this.m._rl_set_mem_limit(bytes);
  }

  /** A full garbage collection. */
  gc(): void {
    this.m._rl_gc();
  }

  /** A brand new VM (fresh instance, fresh linear memory): SCRIPT FLUSH. */
  reset(): void {
    this.pausedNow = false;
    this.init();
  }
}
