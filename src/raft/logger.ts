/**
 * Raft logs through an injected Logger so the core stays free of I/O. The
 * driver adapts it to its `raftis:raft` debug namespace; tests can collect the
 * lines. `debugEnabled` lets hot paths skip building strings nobody reads.
 */
export interface Logger {
  readonly debugEnabled: boolean;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const noop = (): void => {};

export const silentLogger: Logger = {
  debugEnabled: false,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
};

/** A logger that keeps lines in memory, for tests that want to show raft's own log. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  constructor(readonly debugEnabled = true) {}
  debug(msg: string): void {
    if (this.debugEnabled) this.lines.push(`DEBUG ${msg}`);
  }
  info(msg: string): void {
    this.lines.push(`INFO ${msg}`);
  }
  warn(msg: string): void {
    this.lines.push(`WARN ${msg}`);
  }
  error(msg: string): void {
    this.lines.push(`ERROR ${msg}`);
  }
}
