/**
 * Reading a config file in redis.conf's syntax (config.c,
 * loadServerConfigFromString): one directive per line, `#` comments and
 * blank lines skipped, each line split into arguments by sdssplitargs
 * (double quotes with \n \r \t \b \a \xHH escapes, single quotes with \'),
 * the directive's name case-insensitive, `include <file>` read in place.
 * This file only splits: what each directive means (a Redis parameter, one
 * of raftis's own, or an error) is decided by the caller (config-load.ts).
 *
 * Errors are Redis's "*** FATAL CONFIG FILE ERROR ***" block, with the file's
 * name added (Redis names only the line, which is ambiguous with includes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { splitArgs } from '../util/split-args.js';
import { strerror } from '../commands/config-rewrite.js';

export { splitArgs };

/** One directive line: its name (lower case), arguments and where it was read. */
export interface Directive {
  name: string;
  args: string[];
  file: string;
  /** 1-based, as Redis reports lines. */
  line: number;
  /** The line as read, trimmed (what the error block shows). */
  text: string;
}

export class ConfigFileError extends Error {
  constructor(
    readonly reason: string,
    readonly file?: string,
    readonly line?: number,
    readonly text?: string,
  ) {
    super(formatFatal(reason, file, line, text));
    this.name = 'ConfigFileError';
  }
}

/**
 * Redis's block (loaderr in config.c):
 *   *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
 *   Reading the configuration file, at line 3
 *   >>> 'port x'
 *   argument couldn't be parsed into an integer
 * with "raftis" for Redis and the file named in the second line.
 */
export function formatFatal(reason: string, file?: string, line?: number, text?: string): string {
  const where = line === undefined ? '' : `Reading the configuration file${file === undefined ? '' : ` ${file}`}, at line ${line}\n>>> '${text ?? ''}'\n`;
  return `\n*** FATAL CONFIG FILE ERROR (raftis) ***\n${where}${reason}`;
}

/** sdstrim(line, " \t\r\n"). */
export function trimLine(line: string): string {
  return line.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

/** Includes nested deeper than this are taken for a loop (Redis has no limit and recurses until it crashes). */
const MAX_INCLUDE_DEPTH = 16;

/**
 * The directives of `file` in order, its includes read in place (a relative
 * include is relative to the working directory, as fopen in Redis).
 * Throws ConfigFileError for a file that cannot be read, unbalanced quotes
 * or an include too deep.
 */
export function readConfigFile(file: string, depth = 0, from?: Directive): Directive[] {
  let content: string;
  try {
    content = fs.readFileSync(file, 'latin1');
  } catch (e) {
    // Redis: "Fatal error, can't open config file '<path>': <strerror>"
    const reason = `Fatal error, can't open config file '${file}': ${strerror(e)}`;
    if (from) throw new ConfigFileError(reason, from.file, from.line, from.text);
    throw new ConfigFileError(reason);
  }
  return parseConfigText(content, file, depth);
}

export function parseConfigText(content: string, file: string, depth = 0): Directive[] {
  const out: Directive[] = [];
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = trimLine(lines[i]!);
    if (text.length === 0 || text[0] === '#') continue;
    const args = splitArgs(text);
    if (args === null) throw new ConfigFileError('Unbalanced quotes in configuration line', file, i + 1, text);
    if (args.length === 0) continue;
    const d: Directive = { name: args[0]!.toLowerCase(), args: args.slice(1), file, line: i + 1, text };
    if (d.name === 'include' && d.args.length === 1) {
      if (depth >= MAX_INCLUDE_DEPTH) throw new ConfigFileError(`includes nested more than ${MAX_INCLUDE_DEPTH} deep (does a file include itself?)`, file, d.line, text);
      for (const inner of readConfigFile(d.args[0]!, depth + 1, d)) out.push(inner);
      continue;
    }
    out.push(d);
  }
  return out;
}

/** Where a directive was read, as RAFT.CONFIG shows it: `config file /etc/raftis.conf:12`. */
export function sourceOf(d: Directive): string {
  return `config file ${path.resolve(d.file)}:${d.line}`;
}
