/**
 * A tiny in-process command runner for tests: argv in, raw reply bytes out,
 * with the same arity checks and error texts as the server's dispatcher but
 * no network, no Raft. Read commands run against a keyspace that throws if
 * they try to mutate it (the determinism rule: reads never change state).
 */
import { loadGeneratedCommands } from '../../src/commands/generated-table.js';
import { dataCommands } from '../../src/commands/handlers.js';
import type { CommandMeta, DataHandler } from '../../src/commands/types.js';
import { Keyspace, type Collection, type Value } from '../../src/keyspace/keyspace.js';
import { ListValue } from '../../src/keyspace/types/list.js';
import { RespWriter, type Proto } from '../../src/server/resp-writer.js';
import { arityError, unknownCommandError, unknownSubcommandError } from '../../src/commands/errors.js';
import { replyEnd } from './raw-client.js';

const handlers: Record<string, DataHandler> = dataCommands;
const metas = new Map<string, CommandMeta>();
/** Container commands (OBJECT, MEMORY…): their subcommands' metadata, by lower-case subcommand name. */
const subMetas = new Map<string, Map<string, CommandMeta>>();
for (const [name, g] of loadGeneratedCommands()) {
  metas.set(name, g.meta);
  if (g.subcommands.size > 0) subMetas.set(name, new Map([...g.subcommands].map(([sub, s]) => [sub, s.meta])));
}

/** A Keyspace whose mutators throw while a read command runs. */
export class GuardedKeyspace extends Keyspace {
  readOnly = false;
  private check(op: string): void {
    if (this.readOnly) throw new Error(`read command mutated the keyspace (${op})`);
  }
  override set(key: string, value: Value, keepTtl = false): void {
    this.check('set');
    super.set(key, value, keepTtl);
  }
  override setExpire(key: string, at: number): void {
    this.check('setExpire');
    super.setExpire(key, at);
  }
  override persist(key: string): boolean {
    this.check('persist');
    return super.persist(key);
  }
  override getMutable(key: string, now: number): Value | undefined {
    this.check('getMutable');
    return super.getMutable(key, now);
  }
  override delete(key: string): boolean {
    this.check('delete');
    return super.delete(key);
  }
  override flush(): void {
    this.check('flush');
    super.flush();
  }
}

/**
 * A value of a type the keyspace cannot hold yet (lists, hashes…), for
 * WRONGTYPE tests: handlers must refuse anything that is not a string.
 */
export const FOREIGN_VALUE: Value = {
  type: 'list',
  // Immutable stand-in: a copy may share it.
  clone() {
    return FOREIGN_VALUE as Collection;
  },
  items: () => ['x'],
  forEachItem: (fn) => fn('x'),
};

export interface EngineOptions {
  proto?: Proto;
  /** The clock for ctx.now (reads and writes alike); Date.now by default. */
  clock?: () => number;
}

export class Engine {
  readonly db = new GuardedKeyspace();
  proto: Proto;
  /** The log index given to the next write (reads get 0), so entryRandom draws differ per write as on a node. */
  private nextIndex = 1;
  clock: () => number;

  constructor(opts: EngineOptions = {}) {
    this.proto = opts.proto ?? 2;
    this.clock = opts.clock ?? Date.now;
  }

  /** Runs one command and returns its raw RESP reply. */
  call(...argv: string[]): string {
    const w = new RespWriter(this.proto);
    let name = (argv[0] ?? '').toLowerCase();
    let meta = metas.get(name);
    const subs = subMetas.get(name);
    if (meta !== undefined && subs !== undefined && argv.length >= 2) {
      meta = subs.get(argv[1]!.toLowerCase());
      if (meta === undefined) {
        w.error(unknownSubcommandError(argv[1]!, name));
        return w.take();
      }
      name = meta.name;
    }
    const handler = handlers[name];
    if (meta === undefined || (handler === undefined && subs === undefined)) {
      w.error(unknownCommandError(argv));
      return w.take();
    }
    if ((meta.arity > 0 && argv.length !== meta.arity) || argv.length < -meta.arity || handler === undefined) {
      w.error(arityError(name));
      return w.take();
    }
    const write = meta.flags.has('write');
    this.db.readOnly = !write;
    try {
      handler({ db: this.db, now: this.clock(), index: write ? this.nextIndex++ : 0, w }, argv);
    } finally {
      this.db.readOnly = false;
    }
    const out = w.take();
    if (out.length === 0 || replyEnd(out, 0) !== out.length) throw new Error(`${name} must write exactly one reply, wrote ${JSON.stringify(out)}`);
    return out;
  }

  /** Stores what the differential `foreign` step creates on redis-server (RPUSH key x): a real list now. */
  injectForeign(key: string): void {
    this.db.set(key, new ListValue(['x']));
  }
}
