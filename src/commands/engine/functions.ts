/**
 * Redis 7.0 functions, engine side (Redis's functions.c and function_lua.c):
 * the libraries and their functions, kept in their own Lua VM — the
 * functions engine, a second LuaVM in functions mode, as Redis keeps a Lua
 * state for functions apart from EVAL's.
 *
 * Libraries are state-machine state: FUNCTION LOAD, DELETE, FLUSH and
 * RESTORE are log entries applied on every replica, and the libraries' code
 * is kept in snapshots next to the script cache (Scripts.snapshotState). A
 * library is loaded again from its code wherever it is needed (a restored
 * snapshot, a VM reset), which gives the same functions: loading runs only
 * redis.register_function and redis.log. See docs/decisions.md, "Functions".
 */
import { splitInlineArgs } from '../../server/inline.js';
import { LuaVM, type CallResult } from '../../util/lua/vm.js';

export interface FunctionInfo {
  name: string;
  desc: string | undefined;
  /** ScriptFlag bits (no-writes 1, allow-oom 2, allow-stale 4, no-cluster 8, allow-cross-slot-keys 16). */
  flags: number;
  /** The callback's reference in the functions VM… */
  ref: number;
  /** …in this instance of it (LuaVM.generation). */
  gen: number;
  lib: Library;
}

export interface Library {
  name: string;
  /** The whole library payload, shebang line included (what FUNCTION LIST WITHCODE and DUMP give). */
  code: string;
  /** Its functions by name (case-sensitive, as Redis's per-library dict). */
  functions: Map<string, FunctionInfo>;
}

/**
 * A set of libraries (Redis's functionsLibCtx): the current one, or a
 * scratch one FUNCTION RESTORE loads a payload into before joining it.
 */
export class LibCtx {
  readonly libraries = new Map<string, Library>();
  /** Function name, lower-cased (Redis's functions dict ignores case) → function. */
  readonly functions = new Map<string, FunctionInfo>();
  /** FUNCTION STATS functions_count: the sum of the libraries' function counts. */
  functionCount = 0;

  link(li: Library): void {
    for (const fi of li.functions.values()) {
      const k = fi.name.toLowerCase();
      // dictAdd: a second name differing only in case is not added (Redis's behaviour).
      if (!this.functions.has(k)) this.functions.set(k, fi);
    }
    this.libraries.set(li.name, li);
    this.functionCount += li.functions.size;
  }

  unlink(li: Library): void {
    for (const fi of li.functions.values()) {
      const k = fi.name.toLowerCase();
      if (this.functions.get(k) === fi) this.functions.delete(k);
    }
    this.libraries.delete(li.name);
    this.functionCount -= li.functions.size;
  }

  /** Libraries in name order: the order of FUNCTION LIST, DUMP and snapshots here (Redis's is its hash table's). */
  sorted(): Library[] {
    return [...this.libraries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/** Redis's functionsVerifyName: [a-zA-Z0-9_]+. */
const NAME_RE = /^[a-zA-Z0-9_]+$/;
const BAD_LIBRARY_NAME = 'Library names can only contain letters, numbers, or underscores(_) and must be at least one character long';

/** Redis's functionExtractLibMetaData: the engine, library name and code (from the newline on) of a payload. */
function libMetaData(payload: string): { engine: string; name: string; code: string } | { error: string } {
  if (!payload.startsWith('#!')) return { error: 'Missing library metadata' };
  // A C string: nothing after a NUL byte is seen.
  const nul = payload.indexOf('\0');
  const cstr = nul < 0 ? payload : payload.slice(0, nul);
  const nl = cstr.indexOf('\n');
  if (nl < 0) return { error: 'Invalid library metadata' };
  const line = Buffer.from(payload.slice(0, nl), 'latin1');
  const parts = splitInlineArgs(line, 0, line.length);
  if (parts === null || parts.length === 0) return { error: 'Invalid library metadata' };
  const engine = parts[0]!.slice(2);
  let name: string | undefined;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.slice(0, 5).toLowerCase() === 'name=') {
      if (name !== undefined) return { error: 'Invalid metadata value, name argument was given multiple times' };
      name = part.slice(5);
      continue;
    }
    return { error: `Invalid metadata value given: ${part}` };
  }
  if (name === undefined) return { error: 'Library name was not given' };
  return { engine, name, code: payload.slice(nl) };
}

export class Functions {
  /** The current libraries: replicated state. */
  current = new LibCtx();
  private made: LuaVM | undefined;

  constructor(
    private readonly call: (argv: string[], resp: 2 | 3) => CallResult,
    private readonly memoryLimit: number,
    /** The instruction budget a library's load code may use (Redis: 500 ms). */
    private readonly budget: () => number,
    /** The bytes a library's load code may allocate (LuaVM's memory budget). */
    private readonly memoryBudget = 0,
  ) {}

  /** The functions VM, made when first needed (a node that never loads a library spares its memory). */
  get vm(): LuaVM {
    if (this.made === undefined) {
      this.made = new LuaVM({ call: this.call }, this.memoryLimit, true);
      this.generation = this.made.generation;
    }
    return this.made;
  }

  /** Bytes the functions VM's heap uses (0 before it is made). */
  memoryUsed(): number {
    return this.made === undefined ? 0 : this.made.memoryUsed();
  }

  /** The VM instance the current libraries' callbacks are registered in. */
  private generation = 0;

  /** The function FCALL names (case-insensitive). */
  get(name: string): FunctionInfo | undefined {
    this.ensureLoaded();
    return this.current.functions.get(name.toLowerCase());
  }

  /**
   * After a wasm trap the VM is a new instance without the libraries'
   * callbacks: each library is loaded again from its code (the same
   * functions; loading runs only register_function and log) and its
   * functions take the new references.
   */
  private ensureLoaded(): void {
    if (this.made === undefined || this.made.generation === this.generation) return;
    const gen = this.made.generation;
    for (const li of this.current.libraries.values()) {
      if ([...li.functions.values()].every((fi) => fi.gen === gen)) continue;
      const nl = li.code.indexOf('\n');
      const r = this.vm.loadLibrary(li.code.slice(nl), 0);
      if ('error' in r) continue;
      for (const f of r) {
        const fi = li.functions.get(f.name);
        if (fi === undefined) continue;
        fi.ref = f.ref;
        fi.gen = gen;
      }
    }
    this.generation = gen;
  }

  /**
   * Redis's functionsCreateWithLibraryCtx: compiles and registers a library
   * into `ctx`. Returns its name, or the error text (without "ERR ").
   */
  create(payload: string, replace: boolean, ctx: LibCtx = this.current): string | { error: string } {
    this.ensureLoaded();
    const md = libMetaData(payload);
    if ('error' in md) return md;
    if (!NAME_RE.test(md.name)) return { error: BAD_LIBRARY_NAME };
    if (md.engine.toLowerCase() !== 'lua') return { error: `Engine '${md.engine}' not found` };
    const old = ctx.libraries.get(md.name);
    if (old !== undefined && !replace) return { error: `Library '${md.name}' already exists` };
    if (old !== undefined) ctx.unlink(old);
    const r = this.vm.loadLibrary(md.code, this.budget(), this.memoryBudget);
    let error: string | undefined;
    const li: Library = { name: md.name, code: payload, functions: new Map() };
    if ('error' in r) {
      error = r.error;
    } else {
      for (const f of r) li.functions.set(f.name, { ...f, gen: this.vm.generation, lib: li });
      if (li.functions.size === 0) error = 'No functions registered';
      else {
        for (const fi of li.functions.values()) {
          if (ctx.functions.has(fi.name.toLowerCase())) {
            error = `Function ${fi.name} already exists`;
            break;
          }
        }
      }
    }
    if (error !== undefined) {
      this.free(li);
      if (old !== undefined) ctx.link(old);
      return { error };
    }
    ctx.link(li);
    if (old !== undefined) this.free(old);
    return md.name;
  }

  /** FUNCTION DELETE. */
  delete(name: string): boolean {
    const li = this.current.libraries.get(name);
    if (li === undefined) return false;
    this.current.unlink(li);
    this.free(li);
    return true;
  }

  /** FUNCTION FLUSH: no library, and a brand new VM. */
  flush(): void {
    this.current = new LibCtx();
    if (this.made === undefined) return;
    this.made.reset();
    this.generation = this.made.generation;
  }

  /** Releases a library's callbacks in the VM. */
  free(li: Library): void {
    // A reference of an earlier VM instance (before a trap) names nothing in this one.
    for (const fi of li.functions.values()) if (fi.gen === this.vm.generation) this.vm.unref(fi.ref);
  }

  /** A scratch set of libraries has lost (RESTORE failed): its callbacks go. */
  discard(ctx: LibCtx): void {
    for (const li of ctx.libraries.values()) this.free(li);
  }

  /**
   * Redis's libraryJoin: moves `src`'s libraries into the current ones; on
   * a library name collision replaces the old one (`replace`) or fails;
   * fails on a function name collision. Returns the error text or undefined.
   */
  join(src: LibCtx, replace: boolean): string | undefined {
    const dst = this.current;
    const replaced: Library[] = [];
    const restore = (): void => {
      for (const li of replaced) dst.link(li);
    };
    for (const li of src.libraries.values()) {
      const old = dst.libraries.get(li.name);
      if (old === undefined) continue;
      if (!replace) {
        restore();
        return `Library ${li.name} already exists`;
      }
      dst.unlink(old);
      replaced.push(old);
    }
    for (const fi of src.functions.values()) {
      if (dst.functions.has(fi.name.toLowerCase())) {
        restore();
        return `Function ${fi.name} already exists`;
      }
    }
    for (const li of src.libraries.values()) dst.link(li);
    for (const li of replaced) this.free(li);
    return undefined;
  }

  /** FUNCTION RESTORE's FLUSH policy: `ctx` becomes the current libraries. */
  swap(ctx: LibCtx): void {
    for (const li of this.current.libraries.values()) this.free(li);
    this.current = ctx;
  }

  /** Library payloads in name order (snapshots). */
  codes(): string[] {
    return this.current.sorted().map((li) => li.code);
  }

  /** A snapshot replaced the state: a fresh VM with these libraries. */
  restore(codes: readonly string[]): void {
    this.flush();
    for (const code of codes) this.create(code, true);
  }
}
