/** SLOWLOG GET / LEN / RESET / HELP (Redis's slowlog.c); the log itself is src/server/slowlog.ts. */
import { subcommandSyntaxError } from './errors.js';
import { string2ll } from '../util/number.js';
import { writeHelp } from './help.js';
import type { ConnHandler } from './table.js';

export const slowlogCommands: Record<string, ConnHandler> = {
  'slowlog|get': ({ c, w }, argv) => {
    let count = 10;
    if (argv.length > 3) return w.error(subcommandSyntaxError(argv[1]!, 'slowlog'));
    if (argv.length === 3) {
      const n = string2ll(argv[2]!);
      if (n === null || n < -1n) return w.error('ERR count should be greater than or equal to -1');
      count = n > 1_000_000_000n ? 1_000_000_000 : Number(n);
    }
    const entries = c.server.stats.slowlog.newest(count);
    w.arrayHeader(entries.length);
    for (const e of entries) {
      w.arrayHeader(6);
      w.int(e.id);
      w.int(e.time);
      w.int(e.usec);
      w.arrayHeader(e.argv.length);
      for (const a of e.argv) w.bulk(a);
      w.bulk(e.addr);
      w.bulk(e.name);
    }
  },
  'slowlog|len': ({ c, w }, _argv) => w.int(c.server.stats.slowlog.length),
  'slowlog|reset': ({ c, w }, _argv) => {
    c.server.stats.slowlog.reset();
    w.ok();
  },
  'slowlog|help': ({ w }, _argv) =>
    writeHelp(w, 'slowlog', [
      'GET [<count>]',
      '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
      '    Entries are made of:',
      '    id, timestamp, time in microseconds, arguments array, client IP and port,',
      '    client name',
      'LEN',
      '    Return the length of the slowlog.',
      'RESET',
      '    Reset the slowlog.',
    ]),
};
