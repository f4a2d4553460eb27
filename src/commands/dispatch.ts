/**
 * Redis's processCommand for raftis: lookup, arity, MULTI queuing, then
 * routing by the command's flags — connection commands run at once, reads
 * run against the keyspace (after this client's own pending writes are
 * applied), writes become log entries answered when applied.
 */
import type { Client } from '../server/client.js';
import { arityError, unknownCommandError, unknownSubcommandError } from '../server/errors.js';
import type { ServerState } from '../server/server-state.js';
import type { RespWriter } from '../server/resp-writer.js';
import { EntryKind } from '../node/command-entry.js';
import type { ApplyTarget } from '../node/state-machine.js';
import type { CommandDef } from './table.js';

/** Commands that run even inside MULTI instead of being queued (server.c processCommand). */
const NOT_QUEUED = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

export class Dispatcher {
  constructor(private readonly server: ServerState) {}

  /** Entry point for every parsed request. */
  readonly onCommand = (c: Client, argv: string[]): void => {
    const def = this.resolve(c, argv);
    if (def === undefined) return;
    c.lastCommand = def.name;
    if (c.multi !== undefined && !NOT_QUEUED.has(def.name)) {
      c.multi.push(argv);
      c.out().simple('QUEUED');
      return;
    }
    this.server.stats.totalCommands++;
    this.run(c, def, argv);
  };

  /**
   * Finds the command for argv or replies with Redis's rejection (unknown
   * command, unknown subcommand, wrong arity), flagging an open MULTI.
   */
  private resolve(c: Client, argv: string[]): CommandDef | undefined {
    const table = this.server.table;
    const top = table.get(argv[0]!);
    if (top === undefined) return this.reject(c, unknownCommandError(argv));
    let def = top;
    if (top.subcommands !== undefined && argv.length >= 2) {
      const sub = top.subcommands.get(argv[1]!.toLowerCase());
      if (sub === undefined) return this.reject(c, unknownSubcommandError(argv[1]!, top.name));
      def = sub;
    }
    const arity = def.meta.arity;
    if ((arity > 0 && argv.length !== arity) || argv.length < -arity) return this.reject(c, arityError(def.meta.name));
    return def;
  }

  private reject(c: Client, text: string): undefined {
    if (c.multi !== undefined) c.multiError = true;
    c.out().error(text);
    this.server.stats.errorReply(text);
    return undefined;
  }

  /** Runs a resolved command now (or when its reply can be known). */
  run(c: Client, def: CommandDef, argv: string[]): void {
    if (def.conn !== undefined) {
      def.conn(c, argv, c.out());
    } else if (def.isWrite) {
      this.propose(c, [argv], false);
    } else {
      this.read(c, def, argv);
    }
  }

  /** Proposes commands as one log entry; the reply is written when it is applied. */
  propose(c: Client, cmds: string[][], multi: boolean, slot?: RespWriter): void {
    const node = this.server.node;
    const w = slot ?? c.defer();
    const target: ApplyTarget = {
      w,
      conn: (argv, cw) => this.runConn(c, argv, cw),
      done: () => c.complete(w),
    };
    c.lastWriteIndex = node.propose({ kind: EntryKind.Commands, time: node.entryTime(), multi, cmds }, target);
  }

  private read(c: Client, def: CommandDef, argv: string[]): void {
    const node = this.server.node;
    const data = def.data!;
    if (c.lastWriteIndex <= node.appliedIndex) {
      data({ db: node.keyspace, now: Date.now(), index: 0, w: c.out() }, argv);
      return;
    }
    // Read-your-writes: this client has writes in flight; answer after them.
    const w = c.defer();
    node.whenApplied(c.lastWriteIndex, () => {
      data({ db: node.keyspace, now: Date.now(), index: 0, w }, argv);
      c.complete(w);
    });
  }

  /** A connection command queued in MULTI, run when the transaction executes. */
  runConn(c: Client, argv: string[], w: RespWriter): void {
    const def = this.server.table.lookup(argv);
    def?.conn?.(c, argv, w);
  }
}
