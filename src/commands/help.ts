import type { RespWriter } from '../server/resp-writer.js';

/** Redis's addReplyHelp: a header, the given lines, then HELP, as status replies. */
export function writeHelp(w: RespWriter, container: string, lines: readonly string[]): void {
  const all = [
    `${container.toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`,
    ...lines,
    'HELP',
    '    Prints this help.',
  ];
  w.arrayHeader(all.length);
  for (const l of all) w.simple(l);
}
