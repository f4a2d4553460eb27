/**
 * A tiny in-process command runner for tests: argv in, raw reply bytes out,
 * no network, no Raft. Commands are looked up in the server's own command
 * table (CommandTable.resolve: Redis's unknown-command, unknown-subcommand,
 * arity and protected-command errors) and run by their keyspace handlers.
 * Read commands run against a keyspace that throws if they try to mutate it
 * (the determinism rule: reads never change state).
 */
import { appliedCommands, connCommands, dataCommands } from '../../src/commands/handlers.js';
import type { KeyspaceEvents } from '../../src/commands/notify.js';
import { CommandTable } from '../../src/commands/table.js';
import type { Ctx } from '../../src/commands/types.js';
import { Keyspace, type Value } from '../../src/keyspace/keyspace.js';
import { Databases } from '../../src/keyspace/databases.js';
import { RespWriter, type Proto } from '../../src/server/resp-writer.js';
import { replyEnd } from './raw-client.js';

/** The server's command table, built as src/cli/start.ts's buildCommandTable builds it. */
const table = new CommandTable({ data: dataCommands, conn: connCommands, applied: appliedCommands });

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

export interface EngineOptions {
  proto?: Proto;
  /** The clock for ctx.now (reads and writes alike); Date.now by default. */
  clock?: () => number;
  /** Where writes emit keyspace notifications (none by default). */
  events?: KeyspaceEvents;
}

export class Engine {
  /** The databases (commands run in db 0; MOVE, SWAPDB and COPY … DB reach the others). */
  readonly dbs = new Databases(16, () => new GuardedKeyspace());
  readonly db = this.dbs.get(0) as GuardedKeyspace;
  proto: Proto;
  /** The log index given to the next write (reads get 0), so entryRandom draws differ per write as on a node. */
  private nextIndex = 1;
  clock: () => number;

  constructor(opts: EngineOptions = {}) {
    this.proto = opts.proto ?? 2;
    this.clock = opts.clock ?? Date.now;
    this.events = opts.events;
  }

  private readonly events: KeyspaceEvents | undefined;

  /**
   * Runs one command and returns its raw RESP reply: the command table's
   * rejection (unknown command or subcommand, wrong arity, protected
   * command), or the keyspace handler's one reply. A connection or server
   * command (no keyspace handler: PING, CLIENT, CONFIG…) needs a client and
   * a server, which the engine does not have: it throws.
   */
  call(...argv: string[]): string {
    const w = new RespWriter(this.proto);
    const def = table.resolve(argv);
    if ('error' in def) {
      w.error(def.error);
      return w.take();
    }
    const handler = def.data;
    if (handler === undefined) {
      throw new Error(`${def.name} is a connection/server command: the test engine runs keyspace commands only (use a raftis process)`);
    }
    const write = def.isWrite;
    for (const db of this.dbs.dbs) (db as GuardedKeyspace).readOnly = !write;
    try {
      const ctx: Ctx = { db: this.db, dbIndex: 0, dbs: this.dbs, now: this.clock(), index: write ? this.nextIndex++ : 0, w };
      if (write && this.events !== undefined) ctx.events = this.events;
      handler(ctx, argv);
    } finally {
      for (const db of this.dbs.dbs) (db as GuardedKeyspace).readOnly = false;
    }
    const out = w.take();
    if (out.length === 0 || replyEnd(out, 0) !== out.length) throw new Error(`${def.name} must write exactly one reply, wrote ${JSON.stringify(out)}`);
    return out;
  }
}
