/** Counters for INFO stats / errorstats / commandstats. */
import type { CommandDef, ConnHandler } from '../commands/table.js';
import type { Ctx, DataHandler } from '../commands/types.js';
import type { Client } from './client.js';
import type { RespWriter } from './resp-writer.js';

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

/**
 * One call in this many is timed: performance.now() costs about 60 ns here,
 * twice per command a few per cent of a busy node. The first call of each
 * command is always timed; INFO's usec is the timed calls' mean × calls.
 */
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

  /**
   * Runs a keyspace command's handler, counted as Redis's call() counts:
   * one call, its time (one call in TIMING_SAMPLE), and a failed call if it
   * wrote an error reply (the error count grew while it ran).
   */
  runData(def: CommandDef, data: DataHandler, ctx: Ctx, argv: string[]): void {
    const c = def.stats;
    const errorsBefore = this.totalErrorReplies;
    const started = c.calls % TIMING_SAMPLE === 0 ? performance.now() : -1;
    data(ctx, argv);
    this.called(c, started, errorsBefore);
  }

  /** Runs a connection command's handler, counted as runData counts. */
  runConn(def: CommandDef, conn: ConnHandler, client: Client, argv: string[], w: RespWriter): void {
    const c = def.stats;
    const errorsBefore = this.totalErrorReplies;
    const started = c.calls % TIMING_SAMPLE === 0 ? performance.now() : -1;
    conn(client, argv, w);
    this.called(c, started, errorsBefore);
  }

  private called(c: CommandCounters, started: number, errorsBefore: number): void {
    c.calls++;
    if (started >= 0) {
      c.timed++;
      c.timedUsec += (performance.now() - started) * 1000;
    }
    if (this.totalErrorReplies > errorsBefore) c.failedCalls++;
  }
}
