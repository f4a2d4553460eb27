/** Counters for INFO stats / errorstats / commandstats. */
export class Stats {
  totalConnections = 0;
  totalCommands = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  rejectedConnections = 0;
  readonly errors = new Map<string, number>();
  totalErrorReplies = 0;

  /** Counts an error reply under its first word, as Redis's INFO errorstats. */
  errorReply(text: string): void {
    const sp = text.indexOf(' ');
    const code = sp < 0 ? text : text.slice(0, sp);
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    this.totalErrorReplies++;
  }
}
