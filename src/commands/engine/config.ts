/**
 * The Config store: every parameter redis-server 7.0.15 lists in CONFIG GET *
 * (src/commands/generated/redis-config.json, made by
 * scripts/gen-config-table.mjs), read and reported as redis-server does
 * (config-values.ts), set all or none as CONFIG SET does. The command's
 * handlers are src/commands/config.ts.
 *
 * What raftis does with a parameter is in its table entry (`raftis`):
 * 'applied' ones are watched by the part of the engine they drive (slowlog,
 * latency, the request parser, idle clients); 'fixed' ones answer what raftis
 * does whatever is set; the others are kept and reported back. `scope` says
 * which must be the same on every node (cluster-wide: to go through the Raft
 * log: a CONFIG SET naming one is a log entry applied as a whole on every
 * node, and their values are kept in snapshots).
 */
import tableJson from '../generated/redis-config.json' with { type: 'json' };
import { configSetFailed, configSetUnknown } from '../errors.js';
import { Refusal, codecFor, type Codec, type ParamDef } from './config-values.js';
import { splitArgs as splitConfigArgs } from '../../util/split-args.js';

export const CONFIG_TABLE: readonly ParamDef[] = (tableJson as unknown as { params: ParamDef[] }).params;

/** A parameter with its value. */
export class Param {
  readonly codec: Codec;
  /** The value as kept (see Codec); for a fixed parameter, what raftis answers. */
  value: unknown;
  readonly fixed: boolean;
  readonly watchers: (() => void)[] = [];
  /** Where the value came from (RAFT.CONFIG): default, config file path:line, command line, CONFIG SET, replicated. */
  source = 'default';
  /** A fixed parameter's value as the config file or CONFIG SET gave it (kept for CONFIG REWRITE; the value answered stays raftis's). */
  asked: string | undefined;

  constructor(
    readonly def: ParamDef,
    initial: string,
  ) {
    this.codec = codecFor(def);
    this.fixed = def.raftis === 'fixed';
    const v = this.codec.parse(initial, undefined);
    if (v instanceof Refusal) throw new Error(`config ${def.name}: bad initial value ${JSON.stringify(initial)}: ${v.error}`);
    this.value = v;
  }

  get text(): string {
    return this.codec.format(this.value);
  }
}

/** A name CONFIG GET / SET knows: a parameter's own, or one of its aliases (as redis-server registers both). */
export interface ConfigName {
  readonly name: string;
  readonly param: Param;
}

/** A refused CONFIG SET: the error reply without "-". */
export type ConfigSetError = string;

/** This node's own values of the parameters that describe where it runs. */
export interface InstanceValues {
  port: string;
  bind: string;
  dir: string;
  'cluster-port': string;
  /** --databases (immutable, as in Redis). */
  databases?: string;
  /** The log level the process started with (--log-level, as Redis's loglevel). */
  loglevel?: string;
}

export class Config {
  /** Every name, primary and aliases, in table order (CONFIG GET patterns walk it). */
  readonly names: readonly ConfigName[];
  private readonly byName = new Map<string, ConfigName>();
  private readonly params = new Map<string, Param>();
  /** Whether a config file's `save` line was read: the first one replaces the default, later ones add to it (setConfigSaveOption). */
  private saveLoaded = false;

  constructor(instance: InstanceValues = { port: '6379', bind: '127.0.0.1', dir: '/', 'cluster-port': '0' }) {
    const names: ConfigName[] = [];
    for (const def of CONFIG_TABLE) {
      const own = (instance as unknown as Record<string, string | undefined>)[def.name];
      const initial = def.raftisValue ?? own ?? def.default;
      if (initial === undefined || initial === null) throw new Error(`config ${def.name}: no value for this instance`);
      const p = new Param(def, initial);
      this.params.set(def.name, p);
      for (const name of [def.name, ...def.aliases]) {
        const n = { name, param: p };
        names.push(n);
        this.byName.set(name, n);
      }
    }
    this.names = names;
  }

  /** A name as CONFIG GET / SET look it up: case-insensitively. */
  lookup(name: string): ConfigName | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** The parameter (by its primary name, as the engine knows it). */
  param(name: string): Param {
    const p = this.params.get(name);
    if (!p) throw new Error(`no parameter ${name}`);
    return p;
  }

  /** CONFIG GET's answer for a parameter. */
  get(name: string): string {
    return this.param(name).text;
  }

  /** An integer or memory parameter's value. */
  number(name: string): number {
    return Number(this.param(name).value as bigint);
  }

  /**
   * A check of what applying a CONFIG SET would refuse (redis-server's apply
   * functions, e.g. applyTlsCfg): `fn` sees the parameters' values as they
   * would be after the set (`get`, by primary name) and returns the reason
   * to refuse it whole, or undefined. Called only when the set names one of
   * `names`.
   */
  guard(names: readonly string[], fn: (get: (name: string) => string) => string | undefined): void {
    this.guards.push({ names: new Set(names), fn });
  }

  private readonly guards: { names: ReadonlySet<string>; fn: (get: (name: string) => string) => string | undefined }[] = [];

  /** Runs `fn` now and after every CONFIG SET that changes `name`. */
  watch(name: string, fn: () => void): void {
    this.param(name).watchers.push(fn);
    fn();
  }

  /**
   * CONFIG SET of several parameters, all or none (configSetCommand):
   * first every name is checked (unknown, immutable, protected, twice), then
   * every value is parsed in order (the first bad one answers), then what
   * applying them would refuse; only then are they set, in order (an alias
   * and its parameter both set: the later wins). `redact` gets the index
   * (in `pairs`) of every value of a sensitive parameter, even when the call
   * fails, as redis-server hides them from SLOWLOG.
   */
  set(pairs: readonly (readonly [string, string])[], redact?: (i: number) => void, source?: string): ConfigSetError | undefined {
    const checked = this.check(pairs, redact);
    if (typeof checked === 'string') return checked;
    this.commit(checked, source);
    return undefined;
  }

  /** CONFIG SET's checks (see set): the values to commit, or the error; nothing is changed. */
  check(pairs: readonly (readonly [string, string])[], redact?: (i: number) => void): Map<Param, unknown> | ConfigSetError {
    let error: ConfigSetError | undefined;
    const found: ConfigName[] = [];
    for (let i = 0; i < pairs.length; i++) {
      const [name] = pairs[i]!;
      const n = this.lookup(name);
      if (!n) {
        error ??= configSetUnknown(name);
        continue;
      }
      if (n.param.def.flags.includes('sensitive')) redact?.(i);
      if (error !== undefined) continue;
      const flags = n.param.def.flags;
      // enable-protected-configs is "no" in raftis: protected parameters are never set.
      if (flags.includes('immutable')) error = failed(name, "can't set immutable config");
      else if (flags.includes('protected')) error = failed(name, "can't set protected config");
      else if (found.includes(n)) error = failed(name, 'duplicate parameter');
      found.push(n);
    }
    if (error !== undefined) return error;

    const next = new Map<Param, unknown>();
    let applyError: ConfigSetError | undefined;
    for (let i = 0; i < pairs.length; i++) {
      const { name, param } = found[i]!;
      const text = pairs[i]![1];
      const current = next.has(param) ? next.get(param) : param.value;
      const v = param.codec.parse(text, current);
      if (v instanceof Refusal) {
        if (v.phase === 'set') return failed(name, v.error);
        applyError ??= failed(name, v.error);
        continue;
      }
      const refuse = param.def.raftisRefuses;
      if (refuse !== undefined && param.codec.format(v) !== refuse.unless) return failed(name, refuse.error);
      next.set(param, v);
    }
    if (applyError !== undefined) return applyError;
    for (const g of this.guards) {
      const named = found.find((n) => g.names.has(n.param.def.name));
      if (named === undefined) continue;
      const reason = g.fn((n) => {
        const p = this.param(n);
        return next.has(p) ? p.codec.format(next.get(p)) : p.text;
      });
      if (reason !== undefined) return failed(named.name, reason);
    }
    return next;
  }

  /** Sets values check() accepted, in order, and tells the watchers of those that changed. */
  commit(next: ReadonlyMap<Param, unknown>, source = 'CONFIG SET'): void {
    for (const [param, v] of next) {
      // A fixed parameter answers what raftis does: its value was checked, and is not kept.
      if (param.fixed) {
        param.asked = param.codec.format(v);
        param.source = source;
        continue;
      }
      const changed = param.codec.format(v) !== param.text;
      param.value = v;
      param.source = source;
      if (changed) for (const fn of param.watchers) fn();
    }
  }

  /**
   * Whether a CONFIG SET names a cluster-wide parameter (scope 'cluster':
   * it changes what the data is or what applying a write does): such a
   * CONFIG SET is a log entry, applied as a whole on every node.
   */
  namesClusterWide(pairs: readonly (readonly [string, string])[]): boolean {
    for (const [name] of pairs) if (this.lookup(name)?.param.def.scope === 'cluster') return true;
    return false;
  }

  /**
   * The cluster-wide parameters' values, for the state machine's snapshot:
   * u32 count, then per parameter its name and value as CONFIG GET shows them
   * (u32 length + latin1 bytes each). Fixed parameters are left out.
   */
  snapshotState(): Buffer {
    const parts: string[] = [];
    for (const [name, p] of this.params) if (p.def.scope === 'cluster' && !p.fixed) parts.push(name, p.text);
    let size = 4;
    for (const s of parts) size += 4 + Buffer.byteLength(s, 'latin1');
    const b = Buffer.allocUnsafe(size);
    b.writeUInt32LE(parts.length / 2, 0);
    let at = 4;
    for (const s of parts) {
      const n = b.write(s, at + 4, 'latin1');
      b.writeUInt32LE(n, at);
      at += 4 + n;
    }
    return b;
  }

  /** Restores snapshotState()'s values (a parameter this build does not know is skipped, one it cannot parse logged by the caller). */
  restore(state: Buffer): string[] {
    const problems: string[] = [];
    const n = state.readUInt32LE(0);
    let at = 4;
    const read = (): string => {
      const len = state.readUInt32LE(at);
      const s = state.toString('latin1', at + 4, at + 4 + len);
      at += 4 + len;
      return s;
    };
    const next = new Map<Param, unknown>();
    for (let i = 0; i < n; i++) {
      const name = read();
      const text = read();
      const p = this.params.get(name);
      if (p === undefined || p.def.scope !== 'cluster' || p.fixed) continue;
      const v = p.codec.parse(text, p.value);
      if (v instanceof Refusal) problems.push(`${name} ${JSON.stringify(text)}: ${v.error}`);
      else next.set(p, v);
    }
    this.commit(next, 'replicated');
    return problems;
  }

  /** The parameters by primary name, in table order. */
  primaries(): IterableIterator<[string, Param]> {
    return this.params.entries();
  }

  /**
   * One directive of a config file (loadServerConfigFromString): `args` as
   * the line split them. A one-argument value of a multi-argument parameter
   * is split again ("save '900 1'"); immutable parameters are set as at
   * start-up; `save` lines add up. Returns the error Redis prints for the
   * line, or undefined (also for a name that is not a parameter: the caller
   * knows raftis's own).
   */
  load(name: string, args: readonly string[], source: string): string | undefined {
    const n = this.lookup(name);
    if (n === undefined) return undefined;
    const p = n.param;
    const multi = MULTI_ARG.has(p.def.name);
    if (!multi && args.length !== 1) return 'wrong number of arguments';
    let list = args;
    if (multi && args.length === 1 && args[0] !== '') {
      const split = splitConfigArgs(args[0]!);
      if (split === null) return 'Unbalanced quotes in configuration line';
      list = split;
    }
    const text = list.length === 1 && list[0] === '' ? '' : list.join(' ');
    // Start-up values, not changes: only client-output-buffer-limit merges into what it had (one class per line).
    let v = p.codec.parse(text, p.def.name === 'client-output-buffer-limit' ? p.value : undefined);
    if (v instanceof Refusal) {
      // A value refused by an apply function (tls-cluster / tls-replication yes, which redis-server's CONFIG SET
      // refuses without TLS set up) is taken when loaded: config.c runs apply functions on CONFIG SET only.
      if (v.phase !== 'apply' || p.def.type !== 'bool' || p.def.rejects?.[text.toLowerCase()] === undefined) return v.error;
      v = text.toLowerCase() === 'yes';
    }
    const refuse = p.def.raftisRefuses;
    if (refuse !== undefined && p.codec.format(v) !== refuse.unless) return refuse.error;
    if (p.def.name === 'save') {
      if (this.saveLoaded && text !== '') v = [...(p.value as unknown[]), ...(v as unknown[])];
      this.saveLoaded = true;
    }
    this.commit(new Map([[p, v]]), source);
    return undefined;
  }
}

/** Parameters config.c registers with MULTI_ARG_CONFIG: a config file line gives their arguments one by one. */
const MULTI_ARG: ReadonlySet<string> = new Set([
  'save',
  'client-output-buffer-limit',
  'oom-score-adj-values',
  'bind',
  'latency-tracking-info-percentiles',
  'replicaof',
  'shutdown-on-sigint',
  'shutdown-on-sigterm',
]);

const failed: (name: string, reason: string) => ConfigSetError = configSetFailed;
