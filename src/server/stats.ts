/** Counters for INFO stats / errorstats / commandstats. */
import type { CommandDef, ConnHandler } from '../commands/table.js';
import type { Ctx, DataHandler } from '../commands/types.js';
import type { Client } from './client.js';
import type { RespWriter } from './resp-writer.js';
import { SlowLog } from './slowlog.js';

/** One command's INFO commandstats counters (the fields of Redis's struct redisCommand). */
export interface CommandCounters {
  calls: number;
  /** Calls that were timed (one in TIMING_SAMPLE, see Stats.start) and their microseconds. */
  timed: number;
  timedUsec: number;
  /** Refused before running: wrong arity, a cluster redirect, a command not allowed in a subscribed context. */
  rejectedCalls: number;
  /** Ran and replied with an error. */
  failedCalls: number;
}

export function newCommandCounters(): CommandCounters {
  return { calls: 0, timed: 0, timedUsec: 0, rejectedCalls: 0, failedCalls: 0 };
}

/** Calls of a cheap command per timed one (Stats.startTime); INFO's usec is the timed calls' mean × calls. */
const TIMING_SAMPLE = 16;

/** INFO commandstats' usec: the estimated total microseconds. */
export function commandUsec(c: CommandCounters): number {
  return c.timed === 0 ? 0 : (c.timedUsec / c.timed) * c.calls;
}

export class Stats {
  totalConnections = 0;
  totalCommands = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  rejectedConnections = 0;
  readonly errors = new Map<string, number>();
  totalErrorReplies = 0;

  /**
   * Counts an error reply under its first word, as Redis's INFO errorstats.
   * Every writer of a client's replies calls it for each error it writes
   * (RespWriter.onError), so that no error reply is missed or counted twice.
   */
  readonly errorReply = (text: string): void => {
    const sp = text.indexOf(' ');
    const code = sp < 0 ? text : text.slice(0, sp);
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    this.totalErrorReplies++;
  };

  /** SLOWLOG, fed by the timed calls. */
  readonly slowlog = new SlowLog();

  /**
   * Runs a keyspace command's handler, counted as Redis's call() counts:
   * one call, its time, and a failed call if it wrote an error reply (the
   * error count grew while it ran). `who`: the client it runs for, if any
   * (SLOWLOG's address and name).
   */
  runData(def: CommandDef, data: DataHandler, ctx: Ctx, argv: string[], who?: Client): void {
    const errorsBefore = this.totalErrorReplies;
    const started = this.startTime(def);
    data(ctx, argv);
    this.called(def, argv, who, started, errorsBefore);
  }

  /** Runs a connection command's handler, counted as runData counts. */
  runConn(def: CommandDef, conn: ConnHandler, client: Client, argv: string[], w: RespWriter): void {
    const errorsBefore = this.totalErrorReplies;
    const started = this.startTime(def);
    conn(client, argv, w);
    this.called(def, argv, client, started, errorsBefore);
  }

  /**
   * performance.now() costs about 60 ns here, twice per command a few per
   * cent of a busy node: cheap commands (CommandDef.sampled) are timed one
   * call in TIMING_SAMPLE (the first always), unless SLOWLOG logs every
   * command. Returns -1 for a call that is not timed.
   */
  private startTime(def: CommandDef): number {
    return !def.sampled || def.stats.calls % TIMING_SAMPLE === 0 || this.slowlog.slowerThan === 0 ? performance.now() : -1;
  }

  private called(def: CommandDef, argv: string[], who: Client | undefined, started: number, errorsBefore: number): void {
    const c = def.stats;
    c.calls++;
    if (started >= 0) {
      const usec = (performance.now() - started) * 1000;
      c.timed++;
      c.timedUsec += usec;
      if (!def.skipSlowlog) this.slowlog.record(argv, usec, who?.addr ?? '', who?.name ?? '');
    }
    if (this.totalErrorReplies > errorsBefore) c.failedCalls++;
  }
}
